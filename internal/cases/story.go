package cases

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/tracing"
	"anticovid/internal/venue"
)

// Stay is one visit of an F0 within its infectious window, with the times
// tracing used for it: the recorded check-out, or, without one (or past
// the rules' cap), the end the rules gave it, marked Estimated.
type Stay struct {
	VenueID   int64     `json:"venue_id"`
	VenueName string    `json:"venue_name"`
	Category  string    `json:"category"`
	In        time.Time `json:"in"`
	Out       time.Time `json:"out"`
	Estimated bool      `json:"estimated,omitempty"`
}

// Story is what a case's page tells: the infectious window and the stays
// in it. OpenEnd: no isolation date was entered, so the window runs to now
// and the page asks for the date.
type Story struct {
	Window  tracing.Window `json:"infectious_window"`
	OpenEnd bool           `json:"window_open_end,omitempty"`
	Stays   []Stay         `json:"stays"`
}

// Story returns an F0's window and stays as tracing sees them, with the
// rules in force, so every figure on the case's page (a stay's times, a
// contact's overlap) comes from the same intervals. c and acc are what Open
// gave p. The stays are the F0's movements: shown with personal standing or
// through a grant.
func (s *Service) Story(ctx context.Context, p *auth.Principal, c Case, acc Access) (Story, error) {
	id := c.ID
	if c.Status != F0 {
		return Story{}, fmt.Errorf("story of case %d: %w", id, errs.ErrNotFound)
	}
	w, err := s.Window(c)
	if err != nil {
		return Story{}, fmt.Errorf("story of case %d: %w", id, err)
	}
	st := Story{Window: w, OpenEnd: c.IsolationStart == ""}
	if !acc.Personal() {
		return st, nil
	}
	if err := auth.Audit(asCaller(ctx, p), s.DB, auth.ActionView, "person", []string{strconv.FormatInt(c.PersonID, 10)},
		acc.Purpose(msg.Both("cases.purpose.stays"))); err != nil {
		return Story{}, fmt.Errorf("story of case %d: %w", id, err)
	}
	if err := s.Rules.Load(ctx); err != nil {
		return Story{}, fmt.Errorf("story of case %d: %w", id, err)
	}
	q := s.Engine.QR()
	visits, err := q.Visits(ctx, c.PersonID, w)
	if err != nil {
		return Story{}, fmt.Errorf("story of case %d: %w", id, err)
	}
	ids := make([]int64, len(visits))
	for i, v := range visits {
		ids[i] = v.VenueID
	}
	briefs, err := venue.Briefs(ctx, s.DB, ids)
	if err != nil {
		return Story{}, fmt.Errorf("story of case %d: %w", id, err)
	}
	r := q.Rules()
	for _, v := range visits {
		in, out := r.Interval(v.Category, v.In, v.Out)
		st.Stays = append(st.Stays, Stay{VenueID: v.VenueID, VenueName: briefs[v.VenueID].Name, Category: v.Category,
			In: unix(in), Out: unix(out), Estimated: v.Out == nil || out != *v.Out})
	}
	return st, nil
}

// SetIsolation records when (and where) an F0 was isolated: the end of its
// infectious window. An empty kind or place keeps what was recorded. In one
// transaction it writes the case's history (who set which date) and closes
// the follow-up of contacts whose shared time all lies after isolation
// (outcome out_of_window); then the case is traced again with the closed
// window.
func (s *Service) SetIsolation(ctx context.Context, p *auth.Principal, id int64, kind, place, start string) (Case, error) {
	if !CanRegister(p) || NeedsGrant(p) {
		return Case{}, fmt.Errorf("set isolation: %w", errs.ErrForbidden)
	}
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return Case{}, err
	}
	in := NewCase{Status: c.Status, SampleDate: c.SampleDate, OnsetDate: c.OnsetDate, IsolationKind: cmp.Or(kind, c.IsolationKind),
		IsolationPlace: cmp.Or(strings.TrimSpace(place), c.IsolationPlace), IsolationStart: start, IsolationEnd: c.IsolationEnd}
	d, all := s.validate(&in)
	f := errs.Fields{} // the form's own fields: an old sample date is not this form's to fix
	for _, k := range []string{"isolation_start", "isolation_kind", "isolation_place", "isolation_end"} {
		if all[k] != "" {
			f.Add(k, all[k])
		}
	}
	if d.isoStart == 0 && f["isolation_start"] == "" {
		f.Add("isolation_start", msg.Both("cases.isolation_start_needed"))
	}
	if w := s.infectiousWindow(d); c.Status == F0 && d.isoStart != 0 && !w.To.After(w.From) {
		f.Add("isolation_start", msg.Both("cases.isolation_starts_before_infectious"))
	}
	if len(f) > 0 {
		return Case{}, fmt.Errorf("set isolation: %w", f.Err())
	}
	now := s.Now().Unix()
	day := time.Unix(d.isoStart, 0).In(hcm).Format("02/01/2006")
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET isolation_kind = $1, isolation_place = $2, isolation_start = $3, updated_at = $4 WHERE id = $5`,
			in.IsolationKind, in.IsolationPlace, d.isoStart, now, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_history (case_id, at, from_status, to_status, user_id, username, note)
			VALUES ($1, $2, '', $3, $4, $5, $6)`, id, now, c.Status, p.UserID, p.Username, msg.T("vi", "cases.isolation_note", day)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE contacts SET closed = 1, outcome = $1, outcome_at = $2
			WHERE case_id = $3 AND closed = 0 AND first_shared >= $4`, OutcomeOutOfWindow, now, id, d.isoStart)
		return err
	})
	if err != nil {
		return Case{}, fmt.Errorf("set isolation: %w", err)
	}
	if c, err = s.Get(ctx, p, id); err != nil {
		return Case{}, err
	}
	if c.Status == F0 {
		if err := s.Refresh(ctx, c); err != nil {
			return Case{}, fmt.Errorf("set isolation: %w", err)
		}
	}
	return c, nil
}
