package venue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
)

// Brief is what other packages show of a venue next to their own records
// (a case's exposure venues, a contact's place, a stay's category): no
// personal data, so no service and no audit is needed to read it.
type Brief struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Category     string   `json:"category"`
	Address      string   `json:"address"`
	CommuneCode  string   `json:"commune_code"`
	DistrictCode string   `json:"district_code"`
	ProvinceCode string   `json:"province_code"`
	Lat          *float64 `json:"lat,omitempty"`
	Lon          *float64 `json:"lon,omitempty"`
}

// Briefs returns the venues with the given ids, by id; unknown ids are
// absent. Ids are read in chunks of 500 so any number fits a statement.
func Briefs(ctx context.Context, db *sqldb.DB, ids []int64) (map[int64]Brief, error) {
	out := make(map[int64]Brief, len(ids))
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rows, err := db.R.QueryContext(ctx, `SELECT id, name, category, address, commune_code, district_code, province_code, lat, lon
			FROM venues WHERE id IN (`+in+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var b Brief
			if err := rows.Scan(&b.ID, &b.Name, &b.Category, &b.Address, &b.CommuneCode, &b.DistrictCode, &b.ProvinceCode, &b.Lat, &b.Lon); err != nil {
				rows.Close()
				return err
			}
			out[b.ID] = b
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("venue briefs: %w", err)
	}
	return out, nil
}

// Door returns what the check-in door needs of a venue (name, category,
// place and province, status, QR generation, and the position and capacity its
// plausibility rules weigh), with no jurisdiction check: the door
// proves access with a signed token instead. Callers cache it.
func Door(ctx context.Context, db *sqldb.DB, id int64) (Venue, error) {
	var v Venue
	err := db.R.QueryRowContext(ctx, "SELECT id, name, category, commune_code, province_code, address, status, qr_gen, lat, lon, capacity FROM venues WHERE id = $1", id).
		Scan(&v.ID, &v.Name, &v.Category, &v.CommuneCode, &v.ProvinceCode, &v.Address, &v.Status, &v.QRGen, &v.Lat, &v.Lon, &v.Capacity)
	if errors.Is(err, sql.ErrNoRows) {
		return Venue{}, fmt.Errorf("venue %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Venue{}, fmt.Errorf("venue %d: %w", id, err)
	}
	return v, nil
}

// ApprovedIn returns the approved venues of a commune or district (level
// "commune" or "district") within p's sector (a venue manager: only their
// own), by category then name. The
// caller checks p's jurisdiction over the unit.
func ApprovedIn(ctx context.Context, db *sqldb.DB, p *auth.Principal, level, unit string) ([]Brief, error) {
	if level != "commune" && level != "district" {
		return nil, fmt.Errorf("approved venues: level %q: %w", level, errs.ErrInvalid)
	}
	sector, args := SectorSQL(p, 2)
	if p != nil && p.Role == auth.VenueManager { // their own venues, not their commune's
		sector, args = " AND manager_id = $2", []any{p.UserID}
	}
	rows, err := db.R.QueryContext(ctx, `SELECT id, name, category, address, commune_code, province_code, lat, lon FROM venues
		WHERE status = 'approved' AND `+level+`_code = $1`+sector+` ORDER BY category, name`, append([]any{unit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("approved venues: %w", err)
	}
	defer rows.Close()
	var out []Brief
	for rows.Next() {
		var b Brief
		if err := rows.Scan(&b.ID, &b.Name, &b.Category, &b.Address, &b.CommuneCode, &b.ProvinceCode, &b.Lat, &b.Lon); err != nil {
			return nil, fmt.Errorf("approved venues: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Located is where a venue is, what kind it is, and whether it is approved:
// what counting by commune and sector needs.
type Located struct {
	Commune, Category string
	Approved          bool
}

// Locate returns the place and category of venues by id, of every venue
// when ids is nil (a cache reloaded now and then); unknown ids are absent.
func Locate(ctx context.Context, db *sqldb.DB, ids []int64) (map[int64]Located, error) {
	out := map[int64]Located{}
	read := func(where string, args []any) error {
		rows, err := db.R.QueryContext(ctx, "SELECT id, commune_code, category, status FROM venues"+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var l Located
			var status string
			if err := rows.Scan(&id, &l.Commune, &l.Category, &status); err != nil {
				return err
			}
			l.Approved = status == StatusApproved
			out[id] = l
		}
		return rows.Err()
	}
	if ids == nil {
		if err := read("", nil); err != nil {
			return nil, fmt.Errorf("locate venues: %w", err)
		}
		return out, nil
	}
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error { return read(" WHERE id IN ("+in+")", args) })
	if err != nil {
		return nil, fmt.Errorf("locate venues: %w", err)
	}
	return out, nil
}

// CategoryReader reads venues' categories on one statement prepared once on
// the reader pool, for contact tracing: each trace needs the categories of
// the F0's venues, and Briefs, a new statement text for each number of ids,
// has SQLite parse and plan it again on every trace (6% of a province
// trace's CPU). Safe for concurrent use; it lives as long as the database.
type CategoryReader struct{ stmt *sql.Stmt }

// PrepareCategoryReader prepares the statement. CAST keeps SQLite from
// preparing it again whenever the id changes (with STAT4 statistics a
// parameter compared with an indexed column is planned for its value).
func PrepareCategoryReader(ctx context.Context, db *sqldb.DB) (*CategoryReader, error) {
	stmt, err := db.R.PrepareContext(ctx, "SELECT category FROM venues WHERE id = CAST($1 AS BIGINT)")
	if err != nil {
		return nil, fmt.Errorf("venue categories: %w", err)
	}
	return &CategoryReader{stmt: stmt}, nil
}

// Categories returns the categories of the venues ids, by id; unknown ids
// are absent.
func (c *CategoryReader) Categories(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		var cat string
		err := c.stmt.QueryRowContext(ctx, id).Scan(&cat)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("venue categories: %w", err)
		}
		out[id] = cat
	}
	return out, nil
}
