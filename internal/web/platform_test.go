package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"anticovid/internal/store/storetest"
)

func TestLoginSessionsAndCSRF(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(user, pw string) (int, string) {
		resp, err := noRedirect.PostForm(e.srv.URL+"/login", url.Values{"username": {user}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	// Wrong password: a clear message, no session.
	code, body := post("communea", "wrong password!")
	if code != 401 || !strings.Contains(body, "Sai tên đăng nhập hoặc mật khẩu") {
		t.Fatalf("wrong password: %d", code)
	}
	// Five failures for one username lock it out for a while, even with the right password.
	for range 5 {
		post("communeb", "wrong password!")
	}
	if code, body := post("communeb", testPassword); code != 429 || !strings.Contains(body, "quá nhiều lần") {
		t.Fatalf("after 5 failures: %d", code)
	}
	// An expired session is treated as logged out.
	sess, err := e.auth.NewSession(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	e.db.W.Exec("UPDATE sessions SET expires_at = $1 WHERE kind = 'session'", time.Now().Add(-time.Minute).Unix())
	req, _ := http.NewRequest("GET", e.srv.URL+"/venues", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sess})
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("expired session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A state-changing form posted from another site is refused, and changes nothing.
	c := e.browser(t, "admin")
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/v1/venues/1/status", strings.NewReader(`{"status":"closed"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var status string
	e.db.R.QueryRow("SELECT status FROM venues WHERE id = 1").Scan(&status)
	if resp.StatusCode != 403 || status == "closed" {
		t.Fatalf("cross-site POST: %d, venue %s", resp.StatusCode, status)
	}
	// The same request from the page itself goes through.
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/v1/venues/1/status", strings.NewReader(`{"status":"suspended"}`))
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if resp, err = c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("same-origin POST: %v %d", err, resp.StatusCode)
	}
	resp.Body.Close()
}

func TestObservabilityAndAudit(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/venues/"+itoa64(e.venues["Chợ Bến Lức"]), nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["communea"])
	req.Header.Set("X-Request-ID", "trace-me-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-ID") != "trace-me-123" {
		t.Fatalf("request id not echoed: %q", resp.Header.Get("X-Request-ID"))
	}
	// Viewing a venue's contact phone is audited: who, which record, why, which request.
	var who, records, purpose, reqID string
	err = e.db.R.QueryRow("SELECT username, record_ids, purpose, request_id FROM audit_log ORDER BY id DESC LIMIT 1").Scan(&who, &records, &purpose, &reqID)
	if err != nil || who != "communea" || records != itoa64(e.venues["Chợ Bến Lức"]) || purpose == "" || reqID != "trace-me-123" {
		t.Fatalf("audit: %v %s %s %s %s", err, who, records, purpose, reqID)
	}
	if code, body := e.do("GET", "/api/v1/audit", "admin", nil); code != 200 || !strings.Contains(body, `"username":"communea"`) {
		t.Fatalf("audit API: %d %s", code, body)
	}
	if code, body := e.do("GET", "/metrics", "", nil); code != 200 || !strings.Contains(body, `anticovid_http_requests_total{route="GET /api/v1/venues/{id}"`) {
		t.Fatalf("metrics: %d", code)
	}
	// The OpenAPI document is valid JSON listing the API routes of every module.
	code, body := e.do("GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil || doc.OpenAPI == "" {
		t.Fatalf("openapi: %d %v", code, err)
	}
	for _, p := range []string{"/api/v1/me", "/api/v1/units/{code}/children", "/api/v1/venues", "/api/v1/checkins", "/api/v1/venues/{id}/scans"} {
		if doc.Paths[p] == nil {
			t.Errorf("openapi lacks %s", p)
		}
	}
	if doc.Paths["/api/v1/checkins"]["post"] == nil {
		t.Error("openapi lacks POST /api/v1/checkins")
	}
}
