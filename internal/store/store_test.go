package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

// From an empty database every migration applies once, and a second run applies none.
func TestMigrateFromEmpty(t *testing.T) {
	ctx := context.Background()
	run := func(t *testing.T, url, dir string) {
		db, err := store.Open(ctx, url, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		first, err := store.Migrate(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) == 0 || first[0] != 1 {
			t.Fatalf("first run applied %v", first)
		}
		again, err := store.Migrate(ctx, db)
		if err != nil || len(again) != 0 {
			t.Fatalf("second run applied %v, %v", again, err)
		}
		var n int
		if err := db.R.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(first) {
			t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(first))
		}
		// Every table the code relies on exists and is empty.
		for _, table := range []string{"users", "sessions", "audit_log", "people", "venues", "visits"} {
			if err := db.R.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s: %d rows, %v", table, n, err)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "", t.TempDir()) })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t), "") })
}

func TestReturningAndPlaceholders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var id int64
		err := db.W.QueryRow(`INSERT INTO users (username, password_hash, role, unit_code, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, "a", "x", "province_admin", "80", 1).Scan(&id)
		if err != nil || id == 0 {
			t.Fatalf("insert returning: %d, %v", id, err)
		}
		var name string
		if err := db.R.QueryRow("SELECT username FROM users WHERE id IN ("+sqldb.In(1, 2)+")", id, -1).Scan(&name); err != nil || name != "a" {
			t.Fatalf("select: %q %v", name, err)
		}
	})
}

// Migration 0009 rebuilds visits: every stay survives, and the check-in id
// is then unique per person (the same id from another person is allowed).
func TestVisitsRebuildKeepsStays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, q := range []string{
			"INSERT INTO visits (id, venue_id, person_id, t_in, t_out, out_id) VALUES ('a', 1, 1, 100, 200, 'a-out')",
			"INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ('b', 2, 1, 300)",
			"INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ('c', 1, 2, 150)",
			"DELETE FROM schema_migrations WHERE version = 9",
		} {
			if _, err := db.W.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if applied, err := store.Migrate(ctx, db); err != nil || len(applied) != 1 || applied[0] != 9 {
			t.Fatalf("applied %v, %v", applied, err)
		}
		var n, sumIn, sumOut int64
		var outID string
		db.R.QueryRowContext(ctx, "SELECT count(*), sum(t_in), sum(COALESCE(t_out, 0)), max(out_id) FROM visits").Scan(&n, &sumIn, &sumOut, &outID)
		if n != 3 || sumIn != 550 || sumOut != 200 || outID != "a-out" {
			t.Fatalf("after the rebuild: %d stays, t_in sum %d, t_out sum %d, out_id %q", n, sumIn, sumOut, outID)
		}
		if _, err := db.W.ExecContext(ctx, "INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ('b', 3, 1, 400)"); err == nil {
			t.Fatal("a repeated id of the same person was stored")
		}
		if _, err := db.W.ExecContext(ctx, "INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ('b', 3, 2, 400)"); err != nil {
			t.Fatalf("the same id from another person: %v", err)
		}
	})
}

// Under a steady stream of commits the WAL is started over, not grown: 40 MB
// of writes, committed without a pause while the background checkpoint
// runs, leave a WAL near the writer's 4,000-page (16 MiB) checkpoint mark.
func TestWALStaysBounded(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.Exec("CREATE TABLE filler (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 4000)
	for range 10_000 { // one page a commit: 10,000 pages written
		if _, err := db.W.Exec("INSERT INTO filler VALUES ($1)", blob); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, "anticovid.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 24<<20 {
		t.Fatalf("WAL is %d MB after 40 MB of commits", st.Size()>>20)
	}
	t.Logf("WAL %.1f MB after 40 MB of commits", float64(st.Size())/(1<<20))
}

// Current is true of a migrated database only: one migration missing, or no
// table at all, is not ready.
func TestCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if err := store.Current(ctx, db); err != nil {
			t.Fatalf("migrated database not current: %v", err)
		}
		if _, err := db.W.Exec("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"); err != nil {
			t.Fatal(err)
		}
		if err := store.Current(ctx, db); err == nil {
			t.Fatal("a database missing its last migration is current")
		}
		if _, err := db.W.Exec("DROP TABLE schema_migrations"); err != nil {
			t.Fatal(err)
		}
		if err := store.Current(ctx, db); err == nil {
			t.Fatal("a database without schema_migrations is current")
		}
	})
}
