package notify

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names outbox in the data-key re-seal job (vault.Rotation).
func (o *Outbox) ResealName() string { return "outbox" }

// Reseal re-seals with the current data key what an old key sealed in
// outbox, for the re-seal job: this package owns the table, so it names it.
func (o *Outbox) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, o.DB, v, []vault.Column{
		{Select: "SELECT id, to_enc FROM outbox WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE outbox SET to_enc = $1 WHERE id = $2 AND to_enc = $3"},
		{Select: "SELECT id, body FROM outbox WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE outbox SET body = $1 WHERE id = $2 AND body = $3", Text: true, Prefix: sealedPrefix},
		{Select: "SELECT id, params FROM outbox WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE outbox SET params = $1 WHERE id = $2 AND params = $3", Text: true, Prefix: sealedPrefix},
	}, after, limit)
}
