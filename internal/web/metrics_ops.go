package web

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"anticovid/internal/jobs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/vault"
)

// Operations metrics (deploy/alerts.yml and deploy/grafana-dashboard.json
// use them): each background job's runs on this server, the database's
// reachability and its replicas' lag, and a data-key rotation's progress.
var (
	jobRunsDesc = prometheus.NewDesc("anticovid_job_runs_total",
		"Runs of each background job on this server (a leased job runs on its lease holder only).", []string{"job_name"}, nil)
	jobFailuresDesc = prometheus.NewDesc("anticovid_job_failures_total",
		"Runs of each background job on this server that ended in an error.", []string{"job_name"}, nil)
	jobSuccessDesc = prometheus.NewDesc("anticovid_job_last_success_timestamp_seconds",
		"When each background job last succeeded on this server (Unix seconds); take the max across servers.", []string{"job_name"}, nil)
	jobIntervalDesc = prometheus.NewDesc("anticovid_job_interval_seconds",
		"How often each background job is meant to run.", []string{"job_name"}, nil)
	dbUpDesc = prometheus.NewDesc("anticovid_db_up",
		"1 when the database answered a ping within a second at scrape time, else 0.", nil, nil)
	standbyLagDesc = prometheus.NewDesc("anticovid_db_standby_lag_seconds",
		"The largest replay lag of the PostgreSQL primary's streaming standbys, as the primary sees them (0 with none, and on SQLite).", nil, nil)
	resealedDesc = prometheus.NewDesc("anticovid_datakey_resealed_total",
		"Sealed values the data-key re-seal job moved to the current key, by table.", []string{"table"}, nil)
	pendingDesc = prometheus.NewDesc("anticovid_datakey_reseal_pending_tables",
		"Tables the data-key re-seal job has still to finish (0 when no rotation is under way).", nil, nil)
)

// opsCollector reads the figures at scrape time; the database ones with a
// short deadline, so a database outage slows no scrape beyond a second.
type opsCollector struct {
	jobs     *jobs.Stats
	db       *sqldb.DB
	rotation *vault.Rotation
}

func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobRunsDesc, jobFailuresDesc, jobSuccessDesc, jobIntervalDesc, dbUpDesc, standbyLagDesc, resealedDesc, pendingDesc} {
		ch <- d
	}
}

func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.jobs.Snapshot() {
		ch <- prometheus.MustNewConstMetric(jobRunsDesc, prometheus.CounterValue, float64(st.Runs), st.Name)
		ch <- prometheus.MustNewConstMetric(jobFailuresDesc, prometheus.CounterValue, float64(st.Failures), st.Name)
		ch <- prometheus.MustNewConstMetric(jobIntervalDesc, prometheus.GaugeValue, st.Interval.Seconds(), st.Name)
		if !st.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(jobSuccessDesc, prometheus.GaugeValue, float64(st.LastSuccess.UnixMilli())/1000, st.Name)
		}
	}
	if c.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	up := 0.0
	if c.db.R.PingContext(ctx) == nil {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, up)
	if up == 0 {
		return
	}
	if lag, err := store.ReplicaLag(ctx, c.db); err == nil {
		ch <- prometheus.MustNewConstMetric(standbyLagDesc, prometheus.GaugeValue, lag)
	}
	if c.rotation == nil {
		return
	}
	ps, err := c.rotation.Progress(ctx)
	if err != nil {
		return
	}
	pending := 0
	for _, p := range ps { // toward the current key: the last rotation's totals once it is over
		ch <- prometheus.MustNewConstMetric(resealedDesc, prometheus.CounterValue, float64(p.Resealed), p.Name)
		if !p.Done && c.rotation.Vault.Rotating() {
			pending++
		}
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
}
