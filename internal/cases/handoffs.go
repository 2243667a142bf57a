package cases

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
)

// Hand-off methods and directions.
const (
	HandoffSystem = "system" // the other province's officials work the contact here
	HandoffFile   = "file"   // sent as an exported file, outside the system
	Outgoing      = "out"    // contacts of my province's cases who live elsewhere
	Incoming      = "in"     // contacts living in my province, of other provinces' cases
)

// Handoff is a contact who lives in another province than their case, and
// where its hand-off stands.
type Handoff struct {
	WorkItem
	FromProvince string     `json:"from_province"` // the case's province
	ToProvince   string     `json:"to_province"`   // where the contact lives
	Method       string     `json:"method,omitempty"`
	HandedBy     string     `json:"handed_by,omitempty"`
	HandedAt     *time.Time `json:"handed_at,omitempty"`
	ReceivedBy   string     `json:"received_by,omitempty"`
	ReceivedAt   *time.Time `json:"received_at,omitempty"`
}

// provinceOf is the province p administers; hand-offs are a province
// administrator's work.
func provinceOf(p *auth.Principal) (string, error) {
	u, ok := geo.Get(p.Unit)
	if !p.Can(auth.ProvinceAdmin) || !ok || u.Level != "province" {
		return "", fmt.Errorf("hand-offs: %w", errs.ErrForbidden)
	}
	return u.Code, nil
}

// handoffWhere selects, over contacts c, the open contacts crossing p's
// province in direction dir (and, when to is given, living in that province).
func handoffWhere(province, dir, to string) (string, []any, error) {
	switch dir {
	case Outgoing:
		// (A contact whose home is unknown has no province to go to.)
		where := "province_code <> $1 AND c.province_code <> '' AND c.case_id IN (SELECT id FROM cases WHERE province_code = $1) AND c.closed = 0"
		if to != "" {
			return where + " AND c.province_code = $2", []any{province, to}, nil
		}
		return where, []any{province}, nil
	case Incoming:
		return "province_code = $1 AND c.case_id IN (SELECT id FROM cases WHERE province_code <> $1) AND c.closed = 0", []any{province}, nil
	}
	return "", nil, &errs.Invalid{Fields: map[string]string{"direction": msg.Both("cases.handoff.direction")}}
}

// Handoffs lists the open contacts crossing p's province in direction dir,
// with names and phones (audited with purpose) and their hand-off state.
func (s *Service) Handoffs(ctx context.Context, p *auth.Principal, dir, purpose string) ([]Handoff, error) {
	province, err := provinceOf(p)
	if err != nil {
		return nil, err
	}
	where, args, err := handoffWhere(province, dir, "")
	if err != nil {
		return nil, fmt.Errorf("hand-offs: %w", err)
	}
	items, err := s.workRows(ctx, where, args, WorkFilter{State: "all", Limit: exportLimit})
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(purpose) == "" {
		purpose = msg.Both("cases.handoff.purpose")
	}
	if err := s.fillPersonal(ctx, p, items, auth.ActionView, purpose); err != nil {
		return nil, err
	}
	return s.withHandoffs(ctx, items)
}

// withHandoffs adds each item's hand-off state, and the provinces.
func (s *Service) withHandoffs(ctx context.Context, items []WorkItem) ([]Handoff, error) {
	out := make([]Handoff, len(items))
	byContact := make(map[int64]*Handoff, len(items))
	ids := make([]int64, len(items))
	cases := map[int64]bool{}
	for i, it := range items {
		out[i] = Handoff{WorkItem: it, ToProvince: provinceCode(it.CommuneCode)}
		byContact[it.ContactID], ids[i] = &out[i], it.ContactID
		cases[it.CaseID] = true
	}
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rows, err := s.DB.R.QueryContext(ctx, `SELECT contact_id, method, handed_by, handed_at, received_by, received_at
			FROM contact_handoffs WHERE contact_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, at int64
			var method, by, rby string
			var rat sql.NullInt64
			if err := rows.Scan(&id, &method, &by, &at, &rby, &rat); err != nil {
				return err
			}
			h := byContact[id]
			t := time.Unix(at, 0).UTC()
			h.Method, h.HandedBy, h.HandedAt, h.ReceivedBy = method, by, &t, rby
			if rat.Valid {
				r := time.Unix(rat.Int64, 0).UTC()
				h.ReceivedAt = &r
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("hand-offs: %w", err)
	}
	caseIDs := make([]int64, 0, len(cases))
	for id := range cases {
		caseIDs = append(caseIDs, id)
	}
	from := map[int64]string{}
	err = sqldb.Chunks(caseIDs, nil, func(in string, args []any) error {
		rows, err := s.DB.R.QueryContext(ctx, "SELECT id, province_code FROM cases WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var pc string
			if err := rows.Scan(&id, &pc); err != nil {
				return err
			}
			from[id] = pc
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("hand-offs: %w", err)
	}
	for i := range out {
		out[i].FromProvince = from[out[i].CaseID]
	}
	return out, nil
}

// receives reports whether province has officials here to take over
// contacts (Service.Receivers; without it, every province does).
func (s *Service) receives(ctx context.Context, province string) (bool, error) {
	if s.Receivers == nil {
		return true, nil
	}
	return s.Receivers(ctx, province)
}

// PendingHandoffs returns the ids of p's province's outgoing contacts
// living in province to that are not handed over yet, reading no one's
// details (the page's "hand over in the system" button).
func (s *Service) PendingHandoffs(ctx context.Context, p *auth.Principal, to string) ([]int64, error) {
	province, err := provinceOf(p)
	if err != nil {
		return nil, err
	}
	where, args, _ := handoffWhere(province, Outgoing, to)
	items, err := s.workRows(ctx, where+" AND c.id NOT IN (SELECT contact_id FROM contact_handoffs)", args, WorkFilter{State: "all", Limit: exportLimit})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ContactID
	}
	return ids, nil
}

// provinceCode is the province of a commune.
func provinceCode(commune string) string {
	u, _ := geo.Ancestor(commune, "province")
	return u.Code
}

// HandOff records that p's province handed these outgoing contacts to the
// provinces where they live, in the system. A contact already handed keeps
// its first hand-off; one not outgoing from p's province is refused. It
// returns how many were newly handed.
func (s *Service) HandOff(ctx context.Context, p *auth.Principal, contactIDs []int64) (int, error) {
	province, err := provinceOf(p)
	if err != nil {
		return 0, err
	}
	if len(contactIDs) == 0 || len(contactIDs) > exportLimit {
		return 0, fmt.Errorf("hand off: %w", &errs.Invalid{Fields: map[string]string{"contact_ids": msg.Both("cases.handoff.ids")}})
	}
	where, args, _ := handoffWhere(province, Outgoing, "")
	var items []WorkItem
	err = sqldb.Chunks(contactIDs, args, func(in string, args []any) error {
		got, err := s.workRows(ctx, where+" AND c.id IN ("+in+")", args, WorkFilter{State: "all", Limit: exportLimit})
		items = append(items, got...)
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(items) != len(uniq(contactIDs)) {
		return 0, fmt.Errorf("hand off: %w", errs.ErrNotFound)
	}
	// In the system only to a province whose officials work here: any
	// other is sent the file (ExportHandoff).
	checked := map[string]bool{}
	for _, it := range items {
		to := provinceCode(it.CommuneCode)
		if checked[to] {
			continue
		}
		ok, err := s.receives(ctx, to)
		if err != nil {
			return 0, fmt.Errorf("hand off: %w", err)
		}
		if !ok {
			return 0, fmt.Errorf("hand off to %s: %w", to, &errs.Invalid{Fields: map[string]string{"contact_ids": msg.Both("cases.handoff.no_receiver")}})
		}
		checked[to] = true
	}
	return s.recordHandoffs(ctx, p, province, HandoffSystem, items)
}

func uniq(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// recordHandoffs stores the hand-off of items not yet handed.
func (s *Service) recordHandoffs(ctx context.Context, p *auth.Principal, province, method string, items []WorkItem) (int, error) {
	now := s.Now().Unix()
	n := 0
	for _, it := range items {
		res, err := s.DB.W.ExecContext(ctx, `INSERT INTO contact_handoffs (contact_id, from_province, to_province, method, handed_by, handed_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contact_id) DO NOTHING`,
			it.ContactID, province, provinceCode(it.CommuneCode), method, p.Username, now)
		if err != nil {
			return n, fmt.Errorf("hand off %d: %w", it.ContactID, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

// ExportHandoff writes the outgoing contacts living in province to (not yet
// received) as a follow-up file to send that province, audited as an
// export with purpose, and records them handed by file. It returns the
// file name.
func (s *Service) ExportHandoff(ctx context.Context, p *auth.Principal, to, format, purpose string, w io.Writer) (string, error) {
	province, err := provinceOf(p)
	if err != nil {
		return "", err
	}
	if err := checkExport(format, purpose); err != nil {
		return "", fmt.Errorf("export hand-off: %w", err)
	}
	u, ok := geo.Get(to)
	if !ok || u.Level != "province" || to == province {
		return "", fmt.Errorf("export hand-off: %w", &errs.Invalid{Fields: map[string]string{"province": msg.Both("cases.handoff.province")}})
	}
	where, args, _ := handoffWhere(province, Outgoing, to)
	items, err := s.workRows(ctx, where+" AND c.id NOT IN (SELECT contact_id FROM contact_handoffs WHERE received_at IS NOT NULL)", args,
		WorkFilter{State: "all", Limit: exportLimit})
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "", fmt.Errorf("export hand-off to %s: %w", to, errs.ErrNotFound)
	}
	if err := s.fillPersonal(ctx, p, items, auth.ActionExport, purpose); err != nil {
		return "", err
	}
	// The file is built in full before the hand-off is recorded: a file
	// that failed to build hands nothing off.
	var b bytes.Buffer
	if err := s.write(&b, format, msg.T("vi", "cases.handoff.title", strings.ToUpper(u.Name)), p, purpose, items); err != nil {
		return "", err
	}
	if _, err := s.recordHandoffs(ctx, p, province, HandoffFile, items); err != nil {
		return "", err
	}
	if _, err := b.WriteTo(w); err != nil {
		return "", fmt.Errorf("export hand-off: %w", err)
	}
	return fmt.Sprintf("ban-giao-f1-%s.%s", to, format), nil
}

// Receive records that p's province took over an incoming contact.
func (s *Service) Receive(ctx context.Context, p *auth.Principal, contactID int64) error {
	province, err := provinceOf(p)
	if err != nil {
		return err
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE contact_handoffs SET received_by = $1, received_at = $2
		WHERE contact_id = $3 AND to_province = $4 AND received_at IS NULL`, p.Username, s.Now().Unix(), contactID, province)
	if err != nil {
		return fmt.Errorf("receive hand-off %d: %w", contactID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var received sql.NullInt64
		err := s.DB.R.QueryRowContext(ctx, "SELECT received_at FROM contact_handoffs WHERE contact_id = $1 AND to_province = $2", contactID, province).Scan(&received)
		if err == nil && received.Valid {
			return nil // received already: a repeated tap changes nothing
		}
		return fmt.Errorf("receive hand-off %d: %w", contactID, errs.ErrNotFound)
	}
	return nil
}

// HandoffCounts is a province administrator's hand-off work: outgoing
// contacts not handed yet, and incoming ones handed but not received.
func (s *Service) HandoffCounts(ctx context.Context, p *auth.Principal) (toHand, toReceive int, err error) {
	province, err := provinceOf(p)
	if err != nil {
		return 0, 0, err
	}
	where, args, _ := handoffWhere(province, Outgoing, "")
	err = s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM contacts c WHERE c."+where+
		" AND c.id NOT IN (SELECT contact_id FROM contact_handoffs)", args...).Scan(&toHand)
	if err == nil {
		err = s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM contact_handoffs h JOIN contacts c ON c.id = h.contact_id
			WHERE h.to_province = $1 AND h.received_at IS NULL AND c.closed = 0`, province).Scan(&toReceive)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("hand-off counts: %w", err)
	}
	return toHand, toReceive, nil
}
