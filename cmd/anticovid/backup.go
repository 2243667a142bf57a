package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"anticovid/internal/backup"
	"anticovid/internal/jobs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
)

func init() {
	register("backup", "write an encrypted backup while the server runs: --to FILE --recipient age1... (from backup keygen)", backupCmd)
	register("backup keygen", "make the key pair backups are encrypted to: --out FILE keeps the identity, the recipient is printed", backupKeygen)
	register("restore", "restore a backup into a new data directory: --from FILE --identity FILE --data DIR [--force]", restoreCmd)
}

func backupKeygen(ctx context.Context, args []string, stdout io.Writer) error {
	fs, _ := configFlags("backup keygen")
	out := fs.String("out", "", "file for the identity (the private key); keep it offline, it decrypts every backup")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("identity file: %w (an existing one is never overwritten)", err)
	}
	fmt.Fprintf(f, "# anticovid backup identity, made %s\n# recipient: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "identity written to %s (keep it offline)\nrecipient: %s\n", *out, id.Recipient())
	return nil
}

func backupCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("backup")
	to := fs.String("to", "", "the backup file to write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" || cfg.BackupRecipient == "" {
		return errors.New("--to and --backup-recipient (or ANTICOVID_BACKUP_RECIPIENT) are required")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := writeBackup(ctx, db, cfg.DataDir, cfg.BackupRecipient, backup.Dir(filepath.Dir(*to)), filepath.Base(*to))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %d files, engine %s\n", *to, len(m.Files), m.Engine)
	if db.Engine == sqldb.Postgres {
		fmt.Fprintf(stdout, "the PostgreSQL database is not in it; take it with:\n  pg_dump --format=custom --file=anticovid.pgdump %q\n", redactURL(cfg.DB))
	}
	return nil
}

// writeBackup writes a backup named name into st, all or nothing: a
// partial backup never carries the final name.
func writeBackup(ctx context.Context, db *sqldb.DB, dataDir, recipient string, st backup.Storage, name string) (backup.Manifest, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("--backup-recipient: %w", err)
	}
	var m backup.Manifest
	err = st.Put(ctx, name, func(w io.Writer) error {
		var err error
		m, err = backup.Write(ctx, w, db, dataDir, []age.Recipient{r})
		return err
	})
	return m, err
}

// redactURL drops a password from a database URL before printing it.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://..."
	}
	return u.Redacted()
}

func restoreCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("restore")
	from := fs.String("from", "", "the backup file")
	identity := fs.String("identity", "", "the identity file from backup keygen")
	force := fs.Bool("force", false, "restore over a data directory that is not empty (it is renamed aside, never deleted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *identity == "" {
		return errors.New("--from and --identity are required")
	}
	idf, err := os.Open(*identity)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	ids, err := age.ParseIdentities(idf)
	idf.Close()
	if err != nil {
		return fmt.Errorf("identity %s: %w", *identity, err)
	}
	f, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer f.Close()
	m, aside, err := backup.Restore(f, ids, cfg.DataDir, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d files of the backup made %s into %s\n", len(m.Files), m.Created.Format(time.RFC3339), cfg.DataDir)
	if aside != "" {
		fmt.Fprintf(stdout, "the old directory is now %s\n", aside)
	}
	if m.Engine == "postgres" {
		fmt.Fprintln(stdout, "the PostgreSQL database is restored separately: pg_restore --clean --dbname=URL anticovid.pgdump")
	}
	return nil
}

// runBackups writes a backup into st every interval and keeps the newest
// keep.
func runBackups(ctx context.Context, db *sqldb.DB, dataDir string, st backup.Storage, recipient string, every time.Duration, keep int, stats *jobs.Stats, log *slog.Logger) {
	// Each server backs up what it holds (its SQLite file, or the
	// PostgreSQL database the deployment shares) on its own schedule.
	jobs.Local(ctx, "backup", every, func(ctx context.Context) error {
		name := "anticovid-" + time.Now().UTC().Format("20060102T150405.000Z") + ".backup"
		start := time.Now()
		m, err := writeBackup(ctx, db, dataDir, recipient, st, name)
		if err == nil {
			log.Info("backup", "to", st.String(), "file", name, "files", len(m.Files), "took", time.Since(start).Round(time.Millisecond))
		}
		// A backup that was stored is pruned after even when the server is
		// stopping meanwhile: the bucket never keeps more than asked.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return errors.Join(err, backup.Prune(pctx, st, "anticovid-", ".backup", keep))
	}, stats, log)
}
