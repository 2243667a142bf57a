package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// servers returns n servers' leases on db, all reading the clock at now
// (Unix seconds), which the test moves.
func servers(db *sqldb.DB, now *atomic.Int64, n int) []*Leases {
	var out []*Leases
	for range n {
		l := New(db, 10*time.Second, nil)
		l.Now = func() time.Time { return time.Unix(now.Load(), 0) }
		out = append(out, l)
	}
	return out
}

// One holder at a time: racing servers, a holder renewing, a dead holder's
// lease taken over only after it expires, and a release handing it on.
func TestLeaseOneHolder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var now atomic.Int64
		now.Store(1_700_000_000)
		ls := servers(db, &now, 8)
		var held atomic.Int32
		var wg sync.WaitGroup
		for _, l := range ls {
			wg.Go(func() {
				ok, err := l.Acquire(ctx, "campaigns", 10*time.Second)
				if err != nil {
					t.Error(err)
				}
				if ok {
					held.Add(1)
				}
			})
		}
		wg.Wait()
		if held.Load() != 1 {
			t.Fatalf("%d of 8 racing servers hold the lease, want 1", held.Load())
		}
		var holder *Leases
		for _, l := range ls {
			if ok, _ := l.Acquire(ctx, "campaigns", 10*time.Second); ok {
				if holder != nil {
					t.Fatal("two holders")
				}
				holder = l
			}
		}
		if holder == nil {
			t.Fatal("the holder could not renew its lease")
		}
		other := ls[0]
		if other == holder {
			other = ls[1]
		}
		if ok, _ := other.Acquire(ctx, "reports", 10*time.Second); !ok {
			t.Error("another job's lease was not free")
		}
		now.Add(9) // the holder dies; its lease has not expired yet
		if ok, _ := other.Acquire(ctx, "campaigns", 10*time.Second); ok {
			t.Fatal("a live lease was taken over")
		}
		now.Add(2)
		if ok, _ := other.Acquire(ctx, "campaigns", 10*time.Second); !ok {
			t.Fatal("an expired lease was not taken over")
		}
		if ok, _ := holder.Acquire(ctx, "campaigns", 10*time.Second); ok {
			t.Fatal("the old holder got its lease back while the new one holds it")
		}
		if err := other.Release(ctx, "campaigns"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := holder.Acquire(ctx, "campaigns", 10*time.Second); !ok {
			t.Fatal("a released lease was not free")
		}
	})
}

// Every runs a job on one server at a time: three servers ticking for a
// while never run it concurrently, the others run idle instead, and when
// the holder stops the job moves on to another server: at once, because
// the holder releases its lease (the lease, 30 s, outlasts the wait).
func TestEveryOneServerAtATime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var running, most, runs, idles atomic.Int32
		ran := make([]atomic.Int32, 3)
		ctxs := make([]context.CancelFunc, 3)
		var wg sync.WaitGroup
		for i := range 3 {
			l := New(db, 30*time.Second, nil)
			ctx, cancel := context.WithCancel(context.Background())
			ctxs[i] = cancel
			wg.Go(func() {
				l.Every(ctx, "dashboard", 20*time.Millisecond, func(context.Context) error {
					n := running.Add(1)
					if n > most.Load() {
						most.Store(n)
					}
					time.Sleep(5 * time.Millisecond)
					running.Add(-1)
					runs.Add(1)
					ran[i].Add(1)
					return nil
				}, func() { idles.Add(1) })
			})
		}
		time.Sleep(400 * time.Millisecond)
		first := -1
		for i := range ran {
			if ran[i].Load() > 0 {
				if first >= 0 {
					t.Fatalf("servers %d and %d both ran the job while both were alive", first, i)
				}
				first = i
			}
		}
		if first < 0 || idles.Load() == 0 {
			t.Fatalf("runs %d, idle turns %d", runs.Load(), idles.Load())
		}
		ctxs[first]() // the holder stops and releases its lease
		// Another server takes it at its next tick (20 ms); a loaded CI
		// machine once took more than 400 ms, so wait for it, up to 10 s.
		moved := false
		for deadline := time.Now().Add(10 * time.Second); !moved && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for i := range ran {
				if i != first && ran[i].Load() > 0 {
					moved = true
				}
			}
		}
		for _, cancel := range ctxs {
			cancel()
		}
		wg.Wait()
		if !moved {
			t.Error("the job did not move to another server when its holder stopped")
		}
		if most.Load() != 1 {
			t.Errorf("%d runs at once, want 1", most.Load())
		}
	})
}

// A holder that loses its lease mid-run (it paused past the expiry and
// another server took the job) has its run cancelled.
func TestLostLeaseCancels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// Leases count whole seconds: 1.5 s is the shortest that cannot
		// look expired at the first renewal.
		a, b := New(db, 1500*time.Millisecond, nil), New(db, 1500*time.Millisecond, nil)
		cancelled := make(chan bool, 1)
		go a.turn(ctx, "en-export", time.Millisecond, func(ctx context.Context) error {
			// Another server takes the lease over, as if this one had paused.
			db.W.ExecContext(ctx, "UPDATE job_leases SET holder = $1 WHERE name = $2", b.Holder, "en-export")
			select {
			case <-ctx.Done():
				cancelled <- true
			case <-time.After(2 * time.Second):
				cancelled <- false
			}
			return nil
		}, nil)
		if !<-cancelled {
			t.Error("a run whose lease was lost went on")
		}
	})
}

// Stats count the runs of the holder only: its successes, its failures and
// when it last succeeded; the other server, skipping its turns, reports
// nothing for the job.
func TestStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		quiet := slog.New(slog.DiscardHandler)
		a, b := New(db, time.Second, quiet), New(db, time.Second, quiet)
		a.Stats, b.Stats = &Stats{}, &Stats{}
		if ok, err := a.Acquire(ctx, "flaky", time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
		var n atomic.Int32
		flaky := func(context.Context) error {
			if n.Add(1)%2 == 0 {
				return errors.New("every other run fails")
			}
			return nil
		}
		var wg sync.WaitGroup
		wg.Go(func() { a.Every(ctx, "flaky", 20*time.Millisecond, flaky, nil) })
		wg.Go(func() { b.Every(ctx, "flaky", 20*time.Millisecond, flaky, nil) })
		for n.Load() < 6 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		st := a.Stats.Snapshot()
		if len(st) != 1 || st[0].Name != "flaky" || st[0].Runs < 5 || st[0].Failures < 2 || st[0].Failures >= st[0].Runs ||
			st[0].LastSuccess.IsZero() || st[0].Interval != 20*time.Millisecond {
			t.Fatalf("holder's figures: %+v", st)
		}
		if got := b.Stats.Snapshot(); len(got) != 0 {
			t.Fatalf("the server without the lease reports %+v", got)
		}
	})
}
