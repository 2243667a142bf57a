package vault_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

func keyed(t *testing.T, b byte) *vault.Vault {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every server must hold the same data key: the first to open a database
// leaves a sealed check value, a server with another key is refused with a
// clear error, and on a database that held sealed rows before the check
// existed only the key opening them may write the check.
func TestCheckDB(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		right, wrong := keyed(t, 1), keyed(t, 2)
		old := right.Seal("0912345678") // a row from before the check
		if err := wrong.CheckDB(ctx, db, old); !errors.Is(err, vault.ErrWrongKey) {
			t.Fatalf("a key that does not open existing rows: %v, want ErrWrongKey", err)
		}
		if err := right.CheckDB(ctx, db, old); err != nil {
			t.Fatal(err)
		}
		if err := right.CheckDB(ctx, db, nil); err != nil {
			t.Fatalf("the same key again: %v", err)
		}
		err := wrong.CheckDB(ctx, db, nil)
		if !errors.Is(err, vault.ErrWrongKey) {
			t.Fatalf("another key: %v, want ErrWrongKey", err)
		}
		if !bytes.Contains([]byte(err.Error()), []byte("ANTICOVID_DATA_KEY")) {
			t.Errorf("the refusal does not say where the key comes from: %v", err)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM vault_check").Scan(&n)
		if n != 1 {
			t.Errorf("%d check values, want 1", n)
		}
	})
}
