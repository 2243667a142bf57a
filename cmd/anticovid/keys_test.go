package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

// sealedColumns are every sealed column of the schema, as their owners'
// Resealers list them: table, column, and the prefix of a TEXT column
// holding base64 ("" with text false: a BLOB).
var sealedColumns = []struct {
	table, col string
	text       bool
	prefix     string
}{
	{"people", "name_enc", false, ""}, {"people", "phone_enc", false, ""}, {"people", "id_number_enc", false, ""},
	{"venues", "contact_phone_enc", false, ""},
	{"outbox", "to_enc", false, ""}, {"outbox", "body", true, "sealed:"}, {"outbox", "params", true, "sealed:"},
	{"declarations", "answers_enc", false, ""}, {"declarations", "handled_note", true, ""},
	{"case_imports", "data_enc", false, ""}, {"bz_devices", "key_enc", false, ""},
	{"en_signing_keys", "private_enc", false, ""}, {"cameras", "secret_enc", false, ""},
	{"users", "totp_secret_enc", false, ""}, {"users", "totp_pending_enc", false, ""},
	{"meeting_contacts", "email_enc", false, ""}, {"meeting_contacts", "phone_enc", false, ""},
	{"token_keys", "seed_enc", false, ""}, {"door_teams", "key_private_enc", false, ""}, {"vault_check", "sealed", false, ""}, {"vault_lookup", "sealed", false, ""},
}

// sealedValues reads every sealed value in the database, by table.column.
func sealedValues(t *testing.T, db *sqldb.DB) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, c := range sealedColumns {
		rows, err := db.R.Query(fmt.Sprintf("SELECT %s FROM %s", c.col, c.table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var raw []byte
			if err := rows.Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if c.text {
				s, ok := strings.CutPrefix(string(raw), c.prefix)
				if !ok || s == "" {
					continue
				}
				if raw, err = base64.StdEncoding.DecodeString(s); err != nil {
					t.Fatalf("%s.%s: %v", c.table, c.col, err)
				}
			}
			if len(raw) > 0 {
				out[c.table+"."+c.col] = append(out[c.table+"."+c.col], raw)
			}
		}
		rows.Close()
	}
	return out
}

// A data-key rotation on two servers sharing PostgreSQL, under check-in and
// health-declaration load: the demo data sealed with the old key, both
// servers started with the new key (from a file, `keys rotate --out`) and
// the old one; check-ins and declarations go on throughout and find the
// people the old key sealed by phone; the re-seal job (one server at a time)
// moves every old value once; afterwards every sealed value in the
// database opens with the new key alone and names it, a server holding
// only the old key is refused, and one holding only the new key starts.
func TestDataKeyRotationUnderLoad(t *testing.T) {
	pg := storetest.PostgresURL(t)
	ctx := context.Background()
	oldKey := make([]byte, 32)
	rand.Read(oldKey)
	oldHex := hex.EncodeToString(oldKey)
	t.Setenv("ANTICOVID_DATA_KEY", oldHex)
	dirA, dirB := t.TempDir(), t.TempDir()
	if out, err := cli(t, "", "demo", "--db", pg, "--data", dirA, "--scale", "small"); err != nil {
		t.Fatal(err, out)
	}
	if out, err := cli(t, "mật-khẩu-rất-dài\n", "user", "add", "--db", pg, "--data", dirA, "--username", "quantri.xoay", "--role", "province_admin", "--unit", "80"); err != nil {
		t.Fatal(err, out)
	}
	tok, err := cli(t, "", "token", "create", "--db", pg, "--data", dirA, "--username", "quantri.xoay")
	if err != nil {
		t.Fatal(err, tok)
	}
	db, err := store.Open(ctx, pg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := sealedValues(t, db)
	oldValues := 0
	for _, vs := range before {
		oldValues += len(vs)
	}
	var seededPhone string // a person the old key sealed, looked up later by phone
	{
		v, _ := vault.New(oldKey)
		var sealed []byte
		db.R.QueryRow("SELECT phone_enc FROM people WHERE phone_enc IS NOT NULL ORDER BY id LIMIT 1").Scan(&sealed)
		if seededPhone, err = v.Open(sealed); err != nil || seededPhone == "" {
			t.Fatalf("a demo person's phone: %q %v", seededPhone, err)
		}
	}

	// The new key, in a file; the old one stays in the variable's _OLD twin.
	newFile := filepath.Join(t.TempDir(), "data_key")
	if out, err := cli(t, "", "keys", "rotate", "--out", newFile); err != nil || !strings.Contains(out, "ANTICOVID_DATA_KEY_OLD") {
		t.Fatalf("keys rotate: %v %s", err, out)
	}
	t.Setenv("ANTICOVID_DATA_KEY", "")
	t.Setenv("ANTICOVID_DATA_KEY_FILE", newFile)
	t.Setenv("ANTICOVID_DATA_KEY_OLD", oldHex)
	raw, _ := os.ReadFile(newFile)
	newKey, _ := hex.DecodeString(strings.TrimSpace(string(raw)))

	args := []string{"--db", pg, "--job-lease", "2s"}
	began := time.Now()
	_, baseA := startServer(t, dirA, args...)
	_, baseB := startServer(t, dirB, args...)
	var venueToken string
	code, body := call(t, "POST", baseA+"/api/v1/venues", strings.TrimSpace(tok), nil, map[string]string{"name": "Chợ Tân An", "category": "market", "commune_code": "27685", "address": "Phường 5"})
	var venue struct {
		QRURL string `json:"qr_url"`
	}
	json.Unmarshal(body, &venue)
	if code != http.StatusCreated {
		t.Fatalf("venue: %d %s", code, body)
	}
	venueToken = venue.QRURL[strings.LastIndex(venue.QRURL, "/c/")+3:]

	// Load on both servers: check-ins (new people, and the old key's person
	// by phone) and health declarations.
	stopCh := make(chan struct{})
	var wg sync.WaitGroup
	var checkins, declarations, failures atomic.Int64
	for g := range 4 {
		base := []string{baseA, baseB}[g%2]
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopCh:
					return
				default:
				}
				phone := fmt.Sprintf("0977%02d%04d", g, i%10000)
				if i%5 == 0 {
					phone = seededPhone
				}
				c, b := post(base+"/api/v1/checkins", map[string]any{"id": fmt.Sprintf("%08d-0000-4000-8000-%012d", g, i), "token": venueToken, "direction": "in",
					"person": map[string]any{"name": "Phạm Văn Đức", "phone": phone, "birth_year": 1970, "commune_code": "27685"}})
				if c/100 == 2 {
					checkins.Add(1)
				} else {
					if failures.Add(1) == 1 {
						t.Logf("check-in: %d %s", c, b)
					}
				}
				c, b = post(base+"/api/v1/declarations", map[string]any{"kind": "resident", "name": "Trần Thị Bình", "birth_year": 1985, "sex": "female",
					"nationality": "VN", "phone": fmt.Sprintf("0966%02d%04d", g, i%10000), "commune_code": "27685", "street": "Ấp 3", "symptoms": []string{},
					"contact_case": false, "animal_market": false, "vaccine_doses": 2})
				if c/100 == 2 {
					declarations.Add(1)
				} else {
					if failures.Add(1) == 1 {
						t.Logf("declaration: %d %s", c, b)
					}
				}
			}
		})
	}

	// Wait for the re-seal job to finish every table.
	nv, _ := vault.New(newKey)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var done, tables int
		db.R.QueryRow("SELECT count(*) FROM vault_reseal WHERE key_id = $1 AND done = 1", nv.KeyID()).Scan(&done)
		if done == len(reseaTables) {
			break
		}
		if time.Now().After(deadline) {
			db.R.QueryRow("SELECT count(*) FROM vault_reseal WHERE key_id = $1", nv.KeyID()).Scan(&tables)
			t.Fatalf("re-seal: %d of %d tables done (%d begun) after 3 minutes", done, len(reseaTables), tables)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(began)
	midway := checkins.Load() + declarations.Load()
	time.Sleep(500 * time.Millisecond)
	close(stopCh)
	wg.Wait()
	if failures.Load() > 0 || checkins.Load() == 0 || declarations.Load() == 0 {
		t.Fatalf("load: %d check-ins, %d declarations, %d failures", checkins.Load(), declarations.Load(), failures.Load())
	}
	t.Logf("%d old values re-sealed within %v of the servers' start, under load: %d check-ins and declarations by then, %d in all",
		oldValues, took.Round(100*time.Millisecond), midway, checkins.Load()+declarations.Load())

	// Every value opens with the new key alone and names it.
	for col, vs := range sealedValues(t, db) {
		for _, s := range vs {
			if !nv.Current(s) {
				t.Fatalf("%s: a value not sealed with the new key", col)
			}
			if _, err := nv.Open(s); err != nil {
				t.Fatalf("%s: %v", col, err)
			}
		}
	}
	// Each old value was re-sealed once, by whichever server held the job.
	var resealed int
	db.R.QueryRow("SELECT coalesce(sum(resealed), 0) FROM vault_reseal WHERE key_id = $1", nv.KeyID()).Scan(&resealed)
	if resealed != oldValues {
		t.Fatalf("%d values re-sealed, %d were sealed with the old key", resealed, oldValues)
	}
	// The look-up keys survived: the old key's person is found by phone with
	// the new key alone, and the load's check-ins named the same person.
	if err := nv.CheckDB(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	ids, err := people.NewService(db, nv).ByPhone(ctx, seededPhone)
	if err != nil || len(ids) != 1 {
		t.Fatalf("the old key's person by phone with the new key: %v %v", ids, err)
	}

	// Only the old key: refused. Only the new key: starts.
	bin, _ := build()
	cmd := exec.Command(bin, "serve", "--db", pg, "--data", t.TempDir(), "--addr", freePort(t))
	cmd.Env = append(os.Environ(), "ANTICOVID_DATA_KEY="+oldHex, "ANTICOVID_DATA_KEY_FILE=", "ANTICOVID_DATA_KEY_OLD=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "does not open this database") {
		t.Fatalf("a server with the old key alone: %v\n%s", err, out)
	}
	t.Setenv("ANTICOVID_DATA_KEY_OLD", "")
	if out, err := cli(t, "", "keys", "status", "--db", pg, "--data", t.TempDir()); err != nil || !strings.Contains(out, "no rotation under way") {
		t.Fatalf("the new key alone: %v %s", err, out)
	}
}

// reseaTables are the re-seal job's tables: the owners' and the vault's own.
var reseaTables = []string{"people", "venues", "outbox", "declarations", "case_imports", "bz_devices", "en_signing_keys",
	"cameras", "users", "meeting_contacts", "door_teams", "token_keys", "vault"}

// post sends a JSON body and returns the status and answer.
func post(u string, body any) (int, []byte) {
	b, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// Every sealed column of the schema (named *_enc by convention) is one the
// rotation test checks, and so one an owner's Resealer re-seals: a new
// sealed column without a Resealer would keep the old key's values forever.
func TestEverySealedColumnReseals(t *testing.T) {
	files, err := filepath.Glob("../../internal/store/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	listed := map[string]bool{}
	for _, c := range sealedColumns {
		listed[c.col] = true
	}
	enc := regexp.MustCompile(`\b([a-z_]+_enc)\b`)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range enc.FindAllStringSubmatch(string(b), -1) {
			if !listed[m[1]] {
				t.Errorf("%s: sealed column %s is re-sealed by no Resealer (and not checked by TestDataKeyRotationUnderLoad)", filepath.Base(f), m[1])
			}
		}
	}
}
