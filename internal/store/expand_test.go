package store_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// contracting are the statements a server of the previous release, still
// running during a rolling upgrade, may break on: it reads or writes what
// they remove, rename or retype, or inserts rows without a column that
// became required. docs/ARCHITECTURE.md ("Schema") states the rule.
var contracting = []struct {
	name string
	re   *regexp.Regexp
}{
	{"DROP TABLE", regexp.MustCompile(`(?i)\bDROP\s+TABLE\b`)},
	{"DROP COLUMN", regexp.MustCompile(`(?i)\bDROP\s+COLUMN\b`)},
	{"DROP INDEX", regexp.MustCompile(`(?i)\bDROP\s+INDEX\b`)}, // a unique index may back an older server's ON CONFLICT
	{"RENAME", regexp.MustCompile(`(?i)\bRENAME\b`)},
	{"ALTER TYPE", regexp.MustCompile(`(?i)\b(ALTER\s+COLUMN\s+\w+\s+(SET\s+DATA\s+)?TYPE|ALTER\s+TYPE)\b`)},
	{"SET NOT NULL", regexp.MustCompile(`(?i)\bSET\s+NOT\s+NULL\b`)},
	{"ADD COLUMN NOT NULL without DEFAULT", regexp.MustCompile(`(?i)^\s*ALTER\s+TABLE\s+\w+\s+ADD\s+(COLUMN\s+)?[^;]*\bNOT\s+NULL\b`)},
}

var hasDefault = regexp.MustCompile(`(?i)\bDEFAULT\b`)

// contracts names the contracting rules one statement breaks.
func contracts(stmt string) []string {
	var out []string
	for _, c := range contracting {
		if c.re.MatchString(stmt) && !(c.name == "ADD COLUMN NOT NULL without DEFAULT" && hasDefault.MatchString(stmt)) {
			out = append(out, c.name)
		}
	}
	return out
}

// historical are the migrations from before the rule, each with why it was
// allowed then: every server was stopped for them (README, "Upgrading").
// Never add to this list; write an expand migration and a later cleanup
// released only once no older server runs.
var historical = map[string]string{
	"0009_visits_by_person.sql": "rebuilds visits without its text primary key (SQLite cannot drop one in place); upgraded with every server stopped",
	"0010_otp_codes.sql":        "merges the two code tables into otp_codes; upgraded with every server stopped",
	"0012_evidence.sql":         "rebuilds the check-in probe indexes; README says to stop every server for it",
}

// Migration 0043's PostgreSQL step (partition.go, pgSteps) renames tables in
// Go, which this scan of SQL files does not read: a table swap, where the
// partitioned copy takes the old name with the same columns and defaults.
// TestDayPartitionsMigrateRows (the previous release's statements on the
// swapped tables) and cmd/anticovid's TestRollingUpgradeWithPreviousRelease
// hold it to the same promise.

// TestMigrationsExpandOnly reads every migration, statement by statement
// (comments removed), and fails on a contracting statement outside the
// historical list: a migration must be safe for the previous release still
// running against the new schema.
func TestMigrationsExpandOnly(t *testing.T) {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	comment := regexp.MustCompile(`--[^\n]*`)
	for _, f := range files {
		name := filepath.Base(f)
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for stmt := range strings.SplitSeq(comment.ReplaceAllString(string(body), ""), ";") {
			stmt = strings.Join(strings.Fields(stmt), " ")
			for _, c := range contracts(stmt) {
				found = append(found, c+": "+stmt)
			}
		}
		_, allowed := historical[name]
		switch {
		case len(found) > 0 && !allowed:
			t.Errorf("%s is not expand-only (docs/ARCHITECTURE.md, \"Schema\"):\n  %s", name, strings.Join(found, "\n  "))
		case len(found) == 0 && allowed:
			t.Errorf("%s is in the historical list but contracts nothing: remove it from the list", name)
		}
	}
	for name := range historical {
		if _, err := os.Stat(filepath.Join("migrations", name)); err != nil {
			t.Errorf("historical %s: %v", name, err)
		}
	}
}

// TestExpandOnlyRules: the scan catches each contracting statement and lets
// expanding ones through.
func TestExpandOnlyRules(t *testing.T) {
	for _, tc := range []struct {
		stmt string
		bad  bool
	}{
		{"CREATE TABLE x (id INTEGER PRIMARY KEY, a TEXT NOT NULL)", false},
		{"ALTER TABLE x ADD COLUMN b TEXT NOT NULL DEFAULT ''", false},
		{"ALTER TABLE x ADD COLUMN b TEXT", false},
		{"CREATE INDEX x_a ON x(a)", false},
		{"ALTER TABLE x ADD COLUMN b TEXT NOT NULL", true},
		{"ALTER TABLE x DROP COLUMN a", true},
		{"ALTER TABLE x RENAME COLUMN a TO b", true},
		{"ALTER TABLE x RENAME TO y", true},
		{"ALTER TABLE x ALTER COLUMN a TYPE BIGINT", true},
		{"ALTER TABLE x ALTER COLUMN a SET DATA TYPE BIGINT", true},
		{"ALTER TABLE x ALTER COLUMN a SET NOT NULL", true},
		{"DROP TABLE x", true},
		{"DROP INDEX x_a", true},
	} {
		if bad := len(contracts(tc.stmt)) > 0; bad != tc.bad {
			t.Errorf("%q: contracting = %v, want %v", tc.stmt, bad, tc.bad)
		}
	}
}
