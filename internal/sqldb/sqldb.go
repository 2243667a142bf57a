// Package sqldb is the database handle every domain package writes its SQL
// against. It knows no driver: internal/store opens the engines. SQL written
// here must be portable between SQLite and PostgreSQL ($1 placeholders, no
// dialect-only functions); dialect branches live in internal/store.
package sqldb

import (
	"context"
	"database/sql"
	"fmt"
)

// Engines.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB holds a writer and a reader. On SQLite the writer is a single connection
// (SQLite allows one writer at a time; queuing in Go beats busy-waiting in the
// engine) and the reader a pool; on PostgreSQL both are the same pool.
type DB struct {
	W, R   *sql.DB
	Engine string
	Path   string // the SQLite database file ("" on PostgreSQL)
	// OnClose runs before the pools close (background work tied to the DB).
	OnClose []func()
}

// Tx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	for _, f := range db.OnClose {
		f()
	}
	err := db.W.Close()
	if db.R != db.W {
		if e := db.R.Close(); err == nil {
			err = e
		}
	}
	return err
}

// In returns "$n,$n+1,..." for k values starting at placeholder n, for IN lists.
func In(n, k int) string {
	b := make([]byte, 0, k*4)
	for i := 0; i < k; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "$%d", n+i)
	}
	return string(b)
}
