package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"anticovid/internal/config"
	"anticovid/internal/notify"
	"anticovid/internal/store/storetest"
	"anticovid/internal/tracing"
)

// withAuth is a transport that sends its Authorization header (none when "").
type withAuth string

func (a withAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if a != "" {
		r.Header.Set("Authorization", string(a))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// getMetrics asks for /metrics with an Authorization header (none when "").
func getMetrics(t *testing.T, url, authz string) (int, string) {
	t.Helper()
	return get(t, &http.Client{Transport: withAuth(authz)}, url+"/metrics")
}

// TestMetricsAccess: without a token /metrics is not on the public address
// at all; with one, only its bearer gets it; MetricsHandler (--metrics-addr)
// needs none.
func TestMetricsAccess(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	for _, authz := range []string{"", "Bearer ", "Bearer " + e.tokens["admin"], "Basic YWRtaW46YWRtaW4="} {
		if code, body := getMetrics(t, e.srv.URL, authz); code != http.StatusNotFound || strings.Contains(body, "anticovid_http") {
			t.Errorf("no token configured, %q: %d", authz, code)
		}
	}
	const token = "s3cret-metrics-token-0123456789"
	te := newEnvConfig(t, storetest.SQLite(t), func(c *config.Config) { c.MetricsToken = token })
	for _, authz := range []string{"", "Bearer", "Bearer ", "Bearer " + te.tokens["admin"], "Bearer " + token[:len(token)-1], "Bearer " + token + "x",
		"bearer " + token, "Basic " + token, token} {
		if code, body := getMetrics(t, te.srv.URL, authz); code != http.StatusUnauthorized || strings.Contains(body, "anticovid_http") {
			t.Errorf("token configured, %q: %d", authz, code)
		}
	}
	te.do("GET", "/api/v1/venues/"+itoa64(te.venues["Chợ Bến Lức"]), "communea", nil)
	te.do("GET", "/no-such-page", "", nil)
	tok := te.keys.Sign(te.venues["Chợ Bến Lức"], 1)
	person := map[string]any{"name": "Võ Thị Sáu", "phone": "0901234567", "birth_year": 1990, "commune_code": "27991"}
	for i, b := range []map[string]any{
		{"id": "eeeeeeee-0001", "token": tok, "direction": "in", "person": person},
		{"id": "eeeeeeee-0002", "token": tok, "direction": "out", "person": person},
		{"id": "eeeeeeee-0003", "token": tok + "x", "direction": "in", "person": person},
		{"id": "eeeeeeee-0004", "token": tok, "direction": "sideways", "person": person},
		{"id": "bad", "token": tok, "direction": "in", "person": person},
	} {
		if code, _ := te.do("POST", "/api/v1/checkins", "", b); (i < 2) != (code < 300) {
			t.Fatalf("check-in %d: %d", i, code)
		}
	}
	if _, err := te.outbox.Enqueue(t.Context(), notify.Message{Channel: notify.SMS, Kind: notify.KindF1, To: "0901234567", Body: "x", DedupKey: "metrics:1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := te.cases.Engine.Trace(t.Context(), 1, tracing.Window{From: time.Now().Add(-time.Hour), To: time.Now()}); err != nil {
		t.Fatal(err)
	}
	code, body := getMetrics(t, te.srv.URL, "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("right token: %d", code)
	}
	for _, want := range []string{`anticovid_http_requests_total{code="200",route="GET /api/v1/venues/{id}"}`, `code="404"`,
		"anticovid_checkins_total{outcome=\"accepted\"} 2\n", "anticovid_checkins_total{outcome=\"held\"} 0\n", "anticovid_checkins_total{outcome=\"refused\"} 3\n",
		`anticovid_outbox_messages{channel="sms",status="queued"} 1`, `anticovid_trace_duration_seconds_count{kind="f1"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `status="OK"`) || strings.Contains(body, "Not Found") || strings.Contains(body, "no-such-page") {
		t.Error("metrics label status as text or by raw path")
	}
	// The separate listener's handler serves without a token.
	srv := New(Deps{Config: &config.Config{Province: "80", MaxBody: 1 << 20}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("metrics handler: %d", rec.Code)
	}
	public := httptest.NewServer(contract(t, srv))
	defer public.Close()
	if code, _ := getMetrics(t, public.URL, ""); code != http.StatusNotFound {
		t.Fatalf("public address without a token: %d", code)
	}
}
