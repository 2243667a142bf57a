package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"anticovid/internal/store"
)

// build compiles the anticovid binary once per test run.
var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "anticovid-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "anticovid")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// cli runs the binary with stdin and returns its output.
func cli(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestUserAddAndToken(t *testing.T) {
	dir := t.TempDir()
	out, err := cli(t, "mật-khẩu-rất-dài\n", "user", "add", "--data", dir, "--username", "xa.benluc", "--role", "commune_officer", "--unit", "27991")
	if err != nil || !strings.Contains(out, "created user xa.benluc") {
		t.Fatalf("user add: %v %s", err, out)
	}
	for _, bad := range [][]string{
		{"--username", "x2", "--role", "commune_officer", "--unit", "27991"},
		{"--username", "ok.name", "--role", "emperor", "--unit", "27991"},
		{"--username", "ok.name", "--role", "commune_officer", "--unit", "99999"},
	} {
		if out, err := cli(t, "mật-khẩu-rất-dài\n", append([]string{"user", "add", "--data", dir}, bad...)...); err == nil {
			t.Errorf("user add %v accepted: %s", bad, out)
		}
	}
	// The password rule of every other path: length, common and breached
	// passwords however dressed, the username inside.
	for _, pw := range []string{"ngắn quá", "Password12345!", "qwertyuiop1234", "ok.name-mật-khẩu", "aaaaaaaaaaaaaaaa"} {
		if out, err := cli(t, pw+"\n", "user", "add", "--data", dir, "--username", "ok.name", "--role", "commune_officer", "--unit", "27991"); err == nil || !strings.Contains(out, "password") {
			t.Errorf("user add with password %q: %v %s", pw, err, out)
		}
	}
	tok, err := cli(t, "", "token", "create", "--data", dir, "--username", "xa.benluc")
	tok = strings.TrimSpace(tok)
	if err != nil || !strings.HasPrefix(tok, "act_") || strings.Contains(tok, "\n") {
		t.Fatalf("token create: %v %q", err, tok)
	}
	if out, err := cli(t, "", "token", "create", "--data", dir, "--username", "nobody"); err == nil {
		t.Fatalf("token for unknown user: %s", out)
	}
	if out, err := cli(t, "", "serve", "--data", dir, "--province", "794"); err == nil || !strings.Contains(out, `--province "794"`) {
		t.Fatalf("bad province accepted: %s", out)
	}
}

// startServer runs `anticovid serve` and waits until it answers.
func startServer(t *testing.T, dir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	return startServerAt(t, dir, freePort(t), extra...)
}

// startServerAt runs `anticovid serve` on addr and waits until it answers;
// a failed test shows what the server logged.
func startServerAt(t *testing.T, dir, addr string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data", dir, "--addr", addr, "--checkin-rate", "0", "--log-level", "error"}, extra...)...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", out.String())
		}
	})
	for i := 0; i < 200; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd, "http://" + addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not start")
	return nil, ""
}

// servedVenue makes an admin and a venue in dir and starts a server on it
// (with the extra flags); it returns the server, its base URL and the
// venue's QR token.
func servedVenue(t *testing.T, dir string, extra ...string) (*exec.Cmd, string, string) {
	t.Helper()
	if out, err := cli(t, "mật-khẩu-rất-dài\n", "user", "add", "--data", dir, "--username", "admin", "--role", "province_admin", "--unit", "80"); err != nil {
		t.Fatal(err, out)
	}
	tok, _ := cli(t, "", "token", "create", "--data", dir, "--username", "admin")
	cmd, base := startServer(t, dir, extra...)
	body, _ := json.Marshal(map[string]string{"name": "Chợ Tân An", "category": "market", "commune_code": "27685", "address": "Phường 5"})
	req, _ := http.NewRequest("POST", base+"/api/v1/venues", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		QRURL string `json:"qr_url"`
	}
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	return cmd, base, v.QRURL[strings.LastIndex(v.QRURL, "/c/")+3:]
}

// checkinLoad pours check-ins into the server from 16 connections until
// stop is called (or the server goes away); acked returns the ids answered
// with a 2xx so far.
func checkinLoad(base, venueToken string) (acked func() []string, stop func()) {
	var mu sync.Mutex
	var ids []string
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("%08d-0000-4000-8000-%012d", g, i)
				b, _ := json.Marshal(map[string]any{"id": id, "token": venueToken, "direction": "in",
					"person": map[string]any{"name": "Phạm Văn Đức", "phone": fmt.Sprintf("09%02d%06d", g, i%1000), "birth_year": 1970, "commune_code": "27685"}})
				resp, err := http.Post(base+"/api/v1/checkins", "application/json", bytes.NewReader(b))
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					ids = append(ids, id)
					mu.Unlock()
				}
			}
		})
	}
	acked = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
	return acked, func() { cancel(); wg.Wait() }
}

// missingCheckins counts the ids in neither visits nor visits_held of the
// deployment in dir (typed details from one address, as checkinLoad sends,
// are what the burst rule holds after the first 30).
func missingCheckins(t *testing.T, dir string, ids []string) int {
	t.Helper()
	db, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	missing := 0
	for _, id := range ids {
		var n int
		if err := db.R.QueryRow("SELECT (SELECT count(*) FROM visits WHERE id = $1) + (SELECT count(*) FROM visits_held WHERE visit_id = $1)", id).Scan(&n); err != nil || n != 1 {
			missing++
		}
	}
	return missing
}

// Kill -9 the server while check-ins pour in: every check-in that got a 2xx
// must be in the database afterwards, exactly once.
func TestCrashLosesNoAcknowledgedCheckin(t *testing.T) {
	dir := t.TempDir()
	cmd, base, venueToken := servedVenue(t, dir)
	acked, stop := checkinLoad(base, venueToken)
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stop()
	ids := acked()
	if len(ids) < 100 {
		t.Fatalf("only %d check-ins acknowledged before the kill", len(ids))
	}
	// Started again, the server first applies the scans its journal holds.
	startServer(t, dir)
	if missing := missingCheckins(t, dir, ids); missing > 0 {
		t.Fatalf("%d of %d acknowledged check-ins lost in the crash", missing, len(ids))
	}
	t.Logf("%d acknowledged check-ins, all present after kill -9", len(ids))
}

// TestMetricsAddr: --metrics-addr serves /metrics there without a token,
// and the public address does not serve it at all.
func TestMetricsAddr(t *testing.T) {
	maddr := freePort(t)
	_, base := startServer(t, t.TempDir(), "--metrics-addr", maddr)
	// One counted request (health probes are not counted).
	if resp, err := http.Get(base + "/login"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	var code int
	for range 100 {
		resp, err := http.Get("http://" + maddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
			if code != http.StatusOK || !strings.Contains(string(b), "anticovid_http_requests_total") {
				t.Fatalf("metrics address: %d", code)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Fatal("metrics address never answered")
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics: %d", resp.StatusCode)
	}
	if out, err := cli(t, "", "serve", "--data", t.TempDir(), "--metrics-addr", "nope"); err == nil || !strings.Contains(out, "--metrics-addr") {
		t.Fatalf("bad --metrics-addr accepted: %v %s", err, out)
	}
}
