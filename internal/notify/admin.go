package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Entry is one message as the province admin sees it: never its text, the
// recipient masked.
type Entry struct {
	ID        int64      `json:"id"`
	Channel   string     `json:"channel"`
	Kind      string     `json:"kind"`
	To        string     `json:"to"` // masked: ******678, n***@example.vn
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	Resends   int        `json:"resends"`
	LastError string     `json:"last_error"`
	CreatedAt time.Time  `json:"created_at"`
	FailedAt  *time.Time `json:"failed_at,omitempty"`
}

// mayManage is the rule for the failed-messages page: the admin of the
// deployment's province (or of the country).
func (o *Outbox) mayManage(p *auth.Principal) error {
	if !p.Can(auth.ProvinceAdmin) || o.Province == "" || !p.InJurisdiction(o.Province) {
		return fmt.Errorf("messages: %w", errs.ErrForbidden)
	}
	return nil
}

// Failed lists the newest failed messages (at most limit), those failed
// before failure times were kept (no failed_at) last on both engines
// (PostgreSQL sorts NULL first in DESC, SQLite last). Showing even a masked
// recipient opens personal data, so the list is audited first.
func (o *Outbox) Failed(ctx context.Context, p *auth.Principal, limit int) ([]Entry, error) {
	if err := o.mayManage(p); err != nil {
		return nil, err
	}
	rows, err := o.DB.R.QueryContext(ctx, `SELECT id, channel, kind, dedup_key, to_enc, status, attempts, resends, last_error, created_at, failed_at
		FROM outbox WHERE status = 'failed' ORDER BY failed_at DESC NULLS LAST, id DESC LIMIT $1`, min(max(limit, 1), 1000))
	if err != nil {
		return nil, fmt.Errorf("failed messages: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	var ids []string
	for rows.Next() {
		var e Entry
		var to []byte
		var created int64
		var failedAt sql.NullInt64
		var dedup string
		if err := rows.Scan(&e.ID, &e.Channel, &e.Kind, &dedup, &to, &e.Status, &e.Attempts, &e.Resends, &e.LastError, &created, &failedAt); err != nil {
			return nil, fmt.Errorf("failed messages: %w", err)
		}
		plain, err := o.Vault.Open(to)
		if err != nil {
			plain = ""
		}
		e.To = mask(plain)
		e.Kind = storedKind(e.Kind, dedup)
		e.CreatedAt = time.Unix(created, 0).UTC()
		if failedAt.Valid {
			t := time.Unix(failedAt.Int64, 0).UTC()
			e.FailedAt = &t
		}
		out = append(out, e)
		ids = append(ids, strconv.FormatInt(e.ID, 10))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed messages: %w", err)
	}
	if len(ids) > 0 {
		if err := auth.Audit(ctx, o.DB, auth.ActionView, "outbox", ids, "failed messages (recipients masked)"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Counts returns how many messages are in each status.
func (o *Outbox) Counts(ctx context.Context, p *auth.Principal) (map[string]int, error) {
	if err := o.mayManage(p); err != nil {
		return nil, err
	}
	rows, err := o.DB.R.QueryContext(ctx, "SELECT status, count(*) FROM outbox GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("message counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{Queued: 0, Sending: 0, Sent: 0, Delivered: 0, Failed: 0}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("message counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// Resend queues a failed message again, as new: a fresh reference for the
// provider (Ref ends in -rN), attempts from zero. The admin's decision is
// audited before the row changes. A message that is not failed (any more)
// is a conflict.
func (o *Outbox) Resend(ctx context.Context, p *auth.Principal, id int64) error {
	if err := o.mayManage(p); err != nil {
		return err
	}
	var status string
	switch err := o.DB.R.QueryRowContext(ctx, "SELECT status FROM outbox WHERE id = $1", id).Scan(&status); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("resend %d: %w", id, errs.ErrNotFound)
	case err != nil:
		return fmt.Errorf("resend %d: %w", id, err)
	}
	if status != Failed {
		return fmt.Errorf("resend %d: not failed: %w", id, errs.ErrConflict)
	}
	if err := auth.Audit(ctx, o.DB, "resend", "outbox", []string{strconv.FormatInt(id, 10)}, "re-send a failed message"); err != nil {
		return err
	}
	res, err := o.DB.W.ExecContext(ctx, `UPDATE outbox SET status = 'queued', attempts = 0, next_at = $1, lease_until = 0, claim = '',
		last_error = '', failed_at = NULL, resends = resends + 1 WHERE id = $2 AND status = 'failed'`, o.now().Unix(), id)
	if err != nil {
		return fmt.Errorf("resend %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("resend %d: not failed: %w", id, errs.ErrConflict)
	}
	o.log().Info("outbox message re-sent by an admin", "id", id, "user", p.Username)
	return nil
}

// mask shows the last three digits of a phone, or the first letter and
// the domain of an address.
func mask(to string) string {
	if user, domain, ok := strings.Cut(to, "@"); ok {
		if user == "" {
			return "***@" + domain
		}
		return user[:1] + "***@" + domain
	}
	if len(to) < 4 {
		return "***"
	}
	return strings.Repeat("*", len(to)-3) + to[len(to)-3:]
}

// Callback headers: a provider proves a delivery report either with
// "X-Timestamp: <Unix seconds>" and "X-Signature: sha256=<hex>", the
// HMAC-SHA-256 under the shared secret of the timestamp, a '.' and the body
// (a captured report is refused once its time is ReportMaxAge old), or, for
// gateways that can only add a fixed header, with the secret itself in
// X-Callback-Token (no time: only idempotence guards those).
const (
	SignatureHeader = "X-Signature"
	TimestampHeader = "X-Timestamp"
	TokenHeader     = "X-Callback-Token"
)

// How far a signed report's time may be from ours: a report older than
// ReportMaxAge, or more than ReportMaxSkew ahead, is refused.
const (
	ReportMaxAge  = 5 * time.Minute
	ReportMaxSkew = time.Minute
)

// Report is a delivery report's body: the id the provider knows the message
// by (its own, or our reference) and what became of it.
type Report struct {
	ID     string `json:"id"`
	Status string `json:"status"` // delivered or failed
	Error  string `json:"error"`  // the provider's short code when failed
}

// Callback applies a provider's delivery report for channel after checking
// its signature in constant time. A channel without a secret takes no
// reports. Applying a report is idempotent and final: only a message in a
// provider's hands (sending or sent) changes, so a report repeated or
// replayed later (a 'failed' after 'delivered', a second 'delivered') is
// accepted and changes nothing.
func (o *Outbox) Callback(ctx context.Context, channel string, h http.Header, body []byte) error {
	secret := o.CallbackSecrets[channel]
	if secret == "" {
		return fmt.Errorf("delivery report: no reports for channel %q: %w", channel, errs.ErrNotFound)
	}
	if why := verify(secret, h, body, o.now()); why != "" {
		o.log().Warn("delivery report refused", "channel", channel, "reason", why)
		return fmt.Errorf("delivery report: %s: %w", why, errs.ErrUnauthorized)
	}
	var r Report
	if err := json.Unmarshal(body, &r); err != nil || r.ID == "" || (r.Status != Delivered && r.Status != Failed) {
		return &errs.Invalid{Fields: errs.Fields{"status": msg.Both("msgs.report.invalid")}}
	}
	now := o.now().Unix()
	var res sql.Result
	var err error
	if r.Status == Delivered {
		res, err = o.DB.W.ExecContext(ctx, `UPDATE outbox SET status = 'delivered', delivered_at = $1, sent_at = COALESCE(sent_at, $1), lease_until = 0
			WHERE channel = $2 AND provider_ref = $3 AND status IN ('sending', 'sent')`, now, channel, r.ID)
	} else {
		reason := "the provider reports it was not delivered"
		if code := scrub(clip(r.Error, 40), Message{}); code != "" {
			reason += " (" + code + ")"
		}
		res, err = o.DB.W.ExecContext(ctx, `UPDATE outbox SET status = 'failed', failed_at = $1, last_error = $2, lease_until = 0
			WHERE channel = $3 AND provider_ref = $4 AND status IN ('sending', 'sent')`, now, reason, channel, r.ID)
	}
	if err != nil {
		return fmt.Errorf("delivery report: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var known int
		if err := o.DB.W.QueryRowContext(ctx, "SELECT count(*) FROM outbox WHERE channel = $1 AND provider_ref = $2", channel, r.ID).Scan(&known); err != nil {
			return fmt.Errorf("delivery report: %w", err)
		}
		if known == 0 {
			return fmt.Errorf("delivery report: no such message: %w", errs.ErrNotFound)
		}
		o.log().Info("outbox delivery report for a message already settled: nothing changed", "channel", channel, "status", r.Status)
		return nil
	}
	o.log().Info("outbox delivery report", "channel", channel, "status", r.Status)
	return nil
}

// verify checks a delivery report's signature and time (or its token)
// against secret, in constant time, and says why it fails ("" when good).
func verify(secret string, h http.Header, body []byte, now time.Time) string {
	if sig, ok := strings.CutPrefix(h.Get(SignatureHeader), "sha256="); ok {
		got, err := hex.DecodeString(sig)
		if err != nil {
			return "bad signature"
		}
		ts, err := strconv.ParseInt(h.Get(TimestampHeader), 10, 64)
		if err != nil {
			return "no timestamp"
		}
		if !hmac.Equal(got, Sign(secret, ts, body)) {
			return "bad signature"
		}
		switch at := time.Unix(ts, 0); {
		case at.Before(now.Add(-ReportMaxAge)):
			return "timestamp too old"
		case at.After(now.Add(ReportMaxSkew)):
			return "timestamp in the future"
		}
		return ""
	}
	if tok := h.Get(TokenHeader); tok != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(secret)) == 1 {
			return ""
		}
		return "bad token"
	}
	return "no signature"
}

// VerifySignature checks a report signed with X-Timestamp and X-Signature
// only (never the fixed X-Callback-Token), in constant time, within
// ReportMaxAge and ReportMaxSkew, and says why it fails ("" when good): for
// other webhooks that sign like the delivery reports (meeting attendance).
func VerifySignature(secret string, h http.Header, body []byte, now time.Time) string {
	if secret == "" || !strings.HasPrefix(h.Get(SignatureHeader), "sha256=") {
		return "no signature"
	}
	return verify(secret, h, body, now)
}

// Sign is the HMAC-SHA-256 under secret of the timestamp ts (decimal Unix
// seconds), a '.', and body: what X-Signature carries, in hex.
func Sign(secret string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return m.Sum(nil)
}

// SignedHeaders are the headers of a report signed at t: what a relay
// in front of a provider (and the tests) send.
func SignedHeaders(secret string, t time.Time, body []byte) http.Header {
	ts := t.Unix()
	return http.Header{TimestampHeader: {strconv.FormatInt(ts, 10)}, SignatureHeader: {"sha256=" + hex.EncodeToString(Sign(secret, ts, body))}}
}
