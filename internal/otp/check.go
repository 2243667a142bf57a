package otp

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/people"
)

// Code is a valid, unused code as stored, with whom it is for.
type Code struct {
	ID      int64
	Purpose string
	Subject
	ExpiresAt time.Time
}

// Check confirms that code is the newest one sent to phone for purpose and
// uses it up at once.
func (s *Service) Check(ctx context.Context, purpose, phone, code string) error {
	k, err := s.Verify(ctx, purpose, phone, code, "")
	if err != nil {
		return err
	}
	if err := s.use(ctx, s.DB.W, k); err != nil {
		return fmt.Errorf("check code: %w", err)
	}
	return nil
}

// Verify returns the code if code is valid for purpose, without using it:
// callers do their (possibly long) work, then Redeem in the transaction that
// stores the result, so a refused upload leaves the code usable and nothing
// stored. phone is the number a phone code was sent to ("" for a handed
// code). client identifies the caller (its address) for the failure limit;
// "" when the caller limits its clients itself.
//
// A guess at a phone code takes one of its attempts before it is compared,
// so parallel guesses cannot exceed the limit; the right one gives it back.
func (s *Service) Verify(ctx context.Context, purpose, phone, code, client string) (Code, error) {
	const op = "check code"
	if phone != "" {
		ph, err := people.NormalizePhone(phone)
		if err != nil {
			return Code{}, fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"phone": msg.Both("otp.phone_check")}})
		}
		phone = ph
	}
	if (client != "" && s.blocked("ip:"+client)) || (phone != "" && s.blocked("phone:"+phone)) || s.overBudget(purpose) {
		return Code{}, fmt.Errorf("%s: %w", op, errs.ErrRateLimited)
	}
	p, ok := policies[purpose]
	if !ok || p.phone() != (phone != "") {
		// No code of this kind was ever issued.
		return Code{}, fmt.Errorf("%s: %w", op, p.notFound())
	}
	code = strings.TrimSpace(code)
	if err := p.malformed(code); err != nil {
		if errors.Is(err, ErrWrong) {
			s.failed(purpose, client, phone)
		}
		return Code{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.now().Unix()
	where, arg := "code_hash = $1", s.hash(purpose, phone, code)
	if p.phone() {
		where, arg = "phone_hash = $1", s.Vault.Hash(phone)
	}
	var k Code
	var hash string
	var attempts int
	var exp int64
	var person, onset, used sql.NullInt64
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, code_hash, attempts, expires_at, used_at, person_id, issued_by, onset_at,
		commune_code, district_code, province_code FROM otp_codes WHERE `+where+` AND purpose = $2 ORDER BY id DESC LIMIT 1`, arg, purpose).
		Scan(&k.ID, &hash, &attempts, &exp, &used, &person, &k.IssuedBy, &onset, &k.Commune, &k.District, &k.Province)
	if errors.Is(err, sql.ErrNoRows) {
		s.failed(purpose, client, phone)
		return Code{}, fmt.Errorf("%s: %w", op, p.notFound())
	}
	if err != nil {
		return Code{}, fmt.Errorf("%s: %w", op, err)
	}
	if reason := p.dead(used.Valid, attempts, exp, now); reason != nil {
		return Code{}, fmt.Errorf("%s: %w", op, reason)
	}
	if p.phone() {
		if err := s.guess(ctx, p, k.ID, now, func() bool { return s.matches(hash, purpose, phone, code) }); err != nil {
			s.failed(purpose, client, phone)
			return Code{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	k.Purpose, k.PersonID, k.ExpiresAt = purpose, person.Int64, time.Unix(exp, 0)
	if onset.Valid {
		k.OnsetAt = time.Unix(onset.Int64, 0)
	}
	return k, nil
}

// guess spends one attempt of phone code id, then compares with right; a
// right guess gives the attempt back.
func (s *Service) guess(ctx context.Context, p policy, id, now int64, right func() bool) error {
	var attempts, exp int64
	var used sql.NullInt64
	err := s.DB.W.QueryRowContext(ctx, `UPDATE otp_codes SET attempts = attempts + 1
		WHERE id = $1 AND used_at IS NULL AND attempts < $2 AND expires_at > $3 RETURNING attempts`, id, p.maxAttempts, now).Scan(&attempts)
	if errors.Is(err, sql.ErrNoRows) {
		// Another request used it up or spent the last attempt meanwhile.
		if err := s.DB.W.QueryRowContext(ctx, "SELECT attempts, used_at, expires_at FROM otp_codes WHERE id = $1", id).Scan(&attempts, &used, &exp); err != nil {
			return err
		}
		if reason := p.dead(used.Valid, int(attempts), exp, now); reason != nil {
			return reason
		}
		return invalid(ErrTooManyAttempts, msg.Both("otp.too_many"))
	}
	if err != nil {
		return err
	}
	if !right() {
		return p.wrong(p.maxAttempts - int(attempts))
	}
	_, err = s.DB.W.ExecContext(ctx, "UPDATE otp_codes SET attempts = attempts - 1 WHERE id = $1", id)
	return err
}

// matches compares a phone code with its stored hash in constant time.
func (s *Service) matches(stored, purpose, phone, code string) bool {
	if len(stored) == 32 {
		// A venue code sent before migration 0010 carries the 16-byte tag
		// the old otp_codes table used; it dies within DefaultTTL of the
		// upgrade.
		return hmac.Equal([]byte(stored), []byte(hex.EncodeToString(s.Vault.Tag("otp/v1", []byte(purpose+"\x00"+phone+"\x00"+code)))))
	}
	return hmac.Equal([]byte(stored), []byte(s.hash(purpose, phone, code)))
}

// Redeem marks a checked code used inside tx. It fails when another request
// used it in the meantime, so each code is used at most once even under races.
func (s *Service) Redeem(ctx context.Context, tx *sql.Tx, k Code) error {
	if err := s.use(ctx, tx, k); err != nil {
		return fmt.Errorf("redeem code: %w", err)
	}
	return nil
}

func (s *Service) use(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, k Code) error {
	res, err := db.ExecContext(ctx, "UPDATE otp_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1", s.now().Unix(), k.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		if policies[k.Purpose].terse {
			return invalid(ErrUsed, msg.Both("otp.used_or_expired"))
		}
		return invalid(ErrUsed, msg.Both("otp.used_ask"))
	}
	return nil
}

// field is the form field every refusal of a code is attached to.
const field = "code"

func invalid(sentinel error, text string) error {
	return fmt.Errorf("%w: %w", sentinel, &errs.Invalid{Fields: map[string]string{field: text}})
}

// malformed refuses what cannot be a code of p before any look-up.
func (p policy) malformed(code string) error {
	switch {
	case !p.terse:
		if len(code) != p.digits || strings.Trim(code, "0123456789") != "" {
			return invalid(ErrWrong, msg.Both("otp.digits", p.digits))
		}
	case code == "" || len(code) > 64:
		return &errs.Invalid{Fields: map[string]string{field: msg.Both("otp.required")}}
	case p.digits > 0 && ((len(code) != p.digits && len(code) != p.oldDigits) || strings.Trim(code, "0123456789") != ""):
		return invalid(ErrWrong, msg.Both("otp.wrong"))
	}
	return nil
}

// notFound is the answer when no code matches: for a phone, none was sent.
func (p policy) notFound() error {
	switch {
	case !p.phone() && p.terse:
		return invalid(ErrWrong, msg.Both("otp.wrong"))
	case p.terse:
		return invalid(ErrNoCode, msg.Both("otp.wrong"))
	}
	return invalid(ErrNoCode, msg.Both("otp.no_code"))
}

// wrong is the answer to a wrong guess at a phone code with left attempts.
func (p policy) wrong(left int) error {
	switch {
	case left <= 0:
		return invalid(ErrTooManyAttempts, msg.Both("otp.too_many"))
	case p.terse:
		return invalid(ErrWrong, msg.Both("otp.wrong"))
	}
	return invalid(ErrWrong, msg.Both("otp.wrong_left", left))
}

// dead says why a code can no longer confirm anything, or nil.
func (p policy) dead(used bool, attempts int, expires, now int64) error {
	switch {
	case used && p.terse:
		return invalid(ErrUsed, msg.Both("otp.used"))
	case used:
		return invalid(ErrUsed, msg.Both("otp.used_ask"))
	case now >= expires && p.terse:
		return invalid(ErrExpired, msg.Both("otp.expired"))
	case now >= expires:
		return invalid(ErrExpired, mixed("otp.expired_after", []any{minutes(p.ttl)}, "otp.expired_ask"))
	case p.phone() && attempts >= p.maxAttempts:
		return invalid(ErrTooManyAttempts, msg.Both("otp.too_many"))
	}
	return nil
}
