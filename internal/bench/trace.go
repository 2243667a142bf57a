package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"anticovid/internal/checkin"
	"anticovid/internal/config"
	"anticovid/internal/demo"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/tracing"
	"anticovid/internal/vault"
)

// TraceOptions are the settings of bench trace.
type TraceOptions struct {
	// Config gives the data directory, data key and province.
	Config *config.Config
	Scale  demo.Scale
	Days   int    // days of check-ins to build (0: the scale's)
	PGURL  string // also load the dataset into this PostgreSQL database and time it there
	File   string // SQLite dataset file ("": DATA/bench-SCALE.db), reused when present
	F0     int    // random F0s to trace
	F2     int    // F0s whose F2 expansion is timed
	Seed   uint64 // dataset seed
	PGOnly bool   // measure PostgreSQL only
	// PurgeDay drops the oldest day partition of visits on PostgreSQL at the
	// end and times it (the dataset then lacks that day: rebuild it after).
	PurgeDay bool
	// CPUProfile is a file for a CPU profile of the SQLite tracing run.
	CPUProfile string
}

// traceFigures are one engine's timings over the same F0s.
type traceFigures struct {
	Lat      []float64 // milliseconds, one per F0
	Contacts []int     // distinct people found per F0
	Rows     int       // (person, venue) contacts in all
	Wall     time.Duration
}

func (f traceFigures) pct(p float64) float64 {
	s := slices.Clone(f.Lat)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[int(p*float64(len(s)-1)+0.5)]
}

func (f traceFigures) median() int {
	s := slices.Clone(f.Contacts)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// Trace builds (or reuses) a demo dataset and times F0 → F1 tracing of random
// F0s on SQLite and, with PGURL, on PostgreSQL with the same B-tree probe and
// with a GiST range index, checking that every engine finds the same contacts.
func Trace(ctx context.Context, o TraceOptions, stdout io.Writer) error {
	cfg, sc := o.Config, o.Scale
	if o.Days < 0 || o.Days > sc.Days {
		return fmt.Errorf("--days %d: want 1 to %d", o.Days, sc.Days)
	}
	sc = withDays(sc, o.Days)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	v, err := vault.Load(cfg.DataKey, cfg.DataKeyOld, cfg.DataDir)
	if err != nil {
		return err
	}
	file := o.File
	if file == "" {
		file = filepath.Join(cfg.DataDir, "bench-"+sc.Name+".db")
	}
	rules := tracing.DefaultRules()
	f0s := pickF0s(sc, o.F0, o.Seed)
	fmt.Fprintf(stdout, "bench trace: scale %s (%d people, %d venues, %d check-ins a day × %d days), %d F0s, window 14 days, rules: min overlap %v, stay cap %v\n",
		sc.Name, sc.People, sc.Venues, sc.CheckinsADay, sc.Days, len(f0s), rules.MinOverlap, rules.StayCap)

	result := map[string]any{"f0": len(f0s), "p50_ms": nil, "p95_ms": nil, "max_ms": nil, "contacts_median": nil,
		"f0_per_s": nil, "f2_p95_ms": nil, "pg_p95_ms": nil, "ratio_vs_pg": nil, "rss_mb": nil, "build_rss_mb": 0}
	var lite traceFigures
	if !o.PGOnly {
		db, err := store.OpenMigrated(ctx, "sqlite:"+file, "")
		if err != nil {
			return err
		}
		resetPeakRSS()
		built, err := ensureDataset(ctx, db, v, cfg.Province, sc, o.Seed, stdout, file)
		if err != nil {
			db.Close()
			return err
		}
		if built {
			// The build holds far more than tracing does: its peak is
			// reported apart, and the tracing phase's is measured after a reset.
			result["build_rss_mb"] = int(peakRSS() >> 20)
			fmt.Fprintf(stdout, "peak RSS of the dataset build: %d MB\n", result["build_rss_mb"])
		}
		// Measure as a server would run: a fresh handle, without the
		// build's page cache, and the memory it used handed back.
		db.Close()
		if db, err = store.Open(ctx, "sqlite:"+file, ""); err != nil {
			return err
		}
		defer db.Close()
		debug.FreeOSMemory()
		busiest(ctx, stdout, db)
		resetPeakRSS()
		// A build in this process leaves memory resident that tracing does
		// not use, outside the Go heap (SQLite's C side: after a 2-day
		// province build 155 MB resident with 7 MB of Go heap in use; the
		// 21-day build's left the peak while tracing at 706 MB against
		// 110 MB in a fresh process), and the peak below starts from it: a
		// run reusing the dataset measures tracing alone, as a server would.
		start := rss() >> 20
		result["rss_start_mb"] = start
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(stdout, "resident at the start of tracing: %d MB (Go heap in use %d MB)\n", start, ms.HeapInuse>>20)
		if built {
			fmt.Fprintln(stdout, "(this process built the dataset and keeps some of that memory: run again to measure tracing alone)")
		}
		stopProfile, err := startProfiles(o.CPUProfile, "")
		if err != nil {
			return err
		}
		lite, err = runTrace(ctx, tracing.NewEngine(db, rules), f0s)
		stopProfile()
		if err != nil {
			return err
		}
		report(stdout, "SQLite (B-tree covering index)", lite)
		result["p50_ms"], result["p95_ms"], result["max_ms"] = round2(lite.pct(0.5)), round2(lite.pct(0.95)), round2(lite.pct(1))
		result["contacts_median"] = lite.median()
		result["f0_per_s"] = round1(float64(len(f0s)) / lite.Wall.Seconds())
		if o.F2 > 0 {
			p95, err := runF2(ctx, stdout, tracing.NewEngine(db, rules), f0s[:min(o.F2, len(f0s))], "SQLite")
			if err != nil {
				return err
			}
			result["f2_p95_ms"] = p95
		}
		rss := int(peakRSS() >> 20)
		result["rss_mb"] = rss
		fmt.Fprintf(stdout, "peak RSS while tracing (F1 and F2): %d MB\n", rss)
	}
	if o.PGURL != "" {
		pg, err := store.OpenMigrated(ctx, o.PGURL, "")
		if err != nil {
			return err
		}
		defer pg.Close()
		// The dataset's days (2021) get their own partitions, as the
		// partitions job makes each day's ahead in production.
		if _, err := store.EnsureDays(ctx, pg, datasetNow.AddDate(0, 0, -sc.Days), datasetNow.AddDate(0, 0, 1)); err != nil {
			return err
		}
		if _, err := ensureDataset(ctx, pg, v, cfg.Province, sc, o.Seed, stdout, "PostgreSQL"); err != nil {
			return err
		}
		var def int64
		pg.R.QueryRowContext(ctx, "SELECT count(*) FROM visits_default").Scan(&def)
		fmt.Fprintf(stdout, "PostgreSQL: visits partitioned by day, %d rows in the DEFAULT partition\n", def)
		start := time.Now()
		built, err := store.EnsureStayGiST(ctx, pg, rules.StayCap)
		if err != nil {
			return err
		}
		if built {
			fmt.Fprintf(stdout, "PostgreSQL GiST index built in %v\n", time.Since(start).Round(time.Second))
		}
		btree, err := runTrace(ctx, tracing.NewEngine(pg, rules), f0s)
		if err != nil {
			return err
		}
		report(stdout, "PostgreSQL (same B-tree probe)", btree)
		gistQR := tracing.NewQR(pg, rules)
		gistQR.Probe = store.StayGiSTProbe(rules.StayCap)
		gist, err := runTrace(ctx, &tracing.Engine{Sources: []tracing.Source{gistQR}}, f0s)
		if err != nil {
			return err
		}
		report(stdout, "PostgreSQL (GiST range index)", gist)
		if o.PGOnly {
			result["p50_ms"], result["p95_ms"], result["max_ms"] = round2(btree.pct(0.5)), round2(btree.pct(0.95)), round2(btree.pct(1))
			result["contacts_median"] = btree.median()
			result["rss_mb"] = int(peakRSS() >> 20)
		} else {
			for i := range f0s {
				if lite.Contacts[i] != gist.Contacts[i] || lite.Contacts[i] != btree.Contacts[i] {
					return fmt.Errorf("F0 %d: SQLite found %d contacts, PostgreSQL %d (B-tree) and %d (GiST): the datasets differ",
						f0s[i].person, lite.Contacts[i], btree.Contacts[i], gist.Contacts[i])
				}
			}
			fmt.Fprintln(stdout, "every F0's contacts are the same on both engines and both PostgreSQL indexes")
		}
		result["pg_p95_ms"] = round2(gist.pct(0.95))
		if p := lite.pct(0.95); p > 0 && !o.PGOnly {
			result["ratio_vs_pg"] = round2(gist.pct(0.95) / p)
		}
		if o.F2 > 0 {
			p95, err := runF2(ctx, stdout, tracing.NewEngine(pg, rules), f0s[:min(o.F2, len(f0s))], "PostgreSQL")
			if err != nil {
				return err
			}
			if o.PGOnly {
				result["f2_p95_ms"] = p95
			} else {
				result["pg_f2_p95_ms"] = p95
			}
		}
		if o.PurgeDay {
			if err := purgeDay(ctx, stdout, pg, result); err != nil {
				return err
			}
		}
	}
	line, _ := json.Marshal(result)
	fmt.Fprintln(stdout, string(line))
	return nil
}

type f0 struct {
	person int64
	w      tracing.Window
}

// pickF0s draws people and infectious windows of 14 days ending in the
// dataset's last week, the same for every engine.
func pickF0s(sc demo.Scale, n int, seed uint64) []f0 {
	rng := rand.New(rand.NewPCG(seed, 0xF0))
	out := make([]f0, n)
	spread := 7 * 24 * 3600 // windows end in the last week of the data
	if sc.Days < 14+7 {
		spread = 1 // a shortened dataset: every window covers all of it
	}
	for i := range out {
		end := datasetNow.Add(-time.Duration(rng.IntN(spread)) * time.Second)
		out[i] = f0{person: 1 + int64(rng.IntN(sc.People)), w: tracing.Window{From: end.Add(-14 * 24 * time.Hour), To: end}}
	}
	return out
}

// busiest prints the check-ins of the busiest venues on the dataset's last
// full day: the workload spec expects about 9,000 for the busiest, and the
// contacts an F0 has depend on it more than on anything else.
func busiest(ctx context.Context, w io.Writer, db *sqldb.DB) {
	day := datasetNow.Add(-24 * time.Hour)
	top, err := checkin.Busiest(ctx, db, day.Add(-24*time.Hour), day, 3)
	if err != nil {
		return
	}
	var parts []string
	for _, c := range top {
		parts = append(parts, fmt.Sprintf("venue %d: %d", c.VenueID, c.Visits))
	}
	fmt.Fprintf(w, "busiest venues, check-ins on one day (workload spec: ~9,000 for the busiest): %s\n", strings.Join(parts, ", "))
}

// runTrace traces every F0 one after another, as a tracer's requests would.
func runTrace(ctx context.Context, e *tracing.Engine, f0s []f0) (traceFigures, error) {
	var f traceFigures
	start := time.Now()
	for _, x := range f0s {
		t := time.Now()
		cs, err := e.Contacts(ctx, x.person, x.w)
		if err != nil {
			return f, err
		}
		f.Lat = append(f.Lat, float64(time.Since(t).Microseconds())/1000)
		people := map[int64]bool{}
		for _, c := range cs {
			people[c.PersonID] = true
		}
		f.Contacts = append(f.Contacts, len(people))
		f.Rows += len(cs)
	}
	f.Wall = time.Since(start)
	return f, nil
}

func report(w io.Writer, name string, f traceFigures) {
	s := slices.Clone(f.Contacts)
	slices.Sort(s)
	fmt.Fprintf(w, "%-32s %d F0s in %v: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms; contacts per F0 median %d, p95 %d, max %d\n",
		name, len(f.Lat), f.Wall.Round(time.Millisecond), round2(f.pct(0.5)), round2(f.pct(0.95)), round2(f.pct(0.99)), round2(f.pct(1)), f.median(), s[int(0.95*float64(len(s)-1))], s[len(s)-1])
}

// runF2 expands the F1s of a few F0s with the default bounds and returns
// the p95 of F1 + F2, in milliseconds.
func runF2(ctx context.Context, w io.Writer, e *tracing.Engine, f0s []f0, name string) (float64, error) {
	b := tracing.DefaultBounds()
	var lat []float64
	var found []int
	for _, x := range f0s {
		t := time.Now()
		f1, err := e.Contacts(ctx, x.person, x.w)
		if err != nil {
			return 0, err
		}
		exclude := map[int64]bool{x.person: true}
		best := map[int64]tracing.Seed{}
		for _, c := range f1 {
			exclude[c.PersonID] = true
			s, ok := best[c.PersonID]
			if !ok || c.FirstShared.Before(s.Exposed) {
				s.Exposed = c.FirstShared
			}
			s.PersonID, s.Overlap, s.Vulnerable = c.PersonID, max(s.Overlap, c.Overlap), s.Vulnerable || c.Vulnerable
			best[c.PersonID] = s
		}
		seeds := make([]tracing.Seed, 0, len(best))
		for _, s := range best {
			seeds = append(seeds, s)
		}
		f2, err := e.Expand(ctx, seeds, b, exclude, x.w.To, nil)
		if err != nil {
			return 0, err
		}
		lat = append(lat, float64(time.Since(t).Microseconds())/1000)
		found = append(found, len(f2))
	}
	slices.Sort(lat)
	slices.Sort(found)
	fmt.Fprintf(w, "F2 on %-10s %d F0s (F1 + F2, bounds: %d F1s × %d, min overlap %v, at most %d): p50 %.0f ms, p95 %.0f ms, max %.0f ms; F2 found median %d\n",
		name, len(lat), b.MaxSeeds, b.CapPerSeed, b.MinOverlap, b.MaxTotal, lat[len(lat)/2], lat[int(0.95*float64(len(lat)-1)+0.5)], lat[len(lat)-1], found[len(found)/2])
	return round2(lat[int(0.95*float64(len(lat)-1)+0.5)]), nil
}

// purgeDay drops the oldest day partition of visits holding rows, as
// retention does (store.DayDropper), and reports how long it took.
func purgeDay(ctx context.Context, stdout io.Writer, pg *sqldb.DB, result map[string]any) error {
	parts, err := store.Partitions(ctx, pg, "visits")
	if err != nil {
		return err
	}
	for _, p := range parts {
		var start time.Time
		if start, err = time.Parse("20060102", strings.TrimPrefix(p, "visits_d")); err != nil {
			continue
		}
		var n int64
		pg.R.QueryRowContext(ctx, "SELECT count(*) FROM "+p).Scan(&n)
		if n == 0 {
			continue
		}
		t := time.Now()
		removed, err := store.DayDropper{DB: pg}.DropBefore(ctx, "visits", start.Unix())
		if err != nil {
			return err
		}
		took := time.Since(t)
		fmt.Fprintf(stdout, "PostgreSQL: purge of one day (%s, %d check-ins) by dropping its partition: %v (counting included)\n", p, removed, took.Round(time.Millisecond))
		result["purge_day_ms"] = round2(float64(took.Microseconds()) / 1000)
		result["purge_day_rows"] = removed
		return nil
	}
	fmt.Fprintln(stdout, "PostgreSQL: no day partition with rows to purge")
	return nil
}
