package exposure

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/otp"
	"anticovid/internal/people"
)

// Code purposes (see internal/otp). A code unlocks exactly one kind of
// action, so a code read out for an EN upload cannot be replayed to pull a
// Bluezone contact log.
const (
	PurposeBluezoneLog  = otp.BluezoneLog
	PurposeBluezoneFeed = otp.BluezoneFeed
	PurposeEN           = otp.EN
	PurposeENCert       = otp.ENCertificate
	PurposeRegister     = otp.BluezoneRegister
	PurposeUnregister   = otp.BluezoneUnregister
)

// TracerPurposes are the codes a health tracer issues for an F0.
var TracerPurposes = []string{PurposeBluezoneLog, PurposeBluezoneFeed, PurposeEN}

// Lifetimes of a tracer's code and of the certificate an EN code buys.
const (
	CodeTTL        = otp.HandedTTL
	CertificateTTL = otp.CertificateTTL
)

// Codes is the one-time code service (internal/otp) with the tracer's way of
// issuing codes for an F0.
type Codes struct {
	*otp.Service
	People *people.Service // where the F0 lives: the code is theirs, the jurisdiction check too
}

// NewCodes returns a code service. Codes sent by SMS need its Outbox set
// (bluezone.NewService does).
func NewCodes(codes *otp.Service, ppl *people.Service) *Codes {
	return &Codes{Service: codes, People: ppl}
}

// CanIssue reports whether p may issue tracer codes: those who trace (health
// tracers, province administrators, and the departments that trace).
func CanIssue(p *auth.Principal) bool {
	if p.Can(auth.HealthTracer, auth.ProvinceAdmin) {
		return true
	}
	return p.Can(auth.DepartmentOfficer) && (p.Department == "health" || p.Department == "police" || p.Department == "ict")
}

// Issue makes a code for an F0 (personID) for one purpose, to be shown to
// the tracer. The F0 must be within the issuer's jurisdiction. onset
// (optional) is the symptom onset or test date, from which EN keys get their
// transmission risk.
func (c *Codes) Issue(ctx context.Context, p *auth.Principal, purpose string, personID int64, onset time.Time) (string, time.Time, error) {
	const op = "issue code"
	if !CanIssue(p) {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	f := errs.Fields{}
	switch purpose {
	case PurposeBluezoneLog, PurposeBluezoneFeed, PurposeEN:
	default:
		f.Add("purpose", msg.Both("otp.tracer_purpose"))
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	if !onset.IsZero() && (onset.After(now) || onset.Before(now.Add(-30*24*time.Hour))) {
		f.Add("onset", msg.Both("otp.onset"))
	}
	if err := f.Err(); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	to := otp.Subject{PersonID: personID, IssuedBy: p.UserID, OnsetAt: onset}
	places, err := c.People.Places(ctx, []int64{personID})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	pl, ok := places[personID]
	if !ok {
		return "", time.Time{}, fmt.Errorf("%s: person %d: %w", op, personID, errs.ErrNotFound)
	}
	to.Commune, to.District, to.Province = pl.Commune, pl.District, pl.Province
	if !p.InJurisdiction(to.Commune) {
		return "", time.Time{}, fmt.Errorf("%s: person %d outside jurisdiction: %w", op, personID, errs.ErrForbidden)
	}
	k, err := c.Service.Issue(ctx, otp.Request{Purpose: purpose, Subject: to})
	if err != nil {
		return "", time.Time{}, err
	}
	return k.Code, k.ExpiresAt, nil
}
