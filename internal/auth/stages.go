package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"anticovid/internal/errs"
)

// The steps of a login after the password, in order. Until the last is done
// the user holds only a pending login (sessions.kind 'pending', its step in
// sessions.stage), which Resolve never accepts: they can do nothing else.
const (
	StageCode     = "code"     // enter a code from the app, or a recovery code
	StagePassword = "password" // choose a new password (an administrator forced a reset)
	StageEnrol    = "enrol"    // enrol the second factor the role requires
)

var stages = []string{StageCode, StagePassword, StageEnrol}

// nextStage is the first step after done (""= from the start) that u still
// needs, or "" when the login is complete.
func (s *Service) nextStage(u User, done string) string {
	start := 0
	for i, st := range stages {
		if st == done {
			start = i + 1
		}
	}
	for _, st := range stages[start:] {
		switch {
		case st == StageCode && u.HasTOTP,
			st == StagePassword && u.MustReset,
			st == StageEnrol && !u.HasTOTP && RequiresTOTP(u.Role) && !s.EnrolOptional:
			return st
		}
	}
	return ""
}

// BeginLogin is called once the password was right: it returns a session
// secret when nothing else is needed (stage ""), or a pending login's secret
// and the step it must take next.
func (s *Service) BeginLogin(ctx context.Context, u User) (secret, stage string, err error) {
	return s.advance(ctx, u, "")
}

func (s *Service) advance(ctx context.Context, u User, done string) (secret, stage string, err error) {
	stage = s.nextStage(u, done)
	if stage == "" {
		secret, err = s.NewSession(ctx, u.UserID)
		return secret, "", err
	}
	secret, hash := newSecret("acp_")
	now := s.Now()
	if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at, stage) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, u.UserID, kindPending, now.Unix(), now.Add(pendingTTL).Unix(), stage); err != nil {
		return "", "", fmt.Errorf("login step: %w", err)
	}
	return secret, stage, nil
}

// Pending returns the user and step of a pending login.
func (s *Service) Pending(ctx context.Context, secret string) (User, string, error) {
	if secret == "" || len(secret) > 100 {
		return User{}, "", fmt.Errorf("pending login: %w", errs.ErrUnauthorized)
	}
	var stage string
	var expires int64
	row := s.DB.R.QueryRowContext(ctx, `SELECT `+userColsOf+`, s.stage, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.kind = $2`, hashSecret(secret), kindPending)
	u, err := scanUser(scanExtra{scanExtra{row, &expires}, &stage}) // columns: user, stage, expires
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", fmt.Errorf("pending login: %w", errs.ErrUnauthorized)
	}
	if err != nil {
		return User{}, "", fmt.Errorf("pending login: %w", err)
	}
	if u.Disabled || s.Now().Unix() >= expires {
		return User{}, "", fmt.Errorf("pending login: expired: %w", errs.ErrUnauthorized)
	}
	return u, stage, nil
}

// Advance ends the pending login whose step done was just completed and
// starts what follows: another pending step, or the session (stage "").
func (s *Service) Advance(ctx context.Context, secret, done string) (next, stage string, err error) {
	u, cur, err := s.Pending(ctx, secret)
	if err != nil {
		return "", "", err
	}
	if cur != done {
		return "", "", fmt.Errorf("login step %s, not %s: %w", cur, done, errs.ErrForbidden)
	}
	if err := s.Revoke(ctx, secret); err != nil {
		return "", "", err
	}
	u, err = s.UserByID(ctx, u.UserID) // the step changed the account
	if err != nil {
		return "", "", err
	}
	return s.advance(ctx, u, done)
}

// SetNewPassword is the forced-reset step: the user chooses a new password
// under the same rule as everywhere.
func (s *Service) SetNewPassword(ctx context.Context, u User, pw string) error {
	if err := s.setPassword(ctx, u.UserID, u.Username, pw); err != nil {
		return err
	}
	return audit(asUser(ctx, u), s, ActionPassword, u.UserID, "forced reset")
}
