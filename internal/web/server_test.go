package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"anticovid/internal/store/storetest"
)

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
