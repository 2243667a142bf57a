package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBenchAllQuick runs scripts/bench-all --quick (every benchmark at a
// small scale, about 25 s on the 2-core machine) and checks the Markdown it
// writes: the machine, a figure for each benchmark, and each benchmark's
// last line a JSON object, which is what the script reads.
func TestBenchAllQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark at a small scale")
	}
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("scripts/bench-all needs jq")
	}
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	start := time.Now()
	cmd := exec.CommandContext(t.Context(), "../../scripts/bench-all", "--quick", "--out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	t.Logf("bench-all --quick took %v", time.Since(start).Round(time.Second))
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{"- machine: ", " cores, ", "- load average (1, 5, 15 min): ", "| benchmark | figure | measured | goal | met |",
		"| trace | F0 → F1 p95 (ms) | ", "| trace | peak RSS while tracing (MB) | ",
		"| ingest | ratio to the no-database server (same server, storing nothing) | "} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	if !regexp.MustCompile(`(?m)^- speed of the machine in this run: [0-9.]+ requests/s`).MatchString(md) {
		t.Errorf("no speed of the machine in\n%s", md)
	}
	if strings.Contains(md, "(failed)") || strings.Contains(md, "FAILED") {
		t.Errorf("a benchmark failed:\n%s", md)
	}
	_, lines, _ := strings.Cut(md, "JSON lines:\n")
	seen := 0
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		name, line, ok := strings.Cut(strings.TrimSpace(l), ": ")
		var figures map[string]any
		if !ok || json.Unmarshal([]byte(line), &figures) != nil || len(figures) == 0 {
			t.Errorf("%s: last line is not a JSON object of figures: %q", name, line)
			continue
		}
		seen++
	}
	if seen != 5 {
		t.Errorf("%d JSON lines, want one for each of the 5 benchmarks:\n%s", seen, md)
	}
}
