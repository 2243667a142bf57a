package declaration

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/sqldb"
)

// CountBy counts the declarations made in [from, to) by the declarant's
// commune, and those flagged (symptoms or a contact with a case), for the
// dashboard.
func CountBy(ctx context.Context, db *sqldb.DB, from, to time.Time, fn func(commune string, n, flagged int64)) error {
	rows, err := db.R.QueryContext(ctx, `SELECT commune_code, count(*),
		COALESCE(sum(CASE WHEN has_symptoms <> 0 OR had_contact <> 0 THEN 1 ELSE 0 END), 0)
		FROM declarations WHERE created_at >= $1 AND created_at < $2 GROUP BY commune_code`, from.Unix(), to.Unix())
	if err != nil {
		return fmt.Errorf("count declarations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var commune string
		var n, flagged int64
		if err := rows.Scan(&commune, &n, &flagged); err != nil {
			return fmt.Errorf("count declarations: %w", err)
		}
		fn(commune, n, flagged)
	}
	return rows.Err()
}
