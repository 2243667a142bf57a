package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/venue"
)

// routesVenueImport registers the bulk import of venues from XLSX or CSV, and its templates.
func (s *Server) routesVenueImport() {
	s.page("GET /venues/import", true, s.venueImportPage)
	s.page("POST /venues/import", true, s.venueImportForm)
	s.page("GET /venues/import/mau-dia-diem.csv", true, s.templateCSV)
	s.page("GET /venues/import/mau-dia-diem.xlsx", true, s.templateXLSX)
	s.api("POST", "/api/v1/venues/import", s.apiVenueImport)
}

// importView is what the import page shows.
type importView struct {
	Created  int
	Done     bool
	Rows     []venue.RowError
	Problems map[string]string // file-level problems
	Province string
}

// readImport reads the uploaded file: multipart field "file", or the body.
func readImport(r *http.Request, maxBody int64) ([]venue.Row, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body io.Reader = r.Body
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(maxBody); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, fmt.Errorf("import upload: %w", errs.ErrTooLarge)
			}
			return nil, fmt.Errorf("import upload: %v: %w", err, importFileError(msg.Both("web.import.unreadable")))
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			return nil, fmt.Errorf("import upload: %w", importFileError(msg.Both("web.import.no_file")))
		}
		defer f.Close()
		body = f
	}
	rows, err := venue.ReadRows(body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("import upload: %w", errs.ErrTooLarge)
	}
	return rows, err
}

func importFileError(msg string) error { return &errs.Invalid{Fields: map[string]string{"file": msg}} }

// mayImportVenues: the officers who import venue lists (the venue service
// checks each row's jurisdiction and sector).
func mayImportVenues(p *auth.Principal) bool {
	return p.Can(auth.ProvinceAdmin, auth.DepartmentOfficer, auth.DistrictOfficer, auth.CommuneOfficer)
}

func (s *Server) venueImportPage(w http.ResponseWriter, r *http.Request) error {
	if !mayImportVenues(auth.From(r.Context())) {
		return fmt.Errorf("import page: %w", errs.ErrForbidden)
	}
	s.render(w, r, http.StatusOK, "import", importView{})
	return nil
}

func (s *Server) venueImportForm(w http.ResponseWriter, r *http.Request) error {
	rows, err := readImport(r, s.Config.MaxBody)
	var n int
	if err == nil {
		n, err = s.Venues.Import(r.Context(), auth.From(r.Context()), rows)
	}
	var ie *venue.ImportError
	switch {
	case errors.As(err, &ie):
		s.render(w, r, http.StatusBadRequest, "import", importView{Rows: ie.Rows})
	case errs.FieldsOf(err) != nil:
		s.render(w, r, http.StatusBadRequest, "import", importView{Problems: errs.FieldsOf(err)})
	case err != nil:
		return err
	default:
		s.log.Info("venues imported", "count", n, "by", auth.From(r.Context()).Username)
		s.render(w, r, http.StatusCreated, "import", importView{Done: true, Created: n})
	}
	return nil
}

func (s *Server) apiVenueImport(w http.ResponseWriter, r *http.Request) error {
	rows, err := readImport(r, s.Config.MaxBody)
	if err != nil {
		return err
	}
	n, err := s.Venues.Import(r.Context(), auth.From(r.Context()), rows)
	var ie *venue.ImportError
	if errors.As(err, &ie) {
		var body venueImportErrors
		status, code, msg := errs.HTTP(err)
		body.Error.Code, body.Error.Message, body.Errors = code, msg, ie.Rows
		writeJSON(w, status, body)
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("venues imported", "count", n, "by", auth.From(r.Context()).Username)
	writeJSON(w, http.StatusCreated, createdAnswer{Created: n})
	return nil
}

func (s *Server) templateCSV(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if err := venue.WriteTemplateCSV(&buf); err != nil {
		return err
	}
	sendDownload(w, "text/csv; charset=utf-8", "attachment", "mau-dia-diem.csv", buf.Bytes())
	return nil
}

func (s *Server) templateXLSX(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if err := venue.WriteTemplateXLSX(&buf, s.Config.Province); err != nil {
		return err
	}
	sendDownload(w, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "attachment", "mau-dia-diem.xlsx", buf.Bytes())
	return nil
}
