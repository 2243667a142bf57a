package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"anticovid/internal/checkin"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

func keyPair(t *testing.T) (*age.X25519Identity, []age.Recipient) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, []age.Recipient{id.Recipient()}
}

// A backup holds the database as it was, the journal's bytes, the data key,
// the QR keys and the EN files, and nothing rebuilt from the database; a
// restore puts them back, and a non-empty target is refused, or moved
// aside (never deleted) with force.
func TestWriteRestore(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	dir := filepath.Dir(db.Path)
	files := map[string]string{
		"data.key":               "00112233",
		"keys/f7f9.key":          "signing key",
		"en-export/VN/index.txt": "VN/1-2-00001.zip\n",
		filepath.Base(checkin.JournalPath(db.Path)): "frames not yet committed",
	}
	for name, body := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o700)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "bluezone-index"), 0o700)
	os.WriteFile(filepath.Join(dir, "bluezone-index", "2021-08-01"), []byte("rebuilt from the database"), 0o600)
	if _, err := db.W.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"); err != nil {
		t.Fatal(err)
	}
	id, to := keyPair(t)
	var buf bytes.Buffer
	m, err := Write(ctx, &buf, db, dir, to)
	if err != nil || m.Engine != "sqlite" || len(m.Files) != len(files)+1 {
		t.Fatalf("manifest %+v %v", m, err)
	}
	if bytes.Contains(buf.Bytes(), []byte("signing key")) {
		t.Fatal("backup not encrypted")
	}

	target := filepath.Join(t.TempDir(), "restored")
	got, aside, err := Restore(bytes.NewReader(buf.Bytes()), []age.Identity{id}, target, false)
	if err != nil || aside != "" || len(got.Files) != len(m.Files) {
		t.Fatalf("restore: %+v %q %v", got, aside, err)
	}
	for name, body := range files {
		if b, err := os.ReadFile(filepath.Join(target, name)); err != nil || string(b) != body {
			t.Errorf("%s restored as %q, %v", name, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(target, "bluezone-index")); !os.IsNotExist(err) {
		t.Errorf("the Bluezone index was backed up: %v", err)
	}
	rdb, err := store.Open(ctx, "", target)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	rdb.R.QueryRow("SELECT count(*) FROM schema_migrations WHERE version = 9999").Scan(&n)
	rdb.Close()
	if n != 1 {
		t.Fatal("the database copy lacks a committed row")
	}

	// Non-empty target: refused; with force, moved aside.
	if _, _, err := Restore(bytes.NewReader(buf.Bytes()), []age.Identity{id}, target, false); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("non-empty target: %v", err)
	}
	_, aside, err = Restore(bytes.NewReader(buf.Bytes()), []age.Identity{id}, target, true)
	if err != nil || aside == "" {
		t.Fatalf("forced: %q %v", aside, err)
	}
	if _, err := os.Stat(filepath.Join(aside, "data.key")); err != nil {
		t.Fatalf("the old directory was not kept: %v", err)
	}
}

// What a restore refuses, leaving nothing behind: the wrong identity, a
// damaged or cut file, and archives that try to write outside the target,
// carry files the manifest does not list, or none at all.
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	id, to := keyPair(t)
	var good bytes.Buffer
	if _, err := Write(ctx, &good, db, filepath.Dir(db.Path), to); err != nil {
		t.Fatal(err)
	}
	other, _ := keyPair(t)
	flipped := bytes.Clone(good.Bytes())
	flipped[len(flipped)/2] ^= 1
	crafted := func(entries map[string]string) []byte {
		var b bytes.Buffer
		w, _ := age.Encrypt(&b, to...)
		tw := tar.NewWriter(w)
		for name, body := range entries {
			tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(body)), Mode: 0o600, Typeflag: tar.TypeReg})
			tw.Write([]byte(body))
		}
		tw.Close()
		w.Close()
		return b.Bytes()
	}
	manifest := `{"format":1,"engine":"sqlite","files":[]}`
	for _, c := range []struct {
		name string
		data []byte
		ids  []age.Identity
		want error
	}{
		{"wrong identity", good.Bytes(), []age.Identity{other}, ErrWrongKey},
		{"a flipped byte", flipped, []age.Identity{id}, ErrDamaged},
		{"cut short", good.Bytes()[:good.Len()-100], []age.Identity{id}, ErrDamaged},
		{"not a backup", []byte("hello"), []age.Identity{id}, ErrDamaged},
		{"path outside the target", crafted(map[string]string{"../evil": "x", manifestName: manifest}), []age.Identity{id}, ErrDamaged},
		{"absolute path", crafted(map[string]string{"/tmp/evil": "x", manifestName: manifest}), []age.Identity{id}, ErrDamaged},
		{"a file the manifest does not list", crafted(map[string]string{"data.key": "x", manifestName: manifest}), []age.Identity{id}, ErrDamaged},
		{"no manifest", crafted(map[string]string{"data.key": "x"}), []age.Identity{id}, ErrDamaged},
		{"a file that does not match", crafted(map[string]string{"data.key": "x", manifestName: `{"format":1,"files":[{"name":"data.key","size":1,"sha256":"00"}]}`}), []age.Identity{id}, ErrDamaged},
	} {
		parent := t.TempDir()
		target := filepath.Join(parent, "restored")
		if _, _, err := Restore(bytes.NewReader(c.data), c.ids, target, false); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("%s: left %v behind", c.name, entries[0].Name())
		}
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"anticovid-20210801T000000Z.backup", "anticovid-20210802T000000Z.backup", "anticovid-20210803T000000Z.backup", "other.txt"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	if err := Prune(context.Background(), Dir(dir), "anticovid-", ".backup", 2); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) != 3 || left[0] != "anticovid-20210802T000000Z.backup" || left[2] != "other.txt" {
		t.Fatalf("left %v", left)
	}
}
