package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"anticovid/internal/vault"
)

func init() {
	register("keys rotate", "start a data-key rotation: a new DATA/data.key (the old one kept as data.key.old), or --out FILE with a new key for ANTICOVID_DATA_KEY_FILE", keysRotate)
	register("keys status", "show the data-key re-seal job's progress toward the current key", keysStatus)
	register("keys qr", "venue QR signing keys: list, rotate (a new key signs new posters; old posters keep working), retire KID (its posters stop working)", keysQR)
}

// keysQR lists, rotates or retires the venue QR signing keys (token_keys,
// shared by every server; the others pick a change up within a minute).
func keysQR(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("keys qr")
	positional, err := enParseArgs(fs, args)
	if err != nil {
		return err
	}
	verb := ""
	if len(positional) > 0 {
		verb = positional[0]
	}
	switch {
	case verb == "list" && len(positional) == 1, verb == "rotate" && len(positional) == 1, verb == "retire" && len(positional) == 2:
	default:
		return errors.New("keys qr: want list, rotate, or retire KID")
	}
	a, err := open(ctx, cfg, io.Discard)
	if err != nil {
		return err
	}
	defer a.close()
	switch verb {
	case "rotate":
		kid, err := a.keys.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s: new and reissued posters are signed with it; posters signed before keep working until their key is retired\n", kid)
	case "retire":
		if err := a.keys.Retire(ctx, positional[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "retired %s: check-ins with its posters are refused (at once here, within a minute on running servers)\n", positional[1])
	}
	for _, k := range a.keys.Keys() {
		state := "verifies"
		switch {
		case !k.Retired.IsZero():
			state = "retired " + k.Retired.Format(time.RFC3339)
		case k.Signing:
			state = "signing"
		}
		fmt.Fprintf(stdout, "%s created %s %s\n", k.ID, k.Created.Format(time.RFC3339), state)
	}
	return nil
}

// keysRotate makes a new data key. With the key in the data directory it
// moves data.key to data.key.old and writes a new data.key, so the next
// start holds both; with ANTICOVID_DATA_KEY the operator moves the keys
// (README, "Keys"), and the new one is written to --out or printed.
func keysRotate(_ context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("keys rotate")
	out := fs.String("out", "", "write the new key to this file (mode 0600) instead of printing it, for ANTICOVID_DATA_KEY_FILE")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if cfg.DataKey != "" || *out != "" {
		if *out != "" {
			if err := vault.WriteKeyFile(*out, key); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "new data key written to %s\n", *out)
		} else {
			fmt.Fprintf(stdout, "new data key: %s\n", hex.EncodeToString(key))
		}
		fmt.Fprintln(stdout, "on every server: ANTICOVID_DATA_KEY(_FILE) = the new key, ANTICOVID_DATA_KEY_OLD(_FILE) = the current one; restart them one at a time;\n"+
			"then `anticovid keys status` until it says complete, and remove ANTICOVID_DATA_KEY_OLD")
		return nil
	}
	cur, old := filepath.Join(cfg.DataDir, vault.KeyFile), filepath.Join(cfg.DataDir, vault.OldKeyFile)
	if _, err := os.Stat(old); err == nil {
		return fmt.Errorf("%s exists: a rotation is under way; when `anticovid keys status` says complete, delete it and rotate again", old)
	}
	if _, err := os.Stat(cur); err != nil {
		return fmt.Errorf("no data key to rotate: %w", err)
	}
	if err := os.Rename(cur, old); err != nil {
		return err
	}
	if err := vault.WriteKeyFile(cur, key); err != nil {
		return errors.Join(err, os.Rename(old, cur))
	}
	fmt.Fprintf(stdout, "new data key in %s, the previous one in %s; restart the server (copy both files to every server first):\n"+
		"new values are sealed with the new key at once, and the re-seal job moves the old ones; `anticovid keys status` shows progress\n", cur, old)
	return nil
}

// keysStatus prints each table's re-seal progress toward the current key.
func keysStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("keys status")
	a, err := parseAndOpen(ctx, fs, cfg, args)
	if err != nil {
		return err
	}
	defer a.close()
	ps, err := a.rotation.Progress(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "current data key id %s, old key configured: %v\n", a.vault.KeyID(), a.vault.Rotating())
	if !a.vault.Rotating() {
		fmt.Fprintln(stdout, "no rotation under way")
		return nil
	}
	complete := true
	for _, p := range ps {
		state := "pending"
		if p.Done {
			state = "done"
		} else {
			complete = false
		}
		fmt.Fprintf(stdout, "  %-18s %-8s %d re-sealed\n", p.Name, state, p.Resealed)
	}
	if complete {
		fmt.Fprintln(stdout, "rotation complete: remove the old key (ANTICOVID_DATA_KEY_OLD or DATA/data.key.old) and restart")
	} else {
		fmt.Fprintln(stdout, "rotation under way: the data-key-reseal job runs on one server every minute")
	}
	return nil
}
