package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"anticovid/internal/sqldb"
)

// Day partitions (PostgreSQL only; issue #17). The large append-mostly
// tables below are partitioned by day on their time column with declarative
// partitioning (PARTITION BY RANGE, one partition per UTC day, named
// TABLE_dYYYYMMDD, bounds in Unix seconds), so that retention drops a whole
// day with one DROP TABLE instead of deleting millions of rows, and the day
// the ingest writes keeps small indexes. SQLite keeps its one table: the
// SQL every package runs is the same on both engines, since statements name
// the parent table and PostgreSQL routes each row to its day.
//
// One mechanism, here only: migration 0043 is a comment on SQLite and runs
// PartitionByDay as its PostgreSQL step (pgSteps), in the migration's
// transaction. Each table is swapped: a partitioned copy with the same
// columns, defaults and (widened) indexes is made, every row copied, the old
// table renamed TABLE_unpartitioned (kept, with its data, until a later
// release drops it; DayDropper purges it meanwhile) and the copy takes the
// name. A server of the previous
// release keeps working on it: its INSERTs say ON CONFLICT DO NOTHING
// without a target, which PostgreSQL accepts on a partitioned table, and it
// names no index (TestDayPartitionsKeepColumns, TestRollingUpgrade).
//
// Each table also has a DEFAULT partition, so a row whose day has no
// partition (a phone's queued scan older than the oldest partition, or
// partitions not made because the job was down for a week) is stored, never
// refused: no DDL is ever run on the ingest path. EnsurePartitions moves
// such rows into their day's partition when it makes it.

// DayTable is a table partitioned by day on PostgreSQL.
type DayTable struct {
	Table, Column string
	// Copy gives the expression a column's values are copied with at the
	// swap instead of the column itself (a backfill done in the same pass).
	Copy map[string]string
	// Key is a column unique across all days (KeyedDayTables). PostgreSQL
	// enforces a unique index on a partitioned table only together with the
	// partition key, so the key is claimed in a small unpartitioned table,
	// TABLE_keys (key PRIMARY KEY, at = the row's day column), by triggers:
	// an insert whose key is claimed is skipped (as ON CONFLICT DO NOTHING
	// would), a deleted row frees its key, and DropBefore frees a dropped
	// day's keys with the DROP.
	Key string
}

// DayTables are the tables partitioned by day by migration 0043.
var DayTables = []DayTable{
	{Table: "visits", Column: "t_in", Copy: map[string]string{
		"province_code": "COALESCE((SELECT v.province_code FROM venues v WHERE v.id = o.venue_id), '')"}},
	{Table: "bz_sightings", Column: "first_at", Copy: map[string]string{
		"province_code": "COALESCE((SELECT u.province_code FROM bz_uploads u WHERE u.id = o.upload_id), '')"}},
	{Table: "audit_log", Column: "at"},
}

// KeyedDayTables are the tables with a key unique across all days
// (dedup_key: a campaign re-run or a retried message must not text anyone
// twice; key_data: a key uploaded twice is one key). They are partitioned
// by PartitionKeyed, not by a migration: the previous release inserts into
// them with ON CONFLICT (dedup_key) / (key_data), which needs a unique index
// on exactly that column, which a partitioned table cannot have. This
// release says ON CONFLICT DO NOTHING (no target), which holds on both
// shapes and on SQLite. The day column of each is the one retention purges
// it by.
var KeyedDayTables = []DayTable{
	{Table: "outbox", Column: "created_at", Key: "dedup_key"},
	{Table: "campaign_deliveries", Column: "queued_at", Key: "dedup_key"},
	{Table: "en_keys", Column: "created_at", Key: "key_data"},
}

// PartitionsAhead is how many days ahead of today partitions are made.
const PartitionsAhead = 7

// migrationBack is how many days before today the swap makes partitions
// for; older rows (past check-in retention; audit rows, kept for good) go
// to the DEFAULT partition rather than thousands of small partitions.
const migrationBack = 35

// pgSteps are migrations' PostgreSQL-only steps, run after the file's SQL in
// its transaction. Keep them few: each is engine-specific DDL that the
// migration file cannot say portably.
var pgSteps = map[int]func(ctx context.Context, tx *sql.Tx) error{
	43: func(ctx context.Context, tx *sql.Tx) error { return PartitionByDay(ctx, tx, time.Now()) },
}

const day = 24 * 60 * 60

// dayStart is the start (Unix seconds) of the UTC day holding t.
func dayStart(t int64) int64 { return t - ((t%day)+day)%day }

// PartName is the name of table's partition for the UTC day starting at start.
func PartName(table string, start int64) string {
	return table + "_d" + time.Unix(start, 0).UTC().Format("20060102")
}

// PartitionByDay swaps every table of DayTables for its partitioned copy,
// with partitions from migrationBack days before now to PartitionsAhead
// after. It locks each old table against writes first, so no row written
// meanwhile is left behind: writers of other servers wait, then find the
// new table by name.
func PartitionByDay(ctx context.Context, tx *sql.Tx, now time.Time) error {
	for _, t := range DayTables {
		if err := swap(ctx, tx, t, now); err != nil {
			return fmt.Errorf("partition %s: %w", t.Table, err)
		}
	}
	return nil
}

// PartitionKeyed swaps every table of KeyedDayTables not yet partitioned
// for its partitioned copy, as PartitionByDay does, and gives it its key
// table and triggers (DayTable.Key), a transaction a table, under the
// migrations' lock. It reports the tables it swapped (stopped midway, it
// goes on from the next table when run again). Run it once no server
// of the previous release is left (`anticovid migrate --finish`; Migrate
// runs it itself on a new database, where none can be): an older server's
// messages and EN uploads would fail on the partitioned tables. Nothing on
// SQLite.
func PartitionKeyed(ctx context.Context, db *sqldb.DB, now time.Time) ([]string, error) {
	if !Partitioned(db) {
		return nil, nil
	}
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("partition keyed tables: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(80210701)"); err != nil {
		return nil, fmt.Errorf("partition keyed tables: lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(80210701)")
	var swapped []string
	for _, t := range KeyedDayTables {
		done, err := partitionKeyed(ctx, conn, t, now)
		if err != nil {
			return swapped, fmt.Errorf("partition %s: %w", t.Table, err)
		}
		if done {
			swapped = append(swapped, t.Table)
		}
	}
	return swapped, nil
}

// keyedLockTimeout bounds how long the swap of a keyed table waits for a
// lock: behind a long reader (a dump, an export) it would hold every
// server's messages waiting; it fails instead, and is run again.
const keyedLockTimeout = "10s"

// partitionKeyed swaps one keyed table in a transaction of its own (its
// rows copied, then renamed: from the rename to the commit its reads and
// writes wait, so one table at a time) and tells whether it did.
func partitionKeyed(ctx context.Context, conn *sql.Conn, t DayTable, now time.Time) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var done bool
	if err := tx.QueryRowContext(ctx, partitionedQuery, t.Table).Scan(&done); err != nil || done {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '"+keyedLockTimeout+"'"); err != nil {
		return false, err
	}
	if err := swap(ctx, tx, t, now); err != nil {
		return false, err
	}
	if err := claimKeys(ctx, tx, t); err != nil {
		return false, fmt.Errorf("keys: %w", err)
	}
	return true, tx.Commit()
}

// partitionedQuery tells whether the table named $1 is partitioned.
const partitionedQuery = "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass($1))"

// claimKeys gives the partitioned table t its key table, filled from its
// rows, and the triggers that keep it: BEFORE INSERT claims the key (ON
// CONFLICT DO NOTHING on the key table's primary key, so of two servers
// inserting one key at once the second waits for the first to commit, then
// skips its row), AFTER DELETE frees it, and an UPDATE of the key or the
// day is refused (neither is ever updated; a moved day would strand its
// claim).
func claimKeys(ctx context.Context, tx *sql.Tx, t DayTable) error {
	kt := t.Table + "_keys"
	var typ string
	if err := tx.QueryRowContext(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attname = $2`, t.Table, t.Key).Scan(&typ); err != nil {
		return err
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE TABLE %s (key %s PRIMARY KEY, at BIGINT NOT NULL)", kt, typ),
		fmt.Sprintf("CREATE INDEX %s_at ON %s (at)", kt, kt),
		fmt.Sprintf("INSERT INTO %s (key, at) SELECT %s, %s FROM %s", kt, t.Key, t.Column, t.Table),
		fmt.Sprintf(`CREATE FUNCTION %[1]s_claim() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	INSERT INTO %[2]s (key, at) VALUES (NEW.%[3]s, NEW.%[4]s) ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN NEW;
	END IF;
	RETURN NULL;
END $f$`, t.Table, kt, t.Key, t.Column),
		fmt.Sprintf(`CREATE FUNCTION %[1]s_release() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	DELETE FROM %[2]s WHERE key = OLD.%[3]s AND at = OLD.%[4]s;
	RETURN NULL;
END $f$`, t.Table, kt, t.Key, t.Column),
		fmt.Sprintf(`CREATE FUNCTION %[1]s_frozen() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	RAISE EXCEPTION '%[1]s: %[2]s and %[3]s are never updated (they are claimed in %[1]s_keys)';
END $f$`, t.Table, t.Key, t.Column),
		fmt.Sprintf("CREATE TRIGGER %[1]s_claim BEFORE INSERT ON %[1]s FOR EACH ROW EXECUTE FUNCTION %[1]s_claim()", t.Table),
		fmt.Sprintf("CREATE TRIGGER %[1]s_release AFTER DELETE ON %[1]s FOR EACH ROW EXECUTE FUNCTION %[1]s_release()", t.Table),
		fmt.Sprintf(`CREATE TRIGGER %[1]s_frozen BEFORE UPDATE OF %[2]s, %[3]s ON %[1]s FOR EACH ROW
			WHEN (OLD.%[2]s IS DISTINCT FROM NEW.%[2]s OR OLD.%[3]s IS DISTINCT FROM NEW.%[3]s) EXECUTE FUNCTION %[1]s_frozen()`, t.Table, t.Key, t.Column),
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q)[:3], " "), err)
		}
	}
	return nil
}

var uniqueCols = regexp.MustCompile(`^(CREATE UNIQUE INDEX \S+ ON \S+ USING \w+ \()([^)]*)(\).*)$`)

func swap(ctx context.Context, tx *sql.Tx, t DayTable, now time.Time) error {
	old, parent := t.Table+"_unpartitioned", t.Table+"_by_day"
	exec := func(q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0]+" "+strings.Fields(q)[1], err)
		}
		return nil
	}
	if err := exec("LOCK TABLE " + t.Table + " IN EXCLUSIVE MODE"); err != nil {
		return err
	}
	// The indexes, read before the rename, to make again on the copy.
	var defs []string
	rows, err := tx.QueryContext(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname`, t.Table)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			rows.Close()
			return err
		}
		names, defs = append(names, n), append(defs, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Columns in order; an identity id becomes a plain column fed by a new
	// sequence (identity columns on a partitioned table need PostgreSQL 17).
	var cols []string
	var hasID bool
	rows, err = tx.QueryContext(ctx, `SELECT column_name, is_identity FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, t.Table)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c, ident string
		if err := rows.Scan(&c, &ident); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
		hasID = hasID || (c == "id" && ident == "YES")
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := exec(fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (%s)", parent, t.Table, t.Column)); err != nil {
		return err
	}
	if hasID {
		seq := t.Table + "_by_day_id_seq"
		if err := exec("CREATE SEQUENCE " + seq + " AS BIGINT"); err != nil {
			return err
		}
		if err := exec(fmt.Sprintf("ALTER TABLE %s ALTER COLUMN id SET DEFAULT nextval('%s')", parent, seq)); err != nil {
			return err
		}
		if err := exec(fmt.Sprintf("ALTER SEQUENCE %s OWNED BY %s.id", seq, parent)); err != nil {
			return err
		}
		if err := exec(fmt.Sprintf("SELECT setval('%s', COALESCE((SELECT max(id) FROM %s), 0) + 1, false)", seq, t.Table)); err != nil {
			return err
		}
	}
	// LIKE copies no foreign key: the old table's are made again on the copy.
	rows, err = tx.QueryContext(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`, t.Table)
	if err != nil {
		return err
	}
	var fks []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return err
		}
		fks = append(fks, d)
	}
	rows.Close()
	for _, fk := range fks {
		if err := exec(fmt.Sprintf("ALTER TABLE %s ADD %s", parent, fk)); err != nil {
			return err
		}
	}
	if err := exec(fmt.Sprintf("CREATE TABLE %s_default PARTITION OF %s DEFAULT", t.Table, parent)); err != nil {
		return err
	}
	today := dayStart(now.Unix())
	for d := today - migrationBack*day; d <= today+PartitionsAhead*day; d += day {
		if err := exec(fmt.Sprintf("CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)", PartName(t.Table, d), parent, d, d+day)); err != nil {
			return err
		}
	}
	// The old table's indexes move out of the way; the copy's take their
	// names. A unique index also gets the partition key (PostgreSQL's rule):
	// visits' (person_id, id) becomes (person_id, id, t_in), and the
	// check-in writer refuses a repeat id within a day itself (checkin).
	for i, n := range names {
		if err := exec(fmt.Sprintf("ALTER INDEX %s RENAME TO %s", n, trim63(n+"_unpartitioned"))); err != nil {
			return err
		}
		def := strings.Replace(defs[i], " ON "+qualified(ctx, tx, t.Table)+" ", " ON "+parent+" ", 1)
		def = strings.Replace(def, " ON "+t.Table+" ", " ON "+parent+" ", 1)
		if m := uniqueCols.FindStringSubmatch(def); m != nil && !hasCol(m[2], t.Column) {
			def = m[1] + m[2] + ", " + t.Column + m[3]
		}
		if err := exec(def); err != nil {
			return err
		}
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "o." + c
		if e, ok := t.Copy[c]; ok {
			sel[i] = e
		}
	}
	if err := exec(fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s o", parent, strings.Join(cols, ", "), strings.Join(sel, ", "), t.Table)); err != nil {
		return err
	}
	if err := exec(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", t.Table, old)); err != nil {
		return err
	}
	if err := exec(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", parent, t.Table)); err != nil {
		return err
	}
	if hasID {
		if err := exec(fmt.Sprintf("ALTER SEQUENCE %s_by_day_id_seq RENAME TO %s_day_id_seq", t.Table, t.Table)); err != nil {
			return err
		}
	}
	return nil
}

// qualified is how pg_indexes spells a table of the current schema.
func qualified(ctx context.Context, tx *sql.Tx, table string) string {
	var s string
	tx.QueryRowContext(ctx, "SELECT current_schema()").Scan(&s)
	return s + "." + table
}

func hasCol(list, col string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(c) == col {
			return true
		}
	}
	return false
}

func trim63(s string) string {
	if len(s) > 63 {
		return s[:63]
	}
	return s
}

// Partitioned reports whether db partitions tables by day (PostgreSQL).
func Partitioned(db *sqldb.DB) bool { return db.Engine == sqldb.Postgres }

// EnsurePartitions makes every day table's partitions from today to
// PartitionsAhead days after now that do not exist yet, and reports how many
// it made. Run at start and by the leased "partitions" job. A partition is
// made beside the table and attached (SHARE UPDATE EXCLUSIVE on the parent:
// reads and writes go on), after moving into it any rows its day already
// has in the DEFAULT partition. Nothing on SQLite.
func EnsurePartitions(ctx context.Context, db *sqldb.DB, now time.Time) (int, error) {
	return EnsureDays(ctx, db, now, now.AddDate(0, 0, PartitionsAhead))
}

// EnsureDays makes the missing day partitions of every day table for the
// days from from's to to's, as EnsurePartitions does (which it serves; bench
// trace makes its 2021 dataset's days with it). Nothing on SQLite.
func EnsureDays(ctx context.Context, db *sqldb.DB, from, to time.Time) (int, error) {
	if !Partitioned(db) {
		return 0, nil
	}
	tables, err := dayTables(ctx, db)
	if err != nil {
		return 0, err
	}
	made := 0
	for _, t := range tables {
		have, err := partitions(ctx, db, t.Table)
		if err != nil {
			return made, err
		}
		for d := dayStart(from.Unix()); d <= dayStart(to.Unix()); d += day {
			name := PartName(t.Table, d)
			if have[name] {
				continue
			}
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				def := t.Table + "_default"
				for _, q := range []string{
					"LOCK TABLE " + def + " IN ACCESS EXCLUSIVE MODE",
					fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS)", name, t.Table),
					fmt.Sprintf("INSERT INTO %s SELECT * FROM %s WHERE %s >= %d AND %s < %d", name, def, t.Column, d, t.Column, d+day),
					fmt.Sprintf("DELETE FROM %s WHERE %s >= %d AND %s < %d", def, t.Column, d, t.Column, d+day),
					// The DELETE freed the moved rows' keys (its trigger):
					// claimed again before anyone else sees the gap.
					reclaim(t, name),
					fmt.Sprintf("ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%d) TO (%d)", t.Table, name, d, d+day),
				} {
					if q == "" {
						continue
					}
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return made, fmt.Errorf("partition %s: %w", name, err)
			}
			made++
		}
	}
	return made, nil
}

// reclaim is the statement claiming again the keys of the rows moved into
// partition name ("" for a table without a key).
func reclaim(t DayTable, name string) string {
	if t.Key == "" {
		return ""
	}
	return fmt.Sprintf("INSERT INTO %s_keys (key, at) SELECT %s, %s FROM %s ON CONFLICT DO NOTHING", t.Table, t.Key, t.Column, name)
}

// dayTables are the tables partitioned by day in db: DayTables and the
// KeyedDayTables that PartitionKeyed has swapped.
func dayTables(ctx context.Context, db *sqldb.DB) ([]DayTable, error) {
	out := slices.Clone(DayTables)
	for _, t := range KeyedDayTables {
		var done bool
		if err := db.W.QueryRowContext(ctx, partitionedQuery, t.Table).Scan(&done); err != nil {
			return nil, fmt.Errorf("partitioned %s: %w", t.Table, err)
		}
		if done {
			out = append(out, t)
		}
	}
	return out, nil
}

// partitions names the day partitions of table (not its DEFAULT).
func partitions(ctx context.Context, db *sqldb.DB, table string) (map[string]bool, error) {
	rows, err := db.W.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 AND p.relnamespace = current_schema()::regnamespace`, table)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if n != table+"_default" {
			out[n] = true
		}
	}
	return out, rows.Err()
}

// Partitions lists table's day partitions, oldest first (tests, /metrics).
func Partitions(ctx context.Context, db *sqldb.DB, table string) ([]string, error) {
	have, err := partitions(ctx, db, table)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(have))
	for n := range have {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// DayDropper drops whole day partitions for retention (internal/retention
// takes it as its Partitions).
type DayDropper struct{ DB *sqldb.DB }

// Handles reports whether table is partitioned by day on column here: its
// old days are then dropped by DropBefore instead of deleted.
func (d DayDropper) Handles(table, column string) bool {
	if d.DB == nil || !Partitioned(d.DB) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tables, err := dayTables(ctx, d.DB)
	if err != nil {
		return false // deleted row by row this time: slower, never wrong
	}
	for _, t := range tables {
		if t.Table == table && t.Column == column {
			return true
		}
	}
	return false
}

// DropBefore drops every day partition of table whose day begins at or
// before cutoff: no row is kept past the retention window, and none is
// dropped more than a day before it leaves it (deleting the rest of the
// cutoff's day row by row would undo what partitions are for). Rows in the
// DEFAULT partition older than cutoff are deleted. It reports the rows
// removed (each dropped partition counted first, an index-only count).
func (d DayDropper) DropBefore(ctx context.Context, table string, cutoff int64) (int64, error) {
	have, err := partitions(ctx, d.DB, table)
	if err != nil {
		return 0, err
	}
	var col, key string
	for _, t := range append(slices.Clone(DayTables), KeyedDayTables...) {
		if t.Table == table {
			col, key = t.Column, t.Key
		}
	}
	if col == "" {
		return 0, errors.New("drop partitions: " + table + " is not partitioned by day")
	}
	var n int64
	for name := range have {
		start, err := time.Parse("20060102", strings.TrimPrefix(name, table+"_d"))
		if err != nil {
			continue
		}
		if start.Unix() > cutoff {
			continue
		}
		if key != "" {
			// The day's claims go first (a DROP fires no delete trigger), in
			// batches and before the DROP, whose lock on the whole table
			// would otherwise stall every insert while they are deleted. A
			// row of the day left unclaimed for a moment is past retention.
			if _, err := d.DB.DeleteBatched(ctx, table+"_keys", "key", "at >= $1 AND at < $2", start.Unix(), start.Unix()+day); err != nil {
				return n, fmt.Errorf("drop partition %s: %w", name, err)
			}
		}
		var rows int64
		err = d.DB.Tx(ctx, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+name).Scan(&rows); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "DROP TABLE "+name)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("drop partition %s: %w", name, err)
		}
		n += rows
	}
	res, err := d.DB.W.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s_default WHERE %s < $1", table, col), cutoff)
	if err != nil {
		return n, fmt.Errorf("purge %s_default: %w", table, err)
	}
	k, _ := res.RowsAffected()
	n += k
	if key != "" {
		// Every row before the cutoff is gone now: so are their claims,
		// also one a row never stored left behind (an insert its claim
		// passed but another unique index skipped).
		if _, err := d.DB.DeleteBatched(ctx, table+"_keys", "key", "at < $1", cutoff); err != nil {
			return n, fmt.Errorf("purge %s_keys: %w", table, err)
		}
	}
	// The table the swap kept (TABLE_unpartitioned) holds the same
	// personal data: it is purged too, in batches, until a later release
	// drops it (empty once the retention period has passed).
	var kept bool
	d.DB.W.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", table+"_unpartitioned").Scan(&kept)
	if kept {
		k, err := d.DB.DeleteBatched(ctx, table+"_unpartitioned", "ctid", col+" < $1", cutoff)
		if n += k; err != nil {
			return n, fmt.Errorf("purge %s_unpartitioned: %w", table, err)
		}
	}
	return n, nil
}
