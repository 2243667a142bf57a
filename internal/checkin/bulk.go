package checkin

import (
	"context"
	"database/sql"
	"fmt"

	"anticovid/internal/sqldb"
)

// BulkVisit is a stay a generator stores directly: ID is the check-in's
// client id, times are Unix seconds, Out nil when never checked out.
type BulkVisit struct {
	ID                string
	VenueID, PersonID int64
	In                int64
	Out               *int64
	Proof             int // evidence grade (Unproven, PhoneProven, StaffSeen)
}

// Bulk is the visits table's bulk insert path for generators: many rows
// per statement in the caller's transaction, bypassing the group-commit
// writer and its journal (nothing is acknowledged to anyone).
type Bulk struct{ b *sqldb.Bulk }

// NewBulk returns a bulk inserter working in tx; Close it before tx ends.
func NewBulk(tx *sql.Tx) *Bulk {
	return &Bulk{sqldb.NewBulk(tx, "INSERT INTO visits (id, venue_id, person_id, t_in, t_out, proof) VALUES ", 6)}
}

// Insert stores visits with one statement (keep it to a few dozen).
func (b *Bulk) Insert(ctx context.Context, vs []BulkVisit) error {
	args := make([]any, 0, len(vs)*6)
	for _, v := range vs {
		var out any
		if v.Out != nil {
			out = *v.Out
		}
		args = append(args, v.ID, v.VenueID, v.PersonID, v.In, out, v.Proof)
	}
	if err := b.b.Exec(ctx, args); err != nil {
		return fmt.Errorf("visits: %w", err)
	}
	return nil
}

// Close releases the prepared statements.
func (b *Bulk) Close() { b.b.Close() }
