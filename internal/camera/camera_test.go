package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

func TestGuardRefuses(t *testing.T) {
	ctx := context.Background()
	g := &Guard{ownAddrs: func() []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("127.0.0.1")}
	}}
	for _, c := range []struct{ url, why string }{
		{"file:///etc/passwd", "scheme"},
		{"ftp://192.0.2.50/snap.jpg", "scheme"},
		{"gopher://192.0.2.50:70/", "scheme"},
		{"javascript:alert(1)", "scheme"},
		{"//192.0.2.50/snap.jpg", "scheme"},
		{"http://127.0.0.1/snap.jpg", "loopback"},
		{"http://127.1.2.3:8080/", "loopback"},
		{"http://localhost:8080/admin", "loopback by name"},
		{"http://[::1]/", "IPv6 loopback"},
		{"http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"},
		{"http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"},
		{"http://[fe80::1]/", "IPv6 link-local"},
		{"http://0.0.0.0:8080/", "unspecified"},
		{"http://0.1.2.3/", "this network"},
		{"rtsp://224.0.0.1/stream", "multicast"},
		{"http://192.0.2.7/snap.jpg", "the server's own address"},
		{"rtsp://127.0.0.1:554/Streaming/Channels/101", "loopback RTSP"},
	} {
		_, _, _, err := g.CheckURL(ctx, "snapshot_url", c.url, "http", "https", "rtsp")
		if err == nil {
			t.Errorf("%s (%s) accepted", c.url, c.why)
		} else if errs.FieldsOf(err)["snapshot_url"] == "" {
			t.Errorf("%s: not a field error: %v", c.url, err)
		}
	}
	// Cameras on a facility's private network are allowed once its range is named.
	for _, ok := range []string{"http://10.20.30.40/ISAPI/Streaming/channels/101/picture", "rtsp://admin:pw@192.168.1.64:554/h264"} {
		if _, _, _, err := g.CheckURL(ctx, "stream_url", ok, "http", "https", "rtsp"); err == nil {
			t.Errorf("%s accepted without --camera-allow", ok)
		}
	}
	lan := &Guard{Allow: mustAllow(t, "10.20.0.0/16,192.168.1.0/24")}
	for _, ok := range []string{"http://10.20.30.40/ISAPI/Streaming/channels/101/picture", "rtsp://admin:pw@192.168.1.64:554/h264", "https://198.51.100.20/snap.jpg"} {
		u, user, _, err := lan.CheckURL(ctx, "stream_url", ok, "http", "https", "rtsp")
		if err != nil {
			t.Errorf("%s refused: %v", ok, err)
		} else if strings.Contains(u.String(), "pw") || (strings.Contains(ok, "admin") && user != "admin") {
			t.Errorf("credentials not split off: %s (%q)", u, user)
		}
	}
}

func mustAllow(t testing.TB, s string) []netip.Prefix {
	p, err := ParseAllow(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loopback lets tests reach their servers on 127.0.0.1.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func guardFor(allowLocal bool) *Guard {
	if allowLocal {
		return &Guard{Allow: loopback}
	}
	return &Guard{}
}

// TestGuardRefusesInternalClass: every internal and metadata range, in
// IPv4 and the IPv6 forms that embed IPv4, refused by default; an allowed
// range lets its addresses through but never a metadata address.
func TestGuardRefusesInternalClass(t *testing.T) {
	g := &Guard{ownAddrs: func() []netip.Addr { return nil }}
	bad := []string{"127.0.0.1", "127.9.9.9", "::1", "169.254.1.1", "169.254.169.254", "fe80::1", "fc00::1", "fd00:ec2::254",
		"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "100.100.100.200", "0.0.0.0", "0.1.2.3",
		"192.0.0.192", "224.0.0.1", "239.1.1.1", "ff02::1", "::", "255.255.255.255",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:100.100.100.200", "::127.0.0.1",
		"64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a9fe:a9fe::1"}
	for _, s := range bad {
		if err := g.CheckIP(netip.MustParseAddr(s)); !errors.Is(err, ErrRefused) {
			t.Errorf("%s not refused: %v", s, err)
		}
	}
	for _, s := range []string{"203.113.1.1", "2001:db8::1", "198.51.100.20", "::ffff:203.113.1.1"} {
		if err := g.CheckIP(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	wide := &Guard{Allow: mustAllow(t, "0.0.0.0/0,::/0"), ownAddrs: g.ownAddrs}
	for _, s := range []string{"169.254.169.254", "::ffff:169.254.169.254", "100.100.100.200", "fd00:ec2::254", "192.0.0.192", "0.0.0.0", "224.0.0.1"} {
		if err := wide.CheckIP(netip.MustParseAddr(s)); err == nil {
			t.Errorf("%s allowed by a range", s)
		}
	}
	for _, s := range []string{"10.1.2.3", "127.0.0.1", "100.64.1.1", "fe80::1"} {
		if err := wide.CheckIP(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s refused although allowed: %v", s, err)
		}
	}
	if _, err := ParseAllow("10.0.0.0/8, 300.1.1.1/8"); err == nil {
		t.Error("bad CIDR accepted")
	}
}

// The check also runs on the address actually dialled: a name that
// resolves to loopback only at connection time (DNS rebinding) is refused.
func TestGuardAtDialTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	g := &Guard{}
	_, err := g.Client(2 * time.Second).Get(srv.URL)
	if !errors.Is(err, ErrRefused) || hits.Load() != 0 {
		t.Errorf("dial to loopback: %v, %d requests reached the server", err, hits.Load())
	}
}

var jpeg = append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte("quarantine"), 50)...)

// camServer is a camera: it serves a JPEG snapshot behind basic auth.
func camServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "cam" || p != "bí mật" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(jpeg)
	}))
	return srv, &hits
}

// rtspServer answers OPTIONS like a camera that wants a login.
func rtspServer(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				if strings.HasPrefix(line, "OPTIONS ") {
					io.WriteString(c, "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n")
				}
			}()
		}
	}()
	return ln
}

func newService(t *testing.T, db *sqldb.DB, allowLocal bool) *Service {
	v, _ := vault.New(bytes.Repeat([]byte{3}, 32))
	return &Service{DB: db, Vault: v, Guard: guardFor(allowLocal), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

var (
	admin    = &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
	benluc   = &auth.Principal{UserID: 2, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"}
	tanan    = &auth.Principal{UserID: 3, Username: "tanan", Role: auth.DistrictOfficer, Unit: "794"}
	trade    = &auth.Principal{UserID: 4, Username: "trade", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"}
	health   = &auth.Principal{UserID: 5, Username: "health", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"}
	communeA = &auth.Principal{UserID: 6, Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}
	manager  = &auth.Principal{UserID: 7, Username: "managera", Role: auth.VenueManager, Unit: "27991"}
)

func TestProbeAndSnapshot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), benluc)
		s := newService(t, db, true)
		cam, hits := camServer(t)
		defer cam.Close()
		rtsp := rtspServer(t)
		defer rtsp.Close()

		z, err := s.CreateZone(ctx, benluc, Zone{Name: "Khu cách ly tập trung Trường Quân sự tỉnh", CommuneCode: "27991", Capacity: 300, Held: 120, Public: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateZone(ctx, tanan, Zone{Name: "Khu cách ly", CommuneCode: "27991"}); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("zone outside jurisdiction: %v", err)
		}
		snapURL := strings.Replace(cam.URL, "http://", "http://cam:b%C3%AD%20m%E1%BA%ADt@", 1) + "/snap.jpg"
		c, err := s.AddCamera(ctx, benluc, z.ID, CameraInput{Name: "Cổng chính", StreamKind: MJPEG, SnapshotURL: snapURL})
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.AddCamera(ctx, benluc, z.ID, CameraInput{Name: "Hành lang", StreamKind: RTSP, StreamURL: "rtsp://" + rtsp.Addr().String() + "/h264", Username: "cam", Password: "x"})
		if err != nil {
			t.Fatal(err)
		}
		// The stored URL holds no credentials; the sealed secret is not readable.
		var stored string
		var sealed []byte
		db.R.QueryRow("SELECT snapshot_url, secret_enc FROM cameras WHERE id = $1", c.ID).Scan(&stored, &sealed)
		if strings.Contains(stored, "cam:") || strings.Contains(stored, "%C3") || bytes.Contains(sealed, []byte("bí mật")) || len(sealed) == 0 {
			t.Errorf("credentials stored in clear: %q", stored)
		}

		// Up: both cameras are seen.
		online, offline, err := s.ProbeAll(ctx)
		if err != nil || online != 2 || offline != 0 {
			t.Fatalf("probe up: %d online, %d offline, %v", online, offline, err)
		}
		zones, err := s.Zones(ctx, benluc)
		if err != nil || len(zones) != 1 || len(zones[0].Cameras) != 2 {
			t.Fatalf("zones: %v %+v", err, zones)
		}
		for _, cc := range zones[0].Cameras {
			if !cc.Online || cc.LastSeenAt == nil || cc.LastError != "" || !cc.HasCredentials {
				t.Errorf("camera %s after probe: %+v", cc.Name, cc)
			}
		}
		seen := map[int64]time.Time{} // each camera's probe may fall in another second
		for _, cc := range zones[0].Cameras {
			seen[cc.ID] = *cc.LastSeenAt
		}

		// The snapshot comes through the server, and the view is audited.
		before := hits.Load()
		data, ctype, err := s.Snapshot(ctx, benluc, c.ID)
		if err != nil || !bytes.Equal(data, jpeg) || ctype != "image/jpeg" || hits.Load() != before+1 {
			t.Fatalf("snapshot: %v %s %d bytes", err, ctype, len(data))
		}
		var audits int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE subject = 'camera_snapshot' AND username = 'benluc'").Scan(&audits)
		if audits != 1 {
			t.Errorf("%d audit entries", audits)
		}
		if _, _, err := s.Snapshot(ctx, benluc, r.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("RTSP camera snapshot: %v", err)
		}

		// Who may watch: the zone's jurisdiction, and only the watching roles.
		for _, p := range []*auth.Principal{admin, health, communeA} {
			if _, _, err := s.Snapshot(auth.WithPrincipal(context.Background(), p), p, c.ID); err != nil {
				t.Errorf("%s: %v", p.Username, err)
			}
		}
		for _, p := range []*auth.Principal{tanan, trade, manager} {
			if _, _, err := s.Snapshot(context.Background(), p, c.ID); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s watches: %v", p.Username, err)
			}
		}
		if zs, err := s.Zones(ctx, tanan); err != nil || len(zs) != 0 {
			t.Errorf("tanan sees %d zones (%v)", len(zs), err)
		}

		// Down: the probe notices, and keeps the last time it was seen.
		cam.Close()
		rtsp.Close()
		online, offline, err = s.ProbeAll(ctx)
		if err != nil || online != 0 || offline != 2 {
			t.Fatalf("probe down: %d online, %d offline, %v", online, offline, err)
		}
		zones, _ = s.Zones(ctx, admin)
		for _, cc := range zones[0].Cameras {
			if cc.Online || cc.LastError == "" || cc.LastSeenAt == nil || !cc.LastSeenAt.Equal(seen[cc.ID]) || cc.LastProbeAt == nil {
				t.Errorf("camera %s after outage: %+v", cc.Name, cc)
			}
		}

		// The public map lists the facility by name and commune only.
		pz, err := s.PublicZones(ctx, "80")
		if err != nil || len(pz) != 1 || pz[0].Name != z.Name || pz[0].CommuneName == "" {
			t.Errorf("public zones: %v %+v", err, pz)
		}
	})
}

func TestAddCameraRefusesBadURLs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db, false)
		z, err := s.CreateZone(ctx, admin, Zone{Name: "Khu cách ly Bến Lức", CommuneCode: "27991"})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range []CameraInput{
			{Name: "a", StreamKind: MJPEG, SnapshotURL: "file:///etc/shadow"},
			{Name: "b", StreamKind: RTSP, StreamURL: "http://10.0.0.5/stream"}, // an RTSP camera must use rtsp://
			{Name: "c", StreamKind: HLS, StreamURL: "rtsp://10.0.0.5/stream"},
			{Name: "d", StreamKind: MJPEG, SnapshotURL: "http://127.0.0.1:9090/metrics"},
			{Name: "e", StreamKind: MJPEG, SnapshotURL: "http://169.254.169.254/latest/meta-data/iam"},
			{Name: "f", StreamKind: RTSP, StreamURL: "rtsp://[::1]/h264"},
			{Name: "g", StreamKind: MJPEG, SnapshotURL: "http://localhost/snap.jpg"},
			{Name: "h", StreamKind: "webrtc", StreamURL: "http://10.0.0.5/"},
			{Name: "i", StreamKind: MJPEG},
		} {
			if _, err := s.AddCamera(ctx, admin, z.ID, in); !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("camera %s accepted or wrong error: %v", in.Name, err)
			}
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM cameras").Scan(&n)
		if n != 0 {
			t.Errorf("%d cameras stored", n)
		}
		// A district outside the zone may not add cameras to it.
		if _, err := s.AddCamera(ctx, tanan, z.ID, CameraInput{Name: "x", StreamKind: RTSP, StreamURL: "rtsp://10.0.0.5/h264"}); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("other district adds a camera: %v", err)
		}
	})
}
