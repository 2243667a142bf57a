package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// The probes: /healthz is alive whatever the database does; /readyz is 200
// only while the database answers, every migration is applied and the
// server is not draining. Bodies are short JSON with no personal data;
// probes reach no other handler and stay out of the info-level access log.
func TestProbes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var logs bytes.Buffer
		s := &Server{Deps: Deps{DB: db}, log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
		reached := 0
		h := s.Probes(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; w.WriteHeader(http.StatusTeapot) }))
		probe := func(method, path string) (int, string) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
			return w.Code, w.Body.String()
		}
		check := func(path string, want int, body string) {
			t.Helper()
			for _, m := range []string{"GET", "HEAD"} {
				code, got := probe(m, path)
				if code != want || (m == "GET" && strings.TrimSpace(got) != body) {
					t.Fatalf("%s %s: %d %s, want %d %s", m, path, code, got, want, body)
				}
			}
		}
		check("/healthz", 200, `{"status":"ok"}`)
		check("/readyz", 200, `{"status":"ok"}`)
		if reached != 0 || logs.Len() != 0 {
			t.Fatalf("probes reached the app (%d) or the info log: %s", reached, logs.String())
		}
		// Not probes: other methods and other paths go on.
		for _, r := range [][2]string{{"POST", "/healthz"}, {"DELETE", "/readyz"}, {"GET", "/healthz/x"}, {"GET", "/readyz.json"}, {"GET", "/"}} {
			if code, _ := probe(r[0], r[1]); code != http.StatusTeapot {
				t.Errorf("%s %s answered as a probe: %d", r[0], r[1], code)
			}
		}

		// A schema behind the binary is not ready.
		if _, err := db.W.Exec("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"); err != nil {
			t.Fatal(err)
		}
		check("/readyz", 503, `{"status":"database unavailable"}`)
		check("/healthz", 200, `{"status":"ok"}`)

		// Draining: 503 at once, alive all the same.
		s.Drain()
		check("/readyz", 503, `{"status":"shutting down"}`)
		check("/healthz", 200, `{"status":"ok"}`)
		s.draining.Store(false)

		// The database gone (the reader pool, which probes use, closed).
		db.R.Close()
		check("/readyz", 503, `{"status":"database unavailable"}`)
		check("/healthz", 200, `{"status":"ok"}`)
		if strings.Contains(logs.String(), "/healthz") || strings.Contains(logs.String(), "/readyz") {
			t.Fatalf("probes in the info log: %s", logs.String())
		}
	})
}
