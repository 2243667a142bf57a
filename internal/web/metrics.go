package web

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"anticovid/internal/errs"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metrics are the Prometheus collectors: HTTP requests by route pattern
// (never the raw path, so labels stay bounded), check-in outcomes, the
// outbox by channel and status, and trace durations.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	traces   *prometheus.HistogramVec
}

// checkinCounter is the check-in service's view monitoring reads
// (checkin.Service.Outcomes).
type checkinCounter interface {
	Outcomes() (accepted, held, refused int64)
}

// outboxStats is the outbox owner's view monitoring reads
// (notify.Outbox.Stats).
type outboxStats interface {
	Stats(ctx context.Context) ([]notify.ChannelCount, error)
}

// replicaStatus is the database's report on its read replica
// (sqldb.DB.Replica).
type replicaStatus func() (sqldb.ReplicaStatus, bool)

func newMetrics(checkins checkinCounter, outbox outboxStats, replica replicaStatus) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "anticovid_http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "anticovid_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"route"}),
		traces: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "anticovid_trace_duration_seconds",
			Help: "Contact tracing time: f1 (a case's contacts) and f2 (expansion jobs).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 16)}, []string{"kind"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.traces, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if checkins != nil {
		for i, outcome := range []string{"accepted", "held", "refused"} {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "anticovid_checkins_total",
				Help: "Check-ins this server took, by outcome: accepted, held for review, refused.", ConstLabels: prometheus.Labels{"outcome": outcome}},
				func() float64 {
					a, h, r := checkins.Outcomes()
					return float64([]int64{a, h, r}[i])
				}))
		}
	}
	if outbox != nil {
		m.reg.MustRegister(&outboxCollector{src: outbox})
	}
	if replica != nil {
		if _, ok := replica(); ok {
			gauge := func(name, help string, v func(sqldb.ReplicaStatus) float64) {
				m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
					st, _ := replica()
					return v(st)
				}))
			}
			gauge("anticovid_db_replica_lag_seconds", "How far the read replica's data is behind the primary, in seconds (-1: not answering).",
				func(st sqldb.ReplicaStatus) float64 { return st.Lag })
			gauge("anticovid_db_replica_up", "1 when the read replica answered its last check.",
				func(st sqldb.ReplicaStatus) float64 { return b2f(st.Up) })
			gauge("anticovid_db_replica_in_use", "1 when reads go to the replica; 0 when they fall back on the primary (down or lagging past --db-replica-max-lag).",
				func(st sqldb.ReplicaStatus) float64 { return b2f(st.InUse) })
		}
	}
	return m
}

func (m *metrics) observe(pattern string, status int, d time.Duration) {
	if pattern == "" {
		pattern = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(pattern).Observe(d.Seconds())
}

// trace is the tracing engine's Timer; kind is f1 or f2 (bounded).
func (m *metrics) trace(kind string, d time.Duration) {
	m.traces.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// outboxDesc describes the outbox gauge: channel (sms, ott, email) and
// status (queued, sending, sent, delivered, failed) are both closed sets.
var outboxDesc = prometheus.NewDesc("anticovid_outbox_messages", "Messages in the outbox by channel and status (queued, sent, delivered, failed).",
	[]string{"channel", "status"}, nil)

// outboxCollector asks the outbox for its counts at scrape time, at most
// every 30 seconds: a scrape never costs more than one grouped count.
type outboxCollector struct {
	src  outboxStats
	mu   sync.Mutex
	at   time.Time
	last []notify.ChannelCount
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > 30*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if list, err := c.src.Stats(ctx); err == nil {
			c.last, c.at = list, time.Now()
		}
	}
	for _, n := range c.last {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n.N), n.Channel, n.Status)
	}
}

// MetricsHandler serves /metrics without a token, for --metrics-addr: a
// listener the operator keeps off the public network.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// metricsPage serves /metrics on the public address to a scraper that
// presents ANTICOVID_METRICS_TOKEN as a bearer token; anyone else is
// refused (401) before anything is counted or read.
func (s *Server) metricsPage(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.Config.MetricsToken)) != 1 {
		s.apiFail(w, r, errs.ErrUnauthorized)
		return
	}
	s.metrics.handler().ServeHTTP(w, r)
}
