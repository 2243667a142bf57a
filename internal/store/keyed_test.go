package store_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

// TestKeyedDayPartitions: an upgraded PostgreSQL database keeps outbox,
// campaign_deliveries and en_keys whole (the previous release's ON CONFLICT
// (dedup_key) works) until PartitionKeyed swaps them; then rows are in their
// days, a key stays unique across days (through TABLE_keys) while its row
// lives, the job makes their days ahead and moves DEFAULT rows keeping their
// keys, and retention drops a day with its keys. A new database gets them
// partitioned by Migrate. SQLite keeps its tables.
func TestKeyedDayPartitions(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		db := storetest.SQLite(t)
		if got, err := store.PartitionKeyed(ctx, db, time.Now()); got != nil || err != nil {
			t.Fatalf("SQLite: %v %v", got, err)
		}
		if (store.DayDropper{DB: db}).Handles("outbox", "created_at") {
			t.Fatal("SQLite outbox handled as partitioned")
		}
	})
	t.Run("new database", func(t *testing.T) {
		db := storetest.Postgres(t)
		for _, k := range store.KeyedDayTables {
			if !partitioned(t, db, k.Table) {
				t.Errorf("%s of a new database is not partitioned", k.Table)
			}
		}
	})
	t.Run("upgraded database", func(t *testing.T) {
		db, err := store.Open(ctx, storetest.PostgresURL(t), "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// Every migration, as an upgrade from the previous release applies them.
		if _, err := store.MigrateTo(ctx, db, 1<<30); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		today := dayOf(now)
		for _, k := range store.KeyedDayTables {
			if partitioned(t, db, k.Table) {
				t.Fatalf("%s partitioned by the migrations: the previous release's ON CONFLICT (%s) would fail", k.Table, k.Key)
			}
		}
		if (store.DayDropper{DB: db}).Handles("outbox", "created_at") {
			t.Fatal("unpartitioned outbox handled as partitioned")
		}
		// The previous release's statements, before the swap.
		oldInsert := `INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at, kind, params)
			VALUES ('sms', '\x00', '', 'b', $1, 'queued', $2, $2, 'otp', '') ON CONFLICT (dedup_key) DO NOTHING`
		insert := `INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at, kind, params)
			VALUES ('sms', '\x00', '', 'b', $1, 'queued', $2, $2, 'otp', '') ON CONFLICT DO NOTHING`
		affected := func(q string, args ...any) int64 {
			t.Helper()
			res, err := db.W.Exec(q, args...)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			n, _ := res.RowsAffected()
			return n
		}
		if affected(oldInsert, "k-today", now.Unix()) != 1 || affected(oldInsert, "k-old", now.Unix()-3*86400) != 1 || affected(oldInsert, "k-old", now.Unix()) != 0 {
			t.Fatal("the previous release's insert on the whole outbox")
		}
		affected(`INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region, certificate_id, created_at, available_at)
			VALUES ('\x0102', 1, 144, 1, 'VN', 1, $1, $1) ON CONFLICT (key_data) DO NOTHING`, now.Unix())

		swapped, err := store.PartitionKeyed(ctx, db, now)
		if want := []string{"outbox", "campaign_deliveries", "en_keys"}; err != nil || !slices.Equal(swapped, want) {
			t.Fatalf("swapped %v, %v; want %v", swapped, err, want)
		}
		if again, err := store.PartitionKeyed(ctx, db, now); len(again) != 0 || err != nil {
			t.Fatalf("swapped again: %v %v", again, err)
		}
		for _, k := range store.KeyedDayTables {
			if !partitioned(t, db, k.Table) {
				t.Errorf("%s is not partitioned", k.Table)
			}
			if a, b := columns(t, db, k.Table), columns(t, db, k.Table+"_unpartitioned"); !slices.Equal(a, b) {
				t.Errorf("%s columns %v, before %v", k.Table, a, b)
			}
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := db.W.QueryRow(q, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		if n := count("SELECT count(*) FROM outbox_keys"); n != 2 {
			t.Errorf("outbox_keys holds %d keys of the 2 rows", n)
		}
		var where string
		db.W.QueryRow("SELECT tableoid::regclass::text FROM outbox WHERE dedup_key = 'k-old'").Scan(&where)
		if want := store.PartName("outbox", today-3*86400); where != want {
			t.Errorf("3-day-old message in %s, want %s", where, want)
		}
		// A key is unique across days: the old row's key on another day is
		// skipped; a new key goes in. The en_keys key too.
		if affected(insert, "k-old", now.Unix()+2*86400) != 0 || affected(insert, "k-today", now.Unix()) != 0 {
			t.Error("a claimed key was stored again on another day")
		}
		if affected(insert, "k-new", now.Unix()) != 1 {
			t.Error("a new key was not stored")
		}
		if affected(`INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region, certificate_id, created_at, available_at)
			VALUES ('\x0102', 1, 144, 1, 'VN', 2, $1, $1) ON CONFLICT DO NOTHING`, now.Unix()+86400) != 0 {
			t.Error("an EN key uploaded again the next day was stored twice")
		}
		// Why the swap waits for the previous release to be gone.
		if _, err := db.W.Exec(oldInsert, "k-x", now.Unix()); err == nil {
			t.Error("ON CONFLICT (dedup_key) works on the partitioned outbox: the swap could be a migration")
		}
		// Neither the key nor the day is ever updated; the rest is.
		if _, err := db.W.Exec("UPDATE outbox SET dedup_key = 'k-moved' WHERE dedup_key = 'k-new'"); err == nil {
			t.Error("a claimed key was updated")
		}
		if affected("UPDATE outbox SET status = 'delivered' WHERE dedup_key = 'k-new'") != 1 {
			t.Error("status update")
		}
		// A deleted row frees its key.
		affected("DELETE FROM outbox WHERE dedup_key = 'k-new'")
		if affected(insert, "k-new", now.Unix()+86400) != 1 {
			t.Error("a deleted message's key is still claimed")
		}
		// Past the partitions made: DEFAULT, then moved into its day by the
		// job a week later, its key still claimed.
		far := today + (store.PartitionsAhead+1)*86400 + 60
		if affected(insert, "k-far", far) != 1 {
			t.Fatal("a message past the partitions was refused")
		}
		if n, err := store.EnsurePartitions(ctx, db, now.Add(7*24*time.Hour)); err != nil || n < 6*7 {
			t.Fatalf("a week later: %d partitions made, %v (want 7 for each of 6 tables)", n, err)
		}
		db.W.QueryRow("SELECT tableoid::regclass::text FROM outbox WHERE dedup_key = 'k-far'").Scan(&where)
		if want := store.PartName("outbox", dayOf(time.Unix(far, 0))); where != want {
			t.Errorf("message past the partitions in %s once made, want %s", where, want)
		}
		if affected(insert, "k-far", now.Unix()) != 0 {
			t.Error("moving a message out of DEFAULT freed its key")
		}
		// Retention drops the 3-day-old day with its keys; the rest stays.
		dd := store.DayDropper{DB: db}
		if !dd.Handles("outbox", "created_at") || !dd.Handles("en_keys", "created_at") || !dd.Handles("campaign_deliveries", "queued_at") {
			t.Fatal("keyed tables not handled as partitioned")
		}
		removed, err := dd.DropBefore(ctx, "outbox", today-2*86400)
		if err != nil || removed < 1 {
			t.Fatalf("dropped %d rows, %v", removed, err)
		}
		if n := count("SELECT count(*) FROM outbox WHERE dedup_key = 'k-old'"); n != 0 {
			t.Error("the dropped day's message is still there")
		}
		if n := count("SELECT count(*) FROM outbox_keys WHERE key = 'k-old'"); n != 0 {
			t.Error("the dropped day's key is still claimed")
		}
		if n := count("SELECT count(*) FROM outbox_keys WHERE key IN ('k-today', 'k-new', 'k-far')"); n != 3 {
			t.Errorf("%d of the 3 younger keys claimed", n)
		}
		have, _ := store.Partitions(ctx, db, "outbox")
		if slices.Contains(have, store.PartName("outbox", today-3*86400)) || !slices.Contains(have, store.PartName("outbox", today)) {
			t.Errorf("partitions after the drop: %v", have)
		}
		measureDrop(t, db, today-10*86400)
	})
}

// measureDrop fills one day of the outbox (ANTICOVID_DROP_ROWS rows; 20,000
// unless set) and logs how long retention takes to drop it with its keys.
func measureDrop(t *testing.T, db *sqldb.DB, day int64) {
	ctx := context.Background()
	rows := 20000
	if n, err := strconv.Atoi(os.Getenv("ANTICOVID_DROP_ROWS")); err == nil && n > 0 {
		rows = n
	}
	if _, err := store.EnsureDays(ctx, db, time.Unix(day, 0), time.Unix(day, 0)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := db.W.Exec(`INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at, kind, params, province_code)
		SELECT 'sms', decode(md5(g::text), 'hex'), '', 'sealed:' || md5(g::text) || md5(g::text), 'campaign:9:' || md5(g::text), 'delivered',
			$1 + g % 86400, $1 + g % 86400, 'campaign', '', '80' FROM generate_series(1, $2) g`, day, rows); err != nil {
		t.Fatal(err)
	}
	filled := time.Since(start)
	db.W.Exec("ANALYZE outbox_keys")
	start = time.Now()
	removed, err := store.DayDropper{DB: db}.DropBefore(ctx, "outbox", day)
	took := time.Since(start)
	if err != nil || removed != int64(rows) {
		t.Fatalf("dropped %d of %d rows: %v", removed, rows, err)
	}
	var left int
	db.W.QueryRow("SELECT count(*) FROM outbox_keys WHERE at >= $1 AND at < $2", day, day+86400).Scan(&left)
	if left != 0 {
		t.Fatalf("%d keys of the dropped day left", left)
	}
	t.Logf("outbox: one day of %d messages filled in %v, dropped with its keys in %v", rows, filled.Round(time.Millisecond), took.Round(time.Millisecond))
}
