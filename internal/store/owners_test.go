package store_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// owners names the one package under internal/ that may write SQL naming
// each table; every other package calls that package's service. Keep it in
// step with the migrations (TestOwnersCoverMigrations) and with
// docs/ARCHITECTURE.md.
var owners = map[string]string{
	"users": "auth", "sessions": "auth", "audit_log": "auth", "recovery_codes": "auth",
	"otp_codes": "otp",
	"people":    "people",
	"venues":    "venue", "venue_words": "venue",
	"visits":       "checkin",
	"visits_held":  "checkin",
	"declarations": "declaration",
	"cases":        "cases", "case_history": "cases", "case_imports": "cases", "contacts": "cases",
	"contact_calls": "cases", "exposures": "cases", "access_grants": "cases", "contact_handoffs": "cases",
	"trace_settings": "tracing", "trace_jobs": "tracing",
	"bz_devices": "bluezone", "bz_erased": "bluezone", "bz_feed": "bluezone", "bz_seq": "bluezone",
	"bz_sightings": "bluezone", "bz_uploads": "bluezone",
	"en_keys": "exposure", "en_exports": "exposure", "en_signing_keys": "exposure",
	"adoption_smartphones": "adoption", "adoption_targets": "adoption",
	"outbox":    "notify",
	"campaigns": "campaign", "campaign_deliveries": "campaign",
	"dash_hourly": "dashboard", "dash_daily": "dashboard", "dash_gauges": "dashboard", "dash_venue_seen": "dashboard",
	"map_areas":      "dashboard",
	"weekly_reports": "reports", "report_units": "reports", "report_sends": "reports",
	"cameras": "camera", "quarantine_zones": "camera",
	"meetings": "meeting", "meeting_units": "meeting", "meeting_invitees": "meeting", "meeting_contacts": "meeting",
	"meeting_reports_seen": "meeting",
	"press_blobs":          "press", "press_materials": "press", "press_material_uses": "press", "press_releases": "press",
	"inbox_watch": "inbox", "inbox_notices": "inbox", "inbox_prefs": "inbox", "inbox_digest_days": "inbox",
	"door_hamlets": "doortodoor", "door_households": "doortodoor", "door_teams": "doortodoor", "door_visits": "doortodoor", "door_declarations": "doortodoor",
	"job_leases": "jobs", "token_keys": "token", "vault_check": "vault", "vault_lookup": "vault", "vault_reseal": "vault",
}

// exceptions are the files outside a table's owner allowed to name it, each
// with the reason. Two more places touch other packages' tables without
// naming them in SQL text, and are not scanned here: internal/retention's
// purges list (one reviewed list of every personal-data table's retention
// period, deleted by a generic batched DELETE) and internal/store's
// SyncSequence (dialect code, by table name).
var exceptions = map[string]string{
	// A campaign's delivery counts and log join campaign_deliveries with the
	// outbox on the dedup key: up to a million deliveries counted by status
	// in one indexed join, where asking notify key by key would read every
	// key into Go on each page view.
	"outbox campaign/campaign.go": "delivery status join",
	// bench trace --pg compares the B-tree probe with a PostgreSQL-only GiST
	// index on visits; engine-specific SQL lives in store.
	"visits store/stats.go": "bench trace's GiST comparison index",
	// The day-partition swap (migration 0043's PostgreSQL step) fills the
	// distribution key of old rows in the one pass that copies them.
	"venues store/partition.go":     "province of old check-ins, filled while they are copied",
	"bz_uploads store/partition.go": "province of old contact-log rows, filled while they are copied",
}

var sqlTable = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_][a-z0-9_]*)\b`)

// TestTableOwners reads every non-test Go file under internal/ and fails
// when SQL in it names a table its package does not own.
func TestTableOwners(t *testing.T) {
	root := ".."
	used := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		pkg := strings.SplitN(rel, "/", 2)[0] // a package and its subpackages count as one
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range sqlTable.FindAllStringSubmatch(string(src), -1) {
			table := m[1]
			owner, known := owners[table]
			if !known || owner == pkg {
				continue
			}
			if _, ok := exceptions[table+" "+rel]; ok {
				used[table+" "+rel] = true
				continue
			}
			t.Errorf("%s names table %s (%q), owned by package %s: call %s's service instead", rel, table, m[0], owner, owner)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range exceptions {
		if !used[k] {
			t.Errorf("exception %q is no longer needed: remove it", k)
		}
	}
}

// TestOwnersCoverMigrations fails unless the owner map names exactly the
// tables the migrations leave: a new table gets an owner when it is made,
// and a table a later migration drops or renames away (bt_codes, the
// visits_new 0009 rebuilds visits through) leaves the map with it.
func TestOwnersCoverMigrations(t *testing.T) {
	left, err := migratedTables("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for table, file := range left {
		if _, ok := owners[table]; !ok {
			t.Errorf("%s creates table %s, which has no owner in owners", file, table)
		}
	}
	for table, owner := range owners {
		if _, ok := left[table]; !ok {
			t.Errorf("owners maps table %s, which no migration leaves (never created, or dropped or renamed later)", table)
		}
		if !slices.Contains(packages(t), owner) {
			t.Errorf("table %s: owner %s is not a package under internal/", table, owner)
		}
	}
}

// The replay of CREATE, DROP and RENAME follows the migrations' order.
func TestMigratedTables(t *testing.T) {
	dir := t.TempDir()
	for name, sql := range map[string]string{
		"0001_a.sql": "CREATE TABLE a (x INT);\nCREATE TABLE IF NOT EXISTS b (x INT);\n-- CREATE TABLE commented (x INT);\nCREATE TABLE c (x INT);",
		"0002_b.sql": "DROP TABLE b;\nALTER TABLE c RENAME TO d;\nCREATE TABLE e_new (x INT);\nDROP TABLE IF EXISTS a;\nALTER TABLE e_new RENAME TO a;",
		"0003_c.sql": "create table f (x int); alter table d rename to g; drop table g;",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := migratedTables(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"] != "0002_b.sql" || got["f"] != "0003_c.sql" {
		t.Errorf("tables left: %v, want a (0002_b.sql) and f (0003_c.sql)", got)
	}
}

// migratedTables replays the migrations in dir, in order, and returns the
// tables they leave, each with the file that made it (under its last name).
func migratedTables(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("migrations in %s: %v", dir, err)
	}
	slices.Sort(files)
	stmt := regexp.MustCompile(`(?i)\b(?:CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)|DROP TABLE (?:IF EXISTS )?([a-z_][a-z0-9_]*)|ALTER TABLE ([a-z_][a-z0-9_]*) RENAME TO ([a-z_][a-z0-9_]*))`)
	comment := regexp.MustCompile(`--[^\n]*`)
	left := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range stmt.FindAllStringSubmatch(comment.ReplaceAllString(string(src), ""), -1) {
			switch {
			case m[1] != "":
				left[strings.ToLower(m[1])] = filepath.Base(f)
			case m[2] != "":
				delete(left, strings.ToLower(m[2]))
			default:
				from, to := strings.ToLower(m[3]), strings.ToLower(m[4])
				left[to] = left[from]
				delete(left, from)
			}
		}
	}
	return left, nil
}

// packages lists the directories directly under internal/.
func packages(t *testing.T) []string {
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
