package sqldb

import "context"

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
