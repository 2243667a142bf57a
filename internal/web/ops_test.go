package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/config"
	"anticovid/internal/dashboard"
	"anticovid/internal/doortodoor"
	"anticovid/internal/people"
	"anticovid/internal/reports"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/venue"
)

// opsPeople are residents with personal data that must never reach a public response.
var opsPeople = []people.Person{
	{Name: "Trần Thị Bích Ngọc", Phone: "0903111222", IDNumber: "080190001234", BirthYear: 1990, Commune: "27991"},
	{Name: "Lê Văn Khánh", Phone: "0918333444", IDNumber: "080185005678", BirthYear: 1985, Commune: "27991"},
	{Name: "Phạm Minh Hiếu", Phone: "0977555666", IDNumber: "B1234567", BirthYear: 2001, Commune: "27994"},
	{Name: "Huỳnh Thanh Tâm", Phone: "0388777888", IDNumber: "080170009999", BirthYear: 1970, Commune: "27685"},
}

// fakeF0 stands in for the cases module: confirmations by commune and time.
type fakeF0 map[string][]time.Time

func (f fakeF0) Metrics() []string { return []string{dashboard.F0} }

func (f fakeF0) CountRange(_ context.Context, from, to time.Time) ([]dashboard.Count, error) {
	var out []dashboard.Count
	for c, ts := range f {
		for _, t := range ts {
			if !t.Before(from) && t.Before(to) {
				out = append(out, dashboard.Count{Commune: c, Metric: dashboard.F0, N: 1})
			}
		}
	}
	return out, nil
}

type fakeExposed []dashboard.ExposedPlace

func (f fakeExposed) ExposedPlaces(context.Context, time.Time) ([]dashboard.ExposedPlace, error) {
	return f, nil
}

// opsEnv is the shared test environment with the operations centre wired in.
type opsEnv struct {
	*env
	ops   *Ops
	clock *opsClock
	cam   *httptest.Server
	zone  int64
}

type opsClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *opsClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *opsClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newOpsEnv(t testing.TB, db *sqldb.DB) *opsEnv {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t, db)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ppl := people.NewService(db, e.vault)
	var personIDs []int64
	for _, p := range opsPeople {
		id, err := ppl.FindOrCreate(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		personIDs = append(personIDs, id)
	}
	now := time.Now()
	for i, v := range []string{"Chợ Bến Lức", "Bệnh viện Đa khoa Bến Lức", "Chợ Bến Lức", "Trường THCS Thạnh Lợi", "Chợ Phường 5 Tân An"} {
		for k := range 3 + i {
			if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ($1, $2, $3, $4)",
				fmt.Sprintf("ops-%d-%d", i, k), e.venues[v], personIDs[k%len(personIDs)], now.Add(-time.Duration(k*37+i*11)*time.Minute).Unix()); err != nil {
				t.Fatal(err)
			}
		}
	}
	dash := dashboard.New(db, "80", log)
	dash.Hourly = append(dash.Hourly, fakeF0{
		"27991": {now.Add(-time.Hour), now.Add(-2 * time.Hour), now.Add(-26 * time.Hour), now.Add(-50 * time.Hour), now.Add(-5 * 24 * time.Hour)},
		"27685": {now.Add(-3 * time.Hour)},
	})
	dash.Places = fakeExposed{{VenueID: e.venues["Chợ Bến Lức"], From: now.Add(-5 * time.Hour), To: now.Add(-4 * time.Hour)}}
	clock := &opsClock{t: now}
	cams := &camera.Service{DB: db, Vault: e.vault, Guard: &camera.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, Log: log}
	dash.Zones = cams
	door := &doortodoor.Service{DB: db, Vault: e.vault}
	o := &Ops{
		Dashboard: dash,
		Reports: &reports.Service{DB: db, Province: "80", Live: dash, Outbox: e.outbox, Log: log, Now: clock.now,
			DoorToDoor: door},
		Cameras:   cams,
		Campaigns: &campaign.Service{DB: db, Vault: e.vault, Outbox: e.outbox, BaseURL: "http://anticovid.test", Log: log},
	}
	if err := dash.Backfill(ctx, 14); err != nil {
		t.Fatal(err)
	}
	if err := dash.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10, LogLevel: "error", CheckinRate: 20}
	s := New(Deps{Config: cfg, DB: db, Auth: e.auth, People: ppl, Venues: &venue.Service{DB: db, Vault: e.vault, Signer: e.keys, BaseURL: "http://anticovid.test"},
		Keys: e.keys, Outbox: e.outbox, OTP: e.otp, Cases: e.cases, Log: log, Ops: o, Checkins: e.scans, Declarations: e.decl,
		DoorToDoor: door})
	e.srv.Close()
	e.srv = httptest.NewServer(contract(t, s))
	t.Cleanup(e.srv.Close)

	oe := &opsEnv{env: e, ops: o, clock: clock}
	// A quarantine zone with a camera that serves a JPEG picture.
	oe.cam = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "admin" || p != "Cam@2021" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(testPNG)
	}))
	t.Cleanup(oe.cam.Close)
	benluc := &auth.Principal{UserID: 5, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"}
	z, err := cams.CreateZone(ctx, benluc, camera.Zone{Name: "Khu cách ly tập trung Trường Quân sự tỉnh", CommuneCode: "27991", Capacity: 300, Held: 128, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	oe.zone = z.ID
	for _, name := range []string{"Cổng chính", "Dãy phòng A"} {
		if _, err := cams.AddCamera(ctx, benluc, z.ID, camera.CameraInput{Name: name, StreamKind: camera.MJPEG,
			SnapshotURL: strings.Replace(oe.cam.URL, "http://", "http://admin:Cam%402021@", 1) + "/ISAPI/Streaming/channels/101/picture"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cams.AddCamera(ctx, benluc, z.ID, camera.CameraInput{Name: "Hành lang tầng 2", StreamKind: camera.RTSP, StreamURL: "rtsp://127.0.0.1:1/h264"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cams.ProbeAll(ctx); err != nil {
		t.Fatal(err)
	}
	return oe
}

// testPNG is a 16×9 picture, as a camera would send (smaller).
var testPNG = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 9))
	for x := range 16 {
		for y := range 9 {
			img.Set(x, y, color.RGBA{uint8(40 + x*8), uint8(60 + y*10), 90, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}()

// personal lists the strings no public response may contain.
func personal() []string {
	var out []string
	for _, p := range opsPeople {
		out = append(out, p.Name, p.Phone, p.IDNumber, "84"+p.Phone[1:], p.Phone[:4]+" "+p.Phone[4:7]+" "+p.Phone[7:])
	}
	return append(out, "Chị Lan", "0912345678", "1 Đường 30/4")
}

// TestOperationsScenarios: who may do what, and bad input, over the API.
func TestOperationsScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newOpsEnv(t, db)
		w30, _ := reports.ParseWeek("2021-W30")
		e.clock.set(w30.Deadline().Add(3 * time.Hour)) // Friday 16:00: past the deadline
		zone := fmt.Sprint(e.zone)
		report := map[string]any{"work_done": "Đã dán mã QR tại 1.250 địa điểm", "difficulties": "Thiếu máy quét", "proposals": ""}
		for _, c := range []struct {
			method, path, user string
			body               any
			want               int
			has                string
		}{
			{"GET", "/api/v1/dashboard", "", nil, 401, ""},
			{"GET", "/api/v1/dashboard", "managera", nil, 403, ""},
			{"GET", "/api/v1/dashboard?unit=803", "tanan", nil, 403, ""},
			{"GET", "/api/v1/dashboard?unit=80", "benluc", nil, 403, ""},
			{"GET", "/api/v1/dashboard?unit=nope", "admin", nil, 400, ""},
			{"GET", "/api/v1/dashboard?unit=27991", "benluc", nil, 200, `"code":"27991"`},
			{"GET", "/api/v1/dashboard", "trade", nil, 200, `"sector":"industry_trade"`},
			// Weekly reports: another unit's is 403; after the deadline accepted and marked late.
			{"PUT", "/api/v1/reports/2021-W30/units/district:794", "benluc", report, 403, ""},
			{"PUT", "/api/v1/reports/2021-W30/units/dept:health", "trade", report, 403, ""},
			{"PUT", "/api/v1/reports/2021-W30/units/commune:27994", "communea", report, 403, ""},
			{"PUT", "/api/v1/reports/2021-W30/units/district:803", "admin", report, 403, ""},
			{"PUT", "/api/v1/reports/2021-W99/units/district:803", "benluc", report, 400, ""},
			{"PUT", "/api/v1/reports/2021-W30/units/district:803", "benluc", map[string]any{"work_done": ""}, 400, "work_done"},
			{"PUT", "/api/v1/reports/2021-W30/units/district:803", "benluc", report, 200, `"state":"late"`},
			{"PUT", "/api/v1/reports/2021-W30/units/dept:industry_trade", "trade", report, 200, `"state":"late"`},
			{"GET", "/api/v1/reports/2021-W30/units/district:803", "tanan", nil, 403, ""},
			{"GET", "/api/v1/reports/2021-W30/status", "benluc", nil, 403, ""},
			{"GET", "/api/v1/reports/2021-W30/status", "admin", nil, 200, `"late":2`},
			{"POST", "/api/v1/reports/2021-W30/send", "admin", nil, 400, "smtp"},
			// Cameras: bad schemes and hosts refused; watching follows jurisdiction.
			{"POST", "/api/v1/zones/" + zone + "/cameras", "benluc", map[string]string{"name": "x", "stream_kind": "mjpeg", "snapshot_url": "file:///etc/passwd"}, 400, "snapshot_url"},
			{"POST", "/api/v1/zones/" + zone + "/cameras", "benluc", map[string]string{"name": "x", "stream_kind": "rtsp", "stream_url": "ftp://10.1.1.1/"}, 400, "stream_url"},
			{"POST", "/api/v1/zones/" + zone + "/cameras", "benluc", map[string]string{"name": "x", "stream_kind": "mjpeg", "snapshot_url": "http://169.254.169.254/latest/meta-data/"}, 400, "snapshot_url"},
			{"POST", "/api/v1/zones/" + zone + "/cameras", "benluc", map[string]string{"name": "x", "stream_kind": "hls", "stream_url": "http://[fe80::1]/live.m3u8"}, 400, "stream_url"},
			{"POST", "/api/v1/zones/" + zone + "/cameras", "tanan", map[string]string{"name": "x", "stream_kind": "rtsp", "stream_url": "rtsp://10.1.1.1/"}, 403, ""},
			{"GET", "/api/v1/zones", "trade", nil, 403, ""},
			{"GET", "/api/v1/zones", "tanan", nil, 200, `"zones":[]`},
			{"GET", "/api/v1/zones", "communea", nil, 200, "Cổng chính"},
			// Campaigns: outside the sender's jurisdiction is 403, dry run included.
			{"POST", "/api/v1/campaigns/dry-run", "communea", map[string]any{"name": "Bluezone", "template": "install_bluezone", "channel": "sms", "unit_code": "27994", "groups": []string{"residents"}}, 403, ""},
			{"POST", "/api/v1/campaigns", "communea", map[string]any{"name": "Bluezone", "template": "install_bluezone", "channel": "sms", "unit_code": "803", "groups": []string{"residents"}}, 403, ""},
			{"POST", "/api/v1/campaigns", "tanan", map[string]any{"name": "Bluezone", "template": "install_bluezone", "channel": "sms", "unit_code": "27991", "groups": []string{"residents"}}, 403, ""},
			{"POST", "/api/v1/campaigns", "trade", map[string]any{"name": "Bluezone", "template": "install_bluezone", "channel": "sms", "unit_code": "80", "groups": []string{"residents"}}, 403, ""},
			{"POST", "/api/v1/campaigns/dry-run", "communea", map[string]any{"name": "Bluezone", "template": "install_bluezone", "channel": "sms", "unit_code": "27991", "groups": []string{"residents"}}, 200, `"by_group":{"residents":`},
			{"POST", "/api/v1/campaigns", "benluc", map[string]any{"name": "Quét mã QR", "template": "scan_qr", "channel": "sms", "unit_code": "803", "groups": []string{"residents", "venue_managers"}}, 201, `"status":"sending"`},
			{"POST", "/api/v1/campaigns", "benluc", map[string]any{"name": "x", "template": "scan_qr", "channel": "email", "unit_code": "803", "groups": []string{}}, 400, "channel"},
			// Map areas.
			{"POST", "/api/v1/map-areas", "tanan", map[string]any{"kind": "lockdown", "label": "Ấp 3", "unit_code": "27991"}, 403, ""},
			{"POST", "/api/v1/map-areas", "communea", map[string]any{"kind": "lockdown", "label": "Ấp 3, thị trấn Bến Lức", "unit_code": "27991"}, 201, `"kind":"lockdown"`},
		} {
			code, body := e.do(c.method, c.path, c.user, c.body)
			if code != c.want || !strings.Contains(body, c.has) {
				t.Errorf("%s %s as %q: %d, want %d (%s): %.300s", c.method, c.path, c.user, code, c.want, c.has, body)
			}
		}
		// Refused cameras were not stored; the server's own address is refused
		// unless the deployment allows it.
		allowed := e.ops.Cameras.Guard.Allow
		e.ops.Cameras.Guard.Allow = nil
		code, body := e.do("POST", "/api/v1/zones/"+zone+"/cameras", "benluc", map[string]string{"name": "x", "stream_kind": "mjpeg", "snapshot_url": e.cam.URL + "/snap.jpg"})
		if code != 400 {
			t.Errorf("loopback camera with local targets not allowed: %d %s", code, body)
		}
		e.ops.Cameras.Guard.Allow = allowed
		if code, body := e.do("POST", "/api/v1/zones/"+zone+"/cameras", "benluc", map[string]string{"name": "Phòng y tế", "stream_kind": "mjpeg", "snapshot_url": e.cam.URL + "/snap.jpg"}); code != 201 {
			t.Errorf("loopback camera with local targets allowed: %d %s", code, body)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM cameras").Scan(&n)
		if n != 4 {
			t.Errorf("%d cameras stored, want 4", n)
		}
		// The snapshot comes through the proxy, with no credentials in any answer.
		var camID int64
		db.R.QueryRow("SELECT min(id) FROM cameras").Scan(&camID)
		browser := e.browser(t, "communea")
		code, body = get(t, browser, fmt.Sprintf("%s/cameras/%d/snapshot", e.srv.URL, camID))
		if code != 200 || body != string(testPNG) {
			t.Errorf("snapshot: %d, %d bytes", code, len(body))
		}
		_, body = e.do("GET", "/api/v1/zones", "admin", nil)
		if strings.Contains(body, "Cam@2021") || strings.Contains(body, "Cam%402021") || strings.Contains(body, "admin:") {
			t.Errorf("zone list leaks camera credentials: %s", body)
		}
		code, _ = get(t, e.browser(t, "tanan"), fmt.Sprintf("%s/cameras/%d/snapshot", e.srv.URL, camID))
		if code != 403 {
			t.Errorf("another district's snapshot: %d", code)
		}
		var audits int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE subject = 'camera_snapshot' AND username = 'communea'").Scan(&audits)
		if audits != 1 {
			t.Errorf("snapshot audits: %d", audits)
		}
		// The pages: the province's board, a campaign's delivery log.
		admin := e.browser(t, "admin")
		code, body = get(t, admin, e.srv.URL+"/reports?week=2021-W30")
		if code != 200 || !strings.Contains(body, "Nộp trễ: 2") || !strings.Contains(body, "Huyện Bến Lức") {
			t.Errorf("board page: %d", code)
		}
		var campID int64
		db.R.QueryRow("SELECT max(id) FROM campaigns").Scan(&campID)
		code, body = get(t, e.browser(t, "benluc"), fmt.Sprintf("%s/campaigns/%d", e.srv.URL, campID))
		if code != 200 || !strings.Contains(body, "Quét mã QR") || !strings.Contains(body, "Nhật ký gửi") {
			t.Errorf("campaign page: %d", code)
		}
		if code, _ = get(t, e.browser(t, "tanan"), fmt.Sprintf("%s/campaigns/%d", e.srv.URL, campID)); code != 403 {
			t.Errorf("another district's campaign page: %d", code)
		}
		// The consolidated workbook downloads for the province, not for a district.
		code, body = get(t, admin, e.srv.URL+"/reports/2021-W30/export/bao-cao-tuan-2021-W30.xlsx")
		if code != 200 || !strings.HasPrefix(body, "PK") {
			t.Errorf("xlsx: %d", code)
		}
		code, _ = get(t, e.browser(t, "benluc"), e.srv.URL+"/reports/2021-W30/export/bao-cao-tuan-2021-W30.pdf")
		if code != 403 {
			t.Errorf("district downloads the consolidated report: %d", code)
		}
	})
}
