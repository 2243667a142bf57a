package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"anticovid/internal/sqldb"
)

// BulkLoad readies db for one large load and returns the function that ends
// it. On SQLite: a large page cache for the writer (random inserts into the
// text primary key of visits are otherwise bound by page reads), and a
// truncating checkpoint every interval (left to the automatic checkpoint, the
// write-ahead log of a 21 M-row build grew by gigabytes a minute), each
// reported to report when it is not nil. On PostgreSQL: nothing.
func BulkLoad(ctx context.Context, db *sqldb.DB, every time.Duration, report func(busy, logFrames, checkpointed int)) (stop func()) {
	if db.Engine != sqldb.SQLite {
		return func() {}
	}
	db.W.ExecContext(ctx, "PRAGMA cache_size = -4000000")
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var busy, logN, ckpt int
				db.W.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logN, &ckpt)
				if report != nil {
					report(busy, logN, ckpt)
				}
			}
		}
	}()
	return func() { close(done) }
}

// DropIndexes drops the secondary indexes of table (not its primary key nor
// unique constraints) and returns the statements that recreate them: a bulk
// load then builds them by sorting, not row by row, which at province scale
// is the difference between hours and minutes.
func DropIndexes(ctx context.Context, db *sqldb.DB, table string) ([]string, error) {
	q := "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
	if db.Engine == sqldb.Postgres {
		q = `SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = $1
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`
	}
	rows, err := db.R.QueryContext(ctx, q, table)
	if err != nil {
		return nil, fmt.Errorf("%s indexes: %w", table, err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		// A partitioned table's index is spelled "ON ONLY parent", which
		// would make it on the parent alone: made again without ONLY it
		// is built on every partition.
		names, defs = append(names, name), append(defs, strings.Replace(def, " ON ONLY ", " ON ", 1))
	}
	rows.Close()
	for _, n := range names {
		if _, err := db.W.ExecContext(ctx, "DROP INDEX "+n); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", n, err)
		}
	}
	return defs, nil
}

// CreateIndexes runs the statements DropIndexes returned.
func CreateIndexes(ctx context.Context, db *sqldb.DB, defs []string) error {
	for _, def := range defs {
		if _, err := db.W.ExecContext(ctx, def); err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
	}
	return nil
}

// Analyze refreshes the planner's statistics after a bulk load; on
// PostgreSQL it vacuums too, which sets the visibility map that index-only
// scans need.
func Analyze(ctx context.Context, db *sqldb.DB) error {
	analyze := "ANALYZE"
	if db.Engine == sqldb.Postgres {
		analyze = "VACUUM ANALYZE"
	}
	if _, err := db.W.ExecContext(ctx, analyze); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// StayGiSTProbe is a tracing probe (tracing.QR.Probe) that asks PostgreSQL's
// GiST index on (venue_id, [t_in, t_in + stayCap]) for the stays overlapping
// [$2 + stayCap, $3]: the usual "which ranges overlap this one" query. That
// set is exactly the B-tree probe's t_in in [$2, $3], so the tracing engine's
// pairing gives the same contacts from either index. EnsureStayGiST builds
// the index.
func StayGiSTProbe(stayCap time.Duration) string {
	return fmt.Sprintf(`SELECT person_id, t_in, t_out, proof FROM visits
	WHERE venue_id = $1 AND int8range(t_in, t_in + %[1]d, '[]') && int8range($2::bigint + %[1]d, $3::bigint, '[]')
	AND (t_out IS NULL OR t_out >= $4::bigint)`, int64(stayCap/time.Second))
}

// EnsureStayGiST builds, on PostgreSQL, the GiST index StayGiSTProbe reads
// unless it exists, and reports whether it built it.
func EnsureStayGiST(ctx context.Context, pg *sqldb.DB, stayCap time.Duration) (bool, error) {
	if _, err := pg.W.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS btree_gist"); err != nil {
		return false, fmt.Errorf("btree_gist: %w", err)
	}
	var exists bool
	pg.R.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'visits_venue_stay_gist')").Scan(&exists)
	if exists {
		return false, nil
	}
	if _, err := pg.W.ExecContext(ctx, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS visits_venue_stay_gist ON visits USING gist (venue_id, int8range(t_in, t_in + %d, '[]'))`,
		int64(stayCap/time.Second))); err != nil {
		return false, fmt.Errorf("gist index: %w", err)
	}
	pg.W.ExecContext(ctx, "ANALYZE visits")
	return true, nil
}

// ReplicaLag is the largest replay lag, in seconds, of the streaming
// replicas a PostgreSQL primary sends to (pg_stat_replication; 0 with
// none). SQLite has no replicas: 0.
func ReplicaLag(ctx context.Context, db *sqldb.DB) (float64, error) {
	if db.Engine != sqldb.Postgres {
		return 0, nil
	}
	var lag float64
	if err := db.R.QueryRowContext(ctx, "SELECT COALESCE(EXTRACT(EPOCH FROM max(replay_lag)), 0)::float8 FROM pg_stat_replication").Scan(&lag); err != nil {
		return 0, fmt.Errorf("replica lag: %w", err)
	}
	return lag, nil
}
