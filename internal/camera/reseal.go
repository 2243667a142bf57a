package camera

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names cameras in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "cameras" }

// Reseal re-seals with the current data key what an old key sealed in
// cameras, for the re-seal job: this package owns the table, so it names it.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, secret_enc FROM cameras WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE cameras SET secret_enc = $1 WHERE id = $2 AND secret_enc = $3"},
	}, after, limit)
}
