package bluezone

import (
	"context"
	"fmt"

	"anticovid/internal/sqldb"
)

// CountDevices counts the registered Bluezone phones by commune, for the
// dashboard.
func CountDevices(ctx context.Context, db *sqldb.DB, fn func(commune string, n int64)) error {
	if err := db.CountBy(ctx, fn, "SELECT commune_code, count(*) FROM bz_devices GROUP BY commune_code"); err != nil {
		return fmt.Errorf("count devices: %w", err)
	}
	return nil
}
