package dashboard

import (
	"context"
	"fmt"
)

// Clear deletes every counted figure (hourly, daily and the venues seen), so
// the next Backfill counts from scratch as a new deployment does: benchmarks
// time that.
func (s *Service) Clear(ctx context.Context) error {
	for _, t := range []string{"dash_hourly", "dash_daily", "dash_venue_seen"} {
		if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	return nil
}

// HourlyRows returns how many hourly figures are stored.
func (s *Service) HourlyRows(ctx context.Context) (int64, error) {
	var n int64
	if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM dash_hourly").Scan(&n); err != nil {
		return 0, fmt.Errorf("count hourly rows: %w", err)
	}
	return n, nil
}
