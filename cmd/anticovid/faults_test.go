package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// startWaiting runs `anticovid serve` without waiting for it to answer, its
// log (info and up) collected.
func startWaiting(t *testing.T, dir, addr string, extra ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data", dir, "--addr", addr, "--checkin-rate", "0", "--log-level", "info"}, extra...)...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})
	return cmd, out
}

// until polls cond every 100 ms for up to d.
func until(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// A server started before its PostgreSQL says so in its log (the URL's
// password hidden), keeps trying with backoff instead of exiting, and serves
// once the database is started; with a short --db-wait it gives up with a
// clear error instead.
func TestServeWaitsForDatabase(t *testing.T) {
	pg := testenv.NewCluster(t)
	pg.Stop(t, "fast")
	// Trust authentication ignores the password; the log must not show it.
	db := strings.Replace(pg.URL(""), "postgres@", "postgres:s3cret-pw@", 1)

	start := time.Now()
	out, err := cli(t, "", "serve", "--db", db, "--data", t.TempDir(), "--addr", freePort(t), "--db-wait", "2s")
	if err == nil || !strings.Contains(out, "still unreachable after 2s") || strings.Contains(out, "s3cret-pw") {
		t.Fatalf("with --db-wait 2s and no database: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("gave up after %v", took)
	}

	addr := freePort(t)
	cmd, log := startWaiting(t, t.TempDir(), addr, "--db", db, "--db-wait", "5m")
	if !until(30*time.Second, func() bool { return strings.Count(log.String(), "database unreachable; retrying") >= 2 }) {
		t.Fatal("no second retry in the log")
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server exited: %v", err)
	}
	if l := log.String(); strings.Contains(l, "s3cret-pw") || !strings.Contains(l, "xxxxx@127.0.0.1") {
		t.Fatalf("the log shows the password or not the database:\n%s", l)
	}
	pg.Start(t)
	healthy := func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if !until(60*time.Second, healthy) {
		t.Fatal("the server did not become ready once PostgreSQL started")
	}
	if !strings.Contains(log.String(), "database reachable") {
		t.Fatalf("no word in the log that the database was reached:\n%s", log.String())
	}
}

// faultDeployment prepares a database for a fault test: the schema, an
// administrator with an API token, and a data key every server shares.
func faultDeployment(t *testing.T, db string) (tok string) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	t.Setenv("ANTICOVID_DATA_KEY", hex.EncodeToString(key))
	dir := t.TempDir()
	if out, err := cli(t, "", "migrate", "--db", db, "--data", dir); err != nil {
		t.Fatal(err, out)
	}
	if out, err := cli(t, "mật-khẩu-rất-dài\n", "user", "add", "--db", db, "--data", dir, "--username", "admin", "--role", "province_admin", "--unit", "80"); err != nil {
		t.Fatal(err, out)
	}
	tok, err := cli(t, "", "token", "create", "--db", db, "--data", dir, "--username", "admin")
	if err != nil {
		t.Fatal(err, tok)
	}
	return strings.TrimSpace(tok)
}

// faultVenues registers n venues through base and returns their QR tokens.
func faultVenues(t *testing.T, base, tok string, n int) []string {
	t.Helper()
	var qrs []string
	for i := range n {
		code, body := call(t, "POST", base+"/api/v1/venues", tok, nil, map[string]string{"name": fmt.Sprintf("Chợ số %d", i+1),
			"category": "market", "commune_code": "27685", "address": "Phường 5"})
		var v struct {
			QRURL string `json:"qr_url"`
		}
		json.Unmarshal(body, &v)
		if code != http.StatusCreated || !strings.Contains(v.QRURL, "/c/") {
			t.Fatalf("venue: %d %s", code, body)
		}
		qrs = append(qrs, v.QRURL[strings.LastIndex(v.QRURL, "/c/")+3:])
	}
	return qrs
}

// ledger is what a check-in load saw, per phase of the fault (0 before,
// 1 while the database is down, 2 after it is back).
type ledger struct {
	mu          sync.Mutex
	acked       map[string]bool // ids answered 2xx
	ok          [3]int
	unavailable [3]int   // 503 answers
	wrong       []string // a 503 without Retry-After or the error shape; any other answer
	phase       atomic.Int32
}

func (l *ledger) note(f string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.wrong) < 20 {
		l.wrong = append(l.wrong, fmt.Sprintf(f, args...))
	}
}

// phoneLoad posts check-ins to bases from workers goroutines, as phones
// would: each scan with its own id, sent again with the same id after a 503
// until it is acknowledged (quicker than Retry-After says, to load the
// server), every tenth of a second, until stop is closed. Each worker is one
// person (typed in once, then by person token) at one venue, within the
// plausibility rules. wait returns once every worker has stopped.
func phoneLoad(t *testing.T, bases, qrs []string, workers int, stop <-chan struct{}) (l *ledger, wait func()) {
	l = &ledger{acked: map[string]bool{}}
	run := make([]byte, 4)
	rand.Read(run)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			person := ""
			for i := 0; i < 140; i++ {
				select {
				case <-stop:
					return
				default:
				}
				scan := map[string]any{"id": fmt.Sprintf("load-%x-%02d-%04d", run, w, i), "token": qrs[w%len(qrs)], "direction": "in"}
				if person != "" {
					scan["person_token"] = person
				} else {
					scan["person"] = map[string]any{"name": "Trần Thị Bích", "phone": fmt.Sprintf("0913%06d", w), "birth_year": 1985, "commune_code": "27685"}
				}
				b, _ := json.Marshal(scan)
				for try := 0; ; try++ {
					if try > 600 {
						l.note("scan %s never acknowledged", scan["id"])
						return
					}
					base := bases[(w+try)%len(bases)]
					resp, err := client.Post(base+"/api/v1/checkins", "application/json", bytes.NewReader(b))
					if err != nil {
						l.note("scan %s: %v", scan["id"], err)
						time.Sleep(200 * time.Millisecond)
						continue
					}
					var answer struct {
						PersonToken string `json:"person_token"`
						Error       struct{ Code, Message string }
					}
					json.NewDecoder(resp.Body).Decode(&answer)
					resp.Body.Close()
					p := l.phase.Load()
					if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
						l.mu.Lock()
						l.acked[scan["id"].(string)] = true
						l.ok[p]++
						l.mu.Unlock()
						person = answer.PersonToken
						break
					}
					if resp.StatusCode != http.StatusServiceUnavailable {
						l.note("scan %s: %d %s", scan["id"], resp.StatusCode, answer.Error.Code)
						break
					}
					l.mu.Lock()
					l.unavailable[p]++
					l.mu.Unlock()
					if resp.Header.Get("Retry-After") == "" || answer.Error.Code != "unavailable" || !strings.Contains(answer.Error.Message, "gián đoạn") {
						l.note("503 without Retry-After or the error shape: %q %+v", resp.Header.Get("Retry-After"), answer.Error)
					}
					time.Sleep(200 * time.Millisecond)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	return l, wg.Wait
}

// stored checks that every acknowledged check-in is in the database once
// and nothing else of the load is.
func (l *ledger) stored(t *testing.T, db string) {
	t.Helper()
	d, err := store.Open(context.Background(), db, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.R.Query("SELECT id FROM visits WHERE id LIKE 'load-%' UNION ALL SELECT visit_id FROM visits_held WHERE visit_id LIKE 'load-%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]int{}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		seen[id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for id := range l.acked {
		if seen[id] == 0 {
			lost++
		}
	}
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	if lost > 0 || twice > 0 || len(seen) != len(l.acked) {
		t.Fatalf("%d acknowledged check-ins, %d stored: %d lost, %d stored twice", len(l.acked), len(seen), lost, twice)
	}
}

// PostgreSQL crashes and restarts under check-in load: while it is down the API answers
// 503 with Retry-After and the usual error shape (never 500), the server's
// pool reconnects by itself once it is back, and every acknowledged
// check-in is stored exactly once (phones send a scan again with its id).
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg := testenv.NewCluster(t)
	db := pg.URL("")
	tok := faultDeployment(t, db)
	_, base := startServer(t, t.TempDir(), "--db", db)
	qrs := faultVenues(t, base, tok, 2)

	stop := make(chan struct{})
	l, wait := phoneLoad(t, []string{base}, qrs, 24, stop)
	time.Sleep(2 * time.Second)
	l.phase.Store(1)
	pg.Stop(t, "immediate") // a crash: recovery replays the WAL at start
	time.Sleep(3 * time.Second)
	pg.Start(t)
	l.phase.Store(2)
	time.Sleep(4 * time.Second)
	close(stop)
	wait()

	t.Logf("acknowledged before/during/after the restart: %v; 503 answers: %v", l.ok, l.unavailable)
	if len(l.wrong) > 0 {
		t.Fatalf("wrong answers:\n%s", strings.Join(l.wrong, "\n"))
	}
	if l.ok[0] == 0 || l.unavailable[1] == 0 || l.ok[2] == 0 {
		t.Fatalf("want check-ins before, 503s during and check-ins after the restart: %v %v", l.ok, l.unavailable)
	}
	l.stored(t, db)
}

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
	l, wait := phoneLoad(t, []string{base}, qrs, 16, stop)
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
	if res["servers"] != 2 || res["checkins_per_s"] <= 0 || res["ratio"] <= 0 || !strings.Contains(out, "2 server(s)") {
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
