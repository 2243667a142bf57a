package tracing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"anticovid/internal/checkin"
	"anticovid/internal/sqldb"
	"anticovid/internal/venue"
)

// Sources of contacts, as the API reports them.
const (
	SourceQR        = "qr"
	SourceBluetooth = "bluetooth"
)

// Window is a time range [From, To) in which a person could infect others.
type Window struct {
	From, To time.Time
}

// Exposure is one piece of evidence: the traced person's stay and the
// contact's stay at one venue, and the time they shared.
type Exposure struct {
	VenueID    int64     `json:"venue_id"`
	IndexIn    time.Time `json:"index_in"`
	IndexOut   time.Time `json:"index_out"`
	IndexNoOut bool      `json:"index_no_checkout,omitempty"` // IndexOut is the default stay
	OtherIn    time.Time `json:"contact_in"`
	OtherOut   time.Time `json:"contact_out"`
	OtherNoOut bool      `json:"contact_no_checkout,omitempty"`
	From       time.Time `json:"shared_from"`
	To         time.Time `json:"shared_to"`
}

// Contact is one person met at one venue (or, for Bluetooth, anywhere: venue
// 0): the time shared there (the union of every overlapping pair of stays),
// the first and last shared moments, and the pairs as evidence.
type Contact struct {
	PersonID   int64
	Source     string
	VenueID    int64
	Category   string // the venue's category ("" for Bluetooth)
	Vulnerable bool   // hospitals and schools: traced first
	Overlap    time.Duration
	// Proof is the best evidence grade of the contact's stays here
	// (checkin.Unproven, PhoneProven, StaffSeen): automatic messages and
	// quarantine orders go only to proven contacts.
	Proof       int
	FirstShared time.Time
	LastShared  time.Time
	Evidence    []Exposure
}

// Source finds the contacts of a person within a window. QR check-ins are
// one source; the Bluetooth module adds another, and the Engine merges them.
type Source interface {
	Name() string
	Contacts(ctx context.Context, personID int64, w Window) ([]Contact, error)
}

// Engine merges the contacts every source finds.
type Engine struct {
	Sources []Source

	timer atomic.Pointer[Timer] // set by OnTrace (timing.go)
}

// NewEngine returns an engine over QR check-ins with the given rules.
func NewEngine(db *sqldb.DB, r Rules) *Engine {
	return &Engine{Sources: []Source{NewQR(db, r)}}
}

// QR returns the engine's QR source, or nil.
func (e *Engine) QR() *QR {
	for _, s := range e.Sources {
		if q, ok := s.(*QR); ok {
			return q
		}
	}
	return nil
}

// Contacts returns the contacts of personID in w from every source, ordered
// most urgent first (vulnerable places, then longest overlap).
func (e *Engine) Contacts(ctx context.Context, personID int64, w Window) ([]Contact, error) {
	if len(e.Sources) == 0 {
		return nil, nil
	}
	var out []Contact
	for _, s := range e.Sources {
		cs, err := s.Contacts(ctx, personID, w)
		if err != nil {
			return nil, fmt.Errorf("contacts from %s: %w", s.Name(), err)
		}
		out = append(out, cs...)
	}
	if _, onlyQR := e.Sources[0].(*QR); len(e.Sources) > 1 || !onlyQR {
		Sort(out) // the QR source's list alone is in order already
	}
	return out, nil
}

// Sort orders contacts most urgent first: vulnerable places, longest
// overlap, then by person and venue so the order is stable. A busy F0 has
// tens of thousands of contacts: small keys are sorted, not the large structs.
func Sort(cs []Contact) {
	// rank packs the first two criteria into one word: vulnerable first
	// (bit 62 clear), then the longer overlap (a smaller complement). A
	// small key, compared with early returns, sorts 2× faster than the
	// former one with the source string in it (the sort was 14% of a
	// province trace); the source is compared only on a full tie.
	type key struct {
		rank            uint64
		person, venueID int64
		i               int
	}
	keys := make([]key, len(cs))
	for i := range cs {
		c := &cs[i]
		rank := uint64(1<<62-1) - uint64(max(c.Overlap, 0)) // an overlap is far below 2^62 ns (146 years)
		if !c.Vulnerable {
			rank |= 1 << 62
		}
		keys[i] = key{rank, c.PersonID, c.VenueID, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.rank != b.rank:
			return cmp.Compare(a.rank, b.rank)
		case a.person != b.person:
			return cmp.Compare(a.person, b.person)
		case a.venueID != b.venueID:
			return cmp.Compare(a.venueID, b.venueID)
		}
		return strings.Compare(cs[a.i].Source, cs[b.i].Source)
	})
	sorted := make([]Contact, len(cs))
	for k, x := range keys {
		sorted[k] = cs[x.i]
	}
	copy(cs, sorted)
}

// QR finds contacts from check-ins: every other person whose stay at a venue
// the traced person visited in the window overlapped theirs, by the Rules.
type QR struct {
	DB *sqldb.DB
	// Probe replaces the probe's SQL (for comparing indexes): it must return
	// person_id, t_in, t_out, proof of the visits at venue $1 with t_in in [$2, $3]
	// and t_out NULL or at least $4. Empty: the range read on the covering
	// B-tree index, and long stays from the partial index.
	Probe string

	rules  atomic.Pointer[Rules] // changed at run time by the province's settings
	probes *probes               // shared with the sources Expand derives
}

// probes keeps the venue probes prepared on the reader pool, by their SQL
// (QR.Probe), for every trace to reuse: prepared again for each trace they
// cost 8% of a province trace's CPU.
type probes struct {
	mu    sync.Mutex
	bySQL map[string]*checkin.VenueProbe
	cats  *venue.CategoryReader
}

// NewQR returns the QR source with rules.
func NewQR(db *sqldb.DB, r Rules) *QR {
	q := &QR{DB: db, probes: &probes{bySQL: map[string]*checkin.VenueProbe{}}}
	q.rules.Store(&r)
	return q
}

// derive returns a QR source on the same database, probe and prepared
// statements, with other rules.
func (q *QR) derive(r Rules) *QR {
	nq := NewQR(q.DB, r)
	nq.Probe, nq.probes = q.Probe, q.probes
	return nq
}

// venueProbe returns the probe prepared for q.Probe, preparing it on first
// use. The statements live as long as the database: a QR source lives as
// long as the server.
func (q *QR) venueProbe(ctx context.Context) (*checkin.VenueProbe, error) {
	if q.probes == nil {
		return nil, fmt.Errorf("tracing: a QR source is made by NewQR")
	}
	q.probes.mu.Lock()
	defer q.probes.mu.Unlock()
	if p := q.probes.bySQL[q.Probe]; p != nil {
		return p, nil
	}
	p, err := checkin.PrepareVenueProbe(ctx, q.DB, q.Probe)
	if err != nil {
		return nil, err
	}
	q.probes.bySQL[q.Probe] = p
	return p, nil
}

// categories returns the venue category reader, preparing it on first use.
func (q *QR) categories(ctx context.Context) (*venue.CategoryReader, error) {
	if q.probes == nil {
		return nil, fmt.Errorf("tracing: a QR source is made by NewQR")
	}
	q.probes.mu.Lock()
	defer q.probes.mu.Unlock()
	if q.probes.cats == nil {
		c, err := venue.PrepareCategoryReader(ctx, q.DB)
		if err != nil {
			return nil, err
		}
		q.probes.cats = c
	}
	return q.probes.cats, nil
}

// Rules returns the rules in force.
func (q *QR) Rules() Rules { return *q.rules.Load() }

// SetRules replaces the rules for every trace that starts afterwards.
func (q *QR) SetRules(r Rules) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("tracing rules: %w", err)
	}
	q.rules.Store(&r)
	return nil
}

// Name is the source's identifier in results.
func (q *QR) Name() string { return SourceQR }

// Visit is one stay of the traced person.
type Visit struct {
	VenueID  int64
	Category string
	In       int64
	Out      *int64
}

// Visits returns the stays of personID checked in within w, oldest first,
// with each venue's category. The check-in package owns the stays and the
// venue package the categories: indexed reads on statements prepared once.
func (q *QR) Visits(ctx context.Context, personID int64, w Window) ([]Visit, error) {
	probe, err := q.venueProbe(ctx)
	if err != nil {
		return nil, fmt.Errorf("visits of %d: %w", personID, err)
	}
	stays, err := probe.StaysOf(ctx, personID, w.From.Unix(), w.To.Unix())
	if err != nil || len(stays) == 0 {
		return nil, err
	}
	ids := make([]int64, 0, len(stays))
	for _, st := range stays {
		ids = append(ids, st.VenueID)
	}
	cats, err := q.categories(ctx)
	if err != nil {
		return nil, fmt.Errorf("visits of %d: %w", personID, err)
	}
	category, err := cats.Categories(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("visits of %d: %w", personID, err)
	}
	out := make([]Visit, len(stays))
	for i, st := range stays {
		out[i] = Visit{VenueID: st.VenueID, Category: category[st.VenueID], In: st.In, Out: st.Out}
	}
	return out, nil
}

// Contacts implements Source.
func (q *QR) Contacts(ctx context.Context, personID int64, w Window) ([]Contact, error) {
	visits, err := q.Visits(ctx, personID, w)
	if err != nil {
		return nil, err
	}
	return q.ContactsOf(ctx, personID, visits)
}

type pairKey struct{ person, venue int64 }

type span struct{ from, to int64 }

type agg struct {
	category string
	proof    int
	spans    []span
	evidence []Exposure
}

// ContactsOf finds the contacts of personID's stays. Stays at one venue are
// probed together: their probe ranges are merged so no index entry is read
// twice, on statements prepared once (venueProbe).
func (q *QR) ContactsOf(ctx context.Context, personID int64, visits []Visit) ([]Contact, error) {
	if len(visits) == 0 {
		return nil, nil
	}
	r := q.Rules()
	byVenue := map[int64][]Visit{}
	var order []int64
	for _, v := range visits {
		if _, ok := byVenue[v.VenueID]; !ok {
			order = append(order, v.VenueID)
		}
		byVenue[v.VenueID] = append(byVenue[v.VenueID], v)
	}
	probe, err := q.venueProbe(ctx)
	if err != nil {
		return nil, fmt.Errorf("contacts of %d: %w", personID, err)
	}
	// Venues are probed in parallel, a few at a time: a busy F0's trace
	// reads tens of thousands of index entries, and a tracer waits for it.
	// Each worker has its own map: a (person, venue) key is one venue's, so
	// the maps never share a key.
	workers := min(max(runtime.GOMAXPROCS(0), 1), 4, len(order))
	founds := make([]map[pairKey]*agg, workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		founds[w] = map[pairKey]*agg{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(order) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := probeVenue(ctx, probe, r, personID, order[i], byVenue[order[i]], founds[w]); err != nil {
					errs[w] = fmt.Errorf("contacts of %d at venue %d: %w", personID, order[i], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := cmp.Or(errors.Join(errs...), ctx.Err()); err != nil {
		return nil, err
	}
	n := 0
	for _, f := range founds {
		n += len(f)
	}
	out := make([]Contact, 0, n)
	for _, found := range founds {
		out = appendContacts(out, found)
	}
	Sort(out)
	return out, nil
}

// probeVenue finds the contacts of the traced person's stays vs at one venue.
func probeVenue(ctx context.Context, probe *checkin.VenueProbe, r Rules, personID, venueID int64, vs []Visit, found map[pairKey]*agg) error {
	split := probe.Split() // a replaced probe reads the whole range itself
	var near, far []probeSpan
	for _, v := range vs {
		_, b := r.Interval(v.Category, v.In, v.Out)
		lo, hi := r.probe(v.In, b)
		if hi < v.In {
			continue // a stay shorter than the least overlap shares too little with anyone
		}
		minOut := r.minOut(v)
		if !split {
			near = append(near, probeSpan{lo, hi, minOut})
			continue
		}
		// Near: every visit whose stay can reach this one when short
		// (or closed by the default stay); far: long stays only.
		nearLo := v.In - max(checkin.LongStay, int64(r.Stay(v.Category)/time.Second))
		if r.WithinHour {
			nearLo = min(nearLo, v.In-int64(r.HourWindow/time.Second))
		}
		near = append(near, probeSpan{max(lo, nearLo), hi, minOut})
		if lo < nearLo {
			far = append(far, probeSpan{lo, nearLo - 1, minOut})
		}
	}
	near, far = mergeSpans(near), mergeSpans(far)
	for _, g := range near {
		if err := probeRange(ctx, probe.Stays, r, personID, venueID, vs, g, nil, found); err != nil {
			return err
		}
	}
	for _, g := range far {
		if err := probeRange(ctx, probe.LongStays, r, personID, venueID, vs, g, near, found); err != nil {
			return err
		}
	}
	return nil
}

// appendContacts appends the contacts a probe found, each with its time
// shared (the union of its pairs' spans) and its evidence in time order.
func appendContacts(out []Contact, found map[pairKey]*agg) []Contact {
	for k, a := range found {
		c := Contact{PersonID: k.person, Source: SourceQR, VenueID: k.venue, Category: a.category, Proof: a.proof, Evidence: a.evidence}
		if cat, ok := venue.CategoryOf(a.category); ok {
			c.Vulnerable = cat.Vulnerable
		}
		slices.SortFunc(a.spans, func(x, y span) int { return cmp.Or(cmp.Compare(x.from, y.from), cmp.Compare(x.to, y.to)) })
		first, last := a.spans[0].from, a.spans[0].to
		var total, curFrom, curTo int64 = 0, a.spans[0].from, a.spans[0].to
		for _, s := range a.spans[1:] {
			last = max(last, s.to)
			if s.from <= curTo {
				curTo = max(curTo, s.to)
				continue
			}
			total += curTo - curFrom
			curFrom, curTo = s.from, s.to
		}
		total += curTo - curFrom
		c.Overlap = time.Duration(total) * time.Second
		c.FirstShared, c.LastShared = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		slices.SortFunc(c.Evidence, func(x, y Exposure) int {
			return cmp.Or(x.From.Compare(y.From), x.IndexIn.Compare(y.IndexIn), x.OtherIn.Compare(y.OtherIn))
		})
		out = append(out, c)
	}
	return out
}

// probeSpan is a range of check-in times to read, inclusive, and the
// earliest check-out a stay read there needs to matter.
type probeSpan struct{ lo, hi, minOut int64 }

// mergeSpans sorts ranges and joins those that touch, keeping the earlier
// check-out bound of the two.
func mergeSpans(in []probeSpan) []probeSpan {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b probeSpan) int { return cmp.Compare(a.lo, b.lo) })
	out := in[:1]
	for _, g := range in[1:] {
		last := &out[len(out)-1]
		if g.lo <= last.hi+1 {
			last.hi, last.minOut = max(last.hi, g.hi), min(last.minOut, g.minOut)
		} else {
			out = append(out, g)
		}
	}
	return out
}

// within reports whether t lies in one of the sorted, disjoint ranges.
func within(rs []probeSpan, t int64) bool {
	i, _ := slices.BinarySearchFunc(rs, t, func(s probeSpan, t int64) int { return cmp.Compare(s.lo, t) })
	// rs[i-1] is the last range starting before t (or rs[i] starts at t).
	if i < len(rs) && rs[i].lo == t {
		return true
	}
	return i > 0 && t <= rs[i-1].hi
}

// probeRange reads the visits at venueID checked in within g and pairs
// each with the traced person's stays there. Visits whose check-in lies in
// skip were read already (by the near probe).
func probeRange(ctx context.Context, read stayReader, r Rules, personID, venueID int64, vs []Visit, g probeSpan, skip []probeSpan, found map[pairKey]*agg) error {
	// The traced person's stays here, closed once (one venue: one category).
	type stay struct{ in, out int64 }
	mine := make([]stay, len(vs))
	for i, v := range vs {
		mine[i].in, mine[i].out = r.Interval(v.Category, v.In, v.Out)
	}
	category := vs[0].Category
	return read(ctx, venueID, g.lo, g.hi, g.minOut, func(other, tIn, tOut int64, hasOut bool, proof int) {
		if other == personID || (skip != nil && within(skip, tIn)) {
			return
		}
		var outp *int64
		if hasOut {
			outp = &tOut
		}
		oa, ob := r.Interval(category, tIn, outp)
		for i, v := range vs {
			ok, from, to := r.pair(mine[i].in, mine[i].out, v.Out != nil, oa, ob, hasOut)
			if !ok {
				continue
			}
			k := pairKey{other, venueID}
			a := found[k]
			if a == nil {
				a = &agg{category: category}
				found[k] = a
			}
			a.proof = max(a.proof, proof)
			a.spans = append(a.spans, span{from, to})
			a.evidence = append(a.evidence, Exposure{VenueID: venueID,
				IndexIn: unix(mine[i].in), IndexOut: unix(mine[i].out), IndexNoOut: v.Out == nil,
				OtherIn: unix(oa), OtherOut: unix(ob), OtherNoOut: !hasOut,
				From: unix(from), To: unix(to)})
		}
	})
}

// stayReader is one of checkin.VenueProbe's reads.
type stayReader func(ctx context.Context, venueID, lo, hi, minOut int64, fn checkin.StayFunc) error

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }
