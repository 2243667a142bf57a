package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
	"anticovid/internal/msg"
)

// routesPublicMap registers the public COVID map and its cached documents.
func (s *Server) routesPublicMap() {
	if s.Ops == nil {
		return
	}
	s.page("GET /map", false, s.mapPage)
	s.api("GET", "/api/v1/public/map", s.apiPublicMap(false))
	s.api("GET", "/api/v1/public/map.geojson", s.apiPublicMap(true))
}

// mapView is the public map page. Its lists and chart are rendered here,
// from the same cached document the feeds serve, so a slow phone can read
// them before (or without) the map's script; the script only draws the map.
type mapView struct {
	Tiles, Attribution string
	CanDeclare         bool
	Districts          []mapRow
	Places             []string
	PlacesAvailable    bool // tracing has data on places yet
	Areas, Zones       []string
	Bars               []mapBar // cases by day, oldest first
	First, Last        string   // the chart's first and last day, dd/mm
	CasesAvailable     bool
}

type mapRow struct{ Name, Today, Days14 string }

// mapBar is one day's bar in a 100-high SVG chart; a hidden count draws
// as a low grey bar titled "hidden".
type mapBar struct {
	X, Y, W, H float64
	Title      string
	Hidden     bool
}

func (s *Server) mapPage(w http.ResponseWriter, r *http.Request) error {
	doc, err := s.Ops.Dashboard.Public(r.Context())
	if err != nil {
		return err
	}
	l, m := langOf(r), doc.Map
	show := func(c dashboard.Shown) string {
		if c.Hidden {
			return msg.T(l, "ops.map.hidden")
		}
		return formatNumber(int(c.N))
	}
	when := func(t time.Time) string { return t.In(hcm).Format("15:04 02/01") }
	v := mapView{Tiles: s.Ops.MapTiles, Attribution: s.Ops.MapAttribution, CanDeclare: dashboard.MayDeclare(auth.From(r.Context())),
		CasesAvailable: m.CasesAvailable, PlacesAvailable: m.PlacesAvailable}
	for _, d := range m.Districts {
		v.Districts = append(v.Districts, mapRow{d.Name, show(d.F0Today), show(d.F0Days14)})
	}
	for _, p := range m.Places {
		v.Places = append(v.Places, fmt.Sprintf("%s (%s) — %s %s %s %s", p.Name, p.CommuneName,
			msg.T(l, "ops.from"), when(p.From), msg.T(l, "ops.to"), when(p.To)))
	}
	for _, a := range m.Areas {
		kind := msg.T(l, "ops.quarantine")
		if a.Kind == "lockdown" {
			kind = msg.T(l, "ops.lockdown")
		}
		v.Areas = append(v.Areas, kind+": "+a.Label+" — "+a.UnitName)
	}
	for _, z := range m.Zones {
		v.Zones = append(v.Zones, z.Name+" — "+z.CommuneName)
	}
	v.Bars, v.First, v.Last = mapBars(m.Days, m.Province.Series, l)
	s.render(w, r, http.StatusOK, "map", v)
	return nil
}

// mapBars lays out the daily series in a 280×100 box.
func mapBars(days []string, series []dashboard.Shown, lang string) (bars []mapBar, first, last string) {
	if len(days) == 0 || len(series) != len(days) {
		return nil, "", ""
	}
	top := int64(1)
	for _, c := range series {
		top = max(top, c.N)
	}
	ddmm := func(d string) string { // 2026-12-05 → 05/12
		if len(d) == 10 {
			return d[8:10] + "/" + d[5:7]
		}
		return d
	}
	w := 280 / float64(len(days))
	for i, c := range series {
		b := mapBar{X: float64(i)*w + 1, W: max(w-2, 1), Hidden: c.Hidden}
		if c.Hidden {
			b.H, b.Title = 3, ddmm(days[i])+": "+msg.T(lang, "ops.map.hidden")
		} else {
			b.H, b.Title = 100*float64(c.N)/float64(top), ddmm(days[i])+": "+formatNumber(int(c.N))
		}
		b.Y = 100 - b.H
		bars = append(bars, b)
	}
	return bars, ddmm(days[0]), ddmm(days[len(days)-1])
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// apiPublicMap serves the public map from memory: one build every 30 s
// however many visitors come, and a 304 for a visitor who has it already.
func (s *Server) apiPublicMap(geoJSON bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		doc, err := s.Ops.Dashboard.Public(r.Context())
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("ETag", doc.ETag)
		h.Set("Cache-Control", "public, max-age=30")
		h.Set("Access-Control-Allow-Origin", "*")
		if etagMatch(r.Header.Get("If-None-Match"), doc.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		body, ctype := doc.JSON, "application/json; charset=utf-8"
		if geoJSON {
			body, ctype = doc.GeoJSON, "application/geo+json; charset=utf-8"
		}
		h.Set("Content-Type", ctype)
		w.Write(body)
		return nil
	}
}
