package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// routesDashboard registers the live dashboard and its event stream.
func (s *Server) routesDashboard() {
	if s.Ops == nil {
		return
	}
	s.page("GET /dashboard", true, s.dashboardPage)
	s.api("GET", "/api/v1/dashboard", s.apiDashboard)
	s.api("GET", "/api/v1/dashboard/stream", s.apiDashboardStream)
}

func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	f, err := s.Ops.Dashboard.Figures(r.Context(), p, r.URL.Query().Get("unit"))
	if err != nil {
		return err
	}
	js, _ := json.Marshal(f)
	l := lang(w, r)
	labels, _ := json.Marshal(map[string]string{
		"checkins": msg.T(l, "ops.checkins"), "f0": msg.T(l, "ops.f0"), "registered": msg.T(l, "ops.venues.registered"),
		"scanning": msg.T(l, "ops.venues.scanning"), "live": msg.T(l, "ops.live"), "offline": msg.T(l, "ops.reconnecting")})
	var crumbs []geo.Unit
	for _, u := range f.Path {
		if p.InJurisdiction(u.Code) {
			crumbs = append(crumbs, u)
		}
	}
	cat := make([]map[string]string, 0, len(f.Categories))
	for _, c := range f.Categories {
		name := c.Name
		if l == "en" {
			name = c.NameEN
		}
		cat = append(cat, map[string]string{"Name": name, "Registered": n64(c.Registered), "Scanning": n64(c.Scanning),
			"Pct": pctVN(float64(int64(float64(c.Scanning)*1000/float64(max(c.Registered, 1))+0.5)) / 10)})
	}
	s.render(w, r, http.StatusOK, "dashboard", map[string]any{
		"F": f, "JSON": string(js), "Labels": string(labels), "Crumbs": crumbs, "Categories": cat,
		"N": func(n int64) string { return n64(n) }, "Pct": pctVN, "Sector": auth.Departments[f.Sector],
		"BluezoneWidth": fmt.Sprintf("%.1f", min(f.BluezonePct, 100)), "TargetLeft": fmt.Sprintf("%.0f", f.BluezoneTarget),
	})
	return nil
}

func (s *Server) apiDashboard(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Ops.Dashboard.Figures(r.Context(), auth.From(r.Context()), r.URL.Query().Get("unit"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

// apiDashboardStream pushes the figures whenever the refresher writes new
// counts. The server's write timeout would cut a stream, so it is lifted
// here; a keep-alive comment every 25 s keeps proxies from closing it.
func (s *Server) apiDashboardStream(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	unit := r.URL.Query().Get("unit")
	f, err := s.Ops.Dashboard.Figures(r.Context(), p, unit)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ch, stop := s.Ops.Dashboard.Subscribe()
	defer stop()
	send := func(f dashboard.Figures) error {
		b, _ := json.Marshal(f)
		if _, err := fmt.Fprintf(w, "retry: 3000\nevent: figures\ndata: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(f); err != nil {
		return nil
	}
	last := f.Version
	keep := time.NewTicker(25 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-ch:
			f, err := s.Ops.Dashboard.Figures(r.Context(), p, unit)
			if err != nil {
				return nil
			}
			if f.Version == last {
				continue
			}
			last = f.Version
			if err := send(f); err != nil {
				return nil
			}
		}
	}
}
