package web

import (
	"net/http"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
)

// routesPublicMap registers the public COVID map and its cached documents.
func (s *Server) routesPublicMap() {
	if s.Ops == nil {
		return
	}
	s.page("GET /map", false, s.mapPage)
	s.api("GET", "/api/v1/public/map", "The public COVID map: cases by district and commune, places cases visited, quarantine and lockdown areas. No login, no personal data; ETag.", false, s.apiPublicMap(false))
	s.api("GET", "/api/v1/public/map.geojson", "The public COVID map as GeoJSON (schematic district points, venue points, areas without geometry).", false, s.apiPublicMap(true))
}

func (s *Server) mapPage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "map", map[string]any{"Tiles": s.Ops.MapTiles, "Attribution": s.Ops.MapAttribution,
		"Threshold": s.Ops.Dashboard.Threshold, "CanDeclare": dashboard.MayDeclare(auth.From(r.Context()))})
	return nil
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
