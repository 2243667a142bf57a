package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"anticovid/internal/store/storetest"
)

// TestPublicResponsesHoldNoPersonalData requests, without logging in, every
// public GET route the OpenAPI document lists, the public pages and the map's
// assets, and fails if a name, phone or ID number of the test data appears.
func TestPublicResponsesHoldNoPersonalData(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	code, body := e.do("GET", "/api/v1/openapi.json", "", nil)
	if code != 200 {
		t.Fatal(code)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Security []any `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	paths := []string{"/map", "/login", "/healthz", "/static/ops/map.js", "/api/v1/public/map", "/api/v1/public/map.geojson"}
	for path, ops := range doc.Paths {
		if op, ok := ops["get"]; ok && len(op.Security) == 0 {
			paths = append(paths, param.ReplaceAllStringFunc(path, func(p string) string {
				switch p {
				case "{code}":
					return "27991"
				case "{id}":
					return fmt.Sprint(e.venues["Chợ Bến Lức"])
				}
				return "x"
			}))
		}
	}
	checked := 0
	for _, path := range paths {
		code, body := e.do("GET", path, "", nil)
		checked++
		for _, pd := range personal() {
			if strings.Contains(body, pd) {
				t.Errorf("GET %s (%d) shows personal data %q", path, code, pd)
			}
		}
		if strings.HasPrefix(path, "/api/v1/public/") && code != 200 {
			t.Errorf("GET %s: %d", path, code)
		}
	}
	if checked < 8 {
		t.Errorf("only %d public responses checked", checked)
	}
	// The map does hold what it should: cases, the exposed market, the zone.
	_, body = e.do("GET", "/api/v1/public/map", "", nil)
	for _, want := range []string{"Chợ Bến Lức", "Khu cách ly tập trung Trường Quân sự tỉnh", `"f0_14d":null`, `"f0_14d":0`} {
		if !strings.Contains(body, want) {
			t.Errorf("public map lacks %s", want)
		}
	}
}

func TestPublicMapETag(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	for _, path := range []string{"/api/v1/public/map", "/api/v1/public/map.geojson"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || etag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "public") {
			t.Fatalf("%s: %d etag %q cache %q", path, resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
		}
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("If-None-Match", etag)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified || len(b) != 0 {
			t.Errorf("%s with its ETag: %d, %d bytes", path, resp.StatusCode, len(b))
		}
	}
}
