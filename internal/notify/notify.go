// Package notify sends SMS, OTT messages and email through an outbox: a
// message is stored first and delivered by a worker with retries, so a
// provider outage delays messages and loses none, and a dedup key makes
// "at most once per person per event" hold across retries and restarts.
//
// Delivery is at most once. A deliverer claims rows with a lease before it
// touches them, marks one row 'sending' just before handing it to the
// provider, and records the outcome after; every step is one conditional
// UPDATE, so two servers sharing a database never send one message twice.
// The one ambiguous case is a deliverer that dies (or loses the database)
// after the provider took the message and before it recorded so: the row
// stays 'sending' until its lease runs out and is then failed with a reason
// that says it may have arrived, for the province admin to re-send or not;
// it is never sent again on its own. Retries of a send that failed keep the
// same reference (Message.Ref), which providers that deduplicate by a client
// id use to drop a repeat of a message they had in fact accepted.
package notify

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Channels.
const (
	SMS   = "sms"
	OTT   = "ott" // Zalo and similar over-the-top messengers
	Email = "email"
)

// Statuses of a message in the outbox.
const (
	Queued    = "queued"    // waiting for its first or next attempt
	Sending   = "sending"   // in a provider's hands right now
	Sent      = "sent"      // the provider took it
	Delivered = "delivered" // the provider reported it reached the phone
	Failed    = "failed"    // given up; the province admin may re-send
)

// Message is one notification. To is a phone number or an email address.
type Message struct {
	Channel  string
	To       string
	Subject  string // email only
	Body     string
	DedupKey string // the same key is queued once, ever
	// Kind says what the message is: one of Kinds (KindOTP, KindF1, ...).
	// The OTT adapter picks the provider's approved template by it.
	Kind string
	// Params are an OTT template's parameters; nil sends {"text": Body}.
	Params map[string]string
	// Province is the sending unit's province, the outbox row's
	// distribution key (docs/SCALING.md); '' when the sender has none
	// (one-time codes, report reminders).
	Province string
	// Ref is set by the outbox when it delivers: our reference for the
	// provider, the same across retries and new for each re-send.
	Ref string
}

// Sender delivers one message through a provider.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// RefSender is a Sender whose provider answers with its own message id,
// which its delivery reports then name.
type RefSender interface {
	SendRef(ctx context.Context, m Message) (providerID string, err error)
}

// permanent marks an error a retry cannot fix (a refused number, a bad
// template): the message fails at once.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent marks err as one that retrying will not fix.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Outbox queues and delivers messages.
type Outbox struct {
	DB      *sqldb.DB
	Vault   *vault.Vault
	Senders map[string]Sender // by channel; a channel without one keeps its messages queued
	Log     *slog.Logger
	// Limits are each provider's rate (by channel); nil: unlimited. They
	// hold per server: N servers sending through one provider each take
	// their share of its limit.
	Limits map[string]*rate.Limiter
	// CallbackSecrets authenticate each channel's delivery reports; a
	// channel without one takes none.
	CallbackSecrets map[string]string
	// Province is the deployment's province: its admins see and re-send
	// failed messages.
	Province string

	MaxAttempts int           // before a message fails; 0: 6
	RetryBase   time.Duration // the first retry's wait, doubled each time; 0: 30 s
	RetryMax    time.Duration // the longest wait; 0: 30 min
	Lease       time.Duration // how long a claim or a send may take before another server takes over; 0: 2 min
	Batch       int           // rows claimed at a time; 0: 100
	Now         func() time.Time
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Outbox) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return 2 * time.Minute
}

func (o *Outbox) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Enqueue stores m for delivery. It reports false when a message with the
// same dedup key was queued before (and stores nothing).
func (o *Outbox) Enqueue(ctx context.Context, m Message) (bool, error) {
	if m.DedupKey == "" || m.To == "" || m.Body == "" {
		return false, fmt.Errorf("enqueue: message needs a recipient, a body and a dedup key")
	}
	if m.Channel != SMS && m.Channel != OTT && m.Channel != Email {
		return false, fmt.Errorf("enqueue: no channel %q", m.Channel)
	}
	if !slices.Contains(Kinds, m.Kind) {
		return false, fmt.Errorf("enqueue: message kind %q is not one of %v", m.Kind, Kinds)
	}
	var params []byte
	if m.Params != nil {
		params, _ = json.Marshal(m.Params)
	}
	now := o.now().Unix()
	// No conflict target: on PostgreSQL the outbox may be partitioned by
	// day, where the dedup key is unique through outbox_keys
	// (store.KeyedDayTables), not through an index on dedup_key alone.
	res, err := o.DB.W.ExecContext(ctx, `INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at, kind, params, province_code)
		VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		m.Channel, o.Vault.Seal(m.To), m.Subject, o.seal(m.Body), m.DedupKey, now, m.Kind, o.seal(string(params)), m.Province)
	if err != nil {
		return false, fmt.Errorf("enqueue: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// sealedPrefix marks a body or parameters sealed with the data key: they
// hold one-time codes and personal messages, so they are encrypted at rest
// like the recipient. Rows queued before sealing began are read as they are.
const sealedPrefix = "sealed:"

func (o *Outbox) seal(s string) string {
	if s == "" {
		return ""
	}
	return sealedPrefix + base64.StdEncoding.EncodeToString(o.Vault.Seal(s))
}

func (o *Outbox) open(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, sealedPrefix)
	if !ok {
		return s, nil
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", err
	}
	return o.Vault.Open(b)
}

// ErrInterrupted is the reason a message fails when its deliverer stopped
// mid-send: the provider may or may not have taken it.
const ErrInterrupted = "interrupted while sending: it may have arrived; re-send only if the recipient did not get it"

// claimed is a row this deliverer holds.
type claimed struct {
	id       int64
	m        Message
	attempts int
	resends  int
}

// Deliver sends every due queued message once; failures are retried later
// with exponential back-off. It returns how many were sent and failed.
func (o *Outbox) Deliver(ctx context.Context) (sent, failed int, err error) {
	now := o.now().Unix()
	res, err := o.DB.W.ExecContext(ctx, `UPDATE outbox SET status = 'failed', failed_at = $1, lease_until = 0, last_error = $2
		WHERE status = 'sending' AND lease_until <= $1`, now, ErrInterrupted)
	if err != nil {
		return 0, 0, fmt.Errorf("deliver: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		failed += int(n)
		o.log().Warn("outbox: sends interrupted by a stopped server failed, for the admin to re-send", "count", n)
	}
	items, tok, err := o.claim(ctx, now)
	if err != nil {
		return 0, failed, err
	}
	for i, it := range items {
		st, err := o.deliverOne(ctx, tok, it)
		if err != nil {
			o.release(ctx, tok, items[i:])
			return sent, failed, err
		}
		switch st {
		case Sent:
			sent++
		case Failed:
			failed++
		}
	}
	return sent, failed, nil
}

// claim takes up to Batch due rows under a lease, of the channels this
// server has a provider for: a channel without one keeps its messages
// queued (for another server that has one, or for this one once it is
// configured) rather than failing them. The subquery picks candidates; the
// outer condition, checked again on each row as it is locked, lets only one
// of two racing deliverers have a row.
func (o *Outbox) claim(ctx context.Context, now int64) ([]claimed, string, error) {
	b := make([]byte, 12)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	batch := o.Batch
	if batch <= 0 {
		batch = 100
	}
	channels := slices.Sorted(maps.Keys(o.Senders))
	if len(channels) == 0 {
		return nil, tok, nil
	}
	args := []any{tok, now + int64(o.lease()/time.Second), now, batch}
	for _, ch := range channels {
		args = append(args, ch)
	}
	rows, err := o.DB.W.QueryContext(ctx, `UPDATE outbox SET claim = $1, lease_until = $2
		WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND next_at <= $3 AND lease_until <= $3
		  AND channel IN (`+sqldb.In(5, len(channels))+`) ORDER BY next_at, id LIMIT $4)
		  AND status = 'queued' AND lease_until <= $3
		RETURNING id, channel, to_enc, subject, body, dedup_key, kind, params, attempts, resends`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("deliver: claim: %w", err)
	}
	var items []claimed
	var sealed [][]byte
	var params []string
	for rows.Next() {
		var it claimed
		var to []byte
		var p string
		if err := rows.Scan(&it.id, &it.m.Channel, &to, &it.m.Subject, &it.m.Body, &it.m.DedupKey, &it.m.Kind, &p, &it.attempts, &it.resends); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("deliver: claim: %w", err)
		}
		items, sealed, params = append(items, it), append(sealed, to), append(params, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("deliver: claim: %w", err)
	}
	for i := range items {
		var bodyErr error
		items[i].m.Body, bodyErr = o.open(items[i].m.Body)
		p, paramsErr := o.open(params[i])
		if items[i].m.To, err = o.Vault.Open(sealed[i]); err != nil || bodyErr != nil || paramsErr != nil {
			items[i].m.To = "" // deliverOne fails it: the data key changed
		}
		if p != "" {
			json.Unmarshal([]byte(p), &items[i].m.Params)
		}
		items[i].m.Kind = storedKind(items[i].m.Kind, items[i].m.DedupKey)
	}
	// RETURNING gives no order; the oldest go first.
	slices.SortFunc(items, func(a, b claimed) int { return cmp.Compare(a.id, b.id) })
	return items, tok, nil
}

// release hands unsent claimed rows back at once (the deliverer is
// stopping), rather than after their lease.
func (o *Outbox) release(ctx context.Context, tok string, items []claimed) {
	ids := make([]any, 0, len(items)+1)
	ids = append(ids, tok)
	for _, it := range items {
		ids = append(ids, it.id)
	}
	o.DB.W.ExecContext(context.WithoutCancel(ctx), "UPDATE outbox SET lease_until = 0, claim = '' WHERE claim = $1 AND status = 'queued' AND id IN ("+sqldb.In(2, len(items))+")", ids...)
}

// deliverOne hands one claimed row to its provider and records the
// outcome; it returns the new status, "" when another deliverer took the row.
func (o *Outbox) deliverOne(ctx context.Context, tok string, it claimed) (string, error) {
	ch := it.m.Channel
	sender := o.Senders[ch] // claim took only channels with a sender
	if it.m.To == "" {
		return o.finish(ctx, tok, it, Failed, "the recipient cannot be decrypted (data key changed?)", false)
	}
	if lim := o.Limits[ch]; lim != nil {
		if err := lim.Wait(ctx); err != nil {
			return "", fmt.Errorf("deliver: %w", err)
		}
	}
	ref := strconv.FormatInt(it.id, 10)
	if it.resends > 0 {
		ref += "-r" + strconv.Itoa(it.resends)
	}
	lease := o.lease()
	res, err := o.DB.W.ExecContext(ctx, `UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $1, provider_ref = $2
		WHERE id = $3 AND claim = $4 AND status = 'queued'`, o.now().Add(lease).Unix(), ref, it.id, tok)
	if err != nil {
		return "", fmt.Errorf("deliver %d: %w", it.id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", nil // our claim ran out and another deliverer has it
	}
	it.m.Ref = ref
	// From here on the outcome must be written even if ctx ends: the
	// provider may have the message.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lease/2)
	var pid string
	if rs, ok := sender.(RefSender); ok {
		pid, err = rs.SendRef(sctx, it.m)
	} else {
		err = sender.Send(sctx, it.m)
	}
	cancel()
	if err == nil {
		if pid == "" {
			pid = ref
		}
		return o.finish(context.WithoutCancel(ctx), tok, it, Sent, pid, true)
	}
	reason := scrub(err.Error(), it.m)
	if IsPermanent(err) || it.attempts+1 >= o.maxAttempts() {
		return o.finish(context.WithoutCancel(ctx), tok, it, Failed, reason, true)
	}
	return o.finish(context.WithoutCancel(ctx), tok, it, Queued, reason, true)
}

func (o *Outbox) maxAttempts() int {
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return 6
}

// finish records a row's outcome, only while this deliverer still holds it
// (a delivery report may have overtaken a send). detail is the provider's
// id for Sent and the reason otherwise.
func (o *Outbox) finish(ctx context.Context, tok string, it claimed, status, detail string, wasSending bool) (string, error) {
	from := Queued
	if wasSending {
		from = Sending
	}
	now := o.now()
	var q string
	var args []any
	switch status {
	case Sent:
		q, args = "status = 'sent', sent_at = $1, last_error = '', lease_until = 0, provider_ref = $2", []any{now.Unix(), detail}
	case Failed:
		q, args = "status = 'failed', failed_at = $1, last_error = $2, lease_until = 0", []any{now.Unix(), detail}
	default:
		next := now.Add(o.Backoff(it.attempts + 1))
		q, args = "status = 'queued', next_at = $1, last_error = $2, lease_until = 0, claim = ''", []any{next.Unix(), detail}
	}
	args = append(args, it.id, tok, from)
	res, err := o.DB.W.ExecContext(ctx, "UPDATE outbox SET "+q+" WHERE id = $3 AND claim = $4 AND status = $5", args...)
	if err != nil {
		return "", fmt.Errorf("deliver %d: %w", it.id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", nil
	}
	level := slog.LevelDebug
	if status != Sent {
		level = slog.LevelWarn
	}
	o.log().Log(ctx, level, "outbox message", "id", it.id, "channel", it.m.Channel, "status", status, "attempts", it.attempts+1)
	return status, nil
}

// Backoff is the wait before attempt n+1 after n failed ones: RetryBase
// doubled each time up to RetryMax, plus up to a fifth more at random so
// messages failed together do not all come back together.
func (o *Outbox) Backoff(n int) time.Duration {
	base, most := o.RetryBase, o.RetryMax
	if base <= 0 {
		base = 30 * time.Second
	}
	if most <= 0 {
		most = 30 * time.Minute
	}
	d := base
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return d + time.Duration(mrand.Int64N(int64(d)/5+1))
}

// digits finds numbers long enough to be a phone, an ID or a code.
var digits = regexp.MustCompile(`\d{6,}`)

// scrub keeps personal data out of a stored reason (admins read it; the
// campaign page shows it): the recipient, the text and any long number.
func scrub(s string, m Message) string {
	for _, v := range []string{m.To, m.Body} {
		if len(v) >= 3 {
			s = strings.ReplaceAll(s, v, "…")
		}
	}
	s = digits.ReplaceAllString(s, "…")
	return clip(s, 300)
}

// Run delivers every interval until ctx ends.
func (o *Outbox) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if sent, failed, err := o.Deliver(ctx); err != nil {
			if ctx.Err() == nil {
				o.log().Error("outbox", "err", err)
			}
		} else if sent+failed > 0 {
			o.log().Info("outbox", "sent", sent, "failed", failed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Recorder is the development sender: it keeps every message in memory
// (tests read them back) and, with a File, appends them there so a demo can
// read its one-time codes. It never logs a recipient or a text.
type Recorder struct {
	mu   sync.Mutex
	Sent []Message
	Log  *slog.Logger
	File string // development only: where messages are written, 0600
}

// Send records m.
func (r *Recorder) Send(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Sent = append(r.Sent, m)
	if r.File != "" {
		if err := appendFile(r.File, fmt.Sprintf("%s\t%s\t%s\t%s\t%q\n", time.Now().UTC().Format(time.RFC3339), m.Channel, m.Ref, m.To, m.Body)); err != nil {
			return err
		}
	}
	if r.Log != nil {
		r.Log.Info("outbox message recorded, not delivered (development sender)", "ref", m.Ref, "channel", m.Channel, "file", r.File)
	}
	return nil
}

// Messages returns a copy of what was recorded.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.Sent...)
}
