package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// previousRelease builds the anticovid of the commit before the newest
// migration was added (the schema's previous release) from this
// repository's history, into a temporary directory.
func previousRelease(t *testing.T) (bin, ref string) {
	t.Helper()
	git := testenv.Command(t, "git")
	out, err := exec.Command(git, "log", "-1", "--format=%H", "--diff-filter=A", "--", "../../internal/store/migrations/").Output()
	added := strings.TrimSpace(string(out))
	if err != nil || added == "" {
		testenv.Skip(t, "no git history of the migrations here")
	}
	ref = added + "^"
	src := t.TempDir()
	top, err := exec.Command(git, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", fmt.Sprintf("%s -C %s archive --format=tar %s | tar -x -C %s", git, strings.TrimSpace(string(top)), ref, src))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s: %v %s", ref, err, out)
	}
	bin = filepath.Join(t.TempDir(), "anticovid-previous")
	build := exec.Command("go", "build", "-o", bin, "./cmd/anticovid")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v %s", ref, err, out)
	}
	return bin, ref
}

// A rolling upgrade on PostgreSQL: a server of the previous release runs
// and takes check-ins; a server of this release starts beside it and
// migrates; the older server goes on serving the new schema (ready, venue
// QR codes of both verify on both, each reads the venue contact phone the
// other sealed, a check-in finds the person the other made by phone).
func TestRollingUpgradeWithPreviousRelease(t *testing.T) {
	pg := storetest.PostgresURL(t)
	oldBin, ref := previousRelease(t)
	key := make([]byte, 32)
	rand.Read(key)
	t.Setenv("ANTICOVID_DATA_KEY", hex.EncodeToString(key))
	run := func(bin string, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v %s", filepath.Base(bin), args, err, out)
		}
		return string(out)
	}
	run(oldBin, "", "migrate", "--db", pg, "--data", t.TempDir())
	run(oldBin, "mật-khẩu-rất-dài\n", "user", "add", "--db", pg, "--data", t.TempDir(), "--username", "admin", "--role", "province_admin", "--unit", "80")
	tok := strings.TrimSpace(run(oldBin, "", "token", "create", "--db", pg, "--data", t.TempDir(), "--username", "admin"))

	// The previous release serves alone, then this one starts beside it.
	oldAddr := freePort(t)
	oldSrv := exec.Command(oldBin, "serve", "--db", pg, "--data", t.TempDir(), "--addr", oldAddr, "--checkin-rate", "0", "--log-level", "error")
	if err := oldSrv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { oldSrv.Process.Kill(); oldSrv.Wait() })
	oldBase := "http://" + oldAddr
	waitReady(t, oldBase)
	venue := func(base, name string) (id int64, token string) {
		t.Helper()
		code, body := call(t, "POST", base+"/api/v1/venues", tok, nil, map[string]string{"name": name, "category": "market",
			"commune_code": "27685", "address": "Phường 5", "contact_phone": "0912345678"})
		var v struct {
			ID    int64  `json:"id"`
			QRURL string `json:"qr_url"`
		}
		json.Unmarshal(body, &v)
		if code != http.StatusCreated || !strings.Contains(v.QRURL, "/c/") {
			t.Fatalf("venue on %s: %d %s", base, code, body)
		}
		return v.ID, v.QRURL[strings.LastIndex(v.QRURL, "/c/")+3:]
	}
	n := 0
	checkin := func(base, token, phone string) {
		t.Helper()
		n++
		code, body := call(t, "POST", base+"/api/v1/checkins", "", nil, map[string]any{"id": fmt.Sprintf("00000000-0000-4000-8000-%012d", n), "token": token, "direction": "in",
			"person": map[string]any{"name": "Phạm Văn Đức", "phone": phone, "birth_year": 1970, "commune_code": "27991"}})
		if code != http.StatusCreated {
			t.Fatalf("check-in on %s: %d %s", base, code, body)
		}
	}
	contact := func(base string, id int64) string {
		t.Helper()
		code, body := call(t, "GET", fmt.Sprintf("%s/api/v1/venues/%d", base, id), tok, nil, nil)
		var v struct {
			ContactPhone string `json:"contact_phone"`
		}
		json.Unmarshal(body, &v)
		if code != http.StatusOK {
			t.Fatalf("venue %d on %s: %d %s", id, base, code, body)
		}
		return v.ContactPhone
	}
	oldVenue, oldQR := venue(oldBase, "Chợ Tân An")
	checkin(oldBase, oldQR, "0987000001")

	dir := t.TempDir()
	_, newBase := startServer(t, dir, "--db", pg)
	waitReady(t, newBase)
	newVenue, newQR := venue(newBase, "Chợ Bến Lức")

	// The older server on the new schema.
	waitReady(t, oldBase)
	checkin(oldBase, newQR, "0987000002")
	checkin(oldBase, oldQR, "0987000001")
	checkin(newBase, oldQR, "0987000002")
	if got := contact(oldBase, newVenue); got != "0912345678" {
		t.Fatalf("the previous release reads the contact phone this one sealed as %q", got)
	}
	if got := contact(newBase, oldVenue); got != "0912345678" {
		t.Fatalf("this release reads the contact phone the previous one sealed as %q", got)
	}
	var people int
	db, err := store.Open(context.Background(), pg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.R.QueryRow("SELECT count(*) FROM people").Scan(&people)
	if people != 2 {
		t.Fatalf("%d people for two phones: a server did not find the other's person by phone", people)
	}
	// Both queue messages in the outbox (a phone code each): the previous
	// release's ON CONFLICT (dedup_key) needs the outbox whole.
	sendCode := func(base, phone string) {
		t.Helper()
		if code, body := call(t, "POST", base+"/api/v1/bluezone/register/code", "", nil, map[string]string{"phone": phone}); code != http.StatusAccepted {
			t.Fatalf("phone code on %s: %d %s", base, code, body)
		}
	}
	sendCode(oldBase, "0987000011")
	sendCode(newBase, "0987000012")
	outbox := func() (rows int, partitioned bool) {
		db.R.QueryRow("SELECT count(*) FROM outbox").Scan(&rows)
		db.R.QueryRow("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('outbox'))").Scan(&partitioned)
		return rows, partitioned
	}
	// A previous release that has migration 0046 made the keyed tables
	// partitioned with the database; an older one left them whole.
	keyedBefore := exec.Command(testenv.Command(t, "git"), "cat-file", "-e", ref+":internal/store/migrations/0046_keyed_partitions.sql").Run() == nil
	if n, part := outbox(); n != 2 || part != keyedBefore {
		t.Fatalf("beside the previous release: %d messages queued (want 2), outbox partitioned %v (want %v)", n, part, keyedBefore)
	}
	t.Logf("previous release %s served the new schema beside this one", ref)

	// While the previous release still runs, --finish refuses: its
	// connections carry no application_name of this release.
	if out, err := cli(t, "", "migrate", "--finish", "--db", pg, "--data", t.TempDir()); err == nil || !strings.Contains(out+err.Error(), "previous release") {
		t.Fatalf("migrate --finish beside the previous release: %v %s", err, out)
	}
	// The previous release gone, the upgrade is finished: the keyed tables
	// are partitioned by day and this release goes on queueing messages.
	oldSrv.Process.Kill()
	oldSrv.Wait()
	if out, err := cli(t, "", "migrate", "--finish", "--db", pg, "--data", t.TempDir()); err != nil || strings.Contains(out, "partitioned by day: outbox, campaign_deliveries, en_keys") == keyedBefore {
		t.Fatalf("migrate --finish: %v %s", err, out)
	}
	sendCode(newBase, "0987000013")
	if n, part := outbox(); n != 3 || !part {
		t.Fatalf("after migrate --finish: %d messages queued (want 3), outbox partitioned %v", n, part)
	}
}

// waitReady waits for /readyz to answer 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	for range 600 {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", base)
}
