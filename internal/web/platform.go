package web

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
)

func (s *Server) routesPlatform() {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.page("GET /login", false, s.loginPage)
	s.page("POST /login", false, s.loginSubmit)
	s.page("POST /logout", false, s.logout)
	s.page("GET /{$}", true, s.home)
	s.page("GET /audit", true, s.auditPage)

	s.api("GET", "/api/v1/me", "The caller: username, role, unit_code, department.", true, s.apiMe)
	s.api("GET", "/api/v1/units/{code}", "One administrative unit: code, name, unit, level, parent_code.", false, s.apiUnit)
	s.api("GET", "/api/v1/units/{code}/children", "The direct children of an administrative unit.", false, s.apiUnitChildren)
	s.api("GET", "/api/v1/audit", "The newest entries of the personal-data access log (province admin).", true, s.apiAudit)
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.openapi)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.apiFail(w, r, fmt.Errorf("no route %s %s: %w", r.Method, r.URL.Path, errs.ErrNotFound))
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.R.PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "down", "database": s.DB.Engine})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": s.DB.Engine})
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if auth.From(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "login", map[string]string{"Next": safeNext(r.URL.Query().Get("next"))})
	return nil
}

var nextRE = regexp.MustCompile(`^/[^/\\]`)

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "/" || nextRE.MatchString(next) {
		return next
	}
	return "/"
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("login form: %w", errs.ErrTooLarge)
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	data := map[string]string{"Next": safeNext(r.PostFormValue("next")), "Username": username}
	ip := clientIP(r)
	if s.loginIP.blocked(ip) || s.loginUser.blocked(username) {
		data["Error"] = "login.limited"
		s.render(w, r, http.StatusTooManyRequests, "login", data)
		return nil
	}
	u, err := s.Auth.Authenticate(r.Context(), username, r.PostFormValue("password"))
	if err != nil {
		s.loginIP.take(ip)
		s.loginUser.take(username)
		s.log.Warn("login failed", "username", username, "ip", ip)
		data["Error"] = "login.failed"
		s.render(w, r, http.StatusUnauthorized, "login", data)
		return nil
	}
	secret, err := s.Auth.NewSession(r.Context(), u.UserID)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: s.Config.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(s.Config.SessionTTL.Seconds())})
	http.Redirect(w, r, data["Next"], http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.Auth.Revoke(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	children := geo.Children(p.Unit)
	if p.Unit == geo.Country && s.Config.Province != geo.Country {
		children = geo.Children(s.Config.Province)
	}
	s.render(w, r, http.StatusOK, "home", map[string]any{"Children": children, "Department": auth.Departments[p.Department]})
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, auth.From(r.Context()))
	return nil
}

func (s *Server) unit(r *http.Request) (geo.Unit, error) {
	u, ok := geo.Get(r.PathValue("code"))
	if !ok {
		return geo.Unit{}, fmt.Errorf("unit %q: %w", r.PathValue("code"), errs.ErrNotFound)
	}
	return u, nil
}

func (s *Server) apiUnit(w http.ResponseWriter, r *http.Request) error {
	u, err := s.unit(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) apiUnitChildren(w http.ResponseWriter, r *http.Request) error {
	u, err := s.unit(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"unit": u, "children": geo.Children(u.Code)})
	return nil
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
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}

// openapi describes every API route registered with s.api.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	paths := map[string]map[string]any{}
	params := regexp.MustCompile(`\{([a-z_]+)\}`)
	for _, rt := range s.routes {
		op := map[string]any{
			"summary": rt.Summary,
			"responses": map[string]any{
				"200": map[string]any{"description": "OK"},
				"4XX": map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		var ps []map[string]any
		for _, m := range params.FindAllStringSubmatch(rt.Path, -1) {
			ps = append(ps, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		if ps != nil {
			op["parameters"] = ps
		}
		if rt.Auth {
			op["security"] = []map[string][]string{{"bearer": {}}, {"cookie": {}}}
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]string{"title": "anticovid API", "version": "1"},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]string{"type": "http", "scheme": "bearer"},
				"cookie": map[string]string{"type": "apiKey", "in": "cookie", "name": sessionCookie},
			},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"error": map[string]any{"type": "object", "properties": map[string]any{
					"code": map[string]string{"type": "string"}, "message": map[string]string{"type": "string"},
					"fields": map[string]any{"type": "object", "additionalProperties": map[string]string{"type": "string"}},
				}},
			}}},
		},
	})
}
