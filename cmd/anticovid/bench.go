package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"anticovid/internal/bench"
	"anticovid/internal/checkin"
	"anticovid/internal/web"
)

// The bench commands parse their flags; the benchmarks are internal/bench.
func init() {
	register("bench ingest", "drive POST /api/v1/checkins over loopback and compare with a no-database handler", benchIngest)
	register("bench trace", "build a demo dataset (--scale) and time F0 → F1 tracing on SQLite, and on PostgreSQL with --pg", benchTrace)
	register("bench dashboard", "time dashboard requests (goal < 50 ms) and the background counting at a dataset's scale", benchDashboard)
	register("bench venues", "time venue search and filters (list and count) at a province with N venues", benchVenues)
	register("bench bluezone",
		"time the Bluezone index, log resolution and EN export with N simulated phones",
		benchBluezone)
}

func benchIngest(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bench ingest")
	var o bench.IngestOptions
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each load runs")
	fs.IntVar(&o.Clients, "clients", 64, "concurrent connections")
	fs.IntVar(&o.Venues, "venues", 1000, "venues to scan")
	fs.IntVar(&o.People, "people", 200_000, "registered people scanning, stored before the run; their phones send the person token the check-in page keeps")
	fs.Float64Var(&o.NewShare, "new", 0.1, "share of scans from phones not registered yet (their first scan stores the person)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured run to this file")
	fs.StringVar(&o.Trace, "trace", "", "write an execution trace of the measured run to this file")
	fs.IntVar(&o.Servers, "servers", 1, "servers on the one PostgreSQL database, in this process, each with its own pool, check-in writer and listener; the clients are spread over them")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Servers < 1 || (o.Servers > 1 && !strings.HasPrefix(cfg.DB, "postgres")) {
		return fmt.Errorf("--servers %d: 1, or more with a PostgreSQL --db", o.Servers)
	}
	if cfg.DB == "" {
		dir, err := os.MkdirTemp("", "anticovid-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	cfg.CheckinRate = 0 // the benchmark is one address
	cfg.LogLevel = "error"
	a, err := open(ctx, cfg, io.Discard)
	if err != nil {
		return err
	}
	defer a.close()
	d := bench.Deployment{DB: a.db, People: a.people, Venues: a.venues, Keys: a.keys, Province: cfg.Province,
		StartCheckins: a.startCheckins,
		Handler:       func(c *checkin.Service) http.Handler { return web.New(a.webDeps(c)) },
		Storeless:     func() *checkin.Service { return checkin.NewStoreless(a.db, a.people, a.vault, a.keys) }}
	// More servers: each opened as a server process would be, sharing
	// nothing with the first but the database (and the data key).
	for range o.Servers - 1 {
		b, err := open(ctx, cfg, io.Discard)
		if err != nil {
			return err
		}
		defer b.close()
		d.Others = append(d.Others, bench.Server{StartCheckins: b.startCheckins,
			Handler: func(c *checkin.Service) http.Handler { return web.New(b.webDeps(c)) }})
	}
	return bench.Ingest(ctx, d, o, stdout)
}

func benchTrace(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bench trace")
	o := bench.TraceOptions{Config: cfg}
	scaleName := fs.String("scale", "small", "dataset: small, province or country (internal/demo)")
	fs.StringVar(&o.PGURL, "pg", "", "PostgreSQL URL: load the same dataset there (once) and time the same F0s with a GiST range index")
	fs.StringVar(&o.File, "file", "", "SQLite dataset file; default DATA/bench-SCALE.db, reused when present")
	fs.IntVar(&o.F0, "f0", 1000, "random F0s to trace")
	fs.IntVar(&o.F2, "f2", 20, "F0s whose F2 expansion (default bounds) is timed")
	fs.Uint64Var(&o.Seed, "seed", 1, "dataset seed")
	fs.BoolVar(&o.PGOnly, "pg-only", false, "measure PostgreSQL only (country scale, where the SQLite file would not be built)")
	fs.BoolVar(&o.PurgeDay, "purge-day", false, "at the end, drop the oldest day partition of visits on PostgreSQL and time it (the dataset loses that day)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the SQLite tracing run to this file")
	fs.IntVar(&o.Days, "days", 0, "days of check-ins to build (0: the scale's 21); fewer make country scale fit one machine")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.Scale, err = scaleOf(*scaleName); err != nil {
		return err
	}
	return bench.Trace(ctx, o, stdout)
}

func benchDashboard(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bench dashboard")
	o := bench.DashboardOptions{Config: cfg}
	scaleName := fs.String("scale", "province", "dataset: small, province or country (internal/demo)")
	fs.StringVar(&o.File, "file", "", "SQLite dataset file; default DATA/bench-SCALE.db, reused when present")
	fs.IntVar(&o.N, "n", 300, "requests timed per case")
	fs.IntVar(&o.Days, "days", 0, "days of check-ins in the dataset (default: the scale's 21); fewer builds faster, and the dashboard's request cost does not depend on it")
	fs.Uint64Var(&o.Seed, "seed", 1, "dataset seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.Scale, err = scaleOf(*scaleName); err != nil {
		return err
	}
	return bench.Dashboard(ctx, o, stdout)
}

func benchBluezone(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bench bluezone")
	o := bench.BluezoneOptions{Config: cfg}
	fs.IntVar(&o.Phones, "phones", 1_000_000, "registered phones to simulate")
	fs.IntVar(&o.Days, "days", 14, "days of contact log (and of index built)")
	fs.IntVar(&o.Logs, "logs", 20, "F0 contact logs to resolve")
	fs.IntVar(&o.IDsPerDay, "ids-per-day", 500, "distinct contact IDs a day in each log")
	fs.IntVar(&o.ExportKeys, "export-keys", 100_000, "EN keys to export into signed files")
	fs.Uint64Var(&o.Seed, "seed", 1, "simulation seed")
	fs.StringVar(&o.Dir, "dir", "", "working directory (database, index, exports); default a temporary one, removed after; an existing one is reused")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the resolution phase to this file")
	fs.BoolVar(&o.Ratchet, "ratchet", true, "step stored keys forward to the oldest kept day first, as the server does weekly")
	fs.Uint64Var(&o.LogSeed, "log-seed", 0, "seed of the F0 logs (default: --seed); another seed reads other parts of the index")
	fs.BoolVar(&o.Reuse, "reuse", false, "reuse the phones registered by an earlier run in --dir, rebuild the index from them, and time everything else")
	fs.BoolVar(&o.ResolveOnly, "resolve-only", false, "reuse the phones and index of an earlier run in --dir and time resolution only")
	fs.BoolVar(&o.BuildsOnly, "builds-only", false, "build the index of the phones registered in --dir and print the builds' figures (time, bytes, peak RSS) as JSON: the fresh process the benchmark runs its builds in")
	inProcess := fs.Bool("builds-in-process", false, "run the index builds in this process after the registration, not in a fresh one (their peak RSS then includes what the registration left resident)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*inProcess && !o.BuildsOnly {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Rerun = append([]string{exe, "bench", "bluezone"}, args...)
	}
	return bench.Bluezone(ctx, o, stdout)
}

func benchVenues(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bench venues")
	o := bench.VenuesOptions{}
	fs.IntVar(&o.Venues, "venues", 100_000, "venues stored in the province")
	fs.IntVar(&o.N, "n", 50, "searches timed per case")
	fs.Uint64Var(&o.Seed, "seed", 1, "dataset seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.DB, o.Province = cfg.DB, cfg.Province
	return bench.Venues(ctx, o, stdout)
}
