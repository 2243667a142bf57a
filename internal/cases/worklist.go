package cases

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/tracing"
)

// Call outcomes a tracer records.
const (
	OutcomeReached     = "reached"
	OutcomeUnreachable = "unreachable"
	OutcomeHome        = "quarantined_home"
	OutcomeFacility    = "sent_to_facility"
	OutcomeTested      = "tested"
	// OutcomeOutOfWindow closes a contact whose shared time all lies after
	// the case's isolation date, entered later (not a call's outcome).
	OutcomeOutOfWindow = "out_of_window"
)

// Outcomes lists the call outcomes in the order a form offers them.
var Outcomes = []string{OutcomeReached, OutcomeUnreachable, OutcomeHome, OutcomeFacility, OutcomeTested}

// nextCall is how soon after each outcome the contact must be called again;
// zero closes the follow-up (a facility takes over).
var nextCall = map[string]time.Duration{
	OutcomeReached:     24 * time.Hour,
	OutcomeUnreachable: 4 * time.Hour,
	OutcomeHome:        24 * time.Hour,
	OutcomeFacility:    0,
	OutcomeTested:      24 * time.Hour,
}

// WorkItem is one contact on a commune's worklist.
type WorkItem struct {
	ContactID int64 `json:"contact_id"`
	CaseID    int64 `json:"case_id"`
	// CaseCommune is the case's commune: a contact followed here may be of
	// a case elsewhere, whose page is not this commune's to open.
	CaseCommune     string             `json:"case_commune_code"`
	PersonID        int64              `json:"person_id"`
	Name            string             `json:"name"`
	Phone           string             `json:"phone"`
	Level           string             `json:"level"`
	Source          string             `json:"source"`
	VenueID         int64              `json:"venue_id"`
	VenueName       string             `json:"venue_name"`
	OverlapMinutes  int64              `json:"overlap_minutes"`
	FirstShared     time.Time          `json:"first_shared"`
	LastShared      time.Time          `json:"last_shared"`
	Vulnerable      bool               `json:"vulnerable"`
	Proof           int                `json:"proof"` // evidence grade: 0 unproven (call before acting), 1 phone proven, 2 seen by staff
	CommuneCode     string             `json:"commune_code"`
	DueAt           time.Time          `json:"due_at"`
	Overdue         bool               `json:"overdue"`
	Outcome         string             `json:"outcome,omitempty"`
	OutcomeAt       *time.Time         `json:"outcome_at,omitempty"`
	Calls           int                `json:"calls"`
	QuarantineUntil *time.Time         `json:"quarantine_until,omitempty"`
	Closed          bool               `json:"closed"`
	Evidence        []tracing.Exposure `json:"evidence,omitempty"`
}

// WorkFilter narrows a worklist.
type WorkFilter struct {
	Commune string // a commune or district within the jurisdiction; empty: all of it
	State   string // open (default), overdue, closed, all
	CaseID  int64  // one case's contacts only
	Q       string // a phone or ID number, or words of the contact's name
	Limit   int
	Offset  int
}

// WorkPage is one page of a worklist and how many contacts match in all.
// Capped: a search by name looked at the first people.NameScan contacts (in
// the worklist's order) only.
type WorkPage struct {
	Items  []WorkItem
	Total  int
	Capped bool
	found  []int64 // a search by phone or ID number: the people it found on the worklist, on this page or not
}

// Worklist returns the contacts to follow in p's jurisdiction (or one of its
// communes): overdue first, then the most urgent. It shows names and phones,
// so it is recorded in the audit log with its purpose before it is returned.
func (s *Service) Worklist(ctx context.Context, p *auth.Principal, f WorkFilter, purpose string) ([]WorkItem, error) {
	pg, err := s.WorkPage(ctx, p, f, purpose)
	return pg.Items, err
}

// WorkPage is Worklist with the count of what matches: one read (one scan
// and one opening of names for a search by name) for both.
func (s *Service) WorkPage(ctx context.Context, p *auth.Principal, f WorkFilter, purpose string) (WorkPage, error) {
	pg, err := s.workPage(ctx, p, f)
	if err != nil {
		return WorkPage{}, err
	}
	if err := s.auditWorkSearch(ctx, p, f, pg, purpose); err != nil {
		return WorkPage{}, err
	}
	if err := s.fillPersonal(ctx, p, pg.Items, auth.ActionView, purpose); err != nil {
		return WorkPage{}, err
	}
	return pg, nil
}

// auditWorkSearch records a worklist searched by person (f.Q) as the case
// list's search is, with the contacts' people it found or none (a search by
// phone or ID number: also those past the page shown, since its total says
// they are there); the reading of their names is recorded besides, as a
// view or an export.
func (s *Service) auditWorkSearch(ctx context.Context, p *auth.Principal, f WorkFilter, pg WorkPage, purpose string) error {
	if strings.TrimSpace(f.Q) == "" {
		return nil
	}
	persons := slices.Clone(pg.found)
	for _, it := range pg.Items {
		if !slices.Contains(persons, it.PersonID) {
			persons = append(persons, it.PersonID)
		}
	}
	return s.auditSearch(ctx, p, persons, purpose)
}

// workPage reads one page of p's worklist and the count, without names and
// phones; a search by name reads the first people.NameScan rows and keeps
// those whose contact's name matches.
func (s *Service) workPage(ctx context.Context, p *auth.Principal, f WorkFilter) (WorkPage, error) {
	where, args, search, err := s.workWhere(ctx, p, f)
	if err != nil || search.Exact && len(search.IDs) == 0 {
		return WorkPage{}, err
	}
	if f.Limit <= 0 || f.Limit > 5000 {
		f.Limit = 200
	}
	var pg WorkPage
	if len(search.Words) > 0 {
		all, err := s.workScan(ctx, where, args, people.NameScan, 0)
		if err != nil {
			return WorkPage{}, err
		}
		matched, err := people.KeepNamed(ctx, s.People, all, func(it WorkItem) int64 { return it.PersonID }, search)
		if err != nil {
			return WorkPage{}, fmt.Errorf("worklist: %w", err)
		}
		pg = WorkPage{Items: people.Window(matched, f.Offset, f.Limit), Total: len(matched), Capped: len(all) == people.NameScan}
	} else {
		if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM contacts c WHERE "+where, args...).Scan(&pg.Total); err != nil {
			return WorkPage{}, fmt.Errorf("worklist count: %w", err)
		}
		if pg.Items, err = s.workScan(ctx, where, args, f.Limit, max(f.Offset, 0)); err != nil {
			return WorkPage{}, err
		}
		if search.Exact && pg.Total > 0 {
			pg.found = search.IDs
		}
	}
	if err := s.nameVenues(ctx, pg.Items); err != nil {
		return WorkPage{}, fmt.Errorf("worklist: %w", err)
	}
	return pg, nil
}

// workWhere is the condition over contacts (alias c) of p's worklist
// narrowed by f, and the search by person it asks for.
func (s *Service) workWhere(ctx context.Context, p *auth.Principal, f WorkFilter) (string, []any, people.Search, error) {
	if !CanFollowUp(p) || NeedsGrant(p) {
		return "", nil, people.Search{}, fmt.Errorf("worklist: %w", errs.ErrForbidden)
	}
	where, args, err := scopeWhere(p, f.Commune)
	if err != nil {
		return "", nil, people.Search{}, fmt.Errorf("worklist: %w", err)
	}
	where, args, err = s.workFilter("c."+where, args, f)
	if err != nil {
		return "", nil, people.Search{}, err
	}
	search, err := s.People.ParseSearch(ctx, f.Q)
	if err != nil {
		return "", nil, people.Search{}, fmt.Errorf("worklist: %w", err)
	}
	where, args = search.Where(where, args, "c.person_id")
	return where, args, search, nil
}

// workFilter adds f's state and case to a condition over contacts.
func (s *Service) workFilter(where string, args []any, f WorkFilter) (string, []any, error) {
	switch f.State {
	case "", "open":
		where += " AND c.closed = 0"
	case "overdue":
		args = append(args, s.Now().Unix())
		where += fmt.Sprintf(" AND c.closed = 0 AND c.due_at < $%d", len(args))
	case "closed":
		where += " AND c.closed = 1"
	case "all":
	default:
		return "", nil, fmt.Errorf("worklist: %w", &errs.Invalid{Fields: map[string]string{"state": msg.Both("cases.state_open_overdue_closed")}})
	}
	if f.CaseID > 0 {
		args = append(args, f.CaseID)
		where += fmt.Sprintf(" AND c.case_id = $%d", len(args))
	}
	return where, args, nil
}

// workRows reads worklist rows matching where (over contacts' own columns)
// and the filter's state and case, without names and phones.
func (s *Service) workRows(ctx context.Context, where string, args []any, f WorkFilter) ([]WorkItem, error) {
	where, args, err := s.workFilter("c."+where, args, f)
	if err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 5000 {
		f.Limit = 200
	}
	out, err := s.workScan(ctx, where, args, f.Limit, max(f.Offset, 0))
	if err == nil {
		err = s.nameVenues(ctx, out)
	}
	return out, err
}

// workScan reads worklist rows matching a finished condition, in the
// worklist's order.
func (s *Service) workScan(ctx context.Context, where string, args []any, limit, offset int) ([]WorkItem, error) {
	now := s.Now().Unix()
	args = append(args, limit, offset)
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf("SELECT "+workCols+` FROM contacts c WHERE %s
		ORDER BY c.closed, c.due_at, c.vulnerable DESC, c.overlap_seconds DESC, c.id LIMIT $%d OFFSET $%d`, where, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("worklist: %w", err)
	}
	defer rows.Close()
	var out []WorkItem
	for rows.Next() {
		it, err := scanWork(rows, now)
		if err != nil {
			return nil, fmt.Errorf("worklist: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("worklist: %w", err)
	}
	return out, nil
}

// workCols are the columns scanWork reads, over contacts c.
const workCols = `c.id, c.case_id, c.person_id, c.level, c.source, c.venue_id,
	c.overlap_seconds, c.first_shared, c.last_shared, c.vulnerable, c.commune_code, c.due_at, c.outcome, c.outcome_at, c.calls,
	c.quarantine_until, c.closed, c.evidence, c.proof, (SELECT k.commune_code FROM cases k WHERE k.id = c.case_id)`

func scanWork(row interface{ Scan(...any) error }, now int64) (WorkItem, error) {
	var it WorkItem
	var overlap, first, last, due int64
	var vul, closed int
	var outcomeAt, qUntil sql.NullInt64
	var evidence string
	if err := row.Scan(&it.ContactID, &it.CaseID, &it.PersonID, &it.Level, &it.Source, &it.VenueID, &overlap, &first, &last,
		&vul, &it.CommuneCode, &due, &it.Outcome, &outcomeAt, &it.Calls, &qUntil, &closed, &evidence, &it.Proof, &it.CaseCommune); err != nil {
		return WorkItem{}, err
	}
	it.OverlapMinutes, it.FirstShared, it.LastShared, it.DueAt = overlap/60, unix(first), unix(last), unix(due)
	it.Vulnerable, it.Closed = vul == 1, closed == 1
	it.Overdue = !it.Closed && due < now
	if outcomeAt.Valid {
		t := unix(outcomeAt.Int64)
		it.OutcomeAt = &t
	}
	if qUntil.Valid {
		t := unix(qUntil.Int64)
		it.QuarantineUntil = &t
	}
	json.Unmarshal([]byte(evidence), &it.Evidence)
	return it, nil
}

// distinctPersons lists the person ids of n rows once each, in order, as
// ids to decrypt and as the strings the audit log records.
func distinctPersons(n int, person func(i int) int64) ([]int64, []string) {
	ids := make([]int64, 0, n)
	strs := make([]string, 0, n)
	seen := map[int64]bool{}
	for i := range n {
		if id := person(i); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
			strs = append(strs, strconv.FormatInt(id, 10))
		}
	}
	return ids, strs
}

// fillPersonal audits, then decrypts names and phones of work items.
func (s *Service) fillPersonal(ctx context.Context, p *auth.Principal, items []WorkItem, action, purpose string) error {
	if len(items) == 0 {
		return nil
	}
	ids, strs := distinctPersons(len(items), func(i int) int64 { return items[i].PersonID })
	if strings.TrimSpace(purpose) == "" {
		purpose = msg.Both("cases.contact_follow_up")
	}
	if err := auth.Audit(asCaller(ctx, p), s.DB, action, "person", strs, purpose); err != nil {
		return err
	}
	pii, err := s.People.Personal(ctx, ids)
	if err != nil {
		return err
	}
	for i := range items {
		d := pii[items[i].PersonID]
		items[i].Name, items[i].Phone = d.Name, d.Phone
	}
	return nil
}

// WorkItem returns one contact of the worklist, with its calls.
func (s *Service) WorkItem(ctx context.Context, p *auth.Principal, contactID int64) (WorkItem, []Call, error) {
	it, err := s.contact(ctx, p, contactID)
	if err != nil {
		return WorkItem{}, nil, err
	}
	items := []WorkItem{it}
	if err := s.fillPersonal(ctx, p, items, auth.ActionView, msg.Both("cases.contact_follow_up")); err != nil {
		return WorkItem{}, nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT at, username, outcome, note FROM contact_calls WHERE contact_id = $1 ORDER BY at, id", contactID)
	if err != nil {
		return WorkItem{}, nil, fmt.Errorf("calls: %w", err)
	}
	defer rows.Close()
	var calls []Call
	for rows.Next() {
		var c Call
		var at int64
		if err := rows.Scan(&at, &c.Username, &c.Outcome, &c.Note); err != nil {
			return WorkItem{}, nil, fmt.Errorf("calls: %w", err)
		}
		c.At = unix(at)
		calls = append(calls, c)
	}
	return items[0], calls, rows.Err()
}

// Call is one recorded call to a contact.
type Call struct {
	At       time.Time `json:"at"`
	Username string    `json:"username"`
	Outcome  string    `json:"outcome"`
	Note     string    `json:"note,omitempty"`
}

// contact returns a worklist row within p's jurisdiction, without personal data.
func (s *Service) contact(ctx context.Context, p *auth.Principal, id int64) (WorkItem, error) {
	if !CanFollowUp(p) || NeedsGrant(p) {
		return WorkItem{}, fmt.Errorf("contact %d: %w", id, errs.ErrForbidden)
	}
	it, err := scanWork(s.DB.R.QueryRowContext(ctx, "SELECT "+workCols+" FROM contacts c WHERE c.id = $1", id), s.Now().Unix())
	if errors.Is(err, sql.ErrNoRows) {
		return WorkItem{}, fmt.Errorf("contact %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return WorkItem{}, fmt.Errorf("contact %d: %w", id, err)
	}
	if !p.InJurisdiction(it.CommuneCode) {
		return WorkItem{}, fmt.Errorf("contact %d: %w", id, errs.ErrForbidden)
	}
	items := []WorkItem{it}
	if err := s.nameVenues(ctx, items); err != nil {
		return WorkItem{}, fmt.Errorf("contact %d: %w", id, err)
	}
	return items[0], nil
}

// nameVenues fills the venue names of worklist rows (the venue package
// owns them; Bluetooth contacts have none).
func (s *Service) nameVenues(ctx context.Context, items []WorkItem) error {
	ids := map[int64]bool{}
	for _, it := range items {
		ids[it.VenueID] = true
	}
	names, err := s.venueNames(ctx, ids)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].VenueName = names[items[i].VenueID]
	}
	return nil
}

// RecordCall keeps the outcome of a call to a contact and sets when the next
// one is due: home quarantine is checked daily until it ends, an unreachable
// contact is tried again within hours, a facility closes the follow-up.
func (s *Service) RecordCall(ctx context.Context, p *auth.Principal, contactID int64, outcome, note string) (WorkItem, error) {
	it, err := s.contact(ctx, p, contactID)
	if err != nil {
		return WorkItem{}, err
	}
	next, ok := nextCall[outcome]
	f := errs.Fields{}
	if !ok {
		f.Add("outcome", msg.Both("cases.outcome_reached_unreachable_quarantined"))
	}
	note = strings.TrimSpace(note)
	if len([]rune(note)) > 500 {
		f.Add("note", msg.Both("cases.note_at_most_500"))
	}
	if err := f.Err(); err != nil {
		return WorkItem{}, fmt.Errorf("record call: %w", err)
	}
	now := s.Now()
	closed := 0
	due := now.Add(next)
	if next == 0 {
		closed = 1
	}
	if it.QuarantineUntil != nil && outcome == OutcomeHome && !due.Before(*it.QuarantineUntil) {
		closed = 1 // the quarantine is over by the next call
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_calls (contact_id, at, user_id, username, outcome, note, province_code) VALUES ($1, $2, $3, $4, $5, $6,
			(SELECT c.province_code FROM contacts k JOIN cases c ON c.id = k.case_id WHERE k.id = $1))`,
			contactID, now.Unix(), p.UserID, p.Username, outcome, note); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE contacts SET outcome = $1, outcome_at = $2, calls = calls + 1, due_at = $3, closed = $4 WHERE id = $5",
			outcome, now.Unix(), due.Unix(), closed, contactID)
		return err
	})
	if err != nil {
		return WorkItem{}, fmt.Errorf("record call: %w", err)
	}
	return s.contact(ctx, p, contactID)
}

// FollowUp counts a worklist without reading anyone's details: the calls
// overdue now, the calls due within a day (overdue included: a new contact's
// first call is due within Service.FollowUp) and the quarantines that end
// within a day.
type FollowUp struct {
	Overdue          int `json:"overdue"`
	Due              int `json:"due"`
	QuarantineEnding int `json:"quarantine_ending"`
}

// FollowUpCounts returns p's FollowUp over its whole jurisdiction.
func (s *Service) FollowUpCounts(ctx context.Context, p *auth.Principal) (FollowUp, error) {
	if !CanFollowUp(p) || NeedsGrant(p) {
		return FollowUp{}, fmt.Errorf("follow-up counts: %w", errs.ErrForbidden)
	}
	where, args, err := scopeWhere(p, "")
	if err != nil {
		return FollowUp{}, fmt.Errorf("follow-up counts: %w", err)
	}
	now := s.Now()
	n := len(args)
	args = append(args, now.Unix(), now.Add(24*time.Hour).Unix())
	var f FollowUp
	err = s.DB.R.QueryRowContext(ctx, fmt.Sprintf(`SELECT
		COALESCE(SUM(CASE WHEN due_at < $%[1]d THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN due_at <= $%[2]d THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN quarantine_until >= $%[1]d AND quarantine_until <= $%[2]d THEN 1 ELSE 0 END), 0)
		FROM contacts WHERE %[3]s AND closed = 0`, n+1, n+2, where), args...).Scan(&f.Overdue, &f.Due, &f.QuarantineEnding)
	if err != nil {
		return FollowUp{}, fmt.Errorf("follow-up counts: %w", err)
	}
	return f, nil
}
