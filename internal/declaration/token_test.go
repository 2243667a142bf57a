package declaration

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/vault"
)

func tokenService(t testing.TB, keyByte byte) *Service {
	v, err := vault.New(bytes.Repeat([]byte{keyByte}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s := NewService(nil, nil, v, "https://khaibao.longan.gov.vn/")
	s.Now = func() time.Time { return now }
	return s
}

func TestTokenRoundTrip(t *testing.T) {
	s := tokenService(t, 7)
	for _, c := range []Claims{
		{PersonID: 1, DeclarationID: 1, Expires: now.Add(time.Second)},
		{PersonID: 50_000_000, DeclarationID: 630_000_000, Expires: now.Add(DefaultTTL)},
		{PersonID: 1 << 40, DeclarationID: 1 << 50, Expires: now.Add(10 * 365 * 24 * time.Hour)},
	} {
		tok := s.Sign(c)
		if len(tok) > 60 {
			t.Errorf("token %d characters: keep the QR small", len(tok))
		}
		got, err := s.Verify(tok)
		if err != nil || got != c {
			t.Errorf("verify %+v: %+v %v", c, got, err)
		}
	}
	if u := s.URL("abc"); u != "https://khaibao.longan.gov.vn/p/abc" {
		t.Errorf("URL %q", u)
	}
}

func TestTokenRefused(t *testing.T) {
	s := tokenService(t, 7)
	good := s.Sign(Claims{PersonID: 42, DeclarationID: 4242, Expires: now.Add(DefaultTTL)})
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	// Another deployment's key signs a token that looks right but is not ours.
	foreign := tokenService(t, 8).Sign(Claims{PersonID: 42, DeclarationID: 4242, Expires: now.Add(DefaultTTL)})
	// A token for someone else made by moving this token's tag onto other claims.
	other := s.Sign(Claims{PersonID: 43, DeclarationID: 4242, Expires: now.Add(DefaultTTL)})
	rawOther, _ := base64.RawURLEncoding.DecodeString(other)
	swapped := base64.RawURLEncoding.EncodeToString(append(rawOther[:len(rawOther)-tagLen:len(rawOther)-tagLen], raw[len(raw)-tagLen:]...))
	cases := []struct {
		name, tok string
		want      error
	}{
		{"person id altered", flip(1), ErrTokenInvalid},
		{"expiry altered", flip(len(raw) - tagLen - 1), ErrTokenInvalid},
		{"tag altered", flip(len(raw) - 1), ErrTokenInvalid},
		{"version altered", flip(0), ErrTokenInvalid},
		{"truncated", good[:len(good)-3], ErrTokenInvalid},
		{"extended", good + "AA", ErrTokenInvalid},
		{"foreign key", foreign, ErrTokenInvalid},
		{"tag moved to other claims", swapped, ErrTokenInvalid},
		{"not base64", strings.Repeat("!", 40), ErrTokenInvalid},
		{"empty", "", ErrTokenInvalid},
		{"expired", s.Sign(Claims{PersonID: 42, DeclarationID: 4242, Expires: now}), ErrTokenExpired},
		{"expired long ago", s.Sign(Claims{PersonID: 42, DeclarationID: 4242, Expires: now.Add(-DefaultTTL)}), ErrTokenExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Verify(c.tok)
			if !errors.Is(err, c.want) || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("verify: %+v %v, want %v", got, err, c.want)
			}
			if got != (Claims{}) {
				t.Errorf("refused token still returned claims %+v", got)
			}
			if msg := errs.FieldsOf(err)["token"]; !strings.Contains(msg, " / ") {
				t.Errorf("message %q", msg)
			}
		})
	}
	// The same token is good a second before it expires, refused at expiry.
	tok := s.Sign(Claims{PersonID: 1, DeclarationID: 2, Expires: now.Add(time.Minute)})
	s.Now = func() time.Time { return now.Add(time.Minute - time.Second) }
	if _, err := s.Verify(tok); err != nil {
		t.Errorf("before expiry: %v", err)
	}
	s.Now = func() time.Time { return now.Add(time.Minute) }
	if _, err := s.Verify(tok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("at expiry: %v", err)
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseScan(t *testing.T) {
	s := tokenService(t, 7)
	claims := Claims{PersonID: 12, DeclarationID: 345, Expires: now.Add(DefaultTTL)}
	tok := s.Sign(claims)
	expired := s.Sign(Claims{PersonID: 12, DeclarationID: 345, Expires: now.Add(-time.Hour)})
	an := IDCard{Number: "079085001234", Name: "Nguyễn Văn An", Birth: date(1985, 3, 15), Sex: "male",
		Address: "123 Hùng Vương, Phường 1, Tân An, Long An", Issued: date(2021, 7, 1)}
	anOld := an
	anOld.OldNumber = "301234567"
	binh := IDCard{Number: "080190004567", Name: "Trần Thị Bình", Birth: date(1990, 12, 1), Sex: "female",
		Address: "Ấp 3, Xã Lương Hòa, Huyện Bến Lức, Long An", Issued: date(2021, 4, 20)}
	cases := []struct {
		name, text string
		want       *Scan
		errHas     string // a fragment of the refusal
	}{
		{"personal URL", "https://khaibao.longan.gov.vn/p/" + tok, &Scan{Kind: ScanPersonal, Personal: &claims}, ""},
		{"personal URL of a test host, trailing slash", "http://127.0.0.1:8080/p/" + tok + "/", &Scan{Kind: ScanPersonal, Personal: &claims}, ""},
		{"bare token with spaces", "  " + tok + "\n", &Scan{Kind: ScanPersonal, Personal: &claims}, ""},
		{"CCCD, empty old number (7 fields)", "079085001234||Nguyễn Văn An|15031985|Nam|123 Hùng Vương, Phường 1, Tân An, Long An|01072021",
			&Scan{Kind: ScanIDCard, Card: &an}, ""},
		{"CCCD with old number", "079085001234|301234567|Nguyễn Văn An|15031985|Nam|123 Hùng Vương, Phường 1, Tân An, Long An|01072021",
			&Scan{Kind: ScanIDCard, Card: &anOld}, ""},
		{"CCCD without the old number field (6 fields)", "080190004567|Trần Thị Bình|01121990|Nữ|Ấp 3, Xã Lương Hòa, Huyện Bến Lức, Long An|20042021",
			&Scan{Kind: ScanIDCard, Card: &binh}, ""},
		{"CCCD, decomposed Nữ and a BOM", "\ufeff080190004567|Trần Thị Bình|01121990|Nu\u031b\u0303|Ấp 3, Xã Lương Hòa, Huyện Bến Lức, Long An|20042021\r\n",
			&Scan{Kind: ScanIDCard, Card: &binh}, ""},
		{"expired personal QR", "https://khaibao.longan.gov.vn/p/" + expired, nil, "hết hạn"},
		{"tampered personal QR", "https://khaibao.longan.gov.vn/p/" + tok[:10] + map[bool]string{true: "y", false: "x"}[tok[10] == 'x'] + tok[11:], nil, "không hợp lệ"},
		{"venue QR", "https://khaibao.longan.gov.vn/c/AFBWIOIBDRSD4H2LCBGZMKGYIV5WQ6T3MZ7SNLM5", nil, "mã QR của địa điểm"},
		{"health-insurance card", "DN4797923456789|4e677579e1bb856e2056c4836e20416e|15/03/1985|1|313233204875e1bb816e672056c6b0c6a16e67|80 - 123|01/01/2021|01/01/2021|-|-|4|-|$",
			nil, "bảo hiểm y tế"},
		{"random URL", "https://www.google.com/search?q=covid", nil, "Định dạng mã QR không được hỗ trợ"},
		{"random URL with /p/", "https://example.com/p/hello", nil, "không hợp lệ"},
		{"plain text", "Xin chào", nil, "Định dạng mã QR không được hỗ trợ"},
		{"EAN barcode digits", "8934567890123", nil, "Định dạng mã QR không được hỗ trợ"},
		{"empty", "   ", nil, "Mã QR trống"},
		{"CCCD short number", "07908500123||Nguyễn Văn An|15031985|Nam|Tân An|01072021", nil, "12 chữ số"},
		{"CCCD bad old number", "079085001234|3012|Nguyễn Văn An|15031985|Nam|Tân An|01072021", nil, "CMND cũ"},
		{"CCCD bad birth date", "079085001234||Nguyễn Văn An|31021985|Nam|Tân An|01072021", nil, "ngày sinh"},
		{"CCCD birth date in the future", "079085001234||Nguyễn Văn An|15032030|Nam|Tân An|01072021", nil, "ngày sinh"},
		{"CCCD issued before birth", "079085001234||Nguyễn Văn An|15031985|Nam|Tân An|01071980", nil, "ngày cấp"},
		{"CCCD unknown sex", "079085001234||Nguyễn Văn An|15031985|X|Tân An|01072021", nil, "giới tính"},
		{"CCCD empty name", "079085001234|||15031985|Nam|Tân An|01072021", nil, "họ tên"},
		{"too few fields", "079085001234|Nguyễn Văn An|15031985", nil, "Định dạng mã QR không được hỗ trợ"},
		{"too many fields", "079085001234||Nguyễn Văn An|15031985|Nam|Tân An|01072021|x|y", nil, "Định dạng mã QR không được hỗ trợ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ParseScan(c.text)
			if c.want != nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Kind != c.want.Kind || (c.want.Personal != nil) != (got.Personal != nil) || (c.want.Card != nil) != (got.Card != nil) {
					t.Fatalf("got %+v, want %+v", got, c.want)
				}
				if c.want.Personal != nil && *got.Personal != *c.want.Personal {
					t.Errorf("claims %+v, want %+v", *got.Personal, *c.want.Personal)
				}
				if c.want.Card != nil && *got.Card != *c.want.Card {
					t.Errorf("card %+v, want %+v", *got.Card, *c.want.Card)
				}
				return
			}
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %+v %v, want an invalid-input refusal", got, err)
			}
			msg := errs.FieldsOf(err)["scan"] + errs.FieldsOf(err)["token"]
			vi, en, ok := strings.Cut(msg, " / ")
			if !ok || vi == "" || en == "" {
				t.Errorf("message %q is not Vietnamese / English", msg)
			}
			if !strings.Contains(msg, c.errHas) {
				t.Errorf("message %q lacks %q", msg, c.errHas)
			}
		})
	}
	// The card holder maps onto the people registry with the year of birth.
	p := an.Person("27685")
	if p.Name != "Nguyễn Văn An" || p.IDNumber != "079085001234" || p.BirthYear != 1985 || p.Commune != "27685" {
		t.Errorf("person %+v", p)
	}
}

func BenchmarkVerify(b *testing.B) {
	s := tokenService(b, 7)
	tok := s.Sign(Claims{PersonID: 1_234_567, DeclarationID: 98_765_432, Expires: now.Add(DefaultTTL)})
	for b.Loop() {
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseScanIDCard(b *testing.B) {
	s := tokenService(b, 7)
	for b.Loop() {
		if _, err := s.ParseScan("079085001234||Nguyễn Văn An|15031985|Nam|123 Hùng Vương, Phường 1, Tân An, Long An|01072021"); err != nil {
			b.Fatal(err)
		}
	}
}
