package declaration

import (
	"context"
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
// proof of the person either. This reads names: callers check
// jurisdiction and write the audit entry before showing them.
func (s *Service) Cards(ctx context.Context, ids []int64) (map[int64]Card, error) {
	out := make(map[int64]Card, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	type row struct {
		id, person, expires int64
		proof               int
	}
	var rows []row
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rs, err := s.DB.R.QueryContext(ctx, "SELECT id, person_id, expires_at, proof FROM declarations WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.person, &r.expires, &r.proof); err != nil {
				return err
			}
			rows = append(rows, r)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("declaration cards: %w", err)
	}
	persons := make([]int64, len(rows))
	for i, r := range rows {
		persons[i] = r.person
	}
	reach, err := s.People.Personal(ctx, persons)
	if err != nil {
		return nil, fmt.Errorf("declaration cards: %w", err)
	}
	for _, r := range rows {
		c := Card{DeclarationID: r.id, PersonID: r.person, Name: reach[r.person].Name, Expires: time.Unix(r.expires, 0).UTC()}
		c.Token = s.Sign(Claims{PersonID: r.person, DeclarationID: r.id, Expires: c.Expires, Proof: r.proof})
		c.URL = s.URL(c.Token)
		out[r.id] = c
	}
	return out, nil
}
