package web

import (
	"database/sql"
	"net/http"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/otp"
	"anticovid/internal/people"
)

// routesPhoneProof registers the proof of a phone number on a device: a
// phone that checked in (it holds a person token) asks for a one-time code,
// which goes by SMS to the number stored for that person, never to one typed
// now; the right code earns the device a signed proof cookie, and its
// check-ins and declarations for that person count as proven from then on.
func (s *Server) routesPhoneProof() {
	s.api("POST", "/api/v1/proof/code", s.apiProofCode)
	s.api("POST", "/api/v1/proof", s.apiProof)
}

// proofRequest names the person by the token their device keeps.
type proofRequest struct {
	PersonToken string `json:"person_token"`
	Code        string `json:"code"`
}

// proofPhone returns the person a proof request is for and the phone stored
// for them: the only number a code may go to or be checked against.
func (s *Server) proofPhone(r *http.Request, in proofRequest) (int64, string, error) {
	id, ok := s.Checkins.PersonOf(in.PersonToken)
	if !ok {
		return 0, "", &errs.Invalid{Fields: map[string]string{"person_token": msg.Both("proof.unknown_person")}}
	}
	phones, err := s.People.Phones(r.Context(), []int64{id})
	if err != nil {
		return 0, "", err
	}
	if phones[id] == "" {
		return 0, "", &errs.Invalid{Fields: map[string]string{"person_token": msg.Both("proof.no_phone")}}
	}
	return id, phones[id], nil
}

// proofCodeAnswer is what asking for a code answers; Code only where codes
// are revealed (a demo, where no SMS reaches a real phone).
type proofCodeAnswer struct {
	Phone     string    `json:"phone"`
	ExpiresAt time.Time `json:"expires_at"`
	Code      string    `json:"code,omitempty"`
}

func (s *Server) apiProofCode(w http.ResponseWriter, r *http.Request) error {
	var in proofRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	_, phone, err := s.proofPhone(r, in)
	if err != nil {
		return err
	}
	sent, err := s.OTP.Issue(r.Context(), otp.Request{Purpose: otp.PhoneProof, Phone: phone, Client: clientIP(r), Send: true})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, proofCodeAnswer{Phone: people.MaskPhone(sent.Phone), ExpiresAt: sent.ExpiresAt, Code: sent.Code})
	return nil
}

func (s *Server) apiProof(w http.ResponseWriter, r *http.Request) error {
	var in proofRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	id, phone, err := s.proofPhone(r, in)
	if err != nil {
		return err
	}
	if err := s.proveDevice(w, r, id, phone, in.Code); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, provenAnswer{Proven: true, PersonToken: in.PersonToken})
	return nil
}

// proveDevice checks a phone-proof code sent to phone, the number stored
// for person, and on success gives this device the signed proof cookie.
// Both proof steps (the check-in page's API and the declaration form) end
// here.
func (s *Server) proveDevice(w http.ResponseWriter, r *http.Request, person int64, phone, code string) error {
	k, err := s.OTP.Verify(r.Context(), otp.PhoneProof, phone, code, clientIP(r))
	if err != nil {
		return err
	}
	if err := s.DB.Tx(r.Context(), func(tx *sql.Tx) error { return s.OTP.Redeem(r.Context(), tx, k) }); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: people.ProofCookie, Value: s.People.ProofToken(person, time.Now()), Path: "/", HttpOnly: true,
		Secure: s.Config.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(people.ProofTTL.Seconds())})
	return nil
}

// provenPerson is the person this device proved its phone for, 0 when it
// carries no valid proof cookie (none, forged, or expired).
func (s *Server) provenPerson(r *http.Request) int64 {
	c, err := r.Cookie(people.ProofCookie)
	if err != nil {
		return 0
	}
	id, _ := s.People.ProvenPerson(c.Value, time.Now())
	return id
}
