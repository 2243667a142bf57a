package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePair writes a fresh self-signed pair for name and returns its serial.
func writePair(t *testing.T, certFile, keyFile, name string) string {
	t.Helper()
	c, k, err := SelfSigned(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, c, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	return leaf.SerialNumber.String()
}

func serving(t *testing.T, f *Files) string {
	t.Helper()
	c, err := f.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	return leaf.SerialNumber.String()
}

// The province's own certificate: a renewed pair is served once its files
// change (new time, new size, both), and at once on Reload even when the
// files kept their time; a broken pair leaves the previous one in service;
// a missing or broken pair stops the start.
func TestFilesReload(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writePair(t, cf, kf, "covid.longan.gov.vn")
	f, err := LoadFiles(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	var logged []error
	f.Every, f.Log = 0, func(_ string, err error) { logged = append(logged, err) }
	if serving(t, f) != first {
		t.Fatal("not serving the loaded pair")
	}
	old := time.Now().Add(-time.Hour)

	// Renewed in place: the time moves.
	second := writePair(t, cf, kf, "covid.longan.gov.vn")
	if serving(t, f) != second {
		t.Fatal("a renewed pair was not picked up")
	}
	// Renewed with the old times put back (cp -p of an older copy): the
	// size differs or, failing that, SIGHUP's Reload does it.
	third := writePair(t, cf, kf, "covid.longan.gov.vn")
	os.Chtimes(cf, old, old)
	os.Chtimes(kf, old, old)
	f.Reload()
	if serving(t, f) != third {
		t.Fatal("Reload did not serve the new pair")
	}
	fourth := writePair(t, cf, kf, "covid.longan.gov.vn")
	os.Chtimes(cf, old, old)
	os.Chtimes(kf, old, old)
	if got := serving(t, f); got != third && got != fourth {
		t.Fatalf("serving %s", got)
	}
	if err := f.Reload(); err != nil || serving(t, f) != fourth {
		t.Fatal("Reload after an unchanged stamp")
	}

	// A half-written renewal (the key of another pair, garbage, nothing)
	// keeps the good pair and is logged.
	for _, broken := range []func(){
		func() { c, _, _ := SelfSigned("other.vn"); os.WriteFile(cf, c, 0o600) },
		func() {
			os.WriteFile(kf, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
		},
		func() { os.WriteFile(cf, nil, 0o600) },
		func() { os.Remove(kf) },
	} {
		logged = nil
		writePair(t, cf, kf, "covid.longan.gov.vn")
		f.Reload()
		good := serving(t, f)
		broken()
		time.Sleep(10 * time.Millisecond)
		if serving(t, f) != good {
			t.Fatal("a broken pair replaced the good one")
		}
		if err := f.Reload(); err == nil {
			t.Fatal("Reload of a broken pair succeeded")
		}
		if len(logged) != 1 || logged[0] == nil {
			t.Fatalf("broken pair not logged as failed: %v", logged)
		}
	}
	if _, err := LoadFiles(filepath.Join(dir, "none.pem"), kf); err == nil {
		t.Fatal("a missing certificate loaded")
	}
}

// Plain HTTP redirects to the same host and path on HTTPS with 301, for
// every method and shape of request; a Host header outside the names goes
// to the first name, not where it points.
func TestRedirect(t *testing.T) {
	names := []string{"covid.longan.gov.vn", "www.covid.longan.gov.vn"}
	cases := []struct {
		h      http.Handler
		method string
		host   string
		target string
		want   string
	}{
		{Redirect(names, "443"), "GET", "covid.longan.gov.vn", "/dashboard?d=80&x=1", "https://covid.longan.gov.vn/dashboard?d=80&x=1"},
		{Redirect(names, "443"), "GET", "WWW.covid.longan.gov.vn:80", "/", "https://www.covid.longan.gov.vn/"},
		{Redirect(names, "443"), "POST", "covid.longan.gov.vn", "/api/v1/checkins", "https://covid.longan.gov.vn/api/v1/checkins"},
		{Redirect(names, "443"), "HEAD", "evil.example", "/login", "https://covid.longan.gov.vn/login"},
		{Redirect(names, "443"), "GET", "evil.example:80", "//evil.example/x", "https://covid.longan.gov.vn//evil.example/x"},
		{Redirect(names, "443"), "GET", "", "/c/abc", "https://covid.longan.gov.vn/c/abc"},
		{Redirect(names, "8443"), "GET", "covid.longan.gov.vn:8080", "/c/t%C3%A9st", "https://covid.longan.gov.vn:8443/c/t%C3%A9st"},
		{Redirect(nil, "8443"), "GET", "127.0.0.1:8080", "/", "https://127.0.0.1:8443/"},
		{Redirect(nil, "443"), "GET", "[::1]:80", "/a", "https://[::1]/a"},
		{Redirect(nil, "8443"), "GET", "[::1]:80", "/a", "https://[::1]:8443/a"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "http://x"+c.target, nil)
		r.Host = c.host
		w := httptest.NewRecorder()
		c.h.ServeHTTP(w, r)
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != c.want {
			t.Errorf("%s %s%s: %d %q, want 301 %q", c.method, c.host, c.target, w.Code, w.Header().Get("Location"), c.want)
		}
	}
	w := httptest.NewRecorder()
	HSTS(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Header().Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Fatal("no HSTS")
	}
}

// The ACME cache directory is made (or tightened to) 0700, and a CA file
// that is not PEM is refused.
func TestNewACME(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acme")
	os.Mkdir(dir, 0o755)
	m, err := NewACME(ACMEOptions{Domains: []string{"a.vn"}, Directory: "https://127.0.0.1:1/dir", CacheDir: dir})
	if err != nil || m == nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache mode %v", fi.Mode().Perm())
	}
	if err := m.HostPolicy(t.Context(), "b.vn"); err == nil {
		t.Fatal("a name outside --tls-domain is allowed")
	}
	bad := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	for _, o := range []ACMEOptions{
		{Domains: []string{"a.vn"}, CacheDir: dir, CAFile: bad},
		{Domains: []string{"a.vn"}, CacheDir: dir, CAFile: bad + ".none"},
		{CacheDir: dir},
	} {
		if _, err := NewACME(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
