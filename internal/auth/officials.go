package auth

import (
	"context"
	"fmt"

	"anticovid/internal/sqldb"
)

// Officials returns every enabled account but venue managers': the people
// whose work the inbox watches (internal/inbox). A province has a few
// thousand, read once per watch run.
func Officials(ctx context.Context, db *sqldb.DB) ([]User, error) {
	rows, err := db.R.QueryContext(ctx, "SELECT "+userCols+" FROM users WHERE disabled = 0 AND role <> $1 ORDER BY id", string(VenueManager))
	if err != nil {
		return nil, fmt.Errorf("officials: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("officials: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
