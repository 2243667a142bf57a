package web

import (
	"bytes"
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

// routesCaseContacts registers a case's contacts, exports, exposure venues and F2 expansion.
func (s *Server) routesCaseContacts() {
	s.page("POST /cases/{id}/f2", true, s.caseF2Submit)
	s.page("POST /cases/{id}/notify-venues", true, s.caseNotifyVenuesSubmit)
	s.page("POST /cases/{id}/export", true, s.caseExport)
	s.api("GET", "/api/v1/cases/{id}/contacts", s.apiCaseContacts)
	s.api("POST", "/api/v1/cases/{id}/contacts/export", s.caseExport)
	s.api("GET", "/api/v1/cases/{id}/exposure-venues", s.apiCaseExposures)
	s.api("POST", "/api/v1/cases/{id}/exposure-venues/notify", s.apiNotifyVenues)
	s.api("POST", "/api/v1/cases/{id}/f2", s.apiStartF2)
	s.api("GET", "/api/v1/cases/{id}/f2", s.apiF2)
	s.api("GET", "/api/v1/exposure-venues", s.apiPublicExposures)
}

func (s *Server) apiCaseContacts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var pg cases.Page
	if pg.Limit, err = queryInt(r, "limit", 0); err != nil {
		return err
	}
	if pg.Offset, err = queryInt(r, "offset", 0); err != nil {
		return err
	}
	res, err := s.Cases.Contacts(r.Context(), auth.From(r.Context()), id, pg, msg.Both("web.purpose.contacts_api"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("evidence") != "1" {
		for i := range res.Contacts {
			res.Contacts[i].Evidence = nil
		}
	}
	contacts := res.Contacts
	if contacts == nil {
		contacts = []cases.ContactView{}
	}
	writeJSON(w, http.StatusOK, caseContactsAnswer{CaseID: res.Case.ID, InfectiousWindow: res.Window, New: res.New, Total: res.Total, Contacts: contacts})
	return nil
}

// exportRequest is the JSON of an export.
type exportRequest struct {
	Format  string `json:"format" jsonschema:"required,enum=xlsx,enum=pdf,enum=csv"`
	Purpose string `json:"purpose" jsonschema:"required"`
	Commune string `json:"commune"`
	State   string `json:"state"`
	// Q is the worklist's search (a phone, an ID number or words of a
	// name): the export holds what the searched list shows.
	Q string `json:"q,omitempty"`
}

// readExport reads what to export: the JSON body on the API, the form on a
// page (one handler serves both routes).
func readExport(r *http.Request) (exportRequest, error) {
	var in exportRequest
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return in, decodeJSON(r, &in)
	}
	if err := r.ParseForm(); err != nil {
		return in, fmt.Errorf("export form: %w", errs.ErrTooLarge)
	}
	return exportRequest{Format: r.PostFormValue("format"), Purpose: r.PostFormValue("purpose"),
		Commune: r.PostFormValue("commune"), State: r.PostFormValue("state"), Q: r.PostFormValue("q")}, nil
}

// caseExport answers a case's contacts as XLSX or PDF.
func (s *Server) caseExport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := readExport(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	name, err := s.Cases.ExportContacts(r.Context(), auth.From(r.Context()), id, in.Format, in.Purpose, &buf)
	if err != nil {
		return err
	}
	sendFile(w, name, buf.Bytes())
	return nil
}

func (s *Server) apiCaseExposures(w http.ResponseWriter, r *http.Request) error {
	list, err := byID(r, s.Cases.Exposures)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, exposureVenuesAnswer{Venues: orEmpty(list)})
	return nil
}

func (s *Server) apiNotifyVenues(w http.ResponseWriter, r *http.Request) error {
	n, err := byID(r, s.Cases.NotifyVenueVisitors)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, queuedAnswer{Queued: n})
	return nil
}

func (s *Server) caseNotifyVenuesSubmit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := s.Cases.NotifyVenueVisitors(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d?msg=notified:%d#exposures", id, n), http.StatusSeeOther)
	return nil
}

func (s *Server) apiPublicExposures(w http.ResponseWriter, r *http.Request) error {
	days, err := queryInt(r, "days", 14)
	if err != nil {
		return err
	}
	days = min(max(days, 1), 21)
	list, err := s.Cases.PublicExposures(r.Context(), s.Config.Province, time.Now().Add(-time.Duration(days)*24*time.Hour))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, publicExposuresAnswer{Days: days, Venues: orEmpty(list)})
	return nil
}

// boundsInput is the JSON of F2 bounds; zero fields take the defaults.
type boundsInput struct {
	MaxSeeds   int  `json:"max_seeds"`
	CapPerSeed int  `json:"cap_per_f1"`
	MaxTotal   int  `json:"max_total"`
	MinOverlap *int `json:"min_overlap_minutes"`
	Days       int  `json:"days"`
}

func (in boundsInput) bounds() tracing.Bounds {
	b := tracing.DefaultBounds()
	if in.MaxSeeds != 0 {
		b.MaxSeeds = in.MaxSeeds
	}
	if in.CapPerSeed != 0 {
		b.CapPerSeed = in.CapPerSeed
	}
	if in.MaxTotal != 0 {
		b.MaxTotal = in.MaxTotal
	}
	if in.MinOverlap != nil {
		b.MinOverlap = time.Duration(*in.MinOverlap) * time.Minute
	}
	if in.Days != 0 {
		b.Days = in.Days
	}
	return b
}

func (s *Server) apiStartF2(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in boundsInput
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	job, err := s.Cases.StartF2(r.Context(), auth.From(r.Context()), id, in.bounds())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, job)
	return nil
}

func (s *Server) apiF2(w http.ResponseWriter, r *http.Request) error {
	job, err := byID(r, s.Cases.Job)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (s *Server) caseF2Submit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("f2 form: %w", errs.ErrTooLarge)
	}
	var in boundsInput
	in.MaxSeeds, _ = strconv.Atoi(r.PostFormValue("max_seeds"))
	in.CapPerSeed, _ = strconv.Atoi(r.PostFormValue("cap_per_f1"))
	in.MaxTotal, _ = strconv.Atoi(r.PostFormValue("max_total"))
	if v, err := strconv.Atoi(r.PostFormValue("min_overlap_minutes")); err == nil {
		in.MinOverlap = &v
	}
	if _, err := s.Cases.StartF2(r.Context(), auth.From(r.Context()), id, in.bounds()); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d?msg=f2#f2", id), http.StatusSeeOther)
	return nil
}
