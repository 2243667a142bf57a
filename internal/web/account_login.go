package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/poster"
)

// routesAccountLogin registers the steps of a login after the password: the
// code from the authenticator app (or a recovery code), the new password an
// administrator asked for, and the enrolment a role's second factor needs.
// Until the last step the browser holds only a pending login, which no other
// page accepts.
func (s *Server) routesAccountLogin() {
	s.page("GET /login/step", false, s.loginStepPage)
	s.page("POST /login/step", false, s.loginStepSubmit)
}

// pendingCookie holds the secret of a login that still has steps to take.
const pendingCookie = "anticovid_pending"

// stepView is what account_step.html shows: one step of a login, or the
// enrolment of a logged-in user (Action says where the form posts).
type stepView struct {
	Stage    string
	Action   string
	Username string
	Error    string
	QR       template.URL // the otpauth:// URL as an inline SVG QR code
	Secret   string       // the same secret, to type by hand
	Codes    []string     // recovery codes, shown once after enrolment
	Next     string       // where "continue" leads after the codes
}

// startLogin follows a right password: a session when nothing else is
// needed, else the first remaining step.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request, u auth.User, next string) error {
	secret, stage, err := s.Auth.BeginLogin(r.Context(), u)
	if err != nil {
		return err
	}
	s.stepCookies(w, secret, stage)
	if stage != "" {
		next = "/login/step"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// stepCookies sets the session cookie when the login is complete (stage ""),
// else the pending one.
func (s *Server) stepCookies(w http.ResponseWriter, secret, stage string) {
	if stage == "" {
		http.SetCookie(w, &http.Cookie{Name: pendingCookie, Path: "/login", MaxAge: -1})
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true,
			Secure: s.Config.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(s.Config.SessionTTL.Seconds())})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: secret, Path: "/login", HttpOnly: true,
		Secure: s.Config.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 600})
}

// pending returns the pending login of the request, or false after sending
// the browser back to the login form.
func (s *Server) pending(w http.ResponseWriter, r *http.Request) (string, auth.User, string, bool) {
	c, err := r.Cookie(pendingCookie)
	if err == nil {
		if u, stage, err := s.Auth.Pending(r.Context(), c.Value); err == nil {
			return c.Value, u, stage, true
		}
	}
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Path: "/login", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return "", auth.User{}, "", false
}

func (s *Server) loginStepPage(w http.ResponseWriter, r *http.Request) error {
	_, u, stage, ok := s.pending(w, r)
	if !ok {
		return nil
	}
	return s.renderStep(w, r, http.StatusOK, u, stepView{Stage: stage, Action: "/login/step"})
}

// renderStep fills in what the step shows (the QR code and secret while
// enrolling) and renders it.
func (s *Server) renderStep(w http.ResponseWriter, r *http.Request, status int, u auth.User, v stepView) error {
	v.Username = u.Username
	if v.Stage == auth.StageEnrol {
		e, err := s.Auth.StartEnrol(r.Context(), u)
		if err != nil {
			return err
		}
		svg, err := poster.SVG(e.URL)
		if err != nil {
			return err
		}
		v.QR = template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg))
		v.Secret = e.Secret
	}
	s.render(w, r, status, "account_step", v)
	return nil
}

func (s *Server) loginStepSubmit(w http.ResponseWriter, r *http.Request) error {
	secret, u, stage, ok := s.pending(w, r)
	if !ok {
		return nil
	}
	if err := r.ParseForm(); err != nil {
		return errs.ErrTooLarge
	}
	ctx, ip := r.Context(), clientIP(r)
	v := stepView{Stage: stage, Action: "/login/step"}
	var codes []string
	var err error
	switch stage {
	case auth.StageCode:
		if s.Auth.Lockout.Wait(ip, u.Username) > 0 {
			v.Error = msg.T(langOf(r), "login.limited")
			return s.renderStep(w, r, http.StatusTooManyRequests, u, v)
		}
		if err = s.Auth.CheckSecondFactor(ctx, u, r.PostFormValue("code")); errors.Is(err, errs.ErrUnauthorized) {
			s.Auth.Lockout.Fail(ip, u.Username)
			s.log.Warn("second factor failed", "user", u.UserID, "ip", ip)
			v.Error = msg.T(langOf(r), "account.code_wrong")
			return s.renderStep(w, r, http.StatusUnauthorized, u, v)
		}
		s.Auth.Lockout.Succeed(ip, u.Username)
	case auth.StagePassword:
		err = s.newPassword(r, func(pw string) error { return s.Auth.SetNewPassword(ctx, u, pw) })
	case auth.StageEnrol:
		codes, err = s.Auth.ConfirmEnrol(ctx, u, r.PostFormValue("code"))
	}
	if msgs := errs.FieldsOf(err); msgs != nil {
		v.Error = firstField(langOf(r), msgs)
		return s.renderStep(w, r, http.StatusUnprocessableEntity, u, v)
	}
	if err != nil {
		return err
	}
	next, nextStage, err := s.Auth.Advance(ctx, secret, stage)
	if err != nil {
		return err
	}
	s.stepCookies(w, next, nextStage)
	if codes != nil {
		s.render(w, r, http.StatusOK, "account_step", stepView{Stage: "codes", Codes: codes, Next: "/", Username: u.Username})
		return nil
	}
	if nextStage != "" {
		http.Redirect(w, r, "/login/step", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// newPassword reads the new password and its repetition from the form and
// hands it to set when they match.
func (s *Server) newPassword(r *http.Request, set func(pw string) error) error {
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		return &errs.Invalid{Fields: map[string]string{"confirm": msg.Both("account.confirm_differs")}}
	}
	return set(pw)
}

// firstField is the message of one field error in lang (these forms have one
// input that can be wrong at a time).
func firstField(lang string, fields map[string]string) string {
	for _, k := range []string{"current", "password", "confirm", "code", "user"} {
		if m, ok := fields[k]; ok {
			return msg.Local(lang, m)
		}
	}
	for _, m := range fields {
		return msg.Local(lang, m)
	}
	return ""
}
