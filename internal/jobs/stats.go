package jobs

import (
	"slices"
	"sync"
	"time"
)

// Stats counts each background job's runs on this server, for monitoring:
// runs, failures, the time of the last success, and the job's interval, so
// an alert can tell a stuck job (no success for a few intervals on any
// server) from a slow one. Only the server that ran a job reports it: a
// monitor takes the newest success across servers.
type Stats struct {
	mu   sync.Mutex
	jobs map[string]*Stat
}

// Stat is one job's figures on this server.
type Stat struct {
	Name        string
	Interval    time.Duration
	Runs        int64
	Failures    int64
	LastSuccess time.Time // zero until one succeeds
	LastRun     time.Time
}

// Record counts one run of job name; err nil is a success.
func (s *Stats) Record(name string, interval time.Duration, at time.Time, err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs == nil {
		s.jobs = map[string]*Stat{}
	}
	st := s.jobs[name]
	if st == nil {
		st = &Stat{Name: name}
		s.jobs[name] = st
	}
	st.Interval, st.LastRun = interval, at
	st.Runs++
	if err != nil {
		st.Failures++
	} else {
		st.LastSuccess = at
	}
}

// Snapshot returns every job's figures, by name.
func (s *Stats) Snapshot() []Stat {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Stat, 0, len(s.jobs))
	for _, st := range s.jobs {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b Stat) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return out
}
