package checkin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/venue"
)

func at(lat, lon float64, province string, min int64) place {
	return place{venue: int64(lat*1000 + lon), lat: lat, lon: lon, pos: true, province: province, at: min * 60, in: true}
}

func TestTooFast(t *testing.T) {
	benLuc := trail{venue: 1, lat: 10.6386, lon: 106.4870, pos: true, province: "80", at: 0}
	cases := []struct {
		name   string
		to     place
		reason string
	}{
		// Tân An is ~20 km from Bến Lức: 15 min needs 80 km/h, 5 min needs 240.
		{"neighbouring town by car", at(10.5353, 106.4138, "80", 15), ""},
		{"neighbouring town in 5 minutes", at(10.5353, 106.4138, "80", 5), ReasonSpeed},
		// Hà Nội is ~1,700 km away: a day's drive, or a flight.
		{"Hà Nội an hour later", at(21.0285, 105.8542, "01", 60), ReasonSpeed},
		{"Hà Nội 20 hours later", at(21.0285, 105.8542, "01", 20*60), ""},
		{"Hà Nội a day and more later: forgotten", at(21.0285, 105.8542, "01", 25*60), ""},
		// Within the position slack, however fast.
		{"next door a minute later", at(10.6400, 106.4900, "80", 1), ""},
		{"3 km in a minute (1 km beyond the slack at 60 km/h)", at(10.6386, 106.5145, "80", 1), ""},
		{"10 km in a minute", at(10.6386, 106.5785, "80", 1), ReasonSpeed},
		{"a queued scan 5 minutes before, 20 km away", at(10.5353, 106.4138, "80", -5), ReasonSpeed},
		{"same venue", place{venue: 1, at: 60, in: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tooFast(benLuc, c.to); got.reason != c.reason {
				t.Fatalf("%q (%s), want %q (distance %.1f km)", got.reason, got.details, c.reason,
					distanceKm(benLuc.lat, benLuc.lon, c.to.lat, c.to.lon))
			}
		})
	}
	// Without coordinates on either side: different provinces within 20 minutes.
	noPos := trail{venue: 1, province: "80", at: 0}
	for _, c := range []struct {
		name   string
		to     place
		reason string
	}{
		{"other province after 10 minutes", place{venue: 2, province: "79", at: 10 * 60}, ReasonSpeed},
		{"other province after 19 minutes", place{venue: 2, province: "79", at: 19 * 60}, ReasonSpeed},
		{"other province after 20 minutes", place{venue: 2, province: "79", at: 20 * 60}, ""},
		{"same province after a minute", place{venue: 2, province: "80", at: 60}, ""},
		{"one side with coordinates, other province", place{venue: 2, lat: 10.8, lon: 106.6, pos: true, province: "79", at: 60}, ReasonSpeed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := tooFast(noPos, c.to); got.reason != c.reason {
				t.Fatalf("%q, want %q", got.reason, c.reason)
			}
		})
	}
}

func TestDailyCap(t *testing.T) {
	var sc screen
	day0 := int64(1_700_000_000) / 86400 * 86400 // 07:00 in Vietnam
	for i := range DailyCap {
		if v := sc.person(7, place{venue: 1, province: "80", at: day0 + int64(i)*60, in: true}); v.reason != "" {
			t.Fatalf("check-in %d held: %v", i+1, v)
		}
		// Check-outs are not counted.
		if v := sc.person(7, place{venue: 1, province: "80", at: day0 + int64(i)*60 + 30}); v.reason != "" {
			t.Fatalf("check-out %d held: %v", i+1, v)
		}
	}
	if v := sc.person(7, place{venue: 1, province: "80", at: day0 + DailyCap*60, in: true}); v.reason != ReasonDaily {
		t.Fatalf("check-in %d: %v, want held", DailyCap+1, v)
	}
	if v := sc.person(8, place{venue: 1, province: "80", at: day0 + DailyCap*60, in: true}); v.reason != "" {
		t.Fatalf("another person held: %v", v)
	}
	// The next day in Vietnam (17:00 UTC) starts again.
	next := (day0+vnOffset)/86400*86400 + 86400 - vnOffset
	if v := sc.person(7, place{venue: 1, province: "80", at: next, in: true}); v.reason != "" {
		t.Fatalf("next day held: %v", v)
	}
}

func TestBurst(t *testing.T) {
	var sc screen
	market := venue.Venue{ID: 1}
	now := int64(1_700_000_000)
	for i := range BurstPeople {
		if v := sc.burst(market, "addr", fmt.Sprint("p", i), now+int64(i)); v.reason != "" {
			t.Fatalf("person %d held: %v", i+1, v)
		}
	}
	// The same person again is not a new one.
	if v := sc.burst(market, "addr", "p0", now+40); v.reason != "" {
		t.Fatalf("repeat held: %v", v)
	}
	if v := sc.burst(market, "addr", "new", now+41); v.reason != ReasonBurst {
		t.Fatalf("person %d: %v, want held", BurstPeople+1, v)
	}
	// Another address, another venue: counted apart.
	if v := sc.burst(market, "other", "new", now+42); v.reason != "" {
		t.Fatalf("other address held: %v", v)
	}
	if v := sc.burst(venue.Venue{ID: 2}, "addr", "new", now+42); v.reason != "" {
		t.Fatalf("other venue held: %v", v)
	}
	// After the window the first ones have left it.
	if v := sc.burst(market, "addr", "new", now+int64(BurstWindow.Seconds())+5); v.reason != "" {
		t.Fatalf("after the window: %v", v)
	}
	// A venue that declared a larger capacity takes as many.
	big := venue.Venue{ID: 3, Capacity: 200}
	for i := range 200 {
		if v := sc.burst(big, "addr", fmt.Sprint("p", i), now); v.reason != "" {
			t.Fatalf("big market person %d held: %v", i+1, v)
		}
	}
	if v := sc.burst(big, "addr", "one more", now); v.reason != ReasonBurst {
		t.Fatalf("big market person 201: %v", v)
	}
}

// clock is a test's settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func countRows(t *testing.T, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHeldScans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := &clock{time.Now().UTC()}
		f.s.Now = c.now
		lat, lon := 21.0285, 105.8542
		hanoi, err := f.venues.Create(ctx, &auth.Principal{Role: auth.ProvinceAdmin, Unit: "01"},
			venue.Venue{Name: "Chợ Hàng Da", Category: "market", CommuneCode: "00004", Lat: &lat, Lon: &lon})
		if err != nil {
			t.Fatal(err)
		}
		hanoiTok := f.keys.Sign(hanoi.ID, 1)
		r1, err := f.s.Ingest(ctx, Request{ID: "held0000-0001", Token: f.tok, Direction: In, Person: an})
		if err != nil || !r1.Created {
			t.Fatalf("first: %+v %v", r1, err)
		}
		// Ten minutes later in Hà Nội (the market in Bến Lức has no
		// coordinates: other province within 20 minutes).
		c.t = c.t.Add(10 * time.Minute)
		r2, err := f.s.Ingest(ctx, Request{ID: "held0000-0002", Token: hanoiTok, Direction: In, PersonToken: r1.PersonToken})
		if err != nil || !r2.Created || r2.VenueName != "Chợ Hàng Da" || r2.PersonToken != r1.PersonToken {
			t.Fatalf("held scan answered %+v %v, want as accepted", r2, err)
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits"); n != 1 {
			t.Fatalf("%d visits, want the held scan kept out", n)
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits_held WHERE visit_id = 'held0000-0002' AND reason = 'speed' AND commune_code = '00004' AND province_code = '01' AND status = 'held'"); n != 1 {
			t.Fatalf("%d held rows", n)
		}
		// A retry answers as a repeat, like an accepted scan's.
		if r, err := f.s.Ingest(ctx, Request{ID: "held0000-0002", Token: hanoiTok, Direction: In, PersonToken: r1.PersonToken}); err != nil || r.Created {
			t.Fatalf("retry: %+v %v", r, err)
		}
		// The burst rule: typed details from one client address.
		cctx := WithClient(ctx, "203.0.113.9")
		phone := func(i int) *people.Person {
			return &people.Person{Name: "Người quét", Phone: fmt.Sprintf("0977%06d", i), BirthYear: 1990, Commune: "27991"}
		}
		for i := range BurstPeople + 1 {
			if _, err := f.s.Ingest(cctx, Request{ID: fmt.Sprintf("burst000-%04d", i), Token: f.tok, Direction: In, Person: phone(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits_held WHERE reason = 'burst' AND client_hash <> '' AND client_hash <> '203.0.113.9'"); n != 1 {
			t.Fatalf("%d burst holds, want 1", n)
		}
		// Staff scans carry no client address: exempt.
		for i := range BurstPeople + 5 {
			if _, err := f.s.IngestAt(ctx, f.id, Request{ID: fmt.Sprintf("staff000-%04d", i), Direction: In, Person: phone(100 + i)}); err != nil {
				t.Fatal(err)
			}
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits_held"); n != 2 {
			t.Fatalf("%d holds after staff scans, want 2", n)
		}
		// Review: another commune's officer neither sees nor decides it.
		other := &auth.Principal{UserID: 9, Role: auth.CommuneOfficer, Unit: "27991"}
		if list, err := f.s.Held(ctx, other, HeldFilter{}, "test"); err != nil || len(list) != 1 || list[0].Reason != ReasonBurst {
			t.Fatalf("Bến Lức's list: %+v %v", list, err)
		}
		hanoiOfficer := &auth.Principal{UserID: 10, Role: auth.CommuneOfficer, Unit: "00004"}
		list, err := f.s.Held(ctx, hanoiOfficer, HeldFilter{}, "test")
		if err != nil || len(list) != 1 || list[0].Phone == "" || list[0].Phone == an.Phone || list[0].VenueName != "Chợ Hàng Da" {
			t.Fatalf("Hà Nội's list: %+v %v", list, err)
		}
		if err := f.s.Release(ctx, other, list[0].ID); err == nil {
			t.Fatal("another commune released")
		}
		if err := f.s.Release(ctx, hanoiOfficer, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Reject(ctx, hanoiOfficer, list[0].ID); err == nil {
			t.Fatal("decided twice")
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits WHERE id = 'held0000-0002' AND venue_id = $1", hanoi.ID); n != 1 {
			t.Fatal("released scan not in visits")
		}
		if n := countRows(t, db, "SELECT count(*) FROM audit_log WHERE subject = 'visit_held' AND user_id = 10"); n != 1 {
			t.Fatalf("%d audit entries", n)
		}
	})
}

// A retry of a scan whose commit succeeded but whose answer was lost (the
// database went away in between) is a repeat even when the rules would now
// hold it: stored once, in visits, not also in visits_held.
func TestHeldRetryOfStoredScan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := &clock{time.Now().UTC()}
		f.s.Now = c.now
		lat, lon := 21.0285, 105.8542
		hanoi, err := f.venues.Create(ctx, &auth.Principal{Role: auth.ProvinceAdmin, Unit: "01"},
			venue.Venue{Name: "Chợ Hàng Da", Category: "market", CommuneCode: "00004", Lat: &lat, Lon: &lon})
		if err != nil {
			t.Fatal(err)
		}
		r1, err := f.s.Ingest(ctx, Request{ID: "lost0000-0001", Token: f.tok, Direction: In, Person: an})
		if err != nil || !r1.Created {
			t.Fatalf("first: %+v %v", r1, err)
		}
		// The Hà Nội scan committed, its answer lost: written as the writer would.
		c.t = c.t.Add(10 * time.Minute)
		if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in, proof, queued) SELECT 'lost0000-0002', $1, person_id, $2, 0, 0 FROM visits WHERE id = 'lost0000-0001'",
			hanoi.ID, c.t.Unix()); err != nil {
			t.Fatal(err)
		}
		r, err := f.s.Ingest(ctx, Request{ID: "lost0000-0002", Token: f.keys.Sign(hanoi.ID, 1), Direction: In, PersonToken: r1.PersonToken})
		if err != nil || r.Created || r.VenueName != "Chợ Hàng Da" {
			t.Fatalf("retry: %+v %v, want a repeat", r, err)
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits_held"); n != 0 {
			t.Fatalf("%d held rows, want none", n)
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits WHERE id = 'lost0000-0002'"); n != 1 {
			t.Fatalf("%d visits of the scan, want 1", n)
		}
	})
}

// A held scan keeps its evidence grade and queued flag, answers like an
// accepted one (grade included), and a release writes them to visits.
func TestHeldKeepsEvidence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := &clock{time.Now().UTC()}
		f.s.Now = c.now
		hanoi, err := f.venues.Create(ctx, &auth.Principal{Role: auth.ProvinceAdmin, Unit: "01"},
			venue.Venue{Name: "Chợ Hàng Da", Category: "market", CommuneCode: "00004"})
		if err != nil {
			t.Fatal(err)
		}
		r1, err := f.s.Ingest(ctx, Request{ID: "evid0000-0001", Token: f.tok, Direction: In, Person: an})
		if err != nil {
			t.Fatal(err)
		}
		person, _ := f.s.PersonOf(r1.PersonToken)
		// Five minutes later in Hà Nội, proven, sent from the phone's queue
		// with its own time (five minutes ago).
		c.t = c.t.Add(5 * time.Minute)
		when := c.t.Add(-5 * time.Minute)
		r2, err := f.s.Ingest(ctx, Request{ID: "evid0000-0002", Token: f.keys.Sign(hanoi.ID, 1), Direction: In, At: &when,
			PersonToken: r1.PersonToken, ProvenID: person})
		if err != nil || !r2.Created || r2.Proof != PhoneProven || !r2.Queued {
			t.Fatalf("held scan answered %+v %v, want proven and queued like an accepted one", r2, err)
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits_held WHERE visit_id = 'evid0000-0002' AND proof = 1 AND queued = 1"); n != 1 {
			t.Fatal("held row lost its grade or queued flag")
		}
		officer := &auth.Principal{UserID: 10, Role: auth.CommuneOfficer, Unit: "00004"}
		list, err := f.s.Held(ctx, officer, HeldFilter{}, "test")
		if err != nil || len(list) != 1 {
			t.Fatalf("%+v %v", list, err)
		}
		if err := f.s.Release(ctx, officer, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, "SELECT count(*) FROM visits WHERE id = 'evid0000-0002' AND proof = 1 AND queued = 1"); n != 1 {
			t.Fatal("released scan lost its grade or queued flag")
		}
	})
}
