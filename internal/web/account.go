package web

import (
	"fmt"
	"net/http"
	"strconv"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/inbox"
)

// routesAccount registers what every user does with their own account
// (/account: password, second factor, sessions and tokens) and what a
// province or district administrator does with the accounts of their
// jurisdiction (/accounts). Every act goes to the audit log (auth does it).
func (s *Server) routesAccount() {
	s.page("GET /account", true, s.ownAccountPage)
	s.page("POST /account/password", true, s.ownPassword)
	s.page("GET /account/totp", true, s.ownEnrolPage)
	s.page("POST /account/totp", true, s.ownEnrolSubmit)
	s.page("POST /account/sessions/revoke", true, s.ownRevoke)
	s.page("GET /accounts", true, s.accountsPage)
	s.page("GET /accounts/{id}", true, s.managedAccountPage)
	s.page("POST /accounts/{id}/{act}", true, s.managedAccountAct)
}

// accountView is account.html: one account, seen by its owner (Own) or by
// an administrator.
type accountView struct {
	Own          bool
	Account      auth.User
	Sessions     []auth.Session
	RecoveryLeft int
	Base         string // where the page's forms post
	Done         string // catalog key of what was just done
	Error        string
	Manages      bool // the viewer administers accounts (link to /accounts)
	// Inbox is the owner's choice of notices by SMS and email (nil: no
	// inbox for this account or server); Modes are the choices offered.
	Inbox *inbox.Prefs
	Modes []string
	// Contacts is the page where the addresses notices go to are set
	// ("": this server has no meetings page).
	Contacts string
}

// doneKeys are the ?done= values a page may confirm, with their texts.
var doneKeys = map[string]string{"password": "account.done.password", "revoked": "account.done.revoked",
	"disable": "account.done.disable", "enable": "account.done.enable", "reset-password": "account.done.reset-password",
	"reset-totp": "account.done.reset-totp", "enrolled": "account.done.enrolled", "inbox": "inbox.prefs_saved"}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, u auth.User, v accountView) error {
	ctx := r.Context()
	current := ""
	if c, err := r.Cookie(sessionCookie); err == nil && v.Own {
		current = c.Value
	}
	var err error
	if v.Sessions, err = s.Auth.Sessions(ctx, u.UserID, current); err != nil {
		return err
	}
	if v.RecoveryLeft, err = s.Auth.RecoveryCodesLeft(ctx, u.UserID); err != nil {
		return err
	}
	if p := auth.From(ctx); v.Own && s.unread(ctx, p) >= 0 {
		pr, err := s.Inbox.Prefs(ctx, p)
		if err != nil {
			return err
		}
		v.Inbox, v.Modes = &pr, inbox.Modes
		if s.Meetings != nil {
			v.Contacts = "/meetings#contact"
		}
	}
	v.Done = doneKeys[r.URL.Query().Get("done")]
	v.Account, v.Manages = u, auth.From(ctx).Manages()
	s.render(w, r, status, "account", v)
	return nil
}

func (s *Server) ownUser(r *http.Request) (auth.User, error) {
	return s.Auth.UserByID(r.Context(), auth.From(r.Context()).UserID)
}

func (s *Server) ownAccountPage(w http.ResponseWriter, r *http.Request) error {
	u, err := s.ownUser(r)
	if err != nil {
		return err
	}
	return s.renderAccount(w, r, http.StatusOK, u, accountView{Own: true, Base: "/account"})
}

func (s *Server) ownPassword(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.ErrTooLarge
	}
	p := auth.From(r.Context())
	c, _ := r.Cookie(sessionCookie)
	keep := ""
	if c != nil {
		keep = c.Value
	}
	err := s.newPassword(r, func(pw string) error {
		return s.Auth.ChangePassword(r.Context(), p, r.PostFormValue("current"), pw, keep)
	})
	if fields := errs.FieldsOf(err); fields != nil {
		u, err := s.ownUser(r)
		if err != nil {
			return err
		}
		return s.renderAccount(w, r, http.StatusUnprocessableEntity, u, accountView{Own: true, Base: "/account", Error: firstField(langOf(r), fields)})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
	return nil
}

func (s *Server) ownEnrolPage(w http.ResponseWriter, r *http.Request) error {
	u, err := s.ownUser(r)
	if err != nil {
		return err
	}
	if u.HasTOTP { // an administrator resets a lost one first
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	return s.renderStep(w, r, http.StatusOK, u, stepView{Stage: auth.StageEnrol, Action: "/account/totp"})
}

func (s *Server) ownEnrolSubmit(w http.ResponseWriter, r *http.Request) error {
	u, err := s.ownUser(r)
	if err != nil {
		return err
	}
	if u.HasTOTP {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	codes, err := s.Auth.ConfirmEnrol(r.Context(), u, r.PostFormValue("code"))
	if fields := errs.FieldsOf(err); fields != nil {
		return s.renderStep(w, r, http.StatusUnprocessableEntity, u, stepView{Stage: auth.StageEnrol, Action: "/account/totp", Error: firstField(langOf(r), fields)})
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "account_step", stepView{Stage: "codes", Codes: codes, Next: "/account?done=enrolled", Username: u.Username})
	return nil
}

func (s *Server) ownRevoke(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	id := r.PostFormValue("id")
	if err := s.Auth.RevokeSession(r.Context(), p, p.UserID, id); err != nil {
		return err
	}
	if c, err := r.Cookie(sessionCookie); err == nil && id == auth.SecretID(c.Value) {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/account?done=revoked", http.StatusSeeOther)
	return nil
}

// accountsView is accounts.html: the accounts an administrator manages.
type accountsView struct {
	Users []auth.User
}

func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request) error {
	users, err := s.Auth.ManagedUsers(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "accounts", accountsView{Users: users})
	return nil
}

func (s *Server) managedAccountPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := s.Auth.Managed(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	return s.renderAccount(w, r, http.StatusOK, u, accountView{Base: "/accounts/" + strconv.FormatInt(id, 10)})
}

// managedAccountAct runs one administrator act on an account: disable,
// enable, reset-password (a new one at next login), reset-totp, revoke.
func (s *Server) managedAccountAct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx, admin, act := r.Context(), auth.From(r.Context()), r.PathValue("act")
	switch act {
	case "disable", "enable":
		err = s.Auth.SetDisabled(ctx, admin, id, act == "disable")
	case "reset-password":
		err = s.Auth.ForceReset(ctx, admin, id)
	case "reset-totp":
		err = s.Auth.ResetSecondFactor(ctx, admin, id)
	case "revoke":
		err = s.Auth.RevokeSession(ctx, admin, id, r.PostFormValue("id"))
		act = "revoked"
	default:
		err = fmt.Errorf("account act %q: %w", act, errs.ErrNotFound)
	}
	if fields := errs.FieldsOf(err); fields != nil {
		u, err := s.Auth.Managed(ctx, admin, id)
		if err != nil {
			return err
		}
		return s.renderAccount(w, r, http.StatusUnprocessableEntity, u, accountView{Base: "/accounts/" + strconv.FormatInt(id, 10), Error: firstField(langOf(r), fields)})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/accounts/"+strconv.FormatInt(id, 10)+"?done="+act, http.StatusSeeOther)
	return nil
}
