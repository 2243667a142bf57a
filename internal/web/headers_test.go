package web

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/bluezone"
	"anticovid/internal/config"
	"anticovid/internal/doortodoor"
	"anticovid/internal/exposure"
	"anticovid/internal/msg"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/store/storetest"
	"anticovid/internal/venue"
)

// cacheable are the routes that may be cached: static files and the public,
// personal-data-free map and feeds. Every other answer must say no-store.
var cacheable = map[string]bool{
	"GET /static/":                   true,
	"GET /favicon.ico":               true,
	"GET /api/v1/public/map":         true,
	"GET /api/v1/public/map.geojson": true,
	"GET /api/v1/bluezone/feed":      true,
	"GET /api/v1/exposure-venues":    true,
	"GET /en/export/{region}/{file}": true,
	"GET /di-tung-nha/sw.js":         true, // public code, revalidated on every load (max-age=0)
}

// fullServer is a server with every optional service wired in, over the
// operations environment's data.
func fullServer(t testing.TB, configure func(*config.Config)) (*opsEnv, *Server) {
	t.Helper()
	db := storetest.SQLite(t)
	oe := newOpsEnv(t, db)
	ppl := people.NewService(db, oe.vault)
	codes := exposure.NewCodes(otp.New(db, oe.vault, nil), ppl)
	bz, err := bluezone.NewService(db, oe.vault, ppl, oe.outbox, codes, t.TempDir(), 21*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bz.Index.Close() })
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10, LogLevel: "error", CheckinRate: 1000}
	if configure != nil {
		configure(cfg)
	}
	s := New(Deps{Config: cfg, DB: db, Auth: oe.auth, People: ppl, Venues: &venue.Service{DB: db, Vault: oe.vault, Signer: oe.keys, BaseURL: "http://anticovid.test"},
		Checkins: oe.scans, Keys: oe.keys, Outbox: oe.outbox, OTP: oe.otp, Cases: oe.cases, Declarations: oe.decl, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Bluezone: bz, Exposure: exposure.NewService(db, oe.vault, codes), Adoption: adoption.NewService(db, bz), Ops: oe.ops,
		DoorToDoor: &doortodoor.Service{DB: db, Vault: oe.vault}})
	oe.srv.Close()
	oe.srv = httptest.NewServer(contract(t, s))
	t.Cleanup(oe.srv.Close)
	return oe, s
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// examplePath fills a pattern's wildcards with plausible values.
func examplePath(path string) string {
	path = strings.TrimSuffix(path, "{$}")
	if strings.HasSuffix(path, "/static/") {
		return path + "app.css"
	}
	return pathParam.ReplaceAllStringFunc(path, func(w string) string {
		switch strings.Trim(w, "{}.") {
		case "code", "unit":
			return "27991"
		case "week":
			return "2021-W30"
		case "file":
			return "index.txt"
		case "region":
			return "VN"
		case "channel":
			return "sms"
		case "token":
			return "not-a-token"
		}
		return "1"
	})
}

// TestSecurityHeadersOnEveryRoute walks the whole route table, as a signed-in
// administrator and anonymously: every answer carries the policy headers,
// and only the public routes may be cached.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	oe, s := fullServer(t, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if len(s.mux.patterns) < 100 {
		t.Fatalf("only %d routes recorded", len(s.mux.patterns))
	}
	for _, pattern := range s.mux.patterns {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "GET", pattern+"nothing-here"
		}
		for _, user := range []string{"admin", ""} {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			req, _ := http.NewRequestWithContext(ctx, method, oe.srv.URL+examplePath(path), strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if user != "" {
				req.Header.Set("Authorization", "Bearer "+oe.tokens[user])
			}
			resp, err := client.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s: %v", pattern, err)
			}
			var page []byte
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				page, _ = io.ReadAll(resp.Body)
			}
			resp.Body.Close() // a stream (server-sent events) ends here
			cancel()
			h := resp.Header
			where := pattern + " as " + map[bool]string{true: user, false: "anonymous"}[user != ""]
			if pair := bilingualPair(string(page)); pair != "" {
				t.Errorf("%s (%d): a page shows both languages: %q", where, resp.StatusCode, pair)
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s (%d): CSP %q lacks %q", where, resp.StatusCode, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("%s: CSP allows inline code: %q", where, csp)
			}
			camera := "camera=()"
			if scanPatterns[pattern] {
				camera = "camera=(self)"
			}
			if pp := h.Get("Permissions-Policy"); !strings.Contains(pp, camera) || !strings.Contains(pp, "microphone=()") {
				t.Errorf("%s: Permissions-Policy %q, want %s", where, pp, camera)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s: nosniff %q, frame options %q", where, h.Get("X-Content-Type-Options"), h.Get("X-Frame-Options"))
			}
			cc := h.Get("Cache-Control")
			switch {
			case cacheable[pattern] && resp.StatusCode == http.StatusOK:
				if !strings.Contains(cc, "max-age") {
					t.Errorf("%s: a public answer without explicit caching: %q", where, cc)
				}
			case cacheable[pattern]:
			case !strings.Contains(cc, "no-store"):
				t.Errorf("%s (%d): Cache-Control %q, want no-store", where, resp.StatusCode, cc)
			}
		}
	}
}

// bilingualPair returns the first message of the catalog that page shows in
// both languages at once ("Vietnamese / English", as the API says it), or
// "". A message with arguments is matched by its English text up to the
// first argument.
func bilingualPair(page string) string {
	if page == "" {
		return ""
	}
	page = html.UnescapeString(page)
	for _, k := range msg.Keys() {
		en := msg.T("en", k)
		if i := strings.Index(en, "%"); i >= 0 {
			en = en[:i]
		}
		if len(en) >= 6 && strings.Contains(page, " / "+en) {
			return k
		}
	}
	return ""
}
