// Package sqldb is the database handle every domain package writes its SQL
// against. It knows no driver: internal/store opens the engines. SQL written
// here must be portable between SQLite and PostgreSQL ($1 placeholders, no
// dialect-only functions); dialect branches live in internal/store.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"anticovid/internal/errs"
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
	// Pipeline sends stmts on driverConn, a connection of W, in one round
	// trip, in order, and answers the rows each one affected; it stops at
	// the first that fails. internal/store sets it for PostgreSQL (pipeline
	// mode); nil on an engine without one.
	Pipeline func(ctx context.Context, driverConn any, stmts []Stmt) ([]int64, error)

	// reader is the read-replica view of this database (see Reader);
	// primary the database a view was made from; replica reports on it.
	reader, primary *DB
	replica         func() ReplicaStatus
}

// ReplicaStatus is how a read replica is doing, for /metrics.
type ReplicaStatus struct {
	Up    bool    // it answered its last check
	Lag   float64 // seconds its data is behind the primary's (when Up)
	InUse bool    // reads go to it (up and within the allowed lag)
}

// Reader is the database for reads that may be a little behind the
// primary: dashboards, the public map and the figures reports are made of,
// and tracing's reads of check-ins. Its R reads from the read replica
// (--db-replica) while the replica is up and within the allowed lag, else
// from the primary; its W is the primary's. Without a replica it is db
// itself. Pages that read what their user has just written use the primary.
func (db *DB) Reader() *DB {
	if db.reader != nil {
		return db.reader
	}
	return db
}

// Primary is the database a Reader view was made from (db itself
// otherwise): reads that must see their own writes.
func (db *DB) Primary() *DB {
	if db.primary != nil {
		return db.primary
	}
	return db
}

// SetReplica gives db a Reader view whose reads go through r, a pool that
// routes to the replica or the primary, and status to report on the
// replica; r is closed with db. (internal/store builds both.)
func (db *DB) SetReplica(r *sql.DB, status func() ReplicaStatus) {
	db.reader = &DB{W: db.W, R: r, Engine: db.Engine, primary: db}
	db.replica = status
	db.OnClose = append(db.OnClose, func() { r.Close() })
}

// Replica reports on the read replica; false when there is none.
func (db *DB) Replica() (ReplicaStatus, bool) {
	db = db.Primary()
	if db.replica == nil {
		return ReplicaStatus{}, false
	}
	return db.replica(), true
}

// Tx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return settle(tx, fn(tx))
}

// settle commits tx when err (what its work returned) is nil, else rolls
// it back and returns err.
func settle(tx *sql.Tx, err error) error {
	if err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Stmt is one statement of a Pipe.
type Stmt struct {
	SQL  string
	Args []any
}

// Pipe runs statements in order in a transaction and answers the rows each
// one affected; it stops at the first that fails.
type Pipe func(ctx context.Context, stmts []Stmt) ([]int64, error)

// PipeTx runs fn in a write transaction as Tx does, with a pipe that sends
// many statements in one round trip (PostgreSQL's pipeline mode: a batch of
// check-ins costs the database one wake-up, not one a statement). On an
// engine without pipelining the pipe runs them one by one.
func (db *DB) PipeTx(ctx context.Context, fn func(*sql.Tx, Pipe) error) error {
	if db.Pipeline == nil {
		return db.Tx(ctx, func(tx *sql.Tx) error { return fn(tx, TxPipe(tx, nil)) })
	}
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	pipe := func(ctx context.Context, stmts []Stmt) (n []int64, err error) {
		// The transaction is open on this connection: Raw sends on it. Raw
		// would close the connection after a panic or driver.ErrBadConn,
		// which waits for the transaction to end: forever. Both become a
		// plain error; the rollback then ends the transaction and the pool
		// drops a broken connection when it is handed back.
		err = conn.Raw(func(dc any) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("pipeline: %v", r)
				}
			}()
			n, err = db.Pipeline(ctx, dc, stmts)
			if errors.Is(err, driver.ErrBadConn) {
				err = fmt.Errorf("%w: pipeline: %s", errs.ErrUnavailable, err)
			}
			return err
		})
		return n, err
	}
	return settle(tx, fn(tx, pipe))
}

// TxPipe is a pipe that runs the statements one by one in tx: one found in
// prepared (statements prepared once on tx's database) as that statement,
// others as written.
func TxPipe(tx *sql.Tx, prepared map[string]*sql.Stmt) Pipe {
	return func(ctx context.Context, stmts []Stmt) ([]int64, error) {
		n := make([]int64, len(stmts))
		for i, s := range stmts {
			var res sql.Result
			var err error
			if st, ok := prepared[s.SQL]; ok {
				res, err = tx.StmtContext(ctx, st).ExecContext(ctx, s.Args...)
			} else {
				res, err = tx.ExecContext(ctx, s.SQL, s.Args...)
			}
			if err != nil {
				return n, err
			}
			n[i], _ = res.RowsAffected()
		}
		return n, nil
	}
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

// DeleteBatched deletes table's rows matching where, 10,000 a statement
// (chosen by key: a unique column, or PostgreSQL's ctid), so no lock is
// held long and no transaction grows with the table. It answers how many
// it deleted, also when a statement failed.
func (db *DB) DeleteBatched(ctx context.Context, table, key, where string, args ...any) (int64, error) {
	var n int64
	for {
		res, err := db.W.ExecContext(ctx, fmt.Sprintf("DELETE FROM %[1]s WHERE %[2]s IN (SELECT %[2]s FROM %[1]s WHERE %[3]s LIMIT 10000)", table, key, where), args...)
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		if n += k; k < 10000 {
			return n, nil
		}
	}
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
