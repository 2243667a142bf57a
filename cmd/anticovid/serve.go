package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/demo"
	"anticovid/internal/errs"
	"anticovid/internal/reports"
	"anticovid/internal/retention"
	"anticovid/internal/web"
)

func init() {
	register("serve", "run the web server (default); --demo loads demo data and accounts", serve)
	register("migrate", "bring the database schema up to date and exit", migrate)
	register("version", "print the version", func(_ context.Context, _ []string, w io.Writer) error {
		fmt.Fprintln(w, version())
		return nil
	})
	register("purge", "delete personal data past its retention period now", purge)
	register("demo", "load the demo dataset (--scale small|province|country) and demo accounts", loadDemo)
}

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("serve")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := open(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if cfg.Demo {
		start := time.Now()
		st, err := demo.Load(ctx, a.db, a.vault, a.auth, cfg.Province, demo.Scales["small"], 1, time.Now())
		if err != nil {
			return err
		}
		if st.Venues > 0 {
			n, err := demoCases(ctx, a, cfg.Province, 12)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Demo data: %d venues, %d people, %d check-ins, %d F0 cases traced, in %v\n", st.Venues, st.People, st.Visits, n,
				time.Since(start).Round(time.Millisecond))
		}
	}
	checkins, err := a.startCheckins(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	site := web.New(a.webDeps(checkins))
	srv := &http.Server{
		Handler:           site,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	fmt.Fprintf(stdout, "anticovid serving on http://%s (database: %s)\n", ln.Addr(), a.db.Engine)
	if cfg.Demo {
		fmt.Fprintf(stdout, "Log in at http://%s/login — demo accounts (password %q):\n", ln.Addr(), demo.Password)
		for _, acc := range demo.Accounts(cfg.Province) {
			fmt.Fprintf(stdout, "  %-13s %-19s %s %s\n", acc.Username, acc.Role, acc.Unit, acc.Department)
		}
	}
	a.runBackground(ctx)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", site.MetricsHandler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		defer msrv.Close()
		go func() { errc <- msrv.Serve(mln) }()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", mln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("migrate")
	a, err := parseAndOpen(ctx, fs, cfg, args)
	if err != nil {
		return err
	}
	defer a.close()
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
	rep, err := retention.Purge(ctx, a.db, time.Now(), cfg.Retention)
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
	for i := range n {
		day := today.AddDate(0, 0, -(i*10)/n).Format(time.DateOnly)
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
