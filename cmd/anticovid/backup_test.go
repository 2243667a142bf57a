package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

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
	runBackups(ctx, db, data, dir, id.Recipient().String(), 100*time.Millisecond, 2, stats, slog.New(slog.DiscardHandler))
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
