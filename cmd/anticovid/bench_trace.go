package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/demo"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/tracing"
	"anticovid/internal/vault"
)

func init() {
	register("bench trace", "build a demo dataset (--scale) and time F0 → F1 tracing on SQLite, and on PostgreSQL with --pg", benchTrace)
}

// benchNow is the end of every benchmark dataset: the generator is
// deterministic for a seed and a "now", so the same file can be rebuilt
// anywhere and the PostgreSQL copy holds the same rows. (Long An's peak day.)
var benchNow = time.Date(2021, 8, 10, 18, 0, 0, 0, time.UTC)

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

func benchTrace(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bench trace")
	scaleName := fs.String("scale", "small", "dataset: small, province or country (internal/demo)")
	pgURL := fs.String("pg", "", "PostgreSQL URL: load the same dataset there (once) and time the same F0s with a GiST range index")
	file := fs.String("file", "", "SQLite dataset file; default DATA/bench-SCALE.db, reused when present")
	nF0 := fs.Int("f0", 1000, "random F0s to trace")
	nF2 := fs.Int("f2", 20, "F0s whose F2 expansion (default bounds) is timed")
	seed := fs.Uint64("seed", 1, "dataset seed")
	skipSQLite := fs.Bool("pg-only", false, "measure PostgreSQL only (country scale, where the SQLite file would not be built)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the SQLite tracing run to this file")
	days := fs.Int("days", 0, "days of check-ins to build (0: the scale's 21); fewer make country scale fit one machine")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sc, err := scaleOf(*scaleName)
	if err != nil {
		return err
	}
	if *days < 0 || *days > sc.Days {
		return fmt.Errorf("--days %d: want 1 to %d", *days, sc.Days)
	}
	if *days > 0 && *days != sc.Days {
		sc.Days = *days
		sc.Name = fmt.Sprintf("%s-%dd", sc.Name, *days)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	v, err := vault.Load(cfg.DataKey, cfg.DataDir)
	if err != nil {
		return err
	}
	if *file == "" {
		*file = filepath.Join(cfg.DataDir, "bench-"+sc.Name+".db")
	}
	rules := tracing.DefaultRules()
	f0s := pickF0s(sc, *nF0, *seed)
	fmt.Fprintf(stdout, "bench trace: scale %s (%d people, %d venues, %d check-ins a day × %d days), %d F0s, window 14 days, rules: min overlap %v, stay cap %v\n",
		sc.Name, sc.People, sc.Venues, sc.CheckinsADay, sc.Days, len(f0s), rules.MinOverlap, rules.StayCap)

	result := map[string]any{"f0": len(f0s), "p50_ms": nil, "p95_ms": nil, "max_ms": nil, "contacts_median": nil,
		"pg_p95_ms": nil, "ratio_vs_pg": nil, "rss_mb": nil}
	var lite traceFigures
	if !*skipSQLite {
		db, err := store.OpenMigrated(ctx, "sqlite:"+*file, "")
		if err != nil {
			return err
		}
		if err := ensureDataset(ctx, db, v, cfg.Province, sc, *seed, stdout, *file); err != nil {
			db.Close()
			return err
		}
		// Measure as a server would run: a fresh handle, without the
		// build's page cache, and the memory it used handed back.
		db.Close()
		if db, err = store.Open(ctx, "sqlite:"+*file, ""); err != nil {
			return err
		}
		defer db.Close()
		debug.FreeOSMemory()
		busiest(ctx, stdout, db)
		resetPeakRSS()
		if *profile != "" {
			f, err := os.Create(*profile)
			if err != nil {
				return err
			}
			pprof.StartCPUProfile(f)
		}
		lite, err = runTrace(ctx, tracing.NewEngine(db, rules), f0s)
		if *profile != "" {
			pprof.StopCPUProfile()
		}
		if err != nil {
			return err
		}
		report(stdout, "SQLite (B-tree covering index)", lite)
		result["p50_ms"], result["p95_ms"], result["max_ms"] = round2(lite.pct(0.5)), round2(lite.pct(0.95)), round2(lite.pct(1))
		result["contacts_median"] = lite.median()
		if *nF2 > 0 {
			if err := runF2(ctx, stdout, tracing.NewEngine(db, rules), f0s[:min(*nF2, len(f0s))], "SQLite"); err != nil {
				return err
			}
		}
		rss := peakRSSMB()
		result["rss_mb"] = rss
		fmt.Fprintf(stdout, "peak RSS while tracing (dataset already built): %d MB\n", rss)
	}
	if *pgURL != "" {
		pg, err := store.OpenMigrated(ctx, *pgURL, "")
		if err != nil {
			return err
		}
		defer pg.Close()
		if err := ensureDataset(ctx, pg, v, cfg.Province, sc, *seed, stdout, "PostgreSQL"); err != nil {
			return err
		}
		if err := ensureGiST(ctx, pg, rules, stdout); err != nil {
			return err
		}
		btree, err := runTrace(ctx, tracing.NewEngine(pg, rules), f0s)
		if err != nil {
			return err
		}
		report(stdout, "PostgreSQL (same B-tree probe)", btree)
		gistQR := tracing.NewQR(pg, rules)
		gistQR.Probe = fmt.Sprintf(gistProbe, int64(rules.StayCap/time.Second))
		gist, err := runTrace(ctx, &tracing.Engine{Sources: []tracing.Source{gistQR}}, f0s)
		if err != nil {
			return err
		}
		report(stdout, "PostgreSQL (GiST range index)", gist)
		if *skipSQLite {
			result["p50_ms"], result["p95_ms"], result["max_ms"] = round2(btree.pct(0.5)), round2(btree.pct(0.95)), round2(btree.pct(1))
			result["contacts_median"] = btree.median()
			result["rss_mb"] = peakRSSMB()
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
		if p := lite.pct(0.95); p > 0 && !*skipSQLite {
			result["ratio_vs_pg"] = round2(gist.pct(0.95) / p)
		}
		if *nF2 > 0 {
			if err := runF2(ctx, stdout, tracing.NewEngine(pg, rules), f0s[:min(*nF2, len(f0s))], "PostgreSQL"); err != nil {
				return err
			}
		}
	}
	line, _ := json.Marshal(result)
	fmt.Fprintln(stdout, string(line))
	return nil
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

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
		end := benchNow.Add(-time.Duration(rng.IntN(spread)) * time.Second)
		out[i] = f0{person: 1 + int64(rng.IntN(sc.People)), w: tracing.Window{From: end.Add(-14 * 24 * time.Hour), To: end}}
	}
	return out
}

// ensureDataset loads the demo dataset unless the database already has it.
func ensureDataset(ctx context.Context, db *sqldb.DB, v *vault.Vault, province string, sc demo.Scale, seed uint64, stdout io.Writer, where string) error {
	var n int
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM venues").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		var visits int64
		db.R.QueryRowContext(ctx, "SELECT count(*) FROM visits").Scan(&visits)
		fmt.Fprintf(stdout, "dataset: reusing %s (%d venues, %d visits)\n", where, n, visits)
		return nil
	}
	fmt.Fprintf(stdout, "dataset: building %s (scale %s, seed %d) …\n", where, sc.Name, seed)
	if db.Engine == sqldb.SQLite {
		// A large page cache for the build only: random inserts into the
		// text primary key of visits are otherwise bound by page reads.
		db.W.ExecContext(ctx, "PRAGMA cache_size = -4000000")
		// Checkpoint between the loader's transactions: left to the automatic
		// checkpoint, the write-ahead log of a 21 M-row build grew by
		// gigabytes a minute.
		done := make(chan struct{})
		defer close(done)
		go func() {
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					var busy, logN, ckpt int
					db.W.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logN, &ckpt)
					if os.Getenv("BENCH_DEBUG") != "" {
						fmt.Fprintf(stdout, "checkpoint: busy %d log %d checkpointed %d\n", busy, logN, ckpt)
					}
				}
			}
		}()
	}
	// Secondary indexes of visits are built after the load, by sorting, not
	// row by row: at province scale that is the difference between hours
	// and minutes.
	defs, err := dropVisitIndexes(ctx, db)
	if err != nil {
		return err
	}
	st, err := demo.Load(ctx, db, v, auth.NewService(db, time.Hour), province, sc, seed, benchNow)
	if err != nil {
		return err
	}
	start := time.Now()
	for _, def := range defs {
		if _, err := db.W.ExecContext(ctx, def); err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
	}
	fmt.Fprintf(stdout, "dataset: %d visit indexes rebuilt in %v\n", len(defs), time.Since(start).Round(time.Second))
	start = time.Now()
	analyze := "ANALYZE"
	if db.Engine == sqldb.Postgres {
		analyze = "VACUUM ANALYZE" // sets the visibility map: index-only scans need it
	}
	if _, err := db.W.ExecContext(ctx, analyze); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	fmt.Fprintf(stdout, "dataset: %d venues, %d people, %d visits in %v (analyze %v)\n", st.Venues, st.People, st.Visits,
		st.Elapsed.Round(time.Second), time.Since(start).Round(time.Second))
	return nil
}

// dropVisitIndexes drops the secondary indexes of visits (not the primary
// key nor unique constraints) and returns the statements that recreate them.
func dropVisitIndexes(ctx context.Context, db *sqldb.DB) ([]string, error) {
	q := "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'visits' AND sql IS NOT NULL"
	if db.Engine == sqldb.Postgres {
		q = `SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'visits'
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`
	}
	rows, err := db.R.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("visit indexes: %w", err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	for _, n := range names {
		if _, err := db.W.ExecContext(ctx, "DROP INDEX "+n); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", n, err)
		}
	}
	return defs, nil
}

// busiest prints the check-ins of the busiest venues on the dataset's last
// full day: the workload spec expects about 9,000 for the busiest, and the
// contacts an F0 has depend on it more than on anything else.
func busiest(ctx context.Context, w io.Writer, db *sqldb.DB) {
	day := benchNow.Add(-24 * time.Hour)
	rows, err := db.R.QueryContext(ctx, `SELECT venue_id, count(*) FROM visits WHERE t_in >= $1 AND t_in < $2
		GROUP BY venue_id ORDER BY count(*) DESC LIMIT 3`, day.Add(-24*time.Hour).Unix(), day.Unix())
	if err != nil {
		return
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var id, n int64
		rows.Scan(&id, &n)
		parts = append(parts, fmt.Sprintf("venue %d: %d", id, n))
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

// runF2 expands the F1s of a few F0s with the default bounds.
func runF2(ctx context.Context, w io.Writer, e *tracing.Engine, f0s []f0, name string) error {
	b := tracing.DefaultBounds()
	var lat []float64
	var found []int
	for _, x := range f0s {
		t := time.Now()
		f1, err := e.Contacts(ctx, x.person, x.w)
		if err != nil {
			return err
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
			return err
		}
		lat = append(lat, float64(time.Since(t).Microseconds())/1000)
		found = append(found, len(f2))
	}
	slices.Sort(lat)
	slices.Sort(found)
	fmt.Fprintf(w, "F2 on %-10s %d F0s (F1 + F2, bounds: %d F1s × %d, min overlap %v, at most %d): p50 %.0f ms, p95 %.0f ms, max %.0f ms; F2 found median %d\n",
		name, len(lat), b.MaxSeeds, b.CapPerSeed, b.MinOverlap, b.MaxTotal, lat[len(lat)/2], lat[int(0.95*float64(len(lat)-1)+0.5)], lat[len(lat)-1], found[len(found)/2])
	return nil
}

// gistProbe asks PostgreSQL's GiST index on (venue_id, [t_in, t_in + cap])
// for the stays overlapping [$2 + cap, $3]: the usual "which ranges overlap
// this one" query. That set is exactly the B-tree probe's t_in in [$2, $3],
// so the engine's pairing gives the same contacts from either index.
const gistProbe = `SELECT person_id, t_in, t_out FROM visits
	WHERE venue_id = $1 AND int8range(t_in, t_in + %[1]d, '[]') && int8range($2::bigint + %[1]d, $3::bigint, '[]')
	AND (t_out IS NULL OR t_out >= $4::bigint)`

const gistIndex = `CREATE INDEX IF NOT EXISTS visits_venue_stay_gist ON visits USING gist (venue_id, int8range(t_in, t_in + %d, '[]'))`

func ensureGiST(ctx context.Context, pg *sqldb.DB, r tracing.Rules, w io.Writer) error {
	start := time.Now()
	if _, err := pg.W.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS btree_gist"); err != nil {
		return fmt.Errorf("btree_gist: %w", err)
	}
	var exists bool
	pg.R.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'visits_venue_stay_gist')").Scan(&exists)
	if exists {
		return nil
	}
	if _, err := pg.W.ExecContext(ctx, fmt.Sprintf(gistIndex, int64(r.StayCap/time.Second))); err != nil {
		return fmt.Errorf("gist index: %w", err)
	}
	pg.W.ExecContext(ctx, "ANALYZE visits")
	fmt.Fprintf(w, "PostgreSQL GiST index built in %v\n", time.Since(start).Round(time.Second))
	return nil
}

// resetPeakRSS clears the kernel's high-water mark of resident memory, so
// the peak measured covers tracing only, not the dataset build.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB reads the process's peak resident set (VmHWM) in megabytes.
func peakRSSMB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return kb / 1024
		}
	}
	return 0
}
