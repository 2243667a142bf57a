package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"anticovid/internal/config"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// sink is a real SMTP server (emersion/go-smtp) on loopback that requires
// AUTH PLAIN (over TLS unless plain is allowed) and keeps what arrived.
type sink struct {
	addr string
	mu   sync.Mutex
	got  []arrived
}

type arrived struct {
	tls  bool
	user string
	from string
	to   []string
	data []byte
}

type sinkSession struct {
	s    *sink
	conn *smtp.Conn
	cur  arrived
}

func (x *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (x *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "thongbao@longan.gov.vn" || pass != "mật khẩu 2021" {
			return errors.New("bad credentials")
		}
		x.cur.user = user
		return nil
	}), nil
}
func (x *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	_, x.cur.tls = x.conn.TLSConnectionState()
	x.cur.from = from
	return nil
}
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.to = append(x.cur.to, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.cur.data = b
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.cur)
	x.s.mu.Unlock()
	x.cur = arrived{user: x.cur.user}
	return nil
}
func (x *sinkSession) Reset()        { x.cur = arrived{user: x.cur.user} }
func (x *sinkSession) Logout() error { return nil }

// testCert is a certificate for 127.0.0.1 and the pool that trusts it
// (httptest's own, so no key is generated per test).
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv.TLS.Certificates[0], pool
}

// startSink starts a server: mode "starttls" offers STARTTLS, "tls" speaks
// TLS from the first byte, "plain" offers no TLS at all.
func startSink(t *testing.T, mode string, cert tls.Certificate) *sink {
	t.Helper()
	s := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = mode == "plain"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "starttls":
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	case "tls":
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sink) arrived() []arrived {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrived(nil), s.got...)
}

// readMail returns a received message's subject and text.
func readMail(t *testing.T, raw []byte) (subject, body string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(m.Body)
	}
	b, _ := io.ReadAll(r)
	return subject, string(b)
}

const smtpUser = "thongbao%40longan.gov.vn:m%E1%BA%ADt%20kh%E1%BA%A9u%202021"

func TestSMTP(t *testing.T) {
	cert, pool := testCert(t)
	ctx := context.Background()
	msg := Message{Channel: Email, To: "a@b.vn", Subject: "Nhắc nộp báo cáo tuần 2021-W30", Body: "Kính gửi UBND xã,\nhạn nộp là 13:00 thứ Sáu."}
	for _, c := range []struct {
		name, mode, url string
		trust           bool
		wantErr         string
	}{
		{"starttls", "starttls", "smtp://%s@%s?from=thongbao@longan.gov.vn", true, ""},
		{"implicit tls", "tls", "smtps://%s@%s?from=thongbao@longan.gov.vn", true, ""},
		{"starttls required, not offered", "plain", "smtp://%s@%s?from=thongbao@longan.gov.vn", true, "STARTTLS"},
		{"untrusted certificate", "starttls", "smtp://%s@%s?from=thongbao@longan.gov.vn", false, "certificate"},
		{"untrusted certificate, implicit", "tls", "smtps://%s@%s?from=thongbao@longan.gov.vn", false, "certificate"},
		{"wrong password", "starttls", "smtp://thongbao%%40longan.gov.vn:sai@%[2]s?from=thongbao@longan.gov.vn", true, "auth"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startSink(t, c.mode, cert)
			raw := fmt.Sprintf(c.url, smtpUser, s.addr)
			if strings.Contains(c.url, "%[2]s") {
				raw = fmt.Sprintf(c.url, "", s.addr)
			}
			m, err := ParseSMTPURL(raw)
			if err != nil {
				t.Fatal(err)
			}
			m.Timeout = 5 * time.Second
			if c.trust {
				m.TLSConfig = &tls.Config{RootCAs: pool}
			}
			err = m.Send(ctx, msg)
			got := s.arrived()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.wantErr)) || len(got) != 0 {
					t.Fatalf("err %v (want %q), %d arrived", err, c.wantErr, len(got))
				}
				if strings.Contains(err.Error(), msg.To) {
					t.Fatalf("the error names the recipient: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !got[0].tls || got[0].user != "thongbao@longan.gov.vn" || got[0].from != "thongbao@longan.gov.vn" ||
				len(got[0].to) != 1 || got[0].to[0] != msg.To {
				t.Fatalf("arrived %+v", got)
			}
			subject, body := readMail(t, got[0].data)
			if subject != msg.Subject || strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n")) != msg.Body {
				t.Fatalf("subject %q body %q", subject, body)
			}
		})
	}
}

// Email through the outbox, configured from --smtp-url like the server.
func TestSMTPOutbox(t *testing.T) {
	cert, pool := testCert(t)
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		s := startSink(t, "starttls", cert)
		cfg := &config.Config{Province: "80", EmailRate: 50, SMTPURL: fmt.Sprintf("smtp://%s@%s?from=thongbao@longan.gov.vn", smtpUser, s.addr)}
		o := &Outbox{DB: db, Vault: testVault(t), Log: log}
		if err := Configure(o, cfg, log); err != nil {
			t.Fatal(err)
		}
		o.Senders[Email].(*SMTP).TLSConfig = &tls.Config{RootCAs: pool}
		o.Enqueue(ctx, Message{Channel: Email, To: "a@b.vn", Subject: "Nhắc hạn", Body: "Bạn là F1", DedupKey: "remind:1"})
		if sent, failed, err := o.Deliver(ctx); err != nil || sent != 1 || failed != 0 {
			t.Fatalf("sent %d failed %d %v", sent, failed, err)
		}
		got := s.arrived()
		if len(got) != 1 || got[0].to[0] != "a@b.vn" {
			t.Fatalf("arrived %+v", got)
		}
		if _, body := readMail(t, got[0].data); strings.TrimSpace(body) != "Bạn là F1" {
			t.Fatalf("body %q", body)
		}
	})
}
