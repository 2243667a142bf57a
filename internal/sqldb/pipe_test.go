package sqldb_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"testing"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// A pipe runs its statements in order inside the transaction and answers
// each one's rows; a statement that fails stops it and undoes the whole
// transaction. PostgreSQL sends them in pipeline mode.
func TestPipeTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if db.Engine == sqldb.Postgres && db.Pipeline == nil {
			t.Fatal("PostgreSQL opened without its pipeline")
		}
		if _, err := db.W.ExecContext(ctx, "CREATE TABLE pipe_test (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		ins := "INSERT INTO pipe_test (id, n) VALUES ($1, $2) ON CONFLICT DO NOTHING"
		var got []int64
		err := db.PipeTx(ctx, func(tx *sql.Tx, pipe sqldb.Pipe) error {
			var err error
			got, err = pipe(ctx, []sqldb.Stmt{
				{SQL: ins, Args: []any{1, 10}},
				{SQL: ins, Args: []any{1, 99}}, // a repeat: nothing
				{SQL: ins, Args: []any{2, 20}},
				{SQL: "UPDATE pipe_test SET n = n + 1 WHERE id <= $1", Args: []any{2}}, // sees both
			})
			if err != nil {
				return err
			}
			var sum int64 // the transaction's own statements see the pipe's writes
			if err := tx.QueryRowContext(ctx, "SELECT sum(n) FROM pipe_test").Scan(&sum); err != nil || sum != 32 {
				t.Errorf("sum in the transaction %d: %v", sum, err)
			}
			got2, err := pipe(ctx, []sqldb.Stmt{{SQL: ins, Args: []any{3, 30}}}) // a second round
			got = append(got, got2...)
			return err
		})
		if err != nil || !slices.Equal(got, []int64{1, 0, 1, 2, 1}) {
			t.Fatalf("rows %v: %v", got, err)
		}
		err = db.PipeTx(ctx, func(tx *sql.Tx, pipe sqldb.Pipe) error {
			_, err := pipe(ctx, []sqldb.Stmt{
				{SQL: ins, Args: []any{4, 40}},
				{SQL: "INSERT INTO pipe_test (id, n) VALUES ($1, NULL)", Args: []any{5}}, // refused
				{SQL: ins, Args: []any{6, 60}},
			})
			return err
		})
		var n, sum int64
		db.R.QueryRowContext(ctx, "SELECT count(*), sum(n) FROM pipe_test").Scan(&n, &sum)
		if err == nil || n != 3 || sum != 62 {
			t.Fatalf("after a failed statement: %d rows summing to %d, error %v", n, sum, err)
		}
		if db.Engine != sqldb.Postgres {
			return
		}
		// A driver that says its connection is bad, or a pipeline that
		// panics, fails the transaction instead of hanging it (database/sql
		// would close the connection under the open transaction).
		real := db.Pipeline
		defer func() { db.Pipeline = real }()
		for name, p := range map[string]func(context.Context, any, []sqldb.Stmt) ([]int64, error){
			"bad connection": func(context.Context, any, []sqldb.Stmt) ([]int64, error) {
				return nil, fmt.Errorf("send: %w", driver.ErrBadConn)
			},
			"panic": func(context.Context, any, []sqldb.Stmt) ([]int64, error) { panic("broken") },
		} {
			db.Pipeline = p
			done := make(chan error, 1)
			go func() {
				done <- db.PipeTx(ctx, func(tx *sql.Tx, pipe sqldb.Pipe) error {
					_, err := pipe(ctx, []sqldb.Stmt{{SQL: ins, Args: []any{7, 70}}})
					return err
				})
			}()
			select {
			case err := <-done:
				if err == nil || (name == "bad connection") != errs.Unavailable(err) {
					t.Errorf("%s: %v (unavailable: %v)", name, err, errs.Unavailable(err))
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the transaction hangs", name)
			}
		}
		db.Pipeline = real
		if _, err := db.W.ExecContext(ctx, ins, 8, 80); err != nil {
			t.Errorf("the pool after: %v", err)
		}
	})
}
