package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchBluezoneSmall runs the benchmark end to end at a small size: the
// last line is the stable JSON interface, and every simulated contact is found.
func TestBenchBluezoneSmall(t *testing.T) {
	dir := t.TempDir()
	out, err := runCmd(t, "bench", "bluezone", "--phones", "300", "--days", "3", "--logs", "3", "--ids-per-day", "40",
		"--export-keys", "2000", "--dir", dir, "--data", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	var got map[string]float64
	if err := json.Unmarshal([]byte(last), &got); err != nil {
		t.Fatalf("last line %q: %v", last, err)
	}
	// Timings are rounded to hundredths: at this size the build and the export
	// can round to 0, so they must only be present and not negative.
	_, hasBuild := got["index_build_s"]
	_, hasExport := got["export_100k_s"]
	if got["phones"] != 300 || got["index_bytes"] <= 0 || got["resolve_p95_ms"] <= 0 || !hasBuild || !hasExport ||
		got["index_build_s"] < 0 || got["export_100k_s"] < 0 {
		t.Errorf("figures %v", got)
	}
	if !strings.HasPrefix(last, `{"phones": 300, "resolve_p95_ms": `) {
		t.Errorf("key order: %s", last)
	}
	if !strings.Contains(out, " 0 missed, 0 wrong") {
		t.Errorf("resolution was not exact:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "en-export", "VN", "index.txt")); err != nil {
		t.Errorf("no export index: %v", err)
	}
}

// TestBluezoneSimulateCommand registers phones in a deployment's database and
// writes an upload-ready log.
func TestBluezoneSimulateCommand(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log.json")
	out, err := runCmd(t, "bluezone", "simulate", "--data", dir, "--phones", "100", "--days", "2", "--ids-per-day", "20", "--log-out", logFile)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	body, err := os.ReadFile(logFile)
	if err != nil || !strings.HasPrefix(string(body), `{"code":"","rows":[{"own_id":"`) {
		t.Fatalf("log file: %v %.80s", err, body)
	}
	if !strings.Contains(out, "registered 100 simulated phones") || !strings.Contains(out, "near (person ids): ") {
		t.Errorf("output:\n%s", out)
	}
	out, err = runCmd(t, "bluezone", "index", "--data", dir)
	if err != nil || !strings.Contains(out, "index up to date") {
		t.Errorf("index: %v\n%s", err, out)
	}
}
