package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// newID is a random identifier in the UUID layout: the idempotency key a
// served form carries, so a double tap or a resubmitted page records once.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// option is a closed-list choice in the page's language.
type option struct{ Code, Label string }

func options(list []declaration.Option, lang string) []option {
	out := make([]option, len(list))
	for i, o := range list {
		out[i] = option{o.Code, o.Label(lang)}
	}
	return out
}

// unitGroup is a district and its communes, for the address pickers'
// <optgroup>s.
type unitGroup struct {
	Code, Name string
	Communes   []geo.Unit
}

// districtGroups lists a province's districts with their communes.
func districtGroups(province string) []unitGroup {
	var out []unitGroup
	for _, d := range geo.Children(province) {
		out = append(out, unitGroup{d.Code, d.Name, geo.Children(d.Code)})
	}
	return out
}

// filterUnits are the units a list may be narrowed to: a province's
// districts, each with its communes, or a district's communes; none for a
// commune, whose lists are its own already.
func (s *Server) filterUnits(p *auth.Principal) []unitGroup {
	root := s.homeUnit(p)
	switch u, _ := geo.Get(root); u.Level {
	case "province":
		return districtGroups(root)
	case "district":
		return []unitGroup{{u.Code, u.Name, geo.Children(root)}}
	}
	return nil
}

// pageLinks are a list page's links to the previous and next pages: the
// list at path with the same query at the other offsets, "" where there
// are no rows. (The path is the list's, not the request's: a form posted
// elsewhere may render the list.)
func pageLinks(r *http.Request, path string, offset, limit, total int) (prev, next string) {
	page := func(offset int) string {
		q := r.URL.Query()
		q.Del("done")
		q.Set("offset", strconv.Itoa(offset))
		return path + "?" + q.Encode()
	}
	if offset > 0 {
		prev = page(max(offset-limit, 0))
	}
	if offset+limit < total {
		next = page(offset + limit)
	}
	return prev, next
}

// opsUnitGroup is a district and its communes in a form's unit list.
type opsUnitGroup struct {
	District   geo.Unit
	Selectable bool // the district itself may be chosen (areas)
	Communes   []geo.Unit
}

// homeUnit is the unit a caller's lists start from: their own, except that
// a country-wide account on a province's deployment starts at the province.
func (s *Server) homeUnit(p *auth.Principal) string {
	if p.Unit == geo.Country && s.Config.Province != geo.Country {
		return s.Config.Province
	}
	return p.Unit
}

// opsUnits are the units of the caller's jurisdiction, by district,
// within the deployment's province. A country-wide account on a country
// deployment gets none (the form asks for a code instead: 11,000 communes
// make no list).
func (s *Server) opsUnits(p *auth.Principal) []opsUnitGroup {
	root := s.homeUnit(p)
	u, ok := geo.Get(root)
	if !ok {
		return nil
	}
	switch u.Level {
	case "commune":
		d, _ := geo.Ancestor(root, "district")
		return []opsUnitGroup{{District: d, Communes: []geo.Unit{u}}}
	case "district":
		return []opsUnitGroup{{District: u, Selectable: true, Communes: geo.Children(u.Code)}}
	case "province":
		var out []opsUnitGroup
		for _, d := range geo.Children(u.Code) {
			out = append(out, opsUnitGroup{District: d, Selectable: true, Communes: geo.Children(d.Code)})
		}
		return out
	}
	return nil
}

// formErrors turns a service's field errors into the page's language; a
// field the form does not show goes under "form".
func formErrors(l string, err error, shown ...string) map[string]string {
	out := map[string]string{}
	for k, v := range errs.FieldsOf(err) {
		key := "form"
		for _, f := range shown {
			if f == k {
				key = k
			}
		}
		if out[key] != "" {
			out[key] += " · "
		}
		out[key] += msg.Local(l, v)
	}
	return out
}

// formInt reads a whole number field; blank is 0.
func formInt(r *http.Request, name string, bad map[string]string, l string) int {
	v := strings.NewReplacer(".", "", " ", "").Replace(strings.TrimSpace(r.PostFormValue(name)))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		bad[name] = msg.T(l, "web.form.whole_number")
	}
	return n
}

// openPath is the breadcrumb of a unit: the units above it down to it, those
// the caller may open (a commune officer's starts at the commune).
func openPath(p *auth.Principal, unit string) []geo.Unit {
	var out []geo.Unit
	for _, u := range geo.Path(unit) {
		if p.InJurisdiction(u.Code) {
			out = append(out, u)
		}
	}
	return out
}
