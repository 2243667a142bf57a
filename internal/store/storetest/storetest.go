// Package storetest runs one test body on every database engine: SQLite always,
// and PostgreSQL when ANTICOVID_TEST_PG holds a connection URL (each test gets a
// fresh database there, dropped afterwards).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/testenv"
)

// Each runs fn once per engine, as subtests named "sqlite" and "postgres".
func Each(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a migrated database in a temporary directory.
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := store.OpenMigrated(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres returns a migrated fresh database, or skips when ANTICOVID_TEST_PG is
// unset (fails under ANTICOVID_REQUIRE_ALL=1).
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	u := PostgresURL(t)
	db, err := store.OpenMigrated(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL creates a fresh, empty database and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ANTICOVID_TEST_PG")
	if base == "" {
		testenv.Skip(t, "ANTICOVID_TEST_PG is not set (no PostgreSQL server)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "anticovid_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	pu.Path = "/" + name
	return pu.String()
}
