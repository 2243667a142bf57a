package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"anticovid/internal/sqldb"
)

// Audit actions.
const (
	ActionView   = "view"
	ActionExport = "export"
	ActionDelete = "delete"
)

// AuditEntry is one access to personal data.
type AuditEntry struct {
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
	list := strings.Join(ids, ",")
	if len(list) > 4000 {
		list = list[:4000] + fmt.Sprintf("…(%d records)", len(ids))
	}
	_, err := db.W.ExecContext(ctx, `INSERT INTO audit_log (at, user_id, username, action, subject, record_ids, purpose, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, time.Now().Unix(), p.UserID, p.Username, action, subject, list, purpose, RequestID(ctx))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest entries, newest first.
func AuditLog(ctx context.Context, db *sqldb.DB, limit int) ([]AuditEntry, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT at, user_id, username, action, subject, record_ids, purpose, request_id
		FROM audit_log ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.UserID, &e.Username, &e.Action, &e.Subject, &e.RecordIDs, &e.Purpose, &e.RequestID); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.At = time.Unix(at, 0).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
