package exposure

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names en_signing_keys in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "en_signing_keys" }

// Reseal re-seals with the current data key what an old key sealed in
// en_signing_keys, for the re-seal job: this package owns the table, so it names it.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, private_enc FROM en_signing_keys WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE en_signing_keys SET private_enc = $1 WHERE id = $2 AND private_enc = $3"},
	}, after, limit)
}
