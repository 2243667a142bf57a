package sqldb

import (
	"context"
	"fmt"
	"time"
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

// vietnam is Asia/Ho_Chi_Minh (no DST since 1975): the days lists filter by.
var vietnam = time.FixedZone("ICT", 7*3600)

// DayRange narrows a condition to rows whose column (Unix seconds) falls in
// the days from and to, "YYYY-MM-DD" in Vietnam, both ends included; an empty
// end is open. bad names "from" or "to" when that date does not parse.
func DayRange(where string, args []any, column, from, to string) (string, []any, []string) {
	var bad []string
	for _, d := range []struct{ field, v, op string }{{"from", from, ">="}, {"to", to, "<"}} {
		if d.v == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", d.v, vietnam)
		if err != nil {
			bad = append(bad, d.field)
			continue
		}
		if d.field == "to" {
			t = t.AddDate(0, 0, 1)
		}
		args = append(args, t.Unix())
		where += fmt.Sprintf(" AND %s %s $%d", column, d.op, len(args))
	}
	return where, args, bad
}
