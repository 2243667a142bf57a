package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestBenchBluezoneFreshBuilds: bench bluezone runs the index builds in a
// fresh process of itself, so their peak resident set is not the
// registration's; the JSON line says so, its figures are the child's, and
// the resolution that follows reads the index the child built.
func TestBenchBluezoneFreshBuilds(t *testing.T) {
	dir := t.TempDir()
	out, err := cli(t, "", "bench", "bluezone", "--data", dir, "--dir", dir+"/run", "--phones", "300", "--days", "2", "--logs", "2",
		"--ids-per-day", "40", "--export-keys", "2000")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last line: %v\n%s", err, out)
	}
	if got["index_rss_process"] != "fresh" || got["index_bytes"].(float64) <= 0 {
		t.Fatalf("figures %v\n%s", got, out)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && got["index_peak_rss_mb"].(float64) <= 0 {
		t.Errorf("index_peak_rss_mb %v", got["index_peak_rss_mb"])
	}
	// The child's report is passed on, its JSON line is not; the
	// resolution found every simulated contact in the child's index.
	if !strings.Contains(out, "the builds run in a fresh process") || !strings.Contains(out, "  process peak RSS over every build (VmHWM): ") ||
		strings.Count(out, `"index_build_s"`) != 1 || !strings.Contains(out, " 0 missed, 0 wrong") {
		t.Errorf("report:\n%s", out)
	}
	// --builds-in-process measures in the benchmark's own process, and says so.
	out, err = cli(t, "", "bench", "bluezone", "--data", dir, "--dir", dir+"/run2", "--phones", "300", "--days", "1", "--logs", "1",
		"--ids-per-day", "40", "--export-keys", "2000", "--builds-in-process")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || !strings.HasSuffix(lines[len(lines)-1], `"index_rss_process": "after_register"}`) {
		t.Fatalf("in process: %v\n%s", err, out)
	}
}
