package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/press"
)

// pressUploads are the routes that take a material's file: their body
// limit is --press-max-upload (limitBody), not --max-body.
var pressUploads = map[string]bool{"/press/materials": true, "/api/v1/press/materials": true}

// routesPress registers communication and the press: the materials
// library (province uploads, communes download and mark use), the weekly
// press releases (drafted, edited, approved) and their public page, PDF
// and Atom feed under /bao-chi/.
func (s *Server) routesPress() {
	if s.Press == nil {
		return
	}
	s.page("GET /press", true, s.pressLibraryPage)
	s.page("POST /press/materials", true, s.pressUploadPage)
	s.page("GET /press/materials/{id}", true, s.pressMaterialPage)
	s.page("GET /press/materials/{id}/file", true, s.pressDownload)
	s.page("POST /press/materials/{id}/uses", true, s.pressMarkPage)
	s.page("POST /press/materials/{id}/uses/{use}/delete", true, s.pressUnmarkPage)
	s.page("POST /press/materials/{id}/delete", true, s.pressRemovePage)
	s.page("GET /press/releases", true, s.pressReleasesPage)
	s.page("POST /press/releases", true, s.pressDraftPage)
	s.page("GET /press/releases/{week}", true, s.pressReleasePage)
	s.page("POST /press/releases/{week}", true, s.pressEditPage)
	s.page("POST /press/releases/{week}/publish", true, s.pressPublishPage)
	s.page("GET /bao-chi", false, func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, "/bao-chi/", http.StatusMovedPermanently)
		return nil
	})
	s.page("GET /bao-chi/{$}", false, s.pressPublicPage)
	s.page("GET /bao-chi/atom.xml", false, s.pressFeed)
	s.page("GET /bao-chi/{name}", false, s.pressPublicRelease)
	s.api("GET", "/api/v1/press/materials", s.apiPressMaterials)
	s.api("POST", "/api/v1/press/materials", s.apiPressUpload)
	s.api("GET", "/api/v1/press/materials/{id}", s.apiPressMaterial)
	s.api("DELETE", "/api/v1/press/materials/{id}", s.apiPressRemove)
	s.api("GET", "/api/v1/press/materials/{id}/file", s.pressDownload)
	s.api("POST", "/api/v1/press/materials/{id}/uses", s.apiPressMark)
	s.api("DELETE", "/api/v1/press/materials/{id}/uses/{use}", s.apiPressUnmark)
	s.api("GET", "/api/v1/press/releases", s.apiPressReleases)
	s.api("POST", "/api/v1/press/releases", s.apiPressDraft)
	s.api("GET", "/api/v1/press/releases/{week}", s.apiPressRelease)
	s.api("PUT", "/api/v1/press/releases/{week}", s.apiPressEdit)
	s.api("POST", "/api/v1/press/releases/{week}/publish", s.apiPressPublish)
}

// readMaterial reads a material's multipart form as a stream: the fields
// first, then the file, which goes to the service without being spooled.
// call gets the upload with the file part open.
func readMaterial(r *http.Request, call func(press.Upload) error) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return &errs.Invalid{Fields: map[string]string{"file": msg.Both("press.file_needed")}}
	}
	var in press.Upload
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return uploadErr(err)
		}
		if part.FormName() == "file" {
			if part.FileName() == "" { // no file chosen
				part.Close()
				continue
			}
			in.FileName, in.Body = part.FileName(), part
			err := call(in)
			part.Close()
			return uploadErr(err)
		}
		v, err := io.ReadAll(io.LimitReader(part, 8<<10))
		part.Close()
		if err != nil {
			return uploadErr(err)
		}
		switch part.FormName() {
		case "title":
			in.Title = string(v)
		case "kind":
			in.Kind = string(v)
		case "description":
			in.Description = string(v)
		}
	}
	return call(in)
}

// uploadErr turns a body cut at the limit into ErrTooLarge (413).
func uploadErr(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, multipart.ErrMessageTooLarge) {
		return fmt.Errorf("material upload: %w", errs.ErrTooLarge)
	}
	return err
}

func (s *Server) renderPressLibrary(w http.ResponseWriter, r *http.Request, status int, fields map[string]string) error {
	p := auth.From(r.Context())
	list, err := s.Press.Materials(r.Context(), p)
	if err != nil {
		return err
	}
	l := lang(w, r)
	shown := map[string]string{}
	for k, v := range fields {
		shown[k] = msg.Local(l, v)
	}
	s.render(w, r, status, "press", map[string]any{"Materials": list, "Editor": s.Press.Editor(p), "Commune": p.Role == auth.CommuneOfficer,
		"Kinds": press.Kinds, "Accept": press.Extensions(), "MaxMB": strconv.FormatInt(s.Press.MaxUploadSize()>>20, 10), "Errors": shown,
		"Form":    map[string]string{"title": r.PostFormValue("title"), "kind": r.PostFormValue("kind"), "description": r.PostFormValue("description")},
		"Removed": r.URL.Query().Get("removed") == "1"})
	return nil
}

func (s *Server) pressLibraryPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderPressLibrary(w, r, http.StatusOK, nil)
}

func (s *Server) pressUploadPage(w http.ResponseWriter, r *http.Request) error {
	var m press.Material
	err := readMaterial(r, func(in press.Upload) (err error) {
		m, err = s.Press.Add(r.Context(), auth.From(r.Context()), in)
		// the page re-renders the form with what was typed
		r.PostForm = map[string][]string{"title": {in.Title}, "kind": {in.Kind}, "description": {in.Description}}
		return err
	})
	if errors.Is(err, errs.ErrInvalid) {
		return s.renderPressLibrary(w, r, http.StatusBadRequest, errs.FieldsOf(err))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/press/materials/%d?uploaded=1", m.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) pressMaterialPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	m, err := byID(r, s.Press.Material)
	if err != nil {
		return err
	}
	uses, err := s.Press.Uses(r.Context(), p, m.ID)
	if err != nil {
		return err
	}
	data := map[string]any{"M": m, "Uses": uses, "Editor": s.Press.Editor(p), "Commune": p.Role == auth.CommuneOfficer,
		"Today": time.Now().In(hcm).Format("2006-01-02"), "Uploaded": r.URL.Query().Get("uploaded") == "1",
		"Marked": r.URL.Query().Get("marked") == "1"}
	if p.Role != auth.CommuneOfficer {
		cov, err := s.Press.Coverage(r.Context(), p, m.ID)
		if err != nil {
			return err
		}
		unused := 0
		for _, c := range cov {
			if !c.Used() {
				unused++
			}
		}
		data["Coverage"], data["Unused"] = cov, unused
	}
	s.render(w, r, http.StatusOK, "press_material", data)
	return nil
}

// pressDownload sends a material's file as an attachment of the type the
// allow-list gave it, never sniffed by the browser or shown in the page's
// origin.
func (s *Server) pressDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, rc, err := s.Press.Open(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", m.ContentType)
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": m.FileName})
	if disposition == "" { // never without "attachment"
		disposition = "attachment"
	}
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	h.Set("Cache-Control", "private, no-store")
	if _, err := io.Copy(w, rc); err != nil {
		s.log.WarnContext(r.Context(), "press download cut", "id", m.ID, "err", err)
	}
	return nil
}

func (s *Server) pressMarkPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("mark form: %w", errs.ErrTooLarge)
	}
	n, _ := strconv.ParseInt(r.PostFormValue("count"), 10, 64)
	_, err = s.Press.Mark(r.Context(), auth.From(r.Context()), id, press.UseInput{Kind: r.PostFormValue("kind"), Copies: n, Day: r.PostFormValue("day")})
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/press/materials/%d?marked=1#marks", id), http.StatusSeeOther)
	return nil
}

func (s *Server) pressUnmarkPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	use, err := pathID(r, "use")
	if err != nil {
		return err
	}
	if err := s.Press.Unmark(r.Context(), auth.From(r.Context()), id, use); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/press/materials/%d#marks", id), http.StatusSeeOther)
	return nil
}

func (s *Server) pressRemovePage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Press.Remove(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/press?removed=1", http.StatusSeeOther)
	return nil
}

func (s *Server) apiPressMaterials(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Press.Materials(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, materialsAnswer{Materials: orEmpty(list)})
	return nil
}

func (s *Server) apiPressUpload(w http.ResponseWriter, r *http.Request) error {
	var m press.Material
	err := readMaterial(r, func(in press.Upload) (err error) {
		m, err = s.Press.Add(r.Context(), auth.From(r.Context()), in)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *Server) apiPressMaterial(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	m, err := byID(r, s.Press.Material)
	if err != nil {
		return err
	}
	uses, err := s.Press.Uses(r.Context(), p, m.ID)
	if err != nil {
		return err
	}
	out := materialAnswer{Material: m, Uses: orEmpty(uses)}
	if p.Role != auth.CommuneOfficer {
		cov, err := s.Press.Coverage(r.Context(), p, m.ID)
		if err != nil {
			return err
		}
		out.Coverage = cov
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiPressRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Press.Remove(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiPressMark(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusCreated, withID(id, s.Press.Mark))
}

func (s *Server) apiPressUnmark(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	use, err := pathID(r, "use")
	if err != nil {
		return err
	}
	if err := s.Press.Unmark(r.Context(), auth.From(r.Context()), id, use); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
