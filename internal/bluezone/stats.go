package bluezone

import (
	"context"
	"fmt"

	"anticovid/internal/sqldb"
)

// DeviceCount returns how many phones are registered.
func DeviceCount(ctx context.Context, db *sqldb.DB) (int, error) {
	var n int
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM bz_devices").Scan(&n); err != nil {
		return 0, fmt.Errorf("count devices: %w", err)
	}
	return n, nil
}

// DevicePersons returns the person of each of the first n registered phones,
// in registration order: a simulation reopened from an earlier run's database
// finds its phones' people by their index.
func DevicePersons(ctx context.Context, db *sqldb.DB, n int) ([]int64, error) {
	rows, err := db.R.QueryContext(ctx, "SELECT person_id FROM bz_devices ORDER BY id LIMIT $1", n)
	if err != nil {
		return nil, fmt.Errorf("device persons: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("device persons: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("device persons: %w", err)
	}
	return out, nil
}
