package exposure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"anticovid/internal/sqldb"
)

// LastExportEnd returns the end of the last window exported in any region
// (zero time when none was): a benchmark reusing a directory exports after it.
func LastExportEnd(ctx context.Context, db *sqldb.DB) (time.Time, error) {
	var end int64
	if err := db.R.QueryRowContext(ctx, "SELECT COALESCE(max(end_at), 0) FROM en_exports").Scan(&end); err != nil {
		return time.Time{}, fmt.Errorf("last export end: %w", err)
	}
	if end == 0 {
		return time.Time{}, nil
	}
	return time.Unix(end, 0), nil
}

// InsertKeys stores keys in region as available from at[i], without the
// checks of an upload (no certificate): the bulk path benchmarks use to fill
// an export window. Rows go in 50 to a statement.
func InsertKeys(ctx context.Context, db *sqldb.DB, region string, keys []Key, at []time.Time) error {
	if len(at) != len(keys) {
		return fmt.Errorf("insert keys: %d keys, %d times", len(keys), len(at))
	}
	for lo := 0; lo < len(keys); lo += 50 {
		hi := min(len(keys), lo+50)
		var q strings.Builder
		q.WriteString("INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region, certificate_id, created_at, available_at) VALUES ")
		args := make([]any, 0, (hi-lo)*8)
		for i := lo; i < hi; i++ {
			if i > lo {
				q.WriteByte(',')
			}
			q.WriteString("(" + sqldb.In(len(args)+1, 8) + ")")
			k := keys[i]
			args = append(args, k.Data, k.RollingStart, k.RollingPeriod, k.TransmissionRisk, region, 0, at[i].Unix(), at[i].Unix())
		}
		if _, err := db.W.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert keys: %w", err)
		}
	}
	return nil
}
