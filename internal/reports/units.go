package reports

import (
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/geo"
)

// Kinds of reporting unit.
const (
	KindDepartment = "department"
	KindDistrict   = "district"
	KindCommune    = "commune"
)

// Unit is a reporting unit: a department of the directive, a district
// People's Committee (which reports to the province), or a commune (which
// reports to its district). Key is stable: "dept:health", "district:803",
// "commune:27991".
type Unit struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"` // a commune's district code
}

// departmentOrder lists the departments as the directive names them: the
// one that gathers the reports first.
var departmentOrder = []string{"ict", "health", "police", "economic_zones", "industry_trade", "education", "labour", "transport", "justice"}

// Units returns the units that report to the province: every department,
// then every district of the province.
func Units(province string) []Unit {
	var out []Unit
	for _, d := range departmentOrder {
		out = append(out, Unit{Key: "dept:" + d, Kind: KindDepartment, Code: d, Name: auth.Departments[d]})
	}
	for _, d := range geo.Children(province) {
		out = append(out, Unit{Key: "district:" + d.Code, Kind: KindDistrict, Code: d.Code, Name: d.Name})
	}
	return out
}

// Communes returns the commune units that report to a district.
func Communes(district string) []Unit {
	var out []Unit
	for _, c := range geo.Children(district) {
		out = append(out, Unit{Key: "commune:" + c.Code, Kind: KindCommune, Code: c.Code, Name: c.Name, Parent: district})
	}
	return out
}

// UnitOf resolves a key within the province.
func UnitOf(province, key string) (Unit, bool) {
	kind, code, ok := strings.Cut(key, ":")
	if !ok {
		return Unit{}, false
	}
	switch kind {
	case "dept":
		name, ok := auth.Departments[code]
		return Unit{Key: key, Kind: KindDepartment, Code: code, Name: name}, ok
	case "district", "commune":
		u, ok := geo.Get(code)
		if !ok || u.Level != kind || !geo.Contains(province, code) {
			return Unit{}, false
		}
		out := Unit{Key: key, Kind: kind, Code: code, Name: u.Name}
		if kind == KindCommune {
			out.Parent = u.ParentCode
		}
		return out, true
	}
	return Unit{}, false
}

// UnitFor returns the unit a caller reports for, if any: a department
// officer's department, a district officer's district, a commune officer's
// commune.
func UnitFor(province string, p *auth.Principal) (Unit, bool) {
	if p == nil {
		return Unit{}, false
	}
	switch p.Role {
	case auth.DepartmentOfficer:
		return UnitOf(province, "dept:"+p.Department)
	case auth.DistrictOfficer:
		return UnitOf(province, "district:"+p.Unit)
	case auth.CommuneOfficer:
		return UnitOf(province, "commune:"+p.Unit)
	}
	return Unit{}, false
}

// sector is the venue sector a department's figures cover: "" for the
// departments that work across all sectors (and for districts and communes).
func (u Unit) sector() string {
	if u.Kind != KindDepartment {
		return ""
	}
	p := auth.Principal{Role: auth.DepartmentOfficer, Department: u.Code}
	if p.SeesSector("") {
		return ""
	}
	return u.Code
}
