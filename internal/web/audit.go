package web

import (
	"fmt"
	"net/http"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
)

// routesAudit registers the personal-data access log (province administrators).
func (s *Server) routesAudit() {
	s.page("GET /audit", true, s.auditPage)
	s.api("GET", "/api/v1/audit", s.apiAudit)
}

func (s *Server) auditEntries(r *http.Request) ([]auth.AuditEntry, error) {
	if !auth.From(r.Context()).Can(auth.ProvinceAdmin) {
		return nil, fmt.Errorf("audit log: %w", errs.ErrForbidden)
	}
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return nil, err
	}
	return auth.AuditLog(r.Context(), s.DB, min(max(limit, 1), 1000))
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.auditEntries(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "audit", entries)
	return nil
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.auditEntries(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditAnswer{Entries: entries})
	return nil
}
