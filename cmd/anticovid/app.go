package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/config"
	"anticovid/internal/declaration"
	"anticovid/internal/exposure"
	"anticovid/internal/geo"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// app is a deployment's services, wired once for the server and every command.
type app struct {
	cfg    *config.Config
	log    *slog.Logger
	db     *sqldb.DB
	vault  *vault.Vault
	keys   *token.Keyring
	auth   *auth.Service
	people *people.Service
	venues *venue.Service
	// checkins is started lazily: only the server and benchmarks ingest.
	checkins *checkin.Service
	outbox   *notify.Outbox
	// cases is the case registry and contact tracing (add Bluetooth with cases.Engine.Sources).
	cases *cases.Service

	// declarations records health declarations and their personal QR codes.
	declarations *declaration.Service

	// Bluetooth tracing (bluezone.go): Bluezone server, EN key server, adoption.
	bluezone *bluezone.Service
	en       *exposure.Service
	adoption *adoption.Service
}

// configFlags registers the shared settings on a new flag set.
func configFlags(name string) (*flag.FlagSet, *config.Config) {
	fs := flag.NewFlagSet("anticovid "+name, flag.ContinueOnError)
	cfg := &config.Config{}
	cfg.Register(fs)
	return fs, cfg
}

// parseAndOpen parses a command's flags and opens the deployment, logging
// nowhere: commands report on standard output.
func parseAndOpen(ctx context.Context, fs *flag.FlagSet, cfg *config.Config, args []string) (*app, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return open(ctx, cfg, io.Discard)
}

// open validates cfg, opens and migrates the database and builds the services.
func open(ctx context.Context, cfg *config.Config, logOut io.Writer) (*app, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := store.OpenMigrated(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	v, err := vault.Load(cfg.DataKey, cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	keys, err := token.LoadKeyring(cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db, vault: v, keys: keys,
		auth:   auth.NewService(db, cfg.SessionTTL),
		people: people.NewService(db, v),
		venues: &venue.Service{DB: db, Vault: v, Signer: keys, BaseURL: cfg.PublicURL(), Province: cfg.Province},
		outbox: &notify.Outbox{DB: db, Vault: v, Log: log, Senders: map[string]notify.Sender{}},
	}
	if err := notify.Configure(a.outbox, cfg, log); err != nil {
		db.Close()
		return nil, err
	}
	a.declarations = declaration.NewService(db, a.people, v, cfg.PublicURL())
	a.cases = cases.NewService(db, a.people, a.outbox, log)
	a.cases.Background = ctx
	if err := a.openBluetooth(); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// startCheckins starts the check-in writer.
func (a *app) startCheckins(ctx context.Context) (*checkin.Service, error) {
	var err error
	a.checkins, err = checkin.NewService(ctx, a.db, a.people, a.vault, a.keys, a.cfg.Retention)
	return a.checkins, err
}

func (a *app) close() {
	if a.checkins != nil {
		a.checkins.Close()
	}
	a.db.Close()
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return "anticovid " + bi.Main.Version + " " + s.Value
			}
		}
		return "anticovid " + bi.Main.Version + " " + bi.GoVersion
	}
	return "anticovid (unknown build)"
}

// provinceCommunes lists the commune codes of the deployment's province.
func provinceCommunes(province string) []string {
	var out []string
	for _, u := range geo.Communes(province) {
		out = append(out, u.Code)
	}
	return out
}
