package people

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"anticovid/internal/vault"
)

// A proof is only good for its person, with its tag, within its lifetime:
// altered, forged, replayed-after-expiry or future-dated values are refused.
func TestProofToken(t *testing.T) {
	v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
	other, _ := vault.New(bytes.Repeat([]byte{8}, 32))
	s, forger := &Service{Vault: v}, &Service{Vault: other}
	now := time.Date(2021, 8, 1, 8, 0, 0, 0, time.UTC)
	tok := s.ProofToken(42, now)
	if id, ok := s.ProvenPerson(tok, now.Add(time.Hour)); !ok || id != 42 {
		t.Fatalf("own proof refused: %d %v", id, ok)
	}
	b, _ := base64.RawURLEncoding.DecodeString(tok)
	for name, bad := range map[string]string{
		"other key":        forger.ProofToken(42, now),
		"expired":          "",
		"future":           s.ProofToken(42, now.Add(time.Hour)),
		"truncated":        tok[:len(tok)-2],
		"empty":            "",
		"not base64":       "!!!",
		"person id bumped": base64.RawURLEncoding.EncodeToString(append([]byte{0, 0, 0, 0, 0, 0, 0, 43}, b[8:]...)),
	} {
		at := now
		if name == "expired" {
			bad, at = tok, now.Add(ProofTTL+time.Second)
		}
		if id, ok := s.ProvenPerson(bad, at); ok {
			t.Errorf("%s: accepted as person %d", name, id)
		}
	}
}
