package sqldb

import (
	"context"
	"fmt"
)

// CountBy runs q on the reader, which selects a group key and a count per
// row, and hands each row to fn in the order returned: owner packages
// answer the dashboard's counting questions with it.
func (db *DB) CountBy(ctx context.Context, fn func(key string, n int64), q string, args ...any) error {
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n int64
		if err := rows.Scan(&key, &n); err != nil {
			return err
		}
		fn(key, n)
	}
	return rows.Err()
}

// UnitWhere returns the WHERE clause, with its argument as $1, that limits
// records keeping the unit columns (commune_code, district_code,
// province_code) to one unit by its column; "" means the whole country.
func UnitWhere(column, unit string) (string, []any, error) {
	switch column {
	case "":
		return "1 = 1", nil, nil
	case "commune_code", "district_code", "province_code":
		return column + " = $1", []any{unit}, nil
	}
	return "", nil, fmt.Errorf("unit column %q", column)
}
