package people

import (
	"context"
	"database/sql"
	"fmt"

	"anticovid/internal/sqldb"
)

// BulkRow is a person a generator or simulator stores under an id it chose
// (after MaxID); CreatedAt is Unix seconds.
type BulkRow struct {
	ID int64
	Sealed
	CreatedAt int64
}

// Bulk is the people table's bulk insert path: many rows per statement in
// the caller's transaction, with no look-up first (the caller knows the
// phones are new). The regular path is FindOrCreate or Writer.
type Bulk struct{ b *sqldb.Bulk }

// NewBulk returns a bulk inserter working in tx; Close it before tx ends.
func NewBulk(tx *sql.Tx) *Bulk {
	return &Bulk{sqldb.NewBulk(tx, `INSERT INTO people (id, name_enc, phone_enc, phone_hash, id_number_enc, id_number_hash, birth_year,
		commune_code, district_code, province_code, created_at) VALUES `, 11)}
}

// Insert stores rows with one statement (keep it to a few dozen rows).
func (b *Bulk) Insert(ctx context.Context, rows []BulkRow) error {
	args := make([]any, 0, len(rows)*11)
	for _, r := range rows {
		args = append(args, r.ID, r.Name, r.Phone, nullable(r.PhoneHash), nullBytes(r.IDNumber), nullable(r.IDNumberHash), r.BirthYear,
			r.Commune, r.District, r.Province, r.CreatedAt)
	}
	if err := b.b.Exec(ctx, args); err != nil {
		return fmt.Errorf("people: %w", err)
	}
	return nil
}

// Close releases the prepared statements.
func (b *Bulk) Close() { b.b.Close() }

// nullBytes stores an absent sealed value as NULL.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// MaxID returns the largest person id stored (0 when none): bulk loaders
// number their rows after it.
func MaxID(ctx context.Context, db *sqldb.DB) (int64, error) {
	var id int64
	if err := db.R.QueryRowContext(ctx, "SELECT COALESCE(max(id), 0) FROM people").Scan(&id); err != nil {
		return 0, fmt.Errorf("people max id: %w", err)
	}
	return id, nil
}
