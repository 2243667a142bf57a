package main

import (
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

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
