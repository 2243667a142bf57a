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
	"time"

	"golang.org/x/time/rate"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/config"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/meeting"
	"anticovid/internal/notify"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/token"
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
}

// Server is the HTTP front of anticovid.
type Server struct {
	Deps
	log       *slog.Logger
	mux       *http.ServeMux
	routes    []route // API routes, for the OpenAPI document
	pages     *pages
	metrics   *metrics
	loginIP   *limiter // failed logins per client address
	loginUser *limiter // failed logins per username
	scans     *limiter // check-ins per client address
	// registerIP counts venue registration codes per client address: SMS
	// cost money and annoy.
	registerIP *limiter
	// declareIP counts public health declarations per client address; nil
	// when the check-in rate is unlimited.
	declareIP *limiter
	handler   http.Handler
}

// route is one API route as the OpenAPI document lists it.
type route struct {
	Method, Path, Summary string
	Auth                  bool
}

// sessionCookie holds the browser session secret.
const sessionCookie = "anticovid_session"

// New builds the server and its routes.
func New(d Deps) *Server {
	s := &Server{Deps: d, log: d.Log, mux: http.NewServeMux(), pages: loadPages(),
		metrics: newMetrics(),
		loginIP: newLimiter(rate.Every(3*time.Second), 20), loginUser: newLimiter(rate.Every(12*time.Second), 5)}
	s.scans = newLimiter(rate.Limit(d.Config.CheckinRate), int(4*d.Config.CheckinRate)+1)
	// Each feature registers its routes in its own file, next to its handlers.
	s.routesPlatform()
	s.routesOpenAPI()
	s.routesLogin()
	s.routesHome()
	s.routesAudit()
	s.routesVenues()
	s.routesVenueRegistration()
	s.routesVenueImport()
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
	s.routesCaseContacts()
	s.routesCaseImport()
	s.routesCaseChain()
	s.routesTracingWorklist()
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
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errs.ErrForbidden)
	}))
	s.handler = s.observe(s.limitBody(s.authenticate(csrf.Handler(s.mux))))
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routesPlatform serves what is not a screen: static assets, health,
// metrics, and the JSON 404 of unknown API routes.
func (s *Server) routesPlatform() {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.apiFail(w, r, fmt.Errorf("no route %s %s: %w", r.Method, r.URL.Path, errs.ErrNotFound))
	})
}

// api registers a JSON API route and records it for the OpenAPI document.
func (s *Server) api(method, path, summary string, needsAuth bool, h func(w http.ResponseWriter, r *http.Request) error) {
	s.routes = append(s.routes, route{method, path, summary, needsAuth})
	s.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		if needsAuth && auth.From(r.Context()) == nil {
			s.apiFail(w, r, errs.ErrUnauthorized)
			return
		}
		if err := h(w, r); err != nil {
			s.apiFail(w, r, err)
		}
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

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.R.PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "down", "database": s.DB.Engine})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": s.DB.Engine})
}
