package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"anticovid/internal/geo"
	"anticovid/internal/sqldb"
)

// Audit actions.
const (
	ActionView   = "view"
	ActionExport = "export"
	ActionDelete = "delete"
	// ActionSearch: a list searched by a phone, ID number or name; the
	// record ids are the people it showed.
	ActionSearch = "search"
)

// AuditEntry is one access to personal data.
type AuditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	UserID    int64     `json:"user_id"`
	Username  string    `json:"username"`
	Action    string    `json:"action"`
	Subject   string    `json:"subject"`
	RecordIDs string    `json:"record_ids"`
	Purpose   string    `json:"purpose"`
	RequestID string    `json:"request_id"`
}

// Audit records that the caller in ctx viewed, exported or deleted personal
// records. Callers must record before they hand the data out: when the audit
// write fails, the data must not be shown.
func Audit(ctx context.Context, db *sqldb.DB, action, subject string, ids []string, purpose string) error {
	p := From(ctx)
	if p == nil {
		p = &Principal{Username: "system"}
	}
	// The acting official's province: the audit row's distribution key
	// ('' for the system and national accounts).
	prov, _ := geo.Ancestor(p.Unit, "province")
	at := time.Now().Unix()
	// Every record is named: a long list takes as many rows as it needs,
	// each within the column's 4,000 characters.
	for _, list := range auditLists(ids, 4000) {
		if _, err := db.W.ExecContext(ctx, `INSERT INTO audit_log (at, user_id, username, action, subject, record_ids, purpose, request_id, province_code)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, at, p.UserID, p.Username, action, subject, list, purpose, RequestID(ctx), prov.Code); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// auditLists joins ids with commas into lists of at most size characters
// (one empty list when there are none).
func auditLists(ids []string, size int) []string {
	var out []string
	var b strings.Builder
	for _, id := range ids {
		if b.Len() > 0 && b.Len()+1+len(id) > size {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id)
	}
	return append(out, b.String())
}

// AuditFilter narrows the audit log. Zero fields do not narrow.
type AuditFilter struct {
	Username string
	Action   string
	Subject  string
	// Records: entries naming any of these record ids of Subject (the
	// people an official looked up by phone or ID number).
	Records  []string
	From, To time.Time // At in [From, To)
	Before   int64     // entries older than this id: the next page
	// Province: entries of that province's officials and of the system
	// (a province administrator on a national deployment reads its own).
	Province string
	Limit    int // 1–1000, default 100
}

// AuditLog returns the entries matching f, newest first.
func AuditLog(ctx context.Context, db *sqldb.DB, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Username != "" {
		arg("username = $%d", f.Username)
	}
	if f.Action != "" {
		arg("action = $%d", f.Action)
	}
	if f.Subject != "" {
		arg("subject = $%d", f.Subject)
	}
	if f.Province != "" {
		arg("province_code IN ($%d, '')", f.Province)
	}
	if len(f.Records) > 0 {
		// record_ids is a comma-separated list: match whole ids only.
		var alts []string
		for _, id := range f.Records {
			args = append(args, "%,"+id+",%")
			alts = append(alts, fmt.Sprintf("',' || record_ids || ',' LIKE $%d", len(args)))
		}
		where = append(where, "("+strings.Join(alts, " OR ")+")")
	}
	if !f.From.IsZero() {
		arg("at >= $%d", f.From.Unix())
	}
	if !f.To.IsZero() {
		arg("at < $%d", f.To.Unix())
	}
	if f.Before > 0 {
		arg("id < $%d", f.Before)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	rows, err := db.R.QueryContext(ctx, fmt.Sprintf(`SELECT id, at, user_id, username, action, subject, record_ids, purpose, request_id
		FROM audit_log%s ORDER BY id DESC LIMIT $%d`, cond, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.UserID, &e.Username, &e.Action, &e.Subject, &e.RecordIDs, &e.Purpose, &e.RequestID); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.At = time.Unix(at, 0).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
