package cases

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/tracing"
)

// StartF2 queues the expansion of a case's F1s into F2s with bounds, as a
// background job; its progress is read with Job. Found F2s join the
// worklist (they are not messaged: a tracer decides).
func (s *Service) StartF2(ctx context.Context, p *auth.Principal, caseID int64, b tracing.Bounds) (tracing.Job, error) {
	if !CanTrace(p) {
		return tracing.Job{}, fmt.Errorf("start F2: %w", errs.ErrForbidden)
	}
	c, err := s.Get(ctx, p, caseID)
	if err != nil {
		return tracing.Job{}, err
	}
	if c.Status != F0 {
		return tracing.Job{}, fmt.Errorf("start F2: %w", &errs.Invalid{Fields: map[string]string{"status": msg.Both("cases.f2s_expanded_from_f0")}})
	}
	if job, err := s.Jobs.Latest(ctx, caseID); err == nil && (job.Status == tracing.JobQueued || job.Status == tracing.JobRunning) {
		return job, nil // one at a time per case
	}
	return s.Jobs.Start(ctx, s.f2Work(c, p.UserID, b, s.Now()))
}

// resumeF2 rebuilds the work of an F2 job another server left unfinished
// (tracing.Jobs.Resume): the same case, bounds and end of window.
func (s *Service) resumeF2(ctx context.Context, job tracing.Job) (tracing.JobWork, error) {
	if job.Kind != "f2" {
		return tracing.JobWork{}, fmt.Errorf("resume: job kind %q", job.Kind)
	}
	c, err := s.lookup(ctx, s.DB.W, job.CaseID)
	if err != nil {
		return tracing.JobWork{}, err
	}
	return s.f2Work(c, 0, job.Bounds, job.CreatedAt), nil
}

// f2Work is the expansion of case c's F1s within bounds b up to until.
func (s *Service) f2Work(c Case, userID int64, b tracing.Bounds, until time.Time) tracing.JobWork {
	caseID := c.ID
	return tracing.JobWork{Kind: "f2", CaseID: caseID, UserID: userID, Bounds: b, Until: until, Context: s.Background,
		Seeds: func(ctx context.Context) ([]tracing.Seed, map[int64]bool, error) {
			return s.seeds(ctx, c)
		},
		Sink: func(ctx context.Context, found []tracing.Found) error {
			pcs := make([]*personContact, 0, len(found))
			for _, f := range found {
				pc := byPerson([]tracing.Contact{f.Contact})[0]
				pc.via = f.Via
				pcs = append(pcs, pc)
			}
			return s.DB.Tx(ctx, func(tx *sql.Tx) error {
				_, _, err := s.upsertContacts(ctx, tx, caseID, F2, pcs, time.Now().Unix())
				return err
			})
		},
	}
}

// seeds are a case's F1s (from the worklist) and everyone to skip.
func (s *Service) seeds(ctx context.Context, c Case) ([]tracing.Seed, map[int64]bool, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT person_id, level, first_shared, overlap_seconds, vulnerable FROM contacts WHERE case_id = $1", c.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("seeds: %w", err)
	}
	defer rows.Close()
	exclude := map[int64]bool{c.PersonID: true}
	var seeds []tracing.Seed
	for rows.Next() {
		var person, first, overlap int64
		var level string
		var vul int
		if err := rows.Scan(&person, &level, &first, &overlap, &vul); err != nil {
			return nil, nil, fmt.Errorf("seeds: %w", err)
		}
		exclude[person] = true
		if level == F1 {
			seeds = append(seeds, tracing.Seed{PersonID: person, Exposed: unix(first), Overlap: time.Duration(overlap) * time.Second, Vulnerable: vul == 1})
		}
	}
	return seeds, exclude, rows.Err()
}

// Job returns the newest expansion job of a case.
func (s *Service) Job(ctx context.Context, p *auth.Principal, caseID int64) (tracing.Job, error) {
	if _, err := s.Get(ctx, p, caseID); err != nil {
		return tracing.Job{}, err
	}
	return s.Jobs.Latest(ctx, caseID)
}
