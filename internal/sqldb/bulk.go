package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Bulk inserts rows with multi-row INSERT statements inside one
// transaction, preparing each statement shape (row count) once: the fast
// path generators and simulators load millions of rows with. Owner packages
// wrap it with their table's columns; keep statements to a few dozen rows
// (SQLite's parser is slow on long $n lists).
type Bulk struct {
	tx    *sql.Tx
	head  string // "INSERT INTO t (a, b) VALUES "
	cols  int
	stmts map[int]*sql.Stmt
}

// NewBulk returns a bulk inserter of rows of cols values after head.
func NewBulk(tx *sql.Tx, head string, cols int) *Bulk {
	return &Bulk{tx: tx, head: head, cols: cols, stmts: map[int]*sql.Stmt{}}
}

// Exec inserts len(args)/cols rows with one statement.
func (b *Bulk) Exec(ctx context.Context, args []any) error {
	if len(args) == 0 {
		return nil
	}
	if len(args)%b.cols != 0 {
		return fmt.Errorf("bulk insert: %d values for rows of %d", len(args), b.cols)
	}
	rows := len(args) / b.cols
	st := b.stmts[rows]
	if st == nil {
		var q strings.Builder
		q.WriteString(b.head)
		for r := range rows {
			if r > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(" + In(r*b.cols+1, b.cols) + ")")
		}
		var err error
		if st, err = b.tx.PrepareContext(ctx, q.String()); err != nil {
			return fmt.Errorf("bulk insert: %w", err)
		}
		b.stmts[rows] = st
	}
	if _, err := st.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("bulk insert: %w", err)
	}
	return nil
}

// Close releases the prepared statements (before the transaction ends).
func (b *Bulk) Close() {
	for _, st := range b.stmts {
		st.Close()
	}
}
