package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/venue"
)

// routesVenues registers the venue list and a venue's page, its approval and QR reissue.
func (s *Server) routesVenues() {
	s.page("GET /venues", true, s.venuesPage)
	s.page("GET /venues/{id}", true, s.venuePage)
	s.api("GET", "/api/v1/venue-categories", s.apiCategories)
	s.api("GET", "/api/v1/venues", s.apiVenues)
	s.api("POST", "/api/v1/venues", s.apiCreateVenue)
	s.api("GET", "/api/v1/venues/{id}", s.apiVenue)
	s.api("POST", "/api/v1/venues/{id}/status", s.apiVenueStatus)
	s.page("POST /venues/{id}/status", true, s.statusForm)
	s.page("POST /venues/{id}/reissue", true, s.reissueForm)
	s.api("POST", "/api/v1/venues/{id}/reissue", s.apiReissue)
}

func venueFilter(r *http.Request) (venue.Filter, error) {
	q := r.URL.Query()
	f := venue.Filter{Commune: q.Get("commune"), Category: q.Get("category"), Status: q.Get("status"), Q: q.Get("q"), Sort: q.Get("sort"),
		From: q.Get("from"), To: q.Get("to")}
	var err error
	f.Limit, f.Offset, err = pageOf(r, 50)
	return f, err
}

func (s *Server) venuesPage(w http.ResponseWriter, r *http.Request) error {
	f, err := venueFilter(r)
	if err != nil {
		return err
	}
	status := http.StatusOK
	list, err := s.Venues.List(r.Context(), auth.From(r.Context()), f)
	var total int
	if err == nil {
		total, err = s.Venues.Count(r.Context(), auth.From(r.Context()), f)
	}
	searchErrs := errs.FieldsOf(err)
	if searchErrs != nil { // a bad date, shown beside its box
		status, list, err = http.StatusBadRequest, nil, nil
	}
	if err != nil {
		return err
	}
	data := map[string]any{"Venues": list, "Unit": f.Commune, "CategoryName": categoryName(langOf(r)), "Filter": f, "Total": total,
		"Groups": categoryGroups(), "Sorts": []string{"", "name", "newest", "commune"}, "UnitGroups": s.filterUnits(auth.From(r.Context())), "CanImport": mayImportVenues(auth.From(r.Context())),
		"SearchErrors": searchErrs, "Statuses": []string{venue.StatusPending, venue.StatusApproved, venue.StatusSuspended, venue.StatusClosed}}
	data["Prev"], data["Next"] = pageLinks(r, "/venues", f.Offset, f.Limit, total)
	s.render(w, r, status, "venues", data)
	return nil
}

// viewVenue returns a venue the caller may see, recording in the audit log that
// its contact's personal data was shown.
func (s *Server) viewVenue(r *http.Request, purpose string) (venue.Venue, error) {
	v, err := byID(r, s.Venues.Get)
	if err != nil {
		return venue.Venue{}, err
	}
	if v.ContactPhone != "" {
		if err := auth.Audit(r.Context(), s.DB, auth.ActionView, "venue_contact", []string{strconv.FormatInt(v.ID, 10)}, purpose); err != nil {
			return venue.Venue{}, err
		}
	}
	return v, nil
}

func (s *Server) venuePage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.viewVenue(r, msg.Both("web.purpose.venue_page"))
	if err != nil {
		return err
	}
	data := map[string]any{"Venue": v, "CategoryName": categoryName(langOf(r))}
	if v.Status == venue.StatusApproved {
		day, err := s.Checkins.Day(r.Context(), v, time.Now())
		if err != nil {
			return err
		}
		data["Day"] = day
	}
	s.render(w, r, http.StatusOK, "venue", data)
	return nil
}

func (s *Server) apiVenue(w http.ResponseWriter, r *http.Request) error {
	v, err := s.viewVenue(r, msg.Both("web.purpose.venue_api"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) apiCategories(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, venue.Categories)
	return nil
}

func (s *Server) apiVenues(w http.ResponseWriter, r *http.Request) error {
	f, err := venueFilter(r)
	if err != nil {
		return err
	}
	list, err := s.Venues.List(r.Context(), auth.From(r.Context()), f)
	if err != nil {
		return err
	}
	total, err := s.Venues.Count(r.Context(), auth.From(r.Context()), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, venuesAnswer{Venues: list, Total: total})
	return nil
}

// venueInput is the JSON a venue is registered with.
type venueInput struct {
	Name         string     `json:"name"`
	Category     string     `json:"category"`
	CommuneCode  string     `json:"commune_code"`
	Address      string     `json:"address"`
	Lat          *float64   `json:"lat"`
	Lon          *float64   `json:"lon"`
	ContactName  string     `json:"contact_name"`
	ContactPhone string     `json:"contact_phone"`
	Capacity     int        `json:"capacity"`
	OpeningHours string     `json:"opening_hours"`
	StartsAt     *time.Time `json:"starts_at"`
	EndsAt       *time.Time `json:"ends_at"`
	Plate        string     `json:"plate"`
	Route        string     `json:"route"`
}

func (s *Server) apiCreateVenue(w http.ResponseWriter, r *http.Request) error {
	var in venueInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Venues.Create(r.Context(), auth.From(r.Context()), venueFromInput(in))
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/venues/%d", v.ID))
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func venueFromInput(in venueInput) venue.Venue {
	return venue.Venue{Name: in.Name, Category: in.Category, CommuneCode: in.CommuneCode, Address: in.Address,
		Lat: in.Lat, Lon: in.Lon, ContactName: in.ContactName, ContactPhone: in.ContactPhone, Capacity: in.Capacity,
		OpeningHours: in.OpeningHours, StartsAt: in.StartsAt, EndsAt: in.EndsAt, Plate: in.Plate, Route: in.Route}
}

func (s *Server) apiVenueStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in venueStatusInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Venues.SetStatus(r.Context(), auth.From(r.Context()), id, in.Status)
	if err != nil {
		return err
	}
	s.Checkins.Forget(id) // a suspension reaches the door at once
	writeJSON(w, http.StatusOK, v)
	return nil
}

// forget makes this server's check-in path see a venue's new status or QR
// generation at once instead of after its cache's lifetime.
func (s *Server) forget(id int64) {
	if s.Checkins != nil {
		s.Checkins.Forget(id)
	}
}

func (s *Server) statusForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errs.ErrTooLarge
	}
	if _, err := s.Venues.SetStatus(r.Context(), auth.From(r.Context()), id, r.PostFormValue("status")); err != nil {
		return err
	}
	s.forget(id)
	http.Redirect(w, r, fmt.Sprintf("/venues/%d", id), http.StatusSeeOther)
	return nil
}

func (s *Server) reissue(r *http.Request) (venue.Venue, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return venue.Venue{}, err
	}
	v, err := s.Venues.Reissue(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return venue.Venue{}, err
	}
	s.forget(id)
	s.log.Info("venue QR reissued", "venue", id, "gen", v.QRGen, "by", auth.From(r.Context()).Username)
	return v, nil
}

func (s *Server) reissueForm(w http.ResponseWriter, r *http.Request) error {
	v, err := s.reissue(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/venues/%d#qr", v.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) apiReissue(w http.ResponseWriter, r *http.Request) error {
	v, err := s.reissue(r)
	if err != nil {
		return err
	}
	v.ContactPhone = "" // not audited here: the answer is about the QR code
	writeJSON(w, http.StatusOK, v)
	return nil
}
