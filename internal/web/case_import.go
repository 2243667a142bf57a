package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// routesCaseImport registers the import of a laboratory's positive list.
func (s *Server) routesCaseImport() {
	s.page("GET /cases/import", true, s.caseImportPage)
	s.page("POST /cases/import", true, s.caseImportUpload)
	s.page("POST /cases/import/{id}/commit", true, s.caseImportCommit)
	s.mux.HandleFunc("GET /cases/import/template.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="mau-danh-sach-duong-tinh.csv"`)
		io.WriteString(w, cases.ImportTemplate)
	})
	s.api("POST", "/api/v1/case-imports", s.apiCaseImport)
	s.api("POST", "/api/v1/case-imports/{id}/commit", s.apiCaseImportCommit)
}

func readUpload(r *http.Request) (string, []byte, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return "", nil, fmt.Errorf("upload: %w", &errs.Invalid{Fields: map[string]string{"file": msg.Both("web.upload.choose_file")}})
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

func (s *Server) apiCaseImport(w http.ResponseWriter, r *http.Request) error {
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

func (s *Server) apiCaseImportCommit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in importDecisionsInput
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	d := map[int]string{}
	for k, v := range in.Decisions {
		line, err := strconv.Atoi(k)
		if err != nil {
			return &errs.Invalid{Fields: map[string]string{"decisions": msg.Both("web.case_import.line_keys")}}
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

func (s *Server) caseImportPage(w http.ResponseWriter, r *http.Request) error {
	if !cases.CanTrace(auth.From(r.Context())) {
		return fmt.Errorf("import page: %w", errs.ErrForbidden)
	}
	s.render(w, r, http.StatusOK, "cases_import", map[string]any{})
	return nil
}

func (s *Server) caseImportUpload(w http.ResponseWriter, r *http.Request) error {
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

func (s *Server) caseImportCommit(w http.ResponseWriter, r *http.Request) error {
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
