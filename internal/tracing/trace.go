package tracing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"anticovid/internal/checkin"
)

// Trace is one run of the engine for a person: their stays in the window
// (QR check-ins), the contacts every source found, and the rules in force,
// so what is derived from it later (Exposed) agrees with the contacts.
type Trace struct {
	Window   Window
	Visits   []Visit
	Contacts []Contact // one per (person, venue, source), most urgent first
	rules    Rules
}

// Trace finds personID's stays and contacts in w. The QR source reuses the
// stays it read instead of reading them again.
func (e *Engine) Trace(ctx context.Context, personID int64, w Window) (*Trace, error) {
	defer e.timed("f1", time.Now())
	t := &Trace{Window: w, rules: DefaultRules()}
	q := e.QR()
	if q != nil {
		t.rules = q.Rules()
		var err error
		if t.Visits, err = q.Visits(ctx, personID, w); err != nil {
			return nil, err
		}
	}
	for _, s := range e.Sources {
		var cs []Contact
		var err error
		// (qs, not s: a name declared here would shadow s in the else branch
		// too, as a nil *QR for every other source.)
		if qs, ok := s.(*QR); ok && qs == q {
			cs, err = q.ContactsOf(ctx, personID, t.Visits)
		} else {
			cs, err = s.Contacts(ctx, personID, w)
		}
		if err != nil {
			return nil, fmt.Errorf("contacts from %s: %w", s.Name(), err)
		}
		t.Contacts = append(t.Contacts, cs...)
	}
	if len(e.Sources) > 1 || q == nil {
		Sort(t.Contacts) // the QR source's list alone is in order already
	}
	return t, nil
}

// Exposed is one venue the traced person exposed, and when.
type Exposed struct {
	VenueID  int64
	From, To int64 // Unix seconds
}

// Exposed returns the traced person's stays by the trace's rules, ending at
// the latest by end (isolation, or now: a stay without check-out, closed by
// the default stay, must not reach into the future on the public map), stays
// at one venue that touch merged into one range; by venue, then time.
func (t *Trace) Exposed(end int64) []Exposed {
	var out []Exposed
	for _, v := range t.Visits {
		a, b := t.rules.Interval(v.Category, v.In, v.Out)
		if a >= end {
			continue
		}
		out = append(out, Exposed{v.VenueID, a, min(b, end)})
	}
	slices.SortFunc(out, func(x, y Exposed) int {
		return cmp.Or(cmp.Compare(x.VenueID, y.VenueID), cmp.Compare(x.From, y.From))
	})
	var merged []Exposed
	for _, e := range out {
		if n := len(merged); n > 0 && merged[n-1].VenueID == e.VenueID && e.From <= merged[n-1].To {
			merged[n-1].To = max(merged[n-1].To, e.To)
			continue
		}
		merged = append(merged, e)
	}
	return merged
}

// VenueVisitors returns everyone but exclude whose stay at venueID (of
// category) shared any time with [from, to), by the rules' stays with no
// least overlap: the people told to watch their health after an F0 was
// there. Each person appears once. Only proven stays count: the message goes
// out in bulk, and a typed phone number must not bring it to a stranger.
// Without a QR source there are none.
func (e *Engine) VenueVisitors(ctx context.Context, venueID int64, category string, from, to time.Time, exclude int64) ([]int64, error) {
	q := e.QR()
	if q == nil {
		return nil, nil
	}
	r := q.Rules()
	r.MinOverlap, r.WithinHour = 0, false
	lo := from.Unix() - int64(r.StayCap/time.Second)
	probe, err := checkin.OpenVenueProbe(ctx, q.DB, "")
	if err != nil {
		return nil, fmt.Errorf("venue visitors: %w", err)
	}
	defer probe.Close()
	var out []int64
	seen := map[int64]bool{}
	// minOut 0: every stay checked in within the range, as check-outs are Unix times.
	err = probe.Stays(ctx, venueID, lo, to.Unix(), 0, func(person, tIn, tOut int64, hasOut bool, proof int) {
		if person == exclude || seen[person] || proof < checkin.PhoneProven {
			return
		}
		var stayOut *int64
		if hasOut {
			stayOut = &tOut
		}
		if a, b := r.Interval(category, tIn, stayOut); b <= from.Unix() || a >= to.Unix() {
			return
		}
		seen[person] = true
		out = append(out, person)
	})
	if err != nil {
		return nil, fmt.Errorf("venue visitors: %w", err)
	}
	return out, nil
}
