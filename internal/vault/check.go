package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"anticovid/internal/sqldb"
)

// checkText is what the check value seals: not secret, only recognisable.
const checkText = "anticovid data key check v1"

// ErrWrongKey means the data key does not open what the database holds.
var ErrWrongKey = errors.New("the data key (ANTICOVID_DATA_KEY or DATA/data.key) does not open this database: " +
	"every server must read the same key; refusing to start rather than write personal data no other server can read")

// CheckDB makes sure every server of a deployment seals with one key. The
// first server to open a database stores a small value sealed with its key
// in vault_check (this package owns the table; the key itself never enters
// the database); every later start must open it, or fails with ErrWrongKey.
// sample is any value sealed in the database before the check existed (nil
// when there is none): a deployment upgraded to the check writes it only
// with the key that opens its rows.
func (v *Vault) CheckDB(ctx context.Context, db *sqldb.DB, sample []byte) error {
	var n int
	if err := db.W.QueryRowContext(ctx, "SELECT count(*) FROM vault_check").Scan(&n); err != nil {
		return fmt.Errorf("vault check: %w", err)
	}
	if n == 0 && len(sample) > 0 {
		if _, err := v.Open(sample); err != nil {
			return ErrWrongKey
		}
	}
	if _, err := db.W.ExecContext(ctx, "INSERT INTO vault_check (id, sealed, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
		v.Seal(checkText), time.Now().Unix()); err != nil {
		return fmt.Errorf("vault check: %w", err)
	}
	var sealed []byte
	if err := db.W.QueryRowContext(ctx, "SELECT sealed FROM vault_check WHERE id = 1").Scan(&sealed); err != nil {
		return fmt.Errorf("vault check: %w", err)
	}
	if got, err := v.Open(sealed); err != nil || got != checkText {
		return ErrWrongKey
	}
	return nil
}
