package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/tracing"
)

// routesCases registers the case registry: list, registration, a case's page and status.
func (s *Server) routesCases() {
	s.page("GET /cases", true, s.casesPage)
	s.page("POST /cases", true, s.casesCreate)
	s.page("GET /cases/{id}", true, s.casePage)
	s.page("POST /cases/{id}/status", true, s.caseStatusSubmit)
	s.page("POST /cases/{id}/confirm", true, s.caseConfirmSubmit)
	s.page("POST /cases/{id}/isolation", true, s.caseIsolationSubmit)
	s.api("POST", "/api/v1/cases", s.apiCreateCase)
	s.api("GET", "/api/v1/cases", s.apiCases)
	s.api("GET", "/api/v1/cases/{id}", s.apiCase)
	s.api("POST", "/api/v1/cases/{id}/confirm", s.apiCaseConfirm)
	s.api("POST", "/api/v1/cases/{id}/status", s.apiCaseStatus)
	s.api("POST", "/api/v1/cases/{id}/isolation", s.apiCaseIsolation)
}

// caseInput is the JSON a case is registered with.
type caseInput struct {
	Person struct {
		ID       int64  `json:"id"`
		Phone    string `json:"phone"`
		IDNumber string `json:"id_number"`
	} `json:"person"`
	Status         string `json:"status"`
	SampleDate     string `json:"sample_date"`
	OnsetDate      string `json:"onset_date"`
	IsolationKind  string `json:"isolation_kind"`
	IsolationPlace string `json:"isolation_place"`
	IsolationStart string `json:"isolation_start"`
	IsolationEnd   string `json:"isolation_end"`
	SourceCaseID   int64  `json:"source_case_id"`
	Note           string `json:"note"`
}

func (in caseInput) newCase() cases.NewCase {
	return cases.NewCase{PersonID: in.Person.ID, Phone: in.Person.Phone, IDNumber: in.Person.IDNumber, Status: in.Status,
		SampleDate: in.SampleDate, OnsetDate: in.OnsetDate, IsolationKind: in.IsolationKind, IsolationPlace: in.IsolationPlace,
		IsolationStart: in.IsolationStart, IsolationEnd: in.IsolationEnd, SourceCaseID: in.SourceCaseID, Note: in.Note}
}

func (s *Server) apiCreateCase(w http.ResponseWriter, r *http.Request) error {
	var in caseInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Cases.Create(r.Context(), auth.From(r.Context()), in.newCase())
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/cases/%d", c.ID))
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func caseFilter(r *http.Request) (cases.Filter, error) {
	q := r.URL.Query()
	f := cases.Filter{Commune: q.Get("commune"), Status: q.Get("status"), Q: q.Get("q"), From: q.Get("from"), To: q.Get("to"), Sort: q.Get("sort")}
	var err error
	f.Limit, f.Offset, err = pageOf(r, 100)
	return f, err
}

func (s *Server) apiCases(w http.ResponseWriter, r *http.Request) error {
	f, err := caseFilter(r)
	if err != nil {
		return err
	}
	list, err := s.Cases.List(r.Context(), auth.From(r.Context()), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// caseDetail is a case with its history and window.
type caseDetail struct {
	cases.Case
	History []cases.HistoryEntry `json:"history"`
	Window  *tracing.Window      `json:"infectious_window,omitempty"`
	// Story: an F0's stays as tracing counted them (with personal standing
	// or a grant), and whether the window still waits for an isolation date.
	Story *cases.Story `json:"story,omitempty"`
}

// caseDetail reads a case and how the caller may read its personal rows.
func (s *Server) caseDetail(r *http.Request) (caseDetail, cases.Access, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return caseDetail{}, cases.Access{}, err
	}
	p := auth.From(r.Context())
	c, acc, err := s.Cases.Open(r.Context(), p, id)
	if err != nil {
		return caseDetail{}, cases.Access{}, err
	}
	d := caseDetail{Case: c}
	if d.History, err = s.Cases.History(r.Context(), p, id); err != nil {
		return caseDetail{}, cases.Access{}, err
	}
	if c.Status == cases.F0 {
		if st, err := s.Cases.Story(r.Context(), p, c, acc); err == nil {
			d.Story, d.Window = &st, &st.Window
		} else if !errors.Is(err, errs.ErrInvalid) {
			return caseDetail{}, cases.Access{}, err
		}
	}
	return d, acc, nil
}

func (s *Server) apiCase(w http.ResponseWriter, r *http.Request) error {
	d, _, err := s.caseDetail(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) apiCaseStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in caseStatusInput) (cases.Case, error) {
		return s.Cases.SetStatus(ctx, p, id, in.Status, in.Note)
	})
}

func (s *Server) casesPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderCases(w, r, http.StatusOK, nil, nil)
}

func (s *Server) renderCases(w http.ResponseWriter, r *http.Request, status int, form map[string]string, fieldErrs map[string]string) error {
	p := auth.From(r.Context())
	if !cases.CanFollowUp(p) {
		return fmt.Errorf("cases page: %w", errs.ErrForbidden)
	}
	f, err := caseFilter(r)
	if err != nil {
		return err
	}
	list, err := s.Cases.List(r.Context(), p, f)
	searchErrs := errs.FieldsOf(err)
	if searchErrs != nil {
		// A bad search is shown beside its box, with nothing listed.
		status, list, err = http.StatusBadRequest, cases.Listed{}, nil
	}
	if err != nil {
		return err
	}
	if form == nil {
		form = map[string]string{"sample_date": time.Now().In(hcm).Format("2006-01-02")}
	}
	// The commune's health station registers suspected F0s only.
	statuses := cases.Statuses
	if !cases.CanTrace(p) {
		statuses = []string{cases.F0}
	}
	data := map[string]any{"Cases": list.Cases, "Total": list.Total, "Capped": list.Capped, "UnitGroups": s.filterUnits(p), "Unit": f.Commune,
		"SearchErrors": searchErrs, "AllStatuses": cases.Statuses,
		"Sorts": cases.Sorts, "CanTrace": cases.CanTrace(p), "CanRegister": cases.CanRegister(p),
		"Suspects": !cases.CanConfirm(p), "Form": form, "Errors": fieldErrs, "Statuses": statuses, "Filter": f, "Worklist": !cases.NeedsGrant(p), "CanRequest": cases.CanRequest(p), "CanDecide": cases.CanDecide(p)}
	data["Prev"], data["Next"] = pageLinks(r, "/cases", f.Offset, f.Limit, list.Total)
	s.render(w, r, status, "cases", data)
	return nil
}

func (s *Server) casesCreate(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("case form: %w", errs.ErrTooLarge)
	}
	form := map[string]string{}
	for _, k := range []string{"phone", "id_number", "status", "sample_date", "onset_date", "isolation_kind", "isolation_place", "isolation_start"} {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	c, err := s.Cases.Create(r.Context(), auth.From(r.Context()), cases.NewCase{Phone: form["phone"], IDNumber: form["id_number"],
		Status: form["status"], SampleDate: form["sample_date"], OnsetDate: form["onset_date"], IsolationKind: form["isolation_kind"],
		IsolationPlace: form["isolation_place"], IsolationStart: form["isolation_start"]})
	if fields := errs.FieldsOf(err); fields != nil {
		return s.renderCases(w, r, http.StatusBadRequest, form, fields)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d", c.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request) error {
	d, acc, err := s.caseDetail(r)
	if err != nil {
		return err
	}
	p := auth.From(r.Context())
	ctx := r.Context()
	// Manage: the case is the caller's own to work (status, F2, messages);
	// a grant from outside the jurisdiction only reads.
	manage := cases.CanTrace(p) && p.InJurisdiction(d.CommuneCode)
	data := map[string]any{"Case": d, "CanTrace": cases.CanTrace(p), "Manage": manage,
		"CanIsolate": cases.CanRegister(p) && !cases.NeedsGrant(p) && p.InJurisdiction(d.CommuneCode),
		"Confirm":    d.Suspected && cases.CanConfirm(p) && p.InJurisdiction(d.CommuneCode), "Personal": acc.Personal(), "Grant": acc.Grant,
		"CanRequest": cases.CanRequest(p) && !acc.Personal(), "MaxDays": cases.MaxGrantDays, "Statuses": cases.Statuses,
		"Message": r.URL.Query().Get("msg"), "CategoryName": categoryName(lang(w, r)), "Bounds": tracing.DefaultBounds()}
	// The person: name and phone are personal data, shown by standing or
	// through a grant, recorded (with the grant's id) before shown.
	if acc.Personal() {
		if err := auth.Audit(ctx, s.DB, auth.ActionView, "person", []string{strconv.FormatInt(d.PersonID, 10)}, acc.Purpose(msg.Both("web.purpose.case"))); err != nil {
			return err
		}
		person, err := s.People.Get(ctx, d.PersonID)
		if err != nil {
			return err
		}
		data["Person"] = person
	}
	if cases.CanTrace(p) && acc.Personal() {
		const shown = 500
		res, err := s.Cases.Contacts(ctx, p, d.ID, cases.Page{Limit: shown}, msg.Both("web.purpose.contacts_page"))
		if err != nil {
			return err
		}
		data["ContactCount"] = res.Total
		data["New"] = res.New
		if res.Total > shown {
			data["Truncated"] = shown
		}
		data["Contacts"] = res.Contacts
	} else if cases.CanTrace(p) {
		// Figures only: how many contacts, by level, without who.
		counts, err := s.Cases.ContactCounts(ctx, p, d.ID)
		if err != nil {
			return err
		}
		data["Counts"], data["ContactCount"] = counts, counts[cases.F1]+counts[cases.F2]+counts[cases.F3]
	}
	if manage {
		if job, err := s.Cases.Job(ctx, p, d.ID); err == nil {
			data["Job"] = job
		}
	}
	if exps, err := s.Cases.Exposures(ctx, p, d.ID); err == nil {
		data["Exposures"] = exps
		data["ExposureDays"] = exposureDays(exps)
	} else {
		return err
	}
	s.render(w, r, http.StatusOK, "cases_case", data)
	return nil
}

// exposureDays lists the venue-days of a case's exposures, the choices of
// a venue-day request on its page.
func exposureDays(exps []cases.ExposureVenue) []cases.VenueDay {
	var out []cases.VenueDay
	seen := map[string]bool{}
	for _, e := range exps {
		f := e.From.In(hcm)
		for d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, hcm); d.Before(e.To); d = d.AddDate(0, 0, 1) {
			vd := cases.VenueDay{VenueID: e.VenueID, Day: d.Format("2006-01-02"), VenueName: e.Name}
			if k := strconv.FormatInt(vd.VenueID, 10) + ":" + vd.Day; !seen[k] {
				seen[k] = true
				out = append(out, vd)
			}
		}
	}
	return out
}

func (s *Server) caseStatusSubmit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("status form: %w", errs.ErrTooLarge)
	}
	if _, err := s.Cases.SetStatus(r.Context(), auth.From(r.Context()), id, r.PostFormValue("status"), r.PostFormValue("note")); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d?msg=status", id), http.StatusSeeOther)
	return nil
}

func (s *Server) caseConfirmSubmit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.Cases.Confirm(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d?msg=status", id), http.StatusSeeOther)
	return nil
}

// caseIsolationInput is when and where an F0 was isolated.
type caseIsolationInput struct {
	IsolationStart string `json:"isolation_start"`
	IsolationKind  string `json:"isolation_kind"`
	IsolationPlace string `json:"isolation_place"`
}

func (s *Server) caseIsolationSubmit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("isolation form: %w", errs.ErrTooLarge)
	}
	if _, err := s.Cases.SetIsolation(r.Context(), auth.From(r.Context()), id, r.PostFormValue("isolation_kind"),
		r.PostFormValue("isolation_place"), r.PostFormValue("isolation_start")); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d?msg=isolation", id), http.StatusSeeOther)
	return nil
}

func (s *Server) apiCaseIsolation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in caseIsolationInput) (cases.Case, error) {
		return s.Cases.SetIsolation(ctx, p, id, in.IsolationKind, in.IsolationPlace, in.IsolationStart)
	})
}

func (s *Server) apiCaseConfirm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.Cases.Confirm(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
