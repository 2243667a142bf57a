package web

import (
	"fmt"
	"net/http"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
)

// routesLogin registers signing in and out with a username and password.
func (s *Server) routesLogin() {
	s.page("GET /login", false, s.loginPage)
	s.page("POST /login", false, s.loginSubmit)
	s.page("POST /logout", false, s.logout)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if auth.From(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "login", map[string]string{"Next": auth.SafeNext(r.URL.Query().Get("next"))})
	return nil
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("login form: %w", errs.ErrTooLarge)
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	data := map[string]string{"Next": auth.SafeNext(r.PostFormValue("next")), "Username": username}
	ip := clientIP(r)
	if s.Auth.Lockout.Wait(ip, username) > 0 {
		data["Error"] = "login.limited"
		s.render(w, r, http.StatusTooManyRequests, "login", data)
		return nil
	}
	u, err := s.Auth.Authenticate(r.Context(), username, r.PostFormValue("password"))
	if err != nil {
		s.Auth.Lockout.Fail(ip, username)
		s.log.Warn("login failed", "username", username, "ip", ip)
		data["Error"] = "login.failed"
		s.render(w, r, http.StatusUnauthorized, "login", data)
		return nil
	}
	s.Auth.Lockout.Succeed(ip, username)
	return s.startLogin(w, r, u, data["Next"])
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
