package web

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/errs"
)

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id and logs and counts it.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 64 {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(auth.WithRequestID(r.Context(), id))
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic", "panic", v, "request_id", id, "path", loggedPath(r.URL.Path))
				if sw.status == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			_, pattern := s.mux.Handler(r)
			s.metrics.observe(r.Method, pattern, sw.status, time.Since(start))
			s.log.Info("http", "request_id", id, "method", r.Method, "path", loggedPath(r.URL.Path),
				"status", sw.status, "ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// limitBody caps every request body.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.Config.MaxBody
		if l, ok := bodyLimits[r.URL.Path]; ok { // routes that take files
			limit = l
		}
		if r.ContentLength > limit {
			s.fail(w, r, errs.ErrTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// bodyLimits raises the request body limit for routes that take files: a
// contact log of up to bluezone.MaxLogRows rows, an adoption spreadsheet.
var bodyLimits = map[string]int64{
	"/api/v1/bluezone/contact-logs": bluezone.MaxLogBytes,
	"/api/v1/adoption/import":       20 << 20,
	"/adoption/import":              20 << 20,
}

// authenticate resolves a bearer token or session cookie into the request's
// principal. A bad bearer token is refused outright; a stale cookie is dropped.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			tok, ok := strings.CutPrefix(h, "Bearer ")
			p, err := s.Auth.Resolve(r.Context(), strings.TrimSpace(tok))
			if !ok || err != nil {
				s.apiFail(w, r, errs.ErrUnauthorized)
				return
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		} else if c, err := r.Cookie(sessionCookie); err == nil {
			if p, err := s.Auth.Resolve(r.Context(), c.Value); err == nil {
				r = r.WithContext(auth.WithPrincipal(r.Context(), p))
			} else {
				http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1})
			}
		}
		next.ServeHTTP(w, r)
	})
}

// metrics are the Prometheus collectors of the HTTP layer.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "anticovid_http_requests_total",
			Help: "HTTP requests by route pattern and status."}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "anticovid_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, pattern string, status int, d time.Duration) {
	if pattern == "" {
		pattern = "unmatched"
	}
	m.requests.WithLabelValues(pattern, httpStatus(status)).Inc()
	m.duration.WithLabelValues(pattern).Observe(d.Seconds())
}

func httpStatus(code int) string {
	if code == 0 {
		code = 200
	}
	return http.StatusText(code)
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// limiter is a per-key token bucket of failures (failed logins by address and
// by username): while a key's bucket is empty, attempts are refused unchecked.
type limiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	keys  map[string]*rate.Limiter
}

func newLimiter(every rate.Limit, burst int) *limiter {
	return &limiter{every: every, burst: burst, keys: map[string]*rate.Limiter{}}
}

func (l *limiter) get(key string) *rate.Limiter {
	if len(l.keys) > 100_000 {
		clear(l.keys) // a flood of distinct keys must not exhaust memory
	}
	lim, ok := l.keys[key]
	if !ok {
		lim = rate.NewLimiter(l.every, l.burst)
		l.keys[key] = lim
	}
	return lim
}

// blocked reports whether key has used up its failures.
func (l *limiter) blocked(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.get(key).Tokens() < 1
}

// take spends one token of key's bucket, reporting false when it was empty.
func (l *limiter) take(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.get(key).Allow()
}

// clientIP is the peer address (a proxy in front should be configured to set
// the real one; we do not trust X-Forwarded-For by default).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
