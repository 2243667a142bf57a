package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/config"
	"anticovid/internal/dashboard"
	"anticovid/internal/demo"
	"anticovid/internal/geo"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/reports"
	"anticovid/internal/store"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
	"anticovid/internal/web"
)

// DashboardOptions are the settings of bench dashboard.
type DashboardOptions struct {
	// Config gives the data directory, data key and province, and is the
	// web server's configuration.
	Config *config.Config
	Scale  demo.Scale
	File   string // SQLite dataset file ("": DATA/bench-SCALE.db), reused when present
	N      int    // requests timed per case
	Days   int    // days of check-ins in the dataset (0: the scale's)
	Seed   uint64 // dataset seed
}

// latencies summarises a list of durations in milliseconds.
type latencies []float64

func (l latencies) q(p float64) float64 {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return round2(s[int(p*float64(len(s)-1))])
}

// String prints the percentiles the benchmark reports.
func (l latencies) String() string {
	return fmt.Sprintf("p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms (%d requests)", l.q(0.5), l.q(0.95), l.q(0.99), l.q(1), len(l))
}

func timeIt(n int, fn func() error) (latencies, error) {
	var out latencies
	for range n {
		t := time.Now()
		if err := fn(); err != nil {
			return out, err
		}
		out = append(out, float64(time.Since(t).Microseconds())/1000)
	}
	return out, nil
}

// Dashboard loads (or reuses) the demo dataset, counts it the way the
// server's refresher does, then times the dashboard: the uncached figures
// of the province, a district, a commune and a department's sector; the
// HTTP request as a browser makes it (cached between refreshes, and right
// after a refresh); and the public map. The dataset is not a deployment's
// database, so the benchmark builds the few services it needs over it: the
// dashboard with the server's sources, accounts, and a web server.
func Dashboard(ctx context.Context, o DashboardOptions, stdout io.Writer) error {
	cfg, sc := o.Config, o.Scale
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	v, err := vault.Load(cfg.DataKey, cfg.DataKeyOld, cfg.DataDir)
	if err != nil {
		return err
	}
	sc = withDays(sc, o.Days)
	file := o.File
	if file == "" {
		file = filepath.Join(cfg.DataDir, "bench-"+sc.Name+".db")
	}
	db, err := store.OpenMigrated(ctx, "sqlite:"+file, "")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := ensureDataset(ctx, db, v, cfg.Province, sc, o.Seed, stdout, file); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dash := dashboard.New(db, cfg.Province, log)
	dash.Hourly = append(dash.Hourly, dashboard.DeclarationSource{DB: db}, dashboard.CaseSource{DB: db})
	dash.Gauges = append(dash.Gauges, dashboard.QuarantineGauges{DB: db}, dashboard.BluezoneGauges{DB: db})
	dash.Places = dashboard.ExposureSource{DB: db}
	// The dataset ends at datasetNow (18:00 UTC = 01:00 local): "now" is the
	// busiest hour of its last full day, 09:40 local, so today has check-ins.
	now := time.Date(2021, 8, 10, 9, 40, 0, 0, dashboard.HCM)
	dash.Now = func() time.Time { return now }

	fmt.Fprintf(stdout, "bench dashboard: %s, scale %s, now %s\n", file, sc.Name, now.Format(time.RFC3339))
	if err := dash.Clear(ctx); err != nil { // count from scratch, as a new deployment does
		return err
	}
	t := time.Now()
	if err := dash.Backfill(ctx, 14); err != nil {
		return err
	}
	backfill := time.Since(t)
	t = time.Now()
	if err := dash.RefreshGauges(ctx); err != nil {
		return err
	}
	gauges := time.Since(t)
	hour, err := timeIt(5, func() error { return dash.RecountHours(ctx, now.Truncate(time.Hour), now) })
	if err != nil {
		return err
	}
	hourly, _ := dash.HourlyRows(ctx)
	rows, _ := checkin.CountBetween(ctx, db, now.Truncate(time.Hour), now)
	fmt.Fprintf(stdout, "counting: 14-day backfill %v (%d hourly rows); gauges %v; recount of the current hour (%d check-ins so far): %s\n",
		backfill.Round(time.Millisecond), hourly, gauges.Round(time.Millisecond), rows, hour)

	result := map[string]any{}
	province, _ := geo.Get(cfg.Province)
	district := geo.Children(cfg.Province)[0]
	commune := geo.Children(district.Code)[0]
	for _, c := range []struct {
		name   string
		u      geo.Unit
		sector string
	}{{"province", province, ""}, {"district", district, ""}, {"commune", commune, ""}, {"province, sector industry_trade", province, "industry_trade"}} {
		l, err := timeIt(o.N, func() error { _, err := dash.Compute(ctx, c.u, c.sector); return err })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "figures, uncached, %s (%s): %s\n", c.name, c.u.Name, l)
		result["compute_"+c.name+"_p95_ms"] = l.q(0.95)
	}

	// Through HTTP, as the browser asks: a real server on loopback, a token.
	users := auth.NewService(db, time.Hour)
	name := fmt.Sprintf("bench-dash-%d", time.Now().UnixNano())
	if _, err := users.CreateUser(ctx, auth.NewUser{Username: name, Password: "bench-dashboard-pw", Role: auth.ProvinceAdmin, Unit: cfg.Province}); err != nil {
		return err
	}
	defer users.DeleteUser(context.Background(), name)
	tok, err := users.CreateToken(ctx, name, time.Hour)
	if err != nil {
		return err
	}
	ops := &web.Ops{Dashboard: dash, Reports: &reports.Service{DB: db, Province: cfg.Province, Live: dash, Log: log}}
	outbox := &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{}, Log: log}
	srv := httptest.NewServer(web.New(web.Deps{Config: cfg, DB: db, Auth: users, People: people.NewService(db, v),
		Venues: &venue.Service{DB: db, Vault: v, Province: cfg.Province}, Outbox: outbox, Log: log, Ops: ops}))
	defer srv.Close()
	get := func(path string) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
	cached, err := timeIt(o.N, func() error { return get("/api/v1/dashboard") })
	if err != nil {
		return err
	}
	// After a refresh the caches are empty: the next request computes. The
	// refresh itself (a background job) is outside the timed part.
	afterRefresh := func(n int, path string) (latencies, error) {
		var out latencies
		for range n {
			dash.Invalidate()
			t := time.Now()
			if err := get(path); err != nil {
				return nil, err
			}
			out = append(out, float64(time.Since(t).Microseconds())/1000)
		}
		return out, nil
	}
	fresh, err := afterRefresh(o.N, "/api/v1/dashboard")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "GET /api/v1/dashboard (province), between refreshes: %s\n", cached)
	fmt.Fprintf(stdout, "GET /api/v1/dashboard (province), first request after each refresh: %s\n", fresh)
	page, err := afterRefresh(o.N/3, "/dashboard")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "GET /dashboard page (province), first request after each refresh: %s\n", page)
	t = time.Now()
	if _, err := dash.BuildPublic(ctx); err != nil {
		return err
	}
	build := time.Since(t)
	public, err := timeIt(o.N, func() error { return get("/api/v1/public/map") })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "public map: build %v; GET /api/v1/public/map served from memory: %s\n", build.Round(time.Millisecond), public)
	result["http_cached_p95_ms"], result["http_after_refresh_p95_ms"], result["page_after_refresh_p95_ms"] = cached.q(0.95), fresh.q(0.95), page.q(0.95)
	result["backfill_14d_s"], result["recount_hour_p50_ms"] = round2(backfill.Seconds()), hour.q(0.5)
	result["goal_ms"] = 50
	result["goal_met"] = fresh.q(0.95) < 50 && cached.q(0.95) < 50
	b, _ := json.Marshal(result)
	fmt.Fprintln(stdout, string(b))
	return nil
}
