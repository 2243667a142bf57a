package web

import (
	"errors"
	"fmt"
	"net/http"

	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/otp"
	"anticovid/internal/people"
)

// routesDeclarationProof registers the proof step of an unproven
// declaration: a code goes to the phone stored for the person the
// declaration names (never to a number typed now); typing it proves this
// device, which keeps the proof cookie, and the declaration gets its QR.
func (s *Server) routesDeclarationProof() {
	for _, p := range []string{"/khai-bao/xac-minh", "/declare/proof"} {
		s.page("POST "+p, false, s.declProofSubmit)
	}
}

// proofView is the proof step of a declaration kept unproven.
type proofView struct {
	Pending  string // the declaration's handle (declaration.Service.Pending)
	Phone    string // the stored phone, masked
	Sent     bool   // a code went out: ask for it
	DemoCode string // the code itself, in demo mode only
	Error    string
	Flagged  bool
}

// storedPhone is the phone of the person an unproven declaration names.
func (s *Server) storedPhone(r *http.Request, handle string) (int64, string, error) {
	person, _, err := s.Declarations.Pending(handle)
	if err != nil {
		return 0, "", err
	}
	phones, err := s.People.Phones(r.Context(), []int64{person})
	if err != nil {
		return 0, "", err
	}
	if phones[person] == "" {
		return 0, "", fmt.Errorf("declaration proof: person %d: %w", person, errs.ErrNotFound)
	}
	return person, phones[person], nil
}

func (s *Server) renderDeclProof(w http.ResponseWriter, r *http.Request, status int, pv proofView) error {
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "declaration_proof", pv)
	return nil
}

// declProofSubmit sends the code (action "send") or checks it.
func (s *Server) declProofSubmit(w http.ResponseWriter, r *http.Request) error {
	if s.OTP == nil {
		return fmt.Errorf("declaration proof: %w", errs.ErrNotFound)
	}
	handle := r.PostFormValue("pending")
	person, phone, err := s.storedPhone(r, handle)
	if err != nil {
		return err
	}
	lang := langOf(r)
	pv := proofView{Pending: handle, Phone: people.MaskPhone(phone)}
	if r.PostFormValue("action") == "send" {
		sent, err := s.OTP.Issue(r.Context(), otp.Request{Purpose: otp.PhoneProof, Phone: phone, Client: clientIP(r), Send: true})
		if f := errs.FieldsOf(err); f != nil {
			for _, m := range f {
				pv.Error = msg.Local(lang, m)
			}
			return s.renderDeclProof(w, r, http.StatusBadRequest, pv)
		}
		if err != nil {
			return err
		}
		pv.Sent, pv.DemoCode = true, sent.Code
		return s.renderDeclProof(w, r, http.StatusOK, pv)
	}
	pv.Sent = true
	if err := s.proveDevice(w, r, person, phone, r.PostFormValue("code")); err != nil {
		if errors.Is(err, errs.ErrRateLimited) {
			return err
		}
		pv.Error = msg.T(lang, "decl.proof.wrong_code")
		return s.renderDeclProof(w, r, http.StatusBadRequest, pv)
	}
	res, err := s.Declarations.Prove(r.Context(), handle, person)
	if err != nil {
		return err
	}
	// The holder's name, as on the result of a proven submission: this
	// device has just shown it is theirs.
	pii, err := s.People.Personal(r.Context(), []int64{person})
	if err != nil {
		return err
	}
	return s.showDeclCard(w, r, res, pii[person].Name)
}

// showDeclCard answers a declaration: its QR when proven (remembered on the
// phone), else the proof step.
func (s *Server) showDeclCard(w http.ResponseWriter, r *http.Request, res declaration.Result, name string) error {
	w.Header().Set("Cache-Control", "no-store")
	if res.Token == "" {
		person, phone, err := s.storedPhone(r, res.Pending)
		if err != nil || person != res.PersonID {
			return fmt.Errorf("declaration %d: proof step: %w", res.ID, err)
		}
		return s.renderDeclProof(w, r, http.StatusAccepted, proofView{Pending: res.Pending, Phone: people.MaskPhone(phone), Flagged: res.Flagged})
	}
	http.SetCookie(w, &http.Cookie{Name: qrCookie, Value: res.Token, Path: "/", HttpOnly: true, Secure: s.Config.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: res.ExpiresAt})
	return s.renderDeclCard(w, r, http.StatusOK, cardView{Result: &res, Name: name, Token: res.Token, Expires: res.ExpiresAt})
}
