package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"anticovid/internal/store/storetest"
)

// badShapes are values no whole-minute field accepts, as raw JSON.
var badShapes = []string{`-1`, `-100000`, `1000000000000`, `99999999999999999999999`, `1.5`, `"30"`, `"abc"`, `true`, `{}`, `[]`}

// TestRuleSettingsValidation: every bad shape of every field of the tracing
// rules is a 400 naming that field, and changes nothing; a partial body or
// form changes only what it names.
func TestRuleSettingsValidation(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	_, before := e.do("GET", "/api/v1/tracing/rules", "admin", nil)
	unchanged := func(what string) {
		t.Helper()
		if _, now := e.do("GET", "/api/v1/tracing/rules", "admin", nil); now != before {
			t.Fatalf("%s changed the rules:\n%s\n%s", what, before, now)
		}
	}
	fieldOf := func(body string) map[string]string {
		var doc struct {
			Error struct {
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(body), &doc)
		return doc.Error.Fields
	}
	fields := map[string]string{ // JSON body → the field the error names
		`{"min_overlap_minutes": %s}`:                         "min_overlap_minutes",
		`{"hour_window_minutes": %s}`:                         "hour_window_minutes",
		`{"stay_cap_minutes": %s}`:                            "stay_cap_minutes",
		`{"default_stay_minutes": {"market": %s}}`:            "default_stay_minutes.market",
		`{"min_overlap_minutes": 10, "stay_cap_minutes": %s}`: "stay_cap_minutes",
	}
	for tmpl, field := range fields {
		for _, v := range badShapes {
			body := strings.Replace(tmpl, "%s", v, 1)
			code, resp := e.do("PUT", "/api/v1/tracing/rules", "admin", body)
			if code != http.StatusBadRequest || !names(fieldOf(resp), field) {
				t.Errorf("%s: %d %s (want 400 naming %s)", body, code, resp, field)
			}
			unchanged(body)
		}
	}
	for body, field := range map[string]string{
		`{"within_hour": 1}`:                         "within_hour",
		`{"within_hour": "yes"}`:                     "within_hour",
		`{"min_overlap": 5}`:                         "min_overlap",
		`{"min_overlap_minutes": 5, "typo": 1}`:      "typo",
		`{"default_stay_minutes": {"zoo": 30}}`:      "default_stay_minutes.zoo",
		`{"default_stay_minutes": {"market": 0}}`:    "default_stay_minutes.market",
		`{"default_stay_minutes": {"market": 2881}}`: "default_stay_minutes.market",
		`{"default_stay_minutes": [30]}`:             "default_stay_minutes",
		`{"hour_window_minutes": 0}`:                 "hour_window_minutes",
		`{"stay_cap_minutes": 0}`:                    "stay_cap_minutes",
		`{"min_overlap_minutes": 1441}`:              "min_overlap_minutes",
		`[1]`:                                        "body",
		`{"min_overlap_minutes": 5} {}`:              "body",
		`not json`:                                   "body",
	} {
		code, resp := e.do("PUT", "/api/v1/tracing/rules", "admin", body)
		if code != http.StatusBadRequest || !names(fieldOf(resp), field) {
			t.Errorf("%s: %d %s (want 400 naming %s)", body, code, resp, field)
		}
		unchanged(body)
	}
	// A partial body changes what it names and nothing else.
	if code, resp := e.do("PUT", "/api/v1/tracing/rules", "admin", `{"stay_cap_minutes": 600}`); code != http.StatusOK ||
		!strings.Contains(resp, `"stay_cap_minutes":600`) || !strings.Contains(resp, `"min_overlap_minutes":15`) || !strings.Contains(resp, `"hour_window_minutes":60`) || !strings.Contains(resp, `"market":45`) {
		t.Fatalf("partial body: %d %s", code, resp)
	}
	_, before = e.do("GET", "/api/v1/tracing/rules", "admin", nil)

	// The form: bad values are named on the page, and nothing is saved.
	c := e.browser(t, "admin")
	post := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := c.PostForm(e.srv.URL+"/tracing/rules", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, key := range []string{"min_overlap_minutes", "hour_window_minutes", "stay_cap_minutes", "stay.market"} {
		for _, v := range []string{"-1", "0x10", "1000000000000", "99999999999999999999999", "1.5", "abc", "30 phút", " "} {
			if v == " " && key == "stay.market" {
				continue // empty: back to the category's own default stay, on purpose
			}
			code, page := post(url.Values{key: {v}})
			if code != http.StatusBadRequest || !strings.Contains(page, `class="field-error"`) {
				t.Errorf("form %s=%q: %d", key, v, code)
			}
			unchanged("form " + key + "=" + v)
		}
	}
	// A form that sends one field leaves the others as they were.
	if code, _ := post(url.Values{"min_overlap_minutes": {"20"}}); code != http.StatusOK {
		t.Fatalf("partial form: %d", code)
	}
	if _, now := e.do("GET", "/api/v1/tracing/rules", "admin", nil); !strings.Contains(now, `"min_overlap_minutes":20`) ||
		!strings.Contains(now, `"stay_cap_minutes":600`) || !strings.Contains(now, `"hour_window_minutes":60`) || !strings.Contains(now, `"market":45`) {
		t.Fatalf("partial form reset other fields: %s", now)
	}
}

// names reports whether an error names field, or the map holding it (a
// JSON type error inside a map names the map: default_stay_minutes).
func names(fields map[string]string, field string) bool {
	for k := range fields {
		if k == field || strings.HasPrefix(field, k+".") {
			return true
		}
	}
	return false
}

// TestReportEmailValidation: where a unit's reminders go changes only with
// a well-formed {"email"}; every other shape is a 400 naming the field and
// keeps the address.
func TestReportEmailValidation(t *testing.T) {
	oe := newOpsEnv(t, storetest.SQLite(t))
	const path = "/api/v1/report-units/commune:27991/email"
	if code, resp := oe.do("PUT", path, "admin", `{"email": "ubnd.benluc@longan.gov.vn"}`); code != http.StatusOK {
		t.Fatalf("set: %d %s", code, resp)
	}
	stored := func() string {
		var email string
		if err := oe.db.R.QueryRow("SELECT email FROM report_units WHERE unit_key = 'commune:27991'").Scan(&email); err != nil {
			t.Fatal(err)
		}
		return email
	}
	for body, field := range map[string]string{
		`{}`:                                    "email",
		`{"email": null}`:                       "email",
		`{"mail": "x@longan.gov.vn"}`:           "mail",
		`{"email": "x@longan.gov.vn", "cc": 1}`: "cc",
		`{"email": 5}`:                          "email",
		`{"email": ["x@longan.gov.vn"]}`:        "email",
		`{"email": true}`:                       "email",
		`{"email": "not an address"}`:           "email",
		`{"email": "Ban chỉ đạo <x@longan.gov.vn>"}`:                  "email",
		`{"email": "x@longan.gov.vn, y@longan.gov.vn"}`:               "email",
		`{"email": "x@longan.gov.vn\r\nBcc: y@evil.test"}`:            "email",
		`{"email": "` + strings.Repeat("a", 300) + `@longan.gov.vn"}`: "email",
		`"x@longan.gov.vn"`: "body",
	} {
		code, resp := oe.do("PUT", path, "admin", body)
		var doc struct {
			Error struct {
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(resp), &doc)
		if code != http.StatusBadRequest || doc.Error.Fields[field] == "" {
			t.Errorf("%s: %d %s (want 400 naming %s)", body, code, resp, field)
		}
		if got := stored(); got != "ubnd.benluc@longan.gov.vn" {
			t.Fatalf("%s changed the address to %q", body, got)
		}
	}
}
