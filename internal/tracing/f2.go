package tracing

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
)

// Bounds limit an expansion beyond F1. The F2 list of one busy F0 can be a
// large share of a province: without bounds it is useless to a tracer and
// expensive to compute, so it is capped and prioritised instead.
type Bounds struct {
	MaxSeeds   int           `json:"max_seeds"`   // F1s expanded, most urgent first
	CapPerSeed int           `json:"cap_per_f1"`  // contacts kept per F1, most urgent first
	MaxTotal   int           `json:"max_total"`   // contacts kept in all
	MinOverlap time.Duration `json:"min_overlap"` // least time an F1 and an F2 shared
	Days       int           `json:"days"`        // how long after exposure an F1 is followed
}

// DefaultBounds: the 100 most exposed F1s, 30 contacts each of 30 minutes or
// more, 3,000 in all, over the 14 days after each F1's exposure: as many as
// a district's tracers can call in a day, found in seconds.
func DefaultBounds() Bounds {
	return Bounds{MaxSeeds: 100, CapPerSeed: 30, MaxTotal: 3000, MinOverlap: 30 * time.Minute, Days: 14}
}

// Validate reports bounds out of range.
func (b Bounds) Validate() error {
	f := errs.Fields{}
	if b.MaxSeeds < 1 || b.MaxSeeds > 5000 {
		f.Add("max_seeds", msg.Both("tracing.f1s_expanded_1_to"))
	}
	if b.CapPerSeed < 1 || b.CapPerSeed > 1000 {
		f.Add("cap_per_f1", msg.Both("tracing.f2s_per_f1_1"))
	}
	if b.MaxTotal < 1 || b.MaxTotal > 100_000 {
		f.Add("max_total", msg.Both("tracing.total_f2s_1_to"))
	}
	if b.MinOverlap < 0 || b.MinOverlap > 24*time.Hour {
		f.Add("min_overlap", msg.Both("tracing.minimum_overlap_0_to"))
	}
	if b.Days < 1 || b.Days > 21 {
		f.Add("days", msg.Both("tracing.days_1_to_21"))
	}
	return f.Err()
}

// Seed is a person to expand from (an F1) with what ranks them.
type Seed struct {
	PersonID   int64
	Exposed    time.Time // first shared moment with the case: they can infect others only after it
	Overlap    time.Duration
	Vulnerable bool
}

// Found is a contact of a seed: one row of the next level.
type Found struct {
	Contact
	Via int64 // the seed's person id
}

// Expand finds the contacts of seeds within the bounds, most urgent seeds
// first (vulnerable places, longest overlap) and each seed's most urgent
// contacts first, skipping people in exclude (the case, its F1s) and anyone
// already found. progress is called after each seed.
func (e *Engine) Expand(ctx context.Context, seeds []Seed, b Bounds, exclude map[int64]bool, until time.Time, progress func(done, total, found int)) ([]Found, error) {
	defer e.timed("f2", time.Now())
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("expand: %w", err)
	}
	seeds = slices.Clone(seeds)
	slices.SortFunc(seeds, func(a, c Seed) int {
		if a.Vulnerable != c.Vulnerable {
			if a.Vulnerable {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(c.Overlap, a.Overlap), cmp.Compare(a.PersonID, c.PersonID))
	})
	if len(seeds) > b.MaxSeeds {
		seeds = seeds[:b.MaxSeeds]
	}
	// The same sources with the stricter minimum overlap.
	sub := &Engine{}
	for _, s := range e.Sources {
		if q, ok := s.(*QR); ok {
			r := q.Rules()
			r.MinOverlap = max(r.MinOverlap, b.MinOverlap)
			s = q.derive(r)
		}
		sub.Sources = append(sub.Sources, s)
	}
	seen := map[int64]bool{}
	for id := range exclude {
		seen[id] = true
	}
	// Seeds are traced a few at a time in parallel (reads only), and their
	// contacts taken in priority order, so the result does not depend on
	// which finished first.
	par := min(max(runtime.GOMAXPROCS(0), 1), 4)
	var out []Found
	for lo := 0; lo < len(seeds) && len(out) < b.MaxTotal; lo += par {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		chunk := seeds[lo:min(lo+par, len(seeds))]
		results := make([][]Contact, len(chunk))
		errs := make([]error, len(chunk))
		var wg sync.WaitGroup
		for i, sd := range chunk {
			w := Window{From: sd.Exposed, To: sd.Exposed.Add(time.Duration(b.Days) * 24 * time.Hour)}
			if w.To.After(until) {
				w.To = until
			}
			if !w.To.After(w.From) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = sub.Contacts(ctx, sd.PersonID, w)
			}()
		}
		wg.Wait()
		for i, sd := range chunk {
			if errs[i] != nil {
				return out, fmt.Errorf("expand %d: %w", sd.PersonID, errs[i])
			}
			kept := 0
			for _, c := range results[i] { // already most urgent first
				if kept >= b.CapPerSeed || len(out) >= b.MaxTotal {
					break
				}
				if seen[c.PersonID] || c.PersonID == sd.PersonID || c.Overlap < b.MinOverlap {
					continue
				}
				seen[c.PersonID] = true
				out = append(out, Found{Contact: c, Via: sd.PersonID})
				kept++
			}
			if progress != nil {
				progress(lo+i+1, len(seeds), len(out))
			}
		}
	}
	return out, nil
}

// Job statuses.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is a background expansion and its progress.
type Job struct {
	ID         int64      `json:"id"`
	CaseID     int64      `json:"case_id"`
	Kind       string     `json:"kind"`
	Bounds     Bounds     `json:"bounds"`
	Status     string     `json:"status"`
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	Found      int        `json:"found"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Jobs runs expansions in the background, one at a time per server (they
// are heavy; a queue keeps the server responsive), recording progress in
// trace_jobs. Each job runs under a lease (the row's holder and
// lease_until), renewed while it waits and runs: a server that dies stops
// renewing, and once the lease lapses another server's Run takes the job
// over and does it again from the start (an expansion is recomputed whole,
// and its worklist rows are upserts). A live server's job is never taken.
type Jobs struct {
	DB     *sqldb.DB
	Engine *Engine
	Log    *slog.Logger
	// Holder names this server in trace_jobs (the job leases' holder,
	// internal/jobs); a random name when empty.
	Holder string
	// TTL is how long a job's lease outlives its last renewal (30 s when 0).
	TTL time.Duration
	// Resume rebuilds the work of a job another server left (its seeds and
	// where its result goes) from the job's row; nil: jobs are not resumed.
	Resume func(ctx context.Context, job Job) (JobWork, error)

	mu     sync.Mutex
	sem    chan struct{}
	holder string
}

// JobWork is what a job does once it runs: the seeds to expand, the people
// to skip, and where the result goes (internal/cases writes its worklist).
type JobWork struct {
	Seeds   func(ctx context.Context) ([]Seed, map[int64]bool, error)
	Sink    func(ctx context.Context, found []Found) error
	Until   time.Time
	Kind    string
	CaseID  int64
	UserID  int64
	Bounds  Bounds
	Context context.Context // lives as long as the server; nil: background
}

// legacyWait is how old a job without a holder (queued by a server of the
// previous release, which has no leases) must be before it is taken over:
// that server may still be running it, and an expansion takes seconds.
const legacyWait = 10 * time.Minute

func (j *Jobs) ttl() time.Duration {
	if j.TTL > 0 {
		return j.TTL
	}
	return 30 * time.Second
}

// me returns the holder name and the one-at-a-time semaphore.
func (j *Jobs) me() (string, chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sem == nil {
		j.sem = make(chan struct{}, 1)
	}
	if j.holder == "" {
		j.holder = j.Holder
		if j.holder == "" {
			b := make([]byte, 6)
			rand.Read(b)
			j.holder = "trace/" + hex.EncodeToString(b)
		}
	}
	return j.holder, j.sem
}

// Start records a queued job, leased to this server, and runs it in the
// background.
func (j *Jobs) Start(ctx context.Context, w JobWork) (Job, error) {
	if err := w.Bounds.Validate(); err != nil {
		return Job{}, fmt.Errorf("start job: %w", err)
	}
	holder, _ := j.me()
	params, _ := json.Marshal(w.Bounds)
	now := time.Now().UTC().Truncate(time.Second)
	job := Job{CaseID: w.CaseID, Kind: w.Kind, Bounds: w.Bounds, Status: JobQueued, CreatedAt: now}
	err := j.DB.W.QueryRowContext(ctx, `INSERT INTO trace_jobs (case_id, kind, params, status, created_by, created_at, holder, lease_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, w.CaseID, w.Kind, string(params), JobQueued, w.UserID, now.Unix(),
		holder, time.Now().Add(j.ttl()).UnixMilli()).Scan(&job.ID)
	if err != nil {
		return Job{}, fmt.Errorf("start job: %w", err)
	}
	go j.hold(job.ID, w, false)
	return job, nil
}

// hold renews job id's lease while it waits its turn and runs, and records
// how it ended. taken: the semaphore is already held for it.
func (j *Jobs) hold(id int64, w JobWork, taken bool) {
	holder, sem := j.me()
	bg := w.Context
	if bg == nil {
		bg = context.Background()
	}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	renewed := make(chan struct{})
	go func() { // renew; stop the job if another server has it now
		defer close(renewed)
		t := time.NewTicker(j.ttl() / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			res, err := j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET lease_until = $1 WHERE id = $2 AND holder = $3",
				time.Now().Add(j.ttl()).UnixMilli(), id, holder)
			if err != nil {
				continue // the database is out of reach: the lease may lapse, and then is lost
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if j.Log != nil {
					j.Log.Warn("trace job lease lost; stopping", "job", id)
				}
				cancel()
				return
			}
		}
	}()
	if !taken {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
	}
	err := ctx.Err()
	if err == nil {
		defer func() { <-sem }()
		err = j.run(ctx, id, w)
	} else if taken {
		<-sem
	}
	cancel()
	<-renewed
	end := context.WithoutCancel(bg)
	switch {
	case err == nil:
	case bg.Err() != nil:
		// This server is stopping: hand the job over at once.
		j.DB.W.ExecContext(end, "UPDATE trace_jobs SET lease_until = 0 WHERE id = $1 AND holder = $2", id, holder)
	case ctx.Err() != nil:
		// The lease was lost: the job is another server's now.
	default:
		if j.Log != nil {
			j.Log.Error("trace job", "job", id, "err", err)
		}
		j.DB.W.ExecContext(end, "UPDATE trace_jobs SET status = $1, error = $2, finished_at = $3 WHERE id = $4 AND holder = $5",
			JobFailed, err.Error(), time.Now().Unix(), id, holder)
	}
}

func (j *Jobs) run(ctx context.Context, id int64, w JobWork) error {
	holder, _ := j.me()
	seeds, exclude, err := w.Seeds(ctx)
	if err != nil {
		return err
	}
	if _, err := j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET status = $1, total = $2, started_at = $3 WHERE id = $4 AND holder = $5",
		JobRunning, min(len(seeds), w.Bounds.MaxSeeds), time.Now().Unix(), id, holder); err != nil {
		return err
	}
	last := time.Now()
	found, err := j.Engine.Expand(ctx, seeds, w.Bounds, exclude, w.Until, func(done, total, n int) {
		if time.Since(last) < 200*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET done = $1, total = $2, found = $3 WHERE id = $4 AND holder = $5", done, total, n, id, holder)
	})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // the lease was lost or the server stops: the result is not ours to write
	}
	if err := w.Sink(ctx, found); err != nil {
		return err
	}
	_, err = j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET status = $1, found = $2, finished_at = $3 WHERE id = $4 AND holder = $5",
		JobDone, len(found), time.Now().Unix(), id, holder)
	return err
}

// ResumeOnce takes over one queued or running job whose lease has lapsed
// (its server died or stopped), when this server is free to run one, and
// runs it in the background. It reports the job taken (0: none). One
// conditional UPDATE claims it: of two servers racing for a job only one
// sees its row change (PostgreSQL re-checks the condition on the row it
// waited for).
func (j *Jobs) ResumeOnce(ctx context.Context) (int64, error) {
	if j.Resume == nil {
		return 0, nil
	}
	holder, sem := j.me()
	select {
	case sem <- struct{}{}:
	default:
		return 0, nil // busy: another server may take it
	}
	now := time.Now()
	var id int64
	err := j.DB.W.QueryRowContext(ctx, `UPDATE trace_jobs SET holder = $1, lease_until = $2
		WHERE id = (SELECT id FROM trace_jobs WHERE status IN ($3, $4) AND lease_until < $5 AND (holder <> '' OR created_at < $6) ORDER BY id LIMIT 1)
		AND status IN ($3, $4) AND lease_until < $5 AND (holder <> '' OR created_at < $6) RETURNING id`,
		holder, now.Add(j.ttl()).UnixMilli(), JobQueued, JobRunning, now.UnixMilli(), now.Add(-legacyWait).Unix()).Scan(&id)
	if err != nil {
		<-sem
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return 0, fmt.Errorf("resume trace job: %w", err)
	}
	job, err := j.byID(ctx, id)
	var w JobWork
	if err == nil {
		w, err = j.Resume(ctx, job)
	}
	if err != nil {
		<-sem
		j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET status = $1, error = $2, finished_at = $3 WHERE id = $4 AND holder = $5",
			JobFailed, msg.Both("tracing.m_y_ch_kh"), now.Unix(), id, holder)
		return id, fmt.Errorf("resume trace job %d: %w", id, err)
	}
	if j.Log != nil {
		j.Log.Info("trace job taken over", "job", id)
	}
	go j.hold(id, w, true)
	return id, nil
}

// Run takes over lapsed jobs every interval until ctx ends (every server
// runs it).
func (j *Jobs) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := j.ResumeOnce(ctx); err != nil && j.Log != nil && ctx.Err() == nil {
			j.Log.Error("trace jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ErrNoJob is returned when a case has no job yet.
var ErrNoJob = fmt.Errorf("no tracing job: %w", errs.ErrNotFound)

const jobColumns = "id, case_id, kind, params, status, total, done, found, error, created_at, started_at, finished_at"

// Latest returns the newest job of a case.
func (j *Jobs) Latest(ctx context.Context, caseID int64) (Job, error) {
	job, err := scanJob(j.DB.R.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM trace_jobs WHERE case_id = $1 ORDER BY id DESC LIMIT 1", caseID))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNoJob
	}
	if err != nil {
		return Job{}, fmt.Errorf("job of case %d: %w", caseID, err)
	}
	return job, nil
}

// byID reads one job from the primary (it was just claimed there).
func (j *Jobs) byID(ctx context.Context, id int64) (Job, error) {
	return scanJob(j.DB.W.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM trace_jobs WHERE id = $1", id))
}

func scanJob(row *sql.Row) (Job, error) {
	var job Job
	var params string
	var created int64
	var started, finished *int64
	if err := row.Scan(&job.ID, &job.CaseID, &job.Kind, &params, &job.Status, &job.Total, &job.Done, &job.Found, &job.Error, &created, &started, &finished); err != nil {
		return Job{}, err
	}
	json.Unmarshal([]byte(params), &job.Bounds)
	job.CreatedAt = unix(created)
	if started != nil {
		t := unix(*started)
		job.StartedAt = &t
	}
	if finished != nil {
		t := unix(*finished)
		job.FinishedAt = &t
	}
	return job, nil
}
