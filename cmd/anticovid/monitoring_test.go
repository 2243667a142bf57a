package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"anticovid/internal/notify"
	"anticovid/internal/store"
	"anticovid/internal/vault"
)

// deploy/alerts.yml is valid for Prometheus (rulefmt, what `promtool check
// rules` runs), holds an alert for each thing a province must hear about,
// and every metric its rules and deploy/grafana-dashboard.json's panels
// name is in a live server's /metrics: a renamed metric fails here, not
// silently on the operations centre's wall.
func TestAlertsAndDashboard(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	metricNames := func(expr string) []string {
		t.Helper()
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		var names []string
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				names = append(names, vs.Name)
			}
			return nil
		})
		return names
	}
	used := map[string][]string{} // metric -> where

	groups, errs := rulefmt.ParseFile(filepath.Join("..", "..", "deploy", "alerts.yml"), false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("alerts.yml: %v", errs)
	}
	alerts := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s lacks a severity or a summary", r.Alert)
			}
			for _, m := range metricNames(r.Expr) {
				used[m] = append(used[m], "alert "+r.Alert)
			}
		}
	}
	for _, want := range []string{"AnticovidJobStuck", "AnticovidJobFailing", "AnticovidOutboxBacklog", "AnticovidDatabaseDown", "AnticovidHTTP5xx", "AnticovidReplicaLag"} {
		if !alerts[want] {
			t.Errorf("alerts.yml has no %s", want)
		}
	}

	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	for _, panel := range dash.Panels {
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", panel.Title)
		}
		for _, tg := range panel.Targets {
			for _, m := range metricNames(tg.Expr) {
				used[m] = append(used[m], "panel "+panel.Title)
			}
		}
	}

	// A live server with a message in its outbox, scraped until every
	// background job has run once.
	dir := t.TempDir()
	if out, err := cli(t, "", "migrate", "--data", dir); err != nil {
		t.Fatal(err, out)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Load("", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&notify.Outbox{DB: db, Vault: v}).Enqueue(ctx, notify.Message{Channel: notify.SMS, To: "0912345678", Body: "Thử nghiệm", DedupKey: "monitoring-test", Kind: notify.KindCampaign}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	maddr := freePort(t)
	_, base := startServer(t, dir, "--metrics-addr", maddr)
	if resp, err := http.Get(base + "/login"); err == nil {
		resp.Body.Close()
	}
	series := regexp.MustCompile(`(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]`)
	var missing []string
	var scraped string
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + maddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		scraped = string(b)
		have := map[string]bool{}
		for _, m := range series.FindAllStringSubmatch(scraped, -1) {
			have[m[1]] = true
		}
		missing = missing[:0]
		for m := range used {
			if !have[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 && strings.Contains(scraped, `anticovid_job_last_success_timestamp_seconds{job_name="data-key-reseal"}`) &&
			strings.Contains(scraped, `anticovid_job_runs_total{job_name="dashboard"}`) {
			break
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			for _, m := range missing {
				t.Errorf("%s (used by %s) is not in /metrics", m, strings.Join(used[m], ", "))
			}
			t.Fatalf("scrape:\n%s", scraped)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, want := range []string{`anticovid_db_up 1`, `anticovid_outbox_messages{channel="sms",status="queued"} 1`, `anticovid_job_failures_total{job_name="dashboard"} 0`} {
		if !strings.Contains(scraped, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	t.Logf("%d metrics named by the alerts and the dashboard, all in /metrics", len(used))
}
