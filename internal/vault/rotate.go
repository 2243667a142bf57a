package vault

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"anticovid/internal/sqldb"
)

// A data-key rotation (README, "Keys"): every server starts with the new key
// as ANTICOVID_DATA_KEY and the previous one as ANTICOVID_DATA_KEY_OLD (or
// DATA/data.key and DATA/data.key.old after `anticovid keys rotate`). New
// values are sealed with the new key at once, both keys open, and the
// re-seal job (Rotation.Tick, one server at a time through internal/jobs)
// walks every owner's sealed columns in chunks, re-sealing what the old key
// sealed. Each owning package re-seals its own table (a Resealer), so no
// other package writes it; this package only keeps the progress, in
// vault_reseal, so a job taken over by another server goes on where the
// last chunk ended. The check value is re-sealed last: from then on a server
// with only the old key is refused, and the old key can go.

// Resealer is one owner's table of sealed values.
type Resealer interface {
	// ResealName names the table in progress records and logs.
	ResealName() string
	// Reseal re-seals with v's current key the values of up to limit rows
	// whose key is above after, in key order, leaving a row changed since
	// it was read alone. It returns the last row key read (after itself
	// when no row is left) and how many values it re-sealed.
	Reseal(ctx context.Context, v *Vault, after int64, limit int) (last int64, resealed int, err error)
}

// Column is one sealed column of a Resealer's table, with the owner's two
// statements: Select reads (row key, value) for keys above $1 in key order,
// at most $2 rows; Update sets the value to $1 where the key is $2 and the
// value is still $3.
type Column struct {
	Select, Update string
	// Prefix marks a TEXT column holding base64 of the sealed bytes after
	// this prefix (the outbox writes "sealed:"); Text with an empty prefix
	// is plain base64. A value without the prefix was never sealed.
	Text   bool
	Prefix string
}

// ResealColumns is a Resealer's body for tables whose sealed columns are
// listed as Columns: each column in turn from the same key. The chunk ends
// where the first column to fill its limit ended (rows past it in other
// columns are read again next time and found current).
func ResealColumns(ctx context.Context, db *sqldb.DB, v *Vault, cols []Column, after int64, limit int) (int64, int, error) {
	last, done, full := after, 0, false
	for _, c := range cols {
		l, n, filled, err := c.reseal(ctx, db, v, after, limit)
		if err != nil {
			return after, done, err
		}
		done += n
		switch {
		case filled && (!full || l < last):
			last, full = l, true
		case !full:
			last = max(last, l)
		}
	}
	return last, done, nil
}

func (c Column) reseal(ctx context.Context, db *sqldb.DB, v *Vault, after int64, limit int) (int64, int, bool, error) {
	type row struct {
		id    int64
		value any
	}
	rows, err := db.R.QueryContext(ctx, c.Select, after, limit)
	if err != nil {
		return after, 0, false, err
	}
	var todo []row
	last := after
	for rows.Next() {
		var id int64
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return after, 0, false, err
		}
		last = id
		if c.Text {
			todo = append(todo, row{id, string(raw)})
		} else {
			todo = append(todo, row{id, raw})
		}
	}
	if err := rows.Close(); err != nil {
		return after, 0, false, err
	}
	n := 0
	for _, r := range todo {
		sealed, ok := c.unwrap(r.value)
		if !ok || v.Current(sealed) {
			continue
		}
		plain, err := v.Open(sealed)
		if err != nil {
			return after, n, false, fmt.Errorf("row %d: %w", r.id, err)
		}
		res, err := db.W.ExecContext(ctx, c.Update, c.wrap(v.Seal(plain)), r.id, r.value)
		if err != nil {
			return after, n, false, fmt.Errorf("row %d: %w", r.id, err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		} // else the owner changed the row meanwhile, sealing with the current key
	}
	return last, n, len(todo) == limit, nil
}

// unwrap returns the sealed bytes of a stored value.
func (c Column) unwrap(value any) ([]byte, bool) {
	if !c.Text {
		b, _ := value.([]byte)
		return b, len(b) > 0
	}
	s, ok := strings.CutPrefix(value.(string), c.Prefix)
	if !ok || s == "" {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

func (c Column) wrap(sealed []byte) any {
	if !c.Text {
		return sealed
	}
	return c.Prefix + base64.StdEncoding.EncodeToString(sealed)
}

// Rotation is the re-seal job of a deployment.
type Rotation struct {
	DB     *sqldb.DB
	Vault  *Vault
	Tables []Resealer
	Chunk  int // rows per chunk (500 when 0)
	Log    *slog.Logger
}

// Progress is one table's re-seal progress toward the current key.
type Progress struct {
	Name     string
	Resealed int64
	Done     bool
}

// Tick runs the re-seal job until every table is done or ctx ends; without
// an old key it does nothing. Each chunk's progress is committed, so the job
// resumes after a restart or on another server.
func (r *Rotation) Tick(ctx context.Context) error {
	if !r.Vault.Rotating() {
		return nil
	}
	kid := r.Vault.KeyID()
	chunk := r.Chunk
	if chunk <= 0 {
		chunk = 500
	}
	worked := false
	for _, t := range append(r.Tables, checkTable{r.DB}) {
		name := t.ResealName()
		var after, total int64
		var done int
		err := r.DB.W.QueryRowContext(ctx, "SELECT after_id, resealed, done FROM vault_reseal WHERE name = $1 AND key_id = $2", name, kid).Scan(&after, &total, &done)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("data key re-seal %s: %w", name, err)
		}
		if done == 1 {
			continue
		}
		worked = true
		for {
			last, n, err := t.Reseal(ctx, r.Vault, after, chunk)
			if err != nil {
				return fmt.Errorf("data key re-seal %s: %w", name, err)
			}
			total += int64(n)
			fin := last == after
			if _, err := r.DB.W.ExecContext(ctx, `INSERT INTO vault_reseal (name, key_id, after_id, resealed, done, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (name, key_id) DO UPDATE SET after_id = excluded.after_id, resealed = excluded.resealed, done = excluded.done, updated_at = excluded.updated_at`,
				name, kid, last, total, b2i(fin), time.Now().Unix()); err != nil {
				return fmt.Errorf("data key re-seal %s: %w", name, err)
			}
			if fin {
				r.log().Info("data key re-seal: table done", "table", name, "resealed", total, "key_id", kid)
				break
			}
			after = last
		}
	}
	if worked {
		r.log().Info("data key rotation complete: every sealed value opens with the new key; remove the old key", "key_id", kid)
	}
	return nil
}

// Progress reads each table's progress toward the current key.
func (r *Rotation) Progress(ctx context.Context) ([]Progress, error) {
	rows, err := r.DB.R.QueryContext(ctx, "SELECT name, resealed, done FROM vault_reseal WHERE key_id = $1", r.Vault.KeyID())
	if err != nil {
		return nil, fmt.Errorf("data key re-seal progress: %w", err)
	}
	defer rows.Close()
	byName := map[string]Progress{}
	for rows.Next() {
		var p Progress
		var done int
		if err := rows.Scan(&p.Name, &p.Resealed, &done); err != nil {
			return nil, fmt.Errorf("data key re-seal progress: %w", err)
		}
		p.Done = done == 1
		byName[p.Name] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("data key re-seal progress: %w", err)
	}
	var out []Progress
	for _, t := range append(r.Tables, checkTable{r.DB}) {
		p, ok := byName[t.ResealName()]
		if !ok {
			p = Progress{Name: t.ResealName()}
		}
		out = append(out, p)
	}
	return out, nil
}

func (r *Rotation) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkTable is this package's own sealed values: the look-up keys, then
// the check value, last of all.
type checkTable struct{ db *sqldb.DB }

func (checkTable) ResealName() string { return "vault" }

func (c checkTable) Reseal(ctx context.Context, v *Vault, after int64, limit int) (int64, int, error) {
	if after > 0 {
		return after, 0, nil
	}
	_, n, err := ResealColumns(ctx, c.db, v, []Column{
		{Select: "SELECT id, sealed FROM vault_lookup WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE vault_lookup SET sealed = $1 WHERE id = $2 AND sealed = $3"},
		{Select: "SELECT id, sealed FROM vault_check WHERE id > $1 ORDER BY id LIMIT $2", Update: "UPDATE vault_check SET sealed = $1 WHERE id = $2 AND sealed = $3"},
	}, 0, limit)
	return 1, n, err
}
