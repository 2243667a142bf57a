package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// totpOpts are the settings every authenticator app understands: 6 digits,
// 30-second steps, SHA-1; one step of clock drift either way is accepted.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// errNoVault: a Service built without a vault cannot seal secrets.
var errNoVault = errors.New("no vault to seal second-factor secrets")

// Issuer names the deployment in authenticator apps.
const Issuer = "anticovid"

// Enrolment is what the enrolment page shows: the otpauth:// URL for the QR
// code and the secret to type by hand.
type Enrolment struct {
	URL, Secret string
}

// asUser returns ctx carrying u as the caller when it has none (the steps of
// a login happen before there is a session), so the audit log names them.
func asUser(ctx context.Context, u User) context.Context {
	if From(ctx) == nil {
		p := u.Principal
		return WithPrincipal(ctx, &p)
	}
	return ctx
}

// StartEnrol returns the secret the user is enrolling with: the one shown
// before if it was not confirmed yet, so reloading the page keeps the QR.
func (s *Service) StartEnrol(ctx context.Context, u User) (Enrolment, error) {
	if s.Vault == nil {
		return Enrolment{}, fmt.Errorf("enrol: %w", errNoVault)
	}
	var sealed []byte
	if err := s.DB.R.QueryRowContext(ctx, "SELECT totp_pending_enc FROM users WHERE id = $1", u.UserID).Scan(&sealed); err != nil {
		return Enrolment{}, fmt.Errorf("enrol: %w", err)
	}
	if sealed != nil {
		if url, err := s.Vault.Open(sealed); err == nil {
			if key, err := otp.NewKeyFromURL(url); err == nil {
				return Enrolment{URL: key.URL(), Secret: key.Secret()}, nil
			}
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: u.Username, Period: totpOpts.Period,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return Enrolment{}, fmt.Errorf("enrol: %w", err)
	}
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE users SET totp_pending_enc = $1 WHERE id = $2", s.Vault.Seal(key.URL()), u.UserID); err != nil {
		return Enrolment{}, fmt.Errorf("enrol: %w", err)
	}
	return Enrolment{URL: key.URL(), Secret: key.Secret()}, nil
}

// ConfirmEnrol turns the shown secret into the user's second factor once a
// code from the app proves it was scanned, and returns ten recovery codes to
// show once (only their hashes are kept).
func (s *Service) ConfirmEnrol(ctx context.Context, u User, code string) ([]string, error) {
	var sealed []byte
	if err := s.DB.R.QueryRowContext(ctx, "SELECT totp_pending_enc FROM users WHERE id = $1", u.UserID).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("confirm enrol: %w", err)
	}
	if sealed == nil || s.Vault == nil {
		return nil, fmt.Errorf("confirm enrol: %w", &errs.Invalid{Fields: map[string]string{"code": msg.Both("account.enrol_expired")}})
	}
	url, err := s.Vault.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("confirm enrol: %w", err)
	}
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return nil, fmt.Errorf("confirm enrol: %w", err)
	}
	step, ok := matchStep(key.Secret(), digitsOnly(code), s.Now(), 0)
	if !ok {
		return nil, fmt.Errorf("confirm enrol: %w", &errs.Invalid{Fields: map[string]string{"code": msg.Both("account.code_wrong")}})
	}
	codes := make([]string, recoveryCodeCount)
	tx, err := s.DB.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("confirm enrol: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret_enc = $1, totp_pending_enc = NULL, totp_step = $2 WHERE id = $3`,
		s.Vault.Seal(key.Secret()), step, u.UserID); err != nil {
		return nil, fmt.Errorf("confirm enrol: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = $1", u.UserID); err != nil {
		return nil, fmt.Errorf("confirm enrol: %w", err)
	}
	for i := range codes {
		c := strings.ToLower(rand.Text()[:10])
		codes[i] = c[:5] + "-" + c[5:]
		if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)", u.UserID, recoveryHash(u.UserID, c)); err != nil {
			return nil, fmt.Errorf("confirm enrol: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("confirm enrol: %w", err)
	}
	if err := audit(asUser(ctx, u), s, ActionEnrol, u.UserID, ""); err != nil {
		return nil, err
	}
	return codes, nil
}

// recoveryHash binds a code to its user, so equal codes of two users differ.
func recoveryHash(userID int64, code string) string {
	h := sha256.Sum256([]byte(strconv.FormatInt(userID, 10) + ":" + code))
	return hex.EncodeToString(h[:])
}

func digitsOnly(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(code))
}

// matchStep finds the 30-second step, later than after, whose code is code.
func matchStep(secret, code string, now time.Time, after int64) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / int64(totpOpts.Period)
	for step := cur - int64(totpOpts.Skew); step <= cur+int64(totpOpts.Skew); step++ {
		if step <= after {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*int64(totpOpts.Period), 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// CheckSecondFactor accepts a current code from the user's app, once (a code
// seen before, even within its window, is refused), or one of their unused
// recovery codes, which is then spent.
func (s *Service) CheckSecondFactor(ctx context.Context, u User, code string) error {
	code = strings.ToLower(digitsOnly(code))
	var sealed []byte
	var last int64
	err := s.DB.R.QueryRowContext(ctx, "SELECT totp_secret_enc, totp_step FROM users WHERE id = $1", u.UserID).Scan(&sealed, &last)
	if errors.Is(err, sql.ErrNoRows) || err == nil && sealed == nil {
		return fmt.Errorf("second factor: %w", errs.ErrUnauthorized)
	}
	if err != nil {
		return fmt.Errorf("second factor: %w", err)
	}
	if len(code) == 10 { // a recovery code, written without its dash
		res, err := s.DB.W.ExecContext(ctx, "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at = 0",
			s.Now().Unix(), u.UserID, recoveryHash(u.UserID, code))
		if err != nil {
			return fmt.Errorf("second factor: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("second factor: %w", errs.ErrUnauthorized)
		}
		return audit(asUser(ctx, u), s, ActionRecoveryUsed, u.UserID, "")
	}
	if s.Vault == nil {
		return fmt.Errorf("second factor: %w", errNoVault)
	}
	secret, err := s.Vault.Open(sealed)
	if err != nil {
		return fmt.Errorf("second factor: %w", err)
	}
	step, ok := matchStep(secret, code, s.Now(), last)
	if !ok {
		return fmt.Errorf("second factor: %w", errs.ErrUnauthorized)
	}
	// The step only moves forward: two requests racing with one code get one
	// success between them.
	res, err := s.DB.W.ExecContext(ctx, "UPDATE users SET totp_step = $1 WHERE id = $2 AND totp_step < $1", step, u.UserID)
	if err != nil {
		return fmt.Errorf("second factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("second factor: code used: %w", errs.ErrUnauthorized)
	}
	return nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at = 0", userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("recovery codes: %w", err)
	}
	return n, nil
}

// ResetSecondFactor removes the second factor of a user the caller manages
// (a lost phone): their recovery codes go too, their sessions end, and a role
// that requires one is sent to enrolment at the next login.
func (s *Service) ResetSecondFactor(ctx context.Context, admin *Principal, id int64) error {
	u, err := s.Managed(ctx, admin, id)
	if err != nil {
		return fmt.Errorf("reset second factor: %w", err)
	}
	for _, q := range []string{"UPDATE users SET totp_secret_enc = NULL, totp_pending_enc = NULL WHERE id = $1",
		"DELETE FROM recovery_codes WHERE user_id = $1", "DELETE FROM sessions WHERE user_id = $1 AND kind = 'session'"} {
		if _, err := s.DB.W.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("reset second factor: %w", err)
		}
	}
	return audit(ctx, s, ActionResetTOTP, id, u.Username)
}
