package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"anticovid/internal/config"
	"anticovid/internal/notify/smtpsink"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

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
	cert, pool := smtpsink.Cert(t)
	ctx := context.Background()
	msg := Message{Channel: Email, To: "a@b.vn", Subject: "Nhắc nộp báo cáo tuần 2021-W30", Body: "Kính gửi UBND xã,\nhạn nộp là 13:00 thứ Sáu."}
	for _, c := range []struct {
		name, mode, url string
		trust           bool
		wantErr         string
	}{
		{"starttls", smtpsink.StartTLS, "smtp://%s@%s?from=thongbao@longan.gov.vn", true, ""},
		{"implicit tls", "tls", "smtps://%s@%s?from=thongbao@longan.gov.vn", true, ""},
		{"starttls required, not offered", "plain", "smtp://%s@%s?from=thongbao@longan.gov.vn", true, "STARTTLS"},
		{"untrusted certificate", "starttls", "smtp://%s@%s?from=thongbao@longan.gov.vn", false, "certificate"},
		{"untrusted certificate, implicit", "tls", "smtps://%s@%s?from=thongbao@longan.gov.vn", false, "certificate"},
		{"wrong password", "starttls", "smtp://thongbao%%40longan.gov.vn:sai@%[2]s?from=thongbao@longan.gov.vn", true, "auth"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := smtpsink.Start(t, smtpsink.Options{Mode: c.mode, Cert: cert, User: "thongbao@longan.gov.vn", Password: "mật khẩu 2021"})
			raw := fmt.Sprintf(c.url, smtpUser, s.Addr)
			if strings.Contains(c.url, "%[2]s") {
				raw = fmt.Sprintf(c.url, "", s.Addr)
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
			got := s.Received()
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
			if len(got) != 1 || !got[0].TLS || got[0].User != "thongbao@longan.gov.vn" || got[0].From != "thongbao@longan.gov.vn" ||
				len(got[0].To) != 1 || got[0].To[0] != msg.To {
				t.Fatalf("arrived %+v", got)
			}
			subject, body := readMail(t, got[0].Data)
			if subject != msg.Subject || strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n")) != msg.Body {
				t.Fatalf("subject %q body %q", subject, body)
			}
		})
	}
}

// Email through the outbox, configured from --smtp-url like the server.
func TestSMTPOutbox(t *testing.T) {
	cert, pool := smtpsink.Cert(t)
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		s := smtpsink.Start(t, smtpsink.Options{Mode: smtpsink.StartTLS, Cert: cert, User: "thongbao@longan.gov.vn", Password: "mật khẩu 2021"})
		cfg := &config.Config{Province: "80", EmailRate: 50, SMTPURL: fmt.Sprintf("smtp://%s@%s?from=thongbao@longan.gov.vn", smtpUser, s.Addr)}
		o := &Outbox{DB: db, Vault: testVault(t), Log: log}
		if err := Configure(o, cfg, log); err != nil {
			t.Fatal(err)
		}
		o.Senders[Email].(*SMTP).TLSConfig = &tls.Config{RootCAs: pool}
		o.Enqueue(ctx, Message{Channel: Email, Kind: KindReportReminder, To: "a@b.vn", Subject: "Nhắc hạn", Body: "Bạn là F1", DedupKey: "remind:1"})
		if sent, failed, err := o.Deliver(ctx); err != nil || sent != 1 || failed != 0 {
			t.Fatalf("sent %d failed %d %v", sent, failed, err)
		}
		got := s.Received()
		if len(got) != 1 || got[0].To[0] != "a@b.vn" {
			t.Fatalf("arrived %+v", got)
		}
		if _, body := readMail(t, got[0].Data); strings.TrimSpace(body) != "Bạn là F1" {
			t.Fatalf("body %q", body)
		}
	})
}
