package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// routesGrants registers purpose-bound access: requests for a case's
// personal rows, the province's decisions, and reads through a grant.
func (s *Server) routesGrants() {
	s.page("GET /access", true, s.grantsPage)
	s.page("POST /access", true, s.grantsFile)
	s.page("GET /access/requests", true, s.grantsAdminPage)
	s.page("POST /access/{id}/approve", true, s.grantDecideForm("approve"))
	s.page("POST /access/{id}/refuse", true, s.grantDecideForm("refuse"))
	s.page("POST /access/{id}/revoke", true, s.grantDecideForm("revoke"))
	s.page("GET /access/{id}/visitors", true, s.grantVisitorsPage)
	s.api("POST", "/api/v1/access-requests", s.apiGrantFile)
	s.api("GET", "/api/v1/access-requests", s.apiGrants)
	s.api("GET", "/api/v1/access-requests/{id}", s.apiGrant)
	s.api("POST", "/api/v1/access-requests/{id}/approve", s.apiGrantDecide("approve"))
	s.api("POST", "/api/v1/access-requests/{id}/refuse", s.apiGrantDecide("refuse"))
	s.api("POST", "/api/v1/access-requests/{id}/revoke", s.apiGrantDecide("revoke"))
	s.api("GET", "/api/v1/access-requests/{id}/visitors", s.apiGrantVisitors)
}

func (s *Server) apiGrantFile(w http.ResponseWriter, r *http.Request) error {
	var in cases.GrantRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.Cases.RequestAccess(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/access-requests/%d", g.ID))
	writeJSON(w, http.StatusCreated, g)
	return nil
}

// grantList is the caller's requests, or an administrator's to decide.
func (s *Server) grantList(r *http.Request) ([]cases.Grant, error) {
	p := auth.From(r.Context())
	if cases.CanDecide(p) {
		return s.Cases.GrantsToDecide(r.Context(), p)
	}
	return s.Cases.MyGrants(r.Context(), p)
}

func (s *Server) apiGrants(w http.ResponseWriter, r *http.Request) error {
	list, err := s.grantList(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, grantsAnswer{Requests: orEmpty(list)})
	return nil
}

func (s *Server) apiGrant(w http.ResponseWriter, r *http.Request) error {
	g, err := byID(r, s.Cases.Grant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

// decideGrant applies an administrator's decision.
func (s *Server) decideGrant(r *http.Request, action string, id int64, reason string) (cases.Grant, error) {
	p := auth.From(r.Context())
	switch action {
	case "approve":
		return s.Cases.Approve(r.Context(), p, id)
	case "refuse":
		return s.Cases.Refuse(r.Context(), p, id, reason)
	}
	return s.Cases.Revoke(r.Context(), p, id, reason)
}

func (s *Server) apiGrantDecide(action string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var in reasonInput
		if r.ContentLength != 0 {
			if err := decodeJSON(r, &in); err != nil {
				return err
			}
		}
		g, err := s.decideGrant(r, action, id, in.Reason)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, g)
		return nil
	}
}

// venueDayQuery reads ?venue=&day= of a read through a grant.
func venueDayQuery(r *http.Request) (int64, string, error) {
	v, err := queryInt(r, "venue", 0)
	if err != nil || v <= 0 {
		return 0, "", fmt.Errorf("venue-day: %w", &errs.Invalid{Fields: errs.Fields{"venue": msg.Both("grants.venue_day_query")}})
	}
	return int64(v), r.URL.Query().Get("day"), nil
}

func (s *Server) apiGrantVisitors(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	venueID, day, err := venueDayQuery(r)
	if err != nil {
		return err
	}
	list, err := s.Cases.VenueDayVisitors(r.Context(), auth.From(r.Context()), id, venueID, day, msg.Both("grants.purpose.visitors_api"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, visitorsAnswer{GrantID: id, VenueID: venueID, Day: day, Visitors: orEmpty(list)})
	return nil
}

// parseVenueDays reads venue-days from checkboxes ("12:2021-08-01") and a
// typed list of the same items separated by commas, spaces or lines.
func parseVenueDays(values []string) ([]cases.VenueDay, error) {
	var out []cases.VenueDay
	for _, v := range values {
		for item := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
			id, day, ok := strings.Cut(item, ":")
			n, err := strconv.ParseInt(id, 10, 64)
			if !ok || err != nil {
				return nil, &errs.Invalid{Fields: errs.Fields{"venue_days": msg.Both("grants.venue_days_format")}}
			}
			out = append(out, cases.VenueDay{VenueID: n, Day: day})
		}
	}
	return out, nil
}

// grantForm is what the request form holds.
type grantForm struct {
	CaseID, Scope, VenueDays, Purpose, Days string
}

func (s *Server) grantsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderGrants(w, r, http.StatusOK, grantForm{CaseID: r.URL.Query().Get("case"), Scope: cases.ScopeContacts, Days: "3"}, nil)
}

func (s *Server) renderGrants(w http.ResponseWriter, r *http.Request, status int, form grantForm, fieldErrs map[string]string) error {
	p := auth.From(r.Context())
	if cases.CanDecide(p) {
		http.Redirect(w, r, "/access/requests", http.StatusSeeOther)
		return nil
	}
	list, err := s.Cases.MyGrants(r.Context(), p)
	if err != nil {
		return err
	}
	s.render(w, r, status, "grants", map[string]any{"Grants": list, "Form": form, "Errors": fieldErrs,
		"MaxDays": cases.MaxGrantDays, "Message": r.URL.Query().Get("msg")})
	return nil
}

func (s *Server) grantsFile(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("access form: %w", errs.ErrTooLarge)
	}
	form := grantForm{CaseID: strings.TrimSpace(r.PostFormValue("case_id")), Scope: r.PostFormValue("scope"),
		VenueDays: strings.TrimSpace(r.PostFormValue("venue_days")), Purpose: r.PostFormValue("purpose"), Days: r.PostFormValue("days")}
	caseID, _ := strconv.ParseInt(form.CaseID, 10, 64)
	days, _ := strconv.Atoi(form.Days)
	vds, err := parseVenueDays(append(r.PostForm["venue_day"], form.VenueDays))
	if err == nil {
		_, err = s.Cases.RequestAccess(r.Context(), auth.From(r.Context()), cases.GrantRequest{CaseID: caseID, Scope: form.Scope,
			VenueDays: vds, Purpose: form.Purpose, Days: days})
	}
	if fields := errs.FieldsOf(err); fields != nil {
		for k, v := range fields {
			fields[k] = msg.Local(lang(w, r), v)
		}
		return s.renderGrants(w, r, http.StatusBadRequest, form, fields)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/access?msg=filed", http.StatusSeeOther)
	return nil
}

func (s *Server) grantsAdminPage(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Cases.GrantsToDecide(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	var pending, open, closed []cases.Grant
	for _, g := range list {
		switch g.Status {
		case cases.GrantPending:
			pending = append(pending, g)
		case cases.GrantApproved:
			open = append(open, g)
		default:
			closed = append(closed, g)
		}
	}
	s.render(w, r, http.StatusOK, "grants_admin", map[string]any{"Pending": pending, "Open": open, "Closed": closed,
		"Message": r.URL.Query().Get("msg"), "Error": r.URL.Query().Get("err")})
	return nil
}

func (s *Server) grantDecideForm(action string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return fmt.Errorf("decision form: %w", errs.ErrTooLarge)
		}
		_, err = s.decideGrant(r, action, id, r.PostFormValue("reason"))
		if fields := errs.FieldsOf(err); fields != nil {
			// A short reason or one's own request: the page says so
			// beside the list rather than on an error page.
			key := "reason"
			if _, own := fields["grant"]; own {
				key = "own"
			}
			http.Redirect(w, r, fmt.Sprintf("/access/requests?err=%s#g%d", key, id), http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/access/requests?msg=%s#g%d", action, id), http.StatusSeeOther)
		return nil
	}
}

func (s *Server) grantVisitorsPage(w http.ResponseWriter, r *http.Request) error {
	g, err := byID(r, s.Cases.Grant)
	if err != nil {
		return err
	}
	venueID, day, err := venueDayQuery(r)
	if err != nil {
		return err
	}
	list, err := s.Cases.VenueDayVisitors(r.Context(), auth.From(r.Context()), g.ID, venueID, day, msg.Both("grants.purpose.visitors_page"))
	if err != nil {
		return err
	}
	var name string
	for _, v := range g.VenueDays {
		if v.VenueID == venueID {
			name = v.VenueName
		}
	}
	s.render(w, r, http.StatusOK, "grants_visitors", map[string]any{"Grant": g, "Visitors": list, "VenueName": name, "Day": day})
	return nil
}
