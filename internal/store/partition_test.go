package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

// TestDayPartitionsMigrateRows: migration 0043 on a PostgreSQL database
// holding rows moves every one into the partitioned tables (recent days into
// their partitions, older ones into the DEFAULT partition), fills visits'
// and bz_sightings' province, keeps ids going past the old ones, and keeps
// the old tables' columns, so a server of the previous release runs on it.
func TestDayPartitionsMigrateRows(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.PostgresURL(t), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := store.MigrateTo(ctx, db, 42); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.W.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO venues (id, name, category, commune_code, district_code, province_code, status, created_at)
		VALUES (7, 'v', 'market', '27787', '794', '80', 'approved', 0)`)
	ages := []time.Duration{time.Hour, 3 * 24 * time.Hour, 20 * 24 * time.Hour, 60 * 24 * time.Hour}
	for i, age := range ages {
		at := now.Add(-age).Unix()
		exec("INSERT INTO visits (id, venue_id, person_id, t_in, t_out, out_id) VALUES ($1, 7, $2, $3, NULL, NULL)", fmt.Sprintf("v%d", i), i+1, at)
		exec("INSERT INTO audit_log (at, user_id, username, action, subject, record_ids, purpose) VALUES ($1, 1, 'u', 'view', 'person', '1', 'p')", at)
	}
	var upload int64
	if err := db.W.QueryRow(`INSERT INTO bz_uploads (person_id, code_id, rows_in, ids_in, ids_resolved, candidates, first_at, last_at,
		commune_code, district_code, province_code, created_at) VALUES (1, 1, 0, 0, 0, 0, 0, 0, '27787', '794', '80', 0) RETURNING id`).Scan(&upload); err != nil {
		t.Fatal(err)
	}
	exec("INSERT INTO bz_sightings (upload_id, device_id, person_id, slot_start, first_at, last_at, max_rssi, n) VALUES ($1, 1, 2, 0, $2, $2, -60, 1)", upload, now.Unix())
	var maxAudit int64
	db.W.QueryRow("SELECT max(id) FROM audit_log").Scan(&maxAudit)

	if _, err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		table string
		n     int
	}{{"visits", 4}, {"audit_log", 4}, {"bz_sightings", 1}} {
		var n, old int
		db.W.QueryRow("SELECT count(*) FROM " + tc.table).Scan(&n)
		db.W.QueryRow("SELECT count(*) FROM " + tc.table + "_unpartitioned").Scan(&old)
		if n != tc.n || old != tc.n {
			t.Errorf("%s: %d rows, %d in the old table, want %d", tc.table, n, old, tc.n)
		}
		if !partitioned(t, db, tc.table) {
			t.Errorf("%s is not partitioned", tc.table)
		}
		if a, b := columns(t, db, tc.table), columns(t, db, tc.table+"_unpartitioned"); !slices.Equal(a, b) {
			t.Errorf("%s columns %v, before %v", tc.table, a, b)
		}
	}
	var def int
	db.W.QueryRow("SELECT count(*) FROM visits_default").Scan(&def)
	if def != 1 { // the 60-day-old row: older than the partitions made
		t.Errorf("visits_default holds %d rows, want 1", def)
	}
	var where string
	db.W.QueryRow("SELECT tableoid::regclass::text FROM visits WHERE id = 'v1'").Scan(&where)
	if want := store.PartName("visits", dayOf(now.Add(-3*24*time.Hour))); where != want {
		t.Errorf("3-day-old visit in %s, want %s", where, want)
	}
	var prov string
	db.W.QueryRow("SELECT min(province_code) FROM visits").Scan(&prov)
	if prov != "80" {
		t.Errorf("visits' province %q, want 80 (the venue's)", prov)
	}
	db.W.QueryRow("SELECT province_code FROM bz_sightings").Scan(&prov)
	if prov != "80" {
		t.Errorf("bz_sightings' province %q, want 80 (the upload's)", prov)
	}
	// A new audit row gets a new id; the previous release's INSERT without
	// a province or an id works.
	var id int64
	if err := db.W.QueryRow("INSERT INTO audit_log (at, user_id, username, action, subject, record_ids, purpose) VALUES ($1, 1, 'u', 'view', 'person', '1', 'p') RETURNING id",
		now.Unix()).Scan(&id); err != nil || id <= maxAudit {
		t.Errorf("new audit id %d (max before %d): %v", id, maxAudit, err)
	}
	// The previous release's check-in insert: a repeat stays one row.
	for range 2 {
		exec("INSERT INTO visits (id, venue_id, person_id, t_in, proof, queued) VALUES ('old-release', 7, 9, $1, 0, 0) ON CONFLICT DO NOTHING", now.Unix())
	}
	var n int
	db.W.QueryRow("SELECT count(*) FROM visits WHERE id = 'old-release'").Scan(&n)
	if n != 1 {
		t.Errorf("old release's repeated insert stored %d rows", n)
	}
	// Deleting an upload still removes its sightings (the foreign key was made again).
	exec("DELETE FROM bz_uploads WHERE id = $1", upload)
	db.W.QueryRow("SELECT count(*) FROM bz_sightings").Scan(&n)
	if n != 0 {
		t.Errorf("%d sightings left after their upload was deleted", n)
	}
}

// TestDayPartitions: partitions exist ahead; a row just before and just
// after midnight land in their own days; a row past the last partition is
// stored (DEFAULT) and moved when its day is made; dropping old days keeps
// the rest. SQLite has none of it and needs none.
func TestDayPartitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Now()
		if db.Engine != sqldb.Postgres {
			if n, err := store.EnsurePartitions(ctx, db, now); n != 0 || err != nil {
				t.Fatalf("SQLite: %d partitions made, %v", n, err)
			}
			if (store.DayDropper{DB: db}).Handles("visits", "t_in") {
				t.Fatal("SQLite visits handled as partitioned")
			}
			return
		}
		today := dayOf(now)
		for _, tt := range store.DayTables {
			have, err := store.Partitions(ctx, db, tt.Table)
			if err != nil {
				t.Fatal(err)
			}
			for d := range store.PartitionsAhead + 1 {
				if name := store.PartName(tt.Table, today+int64(d)*86400); !slices.Contains(have, name) {
					t.Errorf("%s: no partition %s ahead (have %d)", tt.Table, name, len(have))
				}
			}
		}
		// Across midnight: the last second of today and the first of tomorrow.
		midnight := today + 86400
		for i, at := range []int64{midnight - 1, midnight} {
			if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ($1, 1, 1, $2)", fmt.Sprintf("m%d", i), at); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range []string{store.PartName("visits", today), store.PartName("visits", midnight)} {
			var where string
			db.W.QueryRow("SELECT tableoid::regclass::text FROM visits WHERE id = $1", fmt.Sprintf("m%d", i)).Scan(&where)
			if where != want {
				t.Errorf("visit m%d in %s, want %s", i, where, want)
			}
		}
		// Beyond the partitions made: stored in DEFAULT, moved into its day
		// once the job makes it (here: a week later).
		far := today + (store.PartitionsAhead+1)*86400 + 3600
		if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ('far', 1, 1, $1)", far); err != nil {
			t.Fatalf("a day without a partition refused a row: %v", err)
		}
		n, err := store.EnsurePartitions(ctx, db, now.Add(7*24*time.Hour))
		if err != nil || n < 7 {
			t.Fatalf("a week later: %d partitions made, %v", n, err)
		}
		var where string
		db.W.QueryRow("SELECT tableoid::regclass::text FROM visits WHERE id = 'far'").Scan(&where)
		if want := store.PartName("visits", dayOf(time.Unix(far, 0))); where != want {
			t.Errorf("row past the partitions in %s after they were made, want %s", where, want)
		}
		if n, _ := store.EnsurePartitions(ctx, db, now.Add(7*24*time.Hour)); n != 0 {
			t.Errorf("made again: %d", n)
		}
		// Retention: drop the days up to ten days ago; the rest stays.
		old := today - 12*86400
		for i := range 3 {
			db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ($1, 1, 1, $2)", fmt.Sprintf("old%d", i), old+int64(i)*3600)
		}
		cut := today - 10*86400 + 5
		removed, err := store.DayDropper{DB: db}.DropBefore(ctx, "visits", cut)
		if err != nil || removed != 3 {
			t.Fatalf("dropped %d rows, %v; want 3", removed, err)
		}
		have, _ := store.Partitions(ctx, db, "visits")
		for _, p := range have {
			if p <= store.PartName("visits", today-10*86400) {
				t.Errorf("partition %s left past the cutoff", p)
			}
		}
		if !slices.Contains(have, store.PartName("visits", today-9*86400)) || !slices.Contains(have, store.PartName("visits", today)) {
			t.Errorf("younger partitions dropped: %v", have)
		}
		var left int
		db.W.QueryRow("SELECT count(*) FROM visits WHERE id IN ('m0', 'm1', 'far')").Scan(&left)
		if left != 3 {
			t.Errorf("%d of the 3 young rows left", left)
		}
	})
}

func dayOf(t time.Time) int64 { u := t.Unix(); return u - u%86400 }

func partitioned(t *testing.T, db *sqldb.DB, table string) bool {
	var kind string
	db.W.QueryRow("SELECT relkind::text FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace", table).Scan(&kind)
	return kind == "p"
}

func columns(t *testing.T, db *sqldb.DB, table string) []string {
	t.Helper()
	rows, err := db.W.Query(`SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || (column_default IS NOT NULL OR is_identity = 'YES')::text
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c sql.NullString
		rows.Scan(&c)
		out = append(out, c.String)
	}
	return out
}
