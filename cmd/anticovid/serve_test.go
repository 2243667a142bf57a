package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"anticovid/internal/tlsconf"
)

// SIGTERM under check-in load: /readyz answers 503 at once while requests
// are still served for --shutdown-delay; then the listeners close, a
// request in flight (its body still arriving) completes, the process exits
// 0, and every check-in acknowledged with a 2xx is in the database without
// a restart (the writer flushed, the journal applied).
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	cmd, base, venueToken := servedVenue(t, dir, "--shutdown-delay", "1s", "--shutdown-timeout", "20s")
	acked, stop := checkinLoad(base, venueToken)
	time.Sleep(time.Second)

	// A slow check-in: its headers and half its body now, the rest after
	// the listeners have closed.
	const slowID = "5105105f-0000-4000-8000-000000000001"
	body, _ := json.Marshal(map[string]any{"id": slowID, "token": venueToken, "direction": "in",
		"person": map[string]any{"name": "Trần Thị Lan", "phone": "0912345678", "birth_year": 1985, "commune_code": "27685"}})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/api/v1/checkins", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	type answer struct {
		status int
		err    error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			slow <- answer{0, err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		slow <- answer{resp.StatusCode, nil}
	}()
	pw.Write(body[:len(body)/2])
	time.Sleep(200 * time.Millisecond)

	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	probe := func(path string) int {
		resp, err := fresh.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if probe("/readyz") != 200 {
		t.Fatal("not ready before SIGTERM")
	}
	signalled := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	ready := 200
	for time.Since(signalled) < 300*time.Millisecond && ready == 200 {
		ready = probe("/readyz")
	}
	if ready != http.StatusServiceUnavailable || probe("/healthz") != 200 {
		t.Fatalf("after SIGTERM: readyz %d (want 503 at once), healthz %d while draining", ready, probe("/healthz"))
	}
	before := len(acked())
	time.Sleep(1500 * time.Millisecond) // past the delay: the listeners are closed
	if after := len(acked()); after <= before {
		t.Errorf("no check-in served during the drain delay (%d, then %d)", before, after)
	}
	if code := probe("/healthz"); code != 0 {
		t.Fatalf("a new connection was served after the delay: %d", code)
	}
	pw.Write(body[len(body)/2:])
	pw.Close()
	if a := <-slow; a.err != nil || a.status/100 != 2 {
		t.Fatalf("the check-in in flight at SIGTERM: %d %v", a.status, a.err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want 0)", err)
	}
	took := time.Since(signalled)
	stop()
	ids := append(acked(), slowID)
	if len(ids) < 100 {
		t.Fatalf("only %d check-ins acknowledged", len(ids))
	}
	if missing := missingCheckins(t, dir, ids); missing > 0 {
		t.Fatalf("%d of %d acknowledged check-ins missing after a graceful stop", missing, len(ids))
	}
	t.Logf("%d acknowledged check-ins all stored; SIGTERM to exit 0 in %v", len(ids), took.Round(time.Millisecond))
}

// httpsTo is a client that reaches every name at addr, trusting roots only,
// and does not follow redirects.
func httpsTo(addr string, roots *x509.CertPool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// checkHTTPS asks url over HTTPS and checks HSTS; it returns the answer and
// the serial of the certificate served.
func checkHTTPS(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Fatalf("GET %s: %d, HSTS %q", url, resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	return resp, resp.TLS.PeerCertificates[0].SerialNumber.String()
}

// checkRedirects: the plain side sends every method and path to the same
// host and path on HTTPS with 301, and answers the probes itself.
func checkRedirects(t *testing.T, plain, host, tlsPort string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, r := range [][2]string{{"GET", "/login?next=%2Fcases"}, {"POST", "/api/v1/checkins"}, {"GET", "/c/abc"}, {"HEAD", "/"}} {
		req, _ := http.NewRequest(r[0], "http://"+plain+r[1], strings.NewReader("{}"))
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := "https://" + net.JoinHostPort(host, tlsPort) + r[1]
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("%s http://%s%s: %d %q, want 301 %q", r[0], host, r[1], resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := c.Get("http://" + plain + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("plain %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
}

// The province's own certificate: served over HTTPS with HSTS, plain HTTP
// redirected, session cookies Secure; a renewed pair is served once its
// files change, and at once on SIGHUP.
func TestServeOwnCertificate(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	const host = "covid.longan.gov.vn"
	cf, kf := filepath.Join(certs, "cert.pem"), filepath.Join(certs, "key.pem")
	writePair := func() *x509.CertPool {
		c, k, err := tlsconf.SelfSigned(host)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(cf+".new", c, 0o600)
		os.WriteFile(kf, k, 0o600)
		os.Rename(cf+".new", cf)
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(c)
		return roots
	}
	roots := writePair()
	if out, err := cli(t, "mật-khẩu-rất-dài\n", "user", "add", "--data", dir, "--username", "admin", "--role", "province_admin", "--unit", "80"); err != nil {
		t.Fatal(err, out)
	}
	tlsAddr := freePort(t)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	cmd, base := startServer(t, dir, "--tls-addr", tlsAddr, "--tls-cert", cf, "--tls-key", kf, "--base-url", "https://"+host+":"+tlsPort)
	secure := "https://" + host + ":" + tlsPort

	_, first := checkHTTPS(t, httpsTo(tlsAddr, roots), secure+"/login")
	checkRedirects(t, strings.TrimPrefix(base, "http://"), host, tlsPort)

	// A login cookie set over HTTPS is Secure (an administrator's password
	// leads to the second-factor step, so the cookie is the pending one).
	resp, err := httpsTo(tlsAddr, roots).PostForm(secure+"/login", url.Values{"username": {"admin"}, "password": {"mật-khẩu-rất-dài"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var login *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			login = c
		}
	}
	if login == nil || !login.Secure || !login.HttpOnly {
		t.Fatalf("login over HTTPS: %d %s, cookie %+v (want Secure, HttpOnly)", resp.StatusCode, resp.Header.Get("Location"), login)
	}

	// Renewed files are picked up (checked every 5 s at most).
	roots = writePair()
	var second string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if r, err := httpsTo(tlsAddr, roots).Get(secure + "/healthz"); err == nil {
			r.Body.Close()
			second = r.TLS.PeerCertificates[0].SerialNumber.String()
			break
		}
	}
	if second == "" || second == first {
		t.Fatal("the renewed certificate was not served")
	}
	// Right after a check, only SIGHUP explains a new pair being served.
	roots = writePair()
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if _, third := checkHTTPS(t, httpsTo(tlsAddr, roots), secure+"/healthz"); third == second {
		t.Fatal("SIGHUP did not reload the certificate")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil || cmd.Wait() != nil {
		t.Fatal("the TLS server did not stop cleanly")
	}
}

// healthcheck exits 0 for a healthy server and 1 for none, as Docker's
// HEALTHCHECK wants; its default URL follows --addr.
func TestHealthcheckCommand(t *testing.T) {
	_, base := startServer(t, t.TempDir())
	addr := strings.TrimPrefix(base, "http://")
	if out, err := cli(t, "", "healthcheck", "--addr", addr); err != nil || !strings.Contains(out, `"status":"ok"`) {
		t.Fatalf("healthy server: %v %s", err, out)
	}
	if out, err := cli(t, "", "healthcheck", "--url", base+"/readyz"); err != nil {
		t.Fatalf("ready server: %v %s", err, out)
	}
	for _, args := range [][]string{{"--addr", freePort(t)}, {"--url", base + "/nothing"}} {
		out, err := cli(t, "", append([]string{"healthcheck"}, args...)...)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, "unhealthy") {
			t.Errorf("healthcheck %v: %v %s (want exit 1)", args, err, out)
		}
	}
}
