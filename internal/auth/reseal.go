package auth

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names users in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "users" }

// Reseal re-seals with the current data key what an old key sealed in
// users, for the re-seal job: this package owns the table, so it names it.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, totp_secret_enc FROM users WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE users SET totp_secret_enc = $1 WHERE id = $2 AND totp_secret_enc = $3"},
		{Select: "SELECT id, totp_pending_enc FROM users WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE users SET totp_pending_enc = $1 WHERE id = $2 AND totp_pending_enc = $3"},
	}, after, limit)
}
