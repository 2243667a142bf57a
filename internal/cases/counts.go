package cases

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/sqldb"
)

// The counts below answer the dashboard from the case tables, which this
// package owns; each hands fn one commune's count at a time.

// CountConfirmed counts the cases confirmed F0 (a status change to F0) in
// [from, to), by the case's commune.
func CountConfirmed(ctx context.Context, db *sqldb.DB, from, to time.Time, fn func(commune string, n int64)) error {
	if err := db.CountBy(ctx, fn, `SELECT c.commune_code, count(DISTINCT c.id) FROM case_history h JOIN cases c ON c.id = h.case_id
		WHERE h.to_status = 'F0' AND h.at >= $1 AND h.at < $2 GROUP BY c.commune_code`, from.Unix(), to.Unix()); err != nil {
		return fmt.Errorf("count confirmed: %w", err)
	}
	return nil
}

// CountF1 counts the close contacts (F1) identified in [from, to), by commune.
func CountF1(ctx context.Context, db *sqldb.DB, from, to time.Time, fn func(commune string, n int64)) error {
	if err := db.CountBy(ctx, fn, `SELECT commune_code, count(*) FROM contacts WHERE level = 'F1' AND created_at >= $1 AND created_at < $2
		GROUP BY commune_code`, from.Unix(), to.Unix()); err != nil {
		return fmt.Errorf("count F1: %w", err)
	}
	return nil
}

// CountQuarantined counts the people in quarantine at now, by commune: open
// contacts whose quarantine has not ended, then (a second call of fn per
// commune) confirmed cases in isolation on the local day starting at today.
func CountQuarantined(ctx context.Context, db *sqldb.DB, now, today time.Time, fn func(commune string, n int64)) error {
	if err := db.CountBy(ctx, fn, `SELECT commune_code, count(*) FROM contacts WHERE closed = 0 AND quarantine_until > $1
		GROUP BY commune_code`, now.Unix()); err != nil {
		return fmt.Errorf("count quarantined: %w", err)
	}
	if err := db.CountBy(ctx, fn, `SELECT commune_code, count(*) FROM cases WHERE status = 'F0' AND isolation_start IS NOT NULL
		AND isolation_start <= $1 AND (isolation_end IS NULL OR isolation_end >= $1) GROUP BY commune_code`, today.Unix()); err != nil {
		return fmt.Errorf("count quarantined: %w", err)
	}
	return nil
}

// ExposedVenue is a venue a confirmed case visited, and when.
type ExposedVenue struct {
	VenueID  int64
	From, To time.Time
}

// ExposedSince lists the exposure venues ending at or after since, one per
// venue and start, newest first, at most limit.
func ExposedSince(ctx context.Context, db *sqldb.DB, since time.Time, limit int) ([]ExposedVenue, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT venue_id, min(t_from), max(t_to) FROM exposures WHERE t_to >= $1
		AND case_id IN (SELECT id FROM cases WHERE confirmed_by IS NOT NULL)
		GROUP BY venue_id, t_from ORDER BY min(t_from) DESC LIMIT $2`, since.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("exposed venues: %w", err)
	}
	defer rows.Close()
	var out []ExposedVenue
	for rows.Next() {
		var id, from, to int64
		if err := rows.Scan(&id, &from, &to); err != nil {
			return nil, fmt.Errorf("exposed venues: %w", err)
		}
		out = append(out, ExposedVenue{VenueID: id, From: time.Unix(from, 0).UTC(), To: time.Unix(to, 0).UTC()})
	}
	return out, rows.Err()
}
