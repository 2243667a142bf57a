package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// serveOn starts an HTTP server on addr (such as 127.0.0.2:0).
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// recorder is a server that records the Authorization headers it receives.
type recorder struct {
	mu    sync.Mutex
	auths []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.auths = append(r.auths, req.Header.Get("Authorization"))
	r.mu.Unlock()
	if req.Header.Get("Authorization") == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="cam"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(jpeg)
}

func (r *recorder) seen() (hits int, withAuth int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.auths {
		if a != "" {
			withAuth++
		}
	}
	return len(r.auths), withAuth
}

// TestRedirectsToRefusedAddressesFail: a camera allowed on 127.0.0.1
// redirects to another loopback address, to the metadata service, to a
// private address and to a name that resolves to one; none is followed.
func TestRedirectsToRefusedAddressesFail(t *testing.T) {
	inner := &recorder{}
	hidden := serveOn(t, "127.0.0.2:0", inner)
	port := hidden.Listener.Addr().(*net.TCPAddr).Port
	targets := []string{hidden.URL + "/admin", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", fmt.Sprintf("http://[::ffff:127.0.0.2]:%d/", port),
		"http://metadata.internal.test/", fmt.Sprintf("http://rebind.test:%d/", port)}
	for _, target := range targets {
		cam := serveOn(t, "127.0.0.1:0", http.RedirectHandler(target, http.StatusFound))
		g := &Guard{Allow: loopback, Lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
			return map[string][]netip.Addr{"metadata.internal.test": {netip.MustParseAddr("169.254.169.254")},
				"rebind.test": {netip.MustParseAddr("127.0.0.2")}}[host], nil
		}}
		resp, err := g.Client(2 * time.Second).Get(cam.URL + "/snap.jpg")
		if err == nil {
			resp.Body.Close()
			t.Errorf("redirect to %s followed: %d", target, resp.StatusCode)
		} else if !errors.Is(err, ErrRefused) && !errors.Is(err, errCannotResolve) {
			t.Errorf("redirect to %s: %v", target, err)
		}
	}
	if hits, _ := inner.seen(); hits != 0 {
		t.Errorf("the hidden server got %d requests", hits)
	}
}

// TestNameResolvingToRefusedAddress: a host name is judged by what it
// resolves to, when saved and again when dialled (the answer may change).
func TestNameResolvingToRefusedAddress(t *testing.T) {
	ctx := context.Background()
	answer := netip.MustParseAddr("203.113.1.1")
	var mu sync.Mutex
	g := &Guard{Lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		defer mu.Unlock()
		return []netip.Addr{netip.MustParseAddr("198.51.100.7"), answer}, nil
	}}
	set := func(s string) { mu.Lock(); answer = netip.MustParseAddr(s); mu.Unlock() }
	for _, bad := range []string{"127.0.0.1", "169.254.169.254", "10.1.2.3", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200"} {
		set(bad)
		if _, _, _, err := g.CheckURL(ctx, "snapshot_url", "http://camera.example.vn/snap.jpg", "http"); err == nil {
			t.Errorf("name resolving to %s accepted", bad)
		}
		if _, err := g.DialContext(ctx, "tcp", "camera.example.vn:80"); !errors.Is(err, ErrRefused) {
			t.Errorf("dial of a name resolving to %s: %v", bad, err)
		}
	}
	set("203.113.1.1")
	if _, _, _, err := g.CheckURL(ctx, "snapshot_url", "http://camera.example.vn/snap.jpg", "http"); err != nil {
		t.Errorf("public name refused: %v", err)
	}
}

// TestCredentialStaysWithItsOrigin: a camera's stored password goes only
// to the host and port it was typed for. Moving the camera to another
// host or port clears it, and a redirect to another origin drops it.
func TestCredentialStaysWithItsOrigin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), benluc)
		s := newService(t, db, true)
		s.Guard.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		z, err := s.CreateZone(ctx, benluc, Zone{Name: "Khu cách ly", CommuneCode: "27991"})
		if err != nil {
			t.Fatal(err)
		}
		first := &recorder{}
		a := serveOn(t, "127.0.0.1:0", first)
		c, err := s.AddCamera(ctx, benluc, z.ID, CameraInput{Name: "Cổng", StreamKind: MJPEG, SnapshotURL: a.URL + "/snap.jpg", Username: "cam", Password: "bí mật"})
		if err != nil {
			t.Fatal(err)
		}
		if on, _, err := s.ProbeAll(ctx); err != nil || on != 1 {
			t.Fatalf("probe of the first camera: %d %v", on, err)
		}
		if _, withAuth := first.seen(); withAuth == 0 {
			t.Fatal("the first camera never got its credential")
		}
		for _, move := range []string{"127.0.0.2:0", "127.0.0.1:0"} { // another host; the same host, another port
			other := &recorder{}
			b := serveOn(t, move, other)
			c, err = s.UpdateCamera(ctx, benluc, c.ID, CameraInput{Name: "Cổng", StreamKind: MJPEG, SnapshotURL: b.URL + "/snap.jpg"})
			if err != nil {
				t.Fatal(err)
			}
			if c.HasCredentials {
				t.Errorf("moved to %s: credential kept", b.URL)
			}
			for range 2 {
				s.ProbeAll(ctx)
				s.Snapshot(ctx, benluc, c.ID)
			}
			if hits, withAuth := other.seen(); hits == 0 || withAuth != 0 {
				t.Errorf("moved to %s: %d requests, %d with a credential", b.URL, hits, withAuth)
			}
			// Typed again, it belongs to the new origin.
			if c, err = s.UpdateCamera(ctx, benluc, c.ID, CameraInput{Name: "Cổng", StreamKind: MJPEG, SnapshotURL: b.URL + "/snap.jpg", Password: "mới", Username: "cam"}); err != nil || !c.HasCredentials {
				t.Fatalf("retyped: %+v %v", c, err)
			}
			// Back to the first URL without typing it: cleared again.
			if c, err = s.UpdateCamera(ctx, benluc, c.ID, CameraInput{Name: "Cổng", StreamKind: MJPEG, SnapshotURL: a.URL + "/snap.jpg"}); err != nil || c.HasCredentials {
				t.Fatalf("moved back: %+v %v", c, err)
			}
			c, _ = s.UpdateCamera(ctx, benluc, c.ID, CameraInput{Name: "Cổng", StreamKind: MJPEG, SnapshotURL: a.URL + "/snap.jpg", Username: "cam", Password: "bí mật"})
		}
		// A camera that, once authorised, redirects elsewhere does not pass the credential on.
		sink := &recorder{}
		elsewhere := serveOn(t, "127.0.0.3:0", sink)
		bouncer := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `Basic realm="cam"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
		}))
		if _, err := s.UpdateCamera(ctx, benluc, c.ID, CameraInput{Name: "Cổng", StreamKind: MJPEG, SnapshotURL: bouncer.URL + "/snap.jpg", Username: "cam", Password: "bí mật"}); err != nil {
			t.Fatal(err)
		}
		s.ProbeAll(ctx)
		if hits, withAuth := sink.seen(); hits == 0 || withAuth != 0 {
			t.Errorf("redirected: %d requests, %d with a credential", hits, withAuth)
		}
	})
}

// TestProbeShowsNoBanner: whatever a non-camera service answers (a web
// page, an error page, an SSH or SMTP greeting on the RTSP port) stays out
// of last_error, which holds a catalog message.
func TestProbeShowsNoBanner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), benluc)
		s := newService(t, db, true)
		z, err := s.CreateZone(ctx, benluc, Zone{Name: "Khu cách ly", CommuneCode: "27991"})
		if err != nil {
			t.Fatal(err)
		}
		const banner = "SECRET-BANNER internal admin v1.2"
		page := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, banner)
		}))
		failing := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(503)
			io.WriteString(w, banner)
		}))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				io.WriteString(c, "SSH-2.0-"+banner+"\r\n")
				c.Close()
			}
		}()
		want := map[string]string{}
		for name, in := range map[string]CameraInput{
			"page": {Name: "page", StreamKind: MJPEG, SnapshotURL: page.URL + "/"},
			"hls":  {Name: "hls", StreamKind: HLS, StreamURL: failing.URL + "/live.m3u8"},
			"ssh":  {Name: "ssh", StreamKind: RTSP, StreamURL: "rtsp://" + ln.Addr().String() + "/"},
			"503":  {Name: "503", StreamKind: MJPEG, SnapshotURL: failing.URL + "/snap.jpg"},
		} {
			if _, err := s.AddCamera(ctx, benluc, z.ID, in); err != nil {
				t.Fatal(err)
			}
			want[name] = map[string]string{"page": "Không phải camera", "ssh": "Không phải camera", "hls": "HTTP 5xx", "503": "HTTP 5xx"}[name]
		}
		s.ProbeAll(ctx)
		zones, err := s.Zones(ctx, benluc)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range zones[0].Cameras {
			if strings.Contains(c.LastError, "SECRET") || !strings.Contains(c.LastError, want[c.Name]) {
				t.Errorf("%s: last_error %q, want %q", c.Name, c.LastError, want[c.Name])
			}
		}
	})
}
