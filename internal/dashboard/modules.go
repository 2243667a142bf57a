package dashboard

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/sqldb"
)

// This file counts what other modules record, read straight from their
// tables (migrations 0004 cases and 0005 Bluetooth): the sources are small
// so that a change of those schemas shows up here in one place, and in
// this package's tests.

// CaseSource counts confirmed cases (a case's status history reaching F0)
// and close contacts identified (contacts at level F1), by the commune of
// the person.
type CaseSource struct {
	DB *sqldb.DB
}

// Metrics implements HourlySource.
func (CaseSource) Metrics() []string { return []string{F0, F1} }

// CountRange implements HourlySource.
func (c CaseSource) CountRange(ctx context.Context, from, to time.Time) ([]Count, error) {
	var out []Count
	for _, q := range []struct{ metric, sql string }{
		{F0, `SELECT c.commune_code, count(DISTINCT c.id) FROM case_history h JOIN cases c ON c.id = h.case_id
			WHERE h.to_status = 'F0' AND h.at >= $1 AND h.at < $2 GROUP BY c.commune_code`},
		{F1, `SELECT commune_code, count(*) FROM contacts WHERE level = 'F1' AND created_at >= $1 AND created_at < $2 GROUP BY commune_code`},
	} {
		rows, err := c.DB.R.QueryContext(ctx, q.sql, from.Unix(), to.Unix())
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", q.metric, err)
		}
		for rows.Next() {
			var commune string
			var n int64
			if err := rows.Scan(&commune, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count %s: %w", q.metric, err)
			}
			out = append(out, Count{Commune: commune, Metric: q.metric, N: n})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("count %s: %w", q.metric, err)
		}
	}
	return out, nil
}

// QuarantineGauges counts people in quarantine now: open contacts whose
// quarantine has not ended, and confirmed cases in isolation (started, not
// ended).
type QuarantineGauges struct {
	DB *sqldb.DB
}

// Metrics implements GaugeSource.
func (QuarantineGauges) Metrics() []string { return []string{Quarantined} }

// Gauges implements GaugeSource.
func (g QuarantineGauges) Gauges(ctx context.Context, now time.Time) ([]Count, error) {
	today := dayStart(now).Unix()
	var out []Count
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT commune_code, count(*) FROM contacts WHERE closed = 0 AND quarantine_until > $1 GROUP BY commune_code`, []any{now.Unix()}},
		{`SELECT commune_code, count(*) FROM cases WHERE status = 'F0' AND isolation_start IS NOT NULL AND isolation_start <= $1
			AND (isolation_end IS NULL OR isolation_end >= $1) GROUP BY commune_code`, []any{today}},
	} {
		rows, err := g.DB.R.QueryContext(ctx, q.sql, q.args...)
		if err != nil {
			return nil, fmt.Errorf("quarantine gauge: %w", err)
		}
		for rows.Next() {
			var commune string
			var n int64
			if err := rows.Scan(&commune, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("quarantine gauge: %w", err)
			}
			out = append(out, Count{Commune: commune, Metric: Quarantined, N: n})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("quarantine gauge: %w", err)
		}
	}
	return out, nil
}

// BluezoneGauges counts registered Bluezone phones and the smartphone users
// each commune's adoption is measured against.
type BluezoneGauges struct {
	DB *sqldb.DB
}

// Metrics implements GaugeSource.
func (BluezoneGauges) Metrics() []string { return []string{BluezoneInstalls, SmartphoneUsers} }

// Gauges implements GaugeSource.
func (g BluezoneGauges) Gauges(ctx context.Context, _ time.Time) ([]Count, error) {
	var out []Count
	for _, q := range []struct{ metric, sql string }{
		{BluezoneInstalls, "SELECT commune_code, count(*) FROM bz_devices GROUP BY commune_code"},
		{SmartphoneUsers, "SELECT commune_code, sum(users) FROM adoption_smartphones GROUP BY commune_code"},
	} {
		rows, err := g.DB.R.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("bluezone gauge: %w", err)
		}
		for rows.Next() {
			var commune string
			var n int64
			if err := rows.Scan(&commune, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("bluezone gauge: %w", err)
			}
			out = append(out, Count{Commune: commune, Metric: q.metric, N: n})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("bluezone gauge: %w", err)
		}
	}
	return out, nil
}

// TargetSource gives the Bluezone adoption target (percent of smartphone
// users) in force for a unit at a moment; 0 means none is set.
type TargetSource interface {
	BluezoneTarget(ctx context.Context, unit string, at time.Time) (float64, error)
}

// AdoptionTargets reads the targets the province edits on the adoption
// page (adoption_targets), so the dashboard and the adoption page never
// disagree. The target in force is the first whose due date (local) is
// today or later, else the last one, as the adoption page measures.
// Targets are set province-wide today; the unit is passed so that a
// per-unit target needs no change here.
type AdoptionTargets struct {
	Adoption *adoption.Service
}

// BluezoneTarget implements TargetSource.
func (a AdoptionTargets) BluezoneTarget(ctx context.Context, _ string, at time.Time) (float64, error) {
	ts, err := a.Adoption.Targets(ctx)
	if err != nil {
		return 0, err
	}
	date := at.In(HCM).Format(time.DateOnly)
	for i, t := range ts {
		if t.Due >= date || i == len(ts)-1 {
			return t.Percent, nil
		}
	}
	return 0, nil
}

// ExposureSource lists the places confirmed cases visited (the exposures
// table that tracing fills) for the public map.
type ExposureSource struct {
	DB *sqldb.DB
}

// ExposedPlaces implements PlaceSource: one entry per venue and window.
func (e ExposureSource) ExposedPlaces(ctx context.Context, since time.Time) ([]ExposedPlace, error) {
	rows, err := e.DB.R.QueryContext(ctx, `SELECT venue_id, min(t_from), max(t_to) FROM exposures WHERE t_to >= $1
		GROUP BY venue_id, t_from ORDER BY min(t_from) DESC LIMIT 2000`, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("exposed places: %w", err)
	}
	defer rows.Close()
	var out []ExposedPlace
	for rows.Next() {
		var id, from, to int64
		if err := rows.Scan(&id, &from, &to); err != nil {
			return nil, fmt.Errorf("exposed places: %w", err)
		}
		out = append(out, ExposedPlace{VenueID: id, From: time.Unix(from, 0).UTC(), To: time.Unix(to, 0).UTC()})
	}
	return out, rows.Err()
}
