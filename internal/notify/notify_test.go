package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/config"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

// Personal data every test puts in messages; no log line may hold any of it.
const (
	phone = "0912345678"
	code  = "482913"
	text  = "Mã xác thực anticovid: 482913"
)

// logBuf collects a test's log lines and checks them for personal data.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLog returns a debug logger whose output t checks at its end.
func newLog(t *testing.T) (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	t.Cleanup(func() {
		out := lb.String()
		for _, secret := range []string{phone, "84912345678", code, text, "a@b.vn", "Bạn là F1"} {
			if strings.Contains(out, secret) {
				t.Errorf("a log line holds %q:\n%s", secret, out)
			}
		}
	})
	return slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

func testVault(t *testing.T) *vault.Vault {
	v, err := vault.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// clock is a settable time for leases and back-off.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// gateway is an HTTP gateway in the test: it keeps each request and answers
// with answer (200 and {} when nil).
type gateway struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []gotRequest
	answer func(w http.ResponseWriter, r gotRequest)
}

type gotRequest struct {
	header http.Header
	body   []byte
	json   map[string]any
}

func newGateway(t *testing.T, answer func(w http.ResponseWriter, r gotRequest)) *gateway {
	g := &gateway{answer: answer}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got := gotRequest{header: r.Header.Clone(), body: b}
		json.Unmarshal(b, &got.json)
		g.mu.Lock()
		g.reqs = append(g.reqs, got)
		g.mu.Unlock()
		if g.answer != nil {
			g.answer(w, got)
			return
		}
		io.WriteString(w, "{}")
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) requests() []gotRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gotRequest(nil), g.reqs...)
}

func mustGateway(t *testing.T, ch string, c config.Gateway) *Gateway {
	t.Helper()
	gw, err := NewGateway(ch, c)
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func status(t *testing.T, db *sqldb.DB, dedup string) (st, lastErr, ref string, attempts int) {
	t.Helper()
	if err := db.R.QueryRow("SELECT status, last_error, provider_ref, attempts FROM outbox WHERE dedup_key = $1", dedup).Scan(&st, &lastErr, &ref, &attempts); err != nil {
		t.Fatal(err)
	}
	return
}

func TestOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		var fail atomic.Bool
		fail.Store(true)
		provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) {
			if r.header.Get("Authorization") != "Bearer k" {
				w.WriteHeader(401)
				return
			}
			if fail.Load() {
				w.WriteHeader(503)
			}
		})
		rec := &Recorder{}
		gw := mustGateway(t, SMS, config.Gateway{URL: provider.srv.URL, Auth: "Authorization: Bearer k", Body: `{"to":{{json .To}},"body":{{json .Text}}}`})
		o := &Outbox{DB: db, Vault: testVault(t), Senders: map[string]Sender{SMS: gw, Email: rec}, Log: log}
		for i := 0; i < 2; i++ { // the second is a duplicate
			ok, err := o.Enqueue(ctx, Message{Channel: SMS, Kind: KindF1, To: phone, Body: "Bạn là F1", DedupKey: "f1:case7:person9"})
			if err != nil || ok != (i == 0) {
				t.Fatalf("enqueue %d: %v %v", i, ok, err)
			}
		}
		var enc []byte
		var body string
		db.R.QueryRow("SELECT to_enc, body FROM outbox").Scan(&enc, &body)
		if bytes.Contains(enc, []byte(phone)) {
			t.Fatal("recipient stored in clear")
		}
		// (The whole text: two letters like "F1" turn up in random base64
		// about once in a hundred runs.)
		if strings.Contains(body, "Bạn là F1") || !strings.HasPrefix(body, sealedPrefix) {
			t.Fatalf("body stored in clear: %q", body)
		}
		// Provider down: nothing sent, still queued.
		if sent, failed, err := o.Deliver(ctx); err != nil || sent != 0 || failed != 0 {
			t.Fatalf("deliver while down: %d %d %v", sent, failed, err)
		}
		if st, why, _, n := status(t, db, "f1:case7:person9"); st != Queued || n != 1 || !strings.Contains(why, "503") {
			t.Fatalf("after a 503: %s %q %d", st, why, n)
		}
		fail.Store(false)
		db.W.Exec("UPDATE outbox SET next_at = 0") // skip the back-off wait
		if sent, _, err := o.Deliver(ctx); err != nil || sent != 1 {
			t.Fatalf("deliver: %d %v", sent, err)
		}
		got := provider.requests()
		if len(got) != 2 || got[1].json["to"] != phone || got[1].json["body"] != "Bạn là F1" {
			t.Fatalf("provider got %v", got)
		}
		if sent, _, _ := o.Deliver(ctx); sent != 0 {
			t.Fatal("sent twice")
		}
		// A message queued before bodies were sealed is still delivered.
		if _, err := db.W.Exec(`INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at, kind, params)
			VALUES ('email', $1, 's', 'plain old body', 'old1', 'queued', 0, 0, '', '')`, o.Vault.Seal("old@b.vn")); err != nil {
			t.Fatal(err)
		}
		o.Enqueue(ctx, Message{Channel: Email, Kind: KindReportReminder, To: "a@b.vn", Subject: "s", Body: "b", DedupKey: "e1"})
		for _, ch := range []string{"pigeon", "", "SMS", "sms "} {
			if ok, err := o.Enqueue(ctx, Message{Channel: ch, Kind: KindOTP, To: "x", Body: "b", DedupKey: "p:" + ch}); err == nil || ok {
				t.Errorf("channel %q queued", ch)
			}
		}
		sent, failed, _ := o.Deliver(ctx)
		if sent != 2 || failed != 0 || len(rec.Messages()) != 2 {
			t.Fatalf("email/unknown channel: sent %d failed %d rec %d", sent, failed, len(rec.Messages()))
		}
		if m := rec.Messages(); m[0].Body != "plain old body" || m[1].Body != "b" || m[1].To != "a@b.vn" {
			t.Fatalf("recorded %+v", m)
		}
	})
}

// Retries wait longer each time, up to a cap; after MaxAttempts the message
// fails; a permanent refusal fails at once.
func TestRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		clk := &clock{t: time.Unix(1_700_000_000, 0)}
		provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) {
			if r.json["text"] == "refused" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusBadGateway)
		})
		gw := mustGateway(t, SMS, config.Gateway{URL: provider.srv.URL, Body: config.DefaultSMSBody})
		o := &Outbox{DB: db, Vault: testVault(t), Senders: map[string]Sender{SMS: gw}, Log: log, Now: clk.now,
			MaxAttempts: 4, RetryBase: time.Minute, RetryMax: 3 * time.Minute}
		o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: "otp:1"})
		o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: "refused", DedupKey: "x:2"})
		var waits []time.Duration
		for attempt := 1; attempt <= 4; attempt++ {
			o.Deliver(ctx)
			var next int64
			db.R.QueryRow("SELECT next_at FROM outbox WHERE dedup_key = 'otp:1'").Scan(&next)
			waits = append(waits, time.Unix(next, 0).Sub(clk.now()))
			if attempt == 1 {
				if st, why, _, _ := status(t, db, "x:2"); st != Failed || !strings.Contains(why, "400") {
					t.Fatalf("a 400 is permanent: %s %q", st, why)
				}
			}
			// Not yet due: nothing happens.
			if sent, failed, _ := o.Deliver(ctx); sent+failed != 0 && attempt < 4 {
				t.Fatalf("attempt %d: delivered before its time", attempt)
			}
			clk.add(time.Hour)
		}
		if st, why, _, n := status(t, db, "otp:1"); st != Failed || n != 4 || !strings.Contains(why, "502") {
			t.Fatalf("after 4 attempts: %s %q %d", st, why, n)
		}
		for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
			if waits[i] < want || waits[i] > want+want/5+time.Second {
				t.Errorf("wait %d: %v, want %v to %v", i+1, waits[i], want, want+want/5)
			}
		}
		if n := len(provider.requests()); n != 5 {
			t.Errorf("%d requests, want 4 for the retried message and 1 for the refused", n)
		}
	})
}

func TestBackoff(t *testing.T) {
	o := &Outbox{}
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {4, 4 * time.Minute}, {7, 30 * time.Minute}, {80, 30 * time.Minute}} {
		for range 20 {
			if d := o.Backoff(c.n); d < c.want || d > c.want+c.want/5 {
				t.Fatalf("Backoff(%d) = %v, want %v to %v", c.n, d, c.want, c.want+c.want/5)
			}
		}
	}
}

// Two servers' outboxes deliver from one database at the same time: each
// message reaches the gateway exactly once.
func TestConcurrentDeliverers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		seen := map[string]int{}
		var mu sync.Mutex
		provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) {
			mu.Lock()
			seen[r.json["id"].(string)]++
			mu.Unlock()
			time.Sleep(time.Millisecond)
		})
		v := testVault(t)
		const n = 150
		outboxes := make([]*Outbox, 2)
		for i := range outboxes {
			outboxes[i] = &Outbox{DB: db, Vault: v, Log: log, Batch: 7,
				Senders: map[string]Sender{SMS: mustGateway(t, SMS, config.Gateway{URL: provider.srv.URL, Body: config.DefaultSMSBody})}}
		}
		for i := range n {
			outboxes[0].Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: fmt.Sprintf("otp:%d", i)})
		}
		var wg sync.WaitGroup
		var total atomic.Int64
		for _, o := range outboxes {
			wg.Go(func() {
				for range 40 {
					sent, _, err := o.Deliver(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					total.Add(int64(sent))
				}
			})
		}
		wg.Wait()
		if len(seen) != n || total.Load() != n {
			t.Fatalf("%d distinct messages reached the gateway, %d counted sent; want %d", len(seen), total.Load(), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("message %s sent %d times", id, k)
			}
		}
		var sent int
		db.R.QueryRow("SELECT count(*) FROM outbox WHERE status = 'sent'").Scan(&sent)
		if sent != n {
			t.Errorf("%d rows sent, want %d", sent, n)
		}
	})
}

// A deliverer that died holding claims: rows it only claimed go out once its
// lease ends; the row it had handed to the provider is failed as
// interrupted, never sent again by itself, and the admin can re-send it.
func TestLeaseAfterCrash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		clk := &clock{t: time.Unix(1_700_000_000, 0)}
		provider := newGateway(t, nil)
		o := &Outbox{DB: db, Vault: testVault(t), Log: log, Now: clk.now, Lease: time.Minute,
			Senders: map[string]Sender{SMS: mustGateway(t, SMS, config.Gateway{URL: provider.srv.URL, Body: config.DefaultSMSBody})}}
		o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: "otp:claimed"})
		o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: "otp:sending"})
		lease := clk.now().Add(time.Minute).Unix()
		db.W.Exec("UPDATE outbox SET claim = 'dead', lease_until = $1 WHERE dedup_key = 'otp:claimed'", lease)
		db.W.Exec("UPDATE outbox SET claim = 'dead', lease_until = $1, status = 'sending', attempts = 1 WHERE dedup_key = 'otp:sending'", lease)
		if sent, failed, err := o.Deliver(ctx); err != nil || sent+failed != 0 || len(provider.requests()) != 0 {
			t.Fatalf("under another's lease: sent %d failed %d %v", sent, failed, err)
		}
		clk.add(61 * time.Second)
		sent, failed, err := o.Deliver(ctx)
		if err != nil || sent != 1 || failed != 1 || len(provider.requests()) != 1 {
			t.Fatalf("after the lease: sent %d failed %d requests %d %v", sent, failed, len(provider.requests()), err)
		}
		if st, why, _, _ := status(t, db, "otp:sending"); st != Failed || why != ErrInterrupted {
			t.Fatalf("interrupted send: %s %q", st, why)
		}
		if st, _, ref, _ := status(t, db, "otp:claimed"); st != Sent || ref == "" {
			t.Fatalf("claimed row: %s %q", st, ref)
		}
		if got := provider.requests()[0].json["text"]; got != text {
			t.Fatalf("gateway got %v", got)
		}
	})
}

// A provider's rate holds however many messages are due: 41 messages at 20
// a second (a bucket of 20) take at least 21/20 s.
func TestRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		provider := newGateway(t, nil)
		cfg := &config.Config{Province: "80", SMS: config.Gateway{URL: provider.srv.URL, Body: config.DefaultSMSBody, Rate: 20}, EmailRate: 1}
		o := &Outbox{DB: db, Vault: testVault(t), Log: log}
		if err := Configure(o, cfg, log); err != nil {
			t.Fatal(err)
		}
		for i := range 41 {
			o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: fmt.Sprintf("otp:%d", i)})
		}
		start := time.Now()
		if sent, _, err := o.Deliver(ctx); err != nil || sent != 41 {
			t.Fatalf("sent %d %v", sent, err)
		}
		if d := time.Since(start); d < 1000*time.Millisecond {
			t.Fatalf("41 messages at 20/s took %v", d)
		}
	})
}

// TestEnqueueOnceAcrossServers: two servers enqueue the same messages at the
// same moment, one of them a day later by its clock (a campaign re-run
// tomorrow): each dedup key is stored once and reported new to one caller
// only. On PostgreSQL the servers have their own connection pools on one
// database whose outbox is partitioned by day, so the two rows of a key
// would land in different partitions: only outbox_keys keeps them one.
func TestEnqueueOnceAcrossServers(t *testing.T) {
	run := func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		v := testVault(t)
		today := time.Now()
		servers := []*Outbox{{DB: a, Vault: v}, {DB: b, Vault: v, Now: func() time.Time { return today.Add(25 * time.Hour) }}}
		const keys, racers = 40, 4
		var wg sync.WaitGroup
		var stored [keys]atomic.Int32
		start := make(chan struct{})
		for i, o := range servers {
			for r := range racers {
				wg.Go(func() {
					<-start
					for k := range keys {
						// The servers go through the keys from either end,
						// each racer a step apart: they meet on every key.
						k = (k + r) % keys
						if i == 1 {
							k = keys - 1 - k
						}
						ok, err := o.Enqueue(ctx, Message{Channel: SMS, Kind: KindCampaign, To: phone, Body: text, DedupKey: fmt.Sprintf("campaign:1:%d", k)})
						if err != nil {
							t.Error(err)
							return
						}
						if ok {
							stored[k].Add(1)
						}
					}
				})
			}
		}
		close(start)
		wg.Wait()
		for k := range keys {
			if n := stored[k].Load(); n != 1 {
				t.Errorf("key %d reported stored %d times", k, n)
			}
		}
		// Across days, one after the other: tomorrow's row first, then today's
		// enqueue of the same key; today's first, then tomorrow's.
		for i, o := range []*Outbox{servers[1], servers[0], servers[0], servers[1]} {
			ok, err := o.Enqueue(ctx, Message{Channel: SMS, Kind: KindCampaign, To: phone, Body: text, DedupKey: fmt.Sprintf("campaign:2:%d", i/2)})
			if err != nil || ok != (i%2 == 0) {
				t.Errorf("enqueue %d of campaign 2: %v %v", i, ok, err)
			}
		}
		var rows, distinct int
		a.R.QueryRow("SELECT count(*), count(DISTINCT dedup_key) FROM outbox").Scan(&rows, &distinct)
		if rows != keys+2 || distinct != keys+2 {
			t.Errorf("%d rows for %d keys, want %d", rows, distinct, keys+2)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		db := storetest.SQLite(t)
		run(t, db, db)
	})
	t.Run("postgres", func(t *testing.T) {
		u := storetest.PostgresURL(t)
		var dbs [2]*sqldb.DB
		for i := range dbs {
			db, err := store.OpenMigrated(context.Background(), u, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		var partitioned bool
		dbs[0].W.QueryRow("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('outbox'))").Scan(&partitioned)
		if !partitioned {
			t.Fatal("the outbox of a new database is not partitioned by day")
		}
		run(t, dbs[0], dbs[1])
		var days int
		dbs[0].R.QueryRow("SELECT count(DISTINCT tableoid) FROM outbox").Scan(&days)
		if days != 2 {
			t.Errorf("the messages are in %d partitions, want 2 (both servers' days)", days)
		}
	})
}
