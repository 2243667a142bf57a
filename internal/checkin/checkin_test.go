package checkin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

type fixture struct {
	s      *Service
	db     *sqldb.DB
	keys   *token.Keyring
	venues *venue.Service
	tok    string // token of an approved market
	id     int64
}

func newFixture(t testing.TB, db *sqldb.DB) *fixture {
	v, _ := vault.New(bytes.Repeat([]byte{3}, 32))
	keys, err := token.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	vs := &venue.Service{DB: db, Vault: v, Signer: keys}
	admin := &auth.Principal{Role: auth.ProvinceAdmin, Unit: "80"}
	m, err := vs.Create(context.Background(), admin, venue.Venue{Name: "Chợ Bến Lức", Category: "market", CommuneCode: "27991"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(context.Background(), db, people.NewService(db, v), v, keys, 21*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &fixture{s: s, db: db, keys: keys, venues: vs, tok: keys.Sign(m.ID, 1), id: m.ID}
}

var an = &people.Person{Name: "Nguyễn Văn An", Phone: "0912345678", BirthYear: 1985, Commune: "27991"}

func TestIngest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		in := Request{ID: "aaaaaaaa-0000-4000-8000-000000000001", Token: f.tok, Direction: In, Person: an}
		r1, err := f.s.Ingest(ctx, in)
		if err != nil || !r1.Created || r1.VenueName != "Chợ Bến Lức" {
			t.Fatalf("first: %+v %v", r1, err)
		}
		// A retry of the same id records nothing new, even with a later time
		// (a phone that did not send "at").
		if r2, err := f.s.Ingest(ctx, in); err != nil || r2.Created {
			t.Fatalf("repeat: %+v %v", r2, err)
		}
		soon := time.Now().Add(time.Minute)
		retry := in
		retry.At = &soon
		if r2, err := f.s.Ingest(ctx, retry); err != nil || r2.Created {
			t.Fatalf("repeat with another time: %+v %v", r2, err)
		}
		// The person token checks in as the same person. A check-out at −20 min
		// comes before the check-in (now): refused, nothing stored.
		at := time.Now().Add(-20 * time.Minute)
		out := Request{ID: "aaaaaaaa-0000-4000-8000-000000000002", Token: f.tok, Direction: Out, PersonToken: r1.PersonToken, At: &at}
		if _, err := f.s.Ingest(ctx, out); !errors.Is(err, errs.ErrInvalid) || errs.FieldsOf(err)["at"] == "" {
			t.Fatalf("check-out before check-in: %v", err)
		}
		var n, persons int
		db.R.QueryRow("SELECT count(*), count(DISTINCT person_id) FROM visits").Scan(&n, &persons)
		if n != 1 || persons != 1 {
			t.Fatalf("visits %d persons %d", n, persons)
		}
		// Check out properly: closes the open stay, at the server's receive
		// time (the phone's clock is a minute fast, within the skew).
		later := time.Now().Add(time.Minute)
		r, err := f.s.Ingest(ctx, Request{ID: "aaaaaaaa-0000-4000-8000-000000000003", Token: f.tok, Direction: Out, PersonToken: r1.PersonToken, At: &later})
		if err != nil || !r.Created || r.Queued || r.At.After(time.Now()) {
			t.Fatalf("check-out: %+v %v", r, err)
		}
		var closed int64
		db.R.QueryRow("SELECT t_out FROM visits WHERE id = $1", in.ID).Scan(&closed)
		if closed != r.At.Unix() {
			t.Fatalf("open stay not closed at %d: %d", r.At.Unix(), closed)
		}
		// Repeat of the check-out: nothing changes.
		if r, _ := f.s.Ingest(ctx, Request{ID: "aaaaaaaa-0000-4000-8000-000000000003", Token: f.tok, Direction: Out, PersonToken: r1.PersonToken, At: &later}); r.Created {
			t.Fatal("check-out repeat created")
		}
		db.R.QueryRow("SELECT count(*) FROM visits").Scan(&n)
		if n != 1 {
			t.Fatalf("%d visits", n)
		}
	})
}

func TestIngestRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		future := time.Now().Add(time.Hour)
		old := time.Now().Add(-30 * 24 * time.Hour)
		other, _ := token.NewKeyring()
		suspended, _ := f.venues.Create(ctx, &auth.Principal{Role: auth.ProvinceAdmin, Unit: "80"}, venue.Venue{Name: "Karaoke X", Category: "karaoke", CommuneCode: "27991"})
		f.venues.SetStatus(ctx, &auth.Principal{Role: auth.ProvinceAdmin, Unit: "80"}, suspended.ID, venue.StatusSuspended)
		badPhone := *an
		badPhone.Phone = "12345"
		cases := []struct {
			name  string
			req   Request
			field string
			is    error
		}{
			{"forged token", Request{ID: "bbbbbbbb-1", Token: other.Sign(f.id, 1), Direction: In, Person: an}, "token", errs.ErrInvalid},
			{"altered token", Request{ID: "bbbbbbbb-2", Token: testenv.Alter(f.tok, 20), Direction: In, Person: an}, "token", errs.ErrInvalid},
			{"replaced poster", Request{ID: "bbbbbbbb-3", Token: f.keys.Sign(f.id, 2), Direction: In, Person: an}, "token", errs.ErrInvalid},
			{"suspended venue", Request{ID: "bbbbbbbb-4", Token: f.keys.Sign(suspended.ID, 1), Direction: In, Person: an}, "token", errs.ErrInvalid},
			{"unknown venue", Request{ID: "bbbbbbbb-5", Token: f.keys.Sign(999999, 1), Direction: In, Person: an}, "", errs.ErrNotFound},
			{"malformed phone", Request{ID: "bbbbbbbb-6", Token: f.tok, Direction: In, Person: &badPhone}, "person.phone", errs.ErrInvalid},
			{"future time", Request{ID: "bbbbbbbb-7", Token: f.tok, Direction: In, Person: an, At: &future}, "at", errs.ErrInvalid},
			{"too old", Request{ID: "bbbbbbbb-8", Token: f.tok, Direction: In, Person: an, At: &old}, "at", errs.ErrInvalid},
			{"bad id", Request{ID: "x", Token: f.tok, Direction: In, Person: an}, "id", errs.ErrInvalid},
			{"bad direction", Request{ID: "bbbbbbbb-9", Token: f.tok, Direction: "sideways", Person: an}, "direction", errs.ErrInvalid},
			{"no person", Request{ID: "bbbbbbbb-10", Token: f.tok, Direction: In}, "person", errs.ErrInvalid},
			{"forged person token", Request{ID: "bbbbbbbb-11", Token: f.tok, Direction: In, PersonToken: "AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAA"}, "person_token", errs.ErrInvalid},
		}
		for _, c := range cases {
			_, err := f.s.Ingest(ctx, c.req)
			if !errors.Is(err, c.is) || (c.field != "" && errs.FieldsOf(err)[c.field] == "") {
				t.Errorf("%s: %v (fields %v)", c.name, err, errs.FieldsOf(err))
			}
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM visits").Scan(&n)
		var p int
		db.R.QueryRow("SELECT count(*) FROM people").Scan(&p)
		if n != 0 || p != 0 {
			t.Fatalf("refused scans stored %d visits, %d people", n, p)
		}
	})
}

// Concurrent scans, many repeated: each id is stored once, each person once,
// and every acknowledged scan is in the table.
func TestConcurrentIngest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := 0
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					p := &people.Person{Name: "Trần Thị Bình", Phone: fmt.Sprintf("09%08d", i%37), BirthYear: 1990, Commune: "27994"}
					r, err := f.s.Ingest(context.Background(), Request{ID: fmt.Sprintf("cccccccc-%04d", i), Token: f.tok, Direction: In, Person: p})
					if err != nil {
						t.Error(err)
						return
					}
					if r.Created {
						mu.Lock()
						created++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		f.s.Close() // commits what the journal holds
		if db.Engine == sqldb.SQLite {
			if fi, err := os.Stat(db.Path + "-checkins"); err != nil || fi.Size() != 0 {
				t.Errorf("journal after close: %v, %v; want empty", fi, err)
			}
		}
		var visits, persons int
		db.R.QueryRow("SELECT count(*) FROM visits").Scan(&visits)
		db.R.QueryRow("SELECT count(*) FROM people").Scan(&persons)
		if created != 100 || visits != 100 || persons != 37 {
			t.Fatalf("created %d, visits %d, people %d; want 100, 100, 37", created, visits, persons)
		}
	})
}

// TestSameScanAtOnce: one scan sent many times at once, each copy with its
// own queued time (a phone retrying through two servers), is stored once:
// on PostgreSQL no unique index can say so (the day partition's key holds
// the time), the writers' id locks do.
func TestSameScanAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		now := time.Now()
		var wg sync.WaitGroup
		var created atomic.Int64
		const scans, copies = 20, 12
		person := func(i int) *people.Person {
			return &people.Person{Name: "Lê Văn Tám", Phone: fmt.Sprintf("09%08d", 500+i), BirthYear: 1985, Commune: "27994"}
		}
		for i := 0; i < scans; i++ { // known people: no person row to wait on
			at := now.Add(-2 * time.Hour)
			if _, err := f.s.Ingest(context.Background(), Request{ID: fmt.Sprintf("eeeeeeee-%04d", i), Token: f.tok, Direction: In, At: &at, Person: person(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for c := 0; c < copies; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < scans; i++ {
					at := now.Add(-time.Duration(c*7+1) * time.Second)
					r, err := f.s.Ingest(context.Background(), Request{ID: fmt.Sprintf("dddddddd-%04d", i), Token: f.tok, Direction: In, At: &at, Person: person(i)})
					if err != nil {
						t.Error(err)
						return
					}
					if r.Created {
						created.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		f.s.Close() // commits what the journal holds
		var visits int
		db.R.QueryRow("SELECT count(*) FROM visits").Scan(&visits)
		if created.Load() != scans || visits != 2*scans {
			t.Fatalf("created %d, stored %d; want %d and %d", created.Load(), visits, scans, 2*scans)
		}
	})
}

// TestIngestAcrossMidnight: scans either side of a UTC midnight land in
// their own day (on PostgreSQL, their own day partitions), and a retry of
// the first sent with a time past midnight is still a repeat, stored once,
// on both engines (the writer's NOT EXISTS within a day either side; the
// partitioned unique index alone would let it through).
func TestIngestAcrossMidnight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		// The service's clock stands an hour after the last midnight: scans
		// more than 12 hours old are refused, whatever time the test runs.
		now := time.Now().Unix()
		midnight := now - now%86400
		f.s.Now = func() time.Time { return time.Unix(midnight+3600, 0) }
		before, after := time.Unix(midnight-10, 0), time.Unix(midnight+10, 0)
		in := Request{ID: "bbbbbbbb-0000-4000-8000-000000000001", Token: f.tok, Direction: In, Person: an, At: &before}
		if r, err := f.s.Ingest(ctx, in); err != nil || !r.Created {
			t.Fatalf("before midnight: %+v %v", r, err)
		}
		retry := in
		retry.At = &after
		if r, err := f.s.Ingest(ctx, retry); err != nil || r.Created {
			t.Fatalf("retry across midnight: %+v %v", r, err)
		}
		next := Request{ID: "bbbbbbbb-0000-4000-8000-000000000002", Token: f.tok, Direction: In, Person: an, At: &after}
		if r, err := f.s.Ingest(ctx, next); err != nil || !r.Created {
			t.Fatalf("after midnight: %+v %v", r, err)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM visits WHERE id = $1", in.ID).Scan(&n)
		if n != 1 {
			t.Fatalf("retried scan stored %d times", n)
		}
		var prov, want string
		db.R.QueryRow("SELECT province_code FROM visits WHERE id = $1", next.ID).Scan(&prov)
		db.R.QueryRow("SELECT province_code FROM venues WHERE id = $1", f.id).Scan(&want)
		if prov != want || prov == "" {
			t.Errorf("visit's province %q, want the venue's (%q)", prov, want)
		}
		if db.Engine != sqldb.Postgres {
			return
		}
		for id, day := range map[string]time.Time{in.ID: before, next.ID: after} {
			var where string
			db.R.QueryRow("SELECT tableoid::regclass::text FROM visits WHERE id = $1", id).Scan(&where)
			if want := "visits_d" + day.UTC().Format("20060102"); where != want {
				t.Errorf("visit %s in %s, want %s", id, where, want)
			}
		}
	})
}

// TestStoreless: the no-database service of bench ingest checks a scan as
// the real one does (a bad token is refused the same way), answers a good
// one with a person token the real service accepts, and stores nothing.
func TestStoreless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := NewStoreless(db, f.s.People, f.s.Vault, f.keys)
		defer s.Close()
		r, err := s.Ingest(ctx, Request{ID: "cccccccc-0000-4000-8000-000000000001", Token: f.tok, Direction: In, Person: an})
		if err != nil || !r.Created || r.PersonToken == "" || r.VenueName != "Chợ Bến Lức" {
			t.Fatalf("storeless scan: %+v %v", r, err)
		}
		// The venue token is base32 with no spare bits: its last character counts.
		if _, err := s.Ingest(ctx, Request{ID: "cccccccc-0000-4000-8000-000000000002", Token: testenv.Alter(f.tok, len(f.tok)-1), Direction: In, Person: an}); err == nil {
			t.Fatal("storeless service took a forged venue token")
		}
		if n, err := Count(ctx, db); err != nil || n != 0 {
			t.Fatalf("storeless service stored %d visits (%v)", n, err)
		}
	})
}

// Closing the service while phones scan answers every scan (stored, or
// refused as closed) and leaves no scan waiting for a writer that has gone.
func TestCloseWhileScanning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		var wg sync.WaitGroup
		var stored atomic.Int64
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					// A new person each scan: the same one scanning this fast would be held for review.
					p := people.Person{Name: "Trần Thị Bình", Phone: fmt.Sprintf("09%d%07d", g, i), BirthYear: 1990, Commune: "27991"}
					_, err := f.s.Ingest(context.Background(), Request{ID: fmt.Sprintf("cccccccc-%04d-4000-8000-%012d", g, i), Token: f.tok, Direction: In, Person: &p})
					if err != nil {
						if !errors.Is(err, errClosed) {
							t.Errorf("scan %d: %v", i, err)
						}
						return
					}
					stored.Add(1)
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		f.s.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("scans still waiting 10 s after the service closed")
		}
		var n int64
		if err := db.R.QueryRow("SELECT count(*) FROM visits").Scan(&n); err != nil || n != stored.Load() {
			t.Fatalf("%d visits stored, %d scans answered as stored (%v)", n, stored.Load(), err)
		}
	})
}
