// Package adoption measures the directive's Bluezone targets: at least 40% of
// each area's smartphone users by 2021-07-31 and 60% by 2021-12-31. Each area
// is measured against its own number of smartphone users (imported per
// commune from the telecom operators' or the statistics office's figures, and
// editable), so a commune with few phones is not hidden behind a big town.
// The figures feed the adoption page and the weekly reports.
package adoption

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sheet"
	"anticovid/internal/sqldb"
)

// PhoneCounter counts registered and active Bluezone phones per commune
// under a unit; bluezone.Service implements it.
type PhoneCounter interface {
	PhonesByCommune(ctx context.Context, unit string, activeSince time.Time) (map[string][2]int64, error)
}

// Target is one of the directive's goals: a share of smartphone users
// registered by a date (Asia/Ho_Chi_Minh, inclusive).
type Target struct {
	Due     string  `json:"due_date"` // YYYY-MM-DD
	Percent float64 `json:"percent"`
}

// Progress is an area's standing against one target.
type Progress struct {
	Target
	Needed int64 `json:"needed"` // more phones to register to meet it (0 when met)
	Met    bool  `json:"met"`
}

// Figures are one administrative unit's adoption numbers.
type Figures struct {
	Code             string     `json:"code"`
	Name             string     `json:"name"`
	Level            string     `json:"level"`
	Smartphones      int64      `json:"smartphone_users"`
	Communes         int        `json:"communes"`
	CommunesWithData int        `json:"communes_with_data"` // communes whose smartphone users are known
	Registered       int64      `json:"registered"`
	Active           int64      `json:"active"`
	Percent          float64    `json:"percent"` // registered / smartphone users × 100; 0 when unknown
	Current          Progress   `json:"current"` // the target in force (the next deadline, else the last)
	Gap              float64    `json:"gap"`     // current target − percent, in points: positive is behind
	Targets          []Progress `json:"targets"`
}

// Known reports whether the area has smartphone figures to measure against.
func (f Figures) Known() bool { return f.Smartphones > 0 }

// Report is one unit and its children, furthest behind first.
type Report struct {
	At       time.Time `json:"at"`
	Unit     Figures   `json:"unit"`
	Children []Figures `json:"children"`
	Targets  []Target  `json:"targets"`
}

// Service computes adoption and keeps its inputs.
type Service struct {
	DB     *sqldb.DB
	Phones PhoneCounter
	// Active: a phone that called in within it counts as active.
	Active time.Duration
	Now    func() time.Time
}

// NewService returns an adoption service.
func NewService(db *sqldb.DB, phones PhoneCounter) *Service {
	return &Service{DB: db, Phones: phones, Active: 7 * 24 * time.Hour, Now: time.Now}
}

var hcm = time.FixedZone("ICT", 7*3600)

// Targets returns the targets, earliest first.
func (s *Service) Targets(ctx context.Context) ([]Target, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT due_date, percent FROM adoption_targets ORDER BY due_date")
	if err != nil {
		return nil, fmt.Errorf("adoption targets: %w", err)
	}
	defer rows.Close()
	var out []Target
	for rows.Next() {
		var t Target
		if err := rows.Scan(&t.Due, &t.Percent); err != nil {
			return nil, fmt.Errorf("adoption targets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTargets replaces the targets (province administrators only): at least
// one, dates YYYY-MM-DD, percentages in (0, 100], rising with the dates.
func (s *Service) SetTargets(ctx context.Context, p *auth.Principal, ts []Target) error {
	const op = "adoption set targets"
	if !p.Can(auth.ProvinceAdmin) {
		return fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	f := errs.Fields{}
	if len(ts) == 0 || len(ts) > 10 {
		f.Add("targets", msg.Both("adoption.1_to_10_targets"))
	}
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b Target) int { return strings.Compare(a.Due, b.Due) })
	for i, t := range ts {
		k := fmt.Sprintf("targets[%d]", i)
		if _, err := time.Parse(time.DateOnly, t.Due); err != nil {
			f.Add(k+".due_date", msg.Both("adoption.date_yyyy_mm_dd"))
		}
		if !(t.Percent > 0 && t.Percent <= 100) {
			f.Add(k+".percent", msg.Both("adoption.percent_in_0_100"))
		}
		if i > 0 && (t.Due == ts[i-1].Due || t.Percent < ts[i-1].Percent) {
			f.Add(k, msg.Both("adoption.one_target_per_date"))
		}
	}
	if err := f.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM adoption_targets"); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		for _, t := range ts {
			if _, err := tx.ExecContext(ctx, "INSERT INTO adoption_targets (due_date, percent) VALUES ($1, $2)", t.Due, t.Percent); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		return nil
	})
}

// CanEdit reports whether p may set smartphone figures for commune.
func CanEdit(p *auth.Principal, commune string) bool {
	if p == nil || !p.InJurisdiction(commune) {
		return false
	}
	return p.Can(auth.ProvinceAdmin, auth.DistrictOfficer, auth.CommuneOfficer) ||
		(p.Can(auth.DepartmentOfficer) && p.Department == "ict")
}

// SetUsers sets one commune's number of smartphone users.
func (s *Service) SetUsers(ctx context.Context, p *auth.Principal, commune string, users int64) error {
	const op = "adoption set users"
	if u, ok := geo.Get(commune); !ok || u.Level != "commune" {
		return fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"commune_code": msg.Both("adoption.unknown_commune_code")}})
	}
	if !CanEdit(p, commune) {
		return fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	if users < 0 || users > maxUsers {
		return fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"users": msg.Both("adoption.users_0_to_10")}})
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return upsert(ctx, tx, p, commune, users, "form", s.now())
	})
}

const maxUsers = 10_000_000

func upsert(ctx context.Context, tx *sql.Tx, p *auth.Principal, commune string, users int64, source string, now time.Time) error {
	d, _ := geo.Ancestor(commune, "district")
	pr, _ := geo.Ancestor(commune, "province")
	_, err := tx.ExecContext(ctx, `INSERT INTO adoption_smartphones (commune_code, district_code, province_code, users, source, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (commune_code) DO UPDATE SET users = excluded.users,
		source = excluded.source, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		commune, d.Code, pr.Code, users, source, now.Unix(), p.UserID)
	if err != nil {
		return fmt.Errorf("adoption upsert %s: %w", commune, err)
	}
	return nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ImportResult says what an import changed.
type ImportResult struct {
	Rows    int `json:"rows"`
	Updated int `json:"updated"`
}

// MaxImportRows bounds a file: every commune of the country fits.
const MaxImportRows = 12_000

// Import reads smartphone users per commune from a CSV (UTF-8, comma or
// semicolon) or XLSX file with a header row naming a commune-code column
// ("commune_code", "Mã xã", ...) and a users column ("smartphone_users",
// "Số người dùng điện thoại thông minh", ...). Every row must be valid and in
// the importer's jurisdiction, or nothing is stored.
func (s *Service) Import(ctx context.Context, p *auth.Principal, r io.Reader, filename string) (ImportResult, error) {
	const op = "adoption import"
	if p == nil || !(p.Can(auth.ProvinceAdmin, auth.DistrictOfficer, auth.CommuneOfficer) || (p.Can(auth.DepartmentOfficer) && p.Department == "ict")) {
		return ImportResult{}, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	data, err := sheet.ReadAll(r)
	if err != nil {
		return ImportResult{}, fmt.Errorf("%s: %w", op, err)
	}
	// One past the limit, so the check below says it in this import's words.
	rows, err := sheet.Read(ctx, data, sheet.Options{MaxRows: MaxImportRows + 2})
	if err != nil {
		return ImportResult{}, fmt.Errorf("%s: %w", op, err)
	}
	if len(rows) < 2 {
		return ImportResult{}, fmt.Errorf("%s: %w", op, fileErr(msg.Both("adoption.file_needs_header_row")))
	}
	if len(rows) > MaxImportRows+1 {
		return ImportResult{}, fmt.Errorf("%s: %w", op, fileErr(msg.Both("adoption.at_most_rows", MaxImportRows)))
	}
	codeCol, usersCol := -1, -1
	for i, h := range rows[0] {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case usersCol < 0 && containsAny(h, "smartphone", "điện thoại", "dien thoai", "users", "người dùng", "nguoi dung", "so_nguoi"):
			usersCol = i
		case codeCol < 0 && containsAny(h, "commune_code", "mã", "ma xa", "ma_xa", "code"):
			codeCol = i
		}
	}
	if codeCol < 0 || usersCol < 0 {
		return ImportResult{}, fmt.Errorf("%s: %w", op, fileErr(msg.Both("adoption.need_commune_code_column")))
	}
	f := errs.Fields{}
	type row struct {
		commune string
		users   int64
	}
	var good []row
	seen := map[string]int{}
	for i, rec := range rows[1:] {
		line := i + 2
		cell := func(c int) string {
			if c < len(rec) {
				return strings.TrimSpace(rec[c])
			}
			return ""
		}
		code, usersText := cell(codeCol), cell(usersCol)
		if code == "" && usersText == "" {
			continue
		}
		key := fmt.Sprintf("row %d", line)
		if len(f) >= 30 {
			break
		}
		if n, err := strconv.Atoi(code); err == nil && len(code) < 5 && n >= 0 {
			code = fmt.Sprintf("%05d", n) // spreadsheets drop the leading zeros of codes
		}
		u, ok := geo.Get(code)
		switch {
		case !ok || u.Level != "commune":
			f.Add(key, msg.Both("adoption.row_unknown_commune_code", line, code))
			continue
		case !p.InJurisdiction(code):
			f.Add(key, msg.Both("adoption.row_commune_outside", line, u.Name, code))
			continue
		}
		if prev, dup := seen[code]; dup {
			f.Add(key, msg.Both("adoption.row_commune_repeats_row", line, code, prev))
			continue
		}
		seen[code] = line
		clean := strings.NewReplacer(".", "", ",", "", " ", "", "\u00a0", "").Replace(usersText)
		n, err := strconv.ParseInt(clean, 10, 64)
		if err != nil || n < 0 || n > maxUsers {
			f.Add(key, msg.Both("adoption.row_users_not_number", line, usersText))
			continue
		}
		good = append(good, row{code, n})
	}
	if err := f.Err(); err != nil {
		return ImportResult{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.now()
	source := "import " + filepath.Base(filename)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range good {
			if err := upsert(ctx, tx, p, r.commune, r.users, source, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("%s: %w", op, err)
	}
	return ImportResult{Rows: len(rows) - 1, Updated: len(good)}, nil
}

func fileErr(msg string) error { return &errs.Invalid{Fields: map[string]string{"file": msg}} }

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// Figures returns the adoption figures of unit and of every district and
// commune under it, by code, at the date of at. Counts only, no personal
// data: the weekly reports call this for any unit they report on.
func (s *Service) Figures(ctx context.Context, unit string, at time.Time) (map[string]Figures, error) {
	const op = "adoption figures"
	u, ok := geo.Get(unit)
	if !ok {
		return nil, fmt.Errorf("%s: unit %q: %w", op, unit, errs.ErrNotFound)
	}
	targets, err := s.Targets(ctx)
	if err != nil {
		return nil, err
	}
	q := "SELECT commune_code, users FROM adoption_smartphones"
	var args []any
	if u.Level != "country" {
		q += " WHERE " + u.Level + "_code = $1"
		args = append(args, unit)
	}
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	users := map[string]int64{}
	for rows.Next() {
		var c string
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		users[c] = n
	}
	rows.Close()
	phones, err := s.Phones.PhonesByCommune(ctx, unit, at.Add(-s.Active))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out := map[string]Figures{}
	add := func(code string, commune string) {
		f, ok := out[code]
		if !ok {
			g, _ := geo.Get(code)
			f = Figures{Code: code, Name: g.Name, Level: g.Level}
		}
		f.Communes++
		if n, ok := users[commune]; ok {
			f.Smartphones += n
			f.CommunesWithData++
		}
		f.Registered += phones[commune][0]
		f.Active += phones[commune][1]
		out[code] = f
	}
	for _, c := range geo.Communes(unit) {
		for _, a := range geo.Path(c.Code) {
			if geo.Contains(unit, a.Code) {
				add(a.Code, c.Code)
			}
		}
		if u.Level == "country" {
			add(unit, c.Code)
		}
	}
	date := at.In(hcm).Format(time.DateOnly)
	for code, f := range out {
		out[code] = measure(f, targets, date)
	}
	return out, nil
}

// measure fills in the percentages and the progress against each target.
func measure(f Figures, targets []Target, date string) Figures {
	if f.Smartphones > 0 {
		f.Percent = float64(f.Registered) * 100 / float64(f.Smartphones)
	}
	f.Targets = nil
	for _, t := range targets {
		p := Progress{Target: t}
		if f.Smartphones > 0 {
			want := int64(math.Ceil(t.Percent * float64(f.Smartphones) / 100))
			p.Needed = max(0, want-f.Registered)
			p.Met = p.Needed == 0
		}
		f.Targets = append(f.Targets, p)
	}
	for i, p := range f.Targets {
		f.Current = p
		if p.Due >= date || i == len(f.Targets)-1 {
			break
		}
	}
	f.Gap = f.Current.Percent - f.Percent
	return f
}

// Report returns unit (default: the caller's) and its children, sorted by
// who is furthest behind the target in force; areas without smartphone
// figures come last. The unit must be within the caller's jurisdiction.
func (s *Service) Report(ctx context.Context, p *auth.Principal, unit string, at time.Time) (Report, error) {
	const op = "adoption report"
	if p == nil {
		return Report{}, fmt.Errorf("%s: %w", op, errs.ErrUnauthorized)
	}
	if unit == "" {
		unit = p.Unit
	}
	if !p.InJurisdiction(unit) {
		return Report{}, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	figs, err := s.Figures(ctx, unit, at)
	if err != nil {
		return Report{}, err
	}
	targets, _ := s.Targets(ctx)
	rep := Report{At: at, Unit: figs[unit], Targets: targets}
	for _, c := range geo.Children(unit) {
		if f, ok := figs[c.Code]; ok {
			rep.Children = append(rep.Children, f)
		}
	}
	SortBehind(rep.Children)
	return rep, nil
}

// SortBehind orders areas furthest behind first: known areas by gap to the
// target in force (then by phones still needed), unknown ones last by code.
func SortBehind(fs []Figures) {
	slices.SortStableFunc(fs, func(a, b Figures) int {
		if a.Known() != b.Known() {
			if a.Known() {
				return -1
			}
			return 1
		}
		if a.Known() && a.Gap != b.Gap {
			if a.Gap > b.Gap {
				return -1
			}
			return 1
		}
		if a.Current.Needed != b.Current.Needed {
			if a.Current.Needed > b.Current.Needed {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Code, b.Code)
	})
}
