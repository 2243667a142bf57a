// Package tracing finds the contacts of a person over a time window: F1s of an
// F0 from QR check-ins (visits overlapping at the same venue), merged with any
// other Source (Bluetooth), F2 and beyond as bounded background jobs, and the
// venues an F0 exposed. It knows nothing of cases or worklists: internal/cases
// decides whom to trace and what to do with the result.
package tracing

import (
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/venue"
)

// Rules are the settings that decide when two visits at one venue make a
// contact. They are settings, not constants: the Ministry's practice changed
// during 2021 and provinces applied it differently.
type Rules struct {
	// MinOverlap is the least time two stays must share. A pair must share
	// some time (more than zero) even when MinOverlap is zero.
	MinOverlap time.Duration
	// WithinHour applies the national app's alert rule ("same place, within
	// one hour of the F0's scan") to pairs where either stay has no check-out;
	// where both checked out, the real overlap decides.
	WithinHour bool
	// HourWindow is the "one hour" of WithinHour.
	HourWindow time.Duration
	// DefaultStay overrides a venue category's default stay (by category
	// code); it closes a stay that never checked out. StayCap still bounds it.
	DefaultStay map[string]time.Duration
	// FallbackStay closes a stay at a venue of unknown category.
	FallbackStay time.Duration
	// StayCap bounds every stay: a check-out forgotten for days must not make
	// someone a contact of everyone who came later. It also bounds the probe.
	StayCap time.Duration
}

// DefaultRules are the province's settings unless configured otherwise:
// 15 minutes together (WHO's close-contact duration), real overlaps only.
func DefaultRules() Rules {
	return Rules{MinOverlap: 15 * time.Minute, HourWindow: time.Hour, FallbackStay: time.Hour, StayCap: 12 * time.Hour}
}

// Validate reports settings that cannot be applied.
func (r Rules) Validate() error {
	f := errs.Fields{}
	if r.MinOverlap < 0 || r.MinOverlap > 24*time.Hour {
		f.Add("min_overlap", msg.Both("tracing.minimum_overlap_0_to"))
	}
	if r.WithinHour && (r.HourWindow <= 0 || r.HourWindow > 6*time.Hour) {
		f.Add("hour_window", msg.Both("tracing.within_hour_window_1"))
	}
	if r.StayCap < time.Minute || r.StayCap > 48*time.Hour {
		f.Add("stay_cap", msg.Both("tracing.stay_cap_1_minute"))
	}
	if r.FallbackStay <= 0 {
		f.Add("fallback_stay", msg.Both("tracing.fallback_stay_positive"))
	}
	for code, d := range r.DefaultStay {
		if d <= 0 {
			f.Add("default_stay."+code, msg.Both("tracing.default_stay_positive", code))
		}
	}
	return f.Err()
}

// Stay returns how long a stay at a venue of category lasts when it never
// checked out.
func (r Rules) Stay(category string) time.Duration {
	if d, ok := r.DefaultStay[category]; ok {
		return min(d, r.StayCap)
	}
	if c, ok := venue.CategoryOf(category); ok && c.DefaultStay > 0 {
		return min(c.DefaultStay, r.StayCap)
	}
	return min(r.FallbackStay, r.StayCap)
}

// Interval returns the half-open stay [in, out) in Unix seconds of a visit:
// the real check-out when there is one (never before the check-in), else the
// category's default stay, and never longer than StayCap.
func (r Rules) Interval(category string, tIn int64, tOut *int64) (int64, int64) {
	capEnd := tIn + int64(r.StayCap/time.Second)
	if tOut == nil {
		return tIn, min(tIn+int64(r.Stay(category)/time.Second), capEnd)
	}
	return tIn, min(max(*tOut, tIn), capEnd)
}

// Pair decides whether two visits at one venue make a contact and returns the
// time they shared, [from, to): the overlap of the two stays, or, for a pair
// admitted by the within-an-hour rule without overlap, the instant the later
// of the two checked in.
func (r Rules) Pair(category string, aIn int64, aOut *int64, bIn int64, bOut *int64) (ok bool, from, to int64) {
	a0, a1 := r.Interval(category, aIn, aOut)
	b0, b1 := r.Interval(category, bIn, bOut)
	return r.pair(a0, a1, aOut != nil, b0, b1, bOut != nil)
}

// pair is Pair on stays already closed by Interval (a0 and b0 are the
// check-ins), so a probe computes each stay's interval once.
func (r Rules) pair(a0, a1 int64, aOut bool, b0, b1 int64, bOut bool) (ok bool, from, to int64) {
	from, to = max(a0, b0), min(a1, b1)
	overlap := to - from
	if r.WithinHour && (!aOut || !bOut) {
		d := a0 - b0
		if d < 0 {
			d = -d
		}
		if d > int64(r.HourWindow/time.Second) {
			return false, 0, 0
		}
		if overlap <= 0 {
			return true, from, from
		}
		return true, from, to
	}
	if overlap <= 0 || overlap < int64(r.MinOverlap/time.Second) {
		return false, 0, 0
	}
	return true, from, to
}

// probe returns the range of check-in times, inclusive, that may pair with a
// visit [in, out) checked in at tIn: a stay is at most StayCap long, and one
// that starts later than out minus the least overlap shares too little.
func (r Rules) probe(tIn, out int64) (lo, hi int64) {
	lo, hi = tIn-int64(r.StayCap/time.Second), out-max(int64(r.MinOverlap/time.Second), 1)
	if r.WithinHour {
		h := int64(r.HourWindow / time.Second)
		lo, hi = min(lo, tIn-h), max(out, tIn+h)
	}
	return lo, hi
}

// noBound disables the check-out bound of a probe.
const noBound = -1 << 62

// minOut is the earliest real check-out a stay needs to pair with v: it must
// end at least the least overlap after v starts. The within-an-hour rule
// pairs by check-in times alone, so a v without check-out has no bound.
func (r Rules) minOut(v Visit) int64 {
	if r.WithinHour && v.Out == nil {
		return noBound
	}
	return v.In + max(int64(r.MinOverlap/time.Second), 1)
}
