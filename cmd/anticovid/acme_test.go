package main

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// loopbackDNS answers every A question with 127.0.0.1 over TCP (the
// transport pebble's validator uses), so the test's names reach this
// machine's listeners.
func loopbackDNS(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A: net.IPv4(127, 0, 0, 1)})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// pebble runs Let's Encrypt's test ACME server in the test process, its
// validator reaching http-01 challenges on httpPort and tls-alpn-01 ones on
// tlsPort of 127.0.0.1. It returns the directory URL, a PEM file of the
// directory's own HTTPS certificate (for --acme-ca-file) and the root that
// issued certificates chain to.
func pebble(t *testing.T, httpPort, tlsPort int) (directory, caFile string, root *x509.Certificate, store *db.MemoryStore) {
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // no random waits before validating
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no random bad-nonce errors
	logger := log.New(os.Stderr, "pebble ", log.Ltime)
	if !testing.Verbose() {
		logger.SetOutput(&strings.Builder{})
	}
	store = db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, tlsPort, false, loopbackDNS(t), store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "acme-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/dir", caFile, authority.GetRootCert(0).Cert, store
}

// validatedBy is the challenge type pebble validated for the order that
// issued cert (several when the order had several names).
func validatedBy(store *db.MemoryStore, cert *x509.Certificate) []string {
	issued := store.GetCertificateByDER(cert.Raw)
	if issued == nil {
		return nil
	}
	var types []string
	for _, o := range store.GetOrdersByAccountID(issued.AccountID) {
		if o.CertificateObject == nil || o.CertificateObject.ID != issued.ID {
			continue
		}
		for _, z := range o.AuthorizationObjects {
			for _, c := range z.Challenges {
				if c.Status == "valid" {
					types = append(types, c.Type)
				}
			}
		}
	}
	return types
}

// acceptsTCP waits until something accepts connections at addr.
func acceptsTCP(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing accepts at %s", addr)
}

// firstCertificate asks url over HTTPS until the server has its first
// certificate. An ACME validation can fail for reasons outside the server
// (once in CI pebble's tls-alpn-01 check failed, autocert had no challenge
// left, and the handshake got "missing certificate"); autocert then keeps
// the failure for a minute, so each retry restarts the server, which places
// a new order. Every failure is logged; after attempts it is fatal.
func firstCertificate(t *testing.T, start func() *exec.Cmd, tlsAddr string, c *http.Client, url string) (*exec.Cmd, *http.Response) {
	t.Helper()
	const attempts = 3
	cmd := start()
	for i := 1; ; i++ {
		acceptsTCP(t, tlsAddr)
		resp, err := c.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return cmd, resp
		}
		t.Logf("attempt %d/%d: GET %s: %v", i, attempts, url, err)
		if i == attempts {
			t.Fatalf("no certificate after %d orders", attempts)
		}
		cmd.Process.Kill()
		cmd.Wait()
		time.Sleep(500 * time.Millisecond)
		cmd = start()
	}
}

// --tls-domain end to end against a real ACME server (pebble, on
// loopback), by each challenge the server answers: tls-alpn-01 on the HTTPS
// port, and http-01 on the plain port when the validator cannot reach the
// HTTPS one. The server gets a certificate chaining to pebble's root and
// serves HTTPS with HSTS, its plain side redirects with 301, the account
// and certificate are cached in DATA/acme (0700), and a restart serves the
// cached certificate without asking again.
func TestServeACME(t *testing.T) {
	for _, challenge := range []string{"tls-alpn-01", "http-01"} {
		t.Run(challenge, func(t *testing.T) {
			const host = "test.anticovid.local"
			plainAddr, tlsAddr := freePort(t), freePort(t)
			_, hp, _ := net.SplitHostPort(plainAddr)
			_, tp, _ := net.SplitHostPort(tlsAddr)
			httpPort, _ := strconv.Atoi(hp)
			tlsPort, _ := strconv.Atoi(tp)
			if challenge == "http-01" {
				_, closed, _ := net.SplitHostPort(freePort(t)) // nothing listens there
				tlsPort, _ = strconv.Atoi(closed)
			}
			directory, caFile, root, store := pebble(t, httpPort, tlsPort)
			dir := t.TempDir()
			args := []string{"--tls-domain", host, "--tls-addr", tlsAddr, "--acme-directory", directory, "--acme-ca-file", caFile,
				"--acme-email", "it@longan.gov.vn"}

			roots := x509.NewCertPool()
			roots.AddCert(root)
			cmd, _ := firstCertificate(t, func() *exec.Cmd { c, _ := startServerAt(t, dir, plainAddr, args...); return c },
				tlsAddr, httpsTo(tlsAddr, roots), "https://"+host+":"+tp+"/healthz")
			resp, first := checkHTTPS(t, httpsTo(tlsAddr, roots), "https://"+host+":"+tp+"/login")
			chain := resp.TLS.VerifiedChains[0]
			if !chain[len(chain)-1].Equal(root) || chain[0].DNSNames[0] != host {
				t.Fatalf("certificate chain %v does not lead from %s to pebble's root", chain, host)
			}
			// The challenge this case is about got the certificate, not the
			// other one as a fallback.
			if by := validatedBy(store, chain[0]); len(by) != 1 || by[0] != challenge {
				t.Fatalf("certificate validated by %v, want %s", by, challenge)
			}
			checkRedirects(t, plainAddr, host, tp)
			if fi, err := os.Stat(filepath.Join(dir, "acme")); err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("DATA/acme: %v %v", fi, err)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil || cmd.Wait() != nil {
				t.Fatal("the ACME server did not stop cleanly")
			}
			if challenge != "tls-alpn-01" {
				return
			}
			// Restarted: the certificate comes from the cache.
			startServerAt(t, dir, plainAddr, args...)
			if _, again := checkHTTPS(t, httpsTo(tlsAddr, roots), "https://"+host+":"+tp+"/healthz"); again != first {
				t.Fatalf("restart served certificate %s, not the cached %s", again, first)
			}
		})
	}
}
