// Package notify sends SMS, OTT messages and email through an outbox: a
// message is stored first and delivered by a worker with retries, so a
// provider outage delays messages and loses none, and a dedup key makes
// "at most once per person per event" hold across retries and restarts.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Channels.
const (
	SMS   = "sms"
	OTT   = "ott" // Zalo and similar over-the-top messengers
	Email = "email"
)

// Message is one notification. To is a phone number or an email address.
type Message struct {
	Channel  string
	To       string
	Subject  string // email only
	Body     string
	DedupKey string // the same key is queued once, ever
}

// Sender delivers one message through a provider.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outbox queues and delivers messages.
type Outbox struct {
	DB      *sqldb.DB
	Vault   *vault.Vault
	Senders map[string]Sender // by channel
	Log     *slog.Logger
}

// Enqueue stores m for delivery. It reports false when a message with the
// same dedup key was queued before (and stores nothing).
func (o *Outbox) Enqueue(ctx context.Context, m Message) (bool, error) {
	if m.DedupKey == "" || m.To == "" || m.Body == "" {
		return false, fmt.Errorf("enqueue: message needs a recipient, a body and a dedup key")
	}
	now := time.Now().Unix()
	res, err := o.DB.W.ExecContext(ctx, `INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) ON CONFLICT (dedup_key) DO NOTHING`,
		m.Channel, o.Vault.Seal(m.To), m.Subject, m.Body, m.DedupKey, now)
	if err != nil {
		return false, fmt.Errorf("enqueue: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// maxAttempts before a message is marked failed.
const maxAttempts = 6

// Deliver sends every due pending message once; failures are retried later
// with exponential back-off. It returns how many were sent and failed.
func (o *Outbox) Deliver(ctx context.Context) (sent, failed int, err error) {
	now := time.Now()
	rows, err := o.DB.R.QueryContext(ctx, `SELECT id, channel, to_enc, subject, body, dedup_key, attempts FROM outbox
		WHERE status = 'pending' AND next_at <= $1 ORDER BY id LIMIT 500`, now.Unix())
	if err != nil {
		return 0, 0, fmt.Errorf("deliver: %w", err)
	}
	type item struct {
		id       int64
		m        Message
		attempts int
	}
	var items []item
	for rows.Next() {
		var it item
		var to []byte
		if err := rows.Scan(&it.id, &it.m.Channel, &to, &it.m.Subject, &it.m.Body, &it.m.DedupKey, &it.attempts); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("deliver: %w", err)
		}
		if it.m.To, err = o.Vault.Open(to); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("deliver: %w", err)
		}
		items = append(items, it)
	}
	rows.Close()
	for _, it := range items {
		sender, ok := o.Senders[it.m.Channel]
		var sendErr error
		if !ok {
			sendErr = fmt.Errorf("no sender for channel %q", it.m.Channel)
		} else {
			sendErr = sender.Send(ctx, it.m)
		}
		if sendErr == nil {
			sent++
			_, err = o.DB.W.ExecContext(ctx, "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = '' WHERE id = $2", time.Now().Unix(), it.id)
		} else {
			status := "pending"
			if it.attempts+1 >= maxAttempts || !ok {
				status, failed = "failed", failed+1
			}
			next := now.Add(time.Duration(1<<it.attempts) * 30 * time.Second).Unix()
			_, err = o.DB.W.ExecContext(ctx, "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, next_at = $3 WHERE id = $4",
				status, sendErr.Error(), next, it.id)
		}
		if err != nil {
			return sent, failed, fmt.Errorf("deliver: %w", err)
		}
	}
	return sent, failed, nil
}

// Run delivers every interval until ctx ends.
func (o *Outbox) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if sent, failed, err := o.Deliver(ctx); err != nil {
			o.Log.Error("outbox", "err", err)
		} else if sent+failed > 0 {
			o.Log.Info("outbox", "sent", sent, "failed", failed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Recorder is the development sender: it keeps every message in memory (tests
// read them back; the demo shows one-time codes in the log instead of an SMS).
type Recorder struct {
	mu   sync.Mutex
	Sent []Message
	Log  *slog.Logger
}

// Send records m.
func (r *Recorder) Send(_ context.Context, m Message) error {
	r.mu.Lock()
	r.Sent = append(r.Sent, m)
	r.mu.Unlock()
	if r.Log != nil {
		r.Log.Info("notify (development sender: not delivered)", "channel", m.Channel, "to", m.To, "body", m.Body)
	}
	return nil
}

// Messages returns a copy of what was recorded.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.Sent...)
}

// HTTPSender posts {"channel","to","subject","body","id"} as JSON to a
// provider's endpoint with a bearer key: the common shape of SMS brand-name
// and OTT gateways; a thin proxy adapts any other.
type HTTPSender struct {
	URL    string
	APIKey string
	Client *http.Client
}

// Send posts m; any non-2xx answer is an error, retried by the outbox.
func (h *HTTPSender) Send(ctx context.Context, m Message) error {
	body, _ := json.Marshal(map[string]string{"channel": m.Channel, "to": m.To, "subject": m.Subject, "body": m.Body, "id": m.DedupKey})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.APIKey)
	}
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("provider answered %s", resp.Status)
	}
	return nil
}
