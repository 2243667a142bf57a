package people

import (
	"encoding/base64"
	"encoding/binary"
	"time"
)

// ProofCookie is the cookie a device keeps once its phone number is proved:
// check-ins and declarations it sends afterwards for that person are proven.
const ProofCookie = "anticovid_proof"

// ProofTTL is how long a device's proof lasts: a phone changes hands rarely,
// and proving again costs one SMS.
const ProofTTL = 400 * 24 * time.Hour

const proofTag = "phone-proof/v1"

// ProofToken returns the signed value of the proof cookie for a person whose
// phone number was proved at now (by a one-time code sent to the number the
// person record holds).
func (s *Service) ProofToken(personID int64, now time.Time) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(personID))
	b = binary.BigEndian.AppendUint64(b, uint64(now.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, s.Vault.Tag(proofTag, b)...))
}

// ProvenPerson returns the person a proof cookie's value was issued for,
// when its tag is right and it has not expired at now.
func (s *Service) ProvenPerson(tok string, now time.Time) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 32 || !s.Vault.CheckTag(proofTag, b[:16], b[16:]) {
		return 0, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[8:16])), 0)
	if now.Before(issued.Add(-time.Minute)) || now.After(issued.Add(ProofTTL)) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[:8])), true
}
