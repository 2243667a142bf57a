package auth

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Audit actions on accounts (subject "account", the record is the user id).
const (
	ActionPassword      = "change_password"
	ActionDisable       = "disable"
	ActionEnable        = "enable"
	ActionForceReset    = "force_reset"
	ActionRevoke        = "revoke"
	ActionEnrol         = "enrol_totp"
	ActionResetTOTP     = "reset_totp"
	ActionRecoveryUsed  = "recovery_code_used"
	subjectAccount      = "account"
	pendingTTL          = 10 * time.Minute
	kindPending         = "pending"
	recoveryCodeCount   = 10
	recoveryCodeLetters = "abcdefghjkmnpqrstuvwxyz23456789"
)

// RequiresTOTP reports whether a role must use a second factor: those that
// see or manage a whole province or district (department officers sit at
// province level).
func RequiresTOTP(r Role) bool {
	return r == ProvinceAdmin || r == DistrictOfficer || r == DepartmentOfficer
}

// Manages reports whether the caller administers accounts: province and
// district administrators.
func (p *Principal) Manages() bool { return p.Can(ProvinceAdmin, DistrictOfficer) }

// mayManage says whether admin may act on target: an administrator, the
// target's unit inside the admin's, and the target's role no more powerful.
func mayManage(admin *Principal, target User) bool {
	if !admin.Manages() || !admin.InJurisdiction(target.Unit) {
		return false
	}
	return slices.Index(Roles, target.Role) >= slices.Index(Roles, admin.Role)
}

// Managed returns the account id if the caller may manage it; accounts
// outside the caller's reach are not found, as if they did not exist.
func (s *Service) Managed(ctx context.Context, admin *Principal, id int64) (User, error) {
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return User{}, err
	}
	if !mayManage(admin, u) {
		if admin.Manages() {
			return User{}, fmt.Errorf("user %d: %w", id, errs.ErrNotFound)
		}
		return User{}, fmt.Errorf("user %d: %w", id, errs.ErrForbidden)
	}
	return u, nil
}

// ManagedUsers lists the accounts the caller may manage, by username.
func (s *Service) ManagedUsers(ctx context.Context, admin *Principal) ([]User, error) {
	if !admin.Manages() {
		return nil, fmt.Errorf("users: %w", errs.ErrForbidden)
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		// Units nest by code prefix only through geo, so the filter is here;
		// a province has a few thousand accounts at most.
		if mayManage(admin, u) {
			out = append(out, u)
		}
	}
	return out, rows.Err()
}

// audit writes an account act to the audit log as the caller in ctx.
func audit(ctx context.Context, s *Service, action string, target int64, note string) error {
	return Audit(ctx, s.DB, action, subjectAccount, []string{strconv.FormatInt(target, 10)}, note)
}

// ChangePassword replaces the caller's password; the current one is required,
// so a borrowed unlocked screen cannot change it. Other sessions and tokens
// of the user end (whoever knew the old password is out).
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next, keepSecret string) error {
	var hash string
	if err := s.DB.R.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = $1", p.UserID).Scan(&hash); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !CheckPassword(hash, current) {
		return fmt.Errorf("change password: %w", &errs.Invalid{Fields: map[string]string{"current": msg.Both("account.current_wrong")}})
	}
	if err := s.setPassword(ctx, p.UserID, p.Username, next); err != nil {
		return err
	}
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2", p.UserID, hashSecret(keepSecret)); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return audit(ctx, s, ActionPassword, p.UserID, "")
}

// setPassword checks pw against the rule and stores it, clearing a forced reset.
func (s *Service) setPassword(ctx context.Context, id int64, username, pw string) error {
	if err := CheckNewPassword(username, pw); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE users SET password_hash = $1, must_reset = 0 WHERE id = $2", HashPassword(pw), id); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// SetDisabled disables or re-enables an account the caller manages. A
// disabled account's sessions and tokens are deleted at once (Resolve also
// refuses them, should one be made in between).
func (s *Service) SetDisabled(ctx context.Context, admin *Principal, id int64, disabled bool) error {
	u, err := s.Managed(ctx, admin, id)
	if err != nil {
		return fmt.Errorf("disable user: %w", err)
	}
	if u.UserID == admin.UserID {
		return fmt.Errorf("disable user: %w", &errs.Invalid{Fields: map[string]string{"user": msg.Both("account.not_yourself")}})
	}
	flag, action := 0, ActionEnable
	if disabled {
		flag, action = 1, ActionDisable
	}
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE users SET disabled = $1 WHERE id = $2", flag, id); err != nil {
		return fmt.Errorf("disable user: %w", err)
	}
	if disabled {
		if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", id); err != nil {
			return fmt.Errorf("disable user: %w", err)
		}
	}
	return audit(ctx, s, action, id, u.Username)
}

// ForceReset makes a user the caller manages choose a new password at the
// next login; their sessions end now.
func (s *Service) ForceReset(ctx context.Context, admin *Principal, id int64) error {
	u, err := s.Managed(ctx, admin, id)
	if err != nil {
		return fmt.Errorf("force reset: %w", err)
	}
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE users SET must_reset = 1 WHERE id = $1", id); err != nil {
		return fmt.Errorf("force reset: %w", err)
	}
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1 AND kind = 'session'", id); err != nil {
		return fmt.Errorf("force reset: %w", err)
	}
	return audit(ctx, s, ActionForceReset, id, u.Username)
}

// Session is a browser session or an API token of a user, named by the hash
// of its secret (never the secret).
type Session struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Current   bool      `json:"current"`
}

// Sessions lists a user's live sessions and tokens, newest first; current
// is the caller's own cookie secret, marked so they know which one it is.
func (s *Service) Sessions(ctx context.Context, userID int64, current string) ([]Session, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT token_hash, kind, created_at, expires_at FROM sessions
		WHERE user_id = $1 AND kind IN ('session', 'api') AND expires_at > $2 ORDER BY created_at DESC`, userID, s.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	defer rows.Close()
	cur := hashSecret(current)
	var out []Session
	for rows.Next() {
		var x Session
		var created, expires int64
		if err := rows.Scan(&x.ID, &x.Kind, &created, &expires); err != nil {
			return nil, fmt.Errorf("sessions: %w", err)
		}
		x.CreatedAt, x.ExpiresAt, x.Current = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC(), x.ID == cur
		out = append(out, x)
	}
	return out, rows.Err()
}

// RevokeSession ends one session or token of a user: the caller's own, or
// one of a user the caller manages.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, userID int64, id string) error {
	if userID != p.UserID {
		if _, err := s.Managed(ctx, p, userID); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
	}
	res, err := s.DB.W.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1 AND token_hash = $2 AND kind IN ('session', 'api')", userID, id)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke: %w", errs.ErrNotFound)
	}
	return audit(ctx, s, ActionRevoke, userID, id[:min(12, len(id))])
}

// SecretID is the id Sessions gives the session or token with this secret.
func SecretID(secret string) string { return hashSecret(secret) }
