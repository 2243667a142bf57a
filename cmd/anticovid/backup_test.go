package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"anticovid/internal/backup"
	"anticovid/internal/jobs"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/vault"
)

// The restore drill: a backup taken while check-ins pour in, restored into a
// new directory, serves again with every check-in acknowledged before the
// backup began, the same rows elsewhere and the same decrypted people. A
// damaged file, the wrong identity and a live or non-empty target are
// refused with a clear message.
func TestBackupRestoreDrill(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	id := filepath.Join(work, "backup.id")
	out, err := cli(t, "", "backup", "keygen", "--out", id)
	if err != nil {
		t.Fatal(err, out)
	}
	recipient := strings.TrimSpace(out[strings.Index(out, "recipient: ")+len("recipient: "):])
	cmd, base, venueToken := servedVenue(t, dir)
	acked, stop := checkinLoad(base, venueToken)
	time.Sleep(700 * time.Millisecond)
	before := acked()
	file := filepath.Join(work, "drill.backup")
	if out, err := cli(t, "", "backup", "--data", dir, "--to", file, "--backup-recipient", recipient); err != nil || !strings.Contains(out, "engine sqlite") {
		t.Fatal(err, out)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if len(before) < 50 {
		t.Fatalf("only %d check-ins acknowledged before the backup", len(before))
	}

	// Refusals first, each with its message, and nothing left behind.
	target := filepath.Join(work, "restored")
	damaged := filepath.Join(work, "damaged.backup")
	raw, _ := os.ReadFile(file)
	raw[len(raw)/2] ^= 0x40
	os.WriteFile(damaged, raw, 0o600)
	other := filepath.Join(work, "other.id")
	cli(t, "", "backup", "keygen", "--out", other)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", damaged, "--identity", id, "--data", target}, "damaged"},
		{[]string{"--from", file, "--identity", other, "--data", target}, "wrong key"},
		{[]string{"--from", file, "--identity", id, "--data", dir}, "not empty"},
	} {
		if out, err := cli(t, "", append([]string{"restore"}, c.args...)...); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("restore %v: %v %s, want a refusal saying %q", c.args, err, out, c.want)
		}
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("a refused restore left %s behind: %v", target, err)
	}

	if out, err := cli(t, "", "restore", "--from", file, "--identity", id, "--data", target); err != nil {
		t.Fatal(err, out)
	}

	// Before it serves: every table as in the source; the people it knows
	// decrypt to the same names and phones with the restored data key.
	ctx := context.Background()
	src, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, "", target)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := src.R.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tb := range tables {
		var a, b int
		src.R.QueryRow("SELECT count(*) FROM " + tb).Scan(&a)
		dst.R.QueryRow("SELECT count(*) FROM " + tb).Scan(&b)
		switch tb {
		case "visits", "visits_held", "people":
			// The load went on after the backup's point (and the journal
			// is applied when the restored server starts, below).
			if b == 0 || b > a {
				t.Errorf("%s: %d rows restored, %d in the source", tb, b, a)
			}
		default:
			if a != b {
				t.Errorf("%s: %d rows restored, %d in the source", tb, b, a)
			}
		}
	}
	var ids []int64
	r2, _ := dst.R.Query("SELECT id FROM people ORDER BY id LIMIT 20")
	for r2.Next() {
		var i int64
		r2.Scan(&i)
		ids = append(ids, i)
	}
	r2.Close()
	decrypt := func(db *sqldb.DB, dataDir string) map[int64]people.Reach {
		v, err := vault.Load("", "", dataDir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := people.NewService(db, v).Personal(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a, b := decrypt(src, dir), decrypt(dst, target)
	if len(ids) == 0 || len(a) != len(ids) {
		t.Fatalf("sample of %d people, %d decrypted", len(ids), len(a))
	}
	for _, i := range ids {
		if a[i] != b[i] || b[i].Phone == "" {
			t.Errorf("person %d: restored %+v, source %+v", i, b[i], a[i])
		}
	}
	dst.Close()

	startServer(t, target) // applies the journal the backup carried
	if out, err := cli(t, "", "restore", "--from", file, "--identity", id, "--data", target, "--force"); err == nil || !strings.Contains(out, "running") {
		t.Errorf("restore over a live server: %v %s", err, out)
	}
	if missing := missingCheckins(t, target, before); missing > 0 {
		t.Fatalf("%d of %d check-ins acknowledged before the backup are not in the restored copy", missing, len(before))
	}
	t.Logf("%d check-ins acknowledged before the backup, all restored; %d tables compared", len(before), len(tables))
}

// Scheduled backups: one every interval into the directory, the newest
// kept, each one restorable.
func TestScheduledBackups(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	data, dir := t.TempDir(), filepath.Join(t.TempDir(), "backups")
	db, err := store.OpenMigrated(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	stats := &jobs.Stats{}
	st, err := backup.OpenStorage(dir, backup.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	runBackups(ctx, db, data, st, id.Recipient().String(), 100*time.Millisecond, 2, stats, slog.New(slog.DiscardHandler))
	if st := stats.Snapshot(); len(st) != 1 || st[0].Name != "backup" || st[0].Runs < 3 || st[0].Failures != 0 || st[0].LastSuccess.IsZero() {
		t.Fatalf("backup job figures: %+v", st)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 2 {
		t.Fatalf("%v %v, want the 2 newest backups", entries, err)
	}
	f, err := os.Open(filepath.Join(dir, entries[1].Name()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := backup.Restore(f, []age.Identity{id}, filepath.Join(t.TempDir(), "r"), false); err != nil {
		t.Fatal(err)
	}
}

// Scheduled backups to an S3-compatible bucket (gofakes3, a real S3 API
// server in the process, refusing requests not signed with our access
// key): every 100 ms, the newest 2 kept under the prefix (an object beside
// them untouched), each restorable after download; without the keys the
// server refuses to start.
func TestScheduledBackupsS3(t *testing.T) {
	mem := s3mem.New()
	if err := mem.CreateBucket("anticovid-backups"); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.PutObject("anticovid-backups", "longan/other.txt", nil, strings.NewReader("x"), 1, nil); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(mem).Server()
	var signed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=anticovid-backup/") {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		signed.Add(1)
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	data := t.TempDir()
	db, err := store.OpenMigrated(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	os.WriteFile(filepath.Join(data, "data.key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	opts := backup.S3Options{Endpoint: srv.URL, AccessKey: "anticovid-backup", SecretKey: "s3cret-s3cret-s3cret"}
	st, err := backup.OpenStorage("s3://anticovid-backups/longan", opts)
	if err != nil {
		t.Fatal(err)
	}
	stats := &jobs.Stats{}
	runBackups(ctx, db, data, st, id.Recipient().String(), 100*time.Millisecond, 2, stats, slog.New(slog.DiscardHandler))
	if s := stats.Snapshot(); len(s) != 1 || s[0].Runs < 3 || s[0].Failures != 0 {
		t.Fatalf("backup job figures: %+v", s)
	}
	names, err := st.List(context.Background())
	if err != nil || len(names) != 3 || names[2] != "other.txt" || !strings.HasPrefix(names[1], "anticovid-") {
		t.Fatalf("bucket holds %v (%v), want the 2 newest backups and other.txt", names, err)
	}
	c, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{Creds: credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(context.Background(), "anticovid-backups", "longan/"+names[1], minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	restored := filepath.Join(t.TempDir(), "r")
	if _, _, err := backup.Restore(obj, []age.Identity{id}, restored, false); err != nil {
		t.Fatal(err)
	}
	if key, err := os.ReadFile(filepath.Join(restored, "data.key")); err != nil || !strings.HasPrefix(string(key), "abab") {
		t.Fatalf("restored data key: %q %v", key, err)
	}
	if signed.Load() == 0 {
		t.Fatal("no request reached the bucket")
	}

	out, err := cli(t, "", "serve", "--data", t.TempDir(), "--backup-dir", "s3://anticovid-backups/longan", "--backup-recipient", id.Recipient().String())
	if err == nil || !strings.Contains(out, "ANTICOVID_BACKUP_S3_ACCESS_KEY") {
		t.Fatalf("s3 backups without keys: %v %s", err, out)
	}
}
