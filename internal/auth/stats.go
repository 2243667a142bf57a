package auth

import (
	"context"
	"fmt"
)

// DeleteUser removes an account and, by cascade, its sessions and tokens: a
// benchmark takes away the account it made for itself.
func (s *Service) DeleteUser(ctx context.Context, username string) error {
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM users WHERE username = $1", username); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}
