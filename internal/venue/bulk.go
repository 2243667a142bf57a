package venue

import (
	"context"
	"database/sql"
	"fmt"

	"anticovid/internal/sqldb"
)

// Bulk is the venues table's bulk insert path for generators: venues with
// ids the caller chose (after MaxID), many per statement, in the caller's
// transaction, with no validation (the regular path is Create or Import).
type Bulk struct {
	b  *sqldb.Bulk
	tx *sql.Tx
}

// NewBulk returns a bulk inserter working in tx; Close it before tx ends.
func NewBulk(tx *sql.Tx) *Bulk {
	return &Bulk{b: sqldb.NewBulk(tx, `INSERT INTO venues (id, name, category, commune_code, district_code, province_code, address, lat, lon,
		capacity, starts_at, ends_at, plate, route, status, manager_id, created_at, search_key) VALUES `, 18), tx: tx}
}

// Insert stores venues with one statement (keep it to a few dozen). Only
// the fields a generator sets are stored; contacts and hours stay empty.
func (b *Bulk) Insert(ctx context.Context, vs []Venue) error {
	args := make([]any, 0, len(vs)*18)
	keys := make(map[int64]string, len(vs))
	for _, v := range vs {
		keys[v.ID] = searchKey(v)
		var manager any
		if v.ManagerID != nil {
			manager = *v.ManagerID
		}
		args = append(args, v.ID, v.Name, v.Category, v.CommuneCode, v.DistrictCode, v.ProvinceCode, v.Address, v.Lat, v.Lon,
			v.Capacity, unixOrNil(v.StartsAt), unixOrNil(v.EndsAt), v.Plate, v.Route, v.Status, manager, v.CreatedAt.Unix(), searchKey(v))
	}
	if err := b.b.Exec(ctx, args); err != nil {
		return fmt.Errorf("venues: %w", err)
	}
	return indexWords(ctx, b.tx, keys)
}

// Close releases the prepared statements.
func (b *Bulk) Close() { b.b.Close() }

// MaxID returns the largest venue id stored (0 when there is none).
func MaxID(ctx context.Context, db *sqldb.DB) (int64, error) {
	var id int64
	if err := db.R.QueryRowContext(ctx, "SELECT COALESCE(max(id), 0) FROM venues").Scan(&id); err != nil {
		return 0, fmt.Errorf("venues max id: %w", err)
	}
	return id, nil
}
