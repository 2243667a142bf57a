// Package smtpsink is a real SMTP server (emersion/go-smtp) on the loopback
// interface for tests: it requires AUTH PLAIN, speaks STARTTLS, TLS from the
// first byte or plain text, and keeps every message it receives so a test
// can check what arrived. Only tests import it.
package smtpsink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Modes of Options.Mode.
const (
	Plain    = "plain"    // no TLS offered; AUTH allowed in the clear
	StartTLS = "starttls" // STARTTLS offered; AUTH only after it
	TLS      = "tls"      // TLS from the first byte (smtps)
)

// Options configure a sink.
type Options struct {
	Mode           string
	Cert           tls.Certificate // for StartTLS and TLS
	User, Password string          // the one account AUTH PLAIN accepts
}

// Mail is one received message.
type Mail struct {
	TLS  bool   // the session was encrypted when MAIL FROM came
	User string // who authenticated
	From string
	To   []string
	Data []byte
}

// Sink is a running server.
type Sink struct {
	Addr string
	opts Options
	mu   sync.Mutex
	got  []Mail
}

// Start runs a sink until the test ends.
func Start(t testing.TB, o Options) *Sink {
	t.Helper()
	s := &Sink{opts: o}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 20 << 20
	srv.AllowInsecureAuth = o.Mode == Plain
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch o.Mode {
	case StartTLS:
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{o.Cert}}
	case TLS:
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{o.Cert}})
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Received returns what arrived so far.
func (s *Sink) Received() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.got...)
}

// Cert returns a certificate for 127.0.0.1 and a pool that trusts it
// (httptest's, so no key is generated per test).
func Cert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv.TLS.Certificates[0], pool
}

type session struct {
	s    *Sink
	conn *smtp.Conn
	cur  Mail
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.opts.User || pass != x.s.opts.Password {
			return errors.New("bad credentials")
		}
		x.cur.User = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.cur.User == "" {
		return smtp.ErrAuthRequired
	}
	_, x.cur.TLS = x.conn.TLSConnectionState()
	x.cur.From = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.cur.Data = b
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.cur)
	x.s.mu.Unlock()
	x.cur = Mail{User: x.cur.User}
	return nil
}

func (x *session) Reset()        { x.cur = Mail{User: x.cur.User} }
func (x *session) Logout() error { return nil }
