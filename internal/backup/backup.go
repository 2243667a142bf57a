// Package backup writes and restores an encrypted backup of a deployment:
// a consistent copy of the SQLite database taken while the server runs, the
// check-in journal (scans acknowledged but not yet committed), the data key
// that opens the personal data, the QR signing keys and the published
// Exposure Notification files. On PostgreSQL the database is left to
// pg_dump (the command is printed) and the rest is backed up the same way.
//
// A backup is one age-encrypted tar stream (filippo.io/age: authenticated
// encryption in chunks, so a damaged or truncated file is refused, never
// half-restored). It is encrypted to an age recipient (a public key), so a
// server making scheduled backups never holds what decrypts them; the
// operator keeps the identity (the private key) offline. The last entry is
// a manifest with each file's size and SHA-256: a restore writes into a
// fresh directory beside the target and moves it into place only once every
// file checks out.
package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"anticovid/internal/checkin"
	"anticovid/internal/sqldb"
)

// Format is the backup layout version in the manifest.
const Format = 1

// manifestName is the last entry of the tar stream.
const manifestName = "MANIFEST.json"

// Manifest describes a backup.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	Engine  string    `json:"engine"` // "sqlite", or "postgres" (database not included)
	Files   []File    `json:"files"`
}

// File is one file of a backup, by its path relative to the data directory.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// dataFiles are the parts of a data directory a backup keeps, besides the
// database and its journal: the data key, the QR signing keys and the
// published EN files. The Bluezone index is rebuilt from the database, and
// the demo's message recorder is not data.
var dataFiles = []string{"data.key", "data.key.old", "keys", "en-export"}

// Write writes an encrypted backup of the deployment in dataDir whose
// database is db to w. On SQLite the journal is read first and the database
// copied after it, so every scan acknowledged before Write began is in one
// or the other (the journal is applied again on start; applying a scan
// twice changes nothing).
func Write(ctx context.Context, w io.Writer, db *sqldb.DB, dataDir string, to []age.Recipient) (Manifest, error) {
	m := Manifest{Format: Format, Created: time.Now().UTC(), Engine: "postgres"}
	enc, err := age.Encrypt(w, to...)
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	tw := tar.NewWriter(enc)
	add := func(name string, r io.Reader, size int64, mode int64) error {
		h := sha256.New()
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: mode, ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		n, err := io.Copy(io.MultiWriter(tw, h), r)
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("%s changed while it was copied", name)
		}
		m.Files = append(m.Files, File{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	addFile := func(path, name string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return add(name, f, st.Size(), 0o600)
	}
	if db.Engine == sqldb.SQLite {
		m.Engine = "sqlite"
		base := filepath.Base(db.Path)
		journal, err := os.ReadFile(checkin.JournalPath(db.Path))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("backup: check-in journal: %w", err)
		}
		snap, err := os.CreateTemp(filepath.Dir(db.Path), ".backup-*.db")
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		snap.Close()
		defer os.Remove(snap.Name())
		os.Remove(snap.Name()) // VACUUM INTO wants to create it
		if err := copySQLite(ctx, db.Path, snap.Name()); err != nil {
			return m, fmt.Errorf("backup: copy the database: %w", err)
		}
		if err := addFile(snap.Name(), base); err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		if journal != nil {
			if err := add(filepath.Base(checkin.JournalPath(db.Path)), bytes.NewReader(journal), int64(len(journal)), 0o600); err != nil {
				return m, fmt.Errorf("backup: %w", err)
			}
		}
	}
	for _, top := range dataFiles {
		err := filepath.WalkDir(filepath.Join(dataDir, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(dataDir, path)
			if err != nil {
				return err
			}
			return addFile(path, filepath.ToSlash(rel))
		})
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
	}
	mj, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Size: int64(len(mj)), Mode: 0o600, ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if _, err := tw.Write(mj); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := enc.Close(); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// copySQLite copies the database at path into a new file at to, in one
// read transaction on a connection of its own: a consistent copy while the
// writer goes on (the server's readers are query-only, which VACUUM INTO
// refuses, and its one writer must not wait for the copy).
func copySQLite(ctx context.Context, path, to string) error {
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ExecContext(ctx, "VACUUM INTO $1", to)
	return err
}

// Refusals of a restore, each with a message an operator can act on.
var (
	ErrWrongKey = errors.New("this backup was not made for that identity (wrong key file)")
	ErrDamaged  = errors.New("the backup file is damaged or incomplete")
	ErrLive     = errors.New("a server is running on the target data directory: stop it first")
	ErrNotEmpty = errors.New("the target data directory is not empty: restore into a new one, or pass --force to move the old one aside")
)

// Restore decrypts the backup r with ids into dataDir. dataDir must be
// absent or empty unless force; with force the old directory is renamed to
// dataDir.replaced-TIME (never deleted), and never while a server runs on
// it. Nothing is moved into place before every file's hash is checked.
func Restore(r io.Reader, ids []age.Identity, dataDir string, force bool) (Manifest, string, error) {
	var m Manifest
	dataDir = filepath.Clean(dataDir)
	entries, err := os.ReadDir(dataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, "", fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 {
		if checkin.JournalInUse(filepath.Join(dataDir, "anticovid.db")) {
			return m, "", fmt.Errorf("restore: %w", ErrLive)
		}
		if !force {
			return m, "", fmt.Errorf("restore: %w", ErrNotEmpty)
		}
	}
	dec, err := age.Decrypt(r, ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return m, "", fmt.Errorf("restore: %w", ErrWrongKey)
		}
		return m, "", fmt.Errorf("restore: %w: %v", ErrDamaged, err)
	}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o700); err != nil {
		return m, "", fmt.Errorf("restore: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".restoring-")
	if err != nil {
		return m, "", fmt.Errorf("restore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	got := map[string]File{}
	tr := tar.NewReader(dec)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, "", fmt.Errorf("restore: %w: %v", ErrDamaged, err)
		}
		if h.Name == manifestName {
			if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(&m); err != nil {
				return m, "", fmt.Errorf("restore: %w: manifest: %v", ErrDamaged, err)
			}
			continue
		}
		name := filepath.FromSlash(h.Name)
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(name) {
			return m, "", fmt.Errorf("restore: %w: unexpected entry %q", ErrDamaged, h.Name)
		}
		path := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return m, "", fmt.Errorf("restore: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return m, "", fmt.Errorf("restore: %w", err)
		}
		hs := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, hs), tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return m, "", fmt.Errorf("restore: %w: %v", ErrDamaged, err)
		}
		got[h.Name] = File{Name: h.Name, Size: n, SHA256: hex.EncodeToString(hs.Sum(nil))}
	}
	if m.Format != Format {
		return m, "", fmt.Errorf("restore: %w: no manifest of format %d", ErrDamaged, Format)
	}
	for _, f := range m.Files {
		if got[f.Name] != f {
			return m, "", fmt.Errorf("restore: %w: %s does not match the manifest", ErrDamaged, f.Name)
		}
		delete(got, f.Name)
	}
	if len(got) > 0 {
		return m, "", fmt.Errorf("restore: %w: files outside the manifest", ErrDamaged)
	}
	var aside string
	if len(entries) > 0 {
		aside = dataDir + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(dataDir, aside); err != nil {
			return m, "", fmt.Errorf("restore: move the old directory aside: %w", err)
		}
	} else {
		os.Remove(dataDir) // an empty directory, if any
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return m, aside, fmt.Errorf("restore: %w", err)
	}
	done = true
	return m, aside, nil
}
