package declaration

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
)

// MayWork reports whether the caller works the health station's worklist:
// commune officers and health tracers within their unit, and the Department
// of Health across the province. Others (including venue managers and
// other departments) never see health answers.
func MayWork(p *auth.Principal) bool {
	if p == nil {
		return false
	}
	switch p.Role {
	case auth.CommuneOfficer, auth.HealthTracer:
		return true
	case auth.DepartmentOfficer:
		return p.Department == "health"
	}
	return false
}

// Worklist states.
const (
	StatusOpen    = "open"    // not handled yet (the default)
	StatusHandled = "handled" // handled, newest first
	StatusAll     = "all"
)

// Filter narrows the worklist.
type Filter struct {
	Unit     string // a unit within the caller's jurisdiction; empty: all of it
	Status   string // StatusOpen (default), StatusHandled or StatusAll
	Q        string // a phone or ID number, or words of the person's name
	From, To string // days declared, YYYY-MM-DD, both ends included
	Limit    int    // 1–200, default 50
	Offset   int
}

// Item is one flagged declaration, decrypted for the health station.
type Item struct {
	ID          int64     `json:"id"`
	PersonID    int64     `json:"person_id"`
	CreatedAt   time.Time `json:"created_at"`
	HasSymptoms bool      `json:"has_symptoms"`
	HadContact  bool      `json:"had_contact"`
	// Proof 0: made on a device that has not proved the phone, so the
	// answers may not be the person's own ("Chưa xác minh").
	Proof       int        `json:"proof"`
	HandledAt   *time.Time `json:"handled_at,omitempty"`
	HandledBy   string     `json:"handled_by,omitempty"` // username
	HandledNote string     `json:"handled_note,omitempty"`
	Answers     Input      `json:"answers"`
}

// flagged is the worklist predicate, written exactly as migration 0007's
// partial indexes state it so both planners use them.
const flagged = "(has_symptoms = 1 OR had_contact = 1)"

// Page is one page of the worklist and how many declarations match in
// all. Capped: a search by name looked at the first people.NameScan
// declarations (in the worklist's order) only.
type Page struct {
	Items  []Item
	Total  int
	Capped bool
}

// Worklist returns the flagged declarations in the caller's jurisdiction
// (narrowed by f). It writes the audit entry before decrypting anything: if
// the entry cannot be written, nothing is returned. purpose is recorded with
// it.
func (s *Service) Worklist(ctx context.Context, p *auth.Principal, f Filter, purpose string) ([]Item, error) {
	pg, err := s.WorklistPage(ctx, p, f, purpose)
	if err != nil {
		return nil, err
	}
	return pg.Items, nil
}

// WorklistPage is Worklist with the count of what matches, in one read.
func (s *Service) WorklistPage(ctx context.Context, p *auth.Principal, f Filter, purpose string) (Page, error) {
	where, args, order, search, err := s.worklistWhere(ctx, p, f)
	if err != nil {
		return Page{}, err
	}
	if search.Exact && len(search.IDs) == 0 {
		return Page{Items: []Item{}}, nil
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit, f.Offset = min(f.Limit, 200), max(f.Offset, 0)
	limit, offset := f.Limit, f.Offset
	var pg Page
	if len(search.Words) > 0 {
		// By name: the first NameScan rows, kept when the declared name
		// matches, then the page.
		ids, capped, err := s.namedIDs(ctx, where, args, order, search)
		if err != nil {
			return Page{}, err
		}
		pg.Total, pg.Capped = len(ids), capped
		if ids = people.Window(ids, f.Offset, f.Limit); len(ids) == 0 {
			return Page{Items: []Item{}, Total: pg.Total, Capped: capped}, nil
		}
		where, args = "d.id IN ("+sqldb.In(1, len(ids))+")", make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		offset = 0
	} else if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM declarations d WHERE "+where, args...).Scan(&pg.Total); err != nil {
		return Page{}, fmt.Errorf("worklist count: %w", err)
	}
	items, err := s.worklistItems(ctx, p, where, args, order, limit, offset, purpose)
	pg.Items = items
	return pg, err
}

// worklistItems reads, audits and opens one page of declarations.
func (s *Service) worklistItems(ctx context.Context, p *auth.Principal, where string, args []any, order string, limit, offset int, purpose string) ([]Item, error) {
	args = append(args, limit, offset)
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT d.id, d.person_id, d.answers_enc, d.has_symptoms, d.had_contact,
		d.created_at, d.handled_at, d.handled_note, COALESCE(d.handled_by, 0), d.proof
		FROM declarations d
		WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d`, where, order, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("worklist: %w", err)
	}
	defer rows.Close()
	type sealed struct {
		item    Item
		enc     []byte
		handler int64 // user id; the name comes from auth
	}
	var list []sealed
	var handlers []int64
	for rows.Next() {
		var it sealed
		var sym, contact int
		var created int64
		var handled sql.NullInt64
		if err := rows.Scan(&it.item.ID, &it.item.PersonID, &it.enc, &sym, &contact, &created, &handled,
			&it.item.HandledNote, &it.handler, &it.item.Proof); err != nil {
			return nil, fmt.Errorf("worklist: %w", err)
		}
		it.item.HasSymptoms, it.item.HadContact = sym != 0, contact != 0
		it.item.CreatedAt = time.Unix(created, 0).UTC()
		if handled.Valid {
			t := time.Unix(handled.Int64, 0).UTC()
			it.item.HandledAt = &t
		}
		list = append(list, it)
		handlers = append(handlers, it.handler)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("worklist: %w", err)
	}
	names, err := auth.Usernames(ctx, s.DB, handlers)
	if err != nil {
		return nil, fmt.Errorf("worklist: %w", err)
	}
	for i := range list {
		list[i].item.HandledBy = names[list[i].handler]
	}
	out := make([]Item, 0, len(list))
	if len(list) == 0 {
		return out, nil
	}
	ids := make([]string, len(list))
	for i, it := range list {
		ids[i] = strconv.FormatInt(it.item.ID, 10)
	}
	if auth.From(ctx) != p {
		ctx = auth.WithPrincipal(ctx, p) // the audit entry names the caller given, whatever ctx held
	}
	if err := auth.Audit(ctx, s.DB, auth.ActionView, "declaration", ids, purpose); err != nil {
		return nil, fmt.Errorf("worklist: %w", err)
	}
	for _, it := range list {
		doc, err := s.Vault.Open(it.enc)
		if err != nil {
			return nil, fmt.Errorf("worklist: declaration %d: %w", it.item.ID, err)
		}
		if err := json.Unmarshal([]byte(doc), &it.item.Answers); err != nil {
			return nil, fmt.Errorf("worklist: declaration %d: %w", it.item.ID, err)
		}
		if it.item.HandledNote, err = s.openNote(it.item.HandledNote); err != nil {
			return nil, fmt.Errorf("worklist: declaration %d: %w", it.item.ID, err)
		}
		out = append(out, it.item)
	}
	return out, nil
}

// namedIDs returns, in order, the ids of the first people.NameScan
// declarations matching where whose declared name (the one the station
// sees: a phone shared by a family declares several) has the search's
// words, and whether it stopped at NameScan.
func (s *Service) namedIDs(ctx context.Context, where string, args []any, order string, search people.Search) ([]int64, bool, error) {
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf("SELECT d.id, d.answers_enc FROM declarations d WHERE %s ORDER BY %s LIMIT %d", where, order, people.NameScan), args...)
	if err != nil {
		return nil, false, fmt.Errorf("worklist by name: %w", err)
	}
	defer rows.Close()
	var ids []int64
	n := 0
	for rows.Next() {
		var id int64
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return nil, false, fmt.Errorf("worklist by name: %w", err)
		}
		n++
		var doc struct{ Name string }
		if opened, err := s.Vault.Open(sealed); err == nil && json.Unmarshal([]byte(opened), &doc) == nil && people.NameHas(doc.Name, search) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("worklist by name: %w", err)
	}
	return ids, n == people.NameScan, nil
}

// worklistWhere is the condition over declarations (alias d) and the order
// of p's worklist narrowed by f, and the search by person it asks for.
func (s *Service) worklistWhere(ctx context.Context, p *auth.Principal, f Filter) (string, []any, string, people.Search, error) {
	var none people.Search
	if !MayWork(p) {
		return "", nil, "", none, fmt.Errorf("worklist: %w", errs.ErrForbidden)
	}
	where, args := flagged, []any{}
	col, val := p.Scope()
	bad := errs.Fields{}
	if f.Unit != "" {
		u, ok := geo.Get(f.Unit)
		if !ok {
			return "", nil, "", none, fmt.Errorf("worklist: %w", &errs.Invalid{Fields: map[string]string{"unit": msg.Both("declaration.unknown_unit_code")}})
		}
		if !p.InJurisdiction(u.Code) {
			return "", nil, "", none, fmt.Errorf("worklist %s: %w", u.Code, errs.ErrForbidden)
		}
		col, val = "", ""
		if u.Level != "country" {
			col, val = u.Level+"_code", u.Code
		}
	}
	if col != "" {
		args = append(args, val)
		where += fmt.Sprintf(" AND d.%s = $%d", col, len(args))
	}
	order := "d.created_at DESC, d.id DESC"
	switch f.Status {
	case "", StatusOpen:
		where += " AND d.handled_at IS NULL"
		order = "d.created_at, d.id" // a queue: who has waited longest first
	case StatusHandled:
		where += " AND d.handled_at IS NOT NULL"
	case StatusAll:
	default:
		bad.Add("status", msg.Both("declaration.status_open_handled_or"))
	}
	where, args, badDays := sqldb.DayRange(where, args, "d.created_at", f.From, f.To)
	for _, field := range badDays {
		bad.Add(field, msg.Both("declaration.date_want_yyyy_mm_dd"))
	}
	search, err := s.People.ParseSearch(ctx, f.Q)
	for k, v := range errs.FieldsOf(err) {
		bad.Add(k, v)
	}
	if len(bad) > 0 {
		return "", nil, "", none, fmt.Errorf("worklist: %w", bad.Err())
	}
	if err != nil {
		return "", nil, "", none, fmt.Errorf("worklist: %w", err)
	}
	where, args = search.Where(where, args, "d.person_id")
	return where, args, order, search, nil
}

// openNote decrypts a handling note: notes say what was done about a person's
// health, so they are sealed like the answers (base64 in the TEXT column).
func (s *Service) openNote(stored string) (string, error) {
	if stored == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return "", fmt.Errorf("note: %w", err)
	}
	return s.Vault.Open(b)
}

// MaxNoteLen bounds a handling note.
const MaxNoteLen = 500

// Handle marks a flagged declaration as handled by the caller, with a note
// of what was done (called, tested, told to stay home...). A declaration is
// handled once: a second attempt is ErrConflict.
func (s *Service) Handle(ctx context.Context, p *auth.Principal, id int64, note string) error {
	if !MayWork(p) {
		return fmt.Errorf("handle declaration %d: %w", id, errs.ErrForbidden)
	}
	var commune string
	var sym, contact int
	var handled sql.NullInt64
	err := s.DB.R.QueryRowContext(ctx, "SELECT commune_code, has_symptoms, had_contact, handled_at FROM declarations WHERE id = $1", id).
		Scan(&commune, &sym, &contact, &handled)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("handle declaration %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("handle declaration %d: %w", id, err)
	}
	if !p.InJurisdiction(commune) {
		return fmt.Errorf("handle declaration %d: %w", id, errs.ErrForbidden)
	}
	if sym == 0 && contact == 0 {
		return fmt.Errorf("handle declaration %d: not on the worklist: %w", id, errs.ErrNotFound)
	}
	f := errs.Fields{}
	text(f, "note", &note, 2, MaxNoteLen, "declaration.field.note")
	if err := f.Err(); err != nil {
		return fmt.Errorf("handle declaration %d: %w", id, err)
	}
	if handled.Valid {
		return fmt.Errorf("handle declaration %d: already handled: %w", id, errs.ErrConflict)
	}
	res, err := s.DB.W.ExecContext(ctx, "UPDATE declarations SET handled_at = $1, handled_by = $2, handled_note = $3 WHERE id = $4 AND handled_at IS NULL",
		s.now().Unix(), p.UserID, base64.StdEncoding.EncodeToString(s.Vault.Seal(note)), id)
	if err != nil {
		return fmt.Errorf("handle declaration %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("handle declaration %d: already handled: %w", id, errs.ErrConflict)
	}
	return nil
}

// OpenCount is how many flagged declarations in p's jurisdiction wait for
// the health station. It reads no answers, so it is not audited.
func (s *Service) OpenCount(ctx context.Context, p *auth.Principal) (int, error) {
	if !MayWork(p) {
		return 0, fmt.Errorf("open declarations: %w", errs.ErrForbidden)
	}
	where, args := flagged+" AND handled_at IS NULL", []any{}
	if col, val := p.Scope(); col != "" {
		where, args = fmt.Sprintf("%s = $1 AND %s", col, where), []any{val}
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM declarations WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("open declarations: %w", err)
	}
	return n, nil
}
