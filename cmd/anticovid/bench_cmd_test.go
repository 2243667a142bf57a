package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"anticovid/internal/store/storetest"
)

// bench ingest --servers 2 drives two servers on one PostgreSQL database
// and prints one JSON line with the no-database ratio; the check-ins both
// acknowledged are stored.
func TestBenchIngestTwoServers(t *testing.T) {
	db := storetest.PostgresURL(t)
	out, err := cli(t, "", "bench", "ingest", "--db", db, "--data", t.TempDir(), "--servers", "2", "--duration", "1s",
		"--people", "200", "--venues", "20", "--clients", "8")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res map[string]float64
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out)
	}
	if res["servers"] != 2 || res["checkins_per_s"] <= 0 || res["ratio"] <= 0 || res["ratio_server_no_db"] <= 0 || !strings.Contains(out, "2 server(s)") {
		t.Fatalf("%v\n%s", res, out)
	}
	var stored, acked int
	if _, err := fmt.Sscanf(out[strings.Index(out, "visits stored:"):], "visits stored: %d (acknowledged in the measured run: %d)", &stored, &acked); err != nil || acked == 0 || stored < acked {
		t.Fatalf("stored %d, acknowledged %d (%v)\n%s", stored, acked, err, out)
	}
	if out, err := cli(t, "", "bench", "ingest", "--data", t.TempDir(), "--servers", "2"); err == nil {
		t.Fatalf("two servers on SQLite accepted:\n%s", out)
	}
}
