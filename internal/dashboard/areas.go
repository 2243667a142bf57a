package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// Kinds of area on the public map.
const (
	AreaLockdown   = "lockdown"   // phong tỏa
	AreaQuarantine = "quarantine" // cách ly (a hamlet, a street, a building)
)

// Area is a quarantine or lockdown area declared by an officer.
type Area struct {
	ID       int64      `json:"id"`
	Kind     string     `json:"kind"`
	Label    string     `json:"label"`
	Note     string     `json:"note,omitempty"`
	UnitCode string     `json:"unit_code"`
	StartsAt time.Time  `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
}

// mayDeclare: the province, Health and the district and commune committees
// declare areas within their jurisdiction.
func mayDeclare(p *auth.Principal) bool {
	return p.Can(auth.ProvinceAdmin, auth.DistrictOfficer, auth.CommuneOfficer) ||
		(p.Can(auth.DepartmentOfficer) && p.Department == "health")
}

// MayDeclare reports whether p may declare, change and lift areas (within
// their jurisdiction).
func MayDeclare(p *auth.Principal) bool { return p != nil && mayDeclare(p) }

// checkArea validates an area and returns its unit.
func (s *Service) checkArea(a *Area) (geo.Unit, error) {
	f := errs.Fields{}
	a.Label = strings.Join(strings.Fields(a.Label), " ")
	a.Note = strings.TrimSpace(a.Note)
	if a.Kind != AreaLockdown && a.Kind != AreaQuarantine {
		f.Add("kind", msg.Both("dashboard.kind_lockdown_or_quarantine"))
	}
	if n := len([]rune(a.Label)); n < 2 || n > 120 {
		f.Add("label", msg.Both("dashboard.label_2_to_120"))
	}
	if len([]rune(a.Note)) > 500 {
		f.Add("note", msg.Both("dashboard.note_at_most_500"))
	}
	u, ok := geo.Get(a.UnitCode)
	if !ok || (u.Level != "commune" && u.Level != "district") {
		f.Add("unit_code", msg.Both("dashboard.needs_commune_or_district"))
	}
	if a.StartsAt.IsZero() {
		a.StartsAt = s.now()
	}
	a.StartsAt = a.StartsAt.UTC().Truncate(time.Second)
	if a.EndsAt != nil && !a.EndsAt.After(a.StartsAt) {
		f.Add("ends_at", msg.Both("dashboard.end_after_start"))
	}
	return u, f.Err()
}

// auditArea records who declared, changed or lifted an area: what the
// public map shows about a place is an official act.
func auditArea(ctx context.Context, s *Service, p *auth.Principal, action string, id int64) error {
	if auth.From(ctx) == nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	return auth.Audit(ctx, s.DB, action, "map_area", []string{strconv.FormatInt(id, 10)}, msg.Both("dashboard.public_map_area"))
}

// AddArea declares an area. The label is public: it must name a place, not
// a person (the form says so).
func (s *Service) AddArea(ctx context.Context, p *auth.Principal, a Area) (Area, error) {
	u, err := s.checkArea(&a)
	if err != nil {
		return Area{}, fmt.Errorf("add area: %w", err)
	}
	if !mayDeclare(p) || !p.InJurisdiction(a.UnitCode) {
		return Area{}, fmt.Errorf("add area: %w", errs.ErrForbidden)
	}
	commune, d, pr := areaCodes(u)
	var ends any
	if a.EndsAt != nil {
		ends = a.EndsAt.Unix()
	}
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO map_areas (kind, label, note, unit_code, commune_code, district_code, province_code,
		starts_at, ends_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		a.Kind, a.Label, a.Note, a.UnitCode, commune, d, pr, a.StartsAt.Unix(), ends, p.UserID, s.now().Unix()).Scan(&a.ID)
	if err != nil {
		return Area{}, fmt.Errorf("add area: %w", err)
	}
	if err := auditArea(ctx, s, p, "create", a.ID); err != nil {
		return Area{}, err
	}
	s.invalidatePublic()
	return a, nil
}

// areaCodes are the commune (empty for a district's area), district and
// province codes an area is filed under.
func areaCodes(u geo.Unit) (commune, district, province string) {
	if u.Level == "commune" {
		commune = u.Code
	}
	d, _ := geo.Ancestor(u.Code, "district")
	pr, _ := geo.Ancestor(u.Code, "province")
	return commune, d.Code, pr.Code
}

// Area returns one area (lifted or not) for someone who may change it.
func (s *Service) Area(ctx context.Context, p *auth.Principal, id int64) (Area, error) {
	var a Area
	var starts int64
	var ends sql.NullInt64
	err := s.DB.Primary().R.QueryRowContext(ctx, "SELECT id, kind, label, note, unit_code, starts_at, ends_at FROM map_areas WHERE id = $1", id).
		Scan(&a.ID, &a.Kind, &a.Label, &a.Note, &a.UnitCode, &starts, &ends)
	if errors.Is(err, sql.ErrNoRows) {
		return Area{}, fmt.Errorf("area %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Area{}, fmt.Errorf("area %d: %w", id, err)
	}
	if !MayDeclare(p) || !p.InJurisdiction(a.UnitCode) {
		return Area{}, fmt.Errorf("area %d: %w", id, errs.ErrForbidden)
	}
	a.StartsAt = time.Unix(starts, 0).UTC()
	if ends.Valid {
		t := time.Unix(ends.Int64, 0).UTC()
		a.EndsAt = &t
	}
	return a, nil
}

// UpdateArea changes an area's kind, label, unit, period or note. The
// area's present unit and the new one must both be in the caller's
// jurisdiction.
func (s *Service) UpdateArea(ctx context.Context, p *auth.Principal, id int64, a Area) (Area, error) {
	if _, err := s.Area(ctx, p, id); err != nil {
		return Area{}, err
	}
	u, err := s.checkArea(&a)
	if err != nil {
		return Area{}, fmt.Errorf("update area %d: %w", id, err)
	}
	if !p.InJurisdiction(a.UnitCode) {
		return Area{}, fmt.Errorf("update area %d: %w", id, errs.ErrForbidden)
	}
	commune, d, pr := areaCodes(u)
	var ends any
	if a.EndsAt != nil {
		ends = a.EndsAt.Unix()
	}
	if err := auditArea(ctx, s, p, "update", id); err != nil {
		return Area{}, err
	}
	_, err = s.DB.W.ExecContext(ctx, `UPDATE map_areas SET kind = $1, label = $2, note = $3, unit_code = $4, commune_code = $5,
		district_code = $6, province_code = $7, starts_at = $8, ends_at = $9 WHERE id = $10`,
		a.Kind, a.Label, a.Note, a.UnitCode, commune, d, pr, a.StartsAt.Unix(), ends, id)
	if err != nil {
		return Area{}, fmt.Errorf("update area %d: %w", id, err)
	}
	s.invalidatePublic()
	a.ID = id
	return a, nil
}

// EndArea lifts an area now.
func (s *Service) EndArea(ctx context.Context, p *auth.Principal, id int64) error {
	var unit string
	err := s.DB.Primary().R.QueryRowContext(ctx, "SELECT unit_code FROM map_areas WHERE id = $1", id).Scan(&unit)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("end area %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("end area %d: %w", id, err)
	}
	if !mayDeclare(p) || !p.InJurisdiction(unit) {
		return fmt.Errorf("end area %d: %w", id, errs.ErrForbidden)
	}
	if err := auditArea(ctx, s, p, "end", id); err != nil {
		return err
	}
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE map_areas SET ends_at = $1 WHERE id = $2", s.now().Unix(), id); err != nil {
		return fmt.Errorf("end area %d: %w", id, err)
	}
	s.invalidatePublic()
	return nil
}

// Areas lists the areas in force within the caller's jurisdiction.
func (s *Service) Areas(ctx context.Context, p *auth.Principal) ([]Area, error) {
	if p == nil {
		return nil, fmt.Errorf("areas: %w", errs.ErrUnauthorized)
	}
	where, args := "(ends_at IS NULL OR ends_at > $1)", []any{s.now().Unix()}
	if col, val := p.Scope(); col != "" {
		args = append(args, val)
		where += fmt.Sprintf(" AND %s = $%d", col, len(args))
	}
	// The officers' list: they see at once what they have just drawn, so
	// it is read from the primary (the public map may lag, on the replica).
	rows, err := s.DB.Primary().R.QueryContext(ctx, "SELECT id, kind, label, note, unit_code, starts_at, ends_at FROM map_areas WHERE "+where+" ORDER BY starts_at DESC LIMIT 500", args...)
	if err != nil {
		return nil, fmt.Errorf("areas: %w", err)
	}
	defer rows.Close()
	out := []Area{}
	for rows.Next() {
		var a Area
		var starts int64
		var ends sql.NullInt64
		if err := rows.Scan(&a.ID, &a.Kind, &a.Label, &a.Note, &a.UnitCode, &starts, &ends); err != nil {
			return nil, fmt.Errorf("areas: %w", err)
		}
		a.StartsAt = time.Unix(starts, 0).UTC()
		if ends.Valid {
			t := time.Unix(ends.Int64, 0).UTC()
			a.EndsAt = &t
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// activeAreas are the areas in force in a province, as the public sees them
// (without the officer's note).
func (s *Service) activeAreas(ctx context.Context, province string, now time.Time) ([]PublicArea, error) {
	where, args := "starts_at <= $1 AND (ends_at IS NULL OR ends_at > $1)", []any{now.Unix()}
	if province != geo.Country {
		where += " AND province_code = $2"
		args = append(args, province)
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT kind, label, unit_code, district_code, starts_at, ends_at FROM map_areas WHERE "+where+" ORDER BY starts_at DESC LIMIT 500", args...)
	if err != nil {
		return nil, fmt.Errorf("public areas: %w", err)
	}
	defer rows.Close()
	out := []PublicArea{}
	for rows.Next() {
		var a PublicArea
		var starts int64
		var ends sql.NullInt64
		if err := rows.Scan(&a.Kind, &a.Label, &a.UnitCode, &a.DistrictCode, &starts, &ends); err != nil {
			return nil, fmt.Errorf("public areas: %w", err)
		}
		u, _ := geo.Get(a.UnitCode)
		a.UnitName = u.Name
		a.Since = time.Unix(starts, 0).UTC()
		if ends.Valid {
			t := time.Unix(ends.Int64, 0).UTC()
			a.Until = &t
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// invalidatePublic makes the next public request rebuild the map, so a new
// area shows at once rather than after the cache's lifetime.
func (s *Service) invalidatePublic() {
	s.pubMu.Lock()
	if s.pub != nil {
		s.pub.built = time.Time{}
	}
	s.pubMu.Unlock()
}
