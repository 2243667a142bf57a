package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"anticovid/internal/config"
	"anticovid/internal/tlsconf"
	"anticovid/internal/web"
)

// front is the server's listening side: plain HTTP alone, or HTTPS with a
// plain-HTTP side that answers ACME challenges and probes and redirects
// everything else.
type front struct {
	servers []*http.Server
	lns     []net.Listener
	urls    []string
	stop    []func() // on shutdown: the SIGHUP watcher
	// started runs once every server serves: the ACME warm-up, which must
	// not start before the validator can reach either challenge (the TLS
	// listener for tls-alpn-01, the plain one's handler for http-01).
	started []func()
}

// newHTTPServer is an http.Server with the timeouts every listener uses.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// listen opens the listeners cfg asks for in front of site.
func listen(cfg *config.Config, site *web.Server, log *slog.Logger) (*front, error) {
	f := &front{}
	plain, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if !cfg.TLS() {
		f.add(plain, newHTTPServer(site), "http://")
		return f, nil
	}
	tlsConf, names, err := certificates(cfg, log, f)
	if err != nil {
		plain.Close()
		return nil, err
	}
	secure, err := net.Listen("tcp", cfg.TLSAddr)
	if err != nil {
		plain.Close()
		f.close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	_, port, _ := net.SplitHostPort(secure.Addr().String())
	redirect := site.Probes(tlsconf.Redirect(names, port))
	if m := tlsConf.acme; m != nil {
		redirect = tlsconf.Challenges(m, redirect) // http-01 challenges first
		f.started = append(f.started, func() { go tlsconf.Warm(m, names, tlsConf.warmed) })
	}
	https := newHTTPServer(tlsconf.HSTS(site))
	https.TLSConfig = tlsConf.config
	f.add(secure, https, "https://")
	f.add(plain, newHTTPServer(redirect), "http://")
	return f, nil
}

func (f *front) add(ln net.Listener, srv *http.Server, scheme string) {
	f.lns = append(f.lns, ln)
	f.servers = append(f.servers, srv)
	f.urls = append(f.urls, scheme+ln.Addr().String())
}

// serve runs every server; the channel gets the first that fails.
func (f *front) serve() <-chan error {
	errc := make(chan error, len(f.servers))
	for i, srv := range f.servers {
		go func() {
			var err error
			if srv.TLSConfig != nil {
				err = srv.ServeTLS(f.lns[i], "", "")
			} else {
				err = srv.Serve(f.lns[i])
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	for _, fn := range f.started {
		fn()
	}
	f.started = nil
	return errc
}

// shutdown closes the listeners and waits for requests in flight until ctx
// ends; then it cuts the connections still open and says so.
func (f *front) shutdown(ctx context.Context) error {
	f.close()
	var wg sync.WaitGroup
	errs := make([]error, len(f.servers))
	for i, srv := range f.servers {
		wg.Go(func() {
			if errs[i] = srv.Shutdown(ctx); errs[i] != nil {
				srv.Close()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (f *front) close() {
	for _, s := range f.stop {
		s()
	}
	f.stop = nil
}

// tlsSetup is where certificates come from: an ACME manager, or files.
type tlsSetup struct {
	config *tls.Config
	acme   *autocert.Manager
	warmed func(domain string, err error) // logs the warm-up's outcome
}

// certificates builds the TLS configuration of cfg and the names the
// plain side redirects to. ACME certificates are asked for in the
// background once the servers serve (front.serve); certificate files are
// reloaded on SIGHUP.
func certificates(cfg *config.Config, log *slog.Logger, f *front) (tlsSetup, []string, error) {
	if names := cfg.Domains(); len(names) > 0 {
		m, err := tlsconf.NewACME(tlsconf.ACMEOptions{Domains: names, Directory: cfg.ACMEDirectory, Email: cfg.ACMEEmail,
			CacheDir: filepath.Join(cfg.DataDir, "acme"), CAFile: cfg.ACMECAFile})
		if err != nil {
			return tlsSetup{}, nil, err
		}
		tc := m.TLSConfig()
		tc.MinVersion = tls.VersionTLS12
		warmed := func(domain string, err error) {
			if err != nil {
				log.Error("acme certificate", "domain", domain, "err", err)
			} else {
				log.Info("acme certificate ready", "domain", domain)
			}
		}
		return tlsSetup{config: tc, acme: m, warmed: warmed}, names, nil
	}
	files, err := tlsconf.LoadFiles(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return tlsSetup{}, nil, err
	}
	files.Log = func(msg string, err error) {
		if err != nil {
			log.Error(msg+": kept the previous certificate", "err", err)
		} else {
			log.Info(msg + ": reloaded")
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				files.Log("SIGHUP", files.Reload())
			case <-done:
				return
			}
		}
	}()
	f.stop = append(f.stop, func() { signal.Stop(hup); close(done) })
	var names []string
	if u, err := url.Parse(cfg.BaseURL); err == nil {
		names = []string{u.Hostname()}
	}
	return tlsSetup{config: &tls.Config{GetCertificate: files.GetCertificate, MinVersion: tls.VersionTLS12}}, names, nil
}
