package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"anticovid/internal/testenv"
)

// pgExec runs SQL on a cluster's postgres database.
func pgExec(t *testing.T, url string, stmts ...string) {
	t.Helper()
	d, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, q := range stmts {
		if _, err := d.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// pgValue reads one value from a cluster's postgres database.
func pgValue(t *testing.T, url, q string, dst any) error {
	t.Helper()
	d, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return d.QueryRow(q).Scan(dst)
}

// The primary dies under check-in load and its streaming standby is
// promoted (docs/SCALING.md, "Promoting the standby"): a server given both
// hosts in one URL with target_session_attrs=read-write answers 503 while
// neither takes writes and carries on against the new primary, without a
// restart; with synchronous replication no acknowledged check-in is lost.
func TestStandbyPromotion(t *testing.T) {
	primary := testenv.NewCluster(t)
	tok := faultDeployment(t, primary.URL(""))
	standby := primary.Standby(t)
	// Synchronous replication: a commit is acknowledged once the standby
	// has it. Set after the base backup, which would otherwise copy it to
	// the standby (whose commits would then wait for a standby of its own).
	pgExec(t, primary.URL(""), "ALTER SYSTEM SET synchronous_standby_names = '*'", "SELECT pg_reload_conf()")
	var state string
	if !until(30*time.Second, func() bool {
		return pgValue(t, primary.URL(""), "SELECT sync_state FROM pg_stat_replication", &state) == nil && state == "sync"
	}) {
		t.Fatalf("the standby is not a synchronous one: %q", state)
	}

	both := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write", primary.Port, standby.Port)
	server, base := startServer(t, t.TempDir(), "--db", both)
	qrs := faultVenues(t, base, tok, 2)
	stop := make(chan struct{})
	l, wait := phoneLoad([]string{base}, qrs, 16, stop)
	time.Sleep(2 * time.Second)
	l.phase.Store(1)
	primary.Stop(t, "immediate")
	time.Sleep(2 * time.Second)
	standby.Promote(t)
	l.phase.Store(2)
	time.Sleep(4 * time.Second)
	close(stop)
	wait()

	t.Logf("acknowledged before/during/after the promotion: %v; 503 answers: %v", l.ok, l.unavailable)
	if len(l.wrong) > 0 {
		t.Fatalf("wrong answers:\n%s", strings.Join(l.wrong, "\n"))
	}
	if l.ok[0] == 0 || l.unavailable[1] == 0 || l.ok[2] == 0 {
		t.Fatalf("want check-ins before, 503s during and check-ins after the promotion: %v %v", l.ok, l.unavailable)
	}
	if err := server.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server stopped: %v", err)
	}
	l.stored(t, standby.URL(""))
}

// metric reads one value from a /metrics page ("" when absent).
func metric(t *testing.T, url, name string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// A server with --db-replica on a real streaming standby: /metrics shows
// the replica in use and its lag; an area an officer declares is in their
// list at once although the replica has not replayed it (read-your-own-
// write on the primary); reads fall back on the primary once the replica
// lags past --db-replica-max-lag or is down, and pages go on answering.
func TestServerReadReplica(t *testing.T) {
	primary := testenv.NewCluster(t)
	tok := faultDeployment(t, primary.URL(""))
	standby := primary.Standby(t)
	maddr := freePort(t)
	_, base := startServer(t, t.TempDir(), "--db", primary.URL(""), "--db-replica", standby.URL(""), "--db-replica-max-lag", "2s", "--metrics-addr", maddr)
	metrics := "http://" + maddr + "/metrics"
	if !until(20*time.Second, func() bool { return metric(t, metrics, "anticovid_db_replica_in_use") == "1" }) {
		t.Fatalf("replica not in use: up %q lag %q", metric(t, metrics, "anticovid_db_replica_up"), metric(t, metrics, "anticovid_db_replica_lag_seconds"))
	}
	if lag := metric(t, metrics, "anticovid_db_replica_lag_seconds"); lag == "" || strings.HasPrefix(lag, "-") {
		t.Fatalf("lag %q", lag)
	}
	for _, u := range []string{"/api/v1/public/map", "/api/v1/dashboard"} {
		if code, body := call(t, "GET", base+u, tok, nil, nil); code != http.StatusOK {
			t.Fatalf("%s on the replica: %d %s", u, code, body)
		}
	}

	// The replica stops replaying; the officer's new area is in their list
	// at once (the primary), and reads leave the replica once it is 2 s behind.
	pgExec(t, standby.URL(""), "SELECT pg_wal_replay_pause()")
	code, body := call(t, "POST", base+"/api/v1/map-areas", tok, nil, map[string]any{"kind": "lockdown", "label": "Khu phố 3", "unit_code": "27685"})
	if code != http.StatusCreated {
		t.Fatalf("area: %d %s", code, body)
	}
	if code, body := call(t, "GET", base+"/api/v1/map-areas", tok, nil, nil); code != http.StatusOK || !strings.Contains(string(body), "Khu phố 3") {
		t.Fatalf("the officer's list right after: %d %s", code, body)
	}
	if !until(30*time.Second, func() bool { return metric(t, metrics, "anticovid_db_replica_in_use") == "0" }) {
		t.Fatalf("reads stayed on a replica %s s behind", metric(t, metrics, "anticovid_db_replica_lag_seconds"))
	}
	if code, body := call(t, "GET", base+"/api/v1/public/map", "", nil, nil); code != http.StatusOK || !strings.Contains(string(body), "Khu phố 3") {
		t.Fatalf("the public map on the primary: %d %.300s", code, body)
	}
	pgExec(t, standby.URL(""), "SELECT pg_wal_replay_resume()")
	if !until(30*time.Second, func() bool { return metric(t, metrics, "anticovid_db_replica_in_use") == "1" }) {
		t.Fatal("reads did not come back to the replica once it caught up")
	}

	// The replica down: pages answer from the primary.
	standby.Stop(t, "fast")
	if !until(30*time.Second, func() bool { return metric(t, metrics, "anticovid_db_replica_up") == "0" }) {
		t.Fatal("the replica down is not in /metrics")
	}
	for _, u := range []string{"/api/v1/public/map", "/api/v1/dashboard"} {
		if code, body := call(t, "GET", base+u, tok, nil, nil); code != http.StatusOK {
			t.Fatalf("%s with the replica down: %d %s", u, code, body)
		}
	}
}
