package venue

import (
	"context"
	"fmt"

	"anticovid/internal/sqldb"
)

// Count returns how many venues are registered, whatever their status: a
// benchmark reuses a dataset that already has some.
func Count(ctx context.Context, db *sqldb.DB) (int, error) {
	var n int
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM venues").Scan(&n); err != nil {
		return 0, fmt.Errorf("count venues: %w", err)
	}
	return n, nil
}
