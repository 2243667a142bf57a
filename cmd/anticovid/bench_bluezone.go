package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/exposure"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/vault"
)

func init() {
	register("bench bluezone",
		"đo máy chủ Bluezone/EN với N điện thoại mô phỏng / time the Bluezone index, log resolution and EN export with N simulated phones",
		benchBluezone)
}

// bzBenchNow is the moment every Bluezone benchmark runs at (an afternoon of
// Long An's peak, so the 14-day log ends in a well-filled day).
var bzBenchNow = time.Date(2021, 8, 10, 15, 0, 0, 0, bluezone.Zone)

// bzSimContext is what the simulate and bench commands share: a database
// holding n simulated registered phones and a Bluezone service over it.
type bzSimContext struct {
	db      *sqldb.DB
	vault   *vault.Vault
	svc     *bluezone.Service
	phones  []bluezone.SimPhone
	persons []int64
}

// bzSimulate loads n simulated phones into db (or reuses them when the
// database already holds exactly that many devices).
func bzSimulate(ctx context.Context, db *sqldb.DB, v *vault.Vault, dir, province string, n int, seed uint64, now time.Time, out io.Writer) (*bzSimContext, error) {
	phones := bluezone.SimPhones(seed, n, now, bluezone.ProvinceCommunes(province))
	var have int
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM bz_devices").Scan(&have); err != nil {
		return nil, err
	}
	var persons []int64
	if have == 0 {
		start := time.Now()
		last := time.Now()
		var err error
		persons, err = bluezone.BulkRegister(ctx, db, v, phones, now, func(done int) {
			if time.Since(last) > 10*time.Second {
				fmt.Fprintf(out, "  registered %d of %d phones (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
				last = time.Now()
			}
		})
		if err != nil {
			return nil, err
		}
		for _, t := range []string{"people", "bz_devices"} {
			if err := store.SyncSequence(ctx, db, t); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(out, "registered %d simulated phones (person, sealed key, commune, platform) in %v\n", n, time.Since(start).Round(time.Millisecond))
	} else if have == n {
		rows, err := db.R.QueryContext(ctx, "SELECT person_id FROM bz_devices ORDER BY id")
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var p int64
			rows.Scan(&p)
			persons = append(persons, p)
		}
		rows.Close()
		fmt.Fprintf(out, "reusing %d registered phones\n", n)
	} else {
		return nil, fmt.Errorf("the database holds %d devices, not %d: use an empty one", have, n)
	}
	svc, err := bzService(db, v, dir, now)
	if err != nil {
		return nil, err
	}
	return &bzSimContext{db: db, vault: v, svc: svc, phones: phones, persons: persons}, nil
}

func benchBluezone(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("bench bluezone")
	nPhones := fs.Int("phones", 1_000_000, "registered phones to simulate")
	days := fs.Int("days", 14, "days of contact log (and of index built)")
	nLogs := fs.Int("logs", 20, "F0 contact logs to resolve")
	idsPerDay := fs.Int("ids-per-day", 500, "distinct contact IDs a day in each log")
	exportKeys := fs.Int("export-keys", 100_000, "EN keys to export into signed files")
	seed := fs.Uint64("seed", 1, "simulation seed")
	workDir := fs.String("dir", "", "working directory (database, index, exports); default a temporary one, removed after; an existing one is reused")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the resolution phase to this file")
	ratchet := fs.Bool("ratchet", true, "step stored keys forward to the oldest kept day first, as the server does weekly")
	logSeed := fs.Uint64("log-seed", 0, "seed of the F0 logs (default: --seed); another seed reads other parts of the index")
	reuse := fs.Bool("reuse", false, "reuse the phones registered by an earlier run in --dir, rebuild the index from them, and time everything else")
	resolveOnly := fs.Bool("resolve-only", false, "reuse the phones and index of an earlier run in --dir and time resolution only")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *nPhones < 10 || *days < 1 || *days > bluezone.DefaultKeepDays || *nLogs < 1 {
		return fmt.Errorf("bench bluezone: want --phones ≥ 10, --days 1..%d, --logs ≥ 1", bluezone.DefaultKeepDays)
	}
	dir := *workDir
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
	defer db.Close()
	v, err := vault.Load(cfg.DataKey, dir)
	if err != nil {
		return err
	}
	now := bzBenchNow
	fmt.Fprintf(stdout, "bench bluezone: %d phones, %d-day logs of ~%d distinct contact IDs a day, %d logs, database %s, directory %s\n",
		*nPhones, *days, *idsPerDay, *nLogs, db.Engine, dir)
	var sim *bzSimContext
	if *resolveOnly || *reuse {
		sim, err = bzReuse(ctx, db, v, dir, cfg.Province, *nPhones, *seed, now)
		if err == nil && *reuse {
			sim.svc.Index.Close()
			if err := os.RemoveAll(sim.svc.Index.Dir); err != nil {
				return err
			}
			sim.svc, err = bzService(db, v, dir, now)
		}
	} else {
		sim, err = bzSimulate(ctx, db, v, dir, cfg.Province, *nPhones, *seed, now, stdout)
	}
	if err != nil {
		return err
	}
	svc := sim.svc
	defer svc.Index.Close()
	svc.KeepDays = *days
	today := bluezone.DayNumber(now)
	indexBuild, indexBytes := 0.0, svc.Index.Bytes(today)
	if *resolveOnly {
		fmt.Fprintf(stdout, "reusing %d phones and the index in %s (index build not timed)\n", *nPhones, dir)
	} else {
		if err := bzBuildPhase(ctx, svc, db, v, cfg.Province, today, *days, *seed, *ratchet, now, stdout, &indexBuild, &indexBytes); err != nil {
			return err
		}
	}

	// 3. Resolve F0 logs.
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
	}
	var kept []int64 // open the kept days first, as a running server has them
	for d := today - int64(*days) + 1; d <= today; d++ {
		kept = append(kept, d)
	}
	if err := svc.Index.Preload(kept); err != nil {
		return err
	}
	if *logSeed == 0 {
		*logSeed = *seed
	}
	rng := mrand.New(mrand.NewPCG(*logSeed, 99))
	var lat []float64
	var rows, distinct, found, missed, extraFound int
	for i := range *nLogs {
		f0 := rng.IntN(len(sim.phones))
		logRows, near := bluezone.SimLog(sim.phones, bluezone.SimLogSpec{F0: f0, Days: *days, IDsPerDay: *idsPerDay,
			RegisteredShare: 0.6, Seed: *logSeed + uint64(i), Now: now})
		if err := svc.ValidateLog(logRows, now); err != nil {
			return fmt.Errorf("simulated log: %w", err)
		}
		t0 := time.Now()
		res, err := svc.Resolve(ctx, logRows, sim.persons[f0])
		if err != nil {
			return err
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
		rows += res.Rows
		distinct += res.DistinctIDs
		want := map[int64]bool{}
		for _, j := range near {
			want[sim.persons[j]] = true
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
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	p95 := bzPercentile(lat, 0.95)
	fmt.Fprintf(stdout, "index held in memory for %d days (directories and device tables): %d MB\n", *days, svc.Index.MemoryBytes()>>20)
	fmt.Fprintf(stdout, "resolve: %d logs, %d rows and %d distinct contact IDs per log on average; p50 %.1f ms, p95 %.1f ms, max %.1f ms; %d contacts found, %d missed, %d wrong\n",
		*nLogs, rows / *nLogs, distinct / *nLogs, bzPercentile(lat, 0.5), p95, slices.Max(lat), found, missed, extraFound)

	// The full upload path once: code check, resolution, storage, in one transaction.
	tracer := auth.WithPrincipal(ctx, &auth.Principal{UserID: 1, Username: "bench", Role: auth.ProvinceAdmin, Unit: cfg.Province})
	f0 := rng.IntN(len(sim.phones))
	logRows, _ := bluezone.SimLog(sim.phones, bluezone.SimLogSpec{F0: f0, Days: *days, IDsPerDay: *idsPerDay, RegisteredShare: 0.6, Seed: 7777, Now: now})
	code, _, err := svc.Codes.Issue(tracer, auth.From(tracer), exposure.PurposeBluezoneLog, sim.persons[f0], time.Time{})
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
	en := exposure.NewService(db, v, svc.Codes, filepath.Join(dir, "en-export"))
	en.Now = func() time.Time { return now }
	winStart := now.Add(-time.Hour).Truncate(time.Hour)
	var lastEnd int64 // a reused directory already published that window
	db.R.QueryRowContext(ctx, "SELECT COALESCE(max(end_at), 0) FROM en_exports").Scan(&lastEnd)
	if lastEnd > winStart.Unix() {
		winStart = time.Unix(lastEnd, 0)
	}
	if err := insertBenchKeys(ctx, db, *exportKeys, winStart, now); err != nil {
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
		if st, err := os.Stat(filepath.Join(en.Dir, f.Name)); err == nil {
			bytes += st.Size()
		}
	}
	fmt.Fprintf(stdout, "EN export: %d keys into %d signed files (%.1f MB) in %.3f s\n", *exportKeys, len(files), float64(bytes)/1e6, exportS)

	line, _ := json.Marshal(map[string]any{
		"phones": *nPhones, "resolve_p95_ms": bzRound2(p95), "index_build_s": bzRound2(indexBuild),
		"index_bytes": indexBytes, "export_100k_s": bzRound2(exportS)})
	fmt.Fprintln(stdout, orderedJSON(line))
	return nil
}

// orderedJSON puts the interface's keys in the order the issue lists them.
func orderedJSON(b []byte) string {
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	var parts []string
	for _, k := range []string{"phones", "resolve_p95_ms", "index_build_s", "index_bytes", "export_100k_s"} {
		parts = append(parts, fmt.Sprintf("%q: %s", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func bzRound2(f float64) float64 { return math.Round(f*100) / 100 }

func bzPercentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[int(math.Ceil(p*float64(len(s)))-1)]
}

// peakRSS reads the process's peak resident set (Linux), or 0.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// insertBenchKeys stores n random TEKs that became available in the window.
func insertBenchKeys(ctx context.Context, db *sqldb.DB, n int, start, now time.Time) error {
	today := int64(exposure.ENIntervalNumber(now)) / 144 * 144
	for lo := 0; lo < n; lo += 50 {
		hi := min(n, lo+50)
		var q strings.Builder
		q.WriteString("INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region, certificate_id, created_at, available_at) VALUES ")
		args := make([]any, 0, (hi-lo)*8)
		for i := lo; i < hi; i++ {
			if i > lo {
				q.WriteByte(',')
			}
			q.WriteString("(" + sqldb.In(len(args)+1, 8) + ")")
			k := make([]byte, 16)
			rand.Read(k)
			at := start.Unix() + int64(i%3600)
			args = append(args, k, today-144*int64(1+i%14), 144, i%9, exposure.DefaultRegion, 0, at, at)
		}
		if _, err := db.W.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert bench keys: %w", err)
		}
	}
	return nil
}

// bzBuildPhase times the key ratchet, today's index build from nothing, the
// other days' builds, and an incremental delta for phones registered after.
func bzBuildPhase(ctx context.Context, svc *bluezone.Service, db *sqldb.DB, v *vault.Vault, province string, today int64, days int,
	seed uint64, ratchet bool, now time.Time, stdout io.Writer, indexBuild *float64, indexBytes *int64) error {
	// 0. The weekly key ratchet a running server does (Maintain): stored keys
	// move to the oldest kept day, so a build walks at most ~3 weeks of chain
	// however old the phones are. The simulated phones' keys are 20–59 days old.
	if ratchet {
		t0 := time.Now()
		n, err := svc.Ratchet(ctx, today-int64(days)+1)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key ratchet: %d stored keys stepped forward to %s in %v\n", n,
			bluezone.DayDate(today-int64(days)+1), time.Since(t0).Round(time.Millisecond))
	}

	// 1. One day's index, from nothing: load and unseal every key, walk its
	// chain to the day, hash 145 times per phone, sort, write.
	built, err := svc.EnsureDays(ctx, []int64{today})
	if err != nil {
		return err
	}
	if len(built) != 1 {
		return fmt.Errorf("bench bluezone: today's index is already built: use a fresh --dir, or --resolve-only")
	}
	b := built[0]
	fmt.Fprintf(stdout, "index %s: %d phones in %.2f s (load and unseal keys %.2f s, hash %.2f s, sort and write %.2f s), %d bytes on disk (%.1f bytes/phone/day), Go heap at peak %d MB, process peak RSS %d MB\n",
		bluezone.DayDate(b.Day), b.Phones, b.Elapsed.Seconds(), b.Load.Seconds(), b.Hash.Seconds(), b.Write.Seconds(),
		b.Bytes, float64(b.Bytes)/float64(b.Phones), b.PeakHeap>>20, peakRSS()>>20)
	*indexBuild, *indexBytes = b.Elapsed.Seconds(), b.Bytes
	// The other days a 14-day log covers.
	var rest []int64
	for d := today - int64(days) + 1; d < today; d++ {
		rest = append(rest, d)
	}
	start := time.Now()
	more, err := svc.EnsureDays(ctx, rest)
	if err != nil {
		return err
	}
	var total int64 = *indexBytes
	for _, m := range more {
		total += m.Bytes
	}
	fmt.Fprintf(stdout, "index for the other %d days: %d files in %v; %d days on disk: %.2f GB\n",
		len(rest), len(more), time.Since(start).Round(time.Millisecond), days, float64(total)/1e9)

	// 2. Incremental: 1,000 phones register after the build; a delta covers them.
	var have int
	db.R.QueryRowContext(ctx, "SELECT count(*) FROM bz_devices").Scan(&have)
	extra := bluezone.SimPhones(seed+1, 1000, now, bluezone.ProvinceCommunes(province))
	for i := range extra {
		extra[i].Phone = fmt.Sprintf("03%08d", have+i) // distinct from an earlier run's
	}
	if _, err := bluezone.BulkRegister(ctx, db, v, extra, now, nil); err != nil {
		return err
	}
	store.SyncSequence(ctx, db, "people")
	store.SyncSequence(ctx, db, "bz_devices")
	start = time.Now()
	deltas, err := svc.EnsureDays(ctx, []int64{today})
	if err != nil {
		return err
	}
	if len(deltas) == 1 {
		fmt.Fprintf(stdout, "incremental: 1000 new phones added to today's index as a delta in %v (%d bytes)\n",
			time.Since(start).Round(time.Millisecond), deltas[0].Bytes)
	}

	return nil
}

// bzReuse reopens the phones an earlier bench run registered in dir.
func bzReuse(ctx context.Context, db *sqldb.DB, v *vault.Vault, dir, province string, n int, seed uint64, now time.Time) (*bzSimContext, error) {
	sim := &bzSimContext{db: db, vault: v, phones: bluezone.SimPhones(seed, n, now, bluezone.ProvinceCommunes(province))}
	rows, err := db.R.QueryContext(ctx, "SELECT person_id FROM bz_devices ORDER BY id LIMIT $1", n)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, err
		}
		sim.persons = append(sim.persons, p)
	}
	rows.Close()
	if len(sim.persons) != n {
		return nil, fmt.Errorf("%s holds %d phones, not %d", dir, len(sim.persons), n)
	}
	sim.svc, err = bzService(db, v, dir, now)
	return sim, err
}

// bzService is a Bluezone service over db for the simulations, at now.
func bzService(db *sqldb.DB, v *vault.Vault, dir string, now time.Time) (*bluezone.Service, error) {
	ppl := people.NewService(db, v)
	rec := &notify.Recorder{}
	outbox := &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec}, Log: slog.New(slog.DiscardHandler)}
	codes := exposure.NewCodes(db, v)
	codes.Now = func() time.Time { return now }
	svc, err := bluezone.NewService(db, v, ppl, outbox, codes, filepath.Join(dir, "bluezone-index"), 21*24*time.Hour)
	if err != nil {
		return nil, err
	}
	svc.Now = func() time.Time { return now }
	return svc, nil
}
