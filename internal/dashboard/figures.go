package dashboard

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/venue"
)

// HCM is Asia/Ho_Chi_Minh: UTC+7 with no daylight saving since 1975, so a
// fixed zone needs no tzdata on the server.
var HCM = time.FixedZone("ICT", 7*3600)

// DayValue is one day's count; Day is the local date (2006-01-02).
type DayValue struct {
	Day string `json:"day"`
	N   int64  `json:"n"`
}

// CategoryFigures are a venue category's numbers.
type CategoryFigures struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	NameEN     string `json:"name_en"`
	Registered int64  `json:"registered"`
	Scanning   int64  `json:"scanning"`
}

// ChildFigures are one sub-unit's headline numbers, for drilling down.
type ChildFigures struct {
	Unit             geo.Unit `json:"unit"`
	CheckinsToday    int64    `json:"checkins_today"`
	DeclarationsDay  int64    `json:"declarations_today"`
	F0Days14         int64    `json:"f0_14d"`
	VenuesRegistered int64    `json:"venues_registered"`
	VenuesScanning   int64    `json:"venues_scanning"`
}

// Figures are the dashboard of one unit for one sector at one moment.
// Available tells which metrics a wired source counts; the others are shown
// as "not connected", never as zero.
type Figures struct {
	Unit                geo.Unit          `json:"unit"`
	Path                []geo.Unit        `json:"path"`
	Sector              string            `json:"sector,omitempty"`
	At                  time.Time         `json:"at"`
	Day                 string            `json:"day"`
	Version             uint64            `json:"version"`
	CheckinsToday       int64             `json:"checkins_today"`
	CheckinsByHour      []int64           `json:"checkins_by_hour"`
	CheckinsByDay       []DayValue        `json:"checkins_by_day"`
	DeclarationsToday   int64             `json:"declarations_today"`
	FlaggedToday        int64             `json:"declarations_flagged_today"`
	F0Today             int64             `json:"f0_today"`
	F0Days14            int64             `json:"f0_14d"`
	F1Today             int64             `json:"f1_today"`
	F1Days14            int64             `json:"f1_14d"`
	F0ByDay             []DayValue        `json:"f0_by_day"`
	Quarantined         int64             `json:"quarantined"`
	VenuesRegistered    int64             `json:"venues_registered"`
	VenuesScanning      int64             `json:"venues_scanning"`
	ScanningPct         float64           `json:"venues_scanning_pct"`
	Categories          []CategoryFigures `json:"categories"`
	BluezoneInstalls    int64             `json:"bluezone_installs"`
	SmartphoneUsers     int64             `json:"smartphone_users"`
	BluezonePct         float64           `json:"bluezone_pct"`
	BluezoneTarget      float64           `json:"bluezone_target_pct"`
	Children            []ChildFigures    `json:"children"`
	Available           map[string]bool   `json:"available"`
	ChildLevelDrillable bool              `json:"children_drillable"`
}

type cached struct {
	f Figures
}

// viewer returns the unit a caller's dashboard opens on and the sector it
// is limited to; venue managers have no dashboard.
func (s *Service) viewer(p *auth.Principal, unit string) (geo.Unit, string, error) {
	if p == nil {
		return geo.Unit{}, "", fmt.Errorf("dashboard: %w", errs.ErrUnauthorized)
	}
	if p.Role == auth.VenueManager {
		return geo.Unit{}, "", fmt.Errorf("dashboard: %w", errs.ErrForbidden)
	}
	if unit == "" {
		unit = p.Unit
		if unit == geo.Country && s.Province != "" && s.Province != geo.Country {
			unit = s.Province
		}
	}
	u, ok := geo.Get(unit)
	if !ok {
		return geo.Unit{}, "", fmt.Errorf("dashboard: %w", &errs.Invalid{Fields: map[string]string{"unit": msg.Both("dashboard.unknown_unit_code")}})
	}
	if !p.InJurisdiction(unit) {
		return geo.Unit{}, "", fmt.Errorf("dashboard %s: %w", unit, errs.ErrForbidden)
	}
	sector := ""
	if !p.SeesSector("") {
		sector = p.Department
	}
	return u, sector, nil
}

// Figures returns the dashboard of unit ("" = the caller's own) as the
// caller may see it. Figures computed since the last refresh are reused.
func (s *Service) Figures(ctx context.Context, p *auth.Principal, unit string) (Figures, error) {
	u, sector, err := s.viewer(p, unit)
	if err != nil {
		return Figures{}, err
	}
	key := u.Code + "|" + sector
	s.mu.Lock()
	c, ok := s.cache[key]
	version := s.version
	s.mu.Unlock()
	if ok {
		return c.f, nil
	}
	f, err := s.Compute(ctx, u, sector)
	if err != nil {
		return Figures{}, err
	}
	f.Version = version
	s.mu.Lock()
	if s.version == version {
		if s.cache == nil {
			s.cache = map[string]cached{}
		}
		if len(s.cache) > 5000 {
			clear(s.cache)
		}
		s.cache[key] = cached{f}
	}
	s.mu.Unlock()
	return f, nil
}

// dayStart is local midnight of t's day.
func dayStart(t time.Time) time.Time {
	y, m, d := t.In(HCM).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, HCM)
}

// pick returns the value of metric for the sector (or for all sectors when
// the metric is not split by sector).
func pick(vals map[[2]string]int64, sector, metric string) int64 {
	if sector != "" && sectored(metric) {
		return vals[[2]string{sector, metric}]
	}
	return vals[[2]string{"", metric}]
}

// Compute reads the stored counts of a unit for a sector, without the cache.
// The benchmark measures this path.
func (s *Service) Compute(ctx context.Context, u geo.Unit, sector string) (Figures, error) {
	now := s.now()
	today := dayStart(now)
	from := today.AddDate(0, 0, -13)
	f := Figures{Unit: u, Path: geo.Path(u.Code), Sector: sector, At: now.UTC().Truncate(time.Second), Day: today.Format("2006-01-02"),
		CheckinsByHour: make([]int64, 24), Available: s.provided()}
	sectors := []any{""}
	if sector != "" {
		sectors = append(sectors, sector)
	}
	// Today by hour (the chart), then 14 days by day (totals and the chart).
	args := append([]any{u.Code, today.Unix(), Checkins}, sectors...)
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT sector, hour, n FROM dash_hourly
		WHERE unit_code = $1 AND hour >= $2 AND metric = $3 AND sector IN (%s)`, sqldb.In(4, len(sectors))), args...)
	if err != nil {
		return Figures{}, fmt.Errorf("dashboard %s: %w", u.Code, err)
	}
	for rows.Next() {
		var sec string
		var hour, n int64
		if err := rows.Scan(&sec, &hour, &n); err != nil {
			rows.Close()
			return Figures{}, fmt.Errorf("dashboard %s: %w", u.Code, err)
		}
		if sec == sector {
			f.CheckinsByHour[time.Unix(hour, 0).In(HCM).Hour()] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Figures{}, fmt.Errorf("dashboard %s: %w", u.Code, err)
	}
	todayN, fromN := localDay(today), localDay(from)
	daily := []string{Checkins, Declarations, DeclarationsFlagged, F0, F1}
	args = append([]any{u.Code, fromN}, sectors...)
	for _, m := range daily {
		args = append(args, m)
	}
	rows, err = s.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT sector, metric, day, n FROM dash_daily
		WHERE unit_code = $1 AND day >= $2 AND sector IN (%s) AND metric IN (%s)`,
		sqldb.In(3, len(sectors)), sqldb.In(3+len(sectors), len(daily))), args...)
	if err != nil {
		return Figures{}, fmt.Errorf("dashboard %s: %w", u.Code, err)
	}
	byDay := map[string][]int64{Checkins: make([]int64, 14), F0: make([]int64, 14)}
	for rows.Next() {
		var sec, metric string
		var day, n int64
		if err := rows.Scan(&sec, &metric, &day, &n); err != nil {
			rows.Close()
			return Figures{}, fmt.Errorf("dashboard %s: %w", u.Code, err)
		}
		if (sector != "" && sectored(metric)) != (sec != "") {
			continue
		}
		di := int(day - fromN)
		if di < 0 || di > 13 {
			continue
		}
		isToday := day == todayN
		if d, ok := byDay[metric]; ok {
			d[di] += n
		}
		switch metric {
		case Checkins:
			if isToday {
				f.CheckinsToday += n
			}
		case Declarations:
			if isToday {
				f.DeclarationsToday += n
			}
		case DeclarationsFlagged:
			if isToday {
				f.FlaggedToday += n
			}
		case F0:
			f.F0Days14 += n
			if isToday {
				f.F0Today += n
			}
		case F1:
			f.F1Days14 += n
			if isToday {
				f.F1Today += n
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Figures{}, fmt.Errorf("dashboard %s: %w", u.Code, err)
	}
	for i := range 14 {
		day := from.AddDate(0, 0, i).Format("2006-01-02")
		f.CheckinsByDay = append(f.CheckinsByDay, DayValue{day, byDay[Checkins][i]})
		f.F0ByDay = append(f.F0ByDay, DayValue{day, byDay[F0][i]})
	}
	gauges, err := s.gauges(ctx, []string{u.Code}, sectors)
	if err != nil {
		return Figures{}, err
	}
	g := gauges[u.Code]
	f.VenuesRegistered = pick(g, sector, Venues)
	f.VenuesScanning = pick(g, sector, VenuesScanning)
	f.ScanningPct = pct(f.VenuesScanning, f.VenuesRegistered)
	f.Quarantined = pick(g, sector, Quarantined)
	f.BluezoneInstalls = pick(g, sector, BluezoneInstalls)
	f.SmartphoneUsers = pick(g, sector, SmartphoneUsers)
	f.BluezonePct = pct(f.BluezoneInstalls, f.SmartphoneUsers)
	if s.Targets != nil {
		if f.BluezoneTarget, err = s.Targets.BluezoneTarget(ctx, u.Code, now); err != nil {
			return Figures{}, fmt.Errorf("dashboard %s: %w", u.Code, err)
		}
	}
	for _, c := range venue.Categories {
		if sector != "" && c.Department != sector {
			continue
		}
		cf := CategoryFigures{Code: c.Code, Name: c.Name, NameEN: c.NameEN,
			Registered: pick(g, sector, Venues+":"+c.Code), Scanning: pick(g, sector, VenuesScanning+":"+c.Code)}
		if cf.Registered > 0 {
			f.Categories = append(f.Categories, cf)
		}
	}
	if err := s.children(ctx, &f, today, from, sector, sectors); err != nil {
		return Figures{}, err
	}
	return f, nil
}

func pct(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(int64(float64(part)*1000/float64(whole)+0.5)) / 10
}

// gauges reads current values of units: unit → (sector, metric) → n.
func (s *Service) gauges(ctx context.Context, units []string, sectors []any) (map[string]map[[2]string]int64, error) {
	out := map[string]map[[2]string]int64{}
	args := make([]any, 0, len(units)+len(sectors))
	for _, u := range units {
		args = append(args, u)
		out[u] = map[[2]string]int64{}
	}
	args = append(args, sectors...)
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf("SELECT unit_code, sector, metric, n FROM dash_gauges WHERE unit_code IN (%s) AND sector IN (%s)",
		sqldb.In(1, len(units)), sqldb.In(1+len(units), len(sectors))), args...)
	if err != nil {
		return nil, fmt.Errorf("dashboard gauges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var unit, sector, metric string
		var n int64
		if err := rows.Scan(&unit, &sector, &metric, &n); err != nil {
			return nil, fmt.Errorf("dashboard gauges: %w", err)
		}
		out[unit][[2]string{sector, metric}] = n
	}
	return out, rows.Err()
}

// children fills the drill-down table: each sub-unit's headline numbers.
func (s *Service) children(ctx context.Context, f *Figures, today, from time.Time, sector string, sectors []any) error {
	code := f.Unit.Code
	if code == geo.Country && s.Province != "" && s.Province != geo.Country {
		code = s.Province
	}
	kids := geo.Children(code)
	if code != f.Unit.Code {
		kids = []geo.Unit{mustUnit(code)}
	}
	if len(kids) == 0 {
		return nil
	}
	f.ChildLevelDrillable = kids[0].Level != "commune"
	units := make([]string, len(kids))
	for i, k := range kids {
		units[i] = k.Code
	}
	metrics := []string{Checkins, Declarations, F0}
	args := []any{localDay(today), localDay(from)}
	for _, u := range units {
		args = append(args, u)
	}
	args = append(args, sectors...)
	for _, m := range metrics {
		args = append(args, m)
	}
	q := fmt.Sprintf(`SELECT unit_code, sector, metric, sum(CASE WHEN day = $1 THEN n ELSE 0 END), sum(n) FROM dash_daily
		WHERE day >= $2 AND unit_code IN (%s) AND sector IN (%s) AND metric IN (%s) GROUP BY unit_code, sector, metric`,
		sqldb.In(3, len(units)), sqldb.In(3+len(units), len(sectors)), sqldb.In(3+len(units)+len(sectors), len(metrics)))
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("dashboard children: %w", err)
	}
	type sums struct{ today, all int64 }
	got := map[string]map[[2]string]sums{}
	for rows.Next() {
		var unit, sec, metric string
		var t, a int64
		if err := rows.Scan(&unit, &sec, &metric, &t, &a); err != nil {
			rows.Close()
			return fmt.Errorf("dashboard children: %w", err)
		}
		if got[unit] == nil {
			got[unit] = map[[2]string]sums{}
		}
		got[unit][[2]string{sec, metric}] = sums{t, a}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dashboard children: %w", err)
	}
	g, err := s.gauges(ctx, units, sectors)
	if err != nil {
		return err
	}
	get := func(unit, metric string) sums {
		if sector != "" && sectored(metric) {
			return got[unit][[2]string{sector, metric}]
		}
		return got[unit][[2]string{"", metric}]
	}
	for _, k := range kids {
		f.Children = append(f.Children, ChildFigures{Unit: k,
			CheckinsToday: get(k.Code, Checkins).today, DeclarationsDay: get(k.Code, Declarations).today,
			F0Days14: get(k.Code, F0).all, VenuesRegistered: pick(g[k.Code], sector, Venues),
			VenuesScanning: pick(g[k.Code], sector, VenuesScanning)})
	}
	return nil
}

func mustUnit(code string) geo.Unit {
	u, _ := geo.Get(code)
	return u
}

// Totals sums a unit's hourly counts over [from, to) and adds its current
// values, keyed by metric, as the sector sees them: what a weekly report is
// prefilled with (it implements reports.Live).
func (s *Service) Totals(ctx context.Context, unit, sector string, from, to time.Time) (map[string]int64, error) {
	sectors := []any{""}
	if sector != "" {
		sectors = append(sectors, sector)
	}
	args := append([]any{unit, from.Unix(), to.Unix()}, sectors...)
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT sector, metric, sum(n) FROM dash_hourly
		WHERE unit_code = $1 AND hour >= $2 AND hour < $3 AND sector IN (%s) GROUP BY sector, metric`, sqldb.In(4, len(sectors))), args...)
	if err != nil {
		return nil, fmt.Errorf("totals %s: %w", unit, err)
	}
	vals := map[[2]string]int64{}
	for rows.Next() {
		var sec, metric string
		var n int64
		if err := rows.Scan(&sec, &metric, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("totals %s: %w", unit, err)
		}
		vals[[2]string{sec, metric}] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("totals %s: %w", unit, err)
	}
	g, err := s.gauges(ctx, []string{unit}, sectors)
	if err != nil {
		return nil, err
	}
	for k, n := range g[unit] {
		vals[k] = n
	}
	out := map[string]int64{}
	for k := range vals {
		out[k[1]] = pick(vals, sector, k[1])
	}
	return out, nil
}
