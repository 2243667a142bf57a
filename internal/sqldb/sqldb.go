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

// chunk is how many ids one IN list holds: any number of ids then fits a
// statement (SQLite takes 32,766 parameters, PostgreSQL 65,535) and its
// parser stays fast.
const chunk = 500

// Chunks splits ids into IN lists of at most 500 and calls fn with each: in
// is the placeholder list ("$3,$4,...", numbered after the lead arguments)
// and args the lead arguments followed by the chunk's ids, ready for
// "... WHERE x IN ("+in+")". It stops at fn's first error and returns it.
func Chunks(ids []int64, lead []any, fn func(in string, args []any) error) error {
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		args := make([]any, 0, len(lead)+len(part))
		args = append(args, lead...)
		for _, id := range part {
			args = append(args, id)
		}
		if err := fn(In(len(lead)+1, len(part)), args); err != nil {
			return err
		}
	}
	return nil
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
