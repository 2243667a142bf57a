package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTP sends email through an SMTP server: the outbox's email channel, and
// (through reports.Mailer) the consolidated weekly report with attachments.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	// TLS: "tls" (implicit, smtps), "starttls" (required), "opportunistic",
	// or "none" (a relay on the same machine or network only).
	TLS     string
	Timeout time.Duration
	// TLSConfig overrides the certificate check (tests trust their own
	// authority); nil checks the server against the system's roots.
	TLSConfig *tls.Config
}

// ParseSMTPURL reads smtp://user:password@host:587?from=addr[&tls=starttls|opportunistic|none]
// or smtps://user:password@host:465?from=addr (config's --smtp-url). The
// password is a secret: deployments set ANTICOVID_SMTP_URL rather than the
// flag, which the process list would show.
func ParseSMTPURL(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("smtp url: not a URL") // url's error would quote the password
	}
	m := &SMTP{Host: u.Hostname(), From: u.Query().Get("from"), Timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp":
		m.TLS, m.Port = "starttls", 587
	case "smtps":
		m.TLS, m.Port = "tls", 465
	default:
		return nil, fmt.Errorf("smtp url: scheme %q: want smtp or smtps", u.Scheme)
	}
	if t := u.Query().Get("tls"); t != "" {
		switch t {
		case "starttls", "opportunistic", "none", "tls":
			m.TLS = t
		default:
			return nil, fmt.Errorf("smtp url: tls=%q: want starttls, opportunistic, none or tls", t)
		}
	}
	if p := u.Port(); p != "" {
		if m.Port, err = strconv.Atoi(p); err != nil || m.Port <= 0 || m.Port > 65535 {
			return nil, fmt.Errorf("smtp url: bad port %q", p)
		}
	}
	if u.User != nil {
		m.Username = u.User.Username()
		m.Password, _ = u.User.Password()
	}
	if m.Host == "" || m.From == "" {
		return nil, fmt.Errorf("smtp url: needs a host and ?from=sender@address")
	}
	return m, nil
}

func (m *SMTP) client() (*mail.Client, error) {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(m.Port), mail.WithTimeout(timeout)}
	switch m.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if m.TLSConfig != nil {
		c := m.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = m.Host
		}
		opts = append(opts, mail.WithTLSConfig(c))
	}
	if m.Username != "" {
		auth := mail.SMTPAuthPlain
		if m.TLS == "none" {
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(m.Username), mail.WithPassword(m.Password))
	}
	return mail.NewClient(m.Host, opts...)
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// SendAttachments sends one plain-text message with attachments. Its errors
// name the server but never the recipient: they end up in logs and in the
// outbox's last_error, which admins see.
func (m *SMTP) SendAttachments(ctx context.Context, to, subject, body string, atts []Attachment) error {
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return fmt.Errorf("mail: sender address %q: %w", m.From, err)
	}
	if err := msg.To(to); err != nil {
		return Permanent(errors.New("mail: the recipient address is not valid"))
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, body)
	for _, a := range atts {
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(a.ContentType))); err != nil {
			return fmt.Errorf("mail attachment %s: %w", a.Name, err)
		}
	}
	c, err := m.client()
	if err != nil {
		return fmt.Errorf("mail client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return smtpError(net.JoinHostPort(m.Host, strconv.Itoa(m.Port)), err)
	}
	return nil
}

// smtpError keeps what helps an admin (the stage, the server's code) and
// drops what go-mail adds about the recipients; a 5xx answer is permanent.
func smtpError(server string, err error) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return fmt.Errorf("mail via %s: %w", server, err)
	}
	out := fmt.Errorf("mail via %s: %s (code %d)", server, se.Reason, se.ErrorCode())
	if !se.IsTemp() && se.ErrorCode() >= 500 {
		return Permanent(out)
	}
	return out
}

// Send implements Sender for the email channel.
func (m *SMTP) Send(ctx context.Context, msg Message) error {
	if msg.Channel != Email {
		return Permanent(fmt.Errorf("mailer: channel %q is not email", msg.Channel))
	}
	return m.SendAttachments(ctx, msg.To, msg.Subject, msg.Body, nil)
}
