package declaration

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names declarations in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "declarations" }

// Reseal re-seals with the current data key what an old key sealed in
// declarations, for the re-seal job: this package owns the table, so it names it.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, answers_enc FROM declarations WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE declarations SET answers_enc = $1 WHERE id = $2 AND answers_enc = $3"},
		{Select: "SELECT id, handled_note FROM declarations WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE declarations SET handled_note = $1 WHERE id = $2 AND handled_note = $3", Text: true},
	}, after, limit)
}
