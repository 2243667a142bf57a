package tracing

import (
	"cmp"
	"context"
	"database/sql"
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
			nq := NewQR(q.DB, r)
			nq.Probe = q.Probe
			s = nq
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

// Jobs runs expansions in the background, one at a time (they are heavy;
// a queue keeps the server responsive), recording progress in trace_jobs.
type Jobs struct {
	DB     *sqldb.DB
	Engine *Engine
	Log    *slog.Logger

	mu  sync.Mutex
	sem chan struct{}
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

// Start records a queued job and runs it in the background.
func (j *Jobs) Start(ctx context.Context, w JobWork) (Job, error) {
	if err := w.Bounds.Validate(); err != nil {
		return Job{}, fmt.Errorf("start job: %w", err)
	}
	params, _ := json.Marshal(w.Bounds)
	now := time.Now().UTC().Truncate(time.Second)
	job := Job{CaseID: w.CaseID, Kind: w.Kind, Bounds: w.Bounds, Status: JobQueued, CreatedAt: now}
	err := j.DB.W.QueryRowContext(ctx, `INSERT INTO trace_jobs (case_id, kind, params, status, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, w.CaseID, w.Kind, string(params), JobQueued, w.UserID, now.Unix()).Scan(&job.ID)
	if err != nil {
		return Job{}, fmt.Errorf("start job: %w", err)
	}
	j.mu.Lock()
	if j.sem == nil {
		j.sem = make(chan struct{}, 1)
	}
	sem := j.sem
	j.mu.Unlock()
	bg := w.Context
	if bg == nil {
		bg = context.Background()
	}
	go func() {
		sem <- struct{}{}
		defer func() { <-sem }()
		if err := j.run(bg, job.ID, w); err != nil {
			if j.Log != nil {
				j.Log.Error("trace job", "job", job.ID, "err", err)
			}
			j.DB.W.ExecContext(context.Background(), "UPDATE trace_jobs SET status = $1, error = $2, finished_at = $3 WHERE id = $4",
				JobFailed, err.Error(), time.Now().Unix(), job.ID)
		}
	}()
	return job, nil
}

func (j *Jobs) run(ctx context.Context, id int64, w JobWork) error {
	seeds, exclude, err := w.Seeds(ctx)
	if err != nil {
		return err
	}
	if _, err := j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET status = $1, total = $2, started_at = $3 WHERE id = $4",
		JobRunning, min(len(seeds), w.Bounds.MaxSeeds), time.Now().Unix(), id); err != nil {
		return err
	}
	last := time.Now()
	found, err := j.Engine.Expand(ctx, seeds, w.Bounds, exclude, w.Until, func(done, total, n int) {
		if time.Since(last) < 200*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET done = $1, total = $2, found = $3 WHERE id = $4", done, total, n, id)
	})
	if err != nil {
		return err
	}
	if err := w.Sink(ctx, found); err != nil {
		return err
	}
	_, err = j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET status = $1, found = $2, finished_at = $3 WHERE id = $4",
		JobDone, len(found), time.Now().Unix(), id)
	return err
}

// ErrNoJob is returned when a case has no job yet.
var ErrNoJob = fmt.Errorf("no tracing job: %w", errs.ErrNotFound)

// Latest returns the newest job of a case.
func (j *Jobs) Latest(ctx context.Context, caseID int64) (Job, error) {
	var job Job
	var params string
	var created int64
	var started, finished *int64
	err := j.DB.R.QueryRowContext(ctx, `SELECT id, case_id, kind, params, status, total, done, found, error, created_at, started_at, finished_at
		FROM trace_jobs WHERE case_id = $1 ORDER BY id DESC LIMIT 1`, caseID).
		Scan(&job.ID, &job.CaseID, &job.Kind, &params, &job.Status, &job.Total, &job.Done, &job.Found, &job.Error, &created, &started, &finished)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Job{}, ErrNoJob
		}
		return Job{}, fmt.Errorf("job of case %d: %w", caseID, err)
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

// Abandon marks jobs left running by a stopped server as failed, so their
// progress does not show forever; call it at start.
func (j *Jobs) Abandon(ctx context.Context) error {
	_, err := j.DB.W.ExecContext(ctx, "UPDATE trace_jobs SET status = $1, error = $2 WHERE status IN ($3, $4)",
		JobFailed, msg.Both("tracing.m_y_ch_kh"), JobQueued, JobRunning)
	if err != nil {
		return fmt.Errorf("abandon jobs: %w", err)
	}
	return nil
}
