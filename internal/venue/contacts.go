package venue

import (
	"context"
	"fmt"

	"anticovid/internal/people"
	"anticovid/internal/sqldb"
)

// managerContacts is the filter of approved venues with a contact phone.
const managerContacts = " AND status = 'approved' AND contact_phone_enc IS NOT NULL"

// CountContacts counts the approved venues of a unit with a contact phone:
// how many a campaign to venue managers reaches.
func CountContacts(ctx context.Context, db *sqldb.DB, column, unit string) (int64, error) {
	where, args, err := sqldb.UnitWhere(column, unit)
	if err != nil {
		return 0, fmt.Errorf("count contacts: %w", err)
	}
	var n int64
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM venues WHERE "+where+managerContacts, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count contacts: %w", err)
	}
	return n, nil
}

// ContactsAfter returns up to limit approved venues of a unit with a
// contact phone, ids above after, in id order (a campaign's cursor).
func ContactsAfter(ctx context.Context, db *sqldb.DB, column, unit string, after int64, limit int) ([]people.SealedPhone, error) {
	where, args, err := sqldb.UnitWhere(column, unit)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	n := len(args)
	rows, err := db.R.QueryContext(ctx, fmt.Sprintf("SELECT id, contact_phone_enc FROM venues WHERE %s%s AND id > $%d ORDER BY id LIMIT $%d",
		where, managerContacts, n+1, n+2), append(args, after, limit)...)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	defer rows.Close()
	var out []people.SealedPhone
	for rows.Next() {
		var r people.SealedPhone
		if err := rows.Scan(&r.ID, &r.Phone); err != nil {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
