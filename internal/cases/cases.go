// Package cases is the registry of confirmed cases (F0) and of the people
// followed because of them (F1, F2, ...): statuses with their history,
// isolation, links from each case to its source, the contacts tracing finds
// (kept as each commune's worklist with the outcome of every call), the
// venues an F0 exposed, notifications to new F1s, laboratory imports and
// exports. Tracing itself is internal/tracing's; this package decides whom
// to trace and keeps what comes of it.
package cases

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/tracing"
	"anticovid/internal/vault"
)

// Statuses a person's case moves through. F1 → F0 when positive.
const (
	F0        = "F0"
	F1        = "F1"
	F2        = "F2"
	F3        = "F3"
	Negative  = "negative"
	Recovered = "recovered"
)

// Suspected is not a status a case is in but a step of its history: an F0
// the commune registered, until district or province confirms it
// (Case.Suspected says where a case stands).
const Suspected = "suspected"

// Statuses lists every status.
var Statuses = []string{F0, F1, F2, F3, Negative, Recovered}

// Isolation kinds.
const (
	IsolationHome     = "home"
	IsolationFacility = "facility"
)

// Case is one person's record in the registry. Dates are "YYYY-MM-DD" in
// Asia/Ho_Chi_Minh ("" when unknown).
type Case struct {
	ID              int64  `json:"id"`
	PersonID        int64  `json:"person_id"`
	Status          string `json:"status"`
	SampleDate      string `json:"sample_date,omitempty"`
	OnsetDate       string `json:"onset_date,omitempty"`
	IsolationKind   string `json:"isolation_kind,omitempty"`
	IsolationPlace  string `json:"isolation_place,omitempty"`
	IsolationStart  string `json:"isolation_start,omitempty"`
	IsolationEnd    string `json:"isolation_end,omitempty"`
	ConfirmedBy     int64  `json:"confirmed_by,omitempty"`
	ConfirmedByName string `json:"confirmed_by_name,omitempty"`
	// Suspected: an F0 the commune registered that district or province
	// health has not confirmed yet (traced, its F1s not messaged).
	Suspected    bool      `json:"suspected,omitempty"`
	SourceCaseID *int64    `json:"source_case_id,omitempty"`
	CommuneCode  string    `json:"commune_code"`
	DistrictCode string    `json:"district_code"`
	ProvinceCode string    `json:"province_code"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// HistoryEntry is one status change.
type HistoryEntry struct {
	At       time.Time `json:"at"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Username string    `json:"username"`
	Note     string    `json:"note,omitempty"`
}

// Service keeps cases, contacts and their follow-up.
type Service struct {
	DB     *sqldb.DB
	Vault  *vault.Vault
	People *people.Service
	Engine *tracing.Engine
	Rules  *tracing.Settings // the province's tracing rules, applied to Engine
	Jobs   *tracing.Jobs
	Outbox *notify.Outbox // nil: new F1s are not messaged
	Log    *slog.Logger
	Now    func() time.Time

	// FollowUp is how soon a new contact must be called.
	FollowUp time.Duration
	// Quarantine is how long a contact is quarantined after the last exposure.
	Quarantine time.Duration
	// MaxWindow is the longest infectious window accepted.
	MaxWindow time.Duration
	// Hotline is printed in messages to contacts.
	Hotline string
	// Background lives as long as the server; jobs run in it.
	Background context.Context
	// Receivers reports whether a province has officials on this system to
	// take over contacts handed to it (auth: an active administrator); nil:
	// every province has.
	Receivers func(ctx context.Context, province string) (bool, error)
}

// NewService returns a case registry tracing QR check-ins with the default
// rules. Add sources (Bluetooth) to s.Engine.Sources.
func NewService(db *sqldb.DB, ppl *people.Service, outbox *notify.Outbox, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := tracing.NewEngine(db, tracing.DefaultRules())
	s := &Service{DB: db, Vault: ppl.Vault, People: ppl, Engine: e, Rules: tracing.NewSettings(db, e), Jobs: &tracing.Jobs{DB: db, Engine: e, Log: log},
		Outbox: outbox, Log: log, Now: time.Now, FollowUp: 24 * time.Hour, Quarantine: 14 * 24 * time.Hour,
		MaxWindow: 30 * 24 * time.Hour, Hotline: "1900 9095"}
	s.Jobs.Resume = s.resumeF2
	return s
}

// hcm is Asia/Ho_Chi_Minh (no DST since 1975): dates are local days.
var hcm = time.FixedZone("ICT", 7*3600)

// ParseDate reads "YYYY-MM-DD" or "DD/MM/YYYY" as the start of that day in
// Asia/Ho_Chi_Minh.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
		if t, err := time.ParseInLocation(layout, s, hcm); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
}

func formatDate(u sql.NullInt64) string {
	if !u.Valid {
		return ""
	}
	return time.Unix(u.Int64, 0).In(hcm).Format("2006-01-02")
}

// CanTrace reports whether p takes part in tracing (registers cases, runs
// traces, sees a case's figures): health tracers, province administrators,
// and the departments the directive tasks with tracing (Health, Police,
// Information and Communications). Personal rows need more: standing within
// p's jurisdiction, which Police and ICT lack (NeedsGrant), or a grant.
func CanTrace(p *auth.Principal) bool {
	if p == nil {
		return false
	}
	switch p.Role {
	case auth.HealthTracer, auth.ProvinceAdmin:
		return true
	case auth.DepartmentOfficer:
		return p.Department == "health" || p.Department == "police" || p.Department == "ict"
	}
	return false
}

// CanRegister reports whether p may register a case: those who trace, the
// commune officers whose health station registers suspected cases, and the
// district officers who confirm them.
func CanRegister(p *auth.Principal) bool {
	return CanTrace(p) || p.Can(auth.CommuneOfficer, auth.DistrictOfficer)
}

// CanConfirm reports whether p confirms a suspected case as F0: the
// directive gives it to district and province health, not the commune.
func CanConfirm(p *auth.Principal) bool {
	if !CanTrace(p) && !p.Can(auth.DistrictOfficer) || NeedsGrant(p) {
		return false
	}
	u, ok := geo.Get(p.Unit)
	return ok && u.Level != "commune"
}

// confirmer is what a case records as confirmed_by when p sets it F0:
// p, or nobody (a suspected case) when p may not confirm.
func confirmer(p *auth.Principal) (any, string) {
	if CanConfirm(p) {
		return p.UserID, p.Username
	}
	return nil, ""
}

// CanFollowUp reports whether p may work a commune's worklist: tracers, and
// the district and commune officers who go door to door.
func CanFollowUp(p *auth.Principal) bool {
	return CanTrace(p) || p.Can(auth.DistrictOfficer, auth.CommuneOfficer)
}

const caseCols = `id, person_id, status, sample_date, onset_date, isolation_kind, isolation_place, isolation_start, isolation_end,
	confirmed_by, confirmed_by_name, source_case_id, commune_code, district_code, province_code, created_at, updated_at`

func scanCase(row interface{ Scan(...any) error }) (Case, error) {
	var c Case
	var sample, onset, isoStart, isoEnd, confirmedBy, source sql.NullInt64
	var created, updated int64
	if err := row.Scan(&c.ID, &c.PersonID, &c.Status, &sample, &onset, &c.IsolationKind, &c.IsolationPlace, &isoStart, &isoEnd,
		&confirmedBy, &c.ConfirmedByName, &source, &c.CommuneCode, &c.DistrictCode, &c.ProvinceCode, &created, &updated); err != nil {
		return Case{}, err
	}
	c.SampleDate, c.OnsetDate, c.IsolationStart, c.IsolationEnd = formatDate(sample), formatDate(onset), formatDate(isoStart), formatDate(isoEnd)
	c.ConfirmedBy = confirmedBy.Int64
	c.Suspected = c.Status == F0 && !confirmedBy.Valid
	if source.Valid {
		c.SourceCaseID = &source.Int64
	}
	c.CreatedAt, c.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return c, nil
}

// lookup returns a case with no jurisdiction check.
func (s *Service) lookup(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (Case, error) {
	c, err := scanCase(q.QueryRowContext(ctx, "SELECT "+caseCols+" FROM cases WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fmt.Errorf("case %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Case{}, fmt.Errorf("case %d: %w", id, err)
	}
	return c, nil
}

// Get returns a case within p's jurisdiction.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id int64) (Case, error) {
	if !CanFollowUp(p) {
		return Case{}, fmt.Errorf("case %d: %w", id, errs.ErrForbidden)
	}
	c, err := s.lookup(ctx, s.DB.R, id)
	if err != nil {
		return Case{}, err
	}
	if !p.InJurisdiction(c.CommuneCode) {
		return Case{}, fmt.Errorf("case %d: %w", id, errs.ErrForbidden)
	}
	return c, nil
}

// History returns a case's status changes, oldest first.
func (s *Service) History(ctx context.Context, p *auth.Principal, id int64) ([]HistoryEntry, error) {
	if _, _, err := s.Open(ctx, p, id); err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT at, from_status, to_status, username, note FROM case_history WHERE case_id = $1 ORDER BY at, id", id)
	if err != nil {
		return nil, fmt.Errorf("history of case %d: %w", id, err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var h HistoryEntry
		var at int64
		if err := rows.Scan(&at, &h.From, &h.To, &h.Username, &h.Note); err != nil {
			return nil, fmt.Errorf("history of case %d: %w", id, err)
		}
		h.At = time.Unix(at, 0).UTC()
		out = append(out, h)
	}
	return out, rows.Err()
}

// Filter narrows a list of cases.
type Filter struct {
	Commune string // a unit within the caller's jurisdiction (commune or district); empty: all of it
	Status  string
	// Q is a phone, an ID number or a case number (#12), or words of the
	// person's name.
	Q        string
	From, To string // sample dates, YYYY-MM-DD, both ends included
	Sort     string // "" newest first, "oldest", "sample" (latest sample first)
	Limit    int
	Offset   int
}

// Sorts are the orders a case list offers.
var Sorts = []string{"", "oldest", "sample"}

var sortSQL = map[string]string{"": "created_at DESC, id DESC", "oldest": "created_at, id", "sample": "sample_date DESC, id DESC"}

// Listed is one page of a list of cases, with how many match in all.
// Capped: a search by name looked at the first people.NameScan cases (in
// the list's order) only.
type Listed struct {
	Cases  []Case `json:"cases"`
	Total  int    `json:"total"`
	Capped bool   `json:"capped,omitempty"`
}

// List returns cases in p's jurisdiction that match f, newest first. A
// search by person is recorded in the audit log: it tells whether someone
// is a case.
func (s *Service) List(ctx context.Context, p *auth.Principal, f Filter) (Listed, error) {
	if !CanFollowUp(p) {
		return Listed{}, fmt.Errorf("list cases: %w", errs.ErrForbidden)
	}
	where, args, err := scopeWhere(p, f.Commune)
	if err != nil {
		return Listed{}, fmt.Errorf("list cases: %w", err)
	}
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	bad := errs.Fields{}
	if f.Status != "" {
		if !validStatus(f.Status) {
			bad.Add("status", msg.Both("cases.unknown_status"))
		}
		add("status = $%d", f.Status)
	}
	where, args, badDays := sqldb.DayRange(where, args, "sample_date", f.From, f.To)
	for _, field := range badDays {
		bad.Add(field, msg.Both("cases.invalid_date_want_yyyy"))
	}
	order, ok := sortSQL[f.Sort]
	if !ok {
		bad.Add("sort", msg.Both("cases.unknown_sort"))
	}
	var search people.Search
	q := strings.TrimSpace(f.Q)
	// A case number is "#12", or digits too few for an ID number (a CMND
	// has 9).
	if n, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil && n > 0 && (strings.HasPrefix(q, "#") || len(q) < 9) {
		add("id = $%d", n)
	} else if q != "" && NeedsGrant(p) {
		// Police and ICT read people only through a grant: "is this
		// person a case?" is theirs to ask with one, not by search.
		return Listed{}, fmt.Errorf("list cases by person: %w", errs.ErrForbidden)
	} else if search, err = s.People.ParseSearch(ctx, q); err != nil {
		for k, v := range errs.FieldsOf(err) {
			bad.Add(k, v)
		}
		if len(bad) == 0 {
			return Listed{}, fmt.Errorf("list cases: %w", err)
		}
	}
	if len(bad) > 0 {
		return Listed{}, fmt.Errorf("list cases: %w", bad.Err())
	}
	if search.Exact {
		if len(search.IDs) == 0 {
			return Listed{Cases: []Case{}}, s.auditSearch(ctx, p, nil, msg.Both("cases.purpose.search"))
		}
		where, args = search.Where(where, args, "person_id")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	f.Offset = max(f.Offset, 0)
	var out Listed
	if len(search.Words) > 0 {
		all, err := s.caseRows(ctx, fmt.Sprintf("SELECT %s FROM cases WHERE %s ORDER BY %s LIMIT %d", caseCols, where, order, people.NameScan), args...)
		if err != nil {
			return Listed{}, fmt.Errorf("list cases: %w", err)
		}
		matched, err := people.KeepNamed(ctx, s.People, all, func(c Case) int64 { return c.PersonID }, search)
		if err != nil {
			return Listed{}, fmt.Errorf("list cases: %w", err)
		}
		out = Listed{Cases: people.Window(matched, f.Offset, f.Limit), Total: len(matched), Capped: len(all) == people.NameScan}
	} else {
		if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM cases WHERE "+where, args...).Scan(&out.Total); err != nil {
			return Listed{}, fmt.Errorf("list cases: %w", err)
		}
		args = append(args, f.Limit, f.Offset)
		if out.Cases, err = s.caseRows(ctx, fmt.Sprintf("SELECT %s FROM cases WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
			caseCols, where, order, len(args)-1, len(args)), args...); err != nil {
			return Listed{}, fmt.Errorf("list cases: %w", err)
		}
	}
	if out.Cases == nil {
		out.Cases = []Case{}
	}
	if q != "" {
		ids := make([]int64, len(out.Cases))
		for i, c := range out.Cases {
			ids[i] = c.PersonID
		}
		return out, s.auditSearch(ctx, p, ids, msg.Both("cases.purpose.search"))
	}
	return out, nil
}

// auditSearch records a search of a list by person (the case list, the
// contacts worklist's page, API and export) with the people it showed, each
// once, and also when it showed nobody: that someone was looked for is
// itself worth the record.
func (s *Service) auditSearch(ctx context.Context, p *auth.Principal, persons []int64, purpose string) error {
	_, strs := distinctPersons(len(persons), func(i int) int64 { return persons[i] })
	return auth.Audit(asCaller(ctx, p), s.DB, auth.ActionSearch, "person", strs, purpose)
}

// caseRows reads cases by a query selecting caseCols.
func (s *Service) caseRows(ctx context.Context, query string, args ...any) ([]Case, error) {
	rows, err := s.DB.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// scopeWhere restricts a table with commune/district/province columns to p's
// jurisdiction, or to one unit (a commune or a district) within it.
func scopeWhere(p *auth.Principal, unit string) (string, []any, error) {
	if unit != "" {
		u, ok := geo.Get(unit)
		if !ok || u.Level == "country" {
			return "", nil, &errs.Invalid{Fields: map[string]string{"commune": msg.Both("cases.unknown_commune_code")}}
		}
		if !p.InJurisdiction(unit) {
			return "", nil, errs.ErrForbidden
		}
		return u.Level + "_code = $1", []any{unit}, nil
	}
	col, val := p.Scope()
	if col == "" {
		return "1 = 1", nil, nil
	}
	return col + " = $1", []any{val}, nil
}

func validStatus(s string) bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}
