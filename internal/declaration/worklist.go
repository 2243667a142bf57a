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
	Unit   string // a unit within the caller's jurisdiction; empty: all of it
	Status string // StatusOpen (default), StatusHandled or StatusAll
	Limit  int    // 1–200, default 50
	Offset int
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

// Worklist returns the flagged declarations in the caller's jurisdiction
// (narrowed by f). It writes the audit entry before decrypting anything: if
// the entry cannot be written, nothing is returned. purpose is recorded with
// it.
func (s *Service) Worklist(ctx context.Context, p *auth.Principal, f Filter, purpose string) ([]Item, error) {
	if !MayWork(p) {
		return nil, fmt.Errorf("worklist: %w", errs.ErrForbidden)
	}
	where, args := flagged, []any{}
	col, val := p.Scope()
	if f.Unit != "" {
		u, ok := geo.Get(f.Unit)
		if !ok {
			return nil, fmt.Errorf("worklist: %w", &errs.Invalid{Fields: map[string]string{"unit": msg.Both("declaration.unknown_unit_code")}})
		}
		if !p.InJurisdiction(u.Code) {
			return nil, fmt.Errorf("worklist %s: %w", u.Code, errs.ErrForbidden)
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
		return nil, fmt.Errorf("worklist: %w", &errs.Invalid{Fields: map[string]string{"status": msg.Both("declaration.status_open_handled_or")}})
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 200 {
		f.Limit = 200
	}
	args = append(args, f.Limit, f.Offset)
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
