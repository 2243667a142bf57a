package retention

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Now()
		for i, age := range []time.Duration{time.Hour, 20 * 24 * time.Hour, 22 * 24 * time.Hour, 40 * 24 * time.Hour} {
			if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ($1, 1, 1, $2)",
				fmt.Sprintf("visit-%d", i), now.Add(-age).Unix()); err != nil {
				t.Fatal(err)
			}
		}
		db.W.Exec("INSERT INTO users (id, username, password_hash, role, unit_code, created_at) VALUES (1, 'u', 'x', 'province_admin', '80', 0)")
		db.W.Exec("INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at) VALUES ('old', 1, 'session', 0, $1), ('live', 1, 'session', 0, $2)",
			now.Add(-time.Minute).Unix(), now.Add(time.Hour).Unix())
		rep, err := Purge(context.Background(), db, now, 21*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rep["visits"] != 2 || rep["sessions"] != 1 {
			t.Fatalf("report %v", rep)
		}
		var left []string
		rows, _ := db.R.Query("SELECT id FROM visits ORDER BY id")
		for rows.Next() {
			var id string
			rows.Scan(&id)
			left = append(left, id)
		}
		rows.Close()
		if fmt.Sprint(left) != "[visit-0 visit-1]" {
			t.Fatalf("left %v", left)
		}
		// Every table in the purge list exists with its time column.
		for _, p := range purges {
			if _, err := db.R.Exec(fmt.Sprintf("SELECT id FROM %s WHERE %s < 0", p.table, p.column)); err != nil {
				t.Errorf("%s.%s: %v", p.table, p.column, err)
			}
		}
	})
}

// TestPurgeDropsDays: with the store's day dropper, PostgreSQL drops the
// partitions of days past the window (and the rows in them) and keeps the
// younger ones; SQLite deletes the same rows.
func TestPurgeDropsDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Now()
		for i, age := range []time.Duration{time.Hour, 20 * 24 * time.Hour, 23 * 24 * time.Hour, 25 * 24 * time.Hour} {
			if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ($1, 1, 1, $2)",
				fmt.Sprintf("visit-%d", i), now.Add(-age).Unix()); err != nil {
				t.Fatal(err)
			}
		}
		want := int64(2)
		if db.Engine == sqldb.Postgres {
			// The copy the partitioning migration kept is purged too.
			for i, age := range []time.Duration{time.Hour, 30 * 24 * time.Hour} {
				if _, err := db.W.Exec("INSERT INTO visits_unpartitioned (id, venue_id, person_id, t_in) VALUES ($1, 1, 1, $2)",
					fmt.Sprintf("kept-%d", i), now.Add(-age).Unix()); err != nil {
					t.Fatal(err)
				}
			}
			want = 3
		}
		days := store.DayDropper{DB: db}
		before, _ := store.Partitions(context.Background(), db, "visits")
		rep, err := PurgeDays(context.Background(), db, days, now, 21*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rep["visits"] != want {
			t.Fatalf("report %v, want %d visits", rep, want)
		}
		if db.Engine == sqldb.Postgres {
			var left []string
			rows, _ := db.R.Query("SELECT id FROM visits_unpartitioned")
			for rows.Next() {
				var id string
				rows.Scan(&id)
				left = append(left, id)
			}
			rows.Close()
			if fmt.Sprint(left) != "[kept-0]" {
				t.Errorf("visits_unpartitioned left %v, want [kept-0]", left)
			}
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM visits WHERE id IN ('visit-0', 'visit-1')").Scan(&n)
		if n != 2 {
			t.Fatalf("%d of the 2 young visits left", n)
		}
		if db.Engine != sqldb.Postgres {
			return
		}
		after, _ := store.Partitions(context.Background(), db, "visits")
		cut := now.Add(-21 * 24 * time.Hour).Unix()
		for _, p := range after {
			if p <= store.PartName("visits", cut-cut%86400) {
				t.Errorf("partition %s kept past the window", p)
			}
		}
		if len(after) >= len(before) || !slices.Contains(after, store.PartName("visits", now.Unix()-now.Unix()%86400)) {
			t.Errorf("partitions before %d, after %d: %v", len(before), len(after), after)
		}
	})
}

// TestPurgeDropsKeyedDays: the outbox past the window leaves (on PostgreSQL
// by dropping its day partitions), and with it its dedup keys: an old key
// may be queued again, a young one still may not. The same on both engines.
func TestPurgeDropsKeyedDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Now()
		enqueue := func(key string, at int64) int64 {
			t.Helper()
			res, err := db.W.Exec(`INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at, kind, params)
				VALUES ('sms', $1, '', 'b', $2, 'sent', $3, $3, 'otp', '') ON CONFLICT DO NOTHING`, []byte{0}, key, at)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := res.RowsAffected()
			return n
		}
		enqueue("young", now.Add(-time.Hour).Unix())
		enqueue("old", now.Add(-25*24*time.Hour).Unix())
		if db.Engine == sqldb.Postgres {
			// A claim whose row was never stored (an insert another unique
			// index skipped after the claim trigger ran), on a day without a
			// partition to drop, is purged too.
			if _, err := db.W.Exec("INSERT INTO outbox_keys (key, at) VALUES ('stray', $1)", now.Add(-400*24*time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
		}
		days := store.DayDropper{DB: db}
		if days.Handles("outbox", "created_at") != (db.Engine == sqldb.Postgres) {
			t.Fatalf("%s: outbox handled as partitioned: %v, want %v", db.Engine, !(db.Engine == sqldb.Postgres), db.Engine == sqldb.Postgres)
		}
		rep, err := PurgeDays(context.Background(), db, days, now, 21*24*time.Hour)
		if err != nil || rep["outbox"] != 1 {
			t.Fatalf("report %v, %v; want 1 outbox row", rep, err)
		}
		if enqueue("young", now.Unix()) != 0 {
			t.Error("a key of a message still kept was queued again")
		}
		if enqueue("old", now.Unix()) != 1 {
			t.Error("a purged message's key is still taken")
		}
		if db.Engine == sqldb.Postgres && enqueue("stray", now.Unix()) != 1 {
			t.Error("a stray claim older than the window still refuses its key")
		}
	})
}
