package tracing

import (
	"anticovid/internal/checkin"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/venue"
)

// testVisit is one generated stay, in seconds since the dataset's start.
type testVisit struct {
	id            string
	venue, person int64
	in            int64
	out           int64
	noOut         bool // never checked out
}

type dataset struct {
	venues map[int64]string // id → category
	visits []testVisit
}

const base = int64(1_627_776_000) // 2021-08-01T00:00:00Z

var testCategories = []string{"market", "hospital", "factory", "shop", "restaurant", "unknown_cat"}

// randomDataset makes a few venues and people with visits over six hours to
// three days, crowded enough that many pairs overlap, with missing
// check-outs, stays longer than any cap, stays just either side of the
// long-stay index's hour, zero-length stays and check-outs before check-ins.
// Times fall on a grid of a second, a minute or 15 minutes, so stays meet
// exactly at the rules' boundaries (the threshold, the hour, the cap).
func randomDataset(rng *rand.Rand) dataset {
	d := dataset{venues: map[int64]string{}}
	nv := 1 + rng.IntN(4)
	for i := range nv {
		d.venues[int64(i+1)] = testCategories[rng.IntN(len(testCategories))]
	}
	np := 2 + rng.IntN(12)
	n := rng.IntN(70)
	grid := []int64{1, 60, 900}[rng.IntN(3)]
	span := []int64{6 * 3600, 24 * 3600, 72 * 3600}[rng.IntN(3)]
	snap := func(x int64) int64 { return x / grid * grid }
	for i := range n {
		v := testVisit{id: fmt.Sprintf("v%d", i), venue: int64(1 + rng.IntN(nv)), person: int64(1 + rng.IntN(np))}
		v.in = snap(rng.Int64N(span))
		switch k := rng.IntN(10); {
		case k < 3:
			v.noOut = true
		case k == 3:
			v.out = v.in // zero-length
		case k == 4:
			v.out = v.in - rng.Int64N(1800) // bad clock: check-out before check-in
		case k == 5:
			v.out = v.in + rng.Int64N(30*3600) // up to 30 hours: past every cap
		case k == 6:
			v.out = v.in + 3600 + snap(rng.Int64N(3600)) - []int64{0, 1, grid}[rng.IntN(3)] // about an hour, either side
		default:
			v.out = v.in + snap(rng.Int64N(4*3600))
		}
		d.visits = append(d.visits, v)
	}
	return d
}

func load(t *testing.T, db *sqldb.DB, d dataset) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{"DELETE FROM visits", "DELETE FROM venues"} {
		if _, err := db.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for id, cat := range d.venues {
		if _, err := db.W.ExecContext(ctx, `INSERT INTO venues (id, name, category, commune_code, district_code, province_code, status, created_at)
			VALUES ($1, $2, $3, '27991', '803', '80', 'approved', 0)`, id, fmt.Sprintf("Venue %d", id), cat); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range d.visits {
		var out any
		if !v.noOut {
			out = base + v.out
		}
		if _, err := db.W.ExecContext(ctx, "INSERT INTO visits (id, venue_id, person_id, t_in, t_out) VALUES ($1, $2, $3, $4, $5)",
			v.id, v.venue, v.person, base+v.in, out); err != nil {
			t.Fatal(err)
		}
	}
}

// oracleContact is what the brute force finds for one (person, venue).
type oracleContact struct {
	overlap     int64 // seconds
	first, last int64
	pairs       int
}

// oracle compares every stay of the index person in the window with every
// other stay at the same venue, written straight from the rules' wording
// (no probe ranges, no index), and measures the time shared by cutting the
// timeline at every endpoint and keeping the pieces some pair covers.
func oracle(d dataset, r Rules, person int64, from, to int64) map[pairKey]oracleContact {
	staySec := func(cat string) int64 {
		var s time.Duration
		if o, ok := r.DefaultStay[cat]; ok {
			s = o
		} else if c, ok := venue.CategoryOf(cat); ok {
			s = c.DefaultStay
		} else {
			s = r.FallbackStay
		}
		return int64(min(s, r.StayCap) / time.Second)
	}
	capSec := int64(r.StayCap / time.Second)
	end := func(v testVisit) int64 {
		if v.noOut {
			return v.in + staySec(d.venues[v.venue])
		}
		e := v.out
		if e < v.in {
			e = v.in
		}
		if e > v.in+capSec {
			e = v.in + capSec
		}
		return e
	}
	type acc struct {
		spans       [][2]int64
		first, last int64
		pairs       int
	}
	accs := map[pairKey]*acc{}
	for _, f := range d.visits {
		if f.person != person || f.in < from || f.in >= to {
			continue
		}
		for _, c := range d.visits {
			if c.venue != f.venue || c.person == person {
				continue
			}
			s, e := max(f.in, c.in), min(end(f), end(c))
			var match bool
			if r.WithinHour && (f.noOut || c.noOut) {
				gap := f.in - c.in
				if gap < 0 {
					gap = -gap
				}
				match = gap <= int64(r.HourWindow/time.Second)
				if match && e <= s {
					e = s
				}
			} else {
				match = e > s && e-s >= int64(r.MinOverlap/time.Second)
			}
			if !match {
				continue
			}
			k := pairKey{c.person, c.venue}
			a := accs[k]
			if a == nil {
				a = &acc{first: s, last: e}
				accs[k] = a
			}
			a.spans = append(a.spans, [2]int64{s, e})
			a.first, a.last = min(a.first, s), max(a.last, e)
			a.pairs++
		}
	}
	out := map[pairKey]oracleContact{}
	for k, a := range accs {
		var cuts []int64
		for _, sp := range a.spans {
			cuts = append(cuts, sp[0], sp[1])
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
		var covered int64
		for i := 0; i+1 < len(cuts); i++ {
			for _, sp := range a.spans {
				if sp[0] <= cuts[i] && cuts[i+1] <= sp[1] {
					covered += cuts[i+1] - cuts[i]
					break
				}
			}
		}
		out[k] = oracleContact{overlap: covered, first: a.first, last: a.last, pairs: a.pairs}
	}
	return out
}

// ruleSettings is every combination the property test covers.
func ruleSettings() []Rules {
	var out []Rules
	for _, minOverlap := range []time.Duration{0, 15 * time.Minute, 60 * time.Minute} {
		for _, within := range []bool{false, true} {
			for _, stays := range []map[string]time.Duration{nil, {"market": 3 * time.Hour, "factory": 20 * time.Minute}} {
				for _, capH := range []time.Duration{12 * time.Hour, 2 * time.Hour} {
					r := DefaultRules()
					r.MinOverlap, r.WithinHour, r.DefaultStay, r.StayCap = minOverlap, within, stays, capH
					if within {
						r.HourWindow = []time.Duration{time.Hour, 30 * time.Minute}[len(out)%2]
					}
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// TestEngineMatchesOracle: on random small datasets, for every rule setting,
// the engine's contacts (probe ranges over the covering index) equal the
// brute force's, on both database engines.
func TestEngineMatchesOracle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(2021, 7))
		datasets, nonEmpty := 40, 0
		if db.Engine == sqldb.Postgres {
			datasets = 25 // each reload is slower there; the settings still all run
		}
		for i := range datasets {
			d := randomDataset(rng)
			load(t, db, d)
			for ri, r := range ruleSettings() {
				if err := r.Validate(); err != nil {
					t.Fatalf("rules %d invalid: %v", ri, err)
				}
				split := NewQR(db, r)
				whole := NewQR(db, r) // one range per stay, as a replaced probe reads it
				whole.Probe = wholeProbe
				for person := int64(1); person <= 4; person++ {
					q := split
					if person%2 == 0 {
						q = whole
					}
					from := rng.Int64N(2 * 24 * 3600)
					to := from + rng.Int64N(2*24*3600)
					if rng.IntN(4) == 0 {
						from, to = 0, 4*24*3600 // everything
					}
					want := oracle(d, r, person, from, to)
					got, err := q.Contacts(ctx, person, Window{From: time.Unix(base+from, 0), To: time.Unix(base+to, 0)})
					if err != nil {
						t.Fatal(err)
					}
					if len(want) > 0 {
						nonEmpty++
					}
					label := fmt.Sprintf("dataset %d rules %d %+v person %d window [%d,%d)", i, ri, r, person, from, to)
					if len(got) != len(want) {
						t.Fatalf("%s: %d contacts, oracle %d\n got %v\nwant %v", label, len(got), len(want), got, want)
					}
					for _, c := range got {
						w, ok := want[pairKey{c.PersonID, c.VenueID}]
						if !ok {
							t.Fatalf("%s: contact %d at %d not in oracle", label, c.PersonID, c.VenueID)
						}
						if c.Source != SourceQR || c.Overlap != time.Duration(w.overlap)*time.Second ||
							c.FirstShared.Unix() != base+w.first || c.LastShared.Unix() != base+w.last || len(c.Evidence) != w.pairs {
							t.Fatalf("%s: contact %d at %d: overlap %v first %v last %v pairs %d; oracle %d s, %d, %d, %d pairs",
								label, c.PersonID, c.VenueID, c.Overlap, c.FirstShared.Unix()-base, c.LastShared.Unix()-base, len(c.Evidence),
								w.overlap, w.first, w.last, w.pairs)
						}
						if c.PersonID == person {
							t.Fatalf("%s: the traced person is their own contact", label)
						}
					}
					// Most urgent first: vulnerable places, then longest overlap.
					if !slices.IsSortedFunc(got, func(a, b Contact) int {
						if a.Vulnerable != b.Vulnerable {
							if a.Vulnerable {
								return -1
							}
							return 1
						}
						return int(b.Overlap - a.Overlap)
					}) {
						t.Fatalf("%s: contacts not in priority order", label)
					}
				}
			}
		}
		if nonEmpty < 100 {
			t.Fatalf("only %d traces found any contact: the datasets are too sparse to test anything", nonEmpty)
		}
	})
}

// TestRecentCheckinCounts: a check-in recorded a moment ago, with no
// check-out yet, is a contact at once (the default stay covers it).
func TestRecentCheckinCounts(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	now := time.Now().Unix()
	d := dataset{venues: map[int64]string{1: "market"}}
	load(t, db, d)
	for _, v := range []struct {
		id     string
		person int64
		in     int64
	}{{"f0", 1, now - 600}, {"new", 2, now - 1}} {
		if _, err := db.W.ExecContext(ctx, "INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ($1, 1, $2, $3)", v.id, v.person, v.in); err != nil {
			t.Fatal(err)
		}
	}
	r := DefaultRules()
	r.MinOverlap = 0
	got, err := NewEngine(db, r).Contacts(ctx, 1, Window{From: time.Unix(now-3600, 0), To: time.Unix(now+1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PersonID != 2 || got[0].Source != "qr" {
		t.Fatalf("contacts %+v, want person 2 from qr", got)
	}
}

// fakeBluetooth stands in for the Bluetooth module behind the Source seam.
type fakeBluetooth struct{ contacts []Contact }

func (f fakeBluetooth) Name() string { return SourceBluetooth }
func (f fakeBluetooth) Contacts(context.Context, int64, Window) ([]Contact, error) {
	return f.contacts, nil
}

// TestSourcesMerge: the engine returns QR and Bluetooth contacts together,
// each with its source.
func TestSourcesMerge(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	load(t, db, dataset{venues: map[int64]string{1: "hospital"}, visits: []testVisit{
		{id: "a", venue: 1, person: 1, in: 0, out: 3600}, {id: "b", venue: 1, person: 2, in: 600, out: 3000},
	}})
	e := NewEngine(db, DefaultRules())
	e.Sources = append(e.Sources, fakeBluetooth{[]Contact{{PersonID: 3, Source: SourceBluetooth, Overlap: time.Hour}}})
	got, err := e.Contacts(ctx, 1, Window{From: time.Unix(base, 0), To: time.Unix(base+3600, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].PersonID != 2 || got[0].Source != SourceQR || !got[0].Vulnerable || got[1].Source != SourceBluetooth {
		t.Fatalf("merged contacts %+v", got)
	}
	if got[0].Overlap != 40*time.Minute || len(got[0].Evidence) != 1 || got[0].Evidence[0].IndexOut.Unix() != base+3600 {
		t.Fatalf("QR contact %+v", got[0])
	}
	// Trace (what cases and serve --demo call) asks the other sources too:
	// it used to call them through a nil *QR and panic.
	w := Window{From: time.Unix(base, 0), To: time.Unix(base+3600, 0)}
	tr, err := e.Trace(ctx, 1, w)
	if err != nil || len(tr.Contacts) != 2 || tr.Contacts[1].Source != SourceBluetooth {
		t.Fatalf("trace with two sources: %+v %v", tr, err)
	}
	// The grade comes from the stay's row (the covering index), best first.
	if tr.Contacts[0].Proof != checkin.Unproven {
		t.Errorf("unproven stay traced with proof %d", tr.Contacts[0].Proof)
	}
	if _, err := db.W.Exec("UPDATE visits SET proof = $1 WHERE id = 'b'", checkin.StaffSeen); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Contacts(ctx, 1, w); err != nil || got[0].Proof != checkin.StaffSeen {
		t.Errorf("proven stay: %+v %v", got, err)
	}
}

// TestExpandBounds: seeds are taken most urgent first (vulnerable places,
// then the longest overlap), each keeps at most CapPerSeed contacts of at
// least MinOverlap, nobody excluded or already found comes twice, and the
// expansion stops at MaxTotal, reporting its progress.
func TestExpandBounds(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	const (
		a, b, c            = 1, 2, 3 // seeds (F1s)
		a1, a2, a3, b1, b2 = 11, 12, 13, 21, 22
		c1, x              = 31, 99 // x is excluded (the F0's own F1)
	)
	h := int64(3600)
	d := dataset{venues: map[int64]string{1: "market", 2: "market", 3: "market"}, visits: []testVisit{
		{id: "a", venue: 1, person: a, in: h, out: 3 * h},
		{id: "a1", venue: 1, person: a1, in: h, out: h + 40*60},
		{id: "a2", venue: 1, person: a2, in: h, out: h + 35*60},
		{id: "a3", venue: 1, person: a3, in: h, out: h + 31*60},
		{id: "b", venue: 2, person: b, in: h, out: 3 * h},
		{id: "b-a1", venue: 2, person: a1, in: h, out: h + 50*60},
		{id: "bx", venue: 2, person: x, in: h, out: 3 * h},
		{id: "b1", venue: 2, person: b1, in: h, out: h + 45*60},
		{id: "b2", venue: 2, person: b2, in: h, out: h + 44*60},
		{id: "c", venue: 3, person: c, in: h, out: 3 * h},
		{id: "c1", venue: 3, person: c1, in: h, out: h + 20*60},
	}}
	load(t, db, d)
	e := NewEngine(db, DefaultRules())
	seeds := []Seed{
		{PersonID: c, Exposed: time.Unix(base, 0), Overlap: 30 * time.Minute},
		{PersonID: b, Exposed: time.Unix(base, 0), Overlap: 60 * time.Minute},
		{PersonID: a, Exposed: time.Unix(base, 0), Overlap: 10 * time.Minute, Vulnerable: true},
	}
	var calls []int
	got, err := e.Expand(ctx, seeds, Bounds{MaxSeeds: 3, CapPerSeed: 2, MaxTotal: 4, MinOverlap: 30 * time.Minute, Days: 2},
		map[int64]bool{x: true}, time.Unix(base+48*h, 0), func(done, total, found int) { calls = append(calls, done) })
	if err != nil {
		t.Fatal(err)
	}
	var ids, via []int64
	for _, f := range got {
		ids, via = append(ids, f.PersonID), append(via, f.Via)
	}
	if !slices.Equal(ids, []int64{a1, a2, b1, b2}) || !slices.Equal(via, []int64{a, a, b, b}) {
		t.Fatalf("found %v via %v, want [11 12 21 22] via [1 1 2 2]", ids, via)
	}
	if len(calls) == 0 || calls[len(calls)-1] < 2 {
		t.Errorf("progress calls %v", calls)
	}
	// MaxSeeds 1: only the most urgent seed is expanded.
	got, _ = e.Expand(ctx, seeds, Bounds{MaxSeeds: 1, CapPerSeed: 10, MaxTotal: 100, MinOverlap: 30 * time.Minute, Days: 2}, nil, time.Unix(base+48*h, 0), nil)
	if len(got) != 3 || got[0].Via != a {
		t.Errorf("one seed: %+v", got)
	}
}

// wholeProbe is the check-in package's covering-index probe given as a
// replaced probe, which reads every range whole (no long-stay split).
const wholeProbe = `SELECT person_id, t_in, t_out, proof FROM visits WHERE venue_id = $1 AND t_in >= $2 AND t_in <= $3
	AND (t_out IS NULL OR t_out >= $4)`
