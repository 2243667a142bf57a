package web

import (
	"net/http"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/geo"
)

// routesActivity registers scanning activity per commune or district, and a venue's day.
func (s *Server) routesActivity() {
	s.page("GET /activity", true, s.activityPage)
	s.api("GET", "/api/v1/activity", s.apiActivity)
	s.api("GET", "/api/v1/venues/{id}/today", s.apiVenueToday)
}

// activityUnit defaults to the caller's own commune or district.
func activityUnit(r *http.Request) string {
	if u := r.URL.Query().Get("unit"); u != "" {
		return u
	}
	return auth.From(r.Context()).Unit
}

func (s *Server) apiActivity(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Checkins.Activity(r.Context(), auth.From(r.Context()), activityUnit(r), time.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, activityAnswer{Venues: list})
	return nil
}

func (s *Server) activityPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	unit := activityUnit(r)
	if u, _ := geo.Get(unit); u.Level != "commune" && u.Level != "district" {
		// Province-level viewers pick a district first.
		s.render(w, r, http.StatusOK, "activity", map[string]any{"Choose": geo.Children(unit), "Unit": unit})
		return nil
	}
	list, err := s.Checkins.Activity(r.Context(), p, unit, time.Now())
	if err != nil {
		return err
	}
	type group struct {
		Category string
		Venues   []checkin.VenueScans
	}
	var groups []group
	var dead []checkin.VenueScans
	for _, v := range list {
		if n := len(groups); n == 0 || groups[n-1].Category != v.Category {
			groups = append(groups, group{Category: v.Category})
		}
		groups[len(groups)-1].Venues = append(groups[len(groups)-1].Venues, v)
		if v.Dead() {
			dead = append(dead, v)
		}
	}
	var choose []geo.Unit
	if u, _ := geo.Get(unit); u.Level == "district" {
		choose = geo.Children(unit)
	}
	s.render(w, r, http.StatusOK, "activity", map[string]any{"Unit": unit, "Groups": groups, "Dead": dead, "Total": len(list),
		"Choose": choose, "CategoryName": categoryName(langOf(r))})
	return nil
}

func (s *Server) apiVenueToday(w http.ResponseWriter, r *http.Request) error {
	v, err := byID(r, s.Venues.Get)
	if err != nil {
		return err
	}
	day, err := s.Checkins.Day(r.Context(), v, time.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, day)
	return nil
}
