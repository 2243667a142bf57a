// Package otp is the one service for one-time codes, whatever they confirm:
// a phone number (venue registration, Bluezone device registration) or an
// F0 sent by a health tracer (Bluezone uploads, Exposure Notification). It
// issues a code, sends it by SMS through the notification outbox or hands it
// back to be shown, checks it against attempt limits, expiry and per-client
// blocking, and uses it once: in the caller's transaction when the work the
// code unlocks must commit together with it. Codes are kept only as keyed
// hashes, in one table.
//
// Each purpose has a policy: the rules its use has always had (length,
// lifetime, guesses, resend gap, codes per hour, how the refusal reads). A
// code issued for one purpose never confirms another.
package otp

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Purposes a code can confirm, one per use. A new use (sign-in, phone proof)
// adds its constant here and its line in policies.
const (
	RegisterVenue      = "venue_register" // a venue owner's phone, on the registration page
	PhoneProof         = "phone_proof"    // a resident's phone proves its number once per device
	BluezoneRegister   = "bz_register"    // a phone number at Bluezone registration
	BluezoneUnregister = "bz_unregister"  // a phone number whose registration is to be erased
	BluezoneLog        = "bz_log"         // an F0's phone uploads its contact log
	BluezoneFeed       = "bz_feed"        // an F0's phone publishes its daily keys
	EN                 = "en"             // an F0's EN app exchanges it for a certificate
	ENCertificate      = "en_cert"        // the certificate that authorises one key upload
)

// Limits of phone codes.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultMaxAttempts = 5
	DefaultResendGap   = 60 * time.Second
	DefaultPerHour     = 5
)

// HandedDigits is the length of a handed code (EN, Bluezone uploads). A
// handed code is found by its value alone, so one wrong guess cannot be
// charged to one code: the odds are bounded by the global failure budget
// instead (limit.go). With ten digits, at most 50 live codes and the budget
// of HandedFailuresPerMinute wrong guesses a minute per server, an attacker
// with any number of addresses finds one live code with probability about
// 3·10⁻⁶ an hour (README, "One-time codes").
const HandedDigits = 10

// Lifetimes of handed codes. One hour is what EN verification servers use:
// long enough to read a code over the phone, short enough that a leaked one
// is soon worthless.
const (
	HandedTTL      = time.Hour
	CertificateTTL = 15 * time.Minute
)

// policy is what one purpose's codes look like and which limits they have.
// A code with an SMS text is a phone code: sent to one number, checked
// against that number's newest code, with an attempt budget. Other codes are
// handed over (shown to a tracer, returned to an app) and found by their
// value alone; only the per-client blocking guards them.
type policy struct {
	digits      int           // the code's length in digits; 0: a random token
	oldDigits   int           // a shorter length codes issued before had (they live out their TTL)
	token       string        // the prefix of a token
	ttl         time.Duration // how long a code works
	maxAttempts int           // guesses a phone code survives (wrong ones; the right one gives its attempt back)
	resendGap   time.Duration // least time between two codes to one phone
	perHour     int           // codes one phone may receive in an hour
	terse       bool          // refusals name the cause only, as the phone apps' API always answered
	sms         func(code string, ttl time.Duration) string
}

func (p policy) phone() bool { return p.sms != nil }

var policies = map[string]policy{
	RegisterVenue: {digits: 6, ttl: DefaultTTL, maxAttempts: DefaultMaxAttempts, resendGap: DefaultResendGap, perHour: DefaultPerHour,
		sms: func(code string, ttl time.Duration) string { return msg.T("vi", "otp.sms.venue", code, minutes(ttl)) }},
	PhoneProof: {digits: 6, ttl: DefaultTTL, maxAttempts: DefaultMaxAttempts, resendGap: DefaultResendGap, perHour: DefaultPerHour,
		sms: func(code string, ttl time.Duration) string { return msg.T("vi", "otp.sms.proof", code, minutes(ttl)) }},
	BluezoneRegister:   {digits: 6, ttl: DefaultTTL, maxAttempts: DefaultMaxAttempts, perHour: DefaultPerHour, terse: true, sms: bluezoneSMS("otp.bluezone.register")},
	BluezoneUnregister: {digits: 6, ttl: DefaultTTL, maxAttempts: DefaultMaxAttempts, perHour: DefaultPerHour, terse: true, sms: bluezoneSMS("otp.bluezone.unregister")},
	BluezoneLog:        {digits: HandedDigits, oldDigits: 8, ttl: HandedTTL, terse: true},
	BluezoneFeed:       {digits: HandedDigits, oldDigits: 8, ttl: HandedTTL, terse: true},
	EN:                 {digits: HandedDigits, oldDigits: 8, ttl: HandedTTL, terse: true},
	ENCertificate:      {token: "enc_", ttl: CertificateTTL, terse: true},
}

// bluezoneSMS is the Bluezone app's SMS: its full text in Vietnamese without
// diacritics, naming the action, then a short English one.
func bluezoneSMS(action string) func(string, time.Duration) string {
	return func(code string, ttl time.Duration) string {
		return mixed("otp.sms.bluezone", []any{msg.Both(action), code, minutes(ttl)}, "otp.sms.bluezone_short", code, minutes(ttl))
	}
}

func minutes(d time.Duration) int { return int(d.Minutes()) }

// mixed joins the Vietnamese of one catalog text and the English of another,
// for the few texts whose two languages never said the same thing.
func mixed(viKey string, viArgs []any, enKey string, enArgs ...any) string {
	return msg.T("vi", viKey, viArgs...) + " / " + msg.T("en", enKey, enArgs...)
}

func (p policy) newCode() string {
	if p.digits == 0 {
		b := make([]byte, 32)
		rand.Read(b)
		return p.token + base64.RawURLEncoding.EncodeToString(b)
	}
	var b strings.Builder
	for range p.digits {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// Reasons a code is refused or not issued. Each refusal is also an
// *errs.Invalid carrying a message for the person on the field "code";
// ErrTooSoon is also errs.ErrRateLimited.
var (
	ErrNoCode          = errors.New("otp: no code was sent to this phone")
	ErrWrong           = errors.New("otp: wrong code")
	ErrExpired         = errors.New("otp: code expired")
	ErrUsed            = errors.New("otp: code already used")
	ErrTooManyAttempts = errors.New("otp: too many wrong attempts")
	ErrTooSoon         = errors.New("otp: codes requested too often")
)

// Service issues, checks and uses one-time codes.
type Service struct {
	DB     *sqldb.DB
	Vault  *vault.Vault
	Outbox *notify.Outbox // carries codes sent by SMS
	Now    func() time.Time
	// Reveal hands back codes sent by SMS too, for the page that asks for
	// them to show: only in a demo or development deployment, where no SMS
	// reaches a real phone.
	Reveal bool

	mu      sync.Mutex
	fails   map[string]*failCount // per client and phone: see blocked
	budgets map[string]*failCount // per purpose: see overBudget
}

// New returns a Service; outbox may be nil when no code is sent by SMS.
func New(db *sqldb.DB, v *vault.Vault, outbox *notify.Outbox) *Service {
	return &Service{DB: db, Vault: v, Outbox: outbox, Now: time.Now}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// hash binds the code to its purpose and phone ("" for handed codes) under
// the vault's key: a stolen table reveals nothing, and codes cannot be
// brute-forced offline without the key.
func (s *Service) hash(purpose, phone, code string) string {
	return s.Vault.Hash(purpose + ":" + phone + ":" + code)
}

// Subject is whom a handed code is for, kept with the code so the work it
// unlocks knows the person without asking the issuer again.
type Subject struct {
	PersonID int64
	IssuedBy int64     // the user who issued it
	OnsetAt  time.Time // symptom onset or test date (EN transmission risk); zero when none was given
	Commune  string
	District string
	Province string
}

// Request asks for a code.
type Request struct {
	Purpose string
	Phone   string // a phone code's number: where it is sent and what it is checked against
	// Client (an address) may ask for at most maxFailures codes in
	// failWindow, so it cannot flood many numbers; "" when the caller limits
	// its clients itself.
	Client string
	Send   bool // queue the code by SMS to Phone instead of returning it
	Subject
}

// Issued describes a code made.
type Issued struct {
	Code      string // empty when it went by SMS: only the phone's holder sees it
	Phone     string // the normalised number, for phone codes
	ExpiresAt time.Time
}

// Send makes a new code for phone and queues it as an SMS. The newest code
// is the only one that works: sending again retires the previous one.
func (s *Service) Send(ctx context.Context, purpose, phone string) (Issued, error) {
	return s.Issue(ctx, Request{Purpose: purpose, Phone: phone, Send: true})
}

// Issue makes a code for r, within the limits of its purpose, and sends it
// when r.Send.
func (s *Service) Issue(ctx context.Context, r Request) (Issued, error) {
	op := "issue code"
	if r.Send {
		op = "send code"
	}
	p, err := s.prepare(&r)
	if err != nil {
		return Issued{}, fmt.Errorf("%s: %w", op, err)
	}
	var out Issued
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.issue(ctx, tx, p, r)
		return err
	})
	if err != nil {
		return Issued{}, fmt.Errorf("%s: %w", op, err)
	}
	if r.Send {
		if s.Outbox == nil {
			return Issued{}, fmt.Errorf("%s: no outbox to send it", op)
		}
		nonce := make([]byte, 8)
		rand.Read(nonce)
		if _, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindOTP, To: out.Phone, Body: p.sms(out.Code, p.ttl),
			DedupKey: "otp:" + r.Purpose + ":" + hex.EncodeToString(nonce)}); err != nil {
			return Issued{}, fmt.Errorf("%s: %w", op, err)
		}
		if !s.Reveal {
			out.Code = ""
		}
	}
	return out, nil
}

// IssueTx is Issue inside tx, for a code that must exist only if the
// caller's work commits (a certificate given for a used code). It cannot
// send: the SMS would leave before the commit.
func (s *Service) IssueTx(ctx context.Context, tx *sql.Tx, r Request) (Issued, error) {
	const op = "issue code"
	if r.Send {
		return Issued{}, fmt.Errorf("%s: an SMS cannot be sent inside a transaction", op)
	}
	p, err := s.prepare(&r)
	if err != nil {
		return Issued{}, fmt.Errorf("%s: %w", op, err)
	}
	out, err := s.issue(ctx, tx, p, r)
	if err != nil {
		return Issued{}, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// prepare checks r against its purpose, normalises its phone and applies the
// per-client limit.
func (s *Service) prepare(r *Request) (policy, error) {
	p, ok := policies[r.Purpose]
	switch {
	case !ok:
		return p, fmt.Errorf("purpose %q: %w", r.Purpose, errs.ErrInvalid)
	case p.phone() != (r.Phone != ""):
		return p, fmt.Errorf("purpose %q with phone %t: %w", r.Purpose, r.Phone != "", errs.ErrInvalid)
	case r.Send && !p.phone():
		return p, fmt.Errorf("purpose %q is not sent by SMS: %w", r.Purpose, errs.ErrInvalid)
	}
	if p.phone() {
		ph, err := people.NormalizePhone(r.Phone)
		if err != nil {
			return p, &errs.Invalid{Fields: map[string]string{"phone": msg.Both("otp.phone")}}
		}
		r.Phone = ph
	}
	if r.Client != "" {
		if s.blocked("send:" + r.Client) {
			return p, errs.ErrRateLimited
		}
		s.sent(r.Client)
	}
	return p, nil
}

// issue stores a fresh code in tx after the phone's limits.
func (s *Service) issue(ctx context.Context, tx *sql.Tx, p policy, r Request) (Issued, error) {
	now := s.now()
	var phoneHash string
	if p.phone() {
		phoneHash = s.Vault.Hash(r.Phone)
		var count int
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT count(*), max(created_at) FROM otp_codes
			WHERE phone_hash = $1 AND purpose = $2 AND created_at > $3`, phoneHash, r.Purpose, now.Add(-time.Hour).Unix()).Scan(&count, &last); err != nil {
			return Issued{}, err
		}
		if gap := int64(p.resendGap.Seconds()); last.Valid && now.Unix()-last.Int64 < gap {
			return Issued{}, fmt.Errorf("%w: %w (wait %ds)", ErrTooSoon, errs.ErrRateLimited, gap-(now.Unix()-last.Int64))
		}
		if count >= p.perHour {
			return Issued{}, fmt.Errorf("%w: %w (%d codes in the last hour)", ErrTooSoon, errs.ErrRateLimited, count)
		}
	}
	var person, onset any
	if r.PersonID != 0 {
		person = r.PersonID
	}
	if !r.OnsetAt.IsZero() {
		onset = r.OnsetAt.Unix()
	}
	exp := now.Add(p.ttl)
	// A code's hash is unique, so a handed code is found by its value alone;
	// a clash with a live code is drawn again.
	for range 5 {
		code := p.newCode()
		res, err := tx.ExecContext(ctx, `INSERT INTO otp_codes (purpose, code_hash, phone_hash, person_id, issued_by, onset_at,
			commune_code, district_code, province_code, attempts, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11) ON CONFLICT (code_hash) DO NOTHING`,
			r.Purpose, s.hash(r.Purpose, r.Phone, code), phoneHash, person, r.IssuedBy, onset,
			r.Commune, r.District, r.Province, now.Unix(), exp.Unix())
		if err != nil {
			return Issued{}, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return Issued{Code: code, Phone: r.Phone, ExpiresAt: exp}, nil
		}
	}
	return Issued{}, errors.New("no free code after 5 tries")
}
