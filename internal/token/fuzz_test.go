package token

import (
	"errors"
	"testing"

	"anticovid/internal/errs"
)

// FuzzVerify feeds arbitrary text to Verify. Ed25519 signatures are
// deterministic, so a text is accepted only if it is exactly the token the
// keyring signs for the claims it names; anything else is refused with
// errs.ErrInvalid and one of the four reasons. A signed token of any venue
// and generation verifies to them, and one changed character is refused.
func FuzzVerify(f *testing.F) {
	kr, err := NewKeyring()
	if err != nil {
		f.Fatal(err)
	}
	good := kr.Sign(12345, 1)
	for _, s := range []string{good, good[:len(good)-1], good + "A", "", "AAAA", "https://x/c/" + good,
		"aaaa" + good[4:], good[:50] + "0" + good[51:], kr.Sign(1<<62, 1<<30), kr.Sign(-1, -1)} {
		f.Add(s, int64(12345), 1)
	}
	f.Fuzz(func(t *testing.T, tok string, venueID int64, gen int) {
		c, err := kr.Verify(tok)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalid) || (!errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) &&
				!errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrRetiredKey)) {
				t.Fatalf("Verify(%q): untyped error %v", tok, err)
			}
		} else if again := kr.Sign(c.VenueID, c.Gen); again != tok {
			t.Fatalf("Verify(%q) accepted %+v, whose token is %q", tok, c, again)
		}
		signed := kr.Sign(venueID, gen)
		c, err = kr.Verify(signed)
		if err != nil || c.VenueID != venueID || c.Gen != gen {
			t.Fatalf("Sign(%d, %d) = %q verifies to %+v, %v", venueID, gen, signed, c, err)
		}
		i := int(uint64(venueID) % uint64(len(signed)))
		for _, r := range []byte("A7Z2") {
			if signed[i] == r {
				continue
			}
			bad := signed[:i] + string(r) + signed[i+1:]
			if _, err := kr.Verify(bad); err == nil {
				t.Fatalf("%q (character %d of %q changed) verifies", bad, i, signed)
			}
		}
	})
}
