package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// routesAdoption registers smartphone and Bluezone adoption against the targets.
func (s *Server) routesAdoption() {
	if s.Adoption == nil {
		return
	}
	s.api("GET", "/api/v1/adoption", s.apiAdoption)
	s.api("PUT", "/api/v1/adoption/communes/{code}", s.apiAdoptionSet)
	s.api("POST", "/api/v1/adoption/import", s.apiAdoptionImport)
	s.api("GET", "/api/v1/adoption/targets", s.apiAdoptionTargets)
	s.api("PUT", "/api/v1/adoption/targets", s.apiAdoptionSetTargets)
	s.page("GET /adoption", true, s.adoptionPage)
	s.page("POST /adoption/import", true, s.adoptionImportForm)
	s.page("POST /adoption/users", true, s.adoptionUsersForm)
}

func (s *Server) adoptionUnit(r *http.Request) string {
	if unit := r.URL.Query().Get("unit"); unit != "" {
		return unit
	}
	return s.homeUnit(auth.From(r.Context()))
}

func (s *Server) apiAdoption(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Adoption.Report(r.Context(), auth.From(r.Context()), s.adoptionUnit(r), time.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) apiAdoptionSet(w http.ResponseWriter, r *http.Request) error {
	var in adoptionUsersInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Users == nil {
		return &errs.Invalid{Fields: map[string]string{"users": msg.Both("web.adoption.users_required")}}
	}
	if err := s.Adoption.SetUsers(r.Context(), auth.From(r.Context()), r.PathValue("code"), *in.Users); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiAdoptionImport(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Query().Get("filename")
	if name == "" {
		name = "upload.csv"
	}
	res, err := s.Adoption.Import(r.Context(), auth.From(r.Context()), r.Body, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) apiAdoptionTargets(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Adoption.Targets(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, targetsAnswer{Targets: ts})
	return nil
}

func (s *Server) apiAdoptionSetTargets(w http.ResponseWriter, r *http.Request) error {
	var in adoptionTargetsInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Adoption.SetTargets(r.Context(), auth.From(r.Context()), in.Targets); err != nil {
		return err
	}
	return s.apiAdoptionTargets(w, r)
}

// adoptionRow is one area as the page shows it, numbers formatted.
type adoptionRow struct {
	Code, Name, Level                 string
	Users, Registered, Active, Needed string
	Percent, Target, Gap, Due         string
	Known, Behind, Drill              bool
	BarPct, MarkPct                   string // chart: bar length and target mark, in % of the track
	CommunesWithData, Communes        int
	TargetsText                       string
}

func toRow(f adoption.Figures) adoptionRow {
	row := adoptionRow{Code: f.Code, Name: f.Name, Level: f.Level, Users: formatNumber(int(f.Smartphones)),
		Registered: formatNumber(int(f.Registered)), Active: formatNumber(int(f.Active)), Needed: formatNumber(int(f.Current.Needed)),
		Percent: percent(f.Percent), Target: percent(f.Current.Percent), Gap: percent(f.Gap), Known: f.Known(),
		Behind: f.Known() && f.Current.Needed > 0, Drill: f.Level != "commune",
		CommunesWithData: f.CommunesWithData, Communes: f.Communes}
	if d, err := time.Parse(time.DateOnly, f.Current.Due); err == nil {
		row.Due = d.Format("02/01/2006")
	}
	var ts []string
	for _, t := range f.Targets {
		d, _ := time.Parse(time.DateOnly, t.Due)
		mark := "✗"
		if t.Met {
			mark = "✓"
		}
		ts = append(ts, fmt.Sprintf("%s %s %s", percent(t.Percent), d.Format("02/01/2006"), mark))
	}
	row.TargetsText = strings.Join(ts, " · ")
	return row
}

func (s *Server) adoptionPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdoption(w, r, nil)
}

func (s *Server) renderAdoption(w http.ResponseWriter, r *http.Request, extra map[string]any) error {
	p := auth.From(r.Context())
	unit := s.adoptionUnit(r)
	rep, err := s.Adoption.Report(r.Context(), p, unit, time.Now())
	if err != nil {
		return err
	}
	data := map[string]any{"Unit": toRow(rep.Unit), "UnitCode": unit, "Path": openPath(p, unit), "CanEdit": adoption.CanEdit(p, firstCommune(unit))}
	var rows []adoptionRow
	for _, c := range rep.Children {
		row := toRow(c)
		row.BarPct = strconv.FormatFloat(min(c.Percent, 100), 'f', 1, 64)
		row.MarkPct = strconv.FormatFloat(min(c.Current.Percent, 100), 'f', 1, 64)
		rows = append(rows, row)
	}
	data["Rows"] = rows
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, http.StatusOK, "adoption", data)
	return nil
}

func firstCommune(unit string) string {
	if cs := geo.Communes(unit); len(cs) > 0 {
		return cs[0].Code
	}
	return unit
}

func (s *Server) adoptionImportForm(w http.ResponseWriter, r *http.Request) error {
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return s.renderAdoption(w, r, map[string]any{"Errors": map[string]string{"file": msg.Both("web.upload.choose_file2")}})
	}
	defer file.Close()
	res, err := s.Adoption.Import(r.Context(), auth.From(r.Context()), io.LimitReader(file, 20<<20), hdr.Filename)
	if errors.Is(err, errs.ErrInvalid) {
		return s.renderAdoption(w, r, map[string]any{"Errors": errs.FieldsOf(err)})
	}
	if err != nil {
		return err
	}
	return s.renderAdoption(w, r, map[string]any{"Imported": res.Updated})
}

func (s *Server) adoptionUsersForm(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("adoption form: %w", errs.ErrTooLarge)
	}
	n, err := strconv.ParseInt(strings.NewReplacer(".", "", ",", "", " ", "").Replace(r.PostFormValue("users")), 10, 64)
	if err != nil {
		return s.renderAdoption(w, r, map[string]any{"Errors": map[string]string{"users": msg.Both("web.adoption.users_number")}})
	}
	err = s.Adoption.SetUsers(r.Context(), auth.From(r.Context()), strings.TrimSpace(r.PostFormValue("commune_code")), n)
	if errors.Is(err, errs.ErrInvalid) {
		return s.renderAdoption(w, r, map[string]any{"Errors": errs.FieldsOf(err)})
	}
	if err != nil {
		return err
	}
	return s.renderAdoption(w, r, map[string]any{"Imported": 1})
}
