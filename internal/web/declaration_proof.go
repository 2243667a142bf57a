package web

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

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

// provenDevice is the person this device's proof cookie names (0 without a
// valid one).
func (s *Server) provenDevice(r *http.Request) int64 {
	c, err := r.Cookie(people.ProofCookie)
	if err != nil || s.People == nil {
		return 0
	}
	id, ok := s.People.ProvenPerson(c.Value, time.Now())
	if !ok {
		return 0
	}
	return id
}

// maskPhone shows the last three digits: enough for the person to know
// which number, too little to learn someone's number from their handle.
func maskPhone(p string) string {
	if len(p) <= 3 {
		return p
	}
	return strings.Repeat("•", len(p)-3) + p[len(p)-3:]
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
	pv := proofView{Pending: handle, Phone: maskPhone(phone)}
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
	k, err := s.OTP.Verify(r.Context(), otp.PhoneProof, phone, r.PostFormValue("code"), clientIP(r))
	if err == nil {
		err = s.DB.Tx(r.Context(), func(tx *sql.Tx) error { return s.OTP.Redeem(r.Context(), tx, k) })
	}
	if err != nil {
		if errors.Is(err, errs.ErrRateLimited) {
			return err
		}
		pv.Error = msg.T(lang, "decl.proof.wrong_code")
		return s.renderDeclProof(w, r, http.StatusBadRequest, pv)
	}
	now := time.Now()
	http.SetCookie(w, &http.Cookie{Name: people.ProofCookie, Value: s.People.ProofToken(person, now), Path: "/", HttpOnly: true,
		Secure: s.Config.SecureCookies, SameSite: http.SameSiteLaxMode, Expires: now.Add(people.ProofTTL)})
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
		return s.renderDeclProof(w, r, http.StatusAccepted, proofView{Pending: res.Pending, Phone: maskPhone(phone), Flagged: res.Flagged})
	}
	http.SetCookie(w, &http.Cookie{Name: qrCookie, Value: res.Token, Path: "/", HttpOnly: true, Secure: s.Config.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: res.ExpiresAt})
	return s.renderDeclCard(w, r, http.StatusOK, cardView{Result: &res, Name: name, Token: res.Token, Expires: res.ExpiresAt})
}
