package checkin

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/sqldb"
)

// CountByVenue counts the check-ins in [from, to) per venue: one range read
// of the index on t_in, for the dashboard's hourly figures.
func CountByVenue(ctx context.Context, db *sqldb.DB, from, to time.Time) (map[int64]int64, error) {
	rows, err := db.R.QueryContext(ctx, "SELECT venue_id, count(*) FROM visits WHERE t_in >= $1 AND t_in < $2 GROUP BY venue_id",
		from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("count check-ins: %w", err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count check-ins: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
