package doortodoor

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/sheet"
)

// Figures are a hamlet's or an area's coverage.
type Figures struct {
	Households int64 `json:"households"` // households listed
	Visited    int64 `json:"visited"`    // households whose state is visited
	Attempted  int64 `json:"attempted"`  // households with any visit
	Installs   int64 `json:"installs"`   // Bluezone installs helped
	// Declarations helped: Assisted plus those the volunteers counted as
	// made on the resident's own phone (the visit form's count, which no
	// longer includes the declarations filled in on the volunteer's page,
	// so nothing is counted twice).
	Declarations int64 `json:"declarations"`
	Assisted     int64 `json:"assisted_declarations"` // declarations filled in on the volunteer's page and stored
	NoSmartphone int64 `json:"no_smartphone"`         // people met without a smartphone
}

// Add returns the sum of two sets of figures.
func (f Figures) Add(g Figures) Figures {
	return Figures{f.Households + g.Households, f.Visited + g.Visited, f.Attempted + g.Attempted,
		f.Installs + g.Installs, f.Declarations + g.Declarations, f.Assisted + g.Assisted, f.NoSmartphone + g.NoSmartphone}
}

// Percent is the share of households visited, in whole percent.
func (f Figures) Percent() int64 {
	if f.Households == 0 {
		return 0
	}
	return f.Visited * 100 / f.Households
}

// Area is one row of a coverage table: a hamlet of a commune, or a
// commune of a district (or of the province).
type Area struct {
	Key  string   `json:"key"` // hamlet id, or unit code
	Name string   `json:"name"`
	Lat  *float64 `json:"lat,omitempty"`
	Lng  *float64 `json:"lng,omitempty"`
	Figures
}

// Coverage is a unit's coverage and its parts: hamlets for a commune,
// communes for a district or province (those that listed households).
type Coverage struct {
	Unit  string  `json:"unit_code"`
	Total Figures `json:"total"`
	Parts []Area  `json:"parts"`
}

// Coverage returns a unit's coverage since the drive began.
func (s *Service) Coverage(ctx context.Context, p *auth.Principal, unit string) (Coverage, error) {
	const op = "door coverage"
	u, ok := geo.Get(unit)
	if !ok {
		return Coverage{}, fmt.Errorf("%s: %w", op, errs.ErrNotFound)
	}
	if !CanView(p, unit) {
		return Coverage{}, forbidden(op)
	}
	c := Coverage{Unit: unit}
	byKey := map[string]*Area{}
	var order []string
	part := func(key string) *Area {
		a, ok := byKey[key]
		if !ok {
			a = &Area{Key: key}
			byKey[key] = a
			order = append(order, key)
		}
		return a
	}
	col, hcol := u.Level+"_code", "h.hamlet_id"
	if u.Level == "commune" {
		hamlets, err := s.Hamlets(ctx, p, unit)
		if err != nil {
			return Coverage{}, err
		}
		for _, h := range hamlets {
			a := part(strconv.FormatInt(h.ID, 10))
			a.Name, a.Lat, a.Lng = h.Name, h.Lat, h.Lng
		}
	} else {
		hcol = "h.commune_code"
	}
	vcol := strings.Replace(hcol, "h.", "", 1)
	err := s.DB.CountBy(ctx, func(k string, n int64) { part(k).Households = n },
		fmt.Sprintf("SELECT %s, count(*) FROM door_households h WHERE h.%s = $1 GROUP BY %s", hcol, col, hcol), unit)
	if err == nil {
		err = s.DB.CountBy(ctx, func(k string, n int64) { part(k).Visited = n },
			fmt.Sprintf("SELECT %s, count(*) FROM door_households h WHERE h.%s = $1 AND h.state = $2 GROUP BY %s", hcol, col, hcol), unit, Visited)
	}
	if err == nil {
		err = s.DB.CountBy(ctx, func(k string, n int64) { part(k).Attempted = n },
			fmt.Sprintf("SELECT %s, count(*) FROM door_households h WHERE h.%s = $1 AND h.state_rank > 0 GROUP BY %s", hcol, col, hcol), unit)
	}
	if err == nil {
		err = s.sums(ctx, vcol, col, unit, time.Time{}, time.Time{}, func(k string, f Figures) {
			a := part(k)
			a.Installs, a.Declarations, a.NoSmartphone = a.Installs+f.Installs, a.Declarations+f.Declarations, f.NoSmartphone
		})
	}
	if err == nil {
		err = s.DB.CountBy(ctx, func(k string, n int64) { a := part(k); a.Assisted, a.Declarations = n, a.Declarations+n },
			fmt.Sprintf("SELECT %s, count(*) FROM door_declarations WHERE %s = $1 GROUP BY %s", vcol, col, vcol), unit)
	}
	if err != nil {
		return Coverage{}, fmt.Errorf("%s: %w", op, err)
	}
	for _, k := range order {
		a := byKey[k]
		if u.Level != "commune" {
			if cu, ok := geo.Get(k); ok {
				a.Name = cu.Name
			}
		}
		c.Total = c.Total.Add(a.Figures)
		c.Parts = append(c.Parts, *a)
	}
	return c, nil
}

// sums adds up visits' installs, declarations and people without a
// smartphone per key column under unit, within [from, to) when given.
func (s *Service) sums(ctx context.Context, key, col, unit string, from, to time.Time, fn func(string, Figures)) error {
	q := fmt.Sprintf("SELECT %s, COALESCE(SUM(installs), 0), COALESCE(SUM(declarations), 0), COALESCE(SUM(no_smartphone), 0) FROM door_visits WHERE %s = $1", key, col)
	args := []any{unit}
	if !from.IsZero() {
		q += " AND visited_at >= $2 AND visited_at < $3"
		args = append(args, from.Unix(), to.Unix())
	}
	rows, err := s.DB.R.QueryContext(ctx, q+" GROUP BY "+key, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k any
		var f Figures
		if err := rows.Scan(&k, &f.Installs, &f.Declarations, &f.NoSmartphone); err != nil {
			return err
		}
		fn(fmt.Sprint(k), f)
	}
	return rows.Err()
}

// Week gives a unit's door-to-door figures over a period, for the weekly
// report (reports.DoorToDoor): households listed (all time), households
// visited in the period (a first "visited" outcome then, or any then for a
// household visited since), and the installs and declarations helped then.
func (s *Service) Week(ctx context.Context, unit string, from, to time.Time) (Figures, error) {
	u, ok := geo.Get(unit)
	if !ok {
		return Figures{}, fmt.Errorf("door week: %w", errs.ErrNotFound)
	}
	col := u.Level + "_code"
	var f Figures
	err := s.DB.R.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM door_households WHERE %s = $1", col), unit).Scan(&f.Households)
	if err == nil {
		err = s.DB.R.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(DISTINCT household_id) FROM door_visits
			WHERE %s = $1 AND outcome = $2 AND visited_at >= $3 AND visited_at < $4`, col), unit, Visited, from.Unix(), to.Unix()).Scan(&f.Visited)
	}
	if err == nil {
		err = s.DB.R.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(DISTINCT household_id) FROM door_visits
			WHERE %s = $1 AND visited_at >= $2 AND visited_at < $3`, col), unit, from.Unix(), to.Unix()).Scan(&f.Attempted)
	}
	if err == nil {
		err = s.sums(ctx, col, col, unit, from, to, func(_ string, g Figures) {
			f.Installs, f.Declarations, f.NoSmartphone = g.Installs, f.Declarations+g.Declarations, g.NoSmartphone
		})
	}
	if err == nil {
		err = s.DB.R.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM door_declarations
			WHERE %s = $1 AND made_at >= $2 AND made_at < $3`, col), unit, from.Unix(), to.Unix()).Scan(&f.Assisted)
		f.Declarations += f.Assisted
	}
	if err != nil {
		return Figures{}, fmt.Errorf("door week: %w", err)
	}
	return f, nil
}

// Import reads households from a CSV or XLSX file within sheet's bounds:
// a header row, then hamlet, address and (optionally) residents per row,
// in that order. Nothing is stored unless every row is good.
func (s *Service) Import(ctx context.Context, p *auth.Principal, commune string, r io.Reader) (int, error) {
	const op = "door import"
	if !CanManage(p, commune) {
		return 0, forbidden(op)
	}
	data, err := sheet.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := sheet.Read(ctx, data, sheet.Options{MaxRows: MaxImportRows + 2})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	if len(rows) < 2 {
		return 0, invalid(op, "file", "door.file_rows")
	}
	if len(rows) > MaxImportRows+1 {
		return 0, invalid(op, "file", "door.file_too_many", MaxImportRows)
	}
	var hs []NewHousehold
	for i, rec := range rows[1:] {
		cell := func(c int) string {
			if c < len(rec) {
				return strings.TrimSpace(rec[c])
			}
			return ""
		}
		if cell(0) == "" && cell(1) == "" {
			continue
		}
		h := NewHousehold{Hamlet: cell(0), Address: cell(1)}
		if n := cell(2); n != "" {
			if h.Residents, err = strconv.Atoi(n); err != nil {
				return 0, invalid(op, "file", "door.file_row", i+2)
			}
		}
		if key := h.check(); key != "" {
			return 0, invalid(op, "file", "door.file_row", i+2)
		}
		hs = append(hs, h)
	}
	return s.AddHouseholds(ctx, p, commune, hs)
}
