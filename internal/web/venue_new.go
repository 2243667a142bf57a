package web

import (
	"errors"
	"fmt"
	"net/http"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/venue"
)

// routesVenueNew registers an officer's form for one venue, beside the
// import and the public registration: the same fields as registration, the
// communes of the officer's jurisdiction only, approved at once.
func (s *Server) routesVenueNew() {
	s.page("GET /venues/new", true, s.venueNewPage)
	s.page("POST /venues/new", true, s.venueNewSubmit)
}

// venueForm is the officer's form: the registration view with the address
// pickers narrowed to p's jurisdiction.
func (s *Server) venueForm(r *http.Request, p *auth.Principal) (*registerView, error) {
	if p.Can(auth.VenueManager) {
		return nil, fmt.Errorf("new venue form: %w", errs.ErrForbidden)
	}
	rv := s.newRegisterView(r)
	s.addressUnits(rv)
	var mine []unitGroup
	for _, d := range rv.Districts {
		var cs = d.Communes[:0:0]
		for _, c := range d.Communes {
			if p.InJurisdiction(c.Code) {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			mine = append(mine, unitGroup{d.Code, d.Name, cs})
		}
	}
	rv.Districts, rv.Provinces = mine, nil
	return rv, nil
}

func (s *Server) venueNewPage(w http.ResponseWriter, r *http.Request) error {
	rv, err := s.venueForm(r, auth.From(r.Context()))
	if err != nil {
		return err
	}
	rv.Values["id"] = newID() // a double submit adds the venue once
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "venue_new", rv)
	return nil
}

func (s *Server) venueNewSubmit(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("venue form: %w", errs.ErrTooLarge)
	}
	rv, err := s.venueForm(r, p)
	if err != nil {
		return err
	}
	for k := range r.PostForm {
		rv.Values[k] = r.PostFormValue(k)
	}
	v, f := venueFromForm(r, "")
	if len(f) == 0 {
		v, err = s.Venues.CreateOnce(r.Context(), p, v, r.PostFormValue("id"))
		if err == nil {
			http.Redirect(w, r, fmt.Sprintf("/venues/%d", v.ID), http.StatusSeeOther)
			return nil
		}
		if errs.FieldsOf(err) == nil {
			return err
		}
		f = errs.FieldsOf(err)
		if errors.Is(err, venue.ErrFormUsed) {
			rv.Values["id"] = newID() // sent again, the form adds this venue
		}
	}
	rv.Errors = localFields(langOf(r), &errs.Invalid{Fields: f})
	s.render(w, r, http.StatusBadRequest, "venue_new", rv)
	return nil
}
