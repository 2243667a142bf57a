package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/errs"
	"anticovid/internal/sheet"
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

// errPanic is what a request that panicked answers (the panic is logged).
var errPanic = errors.New("handler panicked")

// observe gives every request an id, resolves its client address, sets the
// security headers, and logs and counts it.
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
		_, pattern := s.mux.Handler(r)
		s.secureHeaders(w.Header(), pattern)
		sw := &statusWriter{ResponseWriter: w}
		ctx := auth.WithRequestID(r.Context(), id)
		r = r.WithContext(context.WithValue(ctx, clientKey{}, s.proxies.client(r)))
		defer func() {
			// The route pattern, not the path: a path may hold a personal QR
			// token (/p/{token}); only a path no route matched is logged.
			route := slog.String("route", pattern)
			if pattern == "" {
				route = slog.String("path", r.URL.Path)
			}
			if v := recover(); v != nil {
				s.log.Error("panic", "panic", v, "request_id", id, route)
				if sw.status == 0 { // the styled page (JSON under /api/)
					s.fail(sw, r, errPanic)
				}
			}
			s.metrics.observe(pattern, sw.status, time.Since(start))
			s.log.Info("http", "request_id", id, "method", r.Method, route,
				"status", sw.status, "ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// scanPatterns are the pages that open the camera (staff scanning): only
// they may use it, and only they run qr-scanner's worker, which it builds
// from a blob: URL.
var scanPatterns = map[string]bool{"GET /venues/{id}/staff": true}

// secureHeaders sets the headers every answer carries. Cache-Control starts
// as no-store, since most answers hold personal data; the few public,
// cacheable ones (static files, the public map and feeds) set their own.
func (s *Server) secureHeaders(h http.Header, pattern string) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if scanPatterns[pattern] {
		h.Set("Content-Security-Policy", s.csp+"; worker-src 'self' blob:")
		h.Set("Permissions-Policy", "camera=(self), "+permissionsBase)
		return
	}
	h.Set("Content-Security-Policy", s.csp+"; worker-src 'self'")
	h.Set("Permissions-Policy", "camera=(), "+permissionsBase)
}

// permissionsBase is the Permissions-Policy besides the camera: venue
// registration asks for the position (register.js), nothing asks for more.
const permissionsBase = "geolocation=(self), microphone=(), payment=(), usb=(), serial=()"

// contentSecurityPolicy allows scripts and styles from this server only (no
// inline script, no inline style attribute), images also from the map tile
// server when one is configured, and no framing at all.
func contentSecurityPolicy(mapTiles string) string {
	img := "'self' data:"
	if u, err := url.Parse(mapTiles); err == nil && u.Host != "" {
		img += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// limitBody caps every request body.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.Config.MaxBody
		if l, ok := bodyLimits[r.URL.Path]; ok { // routes that take files
			limit = l
		}
		if s.Press != nil && pressUploads[r.URL.Path] { // the file, its form fields and the multipart framing
			limit = s.Press.MaxUploadSize() + 64<<10
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
// contact log of up to bluezone.MaxLogRows rows, the spreadsheet imports
// (whose content package sheet bounds further).
var bodyLimits = map[string]int64{
	"/api/v1/bluezone/contact-logs": bluezone.MaxLogBytes,
	"/api/v1/adoption/import":       sheet.MaxUpload,
	"/adoption/import":              sheet.MaxUpload,
	"/door-to-door/import":          sheet.MaxUpload,
	"/api/v1/case-imports":          sheet.MaxUpload,
	"/cases/import":                 sheet.MaxUpload,
	"/api/v1/venues/import":         sheet.MaxUpload,
	"/venues/import":                sheet.MaxUpload,
}

// authenticate resolves a bearer token or session cookie into the request's
// principal. A bad bearer token is refused outright; a stale cookie is dropped.
// /metrics is left to metricsPage: its bearer token is the scraper's, no user's.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
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

// limiter is a per-key token bucket (check-ins, registration codes and
// declarations per address; logins use auth.Lockout).
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

// take spends one token of key's bucket, reporting false when it was empty.
func (l *limiter) take(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.get(key).Allow()
}

// clientKey holds the request's client address in its context.
type clientKey struct{}

// clientIP is the address of the client that sent the request, as observe
// resolved it (proxies.client): every per-address limit and record uses it.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientKey{}).(string); ok {
		return ip
	}
	return peerHost(r.RemoteAddr)
}

// peerHost is the host of a connection's remote address.
func peerHost(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// proxies are the --trusted-proxies: the reverse proxies whose forwarding
// headers are believed. Without them every peer is a client.
type proxies []netip.Prefix

func (ps proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// client resolves the client's address. Headers count only when the direct
// peer is a trusted proxy; then the client is the right-most address of
// X-Forwarded-For that is not itself a trusted proxy (what each proxy
// appends is true, what the client wrote on the left is not), else of
// Forwarded's for=, else X-Real-IP. A value that does not parse stops the
// walk at the last proxy seen: a garbled header never picks the address.
func (ps proxies) client(r *http.Request) string {
	peer, ok := parseHostAddr(peerHost(r.RemoteAddr))
	if !ok {
		return peerHost(r.RemoteAddr)
	}
	if !ps.trusted(peer) {
		return peer.String()
	}
	chain := headerList(r.Header, "X-Forwarded-For")
	if len(chain) == 0 {
		chain = forwardedFor(r.Header)
	}
	if len(chain) == 0 {
		chain = headerList(r.Header, "X-Real-Ip")
	}
	client := peer
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parseHostAddr(chain[i])
		if !ok {
			break
		}
		client = a
		if !ps.trusted(a) {
			break
		}
	}
	return client.String()
}

// headerList splits every line of a comma-separated header into its items.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, line := range h.Values(name) {
		for item := range strings.SplitSeq(line, ",") {
			out = append(out, strings.TrimSpace(item))
		}
	}
	return out
}

// forwardedFor is the for= of each element of RFC 7239 Forwarded headers;
// an element without one (or an obfuscated one) is kept as "" so that the
// walk stops there.
func forwardedFor(h http.Header) []string {
	var out []string
	for _, elem := range headerList(h, "Forwarded") {
		v := ""
		for pair := range strings.SplitSeq(elem, ";") {
			if k, val, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && strings.EqualFold(k, "for") {
				v = strings.Trim(val, `"`)
			}
		}
		out = append(out, v)
	}
	return out
}

// parseHostAddr parses an address, with or without a port, brackets or an
// IPv6 zone; IPv4-mapped IPv6 becomes IPv4 so one client has one key.
func parseHostAddr(s string) (netip.Addr, bool) {
	if len(s) > 100 {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
