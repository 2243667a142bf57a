package checkin

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/sqldb"
)

// Count returns how many visits are stored: benchmarks compare it with the
// check-ins they had acknowledged.
func Count(ctx context.Context, db *sqldb.DB) (int64, error) {
	var n int64
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM visits").Scan(&n); err != nil {
		return 0, fmt.Errorf("count visits: %w", err)
	}
	return n, nil
}

// CountBetween returns how many visits began in [from, to).
func CountBetween(ctx context.Context, db *sqldb.DB, from, to time.Time) (int64, error) {
	var n int64
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM visits WHERE t_in >= $1 AND t_in < $2", from.Unix(), to.Unix()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count visits between: %w", err)
	}
	return n, nil
}

// VenueCount is one venue's number of visits.
type VenueCount struct {
	VenueID int64
	Visits  int64
}

// Busiest returns the n venues with the most visits that began in [from, to),
// busiest first: how crowded the busiest place is decides how many contacts
// an F0 has more than anything else.
func Busiest(ctx context.Context, db *sqldb.DB, from, to time.Time, n int) ([]VenueCount, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT venue_id, count(*) FROM visits WHERE t_in >= $1 AND t_in < $2
		GROUP BY venue_id ORDER BY count(*) DESC LIMIT $3`, from.Unix(), to.Unix(), n)
	if err != nil {
		return nil, fmt.Errorf("busiest venues: %w", err)
	}
	defer rows.Close()
	var out []VenueCount
	for rows.Next() {
		var c VenueCount
		if err := rows.Scan(&c.VenueID, &c.Visits); err != nil {
			return nil, fmt.Errorf("busiest venues: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("busiest venues: %w", err)
	}
	return out, nil
}
