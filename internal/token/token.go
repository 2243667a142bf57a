// Package token signs and verifies the venue tokens printed in check-in QR
// codes. A token names a venue, its QR generation and the signing key, so the
// server can refuse forged codes, reissued posters and codes of a withdrawn
// key without any database look-up on the check-in hot path.
//
// A token is RFC 4648 base32 (A–Z, 2–7, no padding) of
//
//	version(1) | key id(2) | uvarint venue id | uvarint generation | Ed25519 signature(64)
//
// Base32 rather than base64url because a QR code stores upper-case letters
// and digits in its alphanumeric mode at 5.5 bits a character instead of 8:
// the token then costs fewer modules than the shorter base64url string would,
// which for a typical URL is one QR version smaller (45 modules a side
// instead of 49), so each module prints larger on the poster. A token for
// venue 12345, generation 1, is 70 bytes, 112 characters.
package token

import (
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Claims is what a valid token says. The caller still compares Gen with the
// venue's current QR generation: the signature proves the token was issued,
// not that its poster is still the current one.
type Claims struct {
	VenueID int64
	Gen     int
	KeyID   string
}

const (
	version = 1
	kidLen  = 2
	// headerLen is the version byte and the key id.
	headerLen = 1 + kidLen
	// minRaw and maxRaw bound a token's decoded size: one- to ten-byte varints.
	minRaw = headerLen + 1 + 1 + ed25519.SignatureSize
	maxRaw = headerLen + binary.MaxVarintLen64*2 + ed25519.SignatureSize
)

// sigContext separates these signatures from anything else a key might ever
// sign, so a venue token can never be replayed as some other signed object.
const sigContext = "anticovid/venue-token/v1\x00"

// enc is the token alphabet; see the package comment for why base32.
var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Refusal reasons. Each error Verify returns wraps one of these together with
// an *errs.Invalid, so errors.Is(err, errs.ErrInvalid) holds (the web layer
// answers 400) and errs.FieldsOf(err)["token"] is a message fit for the person
// who scanned the code.
var (
	// ErrMalformed: not a token of this format at all (truncated, altered
	// characters, wrong alphabet or version).
	ErrMalformed = errors.New("token: malformed")
	// ErrUnknownKey: signed with a key this keyring never had, e.g. another
	// deployment's, or one whose key file was deleted.
	ErrUnknownKey = errors.New("token: unknown signing key")
	// ErrRetiredKey: the key was withdrawn; every poster it signed must be
	// reissued.
	ErrRetiredKey = errors.New("token: signing key retired")
	// ErrBadSignature: well formed and of a known key, but forged or altered.
	ErrBadSignature = errors.New("token: bad signature")
)

var (
	msgInvalid = msg.Both("token.invalid_qr_code_or")
	msgRetired = msg.Both("token.qr_code_was_withdrawn")
)

func refuse(reason error, text string) error {
	return fmt.Errorf("%w: %w", reason, &errs.Invalid{Fields: map[string]string{"token": text}})
}

// kidString is how a key id appears in Claims, key file names and logs.
func kidString(b []byte) string { return hex.EncodeToString(b) }

// payload builds the signed part of a token.
func payload(kid [kidLen]byte, venueID int64, gen int) []byte {
	b := make([]byte, 0, maxRaw)
	b = append(b, version)
	b = append(b, kid[:]...)
	// The casts round-trip every int64: common small ids stay short, and a
	// negative one (which no venue has) still decodes to itself.
	b = binary.AppendUvarint(b, uint64(venueID))
	b = binary.AppendUvarint(b, uint64(int64(gen)))
	return b
}

func signedMessage(p []byte) []byte {
	m := make([]byte, 0, len(sigContext)+len(p))
	return append(append(m, sigContext...), p...)
}

// parsed is a decoded token before its signature is checked.
type parsed struct {
	kid     [kidLen]byte
	claims  Claims
	payload []byte
	sig     []byte
}

// parse decodes a token without checking its signature.
func parse(tok string) (parsed, error) {
	var p parsed
	if len(tok) < enc.EncodedLen(minRaw) || len(tok) > enc.EncodedLen(maxRaw) {
		return p, refuse(ErrMalformed, msgInvalid)
	}
	raw, err := enc.DecodeString(tok)
	// Base32 ignores the unused low bits of the last character, so two
	// strings can decode to the same bytes; only the canonical one is a token,
	// so that any changed character is refused and the cache has one key per
	// token.
	if err != nil || len(raw) < minRaw || enc.EncodeToString(raw) != tok {
		return p, refuse(ErrMalformed, msgInvalid)
	}
	if raw[0] != version {
		return p, refuse(ErrMalformed, msgInvalid)
	}
	copy(p.kid[:], raw[1:headerLen])
	n := len(raw) - ed25519.SignatureSize
	p.payload, p.sig = raw[:n], raw[n:]
	rest := p.payload[headerLen:]
	venue, k := binary.Uvarint(rest)
	if k <= 0 {
		return p, refuse(ErrMalformed, msgInvalid)
	}
	rest = rest[k:]
	gen, k := binary.Uvarint(rest)
	if k <= 0 || k != len(rest) || int64(int(int64(gen))) != int64(gen) {
		return p, refuse(ErrMalformed, msgInvalid)
	}
	p.claims = Claims{VenueID: int64(venue), Gen: int(int64(gen)), KeyID: kidString(p.kid[:])}
	return p, nil
}
