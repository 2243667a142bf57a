package token

import (
	"context"
	"fmt"

	"anticovid/internal/vault"
)

// ResealName names token_keys in the data-key re-seal job (vault.Rotation).
func (kr *Keyring) ResealName() string { return "token_keys" }

// Reseal re-seals the venue-signing seeds an old data key sealed, for the
// re-seal job. The table is a handful of rows keyed by text, so one call
// does them all (after 0) and reports the table done (after 1).
func (kr *Keyring) Reseal(ctx context.Context, v *vault.Vault, after int64, _ int) (int64, int, error) {
	if after > 0 || kr.db == nil {
		return 1, 0, nil
	}
	type seed struct {
		kid    string
		sealed []byte
	}
	rows, err := kr.db.R.QueryContext(ctx, "SELECT kid, seed_enc FROM token_keys WHERE seed_enc IS NOT NULL")
	if err != nil {
		return 0, 0, fmt.Errorf("re-seal keys: %w", err)
	}
	var seeds []seed
	for rows.Next() {
		var s seed
		if err := rows.Scan(&s.kid, &s.sealed); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("re-seal keys: %w", err)
		}
		seeds = append(seeds, s)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, fmt.Errorf("re-seal keys: %w", err)
	}
	n := 0
	for _, s := range seeds {
		if v.Current(s.sealed) {
			continue
		}
		plain, err := v.Open(s.sealed)
		if err != nil {
			return 0, n, fmt.Errorf("re-seal keys: %s: %w", s.kid, err)
		}
		res, err := kr.db.W.ExecContext(ctx, "UPDATE token_keys SET seed_enc = $1 WHERE kid = $2 AND seed_enc = $3", v.Seal(plain), s.kid, s.sealed)
		if err != nil {
			return 0, n, fmt.Errorf("re-seal keys: %s: %w", s.kid, err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		}
	}
	return 1, n, nil
}
