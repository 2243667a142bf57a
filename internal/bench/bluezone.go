package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/config"
	"anticovid/internal/exposure"
	"anticovid/internal/notify"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/vault"
)

// bluezoneNow is the moment every Bluezone benchmark runs at (an afternoon of
// Long An's peak, so the 14-day log ends in a well-filled day).
var bluezoneNow = time.Date(2021, 8, 10, 15, 0, 0, 0, bluezone.Zone)

// BluezoneOptions are the settings of bench bluezone.
type BluezoneOptions struct {
	// Config gives the database URL ("": a SQLite file in Dir), the data key
	// and the province.
	Config      *config.Config
	Phones      int    // registered phones to simulate
	Days        int    // days of contact log, and of index built
	Logs        int    // F0 contact logs to resolve
	IDsPerDay   int    // distinct contact IDs a day in each log
	ExportKeys  int    // EN keys to export into signed files
	Seed        uint64 // simulation seed
	Dir         string // working directory ("": a temporary one, removed after); an existing one is reused
	CPUProfile  string // CPU profile of the resolution phase ("": none)
	Ratchet     bool   // step stored keys forward to the oldest kept day first, as the server does weekly
	LogSeed     uint64 // seed of the F0 logs (0: Seed)
	Reuse       bool   // reuse the phones of an earlier run in Dir, rebuild the index, time the rest
	ResolveOnly bool   // reuse the phones and index of an earlier run in Dir, time resolution only
	// BuildsOnly builds the index of the phones registered in Dir, reports
	// the builds and ends with their figures as one JSON line (builds): the
	// fresh process Rerun starts.
	BuildsOnly bool
	// Rerun is this benchmark's command line (the executable, then its
	// arguments). When set, the index builds run in a fresh process of it
	// (--dir Dir --builds-only), so their peak resident set is theirs
	// alone, as in a server, which does not bulk-load a million phones
	// first: after the registration this process keeps anonymous memory
	// outside Go's heap that closing the database and debug.FreeOSMemory
	// do not return (44 MB at 300,000 phones, ~160 MB at a million; the
	// bulk load's SQLite page cache was up to 4 GB). Empty: the builds run
	// in this process, after the registration.
	Rerun []string
}

// The process the index builds' peak resident set was measured in
// (index_rss_process in the JSON line).
const (
	rssFreshProcess = "fresh"          // started for the builds alone
	rssThisProcess  = "after_register" // the benchmark's, after the registration (if one ran)
)

// Simulation is a database holding simulated registered phones and a
// Bluezone service over it, at a fixed clock.
type Simulation struct {
	Service *bluezone.Service
	Phones  []bluezone.SimPhone
	Persons []int64 // the person of each phone, by index
}

// Simulate loads n simulated phones into db (or reuses them when the
// database already holds exactly that many devices), reporting progress to
// out, and returns them with a Bluezone service whose index lives in dir.
func Simulate(ctx context.Context, db *sqldb.DB, v *vault.Vault, dir, province string, n int, seed uint64, now time.Time, out io.Writer) (*Simulation, error) {
	phones := bluezone.SimPhones(seed, n, now, bluezone.ProvinceCommunes(province))
	have, err := bluezone.DeviceCount(ctx, db)
	if err != nil {
		return nil, err
	}
	var persons []int64
	if have == 0 {
		start := time.Now()
		last := time.Now()
		var err error
		// SQLite: a page cache large enough for the random inserts into the
		// phone and token hash indexes, which otherwise re-read their pages
		// from the file on every batch and slow down as the tables grow.
		stop := store.BulkLoad(ctx, db, 10*time.Second, nil)
		persons, err = bluezone.BulkRegister(ctx, db, v, phones, now, func(done int) {
			if time.Since(last) > 10*time.Second {
				fmt.Fprintf(out, "  registered %d of %d phones (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
				last = time.Now()
			}
		})
		stop()
		if err != nil {
			return nil, err
		}
		for _, t := range []string{"people", "bz_devices"} {
			if err := store.SyncSequence(ctx, db, t); err != nil {
				return nil, err
			}
		}
		el := time.Since(start)
		fmt.Fprintf(out, "registered %d simulated phones (person, sealed key, commune, platform) in %v: %.0f phones/s\n",
			n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	} else if have == n {
		if persons, err = bluezone.DevicePersons(ctx, db, n); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "reusing %d registered phones\n", n)
	} else {
		return nil, fmt.Errorf("the database holds %d devices, not %d: use an empty one", have, n)
	}
	svc, err := simService(db, v, dir, now)
	if err != nil {
		return nil, err
	}
	return &Simulation{Service: svc, Phones: phones, Persons: persons}, nil
}

// Bluezone times the Bluezone server with o.Phones simulated phones: the key
// ratchet, the daily ID index (one day from nothing, the other days, a delta),
// the resolution of F0 contact logs against it (every simulated contact must
// be found), one full upload, and an EN export of o.ExportKeys keys. The last
// line is the JSON the issue asked for, its keys in that order.
func Bluezone(ctx context.Context, o BluezoneOptions, stdout io.Writer) error {
	cfg := o.Config
	if o.Phones < 10 || o.Days < 1 || o.Days > bluezone.DefaultKeepDays || o.Logs < 1 {
		return fmt.Errorf("bench bluezone: want --phones ≥ 10, --days 1..%d, --logs ≥ 1", bluezone.DefaultKeepDays)
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "anticovid-bench-bluezone-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dbURL := cfg.DB
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	db, err := store.OpenMigrated(ctx, dbURL, dir)
	if err != nil {
		return err
	}
	defer func() { db.Close() }()
	v, err := vault.Load(cfg.DataKey, cfg.DataKeyOld, dir)
	if err != nil {
		return err
	}
	now := bluezoneNow
	fmt.Fprintf(stdout, "bench bluezone: %d phones, %d-day logs of ~%d distinct contact IDs a day, %d logs, database %s, directory %s\n",
		o.Phones, o.Days, o.IDsPerDay, o.Logs, db.Engine, dir)
	registerRate := 0.0
	if !o.ResolveOnly && !o.Reuse && !o.BuildsOnly {
		t0 := time.Now()
		// A bulk load into the benchmark's own database: the indexes on
		// random phone and token hashes are dropped first and built by sorting
		// after, instead of one random insert per phone and index (the others
		// take rows in nearly ascending order and stay).
		var defs []string
		if have, err := bluezone.DeviceCount(ctx, db); err == nil && have == 0 {
			for _, table := range []string{"bz_devices", "people"} {
				d, err := store.DropIndexes(ctx, db, table)
				if err != nil {
					return err
				}
				for _, def := range d {
					if strings.Contains(def, "phone_hash") || strings.Contains(def, "token_hash") {
						defs = append(defs, def)
					} else if err := store.CreateIndexes(ctx, db, []string{def}); err != nil { // empty: instant
						return err
					}
				}
			}
		}
		reg, err := Simulate(ctx, db, v, dir, cfg.Province, o.Phones, o.Seed, now, stdout)
		if err != nil {
			return err
		}
		if err := store.CreateIndexes(ctx, db, defs); err != nil {
			return err
		}
		registerRate = float64(o.Phones) / time.Since(t0).Seconds()
		fmt.Fprintf(stdout, "registration with its %d indexes rebuilt: %.0f phones/s\n", len(defs), registerRate)
		reg.Service.Index.Close()
		// Reopened, the database no longer holds the registration's page
		// cache: what the index build measures next is the build's memory.
		if err := db.Close(); err != nil {
			return err
		}
		if db, err = store.OpenMigrated(ctx, dbURL, dir); err != nil {
			return err
		}
	}
	svc, err := simService(db, v, dir, now)
	if err != nil {
		return err
	}
	if o.Reuse {
		svc.Index.Close()
		if err := os.RemoveAll(svc.Index.Dir); err != nil {
			return err
		}
		if svc, err = simService(db, v, dir, now); err != nil {
			return err
		}
	}
	defer func() { svc.Index.Close() }()
	svc.KeepDays = o.Days
	today := bluezone.DayNumber(now)
	indexBuild, indexBytes, buildRSS, rssWhere := 0.0, svc.Index.Bytes(today), uint64(0), rssThisProcess
	switch {
	case o.ResolveOnly:
		fmt.Fprintf(stdout, "reusing %d phones and the index in %s (index build not timed)\n", o.Phones, dir)
	case o.BuildsOnly || len(o.Rerun) == 0:
		// The simulation's own memory is released before and the peak
		// resident set cleared, so the figure is the builds' (and what an
		// earlier registration left in this process: see Rerun).
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS()
		fmt.Fprintf(stdout, "before the builds: %s\n", residentSplit())
		if indexBuild, indexBytes, err = buildPhase(ctx, svc, db, v, cfg.Province, today, o.Days, o.Seed, o.Ratchet, now, stdout); err != nil {
			return err
		}
		buildRSS = peakRSS()
		fmt.Fprintf(stdout, "process peak RSS over every build (VmHWM): %d MB\n", buildRSS>>20)
		if o.BuildsOnly {
			line, _ := json.Marshal(builds{indexBuild, indexBytes, buildRSS >> 20})
			fmt.Fprintln(stdout, string(line))
			return nil
		}
	default:
		fmt.Fprintf(stdout, "after registration: %s; the builds run in a fresh process\n", residentSplit())
		svc.Index.Close() // the fresh process writes the files; reopened after
		b, err := buildInFreshProcess(ctx, o.Rerun, dir, stdout)
		if err != nil {
			return err
		}
		indexBuild, indexBytes, buildRSS, rssWhere = b.Build, b.Bytes, b.PeakRSSMB<<20, rssFreshProcess
		if svc, err = simService(db, v, dir, now); err != nil {
			return err
		}
		svc.KeepDays = o.Days
	}
	sim, err := reuseSimulation(ctx, db, svc, dir, cfg.Province, o.Phones, o.Seed, now)
	if err != nil {
		return err
	}

	// 3. Resolve F0 logs.
	stopProfile, err := startProfiles(o.CPUProfile, "")
	if err != nil {
		return err
	}
	var kept []int64 // open the kept days first, as a running server has them
	for d := today - int64(o.Days) + 1; d <= today; d++ {
		kept = append(kept, d)
	}
	if err := svc.Index.Preload(kept); err != nil {
		stopProfile()
		return err
	}
	logSeed := o.LogSeed
	if logSeed == 0 {
		logSeed = o.Seed
	}
	rng := mrand.New(mrand.NewPCG(logSeed, 99))
	var lat []float64
	var rows, distinct, found, missed, extraFound int
	for i := range o.Logs {
		f0 := rng.IntN(len(sim.Phones))
		logRows, near := bluezone.SimLog(sim.Phones, bluezone.SimLogSpec{F0: f0, Days: o.Days, IDsPerDay: o.IDsPerDay,
			RegisteredShare: 0.6, Seed: logSeed + uint64(i), Now: now})
		if err := svc.ValidateLog(logRows, now); err != nil {
			stopProfile()
			return fmt.Errorf("simulated log: %w", err)
		}
		t0 := time.Now()
		res, err := svc.Resolve(ctx, logRows, sim.Persons[f0])
		if err != nil {
			stopProfile()
			return err
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
		rows += res.Rows
		distinct += res.DistinctIDs
		want := map[int64]bool{}
		for _, j := range near {
			want[sim.Persons[j]] = true
		}
		for _, c := range res.Contacts {
			if want[c.PersonID] {
				found++
				delete(want, c.PersonID)
			} else {
				extraFound++
			}
		}
		missed += len(want)
	}
	stopProfile()
	p95 := percentileCeil(lat, 0.95)
	fmt.Fprintf(stdout, "resolve: %d logs, %d rows and %d distinct contact IDs per log on average; p50 %.1f ms, p95 %.1f ms, max %.1f ms; %d contacts found, %d missed, %d wrong\n",
		o.Logs, rows/o.Logs, distinct/o.Logs, percentileCeil(lat, 0.5), p95, slices.Max(lat), found, missed, extraFound)

	// The full upload path once: code check, resolution, storage, in one transaction.
	tracer := auth.WithPrincipal(ctx, &auth.Principal{UserID: 1, Username: "bench", Role: auth.ProvinceAdmin, Unit: cfg.Province})
	f0 := rng.IntN(len(sim.Phones))
	logRows, _ := bluezone.SimLog(sim.Phones, bluezone.SimLogSpec{F0: f0, Days: o.Days, IDsPerDay: o.IDsPerDay, RegisteredShare: 0.6, Seed: 7777, Now: now})
	code, _, err := svc.Codes.Issue(tracer, auth.From(tracer), exposure.PurposeBluezoneLog, sim.Persons[f0], time.Time{})
	if err != nil {
		return err
	}
	t0 := time.Now()
	up, err := svc.UploadLog(ctx, code, "bench", logRows)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "upload (check code, resolve, store %d candidates): %v\n", up.Candidates, time.Since(t0).Round(time.Millisecond))

	// 4. EN: export 100,000 keys into signed files.
	en := exposure.NewService(db, v, svc.Codes)
	en.Now = func() time.Time { return now }
	winStart := now.Add(-time.Hour).Truncate(time.Hour)
	// A reused directory already published that window.
	if lastEnd, _ := exposure.LastExportEnd(ctx, db); lastEnd.After(winStart) {
		winStart = lastEnd
	}
	if err := insertKeys(ctx, db, o.ExportKeys, winStart, now); err != nil {
		return err
	}
	if _, err := en.Signer(ctx); err != nil { // key creation is not part of an export
		return err
	}
	t0 = time.Now()
	files, err := en.ExportWindow(ctx, winStart, winStart.Add(time.Hour))
	if err != nil {
		return err
	}
	exportS := time.Since(t0).Seconds()
	var bytes int64
	for _, f := range files {
		if data, _, err := en.File(ctx, f.Name); err == nil {
			bytes += int64(len(data))
		}
	}
	fmt.Fprintf(stdout, "EN export: %d keys into %d signed files (%.1f MB) in %.3f s\n", o.ExportKeys, len(files), float64(bytes)/1e6, exportS)

	line, _ := json.Marshal(map[string]any{
		"phones": o.Phones, "resolve_p95_ms": round2(p95), "index_build_s": round2(indexBuild),
		"index_bytes": indexBytes, "export_100k_s": round2(exportS), "register_per_s": math.Round(registerRate),
		"index_peak_rss_mb": buildRSS >> 20, "index_rss_process": rssWhere})
	fmt.Fprintln(stdout, orderedJSON(line))
	return nil
}

// builds are the figures of the index builds a --builds-only process
// prints.
type builds struct {
	Build     float64 `json:"index_build_s"`
	Bytes     int64   `json:"index_bytes"`
	PeakRSSMB uint64  `json:"index_peak_rss_mb"`
}

// buildInFreshProcess runs the index builds in a new process of rerun over
// dir, passing its report on to stdout, and returns its figures (its last
// line).
func buildInFreshProcess(ctx context.Context, rerun []string, dir string, stdout io.Writer) (builds, error) {
	cmd := exec.CommandContext(ctx, rerun[0], append(slices.Clone(rerun[1:]), "--dir", dir, "--builds-only")...)
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return builds{}, err
	}
	if err := cmd.Start(); err != nil {
		return builds{}, fmt.Errorf("bench bluezone: the builds' process: %w", err)
	}
	// Its report goes on as it comes; its JSON line (the last) is this
	// benchmark's to read, not to print.
	sc := bufio.NewScanner(pipe)
	var last string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "{") {
			last = sc.Text()
		} else {
			fmt.Fprintf(stdout, "  %s\n", sc.Text())
		}
	}
	if err := cmd.Wait(); err != nil {
		return builds{}, fmt.Errorf("bench bluezone: the builds' process: %w", err)
	}
	var b builds
	if err := json.Unmarshal([]byte(last), &b); err != nil {
		return builds{}, fmt.Errorf("bench bluezone: the builds' process ended with %q: %w", last, err)
	}
	return b, nil
}

// orderedJSON puts the interface's keys in the order the issue lists them.
func orderedJSON(b []byte) string {
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	var parts []string
	for _, k := range []string{"phones", "resolve_p95_ms", "index_build_s", "index_bytes", "export_100k_s", "register_per_s", "index_peak_rss_mb", "index_rss_process"} {
		parts = append(parts, fmt.Sprintf("%q: %s", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// percentileCeil is the nearest-rank percentile p of xs.
func percentileCeil(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[int(math.Ceil(p*float64(len(s)))-1)]
}

// insertKeys stores n random TEKs that became available in the window.
func insertKeys(ctx context.Context, db *sqldb.DB, n int, start, now time.Time) error {
	today := int32(exposure.ENIntervalNumber(now)) / 144 * 144
	keys := make([]exposure.Key, n)
	at := make([]time.Time, n)
	for i := range keys {
		k := make([]byte, 16)
		rand.Read(k)
		keys[i] = exposure.Key{Data: k, RollingStart: today - 144*int32(1+i%14), RollingPeriod: 144, TransmissionRisk: int32(i % 9)}
		at[i] = time.Unix(start.Unix()+int64(i%3600), 0)
	}
	if err := exposure.InsertKeys(ctx, db, exposure.DefaultRegion, keys, at); err != nil {
		return fmt.Errorf("insert bench keys: %w", err)
	}
	return nil
}

// buildPhase times the key ratchet, today's index build from nothing, the
// other days' builds, and an incremental delta for phones registered after.
// It returns today's build time in seconds and its size.
func buildPhase(ctx context.Context, svc *bluezone.Service, db *sqldb.DB, v *vault.Vault, province string, today int64, days int,
	seed uint64, ratchet bool, now time.Time, stdout io.Writer) (indexBuild float64, indexBytes int64, err error) {
	// 0. The weekly key ratchet a running server does (Maintain): stored keys
	// move to the oldest kept day, so a build walks at most ~3 weeks of chain
	// however old the phones are. The simulated phones' keys are 20–59 days old.
	if ratchet {
		t0 := time.Now()
		n, err := svc.Ratchet(ctx, today-int64(days)+1)
		if err != nil {
			return 0, 0, err
		}
		fmt.Fprintf(stdout, "key ratchet: %d stored keys stepped forward to %s in %v\n", n,
			bluezone.DayDate(today-int64(days)+1), time.Since(t0).Round(time.Millisecond))
	}

	// 1. One day's index, from nothing: load and unseal every key, walk its
	// chain to the day, hash 145 times per phone, sort, write.
	built, err := svc.EnsureDays(ctx, []int64{today})
	if err != nil {
		return 0, 0, err
	}
	if len(built) != 1 {
		return 0, 0, fmt.Errorf("bench bluezone: today's index is already built: use a fresh --dir, or --resolve-only")
	}
	b := built[0]
	fmt.Fprintf(stdout, "index %s: %d phones in %.2f s (load and unseal keys %.2f s, hash %.2f s, sort and write %.2f s), %d bytes on disk (%.1f bytes/phone/day), Go heap at peak %d MB\n",
		bluezone.DayDate(b.Day), b.Phones, b.Elapsed.Seconds(), b.Load.Seconds(), b.Hash.Seconds(), b.Write.Seconds(),
		b.Bytes, float64(b.Bytes)/float64(b.Phones), b.PeakHeap>>20)
	indexBuild, indexBytes = b.Elapsed.Seconds(), b.Bytes
	// The other days a 14-day log covers.
	var rest []int64
	for d := today - int64(days) + 1; d < today; d++ {
		rest = append(rest, d)
	}
	start := time.Now()
	more, err := svc.EnsureDays(ctx, rest)
	if err != nil {
		return 0, 0, err
	}
	total := indexBytes
	for _, m := range more {
		total += m.Bytes
	}
	fmt.Fprintf(stdout, "index for the other %d days: %d files in %v; %d days on disk: %.2f GB\n",
		len(rest), len(more), time.Since(start).Round(time.Millisecond), days, float64(total)/1e9)

	// 2. Incremental: 1,000 phones register after the build; a delta covers them.
	have, _ := bluezone.DeviceCount(ctx, db)
	extra := bluezone.SimPhones(seed+1, 1000, now, bluezone.ProvinceCommunes(province))
	for i := range extra {
		extra[i].Phone = fmt.Sprintf("03%08d", have+i) // distinct from an earlier run's
	}
	if _, err := bluezone.BulkRegister(ctx, db, v, extra, now, nil); err != nil {
		return 0, 0, err
	}
	store.SyncSequence(ctx, db, "people")
	store.SyncSequence(ctx, db, "bz_devices")
	start = time.Now()
	deltas, err := svc.EnsureDays(ctx, []int64{today})
	if err != nil {
		return 0, 0, err
	}
	if len(deltas) == 1 {
		fmt.Fprintf(stdout, "incremental: 1000 new phones added to today's index as a delta in %v (%d bytes)\n",
			time.Since(start).Round(time.Millisecond), deltas[0].Bytes)
	}
	return indexBuild, indexBytes, nil
}

// reuseSimulation reopens the phones registered in dir (by this run or an
// earlier one), with svc over them.
func reuseSimulation(ctx context.Context, db *sqldb.DB, svc *bluezone.Service, dir, province string, n int, seed uint64, now time.Time) (*Simulation, error) {
	sim := &Simulation{Service: svc, Phones: bluezone.SimPhones(seed, n, now, bluezone.ProvinceCommunes(province))}
	var err error
	if sim.Persons, err = bluezone.DevicePersons(ctx, db, n); err != nil {
		return nil, err
	}
	if len(sim.Persons) != n {
		return nil, fmt.Errorf("%s holds %d phones, not %d", dir, len(sim.Persons), n)
	}
	return sim, nil
}

// simService is a Bluezone service over db for the simulations, at now.
func simService(db *sqldb.DB, v *vault.Vault, dir string, now time.Time) (*bluezone.Service, error) {
	ppl := people.NewService(db, v)
	rec := &notify.Recorder{}
	outbox := &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec}, Log: slog.New(slog.DiscardHandler)}
	codes := exposure.NewCodes(otp.New(db, v, nil), people.NewService(db, v))
	codes.Now = func() time.Time { return now }
	svc, err := bluezone.NewService(db, v, ppl, outbox, codes, filepath.Join(dir, "bluezone-index"), 21*24*time.Hour)
	if err != nil {
		return nil, err
	}
	svc.Now = func() time.Time { return now }
	return svc, nil
}
