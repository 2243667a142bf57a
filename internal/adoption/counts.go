package adoption

import (
	"context"
	"fmt"

	"anticovid/internal/sqldb"
)

// CountSmartphoneUsers sums the smartphone users recorded per commune, for
// the dashboard's adoption gauge.
func CountSmartphoneUsers(ctx context.Context, db *sqldb.DB, fn func(commune string, n int64)) error {
	if err := db.CountBy(ctx, fn, "SELECT commune_code, sum(users) FROM adoption_smartphones GROUP BY commune_code"); err != nil {
		return fmt.Errorf("count smartphone users: %w", err)
	}
	return nil
}
