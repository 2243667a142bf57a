package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/config"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// Delivery reports: a good signature (or token) marks the message
// delivered; a bad or missing one is refused and changes nothing.
func TestCallback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) {
			w.Write([]byte(`{"CodeResult":"100","SMSID":"gw-` + r.json["id"].(string) + `"}`))
		})
		const secret = "0123456789abcdef-callback"
		cfg := &config.Config{Province: "80", EmailRate: 1, SMS: config.Gateway{URL: provider.srv.URL, Body: config.DefaultSMSBody, Rate: 100,
			Success: "CodeResult=100", IDField: "SMSID", CallbackSecret: secret}}
		o := &Outbox{DB: db, Vault: testVault(t), Log: log}
		if err := Configure(o, cfg, log); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"otp:1", "otp:2", "otp:3"} {
			o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: k})
		}
		if sent, _, _ := o.Deliver(ctx); sent != 3 {
			t.Fatalf("sent %d", sent)
		}
		_, _, ref, _ := status(t, db, "otp:1")
		if !strings.HasPrefix(ref, "gw-") {
			t.Fatalf("provider ref %q", ref)
		}
		body := []byte(`{"id":"` + ref + `","status":"delivered"}`)
		now := time.Now()
		signed := func(b []byte) http.Header { return SignedHeaders(secret, now, b) }
		at := func(d time.Duration) http.Header { return SignedHeaders(secret, now.Add(d), body) }
		// A captured report sent again under a new time keeps its old signature.
		moved := signed(body)
		moved.Set(TimestampHeader, strconv.FormatInt(now.Unix()+1, 10))
		bodyOnly := http.Header{SignatureHeader: {"sha256=" + hex.EncodeToString(hmacOf(secret, body))}}
		bodyOnlyWithTime := bodyOnly.Clone()
		bodyOnlyWithTime.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
		for _, c := range []struct {
			name    string
			channel string
			h       http.Header
			body    []byte
			want    error
		}{
			{"missing signature", SMS, http.Header{}, body, errs.ErrUnauthorized},
			{"bad signature", SMS, http.Header{SignatureHeader: {"sha256=" + strings.Repeat("ab", 32)}}, body, errs.ErrUnauthorized},
			{"signature of another body", SMS, signed([]byte(`{}`)), body, errs.ErrUnauthorized},
			{"not hex", SMS, http.Header{SignatureHeader: {"sha256=zz"}}, body, errs.ErrUnauthorized},
			{"old scheme, body only", SMS, bodyOnly, body, errs.ErrUnauthorized},
			{"old scheme with a time", SMS, bodyOnlyWithTime, body, errs.ErrUnauthorized},
			{"no timestamp", SMS, http.Header{SignatureHeader: signed(body)[SignatureHeader]}, body, errs.ErrUnauthorized},
			{"timestamp not a number", SMS, http.Header{SignatureHeader: signed(body)[SignatureHeader], TimestampHeader: {"soon"}}, body, errs.ErrUnauthorized},
			{"timestamp moved", SMS, moved, body, errs.ErrUnauthorized},
			{"5 min 1 s old", SMS, at(-ReportMaxAge - time.Second), body, errs.ErrUnauthorized},
			{"an hour old", SMS, at(-time.Hour), body, errs.ErrUnauthorized},
			{"a year old", SMS, at(-365 * 24 * time.Hour), body, errs.ErrUnauthorized},
			{"1 min 1 s ahead", SMS, at(ReportMaxSkew + time.Second), body, errs.ErrUnauthorized},
			{"a day ahead", SMS, at(24 * time.Hour), body, errs.ErrUnauthorized},
			{"wrong token", SMS, http.Header{TokenHeader: {"0123456789abcdef-callbacK"}}, body, errs.ErrUnauthorized},
			{"channel without reports", OTT, signed(body), body, errs.ErrNotFound},
			{"unknown id", SMS, signed([]byte(`{"id":"gw-999","status":"delivered"}`)), []byte(`{"id":"gw-999","status":"delivered"}`), errs.ErrNotFound},
			{"bad status", SMS, signed([]byte(`{"id":"x","status":"read"}`)), []byte(`{"id":"x","status":"read"}`), errs.ErrInvalid},
		} {
			err := o.Callback(ctx, c.channel, c.h, c.body)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if st, _, _, _ := status(t, db, "otp:1"); st != Sent {
			t.Fatalf("refused reports changed the status to %s", st)
		}
		if err := o.Callback(ctx, SMS, at(-ReportMaxAge+10*time.Second), body); err != nil { // late, within the window
			t.Fatal(err)
		}
		var deliveredAt int64
		db.R.QueryRow("SELECT delivered_at FROM outbox WHERE dedup_key = 'otp:1'").Scan(&deliveredAt)
		// Repeated by the provider, replayed, or contradicted by a 'failed'
		// signed now or sent with the token: accepted, nothing changes.
		failedBody := []byte(`{"id":"` + ref + `","status":"failed","error":"E1"}`)
		o.Now = func() time.Time { return now.Add(30 * time.Second) }
		for i, c := range []struct {
			h http.Header
			b []byte
		}{{signed(body), body}, {at(ReportMaxSkew - time.Second), body}, {signed(failedBody), failedBody},
			{http.Header{TokenHeader: {secret}}, failedBody}, {http.Header{TokenHeader: {secret}}, body}} {
			if err := o.Callback(ctx, SMS, c.h, c.b); err != nil {
				t.Fatalf("repeat %d: %v", i, err)
			}
		}
		o.Now = nil
		var again int64
		db.R.QueryRow("SELECT delivered_at FROM outbox WHERE dedup_key = 'otp:1'").Scan(&again)
		if st, why, _, _ := status(t, db, "otp:1"); st != Delivered || why != "" || again != deliveredAt {
			t.Fatalf("after repeated and contradicting reports: %s %q, delivered at %d then %d", st, why, deliveredAt, again)
		}
		// The secret in a header, and our own reference, also work.
		_, _, ref2, _ := status(t, db, "otp:2")
		b2 := []byte(`{"id":"` + ref2 + `","status":"failed","error":"` + phone + `"}`)
		if err := o.Callback(ctx, SMS, http.Header{TokenHeader: {secret}}, b2); err != nil {
			t.Fatal(err)
		}
		if st, why, _, _ := status(t, db, "otp:2"); st != Failed || !strings.Contains(why, "not delivered") || strings.Contains(why, phone) {
			t.Fatalf("failed report: %s %q", st, why)
		}
		// A failed message stays failed, with its first reason, whatever comes after.
		var failedAt int64
		db.R.QueryRow("SELECT failed_at FROM outbox WHERE dedup_key = 'otp:2'").Scan(&failedAt)
		o.Now = func() time.Time { return now.Add(time.Minute) }
		for _, b := range [][]byte{[]byte(`{"id":"` + ref2 + `","status":"failed","error":"OTHER"}`), []byte(`{"id":"` + ref2 + `","status":"delivered"}`)} {
			if err := o.Callback(ctx, SMS, SignedHeaders(secret, now.Add(time.Minute), b), b); err != nil {
				t.Fatal(err)
			}
		}
		var again2 int64
		db.R.QueryRow("SELECT failed_at FROM outbox WHERE dedup_key = 'otp:2'").Scan(&again2)
		if st, why, _, _ := status(t, db, "otp:2"); st != Failed || strings.Contains(why, "OTHER") || again2 != failedAt {
			t.Fatalf("after later reports: %s %q", st, why)
		}
	})
}

// Only the province's admin lists failed messages (masked, no text) and
// re-sends them; each is audited; a re-send goes out once with a new ref.
func TestFailedAndResend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		var down atomic.Bool
		down.Store(true)
		provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) {
			if down.Load() {
				w.WriteHeader(http.StatusBadRequest)
			}
		})
		o := &Outbox{DB: db, Vault: testVault(t), Log: log, Province: "80",
			Senders: map[string]Sender{SMS: mustGateway(t, SMS, config.Gateway{URL: provider.srv.URL, Body: config.DefaultSMSBody}), Email: refusing{}}}
		o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: "otp:1"})
		o.Enqueue(ctx, Message{Channel: Email, Kind: KindReportReminder, To: "a@b.vn", Subject: "s", Body: text, DedupKey: "mail:1"})
		if _, failed, _ := o.Deliver(ctx); failed != 2 {
			t.Fatalf("failed %d", failed)
		}
		admin := &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
		for _, p := range []*auth.Principal{nil, {Role: auth.ProvinceAdmin, Unit: "01"}, {Role: auth.DistrictOfficer, Unit: "803"},
			{Role: auth.DepartmentOfficer, Unit: "80", Department: "ict"}, {Role: auth.HealthTracer, Unit: "80"}} {
			if _, err := o.Failed(ctx, p, 10); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%v lists failed messages: %v", p, err)
			}
			if err := o.Resend(ctx, p, 1); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%v re-sends: %v", p, err)
			}
		}
		list, err := o.Failed(auth.WithPrincipal(ctx, admin), admin, 10)
		if err != nil || len(list) != 2 {
			t.Fatalf("%v %v", list, err)
		}
		byChannel := map[string]Entry{}
		for _, e := range list {
			byChannel[e.Channel] = e
		}
		if e := byChannel[SMS]; e.To != "*******678" || e.Kind != "otp" || !strings.Contains(e.LastError, "400") || e.FailedAt == nil {
			t.Fatalf("sms entry %+v", e)
		}
		if e := byChannel[Email]; e.To != "a***@b.vn" || !strings.Contains(e.LastError, "refused") {
			t.Fatalf("email entry %+v", e)
		}
		counts, _ := o.Counts(ctx, admin)
		if counts[Failed] != 2 || counts[Sent] != 0 {
			t.Fatalf("counts %v", counts)
		}
		id := byChannel[SMS].ID
		if err := o.Resend(auth.WithPrincipal(ctx, admin), admin, id); err != nil {
			t.Fatal(err)
		}
		if err := o.Resend(auth.WithPrincipal(ctx, admin), admin, id); !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("second re-send: %v", err)
		}
		if err := o.Resend(auth.WithPrincipal(ctx, admin), admin, 999); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		down.Store(false)
		if sent, _, _ := o.Deliver(ctx); sent != 1 {
			t.Fatalf("re-sent %d", sent)
		}
		if sent, _, _ := o.Deliver(ctx); sent != 0 {
			t.Fatal("re-sent twice")
		}
		reqs := provider.requests()
		if len(reqs) != 2 || reqs[0].json["id"] == reqs[1].json["id"] || !strings.HasSuffix(reqs[1].json["id"].(string), "-r1") {
			t.Fatalf("refs %v %v", reqs[0].json["id"], reqs[1].json["id"])
		}
		var audits int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE subject = 'outbox' AND username = 'admin'").Scan(&audits)
		if audits != 2 { // the list and the re-send
			t.Fatalf("%d audit rows", audits)
		}
	})
}

// hmacOf is the signature of the scheme before timestamps: the body alone.
func hmacOf(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// The failed list is newest failure first, then the rows failed before
// failure times were kept (failed_at NULL), newest id first: the same order
// on SQLite and PostgreSQL.
func TestFailedOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"})
		o := &Outbox{DB: db, Vault: testVault(t), Province: "80"}
		rows := []struct {
			dedup    string
			failedAt any
		}{{"a", nil}, {"b", 100}, {"c", 300}, {"d", nil}, {"e", 200}, {"f", 300}}
		for _, r := range rows {
			if _, err := db.W.Exec(`INSERT INTO outbox (channel, to_enc, body, dedup_key, status, created_at, next_at, kind, failed_at)
				VALUES ('sms', $1, 'b', $2, 'failed', 0, 0, 'otp', $3)`, o.Vault.Seal(phone), r.dedup, r.failedAt); err != nil {
				t.Fatal(err)
			}
		}
		list, err := o.Failed(ctx, auth.From(ctx), 100)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]string{}
		r, _ := db.R.Query("SELECT id, dedup_key FROM outbox")
		for r.Next() {
			var id int64
			var k string
			r.Scan(&id, &k)
			ids[id] = k
		}
		r.Close()
		var got string
		for _, e := range list {
			got += ids[e.ID]
		}
		if got != "fcebda" {
			t.Errorf("order %q, want fcebda", got)
		}
	})
}

// refusing is a provider that refuses every message for good.
type refusing struct{}

func (refusing) Send(context.Context, Message) error {
	return Permanent(errors.New("the relay refused the address"))
}
