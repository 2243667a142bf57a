package people

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names people in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "people" }

// Reseal re-seals with the current data key what an old key sealed in
// people, for the re-seal job: this package owns the table, so it names it.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, name_enc FROM people WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE people SET name_enc = $1 WHERE id = $2 AND name_enc = $3"},
		{Select: "SELECT id, phone_enc FROM people WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE people SET phone_enc = $1 WHERE id = $2 AND phone_enc = $3"},
		{Select: "SELECT id, id_number_enc FROM people WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE people SET id_number_enc = $1 WHERE id = $2 AND id_number_enc = $3"},
	}, after, limit)
}
