package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/press"
)

// The weekly press releases: drafted from the live figures, edited and
// approved by the province, then public under /bao-chi/ as HTML, PDF and
// an Atom feed.

func (s *Server) pressReleasesPage(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Press.Releases(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "press_releases", map[string]any{"Releases": list, "Week": s.Press.CurrentWeek()})
	return nil
}

func (s *Server) pressDraftPage(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("draft form: %w", errs.ErrTooLarge)
	}
	rel, err := s.Press.Draft(r.Context(), auth.From(r.Context()), r.PostFormValue("refresh") == "1")
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/press/releases/"+rel.Week, http.StatusSeeOther)
	return nil
}

func (s *Server) renderPressRelease(w http.ResponseWriter, r *http.Request, status int, rel press.Release, fields map[string]string) {
	l := lang(w, r)
	shown := map[string]string{}
	for k, v := range fields {
		shown[k] = msg.Local(l, v)
	}
	s.render(w, r, status, "press_release", map[string]any{"R": rel, "Heads": press.TableHeads(l), "Errors": shown,
		"Saved": r.URL.Query().Get("saved") == "1"})
}

func (s *Server) pressReleasePage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	if !s.Press.Editor(p) {
		return fmt.Errorf("release page: %w", errs.ErrForbidden)
	}
	rel, err := s.Press.Release(r.Context(), p, r.PathValue("week"))
	if err != nil {
		return err
	}
	s.renderPressRelease(w, r, http.StatusOK, rel, nil)
	return nil
}

func (s *Server) pressEditPage(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("release form: %w", errs.ErrTooLarge)
	}
	p, week := auth.From(r.Context()), r.PathValue("week")
	in := press.Edit{Title: r.PostFormValue("title"), Body: r.PostFormValue("body")}
	_, err := s.Press.Update(r.Context(), p, week, in)
	if errors.Is(err, errs.ErrInvalid) {
		rel, gerr := s.Press.Release(r.Context(), p, week)
		if gerr != nil {
			return gerr
		}
		rel.Title, rel.Body = in.Title, in.Body
		s.renderPressRelease(w, r, http.StatusBadRequest, rel, errs.FieldsOf(err))
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/press/releases/"+week+"?saved=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pressPublishPage(w http.ResponseWriter, r *http.Request) error {
	rel, err := s.Press.Publish(r.Context(), auth.From(r.Context()), r.PathValue("week"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/bao-chi/"+rel.Week, http.StatusSeeOther)
	return nil
}

// publicCache lets shared caches keep the public pages briefly: a
// published release never changes, the index and feed change weekly.
func publicCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "public, max-age=300")
}

func (s *Server) pressPublicPage(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Press.Published(r.Context(), 100)
	if err != nil {
		return err
	}
	publicCache(w)
	s.render(w, r, http.StatusOK, "press_public", map[string]any{"Releases": list})
	return nil
}

func (s *Server) pressFeed(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Press.Published(r.Context(), 50)
	if err != nil {
		return err
	}
	body, err := s.Press.Feed(list, strings.TrimSuffix(s.Press.BaseURL, "/"))
	if err != nil {
		return err
	}
	publicCache(w)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Write(body)
	return nil
}

// pressPublicRelease serves /bao-chi/{week} (HTML) and /bao-chi/{week}.pdf;
// an unpublished week is not found, to the public and staff alike.
func (s *Server) pressPublicRelease(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	week, pdf := strings.CutSuffix(name, ".pdf")
	rel, err := s.Press.Release(r.Context(), nil, week)
	if err != nil {
		return err
	}
	publicCache(w)
	if pdf {
		var buf bytes.Buffer
		if err := rel.PDF(&buf, strings.TrimSuffix(s.Press.BaseURL, "/")+"/bao-chi/"+rel.Week); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": "thong-cao-" + rel.Week + ".pdf"}))
		w.Write(buf.Bytes())
		return nil
	}
	s.render(w, r, http.StatusOK, "press_public_release", map[string]any{"R": rel, "Heads": press.TableHeads(lang(w, r))})
	return nil
}

func (s *Server) apiPressReleases(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Press.Releases(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releasesAnswer{Releases: orEmpty(list)})
	return nil
}

func (s *Server) apiPressDraft(w http.ResponseWriter, r *http.Request) error {
	var in refreshInput
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	rel, err := s.Press.Draft(r.Context(), auth.From(r.Context()), in.Refresh)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rel)
	return nil
}

func (s *Server) apiPressRelease(w http.ResponseWriter, r *http.Request) error {
	rel, err := s.Press.Release(r.Context(), auth.From(r.Context()), r.PathValue("week"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rel)
	return nil
}

func (s *Server) apiPressEdit(w http.ResponseWriter, r *http.Request) error {
	week := r.PathValue("week")
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in press.Edit) (press.Release, error) {
		return s.Press.Update(ctx, p, week, in)
	})
}

func (s *Server) apiPressPublish(w http.ResponseWriter, r *http.Request) error {
	rel, err := s.Press.Publish(r.Context(), auth.From(r.Context()), r.PathValue("week"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rel)
	return nil
}
