package people

import (
	"bytes"
	"context"
	"database/sql"
	"testing"
	"time"

	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

// Two transactions storing the same new person known by ID number only (no
// unique key says one ID number is one person) store one: on PostgreSQL the
// second waits for the first and finds its person.
func TestIDNumberStoredOnce(t *testing.T) {
	db := storetest.Postgres(t)
	v, _ := vault.New(bytes.Repeat([]byte{5}, 32))
	s := NewService(db, v)
	w, err := NewWriter(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sp := s.Seal(Person{Name: "Võ Văn Căn Cước", IDNumber: "080190004321", BirthYear: 1990, Commune: "27991"})
	first, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	id1, err := w.FindOrCreate(ctx, first, sp)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int64, 1)
	go func() {
		var id int64
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			id, err = w.FindOrCreate(ctx, tx, sp)
			return err
		})
		if err != nil {
			t.Error(err)
		}
		done <- id
	}()
	select {
	case id := <-done:
		t.Fatalf("stored as person %d while the first transaction (person %d) was open", id, id1)
	case <-time.After(500 * time.Millisecond):
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if id2 := <-done; id2 != id1 {
		t.Errorf("one ID number stored as persons %d and %d", id1, id2)
	}
	var n int
	db.R.QueryRow("SELECT count(*) FROM people WHERE id_number_hash = $1", sp.Hash).Scan(&n)
	if n != 1 {
		t.Errorf("%d people with the ID number", n)
	}
}
