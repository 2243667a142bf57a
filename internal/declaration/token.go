package declaration

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/people"
)

// Claims are what a personal QR says: whose it is, which declaration it came
// from, until when it is good, and the declaration's proof grade (a staff
// scan counts as proof of the person only when the declaration was proven;
// QR codes of the first version, from before grades, carry 0).
type Claims struct {
	PersonID      int64     `json:"person_id"`
	DeclarationID int64     `json:"declaration_id"`
	Expires       time.Time `json:"expires_at"`
	Proof         int       `json:"proof"`
}

// Token errors; both also match errs.ErrInvalid (an *errs.Invalid is in the
// chain) so the web layer answers 400 with a message a person understands.
var (
	ErrTokenInvalid = errors.New("personal QR token is invalid")
	ErrTokenExpired = errors.New("personal QR token has expired")
)

// tokenPurpose separates these tags from every other vault.Tag use.
const tokenPurpose = "anticovid/personal-qr/v1"

// Token versions: 1 had no proof grade; 2 adds it as a fourth varint.
const (
	tokenVersion1 = 1
	tokenVersion  = 2
)

// tagLen is vault.Tag's length.
const tagLen = 16

// Sign makes the token of a personal QR: a version byte, the person id, the
// declaration id, the expiry (Unix seconds) and the proof grade as unsigned
// varints, then a
// 16-byte HMAC tag, in unpadded base64url. About 40 characters, so the QR
// stays small enough for a cheap camera; any server holding the data key
// verifies it without a database read.
func (s *Service) Sign(c Claims) string {
	msg := []byte{tokenVersion}
	msg = binary.AppendUvarint(msg, uint64(c.PersonID))
	msg = binary.AppendUvarint(msg, uint64(c.DeclarationID))
	msg = binary.AppendUvarint(msg, uint64(c.Expires.Unix()))
	msg = binary.AppendUvarint(msg, uint64(max(c.Proof, 0)))
	return base64.RawURLEncoding.EncodeToString(append(msg, s.Vault.Tag(tokenPurpose, msg)...))
}

// parseToken decodes a token's fields without checking its tag; ok is false
// when it is not shaped like one of ours at all.
func parseToken(tok string) (c Claims, msg, tag []byte, ok bool) {
	if len(tok) < 24 || len(tok) > 80 {
		return Claims{}, nil, nil, false
	}
	// Strict: base64 ignores the unused low bits of the last character, so
	// without it several texts decode to one token (found by FuzzParseScan);
	// only the canonical text is a token.
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) < 1+3+tagLen || (b[0] != tokenVersion && b[0] != tokenVersion1) {
		return Claims{}, nil, nil, false
	}
	msg, tag = b[:len(b)-tagLen], b[len(b)-tagLen:]
	rest := msg[1:]
	var v [4]uint64
	fields := v[:]
	if b[0] == tokenVersion1 {
		fields = v[:3]
	}
	for i := range fields {
		n := 0
		v[i], n = binary.Uvarint(rest)
		if n <= 0 || v[i] > 1<<62 {
			return Claims{}, nil, nil, false
		}
		rest = rest[n:]
	}
	if len(rest) != 0 || v[0] == 0 || v[1] == 0 || v[3] > 2 {
		return Claims{}, nil, nil, false
	}
	return Claims{PersonID: int64(v[0]), DeclarationID: int64(v[1]), Expires: time.Unix(int64(v[2]), 0).UTC(), Proof: int(v[3])}, msg, tag, true
}

func tokenError(reason error, text string) error {
	return fmt.Errorf("personal QR: %w: %w", reason, &errs.Invalid{Fields: map[string]string{"token": text}})
}

// Verify checks a personal QR token's signature and expiry, offline: no
// database is read, so a venue's scanner can check it at the door.
func (s *Service) Verify(tok string) (Claims, error) {
	c, body, tag, ok := parseToken(tok)
	if !ok || !s.Vault.CheckTag(tokenPurpose, body, tag) {
		return Claims{}, tokenError(ErrTokenInvalid, msg.Both("declaration.token.invalid"))
	}
	if !s.now().Before(c.Expires) {
		return Claims{}, tokenError(ErrTokenExpired, msg.Both("declaration.token.expired",
			c.Expires.In(hcm).Format("02/01/2006"), c.Expires.In(hcm).Format("2006-01-02")))
	}
	return c, nil
}

// Scan kinds.
const (
	ScanPersonal = "personal" // a personal QR from a declaration
	ScanIDCard   = "id_card"  // the QR on a chip ID card (CCCD)
)

// Scan is what a staff scanner read: exactly one of Personal and Card is set.
type Scan struct {
	Kind     string  `json:"kind"`
	Personal *Claims `json:"personal,omitempty"`
	Card     *IDCard `json:"id_card,omitempty"`
}

// IDCard is the content of a chip ID card's QR. Dates are calendar dates
// (midnight UTC).
type IDCard struct {
	Number    string    `json:"id_number"`
	OldNumber string    `json:"old_id_number,omitempty"` // the 9-digit CMND it replaced, when printed
	Name      string    `json:"name"`
	Birth     time.Time `json:"birth_date"`
	Sex       string    `json:"sex"` // "male" or "female", as in Sexes
	Address   string    `json:"address"`
	Issued    time.Time `json:"issued"`
}

var (
	digitsRE = regexp.MustCompile(`^[0-9]+$`)
	// Health-insurance card numbers: two letters (the beneficiary group), then 13 digits.
	insuranceRE = regexp.MustCompile(`^[A-Z]{2}[0-9]{13}$`)
	tokenRE     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// unsupported is the error for a QR this scanner does not read; reason says
// what it saw when it recognised it.
func unsupported(text string) error {
	return fmt.Errorf("scan: %w", &errs.Invalid{Fields: map[string]string{"scan": text}})
}

// ParseScan recognises what a venue's staff scanner read: a personal QR (its
// URL, or the bare token), verified and unexpired; or a chip ID card's QR,
// with or without the old ID number field. Anything else, such as a
// health-insurance card or a venue's own check-in QR, is an *errs.Invalid
// saying (in Vietnamese and English) that the format is not supported.
func (s *Service) ParseScan(text string) (Scan, error) {
	t := strings.TrimSpace(strings.TrimPrefix(text, "\ufeff"))
	switch {
	case t == "":
		return Scan{}, unsupported(msg.Both("declaration.scan.empty"))
	case strings.Contains(t, "|"):
		card, err := ParseIDCard(t, s.now())
		if err != nil {
			return Scan{}, err
		}
		return Scan{Kind: ScanIDCard, Card: &card}, nil
	case strings.HasPrefix(strings.ToLower(t), "http://") || strings.HasPrefix(strings.ToLower(t), "https://"):
		u, err := url.Parse(t)
		if err != nil {
			return Scan{}, unsupported(msg.Both("declaration.scan.unsupported"))
		}
		p := strings.TrimSuffix(u.EscapedPath(), "/")
		if tok, ok := strings.CutPrefix(p, "/p/"); ok && !strings.Contains(tok, "/") {
			return s.scanToken(tok)
		}
		if strings.HasPrefix(p, "/c/") {
			return Scan{}, unsupported(msg.Both("declaration.scan.venue"))
		}
		return Scan{}, unsupported(msg.Both("declaration.scan.unsupported"))
	case tokenRE.MatchString(t):
		if _, _, _, ok := parseToken(t); ok {
			return s.scanToken(t)
		}
	}
	return Scan{}, unsupported(msg.Both("declaration.scan.unsupported"))
}

func (s *Service) scanToken(tok string) (Scan, error) {
	c, err := s.Verify(tok)
	if err != nil {
		return Scan{}, fmt.Errorf("scan: %w", err)
	}
	return Scan{Kind: ScanPersonal, Personal: &c}, nil
}

// ParseIDCard reads a chip ID card's QR: ID number | old ID number | full
// name | date of birth ddMMyyyy | sex | address | date of issue ddMMyyyy.
// Some cards leave the old ID number field out (six fields): both are
// accepted. now bounds the dates.
func ParseIDCard(text string, now time.Time) (IDCard, error) {
	fields := strings.Split(strings.TrimSpace(text), "|")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	if len(fields) > 0 && insuranceRE.MatchString(fields[0]) {
		return IDCard{}, unsupported(msg.Both("declaration.scan.insurance"))
	}
	var c IDCard
	var birth, sex, issued string
	switch len(fields) {
	case 7:
		c.Number, c.OldNumber, c.Name, birth, sex, c.Address, issued = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]
	case 6:
		c.Number, c.Name, birth, sex, c.Address, issued = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	default:
		return IDCard{}, unsupported(msg.Both("declaration.scan.unsupported"))
	}
	bad := func(key string) (IDCard, error) {
		return IDCard{}, unsupported(msg.Both("declaration.idcard.bad", msg.T("vi", key), msg.T("en", key)))
	}
	if len(c.Number) != 12 || !digitsRE.MatchString(c.Number) {
		return bad("declaration.idcard.number")
	}
	if c.OldNumber != "" && (!digitsRE.MatchString(c.OldNumber) || (len(c.OldNumber) != 9 && len(c.OldNumber) != 12)) {
		return bad("declaration.idcard.old_number")
	}
	var ok bool
	if c.Name, ok = clean(c.Name); !ok || len([]rune(c.Name)) < 2 || len([]rune(c.Name)) > 100 {
		return bad("declaration.idcard.name")
	}
	if c.Address, ok = clean(c.Address); !ok || len([]rune(c.Address)) > 300 {
		return bad("declaration.idcard.address")
	}
	switch strings.ToLower(nfc(sex)) {
	case "nam":
		c.Sex = "male"
	case "nữ":
		c.Sex = "female"
	default:
		return bad("declaration.idcard.sex")
	}
	today := now.In(hcm)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	var err error
	if len(birth) != 8 || len(issued) != 8 {
		return bad("declaration.idcard.dates")
	}
	if c.Birth, err = time.Parse("02012006", birth); err != nil || c.Birth.Year() < 1900 || c.Birth.After(today) {
		return bad("declaration.idcard.birth")
	}
	if c.Issued, err = time.Parse("02012006", issued); err != nil || c.Issued.Before(c.Birth) || c.Issued.After(today) {
		return bad("declaration.idcard.issued")
	}
	return c, nil
}

// nfc returns s in NFC, so "Nữ" typed with combining marks matches.
func nfc(s string) string {
	c, _ := clean(s)
	return c
}

// Person is the card holder as the people registry takes them; the card's
// address is free text, so the commune of residence comes from the caller
// (the venue's commune, or what the person says).
func (c IDCard) Person(commune string) people.Person {
	return people.Person{Name: c.Name, IDNumber: c.Number, BirthYear: c.Birth.Year(), Commune: commune}
}
