package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"anticovid/internal/config"
)

// TestBluezoneSmall runs the benchmark end to end at a small size: the last
// line is the stable JSON interface, and every simulated contact is found.
func TestBluezoneSmall(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{}
	fs := flag.NewFlagSet("bench bluezone", flag.ContinueOnError)
	cfg.Register(fs)
	if err := fs.Parse([]string{"--data", dir}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := Bluezone(context.Background(), BluezoneOptions{Config: cfg, Phones: 300, Days: 3, Logs: 3, IDsPerDay: 40,
		ExportKeys: 2000, Seed: 1, Dir: dir, Ratchet: true}, &buf)
	out := buf.String()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	var all map[string]any
	if err := json.Unmarshal([]byte(last), &all); err != nil {
		t.Fatalf("last line %q: %v", last, err)
	}
	got := map[string]float64{}
	for k, v := range all {
		if f, ok := v.(float64); ok {
			got[k] = f
		}
	}
	if all["index_rss_process"] != "after_register" {
		t.Errorf("index_rss_process %v: the builds ran in this process", all["index_rss_process"])
	}
	// Timings are rounded to hundredths: at this size the build and the export
	// can round to 0, so they must only be present and not negative.
	_, hasBuild := got["index_build_s"]
	_, hasExport := got["export_100k_s"]
	if got["phones"] != 300 || got["index_bytes"] <= 0 || got["resolve_p95_ms"] <= 0 || !hasBuild || !hasExport ||
		got["index_build_s"] < 0 || got["export_100k_s"] < 0 {
		t.Errorf("figures %v", got)
	}
	// The registration rate, and the builds' peak resident set where the
	// kernel reports one.
	if got["register_per_s"] <= 0 {
		t.Errorf("register_per_s %v", got["register_per_s"])
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && got["index_peak_rss_mb"] <= 0 {
		t.Errorf("index_peak_rss_mb %v", got["index_peak_rss_mb"])
	}
	if !strings.HasPrefix(last, `{"phones": 300, "resolve_p95_ms": `) || !strings.HasSuffix(last, `"index_peak_rss_mb": `+fmt.Sprint(got["index_peak_rss_mb"])+`, "index_rss_process": "after_register"}`) {
		t.Errorf("key order: %s", last)
	}
	if !strings.Contains(out, " 0 missed, 0 wrong") {
		t.Errorf("resolution was not exact:\n%s", out)
	}
	if !regexp.MustCompile(`EN export: \d+ keys into [1-9]\d* signed files`).MatchString(out) {
		t.Errorf("no export files stored:\n%s", out)
	}
}
