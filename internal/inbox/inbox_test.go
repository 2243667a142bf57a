package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/config"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/notify/smtpsink"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

// Long An (80): district Bến Lức (803) with communes 27991 and 27994.
const (
	communeA = "27991"
	communeB = "27994"
)

// work is a source's counts per commune, summed over a unit's communes
// the way the domain packages' count functions filter by Scope.
type work struct {
	mu     sync.Mutex
	counts map[string]int
	href   string
}

func (w *work) set(commune string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts[commune] = n
}

func (w *work) count(_ context.Context, p *auth.Principal) (int, string, error) {
	if !p.Can(auth.CommuneOfficer, auth.DistrictOfficer) {
		return 0, "", errs.ErrForbidden
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for c, k := range w.counts {
		if geo.Contains(p.Unit, c) {
			n += k
		}
	}
	return n, w.href, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db       *sqldb.DB
	clock    *clock
	work     *work
	out      *notify.Outbox
	rec      *notify.Recorder
	users    map[string]*auth.Principal
	contacts map[int64]Contact
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	if _, ok := geo.Get(communeA); !ok {
		t.Fatal("no commune", communeA)
	}
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2021, 8, 9, 1, 0, 0, 0, time.UTC)} // Monday 08:00 in Vietnam
	rec := &notify.Recorder{}
	f := &fixture{db: db, clock: c, rec: rec, users: map[string]*auth.Principal{}, contacts: map[int64]Contact{},
		work: &work{counts: map[string]int{}, href: "/tracing/worklist"},
		out:  &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec, notify.Email: rec}, Now: c.now}}
	as := auth.NewService(db, time.Hour)
	for _, u := range []auth.NewUser{
		{Username: "xa-a1", Role: auth.CommuneOfficer, Unit: communeA},
		{Username: "xa-a2", Role: auth.CommuneOfficer, Unit: communeA},
		{Username: "xa-b", Role: auth.CommuneOfficer, Unit: communeB},
		{Username: "huyen", Role: auth.DistrictOfficer, Unit: "803"},
		{Username: "quanly", Role: auth.VenueManager, Unit: communeA},
		{Username: "tinh", Role: auth.ProvinceAdmin, Unit: "80"},
	} {
		u.Password = "correct horse battery"
		got, err := as.CreateUser(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		f.users[u.Username] = &got.Principal
	}
	return f
}

// service is one server's inbox over the fixture's database.
func (f *fixture) service() *Service {
	return &Service{DB: f.db, Outbox: f.out, BaseURL: "https://anticovid.longan.gov.vn", DigestHour: 7, Now: f.clock.now,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sources: []Source{{Kind: KindWorklist, Count: f.work.count}},
		Contacts: func(_ context.Context, ids []int64) (map[int64]Contact, error) {
			out := map[int64]Contact{}
			for _, id := range ids {
				if c, ok := f.contacts[id]; ok {
					out[id] = c
				}
			}
			return out, nil
		}}
}

func (f *fixture) list(t *testing.T, s *Service, user string) []Notice {
	t.Helper()
	ns, _, err := s.List(context.Background(), f.users[user], 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// A rise in commune A's work reaches A's officers and the district's, never
// commune B's, the province's (whose role does not do this work) or a
// venue manager; another official's notice is not found.
func TestNoticesByJurisdiction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := f.service()
		if err := s.Watch(ctx); err != nil {
			t.Fatal(err)
		}
		f.work.set(communeA, 3)
		if err := s.Watch(ctx); err != nil {
			t.Fatal(err)
		}
		for user, want := range map[string]int{"xa-a1": 1, "xa-a2": 1, "huyen": 1, "xa-b": 0, "tinh": 0} {
			ns := f.list(t, s, user)
			if len(ns) != want {
				t.Errorf("%s has %d notices, want %d", user, len(ns), want)
			}
			if n, _ := s.Unread(ctx, f.users[user]); n != want {
				t.Errorf("%s: %d unread, want %d", user, n, want)
			}
			for _, n := range ns {
				if n.Added != 3 || n.Total != 3 || n.Href != "/tracing/worklist" || n.Read {
					t.Errorf("%s: %+v", user, n)
				}
				if got := n.Text("vi"); got != "3 liên hệ mới trong danh sách theo dõi" {
					t.Errorf("text %q", got)
				}
			}
		}
		if _, err := s.Unread(ctx, f.users["quanly"]); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("venue manager's inbox: %v", err)
		}
		mine := f.list(t, s, "xa-a1")[0]
		if _, err := s.Open(ctx, f.users["xa-b"], mine.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("another commune opened a notice: %v", err)
		}
		if _, err := s.Open(ctx, f.users["xa-a2"], mine.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("a colleague opened a notice: %v", err)
		}
		if n, err := s.MarkRead(ctx, f.users["xa-b"], []int64{mine.ID}); n != 0 || err != nil {
			t.Errorf("another's mark read: %d %v", n, err)
		}
		got, err := s.Open(ctx, f.users["xa-a1"], mine.ID)
		if err != nil || !got.Read {
			t.Fatalf("open: %+v %v", got, err)
		}
		if n, _ := s.Unread(ctx, f.users["xa-a1"]); n != 0 {
			t.Errorf("opened notice still unread (%d)", n)
		}
		if n, _ := s.Unread(ctx, f.users["xa-a2"]); n != 1 {
			t.Errorf("colleague's notice read with mine (%d unread)", n)
		}

		// Less work tells nothing; more again tells the rise.
		f.work.set(communeA, 1)
		s.Watch(ctx)
		f.work.set(communeA, 4)
		s.Watch(ctx)
		ns := f.list(t, s, "xa-a2")
		if len(ns) != 2 || ns[0].Added != 3 || ns[0].Total != 4 {
			t.Errorf("after 3 → 1 → 4: %+v", ns)
		}
		if n, err := s.MarkAllRead(ctx, f.users["xa-a2"]); n != 2 || err != nil {
			t.Errorf("mark all read: %d %v", n, err)
		}
	})
}

// The same count at a new link (next week's report) is new work.
func TestNewLinkIsNewWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := f.service()
		s.Sources[0].Kind = KindReportDue
		f.work.set(communeA, 1)
		f.work.href = "/reports/2021-W32/x"
		s.Watch(ctx)
		s.Watch(ctx)
		f.work.href = "/reports/2021-W33/x"
		s.Watch(ctx)
		ns := f.list(t, s, "xa-a1")
		if len(ns) != 2 || ns[0].Href != "/reports/2021-W33/x" || ns[1].Href != "/reports/2021-W32/x" {
			t.Fatalf("notices %+v", ns)
		}
		if got := ns[0].Text("en"); got != "The unit's weekly report is due" {
			t.Errorf("text %q", got)
		}
	})
}

// Servers watching at the same moment write each event's notices once.
func TestWatchTwoServersOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		servers := []*Service{f.service(), f.service(), f.service(), f.service()}
		for round := 1; round <= 3; round++ {
			f.work.set(communeA, round*2)
			var wg sync.WaitGroup
			for _, s := range servers {
				wg.Go(func() {
					if err := s.Watch(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			ns := f.list(t, servers[0], "xa-a1")
			if len(ns) != round {
				t.Fatalf("round %d: %d notices: %+v", round, len(ns), ns)
			}
			if ns[0].Added != 2 {
				t.Errorf("round %d: added %d", round, ns[0].Added)
			}
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM inbox_notices").Scan(&n)
		if n != 3*3 { // three rounds, three officials over commune A
			t.Errorf("%d notices in all, want 9", n)
		}
	})
}

// Each channel's preference is kept: Each sends one message per notice
// (counts and a link, nothing else), once even when dispatched twice;
// Daily and Off send nothing per notice; no address, nothing.
func TestEachEventPreference(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := f.service()
		a1, a2, h := f.users["xa-a1"], f.users["xa-a2"], f.users["huyen"]
		f.contacts[a1.UserID] = Contact{Phone: "0912345678", Email: "a1@longan.gov.vn"}
		f.contacts[a2.UserID] = Contact{Phone: "0912345679", Email: "a2@longan.gov.vn"}
		mustPrefs(t, s, a1, Prefs{SMS: Each, Email: Off})
		mustPrefs(t, s, a2, Prefs{SMS: Daily, Email: Each})
		mustPrefs(t, s, h, Prefs{SMS: Each, Email: Each}) // no address given
		if _, err := s.SetPrefs(ctx, a1, Prefs{SMS: "hourly", Email: Off}); err == nil {
			t.Error("an unknown mode was taken")
		}
		f.work.set(communeA, 2)
		s.Watch(ctx)
		s.dispatch(ctx)
		if _, err := f.out.Enqueue(ctx, notify.Message{}); err == nil {
			t.Fatal("an empty message was queued")
		}
		if _, _, err := f.out.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		got := f.rec.Messages()
		if len(got) != 2 {
			t.Fatalf("%d messages: %+v", len(got), got)
		}
		for _, m := range got {
			if m.Kind != notify.KindInbox {
				t.Errorf("kind %q", m.Kind)
			}
			switch m.Channel {
			case notify.SMS:
				if m.To != "0912345678" || !strings.HasPrefix(m.Body, "AntiCovid: 2 liên hệ mới trong danh sách theo dõi. Xem: https://anticovid.longan.gov.vn/inbox/") {
					t.Errorf("SMS %+v", m)
				}
			case notify.Email:
				if m.To != "a2@longan.gov.vn" || !strings.Contains(m.Body, "https://anticovid.longan.gov.vn/inbox/") {
					t.Errorf("email %+v", m)
				}
			}
		}
		// A second dispatch (another server, a retry) sends nothing more.
		s.dispatch(ctx)
		f.out.Deliver(ctx)
		if n := len(f.rec.Messages()); n != 2 {
			t.Errorf("%d messages after a second dispatch", n)
		}
	})
}

func mustPrefs(t *testing.T, s *Service, p *auth.Principal, pr Prefs) {
	t.Helper()
	if _, err := s.SetPrefs(context.Background(), p, pr); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Prefs(context.Background(), p); got != pr || err != nil {
		t.Fatalf("prefs %+v %v, want %+v", got, err, pr)
	}
}

// The digest goes once a day at the hour (Vietnam time), with the day's
// counts per kind, even when several servers run the job at once and the
// job runs again; before the hour nothing goes; the next day's digest
// covers the next 24 hours only.
func TestDigestOncePerDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a1, a2 := f.users["xa-a1"], f.users["xa-a2"]
		f.contacts[a1.UserID] = Contact{Phone: "0912345678", Email: "a1@longan.gov.vn"}
		f.contacts[a2.UserID] = Contact{Phone: "0912345679"}
		s := f.service()
		mustPrefs(t, s, a1, Prefs{SMS: Daily, Email: Daily})
		mustPrefs(t, s, a2, Prefs{SMS: Off, Email: Off})
		f.clock.t = time.Date(2021, 8, 9, 3, 0, 0, 0, time.UTC) // 10:00 Monday
		f.work.set(communeA, 2)
		s.Watch(ctx)
		f.work.set(communeA, 5)
		s.Watch(ctx)
		s.dispatch(ctx)
		f.clock.t = time.Date(2021, 8, 9, 23, 30, 0, 0, time.UTC) // 06:30 Tuesday: not yet
		if err := s.Digest(ctx); err != nil {
			t.Fatal(err)
		}
		if n := outboxRows(t, db); n != 0 {
			t.Fatalf("%d messages before the hour", n)
		}
		f.clock.t = time.Date(2021, 8, 10, 0, 5, 0, 0, time.UTC) // 07:05 Tuesday
		servers := []*Service{s, f.service(), f.service()}
		for range 2 {
			var wg sync.WaitGroup
			for _, s := range servers {
				wg.Go(func() {
					if err := s.Digest(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		if n := outboxRows(t, db); n != 2 {
			t.Fatalf("%d digests queued, want one SMS and one email", n)
		}
		// Even with the day's mark gone (a crash before it was written), a
		// repeated run queues nothing twice.
		db.W.Exec("DELETE FROM inbox_digest_days")
		s.Digest(ctx)
		if n := outboxRows(t, db); n != 2 {
			t.Fatalf("%d digests after a repeated run", n)
		}
		f.out.Deliver(ctx)
		for _, m := range f.rec.Messages() {
			if m.Channel == notify.SMS && m.Body != "AntiCovid, tổng hợp ngày: liên hệ mới cần theo dõi: 5. Xem: https://anticovid.longan.gov.vn/inbox" {
				t.Errorf("SMS %q", m.Body)
			}
			if m.Channel == notify.Email && (m.Subject != "Tổng hợp thông báo công việc ngày 10/08/2021" || !strings.Contains(m.Body, "(đến 10/08/2021 07:00):\n- liên hệ mới cần theo dõi: 5\n")) {
				t.Errorf("email %q %q", m.Subject, m.Body)
			}
		}
		// Wednesday: nothing new, no digest; Thursday: only what is new.
		f.clock.add(24 * time.Hour)
		s.Digest(ctx)
		if n := outboxRows(t, db); n != 2 {
			t.Fatalf("%d messages on a day without notices", n)
		}
		f.work.set(communeA, 6)
		s.Watch(ctx)
		f.clock.add(24 * time.Hour)
		s.Digest(ctx)
		if n := outboxRows(t, db); n != 4 {
			t.Fatalf("%d messages after Thursday's digest, want 4", n)
		}
	})
}

func outboxRows(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow("SELECT count(*) FROM outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The digest reaches a real SMTP server and a real HTTP SMS gateway.
func TestDigestReachesProviders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		sink := smtpsink.Start(t, smtpsink.Options{Mode: smtpsink.Plain, User: "tb", Password: "mat-khau"})
		smtp, err := notify.ParseSMTPURL("smtp://tb:mat-khau@" + sink.Addr + "?from=anticovid@longan.gov.vn&tls=none")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var posted []map[string]string
		gwSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var m map[string]string
			if r.Method != http.MethodPost || json.Unmarshal(body, &m) != nil {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			mu.Lock()
			posted = append(posted, m)
			mu.Unlock()
			w.Write([]byte(`{"error":0}`))
		}))
		defer gwSrv.Close()
		gw, err := notify.NewGateway(notify.SMS, config.Gateway{URL: gwSrv.URL, Body: config.DefaultSMSBody, Brand: "LONGAN", Success: "error=0"})
		if err != nil {
			t.Fatal(err)
		}
		f.out.Senders = map[string]notify.Sender{notify.SMS: gw, notify.Email: smtp}
		a1 := f.users["xa-a1"]
		f.contacts[a1.UserID] = Contact{Phone: "0912345678", Email: "a1@longan.gov.vn"}
		s := f.service()
		mustPrefs(t, s, a1, Prefs{SMS: Daily, Email: Daily})
		f.work.set(communeA, 4)
		s.Watch(ctx)
		f.clock.add(23 * time.Hour) // Tuesday 07:00
		if err := s.Digest(ctx); err != nil {
			t.Fatal(err)
		}
		if sent, failed, err := f.out.Deliver(ctx); sent != 2 || failed != 0 || err != nil {
			t.Fatalf("sent %d failed %d: %v", sent, failed, err)
		}
		mails := sink.Received()
		if len(mails) != 1 || mails[0].To[0] != "a1@longan.gov.vn" {
			t.Fatalf("mails %+v", mails)
		}
		m, err := mail.ReadMessage(bytes.NewReader(mails[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		body, _ := io.ReadAll(m.Body)
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		}
		if subject != "Tổng hợp thông báo công việc ngày 10/08/2021" || !strings.Contains(string(body), "- liên hệ mới cần theo dõi: 4\r\n") ||
			!strings.Contains(string(body), "https://anticovid.longan.gov.vn/inbox") {
			t.Errorf("mail %q %q %q", subject, m.Header, body)
		}
		mu.Lock()
		defer mu.Unlock()
		want := "AntiCovid, tổng hợp ngày: liên hệ mới cần theo dõi: 4. Xem: https://anticovid.longan.gov.vn/inbox"
		if len(posted) != 1 || posted[0]["to"] != "0912345678" || posted[0]["text"] != want || posted[0]["brand"] != "LONGAN" {
			t.Fatalf("gateway got %+v", posted)
		}
	})
}

// Every kind has its notice text and its digest line in both languages.
func TestKindTexts(t *testing.T) {
	for _, k := range Kinds {
		for _, lang := range []string{"vi", "en"} {
			n := Notice{Kind: k, Added: 2, Total: 7}.Text(lang)
			if n == "inbox.kind."+k || strings.Contains(n, "%!") {
				t.Errorf("%s %s: %q", k, lang, n)
			}
			if l := msg.T(lang, "inbox.label."+k); l == "inbox.label."+k {
				t.Errorf("%s %s: no digest label", k, lang)
			}
		}
	}
}

// Notices older than Keep go with the day's digest run; newer ones stay.
func TestOldNoticesPurged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := f.service()
		f.work.set(communeA, 1)
		s.Watch(ctx)
		f.clock.add(Keep - 24*time.Hour)
		f.work.set(communeA, 2)
		s.Watch(ctx)
		f.clock.add(48 * time.Hour)
		if err := s.Digest(ctx); err != nil {
			t.Fatal(err)
		}
		if ns := f.list(t, s, "xa-a1"); len(ns) != 1 || ns[0].Total != 2 {
			t.Fatalf("after the purge: %+v", ns)
		}
	})
}
