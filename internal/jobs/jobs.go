// Package jobs runs a deployment's periodic background work once across any
// number of servers sharing one database. Each job has a lease, a row of
// job_leases (this package is its only owner): the server holding it runs
// the job and renews the lease while it works; the others skip their turn.
// A server that dies stops renewing, and once its lease expires another
// server takes the job over on its next tick. The same two statements run on
// SQLite and PostgreSQL: a conditional upsert takes a lease that is free,
// expired, or already ours, and only one of two racing servers sees its row
// change (PostgreSQL re-checks the condition on the row it waited for).
//
// A lease is not a proof that the job ran exactly once: a holder may lose
// its lease mid-run (a long pause) or die after some of its writes. Jobs are
// therefore written to be idempotent (dedup keys, unique constraints,
// cursors), and the lease only keeps two servers from doing the work twice
// at the same moment and spreads nothing across servers.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"anticovid/internal/sqldb"
)

// DefaultTTL is how long a lease outlives its last renewal: how soon
// another server takes over the job of a server that died.
const DefaultTTL = 30 * time.Second

// Leases takes and renews job leases for one server.
type Leases struct {
	DB *sqldb.DB
	// Holder names this server in job_leases: host, process and a random
	// part, so a restarted process never inherits its predecessor's leases.
	Holder string
	// TTL is how long a lease lasts without renewal (DefaultTTL when 0). A
	// job whose interval is longer holds its lease for the interval, so it
	// runs once per interval across all servers.
	TTL time.Duration
	Log *slog.Logger
	Now func() time.Time
	// Stats counts the runs of the jobs this server holds (nil: not counted).
	Stats *Stats
}

// New returns the leases of this server.
func New(db *sqldb.DB, ttl time.Duration, log *slog.Logger) *Leases {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	return &Leases{DB: db, TTL: ttl, Log: log, Holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))}
}

func (l *Leases) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Leases) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return DefaultTTL
}

// Acquire takes or renews the lease of job name for d, and reports whether
// this server holds it. Server clocks must agree to well within the TTL
// (NTP), since each compares expiry with its own.
func (l *Leases) Acquire(ctx context.Context, name string, d time.Duration) (bool, error) {
	now := l.now()
	res, err := l.DB.W.ExecContext(ctx, `INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= $4`,
		name, l.Holder, now.Add(d).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("job lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("job lease %s: %w", name, err)
	}
	return n == 1, nil
}

// Release gives the lease of job name up at once (this server stops), so
// another server need not wait for it to expire.
func (l *Leases) Release(ctx context.Context, name string) error {
	if _, err := l.DB.W.ExecContext(ctx, "DELETE FROM job_leases WHERE name = $1 AND holder = $2", name, l.Holder); err != nil {
		return fmt.Errorf("job lease %s: release: %w", name, err)
	}
	return nil
}

// Every runs fn every interval until ctx ends, on whichever server holds the
// lease of job name; idle (may be nil) runs instead on the servers that do
// not (to refresh their caches of what the holder writes). While fn runs
// the lease is renewed; if it is lost, fn's context is cancelled. The lease
// is released when ctx ends.
func (l *Leases) Every(ctx context.Context, name string, interval time.Duration, fn func(context.Context) error, idle func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		l.turn(ctx, name, interval, fn, idle)
		select {
		case <-ctx.Done():
			l.Release(context.WithoutCancel(ctx), name)
			return
		case <-t.C:
		}
	}
}

// turn is one tick of Every.
func (l *Leases) turn(ctx context.Context, name string, interval time.Duration, fn func(context.Context) error, idle func()) {
	hold := max(l.ttl(), interval)
	ok, err := l.Acquire(ctx, name, hold)
	if err != nil {
		if ctx.Err() == nil {
			l.log().Error("job lease", "job", name, "err", err)
		}
		return
	}
	if !ok {
		if idle != nil {
			idle()
		}
		return
	}
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { // renew while the job runs; stop it if the lease is lost
		t := time.NewTicker(l.ttl() / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ok, err := l.Acquire(jctx, name, hold); err == nil && !ok {
					l.log().Warn("job lease lost while running; stopping", "job", name)
					cancel()
					return
				}
			}
		}
	}()
	err = fn(jctx)
	close(done)
	if jctx.Err() != nil && ctx.Err() != nil {
		return // stopping: neither a success nor a failure
	}
	l.Stats.Record(name, interval, l.now(), err)
	if err != nil && jctx.Err() == nil {
		l.log().Error("job", "job", name, "err", err)
	}
}

func (l *Leases) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

// Local runs fn every interval until ctx ends on this server, whatever the
// others do: work each server does for itself, such as refreshing what it
// keeps in memory from the database. Runs are counted in stats as job name.
func Local(ctx context.Context, name string, interval time.Duration, fn func(context.Context) error, stats *Stats, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := fn(ctx)
		if ctx.Err() != nil {
			return
		}
		stats.Record(name, interval, time.Now(), err)
		if err != nil {
			log.Error("local job", "job", name, "err", err)
		}
	}
}
