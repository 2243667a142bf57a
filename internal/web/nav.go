package web

import (
	"net/http"
	"net/url"

	"anticovid/internal/auth"
)

// navItem is one entry of an official's menu: shown when may says so, which
// is the rule its handler applies (TestMenuMatchesPermissions checks every
// role's menu against the handlers' answers).
type navItem struct {
	Path, Key string
	may       func(s *Server, p *auth.Principal) bool
}

func anyone(*Server, *auth.Principal) bool { return true }

func notManager(_ *Server, p *auth.Principal) bool { return !p.Can(auth.VenueManager) }

// roles is may for the roles given, and for department officers of the
// departments given.
func roles(rs []auth.Role, departments ...string) func(*Server, *auth.Principal) bool {
	return func(_ *Server, p *auth.Principal) bool {
		if p.Can(rs...) {
			return true
		}
		for _, d := range departments {
			if p.Can(auth.DepartmentOfficer) && p.Department == d {
				return true
			}
		}
		return false
	}
}

var (
	admin     = []auth.Role{auth.ProvinceAdmin}
	tracers   = []auth.Role{auth.ProvinceAdmin, auth.HealthTracer}
	localUnit = []auth.Role{auth.ProvinceAdmin, auth.DistrictOfficer, auth.CommuneOfficer, auth.HealthTracer}
)

// menu is every official's menu, in order. Pages one step further (imports,
// rules, areas, account management, access requests) are linked from the
// pages they belong to.
var menu = []navItem{
	{"/inbox", "inbox.nav", notManager},
	{"/venues", "venues", anyone},
	{"/activity", "activity", anyone},
	{"/audit", "audit", roles(admin)},
	{"/messages", "msgs.nav", roles(admin)},
	{"/adoption", "ad.nav", anyone},
	{"/bluezone", "bz.nav", roles(tracers, "health", "police", "ict")},
	{"/declarations/worklist", "decl.nav", roles([]auth.Role{auth.CommuneOfficer, auth.HealthTracer}, "health")},
	{"/cases", "tracing", roles(localUnit, "health", "police", "ict")},
	{"/tracing/worklist", "cases.worklist", roles(localUnit, "health")},
	{"/dashboard", "ops.dashboard", notManager},
	{"/reports", "ops.reports", roles([]auth.Role{auth.ProvinceAdmin, auth.DepartmentOfficer, auth.DistrictOfficer, auth.CommuneOfficer})},
	{"/cameras", "ops.cameras", roles(localUnit, "health", "police")},
	{"/door-to-door", "door.nav", mayDoor},
	{"/campaigns", "ops.campaigns", roles([]auth.Role{auth.ProvinceAdmin, auth.DistrictOfficer, auth.CommuneOfficer}, "ict", "health")},
	{"/map", "ops.map", anyone},
	{"/meetings", "meeting.nav", notManager},
	{"/press", "press.nav", notManager},
	{"/bao-chi/", "press.public", anyone},
}

// publicMenu is a visitor's menu.
var publicMenu = []navItem{
	{"/khai-bao", "decl.nav", anyone},
	{"/map", "ops.map", anyone},
	{"/bao-chi/", "press.public", anyone},
}

// nav is the menu p sees (nil: a visitor): the entries whose screen this
// server serves (a feature may be off) and p may open.
func (s *Server) nav(p *auth.Principal) []navItem {
	items := menu
	if p == nil {
		items = publicMenu
	}
	var out []navItem
	for _, it := range items {
		if _, pattern := s.mux.Handler(&http.Request{Method: "GET", URL: &url.URL{Path: it.Path}}); (pattern == "GET "+it.Path || pattern == "GET "+it.Path+"{$}") && it.may(s, p) {
			out = append(out, it)
		}
	}
	return out
}
