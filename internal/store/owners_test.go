package store_test

import (
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
	"venues":    "venue",
	"visits":    "checkin", "visits_new": "checkin", // visits_new: the table 0009 rebuilds visits through
	"visits_held":  "checkin",
	"declarations": "declaration",
	"cases":        "cases", "case_history": "cases", "case_imports": "cases", "contacts": "cases",
	"contact_calls": "cases", "exposures": "cases",
	"trace_settings": "tracing", "trace_jobs": "tracing",
	"bz_devices": "bluezone", "bz_erased": "bluezone", "bz_feed": "bluezone", "bz_seq": "bluezone",
	"bz_sightings": "bluezone", "bz_uploads": "bluezone",
	"bt_codes": "exposure", "en_keys": "exposure", "en_exports": "exposure", "en_signing_keys": "exposure",
	"adoption_smartphones": "adoption", "adoption_targets": "adoption",
	"outbox":    "notify",
	"campaigns": "campaign", "campaign_deliveries": "campaign",
	"dash_hourly": "dashboard", "dash_daily": "dashboard", "dash_gauges": "dashboard", "dash_venue_seen": "dashboard",
	"map_areas":      "dashboard",
	"weekly_reports": "reports", "report_units": "reports", "report_sends": "reports",
	"cameras": "camera", "quarantine_zones": "camera",
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

// TestOwnersCoverMigrations fails when a migration creates a table the
// owner map does not name, so a new table gets an owner when it is made.
func TestOwnersCoverMigrations(t *testing.T) {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	create := regexp.MustCompile(`(?i)CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range create.FindAllStringSubmatch(string(src), -1) {
			if _, ok := owners[m[1]]; !ok {
				t.Errorf("%s creates table %s, which has no owner in owners", filepath.Base(f), m[1])
			}
		}
	}
	for table, owner := range owners {
		if !slices.Contains(packages(t), owner) {
			t.Errorf("table %s: owner %s is not a package under internal/", table, owner)
		}
	}
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
