package otp

import "time"

// Per-client blocking, in memory: a client (an address, or a phone number)
// with maxFailures failures in failWindow is refused unchecked until the
// window ends, so one address cannot guess on and on nor flood many
// numbers. Addresses are counted only when the caller names them; phones
// always, whoever guesses at them.
const (
	maxFailures = 20
	failWindow  = 15 * time.Minute
)

// Global failure budgets, per purpose and server, per budgetWindow: beyond
// them every check of the purpose is refused until the window ends. They
// bound what an attacker with any number of addresses can guess (README,
// "One-time codes"). A legitimate mistype rarely comes near them; an attack
// that uses one up delays honest users by at most a minute.
const (
	HandedFailuresPerMinute = 10  // handed codes, found by value alone
	PhoneFailuresPerMinute  = 100 // phone codes, which also burn after maxAttempts
	budgetWindow            = time.Minute
)

type failCount struct {
	n     int
	reset time.Time
}

// blocked reports whether key has used up its failures.
func (s *Service) blocked(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fails[key]
	return f != nil && f.n >= maxFailures && s.now().Before(f.reset)
}

// overBudget reports whether purpose has used up its global failures.
func (s *Service) overBudget(purpose string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.budgets[purpose]
	return f != nil && f.n >= budget(purpose) && s.now().Before(f.reset)
}

func budget(purpose string) int {
	if p, ok := policies[purpose]; ok && !p.phone() {
		return HandedFailuresPerMinute
	}
	return PhoneFailuresPerMinute
}

// count adds one failure to key's count in m, starting a new window of
// length w when the last one ended.
func (s *Service) count(m map[string]*failCount, key string, w time.Duration) {
	now := s.now()
	f := m[key]
	if f == nil || !now.Before(f.reset) {
		f = &failCount{reset: now.Add(w)}
		m[key] = f
	}
	f.n++
}

// failed counts a refused guess against the purpose's global budget, the
// client and the phone it was for (guesses from many addresses at one
// phone count together). The per-client map is dropped when an attacker
// with very many addresses grows it past a bound; the budgets, one per
// purpose, are never dropped, so that cannot reset them.
func (s *Service) failed(purpose, client, phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.budgets == nil {
		s.budgets = map[string]*failCount{}
	}
	s.count(s.budgets, purpose, budgetWindow)
	if client != "" {
		s.count(s.clients(), "ip:"+client, failWindow)
	}
	if phone != "" {
		s.count(s.clients(), "phone:"+phone, failWindow)
	}
}

// clients is the per-client map, dropped when it grows past a bound; the
// caller holds s.mu.
func (s *Service) clients() map[string]*failCount {
	if s.fails == nil || len(s.fails) > 100_000 {
		s.fails = map[string]*failCount{}
	}
	return s.fails
}

// sent counts a code a client asked for, against the same per-client limit.
func (s *Service) sent(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(s.clients(), "send:"+client, failWindow)
}
