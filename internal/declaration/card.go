package declaration

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"anticovid/internal/sqldb"
)

// Card is what a printed personal QR card shows: whose it is, its token
// (the same one the person's own card carries) and until when it is good.
type Card struct {
	DeclarationID int64
	PersonID      int64
	Name          string
	Expires       time.Time
	Token         string
	URL           string
}

// Cards returns the personal QR cards of declarations, by declaration id;
// ids unknown (or purged) are absent. The token carries the declaration's
// own proof grade: a declaration filled in with a volunteer's help is
// unproven (nobody proved the phone), so a staff scan of its card is not
// proof of the person either. The name is the one declared (the
// declaration's own answers), never the name of whoever the phone names:
// a card must not tell its holder who owns a phone. This reads names:
// callers check jurisdiction and write the audit entry before showing them.
func (s *Service) Cards(ctx context.Context, ids []int64) (map[int64]Card, error) {
	out := make(map[int64]Card, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rs, err := s.DB.R.QueryContext(ctx, "SELECT id, person_id, expires_at, proof, answers_enc FROM declarations WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var c Card
			var expires int64
			var proof int
			var sealed []byte
			if err := rs.Scan(&c.DeclarationID, &c.PersonID, &expires, &proof, &sealed); err != nil {
				return err
			}
			doc, err := s.Vault.Open(sealed)
			if err != nil {
				return fmt.Errorf("declaration %d: %w", c.DeclarationID, err)
			}
			var answers Input
			if err := json.Unmarshal([]byte(doc), &answers); err != nil {
				return fmt.Errorf("declaration %d: %w", c.DeclarationID, err)
			}
			c.Name, c.Expires = answers.Name, time.Unix(expires, 0).UTC()
			c.Token = s.Sign(Claims{PersonID: c.PersonID, DeclarationID: c.DeclarationID, Expires: c.Expires, Proof: proof})
			c.URL = s.URL(c.Token)
			out[c.DeclarationID] = c
		}
		return rs.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("declaration cards: %w", err)
	}
	return out, nil
}
