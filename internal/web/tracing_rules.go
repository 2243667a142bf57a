package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/tracing"
	"anticovid/internal/venue"
)

// routesTracingRules registers the tracing rules in force and their form.
func (s *Server) routesTracingRules() {
	s.page("GET /tracing/rules", true, s.rulesPage)
	s.page("POST /tracing/rules", true, s.rulesSubmit)
	s.api("GET", "/api/v1/tracing/rules", "The tracing rules in force: min_overlap_minutes, within_hour, hour_window_minutes, stay_cap_minutes, default_stay_minutes by category.", true, s.apiRules)
	s.api("PUT", "/api/v1/tracing/rules", "Change the tracing rules (province administrator, Department of Health); every later trace uses them.", true, s.apiSetRules)
}

func (s *Server) apiRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.Cases.Settings(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}

func (s *Server) apiSetRules(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusOK, s.Cases.SetSettings)
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
	num := func(k string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue(k)))
		return n
	}
	in := tracing.RuleSettings{MinOverlapMinutes: num("min_overlap_minutes"), WithinHour: r.PostFormValue("within_hour") == "on",
		HourWindowMinutes: num("hour_window_minutes"), StayCapMinutes: num("stay_cap_minutes"), DefaultStayMinutes: map[string]int{}}
	for _, c := range venue.Categories {
		if v := strings.TrimSpace(r.PostFormValue("stay." + c.Code)); v != "" {
			in.DefaultStayMinutes[c.Code], _ = strconv.Atoi(v)
		}
	}
	_, err := s.Cases.SetSettings(r.Context(), auth.From(r.Context()), in)
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
