package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/camera"
	"anticovid/internal/dashboard"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
)

// The pages officials manage quarantine zones, their cameras and the
// public map's areas with. They call the same service methods as the JSON
// API, so permissions (403 outside the jurisdiction) and the audit entries
// are the API's; a refused field comes back next to its input.

func (s *Server) routesOpsManage() {
	s.page("GET /cameras/manage", true, s.zonesPage)
	s.page("GET /cameras/manage/zones/new", true, s.zoneFormPage)
	s.page("POST /cameras/manage/zones", true, s.zoneSubmit)
	s.page("GET /cameras/manage/zones/{id}", true, s.zoneFormPage)
	s.page("POST /cameras/manage/zones/{id}", true, s.zoneSubmit)
	s.page("GET /cameras/manage/zones/{id}/cameras/new", true, s.cameraFormPage)
	s.page("POST /cameras/manage/zones/{id}/cameras", true, s.cameraSubmit)
	s.page("GET /cameras/manage/cameras/{id}", true, s.cameraFormPage)
	s.page("POST /cameras/manage/cameras/{id}", true, s.cameraSubmit)
	s.page("POST /cameras/manage/cameras/{id}/delete", true, s.cameraDeletePage)
	s.api("PUT", "/api/v1/zones/{id}", "Change a quarantine zone: {name, address, commune_code, capacity, held, public}.", true, s.apiUpdateZone)
	s.api("PUT", "/api/v1/cameras/{id}", "Change a camera: {name, stream_kind, stream_url, snapshot_url, username, password, clear_credentials}; an empty password keeps the stored one.", true, s.apiUpdateCamera)
	s.api("DELETE", "/api/v1/cameras/{id}", "Remove a camera.", true, s.apiDeleteCamera)

	s.page("GET /map/areas", true, s.areasPage)
	s.page("GET /map/areas/new", true, s.areaFormPage)
	s.page("POST /map/areas", true, s.areaSubmit)
	s.page("GET /map/areas/{id}", true, s.areaFormPage)
	s.page("POST /map/areas/{id}", true, s.areaSubmit)
	s.page("POST /map/areas/{id}/end", true, s.areaEndPage)
	s.api("PUT", "/api/v1/map-areas/{id}", "Change an area: {kind, label, unit_code, starts_at, ends_at?, note?}.", true, s.apiUpdateArea)
}

// opsUnitGroup is a district and its communes in a form's unit list.
type opsUnitGroup struct {
	District   geo.Unit
	Selectable bool // the district itself may be chosen (areas)
	Communes   []geo.Unit
}

// opsUnits are the units of the caller's jurisdiction, by district,
// within the deployment's province. A country-wide account on a country
// deployment gets none (the form asks for a code instead: 11,000 communes
// make no list).
func (s *Server) opsUnits(p *auth.Principal) []opsUnitGroup {
	root := p.Unit
	if root == geo.Country && s.Config.Province != geo.Country {
		root = s.Config.Province
	}
	u, ok := geo.Get(root)
	if !ok {
		return nil
	}
	switch u.Level {
	case "commune":
		d, _ := geo.Ancestor(root, "district")
		return []opsUnitGroup{{District: d, Communes: []geo.Unit{u}}}
	case "district":
		return []opsUnitGroup{{District: u, Selectable: true, Communes: geo.Children(u.Code)}}
	case "province":
		var out []opsUnitGroup
		for _, d := range geo.Children(u.Code) {
			out = append(out, opsUnitGroup{District: d, Selectable: true, Communes: geo.Children(d.Code)})
		}
		return out
	}
	return nil
}

// formErrors turns a service's field errors into the page's language; a
// field the form does not show goes under "form".
func formErrors(l string, err error, shown ...string) map[string]string {
	out := map[string]string{}
	for k, v := range errs.FieldsOf(err) {
		key := "form"
		for _, f := range shown {
			if f == k {
				key = k
			}
		}
		if out[key] != "" {
			out[key] += " · "
		}
		out[key] += localize(l, v)
	}
	return out
}

// formInt reads a whole number field; blank is 0.
func formInt(r *http.Request, name string, bad map[string]string, l string) int {
	v := strings.NewReplacer(".", "", " ", "").Replace(strings.TrimSpace(r.PostFormValue(name)))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		bad[name] = localize(l, "Phải là số nguyên / Must be a whole number")
	}
	return n
}

// --- Zones ---

func (s *Server) zonesPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	if !camera.MayManage(p) {
		return fmt.Errorf("manage zones: %w", errs.ErrForbidden)
	}
	zones, err := s.Ops.Cameras.Zones(r.Context(), p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "zones", map[string]any{"Zones": zones, "Saved": r.URL.Query().Get("saved")})
	return nil
}

// zoneID reads the {id} of a zone route, 0 on the "new" routes.
func optionalID(r *http.Request) (int64, error) {
	if r.PathValue("id") == "" {
		return 0, nil
	}
	return pathID(r, "id")
}

func (s *Server) renderZoneForm(w http.ResponseWriter, r *http.Request, status int, z camera.Zone, bad map[string]string, saved bool) {
	s.render(w, r, status, "zone", map[string]any{"Z": z, "Errors": bad, "Groups": s.opsUnits(auth.From(r.Context())), "Saved": saved})
}

func (s *Server) zoneFormPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	if !camera.MayManage(p) {
		return fmt.Errorf("zone form: %w", errs.ErrForbidden)
	}
	id, err := optionalID(r)
	if err != nil {
		return err
	}
	z := camera.Zone{Public: true}
	if id != 0 {
		if z, err = s.Ops.Cameras.Zone(r.Context(), p, id); err != nil {
			return err
		}
	}
	s.renderZoneForm(w, r, http.StatusOK, z, nil, r.URL.Query().Get("saved") == "1")
	return nil
}

func (s *Server) zoneSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("zone form: %w", errs.ErrTooLarge)
	}
	p := auth.From(r.Context())
	id, err := optionalID(r)
	if err != nil {
		return err
	}
	l := lang(w, r)
	bad := map[string]string{}
	z := camera.Zone{Name: r.PostFormValue("name"), Address: r.PostFormValue("address"), CommuneCode: r.PostFormValue("commune_code"),
		Capacity: formInt(r, "capacity", bad, l), Held: formInt(r, "held", bad, l), Public: r.PostFormValue("public") == "1"}
	var saved camera.Zone
	if len(bad) == 0 {
		if id == 0 {
			saved, err = s.Ops.Cameras.CreateZone(r.Context(), p, z)
		} else {
			saved, err = s.Ops.Cameras.UpdateZone(r.Context(), p, id, z)
		}
		if err == nil {
			s.Ops.Dashboard.Invalidate() // the public map lists facilities
			http.Redirect(w, r, fmt.Sprintf("/cameras/manage/zones/%d?saved=1", saved.ID), http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, errs.ErrInvalid) {
			return err
		}
		bad = formErrors(l, err, "name", "address", "commune_code", "capacity", "held")
	}
	z.ID = id
	if id != 0 { // keep the cameras list under the form
		if cur, err := s.Ops.Cameras.Zone(r.Context(), p, id); err == nil {
			z.Cameras = cur.Cameras
		}
	}
	s.renderZoneForm(w, r, http.StatusBadRequest, z, bad, false)
	return nil
}

func (s *Server) apiUpdateZone(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var z camera.Zone
	if err := decodeJSON(r, &z); err != nil {
		return err
	}
	z, err = s.Ops.Cameras.UpdateZone(r.Context(), auth.From(r.Context()), id, z)
	if err != nil {
		return err
	}
	s.Ops.Dashboard.Invalidate()
	writeJSON(w, http.StatusOK, z)
	return nil
}

// --- Cameras ---

func (s *Server) renderCameraForm(w http.ResponseWriter, r *http.Request, status int, z camera.Zone, c camera.Camera, in camera.CameraInput, bad map[string]string) {
	s.render(w, r, status, "camera_form", map[string]any{"Z": z, "C": c, "In": in, "Errors": bad})
}

// cameraContext returns, for the camera routes, the zone (and on the edit
// routes the camera) the caller may manage.
func (s *Server) cameraContext(r *http.Request) (camera.Zone, camera.Camera, error) {
	p := auth.From(r.Context())
	id, err := pathID(r, "id")
	if err != nil {
		return camera.Zone{}, camera.Camera{}, err
	}
	if strings.HasPrefix(r.URL.Path, "/cameras/manage/zones/") {
		z, err := s.Ops.Cameras.Zone(r.Context(), p, id)
		return z, camera.Camera{}, err
	}
	c, z, err := s.Ops.Cameras.Camera(r.Context(), p, id)
	return z, c, err
}

func (s *Server) cameraFormPage(w http.ResponseWriter, r *http.Request) error {
	z, c, err := s.cameraContext(r)
	if err != nil {
		return err
	}
	in := camera.CameraInput{Name: c.Name, StreamKind: c.StreamKind, StreamURL: c.StreamURL, SnapshotURL: c.SnapshotURL}
	if c.ID == 0 {
		in.StreamKind = camera.RTSP
	}
	s.renderCameraForm(w, r, http.StatusOK, z, c, in, nil)
	return nil
}

func (s *Server) cameraSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("camera form: %w", errs.ErrTooLarge)
	}
	z, c, err := s.cameraContext(r)
	if err != nil {
		return err
	}
	p := auth.From(r.Context())
	in := camera.CameraInput{Name: r.PostFormValue("name"), StreamKind: r.PostFormValue("stream_kind"), StreamURL: strings.TrimSpace(r.PostFormValue("stream_url")),
		SnapshotURL: strings.TrimSpace(r.PostFormValue("snapshot_url")), Username: r.PostFormValue("username"), Password: r.PostFormValue("password"),
		ClearCredentials: r.PostFormValue("clear_credentials") == "1"}
	if c.ID == 0 {
		_, err = s.Ops.Cameras.AddCamera(r.Context(), p, z.ID, in)
	} else {
		_, err = s.Ops.Cameras.UpdateCamera(r.Context(), p, c.ID, in)
	}
	if err == nil {
		http.Redirect(w, r, fmt.Sprintf("/cameras/manage/zones/%d?saved=1", z.ID), http.StatusSeeOther)
		return nil
	}
	if !errors.Is(err, errs.ErrInvalid) {
		return err
	}
	in.Password = "" // never echoed back into the page
	s.renderCameraForm(w, r, http.StatusBadRequest, z, c, in,
		formErrors(lang(w, r), err, "name", "stream_kind", "stream_url", "snapshot_url", "username", "password"))
	return nil
}

func (s *Server) cameraDeletePage(w http.ResponseWriter, r *http.Request) error {
	z, c, err := s.cameraContext(r)
	if err != nil {
		return err
	}
	if err := s.Ops.Cameras.DeleteCamera(r.Context(), auth.From(r.Context()), c.ID); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cameras/manage/zones/%d?saved=1", z.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) apiUpdateCamera(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusOK, withID(id, s.Ops.Cameras.UpdateCamera))
}

func (s *Server) apiDeleteCamera(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Ops.Cameras.DeleteCamera(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
	return nil
}

// --- Map areas ---

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
			bad["starts_at"] = localize(l, "Ngày giờ không hợp lệ / Invalid date and time")
		}
		a.StartsAt = t
	}
	if f.Ends != "" {
		t, err := time.ParseInLocation(localInput, f.Ends, hcm)
		if err != nil {
			bad["ends_at"] = localize(l, "Ngày giờ không hợp lệ / Invalid date and time")
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
