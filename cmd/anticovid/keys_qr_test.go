package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"anticovid/internal/store"
	"anticovid/internal/testenv"
)

// The venue QR key's whole path on a running deployment: a poster printed
// (its PNG decoded by zbarimg) before `keys qr rotate` still checks in
// after it, on the running server and after a restart; posters made after
// it are signed with the new key; `keys qr retire` of the old key refuses
// the old poster and keeps the new one working. The signing key itself
// cannot be retired.
func TestQRKeyRotation(t *testing.T) {
	zbar := testenv.Command(t, "zbarimg")
	dir := t.TempDir()
	if out, err := cli(t, "mật-khẩu-rất-dài\n", "user", "add", "--data", dir, "--username", "admin", "--role", "province_admin", "--unit", "80"); err != nil {
		t.Fatal(err, out)
	}
	tok, _ := cli(t, "", "token", "create", "--data", dir, "--username", "admin")
	tok = strings.TrimSpace(tok)
	srv, base := startServer(t, dir)
	poster := func(name string) string { // a venue's printed QR, decoded
		t.Helper()
		code, body := call(t, "POST", base+"/api/v1/venues", tok, nil, map[string]string{"name": name, "category": "market", "commune_code": "27685", "address": "Phường 5"})
		id := regexp.MustCompile(`"id":\s*(\d+)`).FindSubmatch(body)
		if code != http.StatusCreated || id == nil {
			t.Fatalf("venue: %d %s", code, body)
		}
		code, png := call(t, "GET", base+"/api/v1/venues/"+string(id[1])+"/qr.png", tok, nil, nil)
		if code != http.StatusOK {
			t.Fatalf("qr.png: %d", code)
		}
		path := filepath.Join(t.TempDir(), "qr.png")
		os.WriteFile(path, png, 0o600)
		out, err := exec.Command(zbar, "--quiet", "--raw", path).Output()
		m := regexp.MustCompile(`/c/([A-Za-z0-9_-]+)`).FindStringSubmatch(string(out))
		if err != nil || m == nil {
			t.Fatalf("zbarimg: %v %q", err, out)
		}
		return m[1]
	}
	n := 0
	checkin := func(token string) (int, string) {
		n++
		code, body := call(t, "POST", base+"/api/v1/checkins", "", nil, map[string]any{"id": fmt.Sprintf("00000000-0000-4000-8000-%012d", n), "token": token, "direction": "in",
			"person": map[string]any{"name": "Phạm Văn Đức", "phone": "0987000001", "birth_year": 1970, "commune_code": "27991"}})
		return code, string(body)
	}
	keys := func(args ...string) (string, map[string]string) {
		t.Helper()
		out, err := cli(t, "", append([]string{"keys", "qr"}, append(args, "--data", dir)...)...)
		if err != nil {
			t.Fatalf("keys qr %v: %v %s", args, err, out)
		}
		state := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^([0-9a-f]+) created \S+ (\w+)`).FindAllStringSubmatch(out, -1) {
			state[m[1]] = m[2]
		}
		return out, state
	}

	old := poster("Chợ Tân An")
	if code, body := checkin(old); code != http.StatusCreated {
		t.Fatalf("check-in before rotation: %d %s", code, body)
	}
	_, before := keys("list")
	if len(before) != 1 {
		t.Fatalf("keys before rotation: %v", before)
	}
	var oldKid string
	for k := range before {
		oldKid = k
	}
	out, after := keys("rotate")
	newKid := regexp.MustCompile(`new signing key ([0-9a-f]+)`).FindStringSubmatch(out)
	if newKid == nil || after[newKid[1]] != "signing" || after[oldKid] != "verifies" {
		t.Fatalf("rotate: %s", out)
	}
	// The running server still takes the old poster; restarted (as a
	// rolling upgrade would), it signs new posters with the new key.
	if code, body := checkin(old); code/100 != 2 {
		t.Fatalf("old poster on the running server after rotation: %d %s", code, body)
	}
	srv.Process.Kill()
	srv.Wait()
	srv, base = startServer(t, dir)
	if code, body := checkin(old); code/100 != 2 {
		t.Fatalf("old poster after rotation and restart: %d %s", code, body)
	}
	fresh := poster("Siêu thị Co.opmart")
	if code, body := checkin(fresh); code/100 != 2 {
		t.Fatalf("new poster: %d %s", code, body)
	}

	if out, err := cli(t, "", "keys", "qr", "retire", newKid[1], "--data", dir); err == nil {
		t.Fatalf("retiring the signing key was accepted: %s", out)
	}
	_, retired := keys("retire", oldKid)
	if !strings.HasPrefix(retired[oldKid], "retired") || retired[newKid[1]] != "signing" {
		t.Fatalf("after retire: %v", retired)
	}
	// Running servers reload the keys every minute; a restart is at once.
	srv.Process.Kill()
	srv.Wait()
	_, base = startServer(t, dir)
	code, body := checkin(old)
	if code != http.StatusBadRequest || !strings.Contains(body, "thu hồi") {
		t.Fatalf("old poster after retire: %d %s, want 400 saying it was withdrawn", code, body)
	}
	if code, body := checkin(fresh); code/100 != 2 {
		t.Fatalf("new poster after retire: %d %s", code, body)
	}
}

// Exposure Notification export signing key rotation: files published before
// `en signing-key rotate` verify with the old public key, files published
// after it are signed by the new key and name it in their signature info,
// and the old public key does not verify them.
func TestENSigningKeyRotation(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if out, err := cli(t, "", "migrate", "--data", dir); err != nil {
		t.Fatal(err, out)
	}
	pems := func(out string) (id, pem string) {
		t.Helper()
		m := regexp.MustCompile(`(?s)^(\S+ \S+) \(active[^)]*\)\n(-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----\n)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no active key in %q", out)
		}
		return m[1], m[2]
	}
	exportNow := func(hoursAgo int) []byte {
		t.Helper()
		db, err := store.Open(ctx, "", dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		avail := time.Now().Add(-time.Duration(hoursAgo) * time.Hour).Truncate(time.Hour).Unix()
		for i := range 3 {
			k := make([]byte, 16)
			rand.Read(k)
			if _, err := db.W.Exec(`INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region, certificate_id,
				created_at, available_at) VALUES ($1, $2, 144, 4, 'VN', 0, $3, $3)`, k, (avail/600)/144*144-144, avail+int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := cli(t, "", "en", "export", "--data", dir); err != nil || !strings.Contains(out, "1 files published") {
			t.Fatalf("en export: %v %s", err, out)
		}
		var content []byte
		if err := db.R.QueryRow("SELECT content FROM en_exports ORDER BY id DESC LIMIT 1").Scan(&content); err != nil {
			t.Fatal(err)
		}
		return content
	}
	verify := func(file []byte, pem string) (string, error) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "e.zip"), file, 0o600)
		os.WriteFile(filepath.Join(d, "k.pem"), []byte(pem), 0o600)
		return cli(t, "", "en", "verify-export", filepath.Join(d, "e.zip"), "--public-key", filepath.Join(d, "k.pem"))
	}

	before := exportNow(30) // the first export makes the first key
	out, err := cli(t, "", "en", "signing-key", "list", "--data", dir)
	if err != nil {
		t.Fatal(err, out)
	}
	oldID, oldPEM := pems(out)
	out, err = cli(t, "", "en", "signing-key", "rotate", "--data", dir)
	if err != nil {
		t.Fatal(err, out)
	}
	newID, newPEM := pems(out[strings.Index(out, "\n")+1:])
	if newID == oldID || newPEM == oldPEM {
		t.Fatalf("rotation kept the key: %s", out)
	}
	after := exportNow(2)

	if out, err := verify(before, oldPEM); err != nil || !strings.Contains(out, "signature: ok") {
		t.Fatalf("the file before rotation with the old key: %v %s", err, out)
	}
	out, err = verify(after, newPEM)
	id, version, _ := strings.Cut(newID, " ")
	if err != nil || !strings.Contains(out, "signature: ok") || !strings.Contains(out, "key_id="+id+" version="+version+" ") {
		t.Fatalf("the file after rotation with the new key (%s): %v %s", newID, err, out)
	}
	if out, err := verify(after, oldPEM); err == nil {
		t.Fatalf("the file after rotation verified with the old key: %s", out)
	}
}
