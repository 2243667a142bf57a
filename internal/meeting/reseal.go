package meeting

import (
	"context"

	"anticovid/internal/vault"
)

// ResealName names meeting_contacts in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "meeting_contacts" }

// Reseal re-seals with the current data key what an old key sealed in
// meeting_contacts, for the re-seal job: this package owns the table.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT user_id, email_enc FROM meeting_contacts WHERE user_id > $1 ORDER BY user_id LIMIT $2", Update: "UPDATE meeting_contacts SET email_enc = $1 WHERE user_id = $2 AND email_enc = $3"},
		{Select: "SELECT user_id, phone_enc FROM meeting_contacts WHERE user_id > $1 ORDER BY user_id LIMIT $2", Update: "UPDATE meeting_contacts SET phone_enc = $1 WHERE user_id = $2 AND phone_enc = $3"},
	}, after, limit)
}
