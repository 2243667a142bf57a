package otp

import "time"

// Per-client blocking, in memory: a client (an address, or a phone number)
// with maxFailures failures in failWindow is refused unchecked until the
// window ends, so 8-digit codes take years to guess and one address cannot
// flood many numbers. Clients are counted only when the caller names them.
const (
	maxFailures = 20
	failWindow  = 15 * time.Minute
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

// fail counts one failure of key.
func (s *Service) fail(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails == nil || len(s.fails) > 100_000 {
		s.fails = map[string]*failCount{}
	}
	now := s.now()
	f := s.fails[key]
	if f == nil || now.After(f.reset) {
		f = &failCount{reset: now.Add(failWindow)}
		s.fails[key] = f
	}
	f.n++
}

// failed counts a refused guess against the client and the phone it was for.
func (s *Service) failed(client, phone string) {
	if client == "" {
		return
	}
	s.fail("ip:" + client)
	if phone != "" {
		s.fail("phone:" + phone)
	}
}
