// Package tlsconf is what the server needs to serve HTTPS itself: a
// certificate from ACME (Let's Encrypt) obtained and renewed by
// golang.org/x/crypto/acme/autocert, or the province's own certificate files
// reloaded when they change; the plain-HTTP side that answers ACME
// challenges and redirects everything else; and HSTS on HTTPS answers.
package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEOptions are the settings of an ACME certificate manager.
type ACMEOptions struct {
	Domains   []string // names to get certificates for; no other name is ever asked for
	Directory string   // the ACME server's directory URL
	Email     string   // contact address for expiry warnings (optional)
	CacheDir  string   // account key and certificates; created 0700
	// CAFile holds PEM roots to trust for the ACME server's own HTTPS (a
	// private ACME server, tests); empty: the system roots.
	CAFile string
}

// NewACME returns a manager that obtains certificates for the options'
// domains on the first handshake that names one, and renews them 30 days
// before they expire. Its TLSConfig answers tls-alpn-01 challenges; its
// HTTPHandler answers http-01 ones.
func NewACME(o ACMEOptions) (*autocert.Manager, error) {
	if len(o.Domains) == 0 {
		return nil, errors.New("acme: no domain")
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("acme cache: %w", err)
	}
	// MkdirAll leaves an existing directory as it was: the account key
	// lives here, so tighten it.
	if err := os.Chmod(o.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("acme cache: %w", err)
	}
	client := &acme.Client{DirectoryURL: o.Directory}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("acme CA file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("acme CA file %s: no PEM certificate", o.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		client.HTTPClient = &http.Client{Transport: tr, Timeout: time.Minute}
	}
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(o.CacheDir),
		HostPolicy: autocert.HostWhitelist(o.Domains...),
		Email:      o.Email,
		Client:     client,
	}, nil
}

// Warm asks m for each domain's certificate now, as a client preferring
// ECDSA would, so the first visitor does not wait for the ACME exchange and
// a misconfiguration shows in the log at start. done is told each outcome.
func Warm(m *autocert.Manager, domains []string, done func(domain string, err error)) {
	for _, d := range domains {
		hello := &tls.ClientHelloInfo{ServerName: d,
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedCurves:  []tls.CurveID{tls.CurveP256},
			CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
		_, err := m.GetCertificate(hello)
		done(d, err)
	}
}

// Files serves a certificate from PEM files the province already has. It
// reloads them when their modification time or size changes (checked at
// most once per Every during handshakes) and when Reload is called (on
// SIGHUP); a pair that does not load keeps the previous one in service.
type Files struct {
	CertFile, KeyFile string
	Every             time.Duration
	// Log is told each reload and each failed one.
	Log func(msg string, err error)

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// LoadFiles loads the pair once; it fails when it does not load, so a bad
// path stops the server at start.
func LoadFiles(certFile, keyFile string) (*Files, error) {
	f := &Files{CertFile: certFile, KeyFile: keyFile, Every: 5 * time.Second}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// stampOf names the files' current versions.
func (f *Files) stampOf() string {
	var b strings.Builder
	for _, p := range []string{f.CertFile, f.KeyFile} {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return b.String()
}

// Reload reads the pair again and serves it from the next handshake on.
func (f *Files) Reload() error {
	stamp := f.stampOf()
	c, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cert, f.stamp, f.checked = &c, stamp, time.Now()
	return nil
}

// GetCertificate is the tls.Config hook: the current pair, reloaded first
// when the files changed.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	due := time.Since(f.checked) >= f.Every
	if due {
		f.checked = time.Now()
	}
	stamp := f.stamp
	f.mu.Unlock()
	if due && f.stampOf() != stamp {
		err := f.Reload()
		if f.Log != nil {
			f.Log("tls certificate files changed", err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert, nil
}

// Redirect answers every request with a 301 to the same path on HTTPS. The
// host is the request's when it is one of names (or names is empty), else
// the first name, so a forged Host header cannot send a visitor elsewhere;
// tlsPort is added unless it is 443.
func Redirect(names []string, tlsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(host)
		if len(names) > 0 && !slices.Contains(names, host) {
			host = names[0]
		}
		if tlsPort != "443" && tlsPort != "" {
			host = net.JoinHostPort(host, tlsPort)
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]" // an IPv6 address
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}

// HSTS tells browsers to come back over HTTPS only, for a year.
func HSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// SelfSigned makes a self-signed ECDSA certificate for names, valid for a
// day, as PEM: for tests and trials of --tls-cert, never for production.
func SelfSigned(names ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// Challenges answers ACME http-01 challenges ahead of next. The host policy
// is shown the name without a port: a validator reaching another port than
// 80 (a balancer forwarding to one, a test ACME server) sends Host with it.
func Challenges(m *autocert.Manager, next http.Handler) http.Handler {
	h := m.HTTPHandler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, _, err := net.SplitHostPort(r.Host); err == nil {
			r.Host = name
		}
		h.ServeHTTP(w, r)
	})
}
