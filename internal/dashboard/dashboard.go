// Package dashboard gives the province's leaders live figures for their
// jurisdiction and the public a COVID map with no personal data. Figures are
// counted in the background into small per-hour and current-value tables
// (rolled up to every administrative level and sector), so a request reads a
// few dozen rows by primary key and never scans check-ins or declarations.
package dashboard

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/geo"
	"anticovid/internal/sqldb"
)

// Service counts, caches and serves the figures.
type Service struct {
	DB *sqldb.DB
	// Province is the deployment's province code (or geo.Country).
	Province string
	Hourly   []HourlySource
	Gauges   []GaugeSource
	// Places and Zones feed the public map; nil until those modules are wired.
	Places PlaceSource
	Zones  ZoneSource
	// Targets gives the Bluezone adoption target the dashboard measures
	// against: the adoption module's editable targets (New wires them).
	Targets TargetSource
	// Threshold: public counts below it (and above zero) are hidden, with the
	// counts they could be derived from (suppress.go).
	Threshold int
	// Keep is how long hourly counts are kept (the public map's history).
	Keep time.Duration
	Log  *slog.Logger
	Now  func() time.Time

	mu        sync.Mutex
	version   uint64
	subs      map[chan struct{}]struct{}
	cache     map[string]cached
	lastGauge time.Time
	lastSweep time.Time
	// backfilled is set once this server has backfilled (Tick).
	backfilled bool
	// per source: when its current hour was last recounted, and what it cost
	lastRun  map[int]time.Time
	lastCost map[int]time.Duration
	pub      *publicDoc
	pubMu    sync.Mutex
	paths    map[string][]string
}

// New returns a Service with the built-in sources over check-ins and venues.
func New(db *sqldb.DB, province string, log *slog.Logger) *Service {
	return &Service{DB: db, Province: province, Threshold: 3, Keep: 90 * 24 * time.Hour, Log: log, Now: time.Now,
		Hourly:  []HourlySource{&CheckinSource{DB: db}},
		Gauges:  []GaugeSource{VenueGauges{DB: db}},
		Targets: AdoptionTargets{Adoption: adoption.NewService(db, nil)}}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Version changes whenever new counts were written; figures and public
// documents computed at one version are reused until it changes.
func (s *Service) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// Subscribe returns a channel that receives a signal after each refresh that
// wrote counts, and a function to stop. A slow subscriber misses signals
// rather than blocking the refresher (it reads the newest figures anyway).
func (s *Service) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[chan struct{}]struct{}{}
	}
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

// bump marks new data: caches are invalid, subscribers are told.
func (s *Service) bump() {
	s.mu.Lock()
	s.version++
	s.cache = nil
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// path returns the unit codes a commune's counts roll up to: the commune,
// its district, its province and the country.
func (s *Service) path(commune string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.paths[commune]; ok {
		return p
	}
	if s.paths == nil {
		s.paths = map[string][]string{}
	}
	var p []string
	for _, u := range geo.Path(commune) {
		p = append(p, u.Code)
	}
	if len(p) > 0 {
		p = append(p, geo.Country)
	}
	s.paths[commune] = p
	return p
}

type rollKey struct{ unit, sector, metric string }

// rollup adds each commune count to every level above it, once for all
// sectors and once for its own sector.
func (s *Service) rollup(counts []Count) map[rollKey]int64 {
	out := map[rollKey]int64{}
	for _, c := range counts {
		for _, u := range s.path(c.Commune) {
			out[rollKey{u, "", c.Metric}] += c.N
			if c.Sector != "" {
				out[rollKey{u, c.Sector, c.Metric}] += c.N
			}
		}
	}
	return out
}

// RecountHours recounts every hour in [from, to) from the sources and
// replaces the stored counts of those hours.
// Figures are recomputed, and subscribers told, only when a count changed.
func (s *Service) RecountHours(ctx context.Context, from, to time.Time) error {
	changed := false
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		for _, src := range s.Hourly {
			c, err := s.recount(ctx, src, h)
			if err != nil {
				return err
			}
			changed = changed || c
		}
	}
	if changed {
		s.bump()
	}
	return nil
}

// recountBusy recounts the hours of the sources whose turn it is: a source
// whose recount took d waits 10·d before the next, so at a province's peak
// (a second to count the current hour's check-ins on SQLite) counting takes
// a tenth of a core, and the figures still move every few seconds.
func (s *Service) recountBusy(ctx context.Context, from, to, now time.Time) error {
	changed := false
	for i, src := range s.Hourly {
		s.mu.Lock()
		if s.lastRun == nil {
			s.lastRun, s.lastCost = map[int]time.Time{}, map[int]time.Duration{}
		}
		due := now.Sub(s.lastRun[i]) >= 10*s.lastCost[i]
		s.mu.Unlock()
		if !due {
			continue
		}
		start := time.Now()
		for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
			c, err := s.recount(ctx, src, h)
			if err != nil {
				return err
			}
			changed = changed || c
		}
		s.mu.Lock()
		s.lastRun[i], s.lastCost[i] = now, time.Since(start)
		s.mu.Unlock()
	}
	if changed {
		s.bump()
	}
	return nil
}

// Invalidate drops every cached figure and public map, as new data would.
func (s *Service) Invalidate() {
	s.bump()
	s.invalidatePublic()
}

func (s *Service) recount(ctx context.Context, src HourlySource, hour time.Time) (changed bool, err error) {
	counts, err := src.CountRange(ctx, hour, hour.Add(time.Hour))
	if err != nil {
		return false, err
	}
	rolled := s.rollup(counts)
	metrics := src.Metrics()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		args := []any{hour.Unix()}
		for _, m := range metrics {
			args = append(args, m)
		}
		in := sqldb.In(2, len(metrics))
		// The day totals move by the difference between the new and the
		// stored counts of this hour.
		delta := map[rollKey]int64{}
		for k, n := range rolled {
			delta[k] += n
		}
		rows, err := tx.QueryContext(ctx, "SELECT unit_code, sector, metric, n FROM dash_hourly WHERE hour = $1 AND metric IN ("+in+")", args...)
		if err != nil {
			return fmt.Errorf("recount %s: %w", hour.Format(time.RFC3339), err)
		}
		for rows.Next() {
			var k rollKey
			var n int64
			if err := rows.Scan(&k.unit, &k.sector, &k.metric, &n); err != nil {
				rows.Close()
				return fmt.Errorf("recount %s: %w", hour.Format(time.RFC3339), err)
			}
			delta[k] -= n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("recount %s: %w", hour.Format(time.RFC3339), err)
		}
		for _, n := range delta {
			changed = changed || n != 0
		}
		if !changed {
			return nil // nothing new: no writes
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM dash_hourly WHERE hour = $1 AND metric IN ("+in+")", args...); err != nil {
			return fmt.Errorf("recount %s: %w", hour.Format(time.RFC3339), err)
		}
		if err := insertRows(ctx, tx, "dash_hourly (unit_code, sector, metric, hour, n)", rolled, hour.Unix()); err != nil {
			return err
		}
		return addDaily(ctx, tx, delta, localDay(hour))
	})
	return changed, err
}

// addDaily adds hour-count differences to the day totals.
func addDaily(ctx context.Context, tx *sql.Tx, delta map[rollKey]int64, day int64) error {
	var b strings.Builder
	args := make([]any, 0, 500)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		b.Reset()
		b.WriteString("INSERT INTO dash_daily (unit_code, sector, metric, day, n) VALUES ")
		for i := 0; i < len(args)/5; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + sqldb.In(i*5+1, 5) + ")")
		}
		b.WriteString(" ON CONFLICT (unit_code, sector, metric, day) DO UPDATE SET n = dash_daily.n + excluded.n")
		_, err := tx.ExecContext(ctx, b.String(), args...)
		args = args[:0]
		if err != nil {
			return fmt.Errorf("day totals: %w", err)
		}
		return nil
	}
	for k, n := range delta {
		if n == 0 {
			continue
		}
		args = append(args, k.unit, k.sector, k.metric, day, n)
		if len(args) >= 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// insertRows writes rolled-up counts, skipping zeros, 100 rows a statement.
// hour < 0 means the gauge table (no hour column).
func insertRows(ctx context.Context, tx *sql.Tx, table string, rolled map[rollKey]int64, hour int64) error {
	cols := 5
	if hour < 0 {
		cols = 4
	}
	var b strings.Builder
	args := make([]any, 0, 100*cols)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		b.Reset()
		b.WriteString("INSERT INTO " + table + " VALUES ")
		for i := 0; i < len(args)/cols; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + sqldb.In(i*cols+1, cols) + ")")
		}
		_, err := tx.ExecContext(ctx, b.String(), args...)
		args = args[:0]
		if err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
		return nil
	}
	for k, n := range rolled {
		if n == 0 {
			continue
		}
		if hour >= 0 {
			args = append(args, k.unit, k.sector, k.metric, hour, n)
		} else {
			args = append(args, k.unit, k.sector, k.metric, n)
		}
		if len(args) >= 100*cols {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// RefreshGauges recomputes every current value.
func (s *Service) RefreshGauges(ctx context.Context) error {
	now := s.now()
	for _, src := range s.Gauges {
		counts, err := src.Gauges(ctx, now)
		if err != nil {
			return err
		}
		rolled := s.rollup(counts)
		metrics := src.Metrics()
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			args := make([]any, len(metrics))
			for i, m := range metrics {
				args[i] = m
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM dash_gauges WHERE metric IN ("+sqldb.In(1, len(metrics))+")", args...); err != nil {
				return fmt.Errorf("refresh gauges: %w", err)
			}
			return insertRows(ctx, tx, "dash_gauges (unit_code, sector, metric, n)", rolled, -1)
		})
		if err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.lastGauge = now
	s.mu.Unlock()
	s.bump()
	return nil
}

// Refresh recounts the current hour (and the previous one during the first
// quarter of an hour, for stragglers), every hour of the last two days every
// half hour (late uploads from phones that were offline), and the gauges
// once a minute.
func (s *Service) Refresh(ctx context.Context) error {
	now := s.now()
	hour := now.Truncate(time.Hour)
	from := hour
	if now.Sub(hour) < 15*time.Minute {
		from = hour.Add(-time.Hour)
	}
	s.mu.Lock()
	sweep := now.Sub(s.lastSweep) >= 30*time.Minute
	gauges := now.Sub(s.lastGauge) >= time.Minute
	s.mu.Unlock()
	if sweep {
		from = hour.Add(-48 * time.Hour)
	}
	if sweep {
		if err := s.RecountHours(ctx, from, hour.Add(time.Hour)); err != nil {
			return err
		}
	} else if err := s.recountBusy(ctx, from, hour.Add(time.Hour), now); err != nil {
		return err
	}
	if sweep {
		s.mu.Lock()
		s.lastSweep = now
		s.mu.Unlock()
		// Hours are kept five weeks (a report's prefill reads them); days
		// as long as Keep (the public map's history).
		if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM dash_hourly WHERE hour < $1", now.Add(-35*24*time.Hour).Unix()); err != nil {
			return fmt.Errorf("purge old counts: %w", err)
		}
		if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM dash_daily WHERE day < $1", localDay(now.Add(-s.Keep))); err != nil {
			return fmt.Errorf("purge old counts: %w", err)
		}
	}
	if gauges {
		return s.RefreshGauges(ctx)
	}
	return nil
}

// Backfill counts every hour of the last days that has no stored count yet
// (a new deployment, or a new source), so history is there after a restart
// without recounting what is already counted.
func (s *Service) Backfill(ctx context.Context, days int) error {
	now := s.now()
	end := now.Truncate(time.Hour)
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	for _, src := range s.Hourly {
		done := map[int64]bool{}
		ms := src.Metrics()
		args := []any{start.Unix()}
		for _, m := range ms {
			args = append(args, m)
		}
		rows, err := s.DB.R.QueryContext(ctx, "SELECT DISTINCT hour FROM dash_hourly WHERE hour >= $1 AND metric IN ("+sqldb.In(2, len(ms))+")", args...)
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		for rows.Next() {
			var h int64
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return fmt.Errorf("backfill: %w", err)
			}
			done[h] = true
		}
		rows.Close()
		for h := start; h.Before(end); h = h.Add(time.Hour) {
			if done[h.Unix()] {
				continue
			}
			if _, err := s.recount(ctx, src, h); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	s.bump()
	return nil
}

// Tick is one turn of the counting job (internal/jobs runs it on one server
// at a time): the first turn a server holds it backfills the last 14 days
// (hours already counted are skipped), every turn refreshes.
func (s *Service) Tick(ctx context.Context) error {
	s.mu.Lock()
	first := !s.backfilled
	s.mu.Unlock()
	if first {
		if err := s.Backfill(ctx, 14); err != nil {
			return err
		}
		s.mu.Lock()
		s.backfilled = true
		s.mu.Unlock()
	}
	return s.Refresh(ctx)
}

// provided lists the metrics some wired source counts: a figure nobody counts
// is shown as unavailable, never as a zero.
func (s *Service) provided() map[string]bool {
	out := map[string]bool{}
	for _, src := range s.Hourly {
		for _, m := range src.Metrics() {
			out[m] = true
		}
	}
	for _, src := range s.Gauges {
		for _, m := range src.Metrics() {
			if !strings.Contains(m, ":") { // per-category venue counts go with "venues"
				out[m] = true
			}
		}
	}
	return out
}
