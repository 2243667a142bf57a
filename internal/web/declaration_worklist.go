package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"anticovid/internal/auth"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// routesDeclarationWorklist registers the health station's worklist of flagged declarations.
func (s *Server) routesDeclarationWorklist() {
	s.page("GET /declarations/worklist", true, s.declWorklistPage)
	s.page("POST /declarations/{id}/handled", true, s.declHandledForm)
	s.api("GET", "/api/v1/declarations/worklist", s.apiDeclWorklist)
	s.api("POST", "/api/v1/declarations/{id}/handled", s.apiDeclHandled)
}

func worklistFilter(r *http.Request) (declaration.Filter, error) {
	q := r.URL.Query()
	f := declaration.Filter{Unit: q.Get("unit"), Status: q.Get("status"), Q: q.Get("q"), From: q.Get("from"), To: q.Get("to")}
	var err error
	f.Limit, f.Offset, err = pageOf(r, 50)
	return f, err
}

var worklistPurpose = msg.Both("web.purpose.decl_worklist")

func (s *Server) apiDeclWorklist(w http.ResponseWriter, r *http.Request) error {
	f, err := worklistFilter(r)
	if err != nil {
		return err
	}
	pg, err := s.Declarations.WorklistPage(r.Context(), auth.From(r.Context()), f, worklistPurpose+" (API)")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, declWorklistAnswer{Declarations: pg.Items, Total: pg.Total, Capped: pg.Capped})
	return nil
}

func (s *Server) apiDeclHandled(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in noteInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Declarations.Handle(r.Context(), auth.From(r.Context()), id, in.Note); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, handledAnswer{ID: id, Handled: true})
	return nil
}

// worklistView is the health station's page.
type worklistView struct {
	Items     []declaration.Item
	Filter    declaration.Filter
	Units     []geo.Unit // units the caller may narrow to
	Done      int64      // the declaration just handled
	Back      string     // this list's query, for the handled form to return to
	List      string     // this list's path, the filter's action
	NoteErr   map[int64]string
	Notes     map[int64]string
	Total     int               // declarations matching the filter
	Capped    bool              // a search by name stopped at the first 5,000
	SearchErr map[string]string // a bad search or date, beside its box
	Prev      string
	Next      string
	Label     func(list string, code string) string
	Statuses  []option
}

func (s *Server) declWorklistPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderDeclWorklist(w, r, http.StatusOK, nil, nil)
}

func (s *Server) renderDeclWorklist(w http.ResponseWriter, r *http.Request, status int, noteErr map[int64]string, notes map[int64]string) error {
	p := auth.From(r.Context())
	f, err := worklistFilter(r)
	if err != nil {
		return err
	}
	pg, err := s.Declarations.WorklistPage(r.Context(), p, f, worklistPurpose+" (page)")
	searchErr := errs.FieldsOf(err)
	if searchErr != nil {
		status, err = http.StatusBadRequest, nil
	}
	if err != nil {
		return err
	}
	lang := langOf(r)
	wv := worklistView{Items: pg.Items, Filter: f, List: "/declarations/worklist", NoteErr: noteErr, Notes: notes, Total: pg.Total, Capped: pg.Capped, SearchErr: searchErr,
		Statuses: []option{{declaration.StatusOpen, msg.T(lang, "decl.status.open")},
			{declaration.StatusHandled, msg.T(lang, "decl.status.handled")}, {declaration.StatusAll, msg.T(lang, "decl.status.all")}},
		Label: func(list, code string) string {
			l := map[string][]declaration.Option{"kind": declaration.Kinds, "sex": declaration.Sexes,
				"symptom": declaration.Symptoms, "mode": declaration.Modes}[list]
			for _, o := range l {
				if o.Code == code {
					return o.Label(lang)
				}
			}
			return code
		}}
	if wv.Filter.Status == "" {
		wv.Filter.Status = declaration.StatusOpen
	}
	unit := s.homeUnit(p)
	if u, ok := geo.Get(unit); ok && u.Level != "commune" {
		wv.Units = append([]geo.Unit{u}, geo.Children(unit)...)
	}
	wv.Done, _ = strconv.ParseInt(r.URL.Query().Get("done"), 10, 64)
	back := r.URL.Query()
	back.Del("done")
	wv.Back = back.Encode()
	wv.Prev, wv.Next = pageLinks(r, wv.List, f.Offset, f.Limit, pg.Total)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "worklist", wv)
	return nil
}

// handledForm marks a declaration handled from the worklist page and returns
// to the same list.
func (s *Server) declHandledForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("handled form: %w", errs.ErrTooLarge)
	}
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	note := r.PostFormValue("note")
	err = s.Declarations.Handle(r.Context(), auth.From(r.Context()), id, note)
	if f := errs.FieldsOf(err); f != nil {
		r.URL.RawQuery = back.Encode()
		return s.renderDeclWorklist(w, r, http.StatusBadRequest, map[int64]string{id: msg.Local(langOf(r), f["note"])}, map[int64]string{id: note})
	}
	if err != nil {
		return err
	}
	back.Set("done", strconv.FormatInt(id, 10))
	http.Redirect(w, r, "/declarations/worklist?"+back.Encode(), http.StatusSeeOther)
	return nil
}
