package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"anticovid/internal/bench"
	"anticovid/internal/bluezone"
)

// The bluezone commands let an engineer check the server's ID derivation
// against a phone's log by hand, without a database.
func init() {
	register("bluezone ids",
		"print a day's 144 Bluezone IDs from its daily key",
		runBluezoneIDs)
	register("bluezone simulate",
		"register N simulated phones and write one F0's contact log",
		runBluezoneSimulate)
	register("bluezone index",
		"bring the daily ID index up to date now",
		runBluezoneIndex)
}

func runBluezoneIDs(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bluezone ids", flag.ContinueOnError)
	keyHex := fs.String("daily-key", "", "the day's key, 64 hex characters")
	nextDay := fs.Bool("next-day", false, "step the key to the next day first")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	raw, err := cryptoHexFlag("daily-key", *keyHex, bluezone.KeyLen)
	if err != nil {
		return fmt.Errorf("bluezone ids: %w", err)
	}
	daily := [bluezone.KeyLen]byte(raw)
	if *nextDay {
		daily = bluezone.NextDailyKey(daily)
	}
	w := bufio.NewWriter(stdout)
	var line [2*bluezone.IDLen + 1]byte
	line[len(line)-1] = '\n'
	for _, id := range bluezone.DayIDs(daily) {
		hex.Encode(line[:], id[:])
		w.Write(line[:])
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("bluezone ids: %w", err)
	}
	return nil
}

// cryptoHexFlag decodes the hex value of flag name, which must hold exactly n
// bytes. Keys pasted from logs are often truncated or padded, so the message
// says which flag, what length was expected and what was found.
func cryptoHexFlag(name, s string, n int) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("--%s is required (%d hex characters)", name, 2*n)
	}
	if len(s) != 2*n {
		return nil, fmt.Errorf("--%s must be %d hex characters (%d bytes), got %d characters", name, 2*n, n, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		var inv hex.InvalidByteError
		if errors.As(err, &inv) {
			return nil, fmt.Errorf("--%s is not hex: invalid character %q", name, rune(inv))
		}
		return nil, fmt.Errorf("--%s is not hex: %v", name, err)
	}
	return b, nil
}

func runBluezoneSimulate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bluezone simulate")
	n := fs.Int("phones", 1000, "simulated phones to register")
	seed := fs.Uint64("seed", 1, "seed: the same seed gives the same phones")
	f0 := fs.Int("f0", 0, "index of the F0's phone")
	days := fs.Int("days", 14, "days of log")
	perDay := fs.Int("ids-per-day", 500, "distinct contact IDs a day")
	logOut := fs.String("log-out", "", "write the F0's contact log (upload JSON, code left empty) here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 2 || *n > 100_000_000 || *f0 < 0 || *f0 >= *n || *days < 1 || *days > bluezone.DefaultKeepDays {
		return fmt.Errorf("bluezone simulate: want 2 ≤ --phones ≤ 100000000, 0 ≤ --f0 < --phones, 1 ≤ --days ≤ %d", bluezone.DefaultKeepDays)
	}
	a, err := open(ctx, cfg, io.Discard)
	if err != nil {
		return err
	}
	defer a.close()
	now := time.Now()
	sim, err := bench.Simulate(ctx, a.db, a.vault, cfg.DataDir, cfg.Province, *n, *seed, now, stdout)
	if err != nil {
		return err
	}
	defer sim.Service.Index.Close()
	rows, near := bluezone.SimLog(sim.Phones, bluezone.SimLogSpec{F0: *f0, Days: *days, IDsPerDay: *perDay, RegisteredShare: 0.6, Seed: *seed, Now: now})
	fmt.Fprintf(stdout, "F0: phone %d (person %d): %d log rows over %d days; %d registered phones were near\n",
		*f0, sim.Persons[*f0], len(rows), *days, len(near))
	if *logOut != "" {
		if err := os.WriteFile(*logOut, bluezone.LogJSON("", rows), 0o600); err != nil {
			return fmt.Errorf("bluezone simulate: %w", err)
		}
		fmt.Fprintf(stdout, "log written to %s: issue a bz_log code for person %d, put it in \"code\" and POST the file to /api/v1/bluezone/contact-logs\n", *logOut, sim.Persons[*f0])
	}
	var ids []string
	for _, j := range near {
		ids = append(ids, fmt.Sprint(sim.Persons[j]))
	}
	fmt.Fprintf(stdout, "near (person ids): %s\n", strings.Join(ids, " "))
	return nil
}

func runBluezoneIndex(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bluezone index")
	a, err := parseAndOpen(ctx, fs, cfg, args)
	if err != nil {
		return err
	}
	defer a.close()
	defer a.bluezone.Index.Close()
	built, err := a.bluezone.Maintain(ctx)
	for _, b := range built {
		kind := "base"
		if b.Delta {
			kind = "delta"
		}
		fmt.Fprintf(stdout, "%s %s: %d phones, %d bytes, %v\n", bluezone.DayDate(b.Day), kind, b.Phones, b.Bytes, b.Elapsed.Round(time.Millisecond))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "index up to date (%d files written)\n", len(built))
	return nil
}
