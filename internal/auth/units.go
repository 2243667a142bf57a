package auth

import (
	"context"
	"fmt"

	"anticovid/internal/sqldb"
)

// UsersInUnits returns the enabled accounts whose unit is one of units
// (exactly: a district's code does not bring its communes' accounts), for
// features that address a unit's officials, such as meeting invitations.
// A province has a few hundred units, well inside one IN list.
func UsersInUnits(ctx context.Context, db *sqldb.DB, units []string) ([]User, error) {
	if len(units) == 0 {
		return nil, nil
	}
	args := make([]any, len(units))
	for i, u := range units {
		args[i] = u
	}
	rows, err := db.R.QueryContext(ctx, "SELECT "+userCols+" FROM users WHERE disabled = 0 AND unit_code IN ("+sqldb.In(1, len(units))+") ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("users in units: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users in units: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
