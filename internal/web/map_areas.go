package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// routesMapAreas registers the quarantine and lockdown areas of the public map: the API
// and the pages officials manage them with, which call the same service
// methods, so permissions and audit entries are the API's.
func (s *Server) routesMapAreas() {
	if s.Ops == nil {
		return
	}
	s.api("GET", "/api/v1/map-areas", s.apiAreas)
	s.api("POST", "/api/v1/map-areas", s.apiAddArea)
	s.api("POST", "/api/v1/map-areas/{id}/end", s.apiEndArea)
	s.page("GET /map/areas", true, s.areasPage)
	s.page("GET /map/areas/new", true, s.areaFormPage)
	s.page("POST /map/areas", true, s.areaSubmit)
	s.page("GET /map/areas/{id}", true, s.areaFormPage)
	s.page("POST /map/areas/{id}", true, s.areaSubmit)
	s.page("POST /map/areas/{id}/end", true, s.areaEndPage)
	s.api("PUT", "/api/v1/map-areas/{id}", s.apiUpdateArea)
}

func (s *Server) apiAreas(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Ops.Dashboard.Areas(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, areasAnswer{Areas: list})
	return nil
}

func (s *Server) apiAddArea(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusCreated, s.Ops.Dashboard.AddArea)
}

func (s *Server) apiEndArea(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Ops.Dashboard.EndArea(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, endedAnswer{ID: id, Ended: true})
	return nil
}

// localInput is the value of a datetime-local input, in Asia/Ho_Chi_Minh.
const localInput = "2006-01-02T15:04"

func (s *Server) areasPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	if !dashboard.MayDeclare(p) {
		return fmt.Errorf("map areas: %w", errs.ErrForbidden)
	}
	list, err := s.Ops.Dashboard.Areas(r.Context(), p)
	if err != nil {
		return err
	}
	now := time.Now()
	var rows []map[string]any
	for _, a := range list {
		rows = append(rows, map[string]any{"A": a, "Future": a.StartsAt.After(now)})
	}
	s.render(w, r, http.StatusOK, "areas", map[string]any{"Rows": rows, "Saved": r.URL.Query().Get("saved")})
	return nil
}

// areaForm is an area as its form shows it.
type areaForm struct {
	ID                                        int64
	Kind, Label, UnitCode, Note, Starts, Ends string
	Ended                                     bool
}

func (s *Server) renderAreaForm(w http.ResponseWriter, r *http.Request, status int, f areaForm, bad map[string]string) {
	s.render(w, r, status, "area", map[string]any{"F": f, "Errors": bad, "Groups": s.opsUnits(auth.From(r.Context()))})
}

func (s *Server) areaFormPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	if !dashboard.MayDeclare(p) {
		return fmt.Errorf("area form: %w", errs.ErrForbidden)
	}
	id, err := optionalID(r)
	if err != nil {
		return err
	}
	f := areaForm{Kind: dashboard.AreaLockdown, Starts: time.Now().In(hcm).Format(localInput)}
	if id != 0 {
		a, err := s.Ops.Dashboard.Area(r.Context(), p, id)
		if err != nil {
			return err
		}
		f = areaForm{ID: a.ID, Kind: a.Kind, Label: a.Label, UnitCode: a.UnitCode, Note: a.Note, Starts: a.StartsAt.In(hcm).Format(localInput)}
		if a.EndsAt != nil {
			f.Ends = a.EndsAt.In(hcm).Format(localInput)
			f.Ended = !a.EndsAt.After(time.Now())
		}
	}
	s.renderAreaForm(w, r, http.StatusOK, f, nil)
	return nil
}

func (s *Server) areaSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("area form: %w", errs.ErrTooLarge)
	}
	p := auth.From(r.Context())
	id, err := optionalID(r)
	if err != nil {
		return err
	}
	l := lang(w, r)
	f := areaForm{ID: id, Kind: r.PostFormValue("kind"), Label: r.PostFormValue("label"), UnitCode: r.PostFormValue("unit_code"),
		Note: r.PostFormValue("note"), Starts: r.PostFormValue("starts_at"), Ends: r.PostFormValue("ends_at")}
	a := dashboard.Area{Kind: f.Kind, Label: f.Label, UnitCode: f.UnitCode, Note: f.Note}
	bad := map[string]string{}
	if f.Starts != "" {
		t, err := time.ParseInLocation(localInput, f.Starts, hcm)
		if err != nil {
			bad["starts_at"] = msg.T(l, "web.form.bad_datetime")
		}
		a.StartsAt = t
	}
	if f.Ends != "" {
		t, err := time.ParseInLocation(localInput, f.Ends, hcm)
		if err != nil {
			bad["ends_at"] = msg.T(l, "web.form.bad_datetime")
		}
		a.EndsAt = &t
	}
	if len(bad) == 0 {
		if id == 0 {
			_, err = s.Ops.Dashboard.AddArea(r.Context(), p, a)
		} else {
			_, err = s.Ops.Dashboard.UpdateArea(r.Context(), p, id, a)
		}
		if err == nil {
			http.Redirect(w, r, "/map/areas?saved=1", http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, errs.ErrInvalid) {
			return err
		}
		bad = formErrors(l, err, "kind", "label", "unit_code", "note", "starts_at", "ends_at")
	}
	s.renderAreaForm(w, r, http.StatusBadRequest, f, bad)
	return nil
}

func (s *Server) areaEndPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Ops.Dashboard.EndArea(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/map/areas?saved=1", http.StatusSeeOther)
	return nil
}

func (s *Server) apiUpdateArea(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusOK, withID(id, s.Ops.Dashboard.UpdateArea))
}
