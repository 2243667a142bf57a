package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/tracing"
	"anticovid/internal/venue"
)

// routesTracingRules registers the tracing rules in force and their form.
func (s *Server) routesTracingRules() {
	s.page("GET /tracing/rules", true, s.rulesPage)
	s.page("POST /tracing/rules", true, s.rulesSubmit)
	s.api("GET", "/api/v1/tracing/rules", s.apiRules)
	s.api("PUT", "/api/v1/tracing/rules", s.apiSetRules)
}

func (s *Server) apiRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.Cases.Settings(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}

// apiSetRules changes the fields the body names; the others keep their
// values (the body is decoded onto the rules in force).
func (s *Server) apiSetRules(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	rs, err := s.Cases.Settings(r.Context(), p)
	if err != nil {
		return err
	}
	if err := decodeStrict(r, &rs); err != nil {
		return err
	}
	out, err := s.Cases.SetSettings(r.Context(), p, rs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) renderRules(w http.ResponseWriter, r *http.Request, status int, rs tracing.RuleSettings, fieldErrs map[string]string, saved bool) {
	p := auth.From(r.Context())
	s.render(w, r, status, "tracing_rules", map[string]any{"Rules": rs, "Categories": venue.Categories, "CanSet": tracing.CanSetRules(p),
		"Errors": fieldErrs, "Saved": saved, "CategoryName": categoryName(lang(w, r))})
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.Cases.Settings(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	s.renderRules(w, r, http.StatusOK, rs, nil, r.URL.Query().Get("msg") == "saved")
	return nil
}

func (s *Server) rulesSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("rules form: %w", errs.ErrTooLarge)
	}
	p := auth.From(r.Context())
	in, err := s.Cases.Settings(r.Context(), p)
	if err != nil {
		return err
	}
	// Fields the form leaves out keep their values; a field sent empty or
	// not a whole number is named, and nothing is saved.
	bad := errs.Fields{}
	num := func(key, field string, dst *int) {
		if _, sent := r.PostForm[key]; !sent {
			return
		}
		v := strings.TrimSpace(r.PostFormValue(key))
		n, err := strconv.Atoi(v)
		switch {
		case v == "":
			bad.Add(field, msg.Both("web.field.required"))
		case err != nil:
			bad.Add(field, msg.Both("web.form.whole_number"))
		default:
			*dst = n
		}
	}
	num("min_overlap_minutes", "min_overlap_minutes", &in.MinOverlapMinutes)
	num("hour_window_minutes", "hour_window_minutes", &in.HourWindowMinutes)
	num("stay_cap_minutes", "stay_cap_minutes", &in.StayCapMinutes)
	if _, sent := r.PostForm["hour_window_minutes"]; sent { // a checkbox is absent when unticked
		in.WithinHour = r.PostFormValue("within_hour") == "on"
	}
	stays := map[string]int{}
	for code, m := range in.DefaultStayMinutes {
		stays[code] = m
	}
	for _, c := range venue.Categories {
		if v, sent := r.PostForm["stay."+c.Code]; sent && strings.TrimSpace(v[0]) == "" {
			delete(stays, c.Code) // empty: the category's own default stay
			continue
		}
		m := stays[c.Code]
		num("stay."+c.Code, "default_stay_minutes."+c.Code, &m)
		stays[c.Code] = m
	}
	in.DefaultStayMinutes = stays
	if err := bad.Err(); err != nil {
		s.renderRules(w, r, http.StatusBadRequest, in, errs.FieldsOf(err), false)
		return nil
	}
	_, err = s.Cases.SetSettings(r.Context(), p, in)
	if fields := errs.FieldsOf(err); fields != nil {
		s.renderRules(w, r, http.StatusBadRequest, in, fields, false)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/tracing/rules?msg=saved", http.StatusSeeOther)
	return nil
}
