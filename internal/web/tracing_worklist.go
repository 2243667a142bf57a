package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// routesTracingWorklist registers the tracer's worklist of contacts to follow, and their calls.
func (s *Server) routesTracingWorklist() {
	s.page("GET /tracing/worklist", true, s.tracingWorklistPage)
	s.page("POST /tracing/contacts/{id}/call", true, s.callSubmit)
	s.page("POST /tracing/worklist/export", true, s.worklistExport)
	s.api("GET", "/api/v1/worklist", s.apiTracingWorklist)
	s.api("POST", "/api/v1/worklist/export", s.worklistExport)
	s.api("POST", "/api/v1/contacts/{id}/calls", s.apiCall)
}

func workFilter(r *http.Request) (cases.WorkFilter, error) {
	q := r.URL.Query()
	f := cases.WorkFilter{Commune: q.Get("commune"), State: q.Get("state"), Q: q.Get("q")}
	var err error
	if f.Limit, f.Offset, err = pageOf(r, 200); err != nil {
		return f, err
	}
	c, err := queryInt(r, "case", 0)
	f.CaseID = int64(c)
	return f, err
}

func (s *Server) apiTracingWorklist(w http.ResponseWriter, r *http.Request) error {
	f, err := workFilter(r)
	if err != nil {
		return err
	}
	pg, err := s.Cases.WorkPage(r.Context(), auth.From(r.Context()), f, msg.Both("web.purpose.worklist_api"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, worklistAnswer{Contacts: orEmpty(pg.Items), Total: pg.Total, Capped: pg.Capped})
	return nil
}

func (s *Server) apiCall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in callInput) (cases.WorkItem, error) {
		return s.Cases.RecordCall(ctx, p, id, in.Outcome, in.Note)
	})
}

func (s *Server) tracingWorklistPage(w http.ResponseWriter, r *http.Request) error {
	f, err := workFilter(r)
	if err != nil {
		return err
	}
	p := auth.From(r.Context())
	status := http.StatusOK
	pg, err := s.Cases.WorkPage(r.Context(), p, f, msg.Both("web.purpose.worklist_page"))
	fields := errs.FieldsOf(err)
	if fields != nil { // a bad search, shown beside its box
		status, err = http.StatusBadRequest, nil
	}
	if err != nil {
		return err
	}
	state := f.State
	if state == "" {
		state = "open"
	}
	data := map[string]any{"Items": pg.Items, "Filter": f, "State": state, "Total": pg.Total, "Capped": pg.Capped, "Errors": fields,
		"Outcomes": cases.Outcomes, "States": []string{"open", "overdue", "closed", "all"}, "UnitGroups": s.filterUnits(p), "Unit": f.Commune,
		"Message": r.URL.Query().Get("msg"), "Query": r.URL.RawQuery}
	data["Prev"], data["Next"] = pageLinks(r, "/tracing/worklist", f.Offset, f.Limit, pg.Total)
	s.render(w, r, status, "tracing_worklist", data)
	return nil
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

// worklistExport answers a worklist as XLSX, PDF or CSV: what the list
// shows with the same search, commune and state.
func (s *Server) worklistExport(w http.ResponseWriter, r *http.Request) error {
	in, err := readExport(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	f := cases.WorkFilter{Commune: in.Commune, State: in.State, Q: in.Q}
	name, err := s.Cases.ExportWorklist(r.Context(), auth.From(r.Context()), f, in.Format, in.Purpose, &buf)
	if err != nil {
		return err
	}
	sendFile(w, name, buf.Bytes())
	return nil
}
