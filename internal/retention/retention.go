// Package retention deletes personal data whose time is up: check-ins exist
// for epidemic control only and are kept for a limited time (21 days by
// default), then removed for good.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/sqldb"
)

// Report says how many rows one purge removed, by table.
type Report map[string]int64

// purges lists what is deleted and by which time column; each table has an id key. Tables added by later
// modules (declarations, contact logs) join this list. This is the one place that deletes from other
// packages' tables: the retention policy of every personal-data table is read and reviewed here, as one
// list (the ownership test in internal/store names it as the exception). Sessions are auth's to purge.
var purges = []struct{ table, column string }{
	{"visits", "t_in"},
	{"visits_held", "t_in"}, // check-ins held for review (internal/checkin): purged like visits
	{"outbox", "created_at"},
	{"otp_codes", "created_at"}, // one-time codes (internal/otp): phone hashes, persons
	{"declarations", "created_at"},
	// Bluetooth tracing (internal/bluezone, internal/exposure): resolved contacts
	// first (they reference uploads), fed daily keys, EN keys, erasures.
	{"bz_sightings", "first_at"},
	{"bz_uploads", "created_at"},
	{"bz_feed", "day_start"},
	{"en_keys", "created_at"},
	{"bz_erased", "erased_at"},
	// Case follow-up (internal/cases): contacts, their calls and exposure venues
	// outlive their quarantine by a week; lab uploads wait for a decision only.
	{"contact_calls", "at"},
	{"contact_handoffs", "handed_at"},
	{"contacts", "created_at"},
	{"exposures", "t_from"},
	{"case_imports", "created_at"},
	// Campaigns (internal/campaign): the delivery log names recipients by record.
	{"campaign_deliveries", "queued_at"},
}

// Days drops whole day partitions (PostgreSQL: internal/store's DayDropper,
// given by cmd/anticovid/wire.go, since this package never names a driver).
type Days interface {
	// Handles reports whether table is partitioned by day on column.
	Handles(table, column string) bool
	// DropBefore drops table's days that begin at or before cutoff (and
	// deletes older stragglers), returning the rows removed.
	DropBefore(ctx context.Context, table string, cutoff int64) (int64, error)
}

// Purge deletes every record older than now − keep, and expired sessions, in
// batches so a large purge never holds the writer for long.
func Purge(ctx context.Context, db *sqldb.DB, now time.Time, keep time.Duration) (Report, error) {
	return PurgeDays(ctx, db, nil, now, keep)
}

// PurgeDays is Purge, with days (may be nil) dropping the day partitions of
// the tables it handles instead of deleting their rows: one DROP TABLE per
// day instead of millions of deletes and the vacuum after them. A table's
// rows then leave within the day before their time is up, never after.
func PurgeDays(ctx context.Context, db *sqldb.DB, days Days, now time.Time, keep time.Duration) (Report, error) {
	cutoff := now.Add(-keep).Unix()
	rep := Report{}
	for _, p := range purges {
		if days != nil && days.Handles(p.table, p.column) {
			n, err := days.DropBefore(ctx, p.table, cutoff)
			rep[p.table] += n
			if err != nil {
				return rep, fmt.Errorf("purge %s: %w", p.table, err)
			}
			continue
		}
		n, err := db.DeleteBatched(ctx, p.table, "id", p.column+" < $1", cutoff)
		rep[p.table] += n
		if err != nil {
			return rep, fmt.Errorf("purge %s: %w", p.table, err)
		}
	}
	n, err := auth.PurgeSessions(ctx, db, now)
	if err != nil {
		return rep, err
	}
	rep["sessions"] = n
	return rep, nil
}

// Tick is one turn of the purge job (internal/jobs runs it on one server at
// a time): Purge now, logged. A purge cut short is finished by the next.
func Tick(ctx context.Context, db *sqldb.DB, days Days, keep time.Duration, log *slog.Logger) error {
	rep, err := PurgeDays(ctx, db, days, time.Now(), keep)
	if err == nil {
		log.Info("retention purge", "deleted", rep)
	}
	return err
}
