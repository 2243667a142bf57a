package exposure

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Code purposes. A code unlocks exactly one kind of action, so a code read
// out for an EN upload cannot be replayed to pull a Bluezone contact log.
const (
	PurposeBluezoneLog  = "bz_log"        // an F0's phone uploads its contact log
	PurposeBluezoneFeed = "bz_feed"       // an F0's phone publishes its daily keys
	PurposeEN           = "en"            // an F0's EN app exchanges it for a certificate
	PurposeENCert       = "en_cert"       // the certificate that authorises one TEK upload
	PurposeRegister     = "bz_register"   // confirms a phone number at registration
	PurposeUnregister   = "bz_unregister" // confirms a phone number to erase its registration
)

// TracerPurposes are the codes a health tracer issues for an F0.
var TracerPurposes = []string{PurposeBluezoneLog, PurposeBluezoneFeed, PurposeEN}

// Lifetimes. One hour is what EN verification servers use: long enough to read
// a code over the phone, short enough that a leaked one is soon worthless.
const (
	CodeTTL        = time.Hour
	CertificateTTL = 15 * time.Minute
	PhoneCodeTTL   = 10 * time.Minute
	// PhoneCodesPerHour bounds the SMS one phone number can be sent, so the
	// registration form cannot be used to flood someone.
	PhoneCodesPerHour = 5
	// maxFailures per client (address or phone) in failWindow before further
	// attempts are refused unchecked: 8-digit codes then take years to guess.
	maxFailures = 20
	failWindow  = 15 * time.Minute
)

// Codes issues and redeems one-time codes. Only keyed hashes are stored.
type Codes struct {
	DB    *sqldb.DB
	Vault *vault.Vault
	Now   func() time.Time

	mu    sync.Mutex
	fails map[string]*failCount
}

type failCount struct {
	n     int
	reset time.Time
}

// NewCodes returns a code service.
func NewCodes(db *sqldb.DB, v *vault.Vault) *Codes {
	return &Codes{DB: db, Vault: v, Now: time.Now, fails: map[string]*failCount{}}
}

// Code is a redeemable code as stored.
type Code struct {
	ID        int64
	Purpose   string
	PersonID  int64
	OnsetAt   time.Time // zero when the tracer gave none
	Commune   string
	ExpiresAt time.Time
}

// CanIssue reports whether p may issue tracer codes: those who trace (health
// tracers, province administrators, and the departments that trace).
func CanIssue(p *auth.Principal) bool {
	if p.Can(auth.HealthTracer, auth.ProvinceAdmin) {
		return true
	}
	return p.Can(auth.DepartmentOfficer) && (p.Department == "health" || p.Department == "police" || p.Department == "ict")
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

func (c *Codes) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Issue makes a code for an F0 (personID) for one purpose. The F0 must be
// within the issuer's jurisdiction. onset (optional) is the symptom onset or
// test date, from which EN keys get their transmission risk.
func (c *Codes) Issue(ctx context.Context, p *auth.Principal, purpose string, personID int64, onset time.Time) (string, time.Time, error) {
	const op = "issue code"
	if !CanIssue(p) {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	f := errs.Fields{}
	switch purpose {
	case PurposeBluezoneLog, PurposeBluezoneFeed, PurposeEN:
	default:
		f.Add("purpose", "Mục đích phải là bz_log, bz_feed hoặc en / purpose must be bz_log, bz_feed or en")
	}
	now := c.now()
	if !onset.IsZero() && (onset.After(now) || onset.Before(now.Add(-30*24*time.Hour))) {
		f.Add("onset", "Ngày khởi phát phải trong 30 ngày qua / onset must be within the last 30 days")
	}
	if err := f.Err(); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	var commune, district, province string
	err := c.DB.R.QueryRowContext(ctx, "SELECT commune_code, district_code, province_code FROM people WHERE id = $1", personID).
		Scan(&commune, &district, &province)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fmt.Errorf("%s: person %d: %w", op, personID, errs.ErrNotFound)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	if !p.InJurisdiction(commune) {
		return "", time.Time{}, fmt.Errorf("%s: person %d outside jurisdiction: %w", op, personID, errs.ErrForbidden)
	}
	var onsetAt any
	if !onset.IsZero() {
		onsetAt = onset.Unix()
	}
	exp := now.Add(CodeTTL)
	for range 5 {
		code := randomDigits(8)
		res, err := c.DB.W.ExecContext(ctx, `INSERT INTO bt_codes (purpose, code_hash, person_id, issued_by, onset_at,
			commune_code, district_code, province_code, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (code_hash) DO NOTHING`,
			purpose, c.hash(purpose, "", code), personID, p.UserID, onsetAt, commune, district, province, now.Unix(), exp.Unix())
		if err != nil {
			return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return code, exp, nil
		}
	}
	return "", time.Time{}, fmt.Errorf("%s: no free code after 5 tries", op)
}

func (c *Codes) hash(purpose, phone, code string) string {
	return c.Vault.Hash(purpose + ":" + phone + ":" + code)
}

// blocked reports whether key has used up its failures; fail counts one.
func (c *Codes) blocked(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.fails[key]
	return f != nil && f.n >= maxFailures && c.now().Before(f.reset)
}

func (c *Codes) fail(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fails == nil || len(c.fails) > 100_000 {
		c.fails = map[string]*failCount{}
	}
	now := c.now()
	f := c.fails[key]
	if f == nil || now.After(f.reset) {
		f = &failCount{reset: now.Add(failWindow)}
		c.fails[key] = f
	}
	f.n++
}

// codeError is the bad-code answer, one message per cause so the person
// holding the phone knows whether to ask for a new code.
func codeError(op, msg string) error {
	return fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"code": msg}})
}

// Check returns the valid, unused code for purpose, without using it: callers
// do their (possibly long) work, then Redeem in the transaction that stores the
// result, so a refused upload leaves the code usable and nothing stored.
// client identifies the caller (address) for the failure limit.
func (c *Codes) Check(ctx context.Context, purpose, code, client string) (Code, error) {
	return c.check(ctx, purpose, "", code, client)
}

func (c *Codes) check(ctx context.Context, purpose, phone, code, client string) (Code, error) {
	const op = "check code"
	code = strings.TrimSpace(code)
	if c.blocked("ip:"+client) || (phone != "" && c.blocked("phone:"+phone)) {
		return Code{}, fmt.Errorf("%s: %w", op, errs.ErrRateLimited)
	}
	if code == "" || len(code) > 64 {
		return Code{}, codeError(op, "Cần mã xác nhận / a code is required")
	}
	var k Code
	var person, onset, used sql.NullInt64
	var exp int64
	err := c.DB.R.QueryRowContext(ctx, `SELECT id, purpose, person_id, onset_at, commune_code, expires_at, used_at
		FROM bt_codes WHERE code_hash = $1`, c.hash(purpose, phone, code)).
		Scan(&k.ID, &k.Purpose, &person, &onset, &k.Commune, &exp, &used)
	if errors.Is(err, sql.ErrNoRows) {
		c.fail("ip:" + client)
		if phone != "" {
			c.fail("phone:" + phone)
		}
		return Code{}, codeError(op, "Mã không đúng / wrong code")
	}
	if err != nil {
		return Code{}, fmt.Errorf("%s: %w", op, err)
	}
	if used.Valid {
		return Code{}, codeError(op, "Mã đã được sử dụng / code already used")
	}
	k.ExpiresAt = time.Unix(exp, 0)
	if !c.now().Before(k.ExpiresAt) {
		return Code{}, codeError(op, "Mã đã hết hạn / code expired")
	}
	k.PersonID = person.Int64
	if onset.Valid {
		k.OnsetAt = time.Unix(onset.Int64, 0)
	}
	return k, nil
}

// Redeem marks a checked code used inside tx. It fails when another request
// used it in the meantime, so each code is used at most once even under races.
func (c *Codes) Redeem(ctx context.Context, tx *sql.Tx, k Code) error {
	res, err := tx.ExecContext(ctx, "UPDATE bt_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
		c.now().Unix(), k.ID)
	if err != nil {
		return fmt.Errorf("redeem code: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return codeError("redeem code", "Mã đã được sử dụng hoặc hết hạn / code already used or expired")
	}
	return nil
}

// IssuePhone stores a fresh code confirming phone (normalised) for purpose and
// returns it for sending; at most PhoneCodesPerHour per phone and purpose.
// client (the caller's address) may ask for codes for at most maxFailures
// different sends in failWindow, so one address cannot flood many numbers.
func (c *Codes) IssuePhone(ctx context.Context, purpose, phone, client string) (string, time.Time, error) {
	const op = "issue phone code"
	if c.blocked("send:" + client) {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, errs.ErrRateLimited)
	}
	c.fail("send:" + client)
	now := c.now()
	ph := c.Vault.Hash(phone)
	var n int
	if err := c.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM bt_codes WHERE phone_hash = $1 AND purpose = $2 AND created_at > $3",
		ph, purpose, now.Add(-time.Hour).Unix()).Scan(&n); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	if n >= PhoneCodesPerHour {
		return "", time.Time{}, fmt.Errorf("%s: %d codes in the last hour: %w", op, n, errs.ErrRateLimited)
	}
	exp := now.Add(PhoneCodeTTL)
	for range 5 {
		code := randomDigits(6)
		res, err := c.DB.W.ExecContext(ctx, `INSERT INTO bt_codes (purpose, code_hash, phone_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code_hash) DO NOTHING`,
			purpose, c.hash(purpose, phone, code), ph, now.Unix(), exp.Unix())
		if err != nil {
			return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return code, exp, nil
		}
	}
	return "", time.Time{}, fmt.Errorf("%s: no free code after 5 tries", op)
}

// CheckPhone is Check for a phone confirmation code.
func (c *Codes) CheckPhone(ctx context.Context, purpose, phone, code, client string) (Code, error) {
	return c.check(ctx, purpose, phone, code, client)
}
