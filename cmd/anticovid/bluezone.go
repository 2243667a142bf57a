package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"

	"anticovid/internal/bluezone"
)

// The bluezone commands let an engineer check the server's ID derivation
// against a phone's log by hand, without a database.
func init() {
	register("bluezone ids",
		"in 144 ID Bluezone của một ngày từ khoá ngày / print a day's 144 Bluezone IDs from its daily key",
		runBluezoneIDs)
}

func runBluezoneIDs(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bluezone ids", flag.ContinueOnError)
	keyHex := fs.String("daily-key", "", "khoá ngày, 64 ký tự hex / the day's key, 64 hex characters")
	nextDay := fs.Bool("next-day", false, "bước khoá sang ngày hôm sau trước / step the key to the next day first")
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
