package tracing

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

// TestJobsResumeOnAnotherServer runs two servers' job runners on one
// PostgreSQL database, each with its own connections: while the first runs a
// job and renews its lease the second never takes it; once the first dies
// (its connections closed, so it renews nothing and writes nothing more) the
// second takes the job over when the lease lapses and finishes it.
func TestJobsResumeOnAnotherServer(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	db1, err := store.OpenMigrated(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	db2, err := store.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for _, q := range []string{
		"INSERT INTO people (id, commune_code, district_code, province_code, created_at) VALUES (1, '27787', '794', '80', 0)",
		"INSERT INTO cases (id, person_id, status, commune_code, district_code, province_code, created_at, updated_at) VALUES (1, 1, 'F0', '27787', '794', '80', 0, 0)",
	} {
		if _, err := db1.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	const ttl = 600 * time.Millisecond
	release := make(chan struct{})
	var sunk1, sunk2, resumed atomic.Int32
	work := func(block bool, sunk *atomic.Int32) JobWork {
		return JobWork{Kind: "f2", CaseID: 1, UserID: 1, Bounds: DefaultBounds(), Until: time.Now(),
			Seeds: func(ctx context.Context) ([]Seed, map[int64]bool, error) {
				if block {
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
				return nil, nil, nil
			},
			Sink: func(ctx context.Context, found []Found) error { sunk.Add(1); return nil },
		}
	}
	j1 := &Jobs{DB: db1, Engine: NewEngine(db1, DefaultRules()), Holder: "server-1", TTL: ttl}
	j2 := &Jobs{DB: db2, Engine: NewEngine(db2, DefaultRules()), Holder: "server-2", TTL: ttl,
		Resume: func(ctx context.Context, job Job) (JobWork, error) {
			resumed.Add(1)
			if job.CaseID != 1 || job.Bounds != DefaultBounds() {
				t.Errorf("resumed job %+v", job)
			}
			return work(false, &sunk2), nil
		}}
	job, err := j1.Start(ctx, work(true, &sunk1))
	if err != nil {
		t.Fatal(err)
	}
	// The first server is alive: for three lease times the second takes nothing.
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if id, err := j2.ResumeOnce(ctx); id != 0 || err != nil {
			t.Fatalf("a live server's job was taken: %d, %v", id, err)
		}
	}
	// The first server dies mid-job.
	db1.Close()
	var took int64
	for end := time.Now().Add(5 * ttl); took == 0 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if took, err = j2.ResumeOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if took != job.ID {
		t.Fatalf("job %d not taken over (took %d)", job.ID, took)
	}
	var got Job
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got, err = j2.Latest(ctx, 1); err == nil && got.Status == JobDone {
			break
		}
	}
	var holder string
	db2.W.QueryRow("SELECT holder FROM trace_jobs WHERE id = $1", job.ID).Scan(&holder)
	if got.Status != JobDone || holder != "server-2" || sunk2.Load() != 1 || resumed.Load() != 1 {
		t.Fatalf("job %+v held by %q, sunk by the second %d times, resumed %d", got, holder, sunk2.Load(), resumed.Load())
	}
	close(release) // the dead server's goroutine wakes: it writes nothing
	time.Sleep(100 * time.Millisecond)
	if sunk1.Load() != 0 {
		t.Fatal("the dead server's job wrote its result")
	}
	if id, _ := j2.ResumeOnce(ctx); id != 0 {
		t.Fatalf("a finished job was taken again: %d", id)
	}
}

// TestJobsResumeLapsed: on both engines a job whose lease lapsed is taken
// over and finished; one of the previous release (no holder) only once it
// is old enough; a finished job never.
func TestJobsResumeLapsed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, q := range []string{
			"INSERT INTO people (id, commune_code, district_code, province_code, created_at) VALUES (1, '27787', '794', '80', 0)",
			"INSERT INTO cases (id, person_id, status, commune_code, district_code, province_code, created_at, updated_at) VALUES (1, 1, 'F0', '27787', '794', '80', 0, 0)",
		} {
			if _, err := db.W.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().Unix()
		jobs := []struct {
			status, holder string
			created        int64
			take           bool
		}{
			{JobRunning, "dead-server", now, true},
			{JobQueued, "", now, false},       // the previous release's, just queued: may be running there
			{JobQueued, "", now - 3600, true}, // the previous release's, an hour old
			{JobDone, "dead-server", now, false},
		}
		for i, j := range jobs {
			if _, err := db.W.Exec(`INSERT INTO trace_jobs (id, case_id, kind, params, status, created_by, created_at, holder, lease_until)
				VALUES ($1, 1, 'f2', '{"max_seeds":100,"cap_per_f1":30,"max_total":3000,"min_overlap":1800000000000,"days":14}', $2, 1, $3, $4, 0)`,
				i+1, j.status, j.created, j.holder); err != nil {
				t.Fatal(err)
			}
		}
		var sunk atomic.Int32
		jr := &Jobs{DB: db, Engine: NewEngine(db, DefaultRules()), Holder: "me", TTL: time.Second,
			Resume: func(ctx context.Context, job Job) (JobWork, error) {
				return JobWork{Kind: job.Kind, CaseID: job.CaseID, Bounds: job.Bounds, Until: job.CreatedAt,
					Seeds: func(context.Context) ([]Seed, map[int64]bool, error) { return nil, nil, nil },
					Sink:  func(context.Context, []Found) error { sunk.Add(1); return nil }}, nil
			}}
		var taken []int64
		for end := time.Now().Add(5 * time.Second); len(taken) < 2 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			id, err := jr.ResumeOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if id != 0 {
				taken = append(taken, id)
			}
		}
		time.Sleep(200 * time.Millisecond)
		if id, _ := jr.ResumeOnce(ctx); id != 0 {
			taken = append(taken, id)
		}
		if len(taken) != 2 || taken[0] != 1 || taken[1] != 3 {
			t.Fatalf("taken %v, want [1 3]", taken)
		}
		for end := time.Now().Add(5 * time.Second); sunk.Load() < 2 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		}
		var done int
		db.W.QueryRow("SELECT count(*) FROM trace_jobs WHERE status = 'done' AND holder = 'me'").Scan(&done)
		if done != 2 || sunk.Load() != 2 {
			t.Fatalf("%d jobs done by this server, %d results written", done, sunk.Load())
		}
	})
}
