package vault

import (
	"context"
	"database/sql"
	"encoding/hex"
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
// During a rotation the old key may be the one that opens it: the re-seal
// job (rotate.go) seals it with the new key last, after every other row, so
// from then on a server holding only the old key is refused.
// sample is any value sealed in the database before the check existed (nil
// when there is none): a deployment upgraded to the check writes it only
// with the key that opens its rows.
//
// CheckDB also settles the look-up and tag keys: those in vault_lookup when
// there are, else those of the key that opens the check value (the first
// data key), which it then stores there sealed.
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
	opener := -1
	for i, k := range v.keys {
		if got, err := (&Vault{keys: []dataKey{k}}).Open(sealed); err == nil && got == checkText {
			opener = i
			break
		}
	}
	if opener < 0 {
		return ErrWrongKey
	}
	return v.settleLookup(ctx, db, opener)
}

// settleLookup loads the look-up and tag keys from vault_lookup, storing
// those of key number opener first when the table is empty.
func (v *Vault) settleLookup(ctx context.Context, db *sqldb.DB, opener int) error {
	var sealed []byte
	err := db.W.QueryRowContext(ctx, "SELECT sealed FROM vault_lookup WHERE id = 1").Scan(&sealed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("vault check: %w", err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		// The first data key's look-up keys: the one that opens the check.
		k := v.keys[opener]
		if _, err := db.W.ExecContext(ctx, "INSERT INTO vault_lookup (id, sealed, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
			v.Seal(hex.EncodeToString(k.hashKey)+hex.EncodeToString(k.tagKey)), time.Now().Unix()); err != nil {
			return fmt.Errorf("vault check: %w", err)
		}
		if err := db.W.QueryRowContext(ctx, "SELECT sealed FROM vault_lookup WHERE id = 1").Scan(&sealed); err != nil {
			return fmt.Errorf("vault check: %w", err)
		}
	}
	text, err := v.Open(sealed)
	if err != nil {
		return ErrWrongKey
	}
	b, err := hex.DecodeString(text)
	if err != nil || len(b) != 64 {
		return errors.New("vault check: the stored look-up keys are damaged")
	}
	v.hashKey, v.tagKey = b[:32], b[32:]
	return nil
}
