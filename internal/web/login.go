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
