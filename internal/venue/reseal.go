package venue

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names venues in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "venues" }

// Reseal re-seals with the current data key what an old key sealed in
// venues, for the re-seal job: this package owns the table, so it names it.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, contact_phone_enc FROM venues WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE venues SET contact_phone_enc = $1 WHERE id = $2 AND contact_phone_enc = $3"},
	}, after, limit)
}
