package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/config"
	"anticovid/internal/demo"
	"anticovid/internal/errs"
	"anticovid/internal/reports"
	"anticovid/internal/retention"
	"anticovid/internal/store"
	"anticovid/internal/web"
)

func init() {
	register("serve", "run the web server (default); --demo loads demo data and accounts", serve)
	register("migrate", "bring the database schema up to date and exit", migrate)
	register("version", "print the version", func(_ context.Context, _ []string, w io.Writer) error {
		fmt.Fprintln(w, version())
		return nil
	})
	register("healthcheck", "ask a running server's /healthz; exit 0 when healthy, 1 when not (container health checks)", healthcheck)
	register("purge", "delete personal data past its retention period now", purge)
	register("demo", "load the demo dataset (--scale small|province|country) and demo accounts", loadDemo)
}

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("serve")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// ctx ends on SIGTERM; the check-in writer and the background work run
	// on until the last request has been answered.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	// A SIGTERM while open waits for the database ends the wait.
	stopOpen := context.AfterFunc(ctx, stopWork)
	a, err := open(work, cfg, os.Stderr)
	stopOpen()
	if err != nil {
		return err
	}
	defer a.close() // last: flushes the check-in writer, then closes the database
	if cfg.Demo {
		if err := serveDemo(ctx, a, stdout); err != nil {
			return err
		}
	}
	checkins, err := a.startCheckins(work)
	if err != nil {
		return err
	}
	if cfg.TLS() {
		cfg.SecureCookies = true // a cookie set over HTTPS never travels in the clear
	}
	site := web.New(a.webDeps(checkins))
	front, err := listen(cfg, site, a.log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "anticovid serving on %s (database: %s)\n", strings.Join(front.urls, " and "), a.db.Engine)
	if cfg.Demo {
		fmt.Fprintf(stdout, "Log in at %s/login — demo accounts (password %q):\n", cfg.PublicURL(), demo.Password)
		for _, acc := range demo.Accounts(cfg.Province) {
			fmt.Fprintf(stdout, "  %-13s %-19s %s %s\n", acc.Username, acc.Role, acc.Unit, acc.Department)
		}
	}
	background := a.runBackground(work)
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", site.MetricsHandler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		defer msrv.Close()
		go func() { _ = msrv.Serve(mln) }()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", mln.Addr())
	}
	select {
	case err := <-front.serve():
		front.close()
		return err
	case <-ctx.Done():
	}
	return shutdown(cfg, a.log, site, front, stopWork, background)
}

// shutdown stops a server that got SIGTERM without losing work: /readyz
// answers 503 at once (a balancer stops sending), requests go on being
// served for --shutdown-delay, then the listeners close and the requests in
// flight finish; then the background loops stop and are waited for. All
// within --shutdown-timeout; serve's deferred close then flushes the
// check-in writer and closes the database.
func shutdown(cfg *config.Config, log *slog.Logger, site *web.Server, front *front, stopWork func(), background *sync.WaitGroup) error {
	start := time.Now()
	log.Info("shutting down", "delay", cfg.ShutdownDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	site.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	time.Sleep(cfg.ShutdownDelay)
	err := front.shutdown(ctx)
	if err != nil {
		err = fmt.Errorf("requests still running after --shutdown-timeout %v were cut: %w", cfg.ShutdownTimeout, err)
	}
	stopWork()
	done := make(chan struct{})
	go func() { background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("background work still running after --shutdown-timeout %v", cfg.ShutdownTimeout))
	}
	if err != nil {
		log.Error("shutdown", "err", err)
		return err
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// serveDemo loads the demo dataset and traces a few cases, once.
func serveDemo(ctx context.Context, a *app, stdout io.Writer) error {
	start := time.Now()
	st, err := demo.Load(ctx, a.db, a.vault, a.auth, a.cfg.Province, demo.Scales["small"], 1, time.Now())
	if err != nil {
		return err
	}
	if st.Venues > 0 {
		n, err := demoCases(ctx, a, a.cfg.Province, 12)
		if err != nil {
			return err
		}
		if err := demoActivity(ctx, a, a.cfg.Province); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Demo data: %d venues, %d people, %d check-ins, %d F0 cases traced, in %v\n", st.Venues, st.People, st.Visits, n,
			time.Since(start).Round(time.Millisecond))
	}
	return demoCameras(ctx, a, a.cfg.Province)
}

// healthcheck asks a running server's /healthz: the container's health
// check, where distroless images have no shell or curl.
func healthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("healthcheck")
	target := fs.String("url", "", "the URL to ask; default http://127.0.0.1:PORT/healthz with the port of --addr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *target == "" {
		_, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return fmt.Errorf("--addr %q: %w", cfg.Addr, err)
		}
		*target = "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitStatus{1, fmt.Errorf("unhealthy: %w", err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return exitStatus{1, fmt.Errorf("unhealthy: %s %s", resp.Status, strings.TrimSpace(string(body)))}
	}
	fmt.Fprintf(stdout, "healthy: %s\n", strings.TrimSpace(string(body)))
	return nil
}

// exitStatus is an error that ends the program with its own exit code
// (Docker reads 1 as unhealthy and reserves 2).
type exitStatus struct {
	code int
	err  error
}

func (e exitStatus) Error() string { return e.err.Error() }
func (e exitStatus) Unwrap() error { return e.err }

// keyedRelease is the schema version of the first release whose writes
// work on the partitioned keyed tables (migration 0046).
const keyedRelease = 46

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("migrate")
	finish := fs.Bool("finish", false, "once every server runs this release: also the steps an older server could not run beside "+
		"(PostgreSQL: partition outbox, campaign_deliveries and en_keys by day)")
	force := fs.Bool("force", false, "with --finish: run although connections that may be older servers are open")
	a, err := parseAndOpen(ctx, fs, cfg, args)
	if err != nil {
		return err
	}
	defer a.close()
	if *finish {
		older, err := store.OlderServers(ctx, a.db, keyedRelease)
		if err != nil {
			return err
		}
		if len(older) > 0 && !*force {
			return fmt.Errorf("migrate --finish: %d connection(s) may be servers of a previous release, which could no longer queue messages "+
				"once the tables are partitioned: stop them first, or pass --force if they are not (%s)", len(older), strings.Join(older, "; "))
		}
		swapped, err := store.PartitionKeyed(ctx, a.db, time.Now())
		if err != nil {
			return err
		}
		if _, err := store.EnsurePartitions(ctx, a.db, time.Now()); err != nil {
			return err
		}
		if len(swapped) > 0 {
			fmt.Fprintf(stdout, "partitioned by day: %s\n", strings.Join(swapped, ", "))
		}
	}
	fmt.Fprintf(stdout, "database (%s) is up to date\n", a.db.Engine)
	return nil
}

func purge(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("purge")
	a, err := parseAndOpen(ctx, fs, cfg, args)
	if err != nil {
		return err
	}
	defer a.close()
	rep, err := retention.PurgeDays(ctx, a.db, a.days(), time.Now(), cfg.Retention)
	if err != nil {
		return err
	}
	for table, n := range rep {
		fmt.Fprintf(stdout, "%s: %d deleted\n", table, n)
	}
	return nil
}

func loadDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("demo")
	scale := fs.String("scale", "small", "small, province or country")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same data")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sc, err := scaleOf(*scale)
	if err != nil {
		return err
	}
	a, err := open(ctx, cfg, io.Discard)
	if err != nil {
		return err
	}
	defer a.close()
	st, err := demo.Load(ctx, a.db, a.vault, a.auth, cfg.Province, sc, *seed, time.Now())
	if err != nil {
		return err
	}
	if st.Venues == 0 {
		fmt.Fprintln(stdout, "the database already holds venues: demo data not loaded again")
		return nil
	}
	fmt.Fprintf(stdout, "loaded %d venues, %d people, %d check-ins in %v\n", st.Venues, st.People, st.Visits, st.Elapsed.Round(time.Millisecond))
	return nil
}

// scaleOf returns a workload scale by name, for the commands that take --scale.
func scaleOf(name string) (demo.Scale, error) {
	sc, ok := demo.Scales[name]
	if !ok {
		return demo.Scale{}, fmt.Errorf("--scale %q: want small, province or country", name)
	}
	return sc, nil
}

// demoCases confirms n F0s among the demo people, their samples spread over
// the last ten days, so the dashboard, the public map, the worklists and the
// transmission chains have something to show. Each is traced like a real one.
func demoCases(ctx context.Context, a *app, province string, n int) (int, error) {
	admin := &auth.Principal{Username: "demo", Role: auth.ProvinceAdmin, Unit: province}
	today := time.Now().In(reports.HCM)
	made := 0
	clock := a.cases.Now
	defer func() { a.cases.Now = clock }()
	for i := range n {
		back := (i * 10) / n
		day := today.AddDate(0, 0, -back).Format(time.DateOnly)
		// Each case registered the day its sample came back, so its F1s'
		// first calls fell due since: the older ones' are overdue.
		a.cases.Now = func() time.Time { return time.Now().AddDate(0, 0, -back) }
		// Demo people are numbered from 1; every 97th is spread over the communes.
		_, err := a.cases.Create(ctx, admin, cases.NewCase{PersonID: int64(1 + i*97), Status: cases.F0, SampleDate: day})
		if errors.Is(err, errs.ErrNotFound) {
			continue
		}
		if err != nil {
			return made, fmt.Errorf("demo case: %w", err)
		}
		made++
	}
	return made, nil
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
