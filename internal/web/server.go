// Package web serves the pages and the JSON API: routing, middleware (request
// ids, logs, metrics, body limits, authentication, cross-origin protection),
// Vietnamese-first templates and embedded static assets.
//
// The core files are server.go (Deps, New, route registration), middleware.go,
// render.go (templates and the reader's language), respond.go (JSON answers
// and errors) and forms.go (pieces several forms share). Every other file is
// one screen or feature, named after it, and registers its own routes in a
// routesX method at its top.
package web

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"golang.org/x/time/rate"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/config"
	"anticovid/internal/declaration"
	"anticovid/internal/doortodoor"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/inbox"
	"anticovid/internal/jobs"
	"anticovid/internal/meeting"
	"anticovid/internal/notify"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/press"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// Deps are the services the web layer serves.
type Deps struct {
	Config   *config.Config
	DB       *sqldb.DB
	Auth     *auth.Service
	People   *people.Service
	Venues   *venue.Service
	Checkins *checkin.Service
	Keys     *token.Keyring
	Outbox   *notify.Outbox
	Log      *slog.Logger
	// Bluetooth tracing (bluezone.go, exposure_notification.go, adoption.go):
	// nil services leave their routes out.
	Bluezone *bluezone.Service
	Exposure *exposure.Service
	Adoption *adoption.Service
	// Cases and tracing (cases.go and the tracing_*.go files).
	Cases *cases.Service
	// OTP sends and checks the phone codes of public venue registration
	// (venue_register.go).
	OTP *otp.Service

	// Health declarations (declaration.go, personal_qr.go,
	// declaration_worklist.go).
	Declarations *declaration.Service

	// Operations centre (ops.go): dashboard, public map, weekly
	// reports, cameras, campaigns; nil leaves their routes out.
	Ops *Ops

	// Online meetings (meetings.go); nil leaves their routes out.
	Meetings *meeting.Service

	// Communication and the press (press.go); nil leaves its routes out.
	Press *press.Service

	// Officials' inbox (inbox.go) and the header's bell; nil leaves both out.
	Inbox *inbox.Service
	// The door-to-door drive (doortodoor.go, doortodoor_volunteer.go);
	// nil leaves its routes out.
	DoorToDoor *doortodoor.Service

	// Monitoring (metrics_ops.go): the background jobs' figures and the
	// data-key rotation's progress; nil leaves their metrics out.
	Jobs     *jobs.Stats
	Rotation *vault.Rotation
}

// Server is the HTTP front of anticovid.
type Server struct {
	Deps
	log     *slog.Logger
	mux     *routeMux
	routes  []route // API routes, for the OpenAPI document
	pages   *pages
	metrics *metrics
	scans   *limiter // check-ins per client address
	// registerIP counts venue registration codes per client address: SMS
	// cost money and annoy.
	registerIP *limiter
	// declareIP counts public health declarations per client address; nil
	// when the check-in rate is unlimited.
	declareIP *limiter
	handler   http.Handler
	proxies   proxies // --trusted-proxies
	csp       string  // the Content-Security-Policy of every answer
	// draining is set on SIGTERM: /readyz answers 503 from then on, so a
	// balancer sends no new work while requests in flight finish.
	draining atomic.Bool
}

// routeMux is the ServeMux that remembers every pattern registered on it, so
// tests can walk the whole route table (headers on every answer).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// sessionCookie holds the browser session secret.
const sessionCookie = "anticovid_session"

// New builds the server and its routes.
func New(d Deps) *Server {
	s := &Server{Deps: d, log: d.Log, mux: &routeMux{ServeMux: http.NewServeMux()}, pages: loadPages(),
		proxies: d.Config.Proxies(), csp: contentSecurityPolicy(d.Config.MapTiles)}
	var counter checkinCounter
	if d.Checkins != nil {
		counter = d.Checkins
	}
	var outbox outboxStats
	if d.Outbox != nil {
		outbox = d.Outbox
	}
	var replica replicaStatus
	if d.DB != nil {
		replica = d.DB.Replica
	}
	s.metrics = newMetrics(counter, outbox, replica)
	if d.DB != nil {
		s.metrics.reg.MustRegister(&opsCollector{jobs: d.Jobs, db: d.DB, rotation: d.Rotation})
	}
	if d.Cases != nil && d.Cases.Engine != nil {
		d.Cases.Engine.OnTrace(s.metrics.trace)
	}
	s.scans = newLimiter(rate.Limit(d.Config.CheckinRate), int(4*d.Config.CheckinRate)+1)
	// Each feature registers its routes in its own file, next to its handlers.
	s.routesPlatform()
	s.routesOpenAPI()
	s.routesLogin()
	s.routesAccountLogin()
	s.routesAccount()
	s.routesHome()
	s.routesAudit()
	s.routesVenues()
	s.routesVenueRegistration()
	s.routesVenueImport()
	s.routesVenueNew()
	s.routesVenuePosters()
	s.routesCheckin()
	s.routesStaff()
	s.routesPhoneProof()
	s.routesHeldCheckins()
	s.routesActivity()
	s.routesDeclaration()
	s.routesPersonalQR()
	s.routesDeclarationWorklist()
	s.routesCases()
	s.routesGrants()
	s.routesCaseContacts()
	s.routesCaseImport()
	s.routesCaseChain()
	s.routesTracingWorklist()
	s.routesTracingHandoffs()
	s.routesTracingRules()
	s.routesDashboard()
	s.routesPublicMap()
	s.routesMapAreas()
	s.routesReports()
	s.routesCameras()
	s.routesCampaigns()
	s.routesBluezone()
	s.routesExposureNotification()
	s.routesAdoption()
	s.routesMessages()
	s.routesMeetings()
	s.routesInbox()
	s.routesPress()
	s.routesDoorToDoor()
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errs.ErrForbidden)
	}))
	// Answers are compressed for slow phone networks. Pages can hold a
	// secret beside text a visitor chose, so each compressed answer carries
	// random padding (BREACH: its length no longer tells a guess apart).
	gz, err := gzhttp.NewWrapper(gzhttp.RandomJitter(32, 0, false), gzhttp.ContentTypeFilter(compressible))
	if err != nil {
		panic(err) // only for invalid options
	}
	s.handler = s.Probes(gz(s.observe(s.limitBody(s.authenticate(csrf.Handler(s.mux))))))
	return s
}

// compressible is gzhttp's default filter, and also leaves alone the
// formats that are compressed already (QR PNGs, PDFs, XLSX): compressing
// them again costs CPU and saves nothing.
func compressible(ct string) bool {
	ct = strings.ToLower(ct)
	for _, done := range []string{"image/png", "image/gif", "image/webp", "application/pdf", "application/vnd.openxmlformats"} {
		if strings.HasPrefix(ct, done) {
			return false
		}
	}
	return gzhttp.DefaultContentTypeFilter(ct)
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routesPlatform serves what is not a screen: static assets, health,
// metrics (with --metrics-token), and the JSON 404 of unknown API routes.
func (s *Server) routesPlatform() {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A URL with the file's current hash (see assetURL) never changes
		// meaning, so a phone keeps it a year; others are checked hourly.
		if v := r.URL.Query().Get("v"); v != "" && v == assetHashes[strings.TrimPrefix(r.URL.Path, "/static/")] {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		}
		fileServer.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeFileFS(w, r, static, "favicon.ico")
	})
	// Every other path: the styled page in the reader's language (fail
	// answers /api/ paths in JSON).
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errs.ErrNotFound) })
	if s.Config.MetricsToken != "" { // else only on --metrics-addr, or nowhere
		s.mux.HandleFunc("GET /metrics", s.metricsPage)
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.apiFail(w, r, fmt.Errorf("no route %s %s: %w", r.Method, r.URL.Path, errs.ErrNotFound))
	})
}

// page registers an HTML route; errors render the error page.
func (s *Server) page(pattern string, needsAuth bool, h func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if needsAuth && auth.From(r.Context()) == nil {
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// Probes answers the health checks (GET or HEAD /healthz and /readyz)
// ahead of next: no session look-up, body limit or access log at info level,
// since balancers ask every few seconds; everything else goes to next. The
// plain-HTTP side of a TLS server answers them too, instead of redirecting.
func (s *Server) Probes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		var status int
		switch r.URL.Path {
		case "/healthz":
			status = s.healthz(w)
		case "/readyz":
			status = s.readyz(r.Context(), w)
		default:
			next.ServeHTTP(w, r)
			return
		}
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", status)
	})
}

// Drain makes /readyz answer 503 from now on (the server is shutting down).
func (s *Server) Drain() { s.draining.Store(true) }

// healthz says the process is alive and serving; it touches no database, so
// a database outage does not get a healthy server restarted.
func (s *Server) healthz(w http.ResponseWriter) int {
	return probeAnswer(w, http.StatusOK, "ok")
}

// readyz says whether this server should get traffic: not shutting down, the
// database answering within a second, every migration applied.
func (s *Server) readyz(ctx context.Context, w http.ResponseWriter) int {
	if s.draining.Load() {
		return probeAnswer(w, http.StatusServiceUnavailable, "shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := store.Current(ctx, s.DB); err != nil {
		s.log.Warn("not ready", "err", err)
		return probeAnswer(w, http.StatusServiceUnavailable, "database unavailable")
	}
	return probeAnswer(w, http.StatusOK, "ok")
}

func probeAnswer(w http.ResponseWriter, status int, text string) int {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeJSON(w, status, map[string]string{"status": text})
	return status
}
