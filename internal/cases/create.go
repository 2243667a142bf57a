package cases

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/tracing"
)

// NewCase is what registering a case needs: the person (found by id, phone
// or ID number among people already known), the status and the dates.
type NewCase struct {
	PersonID       int64
	Phone          string
	IDNumber       string
	Status         string
	SampleDate     string
	OnsetDate      string
	IsolationKind  string
	IsolationPlace string
	IsolationStart string
	IsolationEnd   string
	SourceCaseID   int64
	Note           string
}

// dates are a case's dates as Unix seconds (0: none).
type dates struct {
	sample, onset, isoStart, isoEnd int64
}

// maxOnsetAfterSample: symptoms can start some days after a positive sample
// taken early; months after means a typing error.
const maxOnsetAfterSample = 14 * 24 * time.Hour

// validate checks the input's own fields (not the person) and parses dates.
func (s *Service) validate(in *NewCase) (dates, errs.Fields) {
	f := errs.Fields{}
	var d dates
	now := s.Now()
	today := time.Date(now.In(hcm).Year(), now.In(hcm).Month(), now.In(hcm).Day(), 0, 0, 0, 0, hcm)
	if in.Status == "" {
		in.Status = F0
	}
	if !validStatus(in.Status) {
		f.Add("status", msg.Both("cases.status_f0_f1_f2"))
	}
	parse := func(field, v string, dst *int64) {
		if strings.TrimSpace(v) == "" {
			return
		}
		t, err := ParseDate(v)
		switch {
		case err != nil:
			f.Add(field, msg.Both("cases.invalid_date_want_yyyy"))
		case t.After(today) && field != "isolation_end":
			f.Add(field, msg.Both("cases.date_not_in_future"))
		case t.Before(today.AddDate(-1, 0, 0)):
			f.Add(field, msg.Both("cases.date_more_than_year"))
		default:
			*dst = t.Unix()
		}
	}
	parse("sample_date", in.SampleDate, &d.sample)
	parse("onset_date", in.OnsetDate, &d.onset)
	parse("isolation_start", in.IsolationStart, &d.isoStart)
	parse("isolation_end", in.IsolationEnd, &d.isoEnd)
	if in.Status == F0 && d.sample == 0 && f["sample_date"] == "" {
		f.Add("sample_date", msg.Both("cases.f0_needs_date_positive"))
	}
	if d.sample != 0 && d.onset != 0 && time.Duration(d.onset-d.sample)*time.Second > maxOnsetAfterSample {
		f.Add("onset_date", msg.Both("cases.onset_days_after_sample", (d.onset-d.sample)/86400))
	}
	switch in.IsolationKind {
	case "", IsolationHome, IsolationFacility:
	default:
		f.Add("isolation_kind", msg.Both("cases.isolation_home_or_facility"))
	}
	if n := len([]rune(in.IsolationPlace)); n > 300 {
		f.Add("isolation_place", msg.Both("cases.isolation_place_at_most"))
	}
	if d.isoStart != 0 && d.isoEnd != 0 && d.isoEnd < d.isoStart {
		f.Add("isolation_end", msg.Both("cases.isolation_ends_before_it"))
	}
	if len([]rune(in.Note)) > 500 {
		f.Add("note", msg.Both("cases.note_at_most_500"))
	}
	return d, f
}

// infectiousWindow is the F0 rule: from 2 days before symptom onset (or
// before the sample, without symptoms) until isolation (or now).
func (s *Service) infectiousWindow(d dates) tracing.Window {
	start := d.onset
	if start == 0 {
		start = d.sample
	}
	from := time.Unix(start, 0).Add(-48 * time.Hour)
	to := s.Now()
	if d.isoStart != 0 && time.Unix(d.isoStart, 0).Before(to) {
		to = time.Unix(d.isoStart, 0)
	}
	return tracing.Window{From: from, To: to}
}

// Window returns a case's infectious window (F0s only).
func (s *Service) Window(c Case) (tracing.Window, error) {
	var d dates
	for _, x := range []struct {
		v   string
		dst *int64
	}{{c.SampleDate, &d.sample}, {c.OnsetDate, &d.onset}, {c.IsolationStart, &d.isoStart}} {
		if x.v != "" {
			t, err := ParseDate(x.v)
			if err != nil {
				return tracing.Window{}, err
			}
			*x.dst = t.Unix()
		}
	}
	if d.sample == 0 && d.onset == 0 {
		return tracing.Window{}, fmt.Errorf("case %d has no sample or onset date: %w", c.ID, errs.ErrInvalid)
	}
	return s.infectiousWindow(d), nil
}

// personRef is the person a case is about, with their place.
type personRef struct {
	id                          int64
	commune, district, province string
}

// findPerson finds a known person by id, phone or ID number.
func (s *Service) findPerson(ctx context.Context, in NewCase, f errs.Fields) (personRef, bool) {
	var ids []int64
	switch {
	case in.PersonID > 0:
		ids = []int64{in.PersonID}
	case strings.TrimSpace(in.Phone) != "":
		ph, err := people.NormalizePhone(in.Phone)
		if err != nil {
			f.Add("person.phone", msg.Both("cases.invalid_phone_number_10"))
			return personRef{}, false
		}
		ids = s.idsBy(ctx, "phone_hash", s.Vault.Hash(ph))
	case strings.TrimSpace(in.IDNumber) != "":
		idn, ok := people.NormalizeIDNumber(in.IDNumber)
		if !ok || idn == "" {
			f.Add("person.id_number", msg.Both("cases.invalid_id_card_or"))
			return personRef{}, false
		}
		ids = s.idsBy(ctx, "id_number_hash", s.Vault.Hash(idn))
	default:
		f.Add("person", msg.Both("cases.give_person_phone_or"))
		return personRef{}, false
	}
	places, err := s.People.Places(ctx, ids)
	if err == nil {
		for _, id := range ids {
			if pl, ok := places[id]; ok {
				return personRef{id: id, commune: pl.Commune, district: pl.District, province: pl.Province}, true
			}
		}
	}
	f.Add("person", msg.Both("cases.no_such_person_known"))
	return personRef{}, false
}

// idsBy returns up to five people with a look-up key; a failed look-up
// finds no one.
func (s *Service) idsBy(ctx context.Context, col, hash string) []int64 {
	ids, _ := s.People.IDsByKey(ctx, col, hash, 5)
	return ids
}

func nullable(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// Create registers a case: a new F0 is traced at once, and the case, its
// status history, its contacts (the worklist) and its exposure venues are
// saved in one transaction, so a failure leaves nothing behind. New F1s
// are then messaged through the outbox. A person already followed as F1/F2/F3
// keeps their record, which moves to the new status with its history.
func (s *Service) Create(ctx context.Context, p *auth.Principal, in NewCase) (Case, error) {
	if !CanRegister(p) {
		return Case{}, fmt.Errorf("create case: %w", errs.ErrForbidden)
	}
	confirmedBy, confirmedByName := confirmer(p)
	d, f := s.validate(&in)
	if !CanTrace(p) && in.Status != F0 {
		f.Add("status", msg.Both("cases.commune_registers_suspected"))
	}
	person, found := s.findPerson(ctx, in, f)
	if len(f) > 0 {
		return Case{}, fmt.Errorf("create case: %w", f.Err())
	}
	if !found {
		return Case{}, fmt.Errorf("create case: %w", errs.ErrNotFound)
	}
	if !p.InJurisdiction(person.commune) {
		return Case{}, fmt.Errorf("create case for a person of %s: %w", person.commune, errs.ErrForbidden)
	}
	var w tracing.Window
	if in.Status == F0 {
		w = s.infectiousWindow(d)
		if w.To.Sub(w.From) > s.MaxWindow {
			return Case{}, fmt.Errorf("create case: %w", &errs.Invalid{Fields: map[string]string{"window": msg.Both("cases.infectious_window_days",
				int(w.To.Sub(w.From).Hours()/24))}})
		}
		if !w.To.After(w.From) {
			return Case{}, fmt.Errorf("create case: %w", &errs.Invalid{Fields: map[string]string{"isolation_start": msg.Both("cases.isolation_starts_before_infectious")}})
		}
	}
	// The source: given, else the case this person was last a contact of.
	var source int64
	if in.SourceCaseID > 0 {
		src, err := s.lookup(ctx, s.DB.R, in.SourceCaseID)
		if err != nil || !p.InJurisdiction(src.CommuneCode) {
			return Case{}, fmt.Errorf("create case: %w", &errs.Invalid{Fields: map[string]string{"source_case_id": msg.Both("cases.no_such_source_case")}})
		}
		source = src.ID
	} else {
		err := s.DB.R.QueryRowContext(ctx, `SELECT c.case_id FROM contacts c JOIN cases k ON k.id = c.case_id
			WHERE c.person_id = $1 AND k.person_id <> $1 ORDER BY c.first_shared DESC, c.id DESC LIMIT 1`, person.id).Scan(&source)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Case{}, fmt.Errorf("create case: %w", err)
		}
	}
	// Trace before writing: reads only, so the transaction stays short.
	var trace *tracing.Trace
	if in.Status == F0 {
		var err error
		if trace, err = s.trace(ctx, person.id, w); err != nil {
			return Case{}, fmt.Errorf("create case: %w", err)
		}
	}
	now := s.Now().Unix()
	var c Case
	var newContacts []int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var prevID int64
		var prevStatus string
		err := tx.QueryRowContext(ctx, "SELECT id, status FROM cases WHERE person_id = $1 ORDER BY id DESC LIMIT 1", person.id).Scan(&prevID, &prevStatus)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id := prevID
		switch {
		case prevID != 0 && (prevStatus == in.Status || (prevStatus == F0 && in.Status != Recovered)):
			return &errs.Invalid{Fields: map[string]string{"person": msg.Both("cases.person_already_case_change", prevStatus, prevID)}}
		case prevID != 0 && (prevStatus == F1 || prevStatus == F2 || prevStatus == F3 || (prevStatus == F0 && in.Status == Recovered)):
			_, err = tx.ExecContext(ctx, `UPDATE cases SET status = $1, sample_date = COALESCE($2, sample_date), onset_date = COALESCE($3, onset_date),
				isolation_kind = CASE WHEN $4 = '' THEN isolation_kind ELSE $4 END, isolation_place = CASE WHEN $5 = '' THEN isolation_place ELSE $5 END,
				isolation_start = COALESCE($6, isolation_start), isolation_end = COALESCE($7, isolation_end),
				confirmed_by = CASE WHEN $1 = 'F0' THEN $8 ELSE confirmed_by END,
				confirmed_by_name = CASE WHEN $1 = 'F0' THEN $9 ELSE confirmed_by_name END,
				source_case_id = COALESCE(source_case_id, $10), updated_at = $11 WHERE id = $12`,
				in.Status, nullable(d.sample), nullable(d.onset), in.IsolationKind, in.IsolationPlace, nullable(d.isoStart), nullable(d.isoEnd),
				confirmedBy, confirmedByName, nullable(source), now, prevID)
		default:
			prevStatus = ""
			err = tx.QueryRowContext(ctx, `INSERT INTO cases (person_id, status, sample_date, onset_date, isolation_kind, isolation_place,
				isolation_start, isolation_end, confirmed_by, confirmed_by_name, source_case_id, commune_code, district_code, province_code, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id`,
				person.id, in.Status, nullable(d.sample), nullable(d.onset), in.IsolationKind, in.IsolationPlace, nullable(d.isoStart), nullable(d.isoEnd),
				confirmedBy, confirmedByName, nullable(source), person.commune, person.district, person.province, now).Scan(&id)
		}
		if err != nil {
			return err
		}
		// A suspected F0 enters the history as suspected: it becomes F0 (and
		// is counted as confirmed) the day district or province confirms it.
		histStatus := in.Status
		if in.Status == F0 && confirmedBy == nil {
			histStatus = Suspected
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_history (case_id, at, from_status, to_status, user_id, username, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, now, prevStatus, histStatus, p.UserID, p.Username, in.Note); err != nil {
			return err
		}
		if in.Status == F0 {
			// Whoever was following this person as a contact: they are a case now.
			if _, err := tx.ExecContext(ctx, `UPDATE contacts SET closed = 1, outcome = 'confirmed_f0', outcome_at = $1 WHERE person_id = $2 AND closed = 0`, now, person.id); err != nil {
				return err
			}
			if newContacts, _, err = s.saveTrace(ctx, tx, id, trace, now); err != nil {
				return err
			}
		}
		c, err = s.lookup(ctx, tx, id)
		return err
	})
	if err != nil {
		return Case{}, fmt.Errorf("create case: %w", err)
	}
	if len(newContacts) > 0 {
		s.notifyNew(ctx, c)
	}
	return c, nil
}

// Confirm records that district or province health confirmed a suspected
// case as F0; its proven F1s are messaged from then on. Confirming a
// confirmed case changes nothing.
func (s *Service) Confirm(ctx context.Context, p *auth.Principal, id int64) (Case, error) {
	if !CanConfirm(p) {
		return Case{}, fmt.Errorf("confirm case: %w", errs.ErrForbidden)
	}
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return Case{}, err
	}
	if c.Status != F0 {
		return Case{}, fmt.Errorf("confirm case %d: %w", id, &errs.Invalid{Fields: map[string]string{"status": msg.Both("cases.confirm_only_f0")}})
	}
	if !c.Suspected {
		return c, nil
	}
	now := s.Now().Unix()
	confirmed := false
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE cases SET confirmed_by = $1, confirmed_by_name = $2, updated_at = $3 WHERE id = $4 AND confirmed_by IS NULL",
			p.UserID, p.Username, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // confirmed meanwhile (a repeat, another server): nothing more to do
		}
		confirmed = true
		_, err = tx.ExecContext(ctx, `INSERT INTO case_history (case_id, at, from_status, to_status, user_id, username, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, now, Suspected, F0, p.UserID, p.Username, msg.T("vi", "cases.confirmed_note"))
		return err
	})
	if err != nil {
		return Case{}, fmt.Errorf("confirm case %d: %w", id, err)
	}
	if c, err = s.Get(ctx, p, id); err != nil {
		return Case{}, err
	}
	if confirmed {
		s.notifyNew(ctx, c)
	}
	return c, nil
}

// SetStatus moves a case to another status (F1 → F0, F0 → recovered, ...),
// keeping the change in the history.
func (s *Service) SetStatus(ctx context.Context, p *auth.Principal, id int64, status, note string) (Case, error) {
	if !CanTrace(p) {
		return Case{}, fmt.Errorf("set status: %w", errs.ErrForbidden)
	}
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return Case{}, err
	}
	if !validStatus(status) {
		return Case{}, fmt.Errorf("set status: %w", &errs.Invalid{Fields: map[string]string{"status": msg.Both("cases.unknown_status")}})
	}
	if status == F0 && c.SampleDate == "" {
		return Case{}, fmt.Errorf("set status: %w", &errs.Invalid{Fields: map[string]string{"sample_date": msg.Both("cases.f0_needs_sample_date")}})
	}
	if len([]rune(note)) > 500 {
		return Case{}, fmt.Errorf("set status: %w", &errs.Invalid{Fields: map[string]string{"note": msg.Both("cases.note_at_most_500")}})
	}
	if status == c.Status {
		return c, nil
	}
	if status == F0 {
		c.Status = F0
		w, err := s.Window(c)
		if err != nil {
			return Case{}, fmt.Errorf("set status: %w", err)
		}
		if w.To.Sub(w.From) > s.MaxWindow {
			return Case{}, fmt.Errorf("set status: %w", &errs.Invalid{Fields: map[string]string{"window": msg.Both("cases.infectious_window_more_than")}})
		}
		c.Status = ""
	}
	now := s.Now().Unix()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE cases SET status = $1, updated_at = $2 WHERE id = $3", status, now, id); err != nil {
			return err
		}
		if status == F0 { // confirmed by whoever may, else suspected
			by, name := confirmer(p)
			if _, err := tx.ExecContext(ctx, "UPDATE cases SET confirmed_by = $1, confirmed_by_name = $2 WHERE id = $3", by, name, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO case_history (case_id, at, from_status, to_status, user_id, username, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, now, c.Status, status, p.UserID, p.Username, note)
		return err
	})
	if err != nil {
		return Case{}, fmt.Errorf("set status: %w", err)
	}
	c, err = s.Get(ctx, p, id)
	if err != nil {
		return Case{}, err
	}
	if status == F0 {
		// A positive F1: traced now, their F1s messaged.
		if err := s.Refresh(ctx, c); err != nil {
			return Case{}, fmt.Errorf("set status: %w", err)
		}
	}
	return c, nil
}
