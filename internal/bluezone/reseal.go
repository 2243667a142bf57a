package bluezone

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names bz_devices in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "bz_devices" }

// Reseal re-seals with the current data key what an old key sealed in
// bz_devices, for the re-seal job: this package owns the table, so it names it.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, key_enc FROM bz_devices WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE bz_devices SET key_enc = $1 WHERE id = $2 AND key_enc = $3"},
	}, after, limit)
}
