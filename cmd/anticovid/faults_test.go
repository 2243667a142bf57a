package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"anticovid/internal/store"
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
func phoneLoad(bases, qrs []string, workers int, stop <-chan struct{}) (l *ledger, wait func()) {
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
	l, wait := phoneLoad([]string{base}, qrs, 24, stop)
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
