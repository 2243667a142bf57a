// Package otp confirms that a person holds a phone number: it sends a
// six-digit one-time code by SMS through the notification outbox and checks
// it once. Codes are kept only as a keyed hash, expire after ten minutes,
// allow five guesses, work once, and a phone gets a limited number of them
// per hour, so neither guessing nor SMS flooding pays.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Purposes a code can confirm. A code sent for one purpose never confirms
// another.
const (
	RegisterVenue = "venue_register"
)

// Defaults of a Service made by New.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultMaxAttempts = 5
	DefaultResendGap   = 60 * time.Second
	DefaultPerHour     = 5
)

// Reasons a code is refused or not sent. Each is also an *errs.Invalid (or,
// for ErrTooSoon, errs.ErrRateLimited) carrying a message for the person.
var (
	ErrNoCode          = errors.New("otp: no code was sent to this phone")
	ErrWrong           = errors.New("otp: wrong code")
	ErrExpired         = errors.New("otp: code expired")
	ErrUsed            = errors.New("otp: code already used")
	ErrTooManyAttempts = errors.New("otp: too many wrong attempts")
	ErrTooSoon         = errors.New("otp: codes requested too often")
)

// Service sends and checks one-time codes.
type Service struct {
	DB     *sqldb.DB
	Vault  *vault.Vault
	Outbox *notify.Outbox
	Now    func() time.Time

	TTL         time.Duration // how long a code works
	MaxAttempts int           // guesses allowed per code, the right one included
	ResendGap   time.Duration // least time between two codes to one phone
	PerHour     int           // codes one phone may receive in an hour
}

// New returns a Service with the default limits.
func New(db *sqldb.DB, v *vault.Vault, outbox *notify.Outbox) *Service {
	return &Service{DB: db, Vault: v, Outbox: outbox, Now: time.Now,
		TTL: DefaultTTL, MaxAttempts: DefaultMaxAttempts, ResendGap: DefaultResendGap, PerHour: DefaultPerHour}
}

// field is the form field every message of this package is attached to.
const field = "code"

func invalid(sentinel error, msg string) error {
	return fmt.Errorf("%w: %w", sentinel, &errs.Invalid{Fields: map[string]string{field: msg}})
}

// hash binds the code to its phone and purpose under the vault's key: a
// stolen table reveals nothing, and six digits cannot be brute-forced offline
// without the key.
func (s *Service) hash(purpose, phone, code string) string {
	return hex.EncodeToString(s.Vault.Tag("otp/v1", []byte(purpose+"\x00"+phone+"\x00"+code)))
}

// Sent describes a code that was queued.
type Sent struct {
	Phone     string    // the normalised number it went to
	ExpiresAt time.Time // when it stops working
}

// Send makes a new code for phone and queues it as an SMS. The newest code
// is the only one that works: sending again retires the previous one.
func (s *Service) Send(ctx context.Context, purpose, phone string) (Sent, error) {
	ph, err := people.NormalizePhone(phone)
	if err != nil {
		return Sent{}, fmt.Errorf("send code: %w", &errs.Invalid{Fields: map[string]string{
			"phone": "Số điện thoại không hợp lệ (10 chữ số, bắt đầu bằng 0) / Invalid phone number (10 digits starting with 0)"}})
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return Sent{}, fmt.Errorf("send code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	now := s.Now().UTC()
	expires := now.Add(s.TTL)
	phoneHash := s.Vault.Hash(ph)
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var count int
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT count(*), max(created_at) FROM otp_codes
			WHERE phone_hash = $1 AND purpose = $2 AND created_at > $3`, phoneHash, purpose, now.Add(-time.Hour).Unix()).Scan(&count, &last); err != nil {
			return err
		}
		if last.Valid && now.Unix()-last.Int64 < int64(s.ResendGap.Seconds()) {
			wait := int64(s.ResendGap.Seconds()) - (now.Unix() - last.Int64)
			return fmt.Errorf("%w: %w (wait %ds)", ErrTooSoon, errs.ErrRateLimited, wait)
		}
		if count >= s.PerHour {
			return fmt.Errorf("%w: %w (%d codes in the last hour)", ErrTooSoon, errs.ErrRateLimited, count)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO otp_codes (purpose, phone_hash, code_hash, attempts, used, created_at, expires_at)
			VALUES ($1, $2, $3, 0, 0, $4, $5) RETURNING id`, purpose, phoneHash, s.hash(purpose, ph, code), now.Unix(), expires.Unix()).Scan(&id)
	})
	if err != nil {
		return Sent{}, fmt.Errorf("send code: %w", err)
	}
	body := fmt.Sprintf("Mã xác nhận anticovid của bạn: %s. Mã có hiệu lực %d phút. Không cung cấp mã này cho bất kỳ ai.", code, int(s.TTL.Minutes()))
	if _, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, To: ph, Body: body, DedupKey: fmt.Sprintf("otp:%d", id)}); err != nil {
		return Sent{}, fmt.Errorf("send code: %w", err)
	}
	return Sent{Phone: ph, ExpiresAt: expires}, nil
}

// Check confirms that code is the newest one sent to phone for purpose and
// uses it up. Every guess counts against the code's attempts before it is
// compared, so parallel guesses cannot exceed the limit.
func (s *Service) Check(ctx context.Context, purpose, phone, code string) error {
	ph, err := people.NormalizePhone(phone)
	if err != nil {
		return fmt.Errorf("check code: %w", &errs.Invalid{Fields: map[string]string{
			"phone": "Số điện thoại không hợp lệ / Invalid phone number"}})
	}
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return fmt.Errorf("check code: %w", invalid(ErrWrong, "Mã xác nhận gồm 6 chữ số / The code has 6 digits"))
	}
	now := s.Now().UTC().Unix()
	var id int64
	var hash string
	var attempts, used int
	var expires int64
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, code_hash, attempts, used, expires_at FROM otp_codes
		WHERE phone_hash = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1`, s.Vault.Hash(ph), purpose).Scan(&id, &hash, &attempts, &used, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check code: %w", invalid(ErrNoCode, "Chưa có mã nào được gửi tới số này; hãy bấm “Gửi mã” / No code was sent to this number; ask for one"))
	}
	if err != nil {
		return fmt.Errorf("check code: %w", err)
	}
	if reason := s.dead(used, attempts, expires, now); reason != nil {
		return fmt.Errorf("check code: %w", reason)
	}
	// Spend one attempt first; only then compare.
	err = s.DB.W.QueryRowContext(ctx, `UPDATE otp_codes SET attempts = attempts + 1
		WHERE id = $1 AND used = 0 AND attempts < $2 AND expires_at > $3 RETURNING attempts`, id, s.MaxAttempts, now).Scan(&attempts)
	if errors.Is(err, sql.ErrNoRows) {
		// Another request used it up or spent the last attempt meanwhile.
		if err := s.DB.W.QueryRowContext(ctx, "SELECT attempts, used, expires_at FROM otp_codes WHERE id = $1", id).Scan(&attempts, &used, &expires); err != nil {
			return fmt.Errorf("check code: %w", err)
		}
		if reason := s.dead(used, attempts, expires, now); reason != nil {
			return fmt.Errorf("check code: %w", reason)
		}
		return fmt.Errorf("check code: %w", invalid(ErrTooManyAttempts, tooMany))
	}
	if err != nil {
		return fmt.Errorf("check code: %w", err)
	}
	if !hmac.Equal([]byte(hash), []byte(s.hash(purpose, ph, code))) {
		left := s.MaxAttempts - attempts
		if left <= 0 {
			return fmt.Errorf("check code: %w", invalid(ErrTooManyAttempts, tooMany))
		}
		return fmt.Errorf("check code: %w", invalid(ErrWrong,
			fmt.Sprintf("Mã xác nhận không đúng; còn %d lần thử / Wrong code; %d attempts left", left, left)))
	}
	res, err := s.DB.W.ExecContext(ctx, "UPDATE otp_codes SET used = 1 WHERE id = $1 AND used = 0", id)
	if err != nil {
		return fmt.Errorf("check code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("check code: %w", invalid(ErrUsed, used1))
	}
	return nil
}

const (
	tooMany = "Nhập sai quá nhiều lần; hãy yêu cầu mã mới / Too many wrong attempts; ask for a new code"
	used1   = "Mã này đã được dùng; hãy yêu cầu mã mới / This code was already used; ask for a new one"
)

// dead says why a code can no longer confirm anything, or nil.
func (s *Service) dead(used, attempts int, expires, now int64) error {
	switch {
	case used != 0:
		return invalid(ErrUsed, used1)
	case now >= expires:
		return invalid(ErrExpired, fmt.Sprintf("Mã đã hết hạn (sau %d phút); hãy yêu cầu mã mới / The code expired; ask for a new one", int(s.TTL.Minutes())))
	case attempts >= s.MaxAttempts:
		return invalid(ErrTooManyAttempts, tooMany)
	}
	return nil
}
