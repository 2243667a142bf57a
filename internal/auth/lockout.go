package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Lockout slows password and code guessing without letting a stranger lock an
// official out. Failures are counted per (address, username) with exponential
// backoff, and per address across usernames with a cap; nothing is ever
// counted per username alone, so an attacker hammering an account from one
// address leaves its owner, at another address, untouched.
//
// The counts live in this process: with several servers behind a balancer an
// attacker gets each server's budget, which the cap still keeps small.
type Lockout struct {
	// FreeTries is how many failures a pair gets before backoff begins;
	// after that the wait doubles with each failure, from Base up to Max.
	FreeTries int
	Base, Max time.Duration
	// AddrCap failures from one address within AddrWindow block the
	// address for every username until the count drains.
	AddrCap    int
	AddrWindow time.Duration
	Now        func() time.Time

	mu    sync.Mutex
	pairs map[string]*pairFailures
	addrs map[string]*addrFailures
}

type pairFailures struct {
	n    int
	last time.Time
}

// addrFailures is a leaky bucket: level drains at AddrCap per AddrWindow.
type addrFailures struct {
	level float64
	at    time.Time
}

// NewLockout returns a Lockout with the production settings: 3 free tries,
// then 2 s doubling to 15 minutes per pair; 30 failures per 10 minutes per
// address.
func NewLockout() *Lockout {
	return &Lockout{FreeTries: 3, Base: 2 * time.Second, Max: 15 * time.Minute, AddrCap: 30, AddrWindow: 10 * time.Minute,
		Now: time.Now, pairs: map[string]*pairFailures{}, addrs: map[string]*addrFailures{}}
}

// maxKeys bounds memory under a flood of distinct keys.
const maxKeys = 200_000

// addrKey is the address the counts are kept for: an IPv6 client controls its
// whole /64, so that is one address.
func addrKey(addr string) string {
	ip, err := netip.ParseAddr(strings.Trim(addr, "[]"))
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func pairKey(addr, username string) string {
	return addrKey(addr) + "\x00" + strings.ToLower(strings.TrimSpace(username))
}

// Wait returns how long attempts for username from addr must wait; zero
// means an attempt may be checked now.
func (l *Lockout) Wait(addr, username string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	var wait time.Duration
	if a := l.addrs[addrKey(addr)]; a != nil {
		if level := l.drained(a, now); level >= float64(l.AddrCap) {
			per := l.AddrWindow / time.Duration(l.AddrCap)
			wait = time.Duration((level - float64(l.AddrCap) + 1) * float64(per))
		}
	}
	if p := l.pairs[pairKey(addr, username)]; p != nil && p.n >= l.FreeTries {
		if until := p.last.Add(l.backoff(p.n)); until.After(now) {
			wait = max(wait, until.Sub(now))
		}
	}
	return wait
}

// backoff is the wait after n failures of a pair.
func (l *Lockout) backoff(n int) time.Duration {
	d := l.Base
	for i := l.FreeTries; i < n && d < l.Max; i++ {
		d *= 2
	}
	return min(d, l.Max)
}

func (l *Lockout) drained(a *addrFailures, now time.Time) float64 {
	rate := float64(l.AddrCap) / l.AddrWindow.Seconds()
	return max(0, a.level-now.Sub(a.at).Seconds()*rate)
}

// Fail records a failed password or code for username from addr.
func (l *Lockout) Fail(addr, username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	if len(l.pairs) > maxKeys || len(l.addrs) > maxKeys {
		l.prune(now)
	}
	k := pairKey(addr, username)
	p := l.pairs[k]
	if p == nil {
		p = &pairFailures{}
		l.pairs[k] = p
	}
	p.n++
	p.last = now
	ak := addrKey(addr)
	a := l.addrs[ak]
	if a == nil {
		a = &addrFailures{}
		l.addrs[ak] = a
	}
	a.level, a.at = l.drained(a, now)+1, now
}

// Succeed forgets the failures of username from addr (not the address's
// count: a success must not refill an attacker's budget for other accounts).
func (l *Lockout) Succeed(addr, username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pairs, pairKey(addr, username))
}

// prune drops what has expired, and everything when a flood leaves too much.
func (l *Lockout) prune(now time.Time) {
	for k, p := range l.pairs {
		if now.Sub(p.last) > l.Max {
			delete(l.pairs, k)
		}
	}
	for k, a := range l.addrs {
		if l.drained(a, now) == 0 {
			delete(l.addrs, k)
		}
	}
	if len(l.pairs) > maxKeys {
		clear(l.pairs)
	}
	if len(l.addrs) > maxKeys {
		clear(l.addrs)
	}
}
