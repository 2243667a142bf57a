package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/tracing"
	"anticovid/internal/venue"
)

func (s *Server) routesCases() {
	if s.Cases == nil {
		s.Cases = cases.NewService(s.DB, s.People, s.Outbox, s.log)
	}
	s.page("GET /cases", true, s.casesPage)
	s.page("POST /cases", true, s.casesCreate)
	s.page("GET /cases/{id}", true, s.casePage)
	s.page("POST /cases/{id}/status", true, s.caseStatusSubmit)
	s.page("POST /cases/{id}/f2", true, s.caseF2Submit)
	s.page("POST /cases/{id}/notify-venues", true, s.caseNotifyVenuesSubmit)
	s.page("POST /cases/{id}/export", true, s.caseExportSubmit)
	s.page("GET /cases/{id}/chain", true, s.chainPage)
	s.page("GET /cases/import", true, s.importPage)
	s.page("POST /cases/import", true, s.importUpload)
	s.page("POST /cases/import/{id}/commit", true, s.importCommit)
	s.mux.HandleFunc("GET /cases/import/template.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="mau-danh-sach-duong-tinh.csv"`)
		io.WriteString(w, cases.ImportTemplate)
	})
	s.page("GET /tracing/worklist", true, s.worklistPage)
	s.page("GET /tracing/rules", true, s.rulesPage)
	s.page("POST /tracing/rules", true, s.rulesSubmit)
	s.page("POST /tracing/contacts/{id}/call", true, s.callSubmit)
	s.page("POST /tracing/worklist/export", true, s.worklistExportSubmit)

	s.api("POST", "/api/v1/cases", `Register a case: {"person": {"phone"|"id_number"}, "status": "F0", "sample_date": "YYYY-MM-DD", "onset_date", "isolation_start", "isolation_kind", "source_case_id"}; an F0 is traced at once. 201 {"id", ...}.`, true, s.apiCreateCase)
	s.api("GET", "/api/v1/cases", "Cases in the caller's jurisdiction (?commune=&status=&limit=&offset=).", true, s.apiCases)
	s.api("GET", "/api/v1/cases/{id}", "One case with its status history and infectious window.", true, s.apiCase)
	s.api("POST", "/api/v1/cases/{id}/status", `Change a case's status: {"status": "F0"|"F1"|...|"recovered", "note"}.`, true, s.apiCaseStatus)
	s.api("GET", "/api/v1/cases/{id}/contacts", `An F0's contacts, computed now (?limit=&offset= for long lists; ?evidence=1 adds both stays of each pair): {"total", "contacts": [{"person_id", "phone" (null outside the caller's jurisdiction), "level", "venue_id", "overlap_minutes", "first_shared", "last_shared", "source": "qr"|"bluetooth"}]}.`, true, s.apiCaseContacts)
	s.api("POST", "/api/v1/cases/{id}/contacts/export", `Export a case's contacts: {"format": "xlsx"|"pdf", "purpose"}; the file is the answer.`, true, s.apiCaseExport)
	s.api("GET", "/api/v1/cases/{id}/exposure-venues", "The places and times an F0 exposed (no personal data).", true, s.apiCaseExposures)
	s.api("POST", "/api/v1/cases/{id}/exposure-venues/notify", "Message everyone who checked in at the exposure venues then (once per person and venue).", true, s.apiNotifyVenues)
	s.api("POST", "/api/v1/cases/{id}/f2", `Start the bounded F2 expansion as a background job: {"max_seeds", "cap_per_f1", "max_total", "min_overlap_minutes", "days"} (defaults when omitted). 202 with the job.`, true, s.apiStartF2)
	s.api("GET", "/api/v1/cases/{id}/f2", "Progress of the newest F2 job: status, done, total, found.", true, s.apiF2)
	s.api("GET", "/api/v1/cases/{id}/chain", "The transmission chain a case belongs to: nodes with their source.", true, s.apiChain)
	s.api("GET", "/api/v1/worklist", "Contacts to follow in the caller's jurisdiction (?commune=&state=open|overdue|closed|all&case=&limit=&offset=).", true, s.apiWorklist)
	s.api("POST", "/api/v1/worklist/export", `Export a worklist: {"format": "xlsx"|"pdf", "purpose", "commune", "state"}; the file is the answer.`, true, s.apiWorklistExport)
	s.api("POST", "/api/v1/contacts/{id}/calls", `Record a call to a contact: {"outcome": "reached"|"unreachable"|"quarantined_home"|"sent_to_facility"|"tested", "note"}.`, true, s.apiCall)
	s.api("POST", "/api/v1/case-imports", "Upload a laboratory's positive list (CSV or XLSX as the body, ?filename=): the rows checked, nothing saved yet.", true, s.apiImport)
	s.api("POST", "/api/v1/case-imports/{id}/commit", `Register the rows of an upload: {"decisions": {"LINE": "new"|"same:PERSON_ID"|"skip"}} for possible duplicates.`, true, s.apiImportCommit)
	s.api("GET", "/api/v1/tracing/rules", "The tracing rules in force: min_overlap_minutes, within_hour, hour_window_minutes, stay_cap_minutes, default_stay_minutes by category.", true, s.apiRules)
	s.api("PUT", "/api/v1/tracing/rules", "Change the tracing rules (province administrator, Department of Health); every later trace uses them.", true, s.apiSetRules)
	s.api("GET", "/api/v1/exposure-venues", "Public: places and times F0s exposed in the last days (?days=14), without personal data.", false, s.apiPublicExposures)
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
	f := cases.Filter{Commune: q.Get("commune"), Status: q.Get("status")}
	var err error
	if f.Limit, err = queryInt(r, "limit", 100); err != nil {
		return f, err
	}
	f.Offset, err = queryInt(r, "offset", 0)
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
	writeJSON(w, http.StatusOK, map[string]any{"cases": list})
	return nil
}

// caseDetail is a case with its history and window.
type caseDetail struct {
	cases.Case
	History []cases.HistoryEntry `json:"history"`
	Window  *tracing.Window      `json:"infectious_window,omitempty"`
}

func (s *Server) caseDetail(r *http.Request) (caseDetail, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return caseDetail{}, err
	}
	p := auth.From(r.Context())
	c, err := s.Cases.Get(r.Context(), p, id)
	if err != nil {
		return caseDetail{}, err
	}
	d := caseDetail{Case: c}
	if d.History, err = s.Cases.History(r.Context(), p, id); err != nil {
		return caseDetail{}, err
	}
	if c.Status == cases.F0 {
		if w, err := s.Cases.Window(c); err == nil {
			d.Window = &w
		}
	}
	return d, nil
}

func (s *Server) apiCase(w http.ResponseWriter, r *http.Request) error {
	d, err := s.caseDetail(r)
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
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in struct{ Status, Note string }) (any, error) {
		return s.Cases.SetStatus(ctx, p, id, in.Status, in.Note)
	})
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
	res, err := s.Cases.Contacts(r.Context(), auth.From(r.Context()), id, pg, "Truy vết tiếp xúc (API) / contact tracing (API)")
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
	writeJSON(w, http.StatusOK, map[string]any{"case_id": res.Case.ID, "infectious_window": res.Window, "new": res.New, "total": res.Total, "contacts": contacts})
	return nil
}

// exportRequest is the JSON of an export.
type exportRequest struct {
	Format  string `json:"format"`
	Purpose string `json:"purpose"`
	Commune string `json:"commune"`
	State   string `json:"state"`
}

// sendFile answers with an export built into a buffer first, so a failure
// never leaves half a file.
func sendFile(w http.ResponseWriter, name string, body []byte) {
	ct := "application/pdf"
	if strings.HasSuffix(name, ".xlsx") {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

func (s *Server) apiCaseExport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in exportRequest
	if err := decodeJSON(r, &in); err != nil {
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
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	list, err := s.Cases.Exposures(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"venues": orEmpty(list)})
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) apiNotifyVenues(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := s.Cases.NotifyVenueVisitors(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"queued": n})
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
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	job, err := s.Cases.Job(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (s *Server) apiChain(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ch, err := s.Cases.Chain(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func workFilter(r *http.Request) (cases.WorkFilter, error) {
	q := r.URL.Query()
	f := cases.WorkFilter{Commune: q.Get("commune"), State: q.Get("state")}
	var err error
	if f.Limit, err = queryInt(r, "limit", 200); err != nil {
		return f, err
	}
	if f.Offset, err = queryInt(r, "offset", 0); err != nil {
		return f, err
	}
	c, err := queryInt(r, "case", 0)
	f.CaseID = int64(c)
	return f, err
}

func (s *Server) apiWorklist(w http.ResponseWriter, r *http.Request) error {
	f, err := workFilter(r)
	if err != nil {
		return err
	}
	items, err := s.Cases.Worklist(r.Context(), auth.From(r.Context()), f, "Theo dõi F1/F2 (API) / contact follow-up (API)")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": orEmpty(items)})
	return nil
}

func (s *Server) apiWorklistExport(w http.ResponseWriter, r *http.Request) error {
	var in exportRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var buf bytes.Buffer
	name, err := s.Cases.ExportWorklist(r.Context(), auth.From(r.Context()), cases.WorkFilter{Commune: in.Commune, State: in.State}, in.Format, in.Purpose, &buf)
	if err != nil {
		return err
	}
	sendFile(w, name, buf.Bytes())
	return nil
}

func (s *Server) apiCall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in struct{ Outcome, Note string }) (any, error) {
		return s.Cases.RecordCall(ctx, p, id, in.Outcome, in.Note)
	})
}

func readUpload(r *http.Request) (string, []byte, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return "", nil, fmt.Errorf("upload: %w", &errs.Invalid{Fields: map[string]string{"file": "Chọn tệp CSV hoặc XLSX / Choose a CSV or XLSX file"}})
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return "", nil, fmt.Errorf("upload: %w", errs.ErrTooLarge)
		}
		return hdr.Filename, b, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return "", nil, fmt.Errorf("upload: %w", errs.ErrTooLarge)
	}
	return r.URL.Query().Get("filename"), b, nil
}

func (s *Server) apiImport(w http.ResponseWriter, r *http.Request) error {
	name, data, err := readUpload(r)
	if err != nil {
		return err
	}
	imp, err := s.Cases.PreviewImport(r.Context(), auth.From(r.Context()), name, data)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, imp)
	return nil
}

func (s *Server) apiImportCommit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Decisions map[string]string `json:"decisions"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	d := map[int]string{}
	for k, v := range in.Decisions {
		line, err := strconv.Atoi(k)
		if err != nil {
			return &errs.Invalid{Fields: map[string]string{"decisions": "Khoá phải là số dòng / Keys must be line numbers"}}
		}
		d[line] = v
	}
	imp, err := s.Cases.CommitImport(r.Context(), auth.From(r.Context()), id, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, imp)
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
	writeJSON(w, http.StatusOK, map[string]any{"days": days, "venues": orEmpty(list)})
	return nil
}

// Pages.

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
	if err != nil {
		return err
	}
	if form == nil {
		form = map[string]string{"sample_date": time.Now().In(hcm).Format("2006-01-02")}
	}
	s.render(w, r, status, "cases", map[string]any{"Cases": list, "CanTrace": cases.CanTrace(p), "Form": form, "Errors": fieldErrs,
		"Statuses": cases.Statuses, "Filter": f})
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
	d, err := s.caseDetail(r)
	if err != nil {
		return err
	}
	p := auth.From(r.Context())
	ctx := r.Context()
	data := map[string]any{"Case": d, "CanTrace": cases.CanTrace(p), "Statuses": cases.Statuses, "Message": r.URL.Query().Get("msg"),
		"CategoryName": categoryName(lang(w, r)), "Bounds": tracing.DefaultBounds()}
	// The person: name and phone are personal data within jurisdiction (the
	// case is), recorded before shown.
	if err := auth.Audit(ctx, s.DB, auth.ActionView, "person", []string{strconv.FormatInt(d.PersonID, 10)}, "Hồ sơ ca bệnh / case record"); err != nil {
		return err
	}
	person, err := s.People.Get(ctx, d.PersonID)
	if err != nil {
		return err
	}
	data["Person"] = person
	if cases.CanTrace(p) {
		const shown = 500
		res, err := s.Cases.Contacts(ctx, p, d.ID, cases.Page{Limit: shown}, "Truy vết tiếp xúc (trang ca bệnh) / contact tracing (case page)")
		if err != nil {
			return err
		}
		data["ContactCount"] = res.Total
		data["New"] = res.New
		if res.Total > shown {
			data["Truncated"] = shown
		}
		data["Contacts"] = res.Contacts
		if job, err := s.Cases.Job(ctx, p, d.ID); err == nil {
			data["Job"] = job
		}
	}
	if exps, err := s.Cases.Exposures(ctx, p, d.ID); err == nil {
		data["Exposures"] = exps
	} else {
		return err
	}
	s.render(w, r, http.StatusOK, "cases_case", data)
	return nil
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

func (s *Server) caseExportSubmit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("export form: %w", errs.ErrTooLarge)
	}
	var buf bytes.Buffer
	name, err := s.Cases.ExportContacts(r.Context(), auth.From(r.Context()), id, r.PostFormValue("format"), r.PostFormValue("purpose"), &buf)
	if err != nil {
		return err
	}
	sendFile(w, name, buf.Bytes())
	return nil
}

func (s *Server) worklistPage(w http.ResponseWriter, r *http.Request) error {
	f, err := workFilter(r)
	if err != nil {
		return err
	}
	p := auth.From(r.Context())
	items, err := s.Cases.Worklist(r.Context(), p, f, "Theo dõi F1/F2 (trang danh sách) / contact follow-up (worklist page)")
	if err != nil {
		return err
	}
	state := f.State
	if state == "" {
		state = "open"
	}
	s.render(w, r, http.StatusOK, "tracing_worklist", map[string]any{"Items": items, "Filter": f, "State": state,
		"Outcomes": cases.Outcomes, "States": []string{"open", "overdue", "closed", "all"}, "Communes": communeChoices(p, s.Config.Province), "Message": r.URL.Query().Get("msg"),
		"Query": r.URL.RawQuery})
	return nil
}

// communeChoice is a commune in the worklist's picker, named with its
// district (several districts have a "Thị trấn" or a "Xã An Thạnh").
type communeChoice struct{ Code, Name string }

// communeChoices lists the communes a viewer may pick a worklist for.
func communeChoices(p *auth.Principal, province string) []communeChoice {
	unit := p.Unit
	if unit == geo.Country {
		unit = province
	}
	var out []communeChoice
	for _, c := range geo.Communes(unit) {
		d, _ := geo.Ancestor(c.Code, "district")
		out = append(out, communeChoice{c.Code, c.Name + ", " + d.Name})
	}
	return out
}

func (s *Server) callSubmit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("call form: %w", errs.ErrTooLarge)
	}
	if _, err := s.Cases.RecordCall(r.Context(), auth.From(r.Context()), id, r.PostFormValue("outcome"), r.PostFormValue("note")); err != nil {
		return err
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/tracing/worklist") && !strings.HasPrefix(back, "/cases/") {
		back = "/tracing/worklist"
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	http.Redirect(w, r, back+sep+"msg=called", http.StatusSeeOther)
	return nil
}

func (s *Server) worklistExportSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("export form: %w", errs.ErrTooLarge)
	}
	var buf bytes.Buffer
	f := cases.WorkFilter{Commune: r.PostFormValue("commune"), State: r.PostFormValue("state")}
	name, err := s.Cases.ExportWorklist(r.Context(), auth.From(r.Context()), f, r.PostFormValue("format"), r.PostFormValue("purpose"), &buf)
	if err != nil {
		return err
	}
	sendFile(w, name, buf.Bytes())
	return nil
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) error {
	if !cases.CanTrace(auth.From(r.Context())) {
		return fmt.Errorf("import page: %w", errs.ErrForbidden)
	}
	s.render(w, r, http.StatusOK, "cases_import", map[string]any{})
	return nil
}

func (s *Server) importUpload(w http.ResponseWriter, r *http.Request) error {
	name, data, err := readUpload(r)
	if err == nil {
		var imp cases.Import
		if imp, err = s.Cases.PreviewImport(r.Context(), auth.From(r.Context()), name, data); err == nil {
			s.render(w, r, http.StatusOK, "cases_import", map[string]any{"Import": imp})
			return nil
		}
	}
	if fields := errs.FieldsOf(err); fields != nil {
		s.render(w, r, http.StatusBadRequest, "cases_import", map[string]any{"Errors": fields})
		return nil
	}
	return err
}

func (s *Server) importCommit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("import form: %w", errs.ErrTooLarge)
	}
	d := map[int]string{}
	for k, v := range r.PostForm {
		if line, ok := strings.CutPrefix(k, "line-"); ok {
			if n, err := strconv.Atoi(line); err == nil && len(v) > 0 {
				d[n] = v[0]
			}
		}
	}
	imp, err := s.Cases.CommitImport(r.Context(), auth.From(r.Context()), id, d)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "cases_import", map[string]any{"Import": imp, "Committed": true})
	return nil
}

// Chain page: a layered drawing, the root on top, each level a row.

type chainNode struct {
	cases.ChainNode
	X, Y  int
	Focus bool
}

type chainEdge struct{ X1, Y1, X2, Y2 int }

const (
	chainColW = 120
	chainRowH = 110
	chainPad  = 60
)

func (s *Server) chainPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ch, err := s.Cases.Chain(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	rows := map[int][]cases.ChainNode{}
	depth := 0
	for _, n := range ch.Nodes {
		rows[n.Depth] = append(rows[n.Depth], n)
		depth = max(depth, n.Depth)
	}
	widest := 1
	for _, row := range rows {
		widest = max(widest, len(row))
	}
	width := widest*chainColW + 2*chainPad
	pos := map[int64][2]int{}
	var nodes []chainNode
	for d := 0; d <= depth; d++ {
		row := rows[d]
		for i, n := range row {
			x := width/2 + (2*i-len(row)+1)*chainColW/2
			y := chainPad + d*chainRowH
			pos[n.CaseID] = [2]int{x, y}
			nodes = append(nodes, chainNode{ChainNode: n, X: x, Y: y, Focus: n.CaseID == ch.Focus})
		}
	}
	var edges []chainEdge
	for _, n := range nodes {
		if from, ok := pos[n.SourceID]; ok && n.SourceID != 0 {
			edges = append(edges, chainEdge{from[0], from[1] + 26, n.X, n.Y - 26})
		}
	}
	s.render(w, r, http.StatusOK, "chain", map[string]any{"Chain": ch, "Nodes": nodes, "Edges": edges,
		"Width": width, "Height": depth*chainRowH + 2*chainPad, "Focus": id})
	return nil
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
