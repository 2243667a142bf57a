package dashboard

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/bluezone"
	"anticovid/internal/cases"
	"anticovid/internal/sqldb"
)

// This file counts what other modules record by asking the packages that
// own those tables (cases, bluezone, adoption): the sources are small so
// that what the dashboard depends on shows up here in one place, and in
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
	for _, q := range []struct {
		metric string
		count  func(context.Context, *sqldb.DB, time.Time, time.Time, func(string, int64)) error
	}{{F0, cases.CountConfirmed}, {F1, cases.CountF1}} {
		if err := q.count(ctx, c.DB, from, to, func(commune string, n int64) {
			out = append(out, Count{Commune: commune, Metric: q.metric, N: n})
		}); err != nil {
			return nil, err
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
	var out []Count
	if err := cases.CountQuarantined(ctx, g.DB, now, dayStart(now), func(commune string, n int64) {
		out = append(out, Count{Commune: commune, Metric: Quarantined, N: n})
	}); err != nil {
		return nil, fmt.Errorf("quarantine gauge: %w", err)
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
	for _, q := range []struct {
		metric string
		count  func(context.Context, *sqldb.DB, func(string, int64)) error
	}{{BluezoneInstalls, bluezone.CountDevices}, {SmartphoneUsers, adoption.CountSmartphoneUsers}} {
		if err := q.count(ctx, g.DB, func(commune string, n int64) {
			out = append(out, Count{Commune: commune, Metric: q.metric, N: n})
		}); err != nil {
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
	list, err := cases.ExposedSince(ctx, e.DB, since, 2000)
	if err != nil {
		return nil, fmt.Errorf("exposed places: %w", err)
	}
	var out []ExposedPlace
	for _, x := range list {
		out = append(out, ExposedPlace{VenueID: x.VenueID, From: x.From, To: x.To})
	}
	return out, nil
}
