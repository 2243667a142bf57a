package checkin

import "sync/atomic"

// outcomes count the scans this server took: recorded at once, held for the
// commune's review (implausible), or refused (bad input, unknown venue, time
// rules, a full queue). Monitoring reads them through Outcomes.
type outcomes struct {
	accepted, held, refused atomic.Int64
}

func (o *outcomes) count(held bool, err error) {
	switch {
	case err != nil:
		o.refused.Add(1)
	case held:
		o.held.Add(1)
	default:
		o.accepted.Add(1)
	}
}

// Outcomes reports how many scans this server accepted, held for review
// and refused since it started (counters for /metrics).
func (s *Service) Outcomes() (accepted, held, refused int64) {
	return s.outcomes.accepted.Load(), s.outcomes.held.Load(), s.outcomes.refused.Load()
}
