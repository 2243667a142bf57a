package declaration

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"anticovid/internal/errs"
)

// FuzzParseScan feeds arbitrary scanner text to ParseScan. Whatever it reads
// is refused with an *errs.Invalid (the scanner shows its message), or is a
// personal QR whose token is exactly the one this server signs for those
// claims, unexpired, or a chip ID card that parses again to itself from its
// own fields. A signed token of any claims scans back to them.
func FuzzParseScan(f *testing.F) {
	s := tokenService(f, 7)
	tok := s.Sign(Claims{PersonID: 42, DeclarationID: 7, Expires: now.Add(time.Hour), Proof: 1})
	for _, seed := range []string{tok, s.URL(tok), s.URL(tok) + "/", "\ufeff" + tok, tok[:30],
		"https://khaibao.longan.gov.vn/c/ABCDEF", "HS4010123456789",
		"079123456789|123456789|Nguyễn Văn An|01021990|Nam|12 Lê Lợi, Phường 1, Tân An, Long An|15062021",
		"079123456789|Trần Thị Bích|31121985|Nữ|Ấp 3, Thạnh Lợi|01012022",
		"079123456789||Lê Văn Tư|29022000|nam||01012022", "|||||", "a|b", ""} {
		f.Add(seed, int64(42), int64(7), int64(3600), 1)
	}
	f.Fuzz(func(t *testing.T, text string, person, decl, ttl int64, proof int) {
		sc, err := s.ParseScan(text)
		switch {
		case err != nil:
			var inv *errs.Invalid
			if !errors.As(err, &inv) || len(inv.Fields) == 0 {
				t.Fatalf("ParseScan(%q): untyped error %v", text, err)
			}
		case sc.Kind == ScanPersonal && sc.Personal != nil && sc.Card == nil:
			if !strings.Contains(text, s.Sign(*sc.Personal)) || !now.Before(sc.Personal.Expires) {
				t.Fatalf("ParseScan(%q) accepted %+v, not a token this server signed", text, sc.Personal)
			}
		case sc.Kind == ScanIDCard && sc.Card != nil && sc.Personal == nil:
			c := sc.Card
			if len(c.Number) != 12 || c.Sex != "male" && c.Sex != "female" || c.Birth.After(c.Issued) || c.Issued.After(now) {
				t.Fatalf("ParseScan(%q) accepted card %+v", text, c)
			}
			sex := map[string]string{"male": "Nam", "female": "Nữ"}[c.Sex]
			again, err := ParseIDCard(strings.Join([]string{c.Number, c.OldNumber, c.Name, c.Birth.Format("02012006"), sex, c.Address, c.Issued.Format("02012006")}, "|"), now)
			if err != nil || again != *c {
				t.Fatalf("card %+v does not round-trip: %+v, %v", c, again, err)
			}
		default:
			t.Fatalf("ParseScan(%q) = %+v", text, sc)
		}
		if person <= 0 || decl <= 0 || ttl <= 0 || ttl > 1<<32 || proof < 0 || proof > 2 {
			return
		}
		cl := Claims{PersonID: person, DeclarationID: decl, Expires: now.Add(time.Duration(ttl) * time.Second).Truncate(time.Second).UTC(), Proof: proof}
		for _, in := range []string{s.Sign(cl), s.URL(s.Sign(cl))} {
			sc, err := s.ParseScan(in)
			if err != nil || sc.Personal == nil || *sc.Personal != cl {
				t.Fatalf("ParseScan(%q) of %+v = %+v, %v", in, cl, sc.Personal, err)
			}
		}
	})
}

// TestTokenCanonical: base64 ignores the unused low bits of a token's last
// character, so other texts decode to the same bytes; each is refused, as a
// bare token and in a URL, for tokens of several lengths.
func TestTokenCanonical(t *testing.T) {
	s := tokenService(t, 7)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tried := 0
	for _, c := range []Claims{{PersonID: 1, DeclarationID: 1, Expires: now.Add(time.Hour)},
		{PersonID: 42, DeclarationID: 7, Expires: now.Add(time.Hour), Proof: 1},
		{PersonID: 1 << 40, DeclarationID: 1 << 50, Expires: now.Add(9000 * time.Hour), Proof: 2}} {
		tok := s.Sign(c)
		for _, r := range alphabet {
			alt := tok[:len(tok)-1] + string(r)
			if alt == tok {
				continue
			}
			if b, err := base64.RawURLEncoding.DecodeString(alt); err != nil || !bytes.Equal(b, mustDecode(t, tok)) {
				continue
			}
			tried++
			if _, err := s.Verify(alt); !errors.Is(err, ErrTokenInvalid) {
				t.Errorf("%q (for %q) verifies: %v", alt, tok, err)
			}
			if _, err := s.ParseScan(s.URL(alt)); err == nil {
				t.Errorf("%q (for %q) scans", s.URL(alt), tok)
			}
		}
	}
	if tried == 0 {
		t.Fatal("no token had unused bits")
	}
}

func mustDecode(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
