// Package auth holds accounts, roles, jurisdictions, sessions, API tokens and
// the audit log of personal-data access. Every record query in the system is
// scoped by the Principal this package resolves.
package auth

import (
	"context"

	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// Role is what a user may do; its identifier is stable (integrators script it).
type Role string

// The roles of the directive.
const (
	ProvinceAdmin     Role = "province_admin"
	DepartmentOfficer Role = "department_officer"
	DistrictOfficer   Role = "district_officer"
	CommuneOfficer    Role = "commune_officer"
	HealthTracer      Role = "health_tracer"
	VenueManager      Role = "venue_manager"
)

// Roles lists every role, most powerful first.
var Roles = []Role{ProvinceAdmin, DepartmentOfficer, DistrictOfficer, CommuneOfficer, HealthTracer, VenueManager}

// unitLevels says at which administrative levels each role's jurisdiction may sit.
var unitLevels = map[Role][]string{
	ProvinceAdmin:     {"country", "province"},
	DepartmentOfficer: {"country", "province"},
	DistrictOfficer:   {"district"},
	CommuneOfficer:    {"commune"},
	HealthTracer:      {"country", "province", "district", "commune"},
	VenueManager:      {"commune"},
}

// Departments of the province named in the directive, by stable code.
var Departments = map[string]string{
	"ict":            msg.T("vi", "auth.department.ict"),
	"health":         msg.T("vi", "auth.department.health"),
	"police":         msg.T("vi", "auth.department.police"),
	"economic_zones": msg.T("vi", "auth.department.economic_zones"),
	"industry_trade": msg.T("vi", "auth.department.industry_trade"),
	"education":      msg.T("vi", "auth.department.education"),
	"labour":         msg.T("vi", "auth.department.labour"),
	"transport":      msg.T("vi", "auth.department.transport"),
	"justice":        msg.T("vi", "auth.department.justice"),
}

// crossSector departments trace or run the system across every sector.
var crossSector = map[string]bool{"ict": true, "health": true, "police": true}

// Principal is the authenticated caller: who, in which role, over which unit.
type Principal struct {
	UserID     int64  `json:"id"`
	Username   string `json:"username"`
	Role       Role   `json:"role"`
	Unit       string `json:"unit_code"`
	Department string `json:"department,omitempty"`
}

// InJurisdiction reports whether a record in unit code is within the caller's unit.
func (p *Principal) InJurisdiction(code string) bool {
	return p != nil && geo.Contains(p.Unit, code)
}

// Scope returns the column and value that restrict a query to the caller's unit,
// for tables that keep province_code, district_code and commune_code. An empty
// column means the whole country.
func (p *Principal) Scope() (column, value string) {
	u, _ := geo.Get(p.Unit)
	switch u.Level {
	case "province":
		return "province_code", p.Unit
	case "district":
		return "district_code", p.Unit
	case "commune":
		return "commune_code", p.Unit
	}
	return "", ""
}

// SeesSector reports whether the caller may see records of a sector (the
// department code responsible for a venue category). Department officers see
// only their own sector, except the departments that trace across all.
func (p *Principal) SeesSector(department string) bool {
	if p.Role != DepartmentOfficer || crossSector[p.Department] {
		return true
	}
	return p.Department == department
}

// Can reports whether the caller has one of the roles.
func (p *Principal) Can(roles ...Role) bool {
	if p == nil {
		return false
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

type ctxKey int

const (
	principalKey ctxKey = iota
	requestIDKey
)

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// From returns the caller in ctx, or nil for an anonymous request.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey).(*Principal)
	return p
}

// WithRequestID returns ctx carrying the request id the audit log records.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}
