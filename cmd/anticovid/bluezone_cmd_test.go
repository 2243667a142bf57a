package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
