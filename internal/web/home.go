package web

import (
	"fmt"
	"net/http"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
)

// routesHome registers the home page and the caller and administrative unit look-ups.
func (s *Server) routesHome() {
	s.page("GET /{$}", true, s.home)
	s.api("GET", "/api/v1/me", s.apiMe)
	s.api("GET", "/api/v1/units/{code}", s.apiUnit)
	s.api("GET", "/api/v1/units/{code}/children", s.apiUnitChildren)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	children := geo.Children(s.homeUnit(p))
	s.render(w, r, http.StatusOK, "home", map[string]any{"Children": children, "Department": auth.Departments[p.Department]})
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, auth.From(r.Context()))
	return nil
}

func (s *Server) unit(r *http.Request) (geo.Unit, error) {
	u, ok := geo.Get(r.PathValue("code"))
	if !ok {
		return geo.Unit{}, fmt.Errorf("unit %q: %w", r.PathValue("code"), errs.ErrNotFound)
	}
	return u, nil
}

func (s *Server) apiUnit(w http.ResponseWriter, r *http.Request) error {
	u, err := s.unit(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) apiUnitChildren(w http.ResponseWriter, r *http.Request) error {
	u, err := s.unit(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, unitChildrenAnswer{Unit: u, Children: geo.Children(u.Code)})
	return nil
}
