package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/camera"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// routesCameras registers quarantine zones and their cameras: the camera wall, snapshots,
// the API, and the management pages (same service methods as the API, so a
// refused field comes back next to its input).
func (s *Server) routesCameras() {
	if s.Ops == nil {
		return
	}
	s.page("GET /cameras", true, s.camerasPage)
	s.page("GET /cameras/{id}/snapshot", true, s.cameraSnapshot)
	s.api("GET", "/api/v1/zones", s.apiZones)
	s.api("POST", "/api/v1/zones", s.apiCreateZone)
	s.api("POST", "/api/v1/zones/{id}/cameras", s.apiAddCamera)
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
	s.api("PUT", "/api/v1/zones/{id}", s.apiUpdateZone)
	s.api("PUT", "/api/v1/cameras/{id}", s.apiUpdateCamera)
	s.api("DELETE", "/api/v1/cameras/{id}", s.apiDeleteCamera)
}

func (s *Server) camerasPage(w http.ResponseWriter, r *http.Request) error {
	zones, err := s.Ops.Cameras.Zones(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	if err := s.Ops.Cameras.AuditWall(r.Context(), zones); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "cameras", map[string]any{"Zones": zones, "CanManage": camera.MayManage(auth.From(r.Context()))})
	return nil
}

// offlineSVG stands in for a snapshot the camera did not give.
var offlineSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360">` +
	`<rect width="640" height="360" fill="#2b2f36"/><text x="320" y="170" fill="#f1f3f5" font-family="sans-serif" font-size="28" text-anchor="middle">` +
	msg.T("vi", "web.camera.offline") + `</text>` +
	`<text x="320" y="210" fill="#adb5bd" font-family="sans-serif" font-size="20" text-anchor="middle">` + msg.T("en", "web.camera.offline") + `</text></svg>`

func (s *Server) cameraSnapshot(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	data, ctype, err := s.Ops.Cameras.Snapshot(r.Context(), auth.From(r.Context()), id)
	w.Header().Set("Cache-Control", "private, no-store")
	if err != nil {
		if errors.Is(err, errs.ErrForbidden) || errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrUnauthorized) {
			return err
		}
		s.log.Warn("camera snapshot", "camera", id, "err", err)
		w.Header().Set("Content-Type", "image/svg+xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(offlineSVG))
		return nil
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(data)
	return nil
}

func (s *Server) apiZones(w http.ResponseWriter, r *http.Request) error {
	zones, err := s.Ops.Cameras.Zones(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, zonesAnswer{Zones: zones})
	return nil
}

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

func (s *Server) apiCreateZone(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusCreated, s.Ops.Cameras.CreateZone)
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

func (s *Server) apiAddCamera(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusCreated, withID(id, s.Ops.Cameras.AddCamera))
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
	writeJSON(w, http.StatusOK, deletedAnswer{ID: id, Deleted: true})
	return nil
}
