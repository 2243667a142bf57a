package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestCaseListSearch: an officer finds a case by the person's name typed
// without diacritics, by phone, ID number or case number, narrows by area,
// status and sample dates, sorts and pages with the total shown; a search
// is audited, stays within the caller's jurisdiction, and bad input is a
// clear error beside the search box.
func TestCaseListSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		ids := map[string]int64{}
		for _, c := range []struct{ phone, status string }{{"0911000003", "F1"}, {"0911000004", "F2"}, {"0911000002", "F1"}, {"0911000001", "F0"}} {
			sample := day(f.now, 5)
			if c.status == "F0" {
				sample = day(f.now, 1)
			}
			code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": c.phone}, "status": c.status, "sample_date": sample})
			if code != 201 {
				t.Fatalf("case %s: %d %s", c.phone, code, body)
			}
			var got struct{ ID int64 }
			json.Unmarshal([]byte(body), &got)
			ids[c.phone] = got.ID
		}
		type listed struct {
			Cases []struct {
				ID int64 `json:"id"`
			} `json:"cases"`
			Total int `json:"total"`
		}
		list := func(user, query string) (int, listed, string) {
			t.Helper()
			code, body := e.do("GET", "/api/v1/cases?"+query, user, nil)
			var l listed
			json.Unmarshal([]byte(body), &l)
			return code, l, body
		}
		for _, tc := range []struct {
			user, query string
			want        []string // phones, in order
			total       int
		}{
			{"admin", "q=" + url.QueryEscape("tam"), []string{"0911000001"}, 1},
			{"admin", "q=" + url.QueryEscape("TRẦN thị"), []string{"0911000002"}, 1},
			{"admin", "q=" + url.QueryEscape("tran hanh"), []string{"0911000002"}, 1},
			{"admin", "q=" + url.QueryEscape("0911 000 003"), []string{"0911000003"}, 1},
			{"admin", "q=" + url.QueryEscape(fmt.Sprintf("#%d", ids["0911000004"])), []string{"0911000004"}, 1},
			{"admin", "q=0988888888", nil, 0},
			{"admin", "commune=27994", []string{"0911000004", "0911000003"}, 2},
			{"admin", "commune=803&status=F1", []string{"0911000002", "0911000003"}, 2},
			{"admin", "commune=794", nil, 0},
			{"admin", "from=" + day(f.now, 3), []string{"0911000001"}, 1},
			{"admin", "to=" + day(f.now, 3) + "&sort=oldest", []string{"0911000003", "0911000004", "0911000002"}, 3},
			{"admin", "sort=oldest&limit=1&offset=1", []string{"0911000004"}, 4},
			{"admin", "q=van&commune=27994", []string{"0911000003"}, 1},
			{"tracera", "q=khanh", nil, 0},
			{"tracera", "", []string{"0911000001", "0911000002"}, 2},
		} {
			code, l, body := list(tc.user, tc.query)
			var got []string
			for _, c := range l.Cases {
				for phone, id := range ids {
					if id == c.ID {
						got = append(got, phone)
					}
				}
			}
			if code != 200 || l.Total != tc.total || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("%s ?%s: %d total %d %v, want %d %v (%s)", tc.user, tc.query, code, l.Total, got, tc.total, tc.want, body)
			}
		}
		// A 9-digit old ID card (CMND) is not a case number; an offset that
		// would overflow is an empty page, never a crash.
		if code, l, body := list("admin", "q=123456789"); code != 200 || l.Total != 0 {
			t.Errorf("9 digits: %d %s", code, body)
		}
		for _, u := range []string{"/api/v1/cases?q=tam&offset=9223372036854775807", "/api/v1/worklist?q=hanh&offset=9223372036854775807",
			"/api/v1/declarations/worklist?q=hanh&offset=9223372036854775807", "/api/v1/cases?offset=9223372036854775807"} {
			if code, body := e.do("GET", u, "tracera", nil); code != 200 && code != 400 {
				t.Errorf("%s: %d %s", u, code, body)
			}
		}
		for query, field := range map[string]string{
			"q=" + strings.Repeat("a", 101): `"q"`, "q=" + url.QueryEscape("!!!"): `"q"`,
			"from=2026-13-45": `"from"`, "to=hôm-nay": `"to"`, "sort=random": `"sort"`,
		} {
			if code, _, body := list("admin", query); code != 400 || !strings.Contains(body, field) {
				t.Errorf("?%s: %d %s", query, code, body)
			}
		}
		if code, _, _ := list("admin", "commune=00004"); code != 403 {
			t.Errorf("another province's commune: %d", code)
		}
		// The worklist of contacts: the same search box, counted.
		for query, want := range map[string]string{"q=hanh": "0911000002", "q=" + url.QueryEscape("0911.000.003"): "0911000003",
			"commune=27994": "0911000003", "q=khanh&commune=27991": "", "q=tam": ""} {
			code, body := e.do("GET", "/api/v1/worklist?state=all&"+query, "admin", nil)
			var w struct {
				Contacts []struct {
					Phone string `json:"phone"`
				} `json:"contacts"`
				Total int `json:"total"`
			}
			json.Unmarshal([]byte(body), &w)
			if code != 200 || (want == "") != (w.Total == 0) || (want != "" && (len(w.Contacts) != 1 || w.Contacts[0].Phone != want || w.Total != 1)) {
				t.Errorf("worklist ?%s: %d %s", query, code, body)
			}
		}
		if code, body := e.do("GET", "/api/v1/worklist?q=%21%21", "admin", nil); code != 400 || !strings.Contains(body, `"q"`) {
			t.Errorf("worklist bad search: %d %s", code, body)
		}
		// The search is in the audit log with the person it showed.
		var n int
		if err := db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'search' AND subject = 'person' AND username = 'admin' AND record_ids = $1`,
			fmt.Sprint(f.people["0911000001"])).Scan(&n); err != nil || n == 0 {
			t.Errorf("search not audited: %v %d", err, n)
		}
		// The page: the same search, the total, and a bad one beside its box.
		c := e.browser(t, "benluc")
		code, page := get(t, c, e.srv.URL+"/cases?q="+url.QueryEscape("nguyen van tam"))
		if code != 200 || !strings.Contains(page, fmt.Sprintf(`href="/cases/%d"`, ids["0911000001"])) || !strings.Contains(page, "1 ca") ||
			strings.Contains(page, fmt.Sprintf(`href="/cases/%d"`, ids["0911000002"])) {
			t.Errorf("page search: %d", code)
		}
		if !strings.Contains(page, `<option value="27994"`) {
			t.Error("the district officer's page offers no commune filter")
		}
		if code, page = get(t, c, e.srv.URL+"/cases?from=31/02/2026"); code != 400 || !strings.Contains(page, "field-error") {
			t.Errorf("bad date on the page: %d", code)
		}
		if code, page = get(t, c, e.srv.URL+"/cases?limit=1"); code != 200 || !strings.Contains(page, "offset=1") {
			t.Errorf("pager: %d", code)
		}
	})
}

// worklistSearchEnv: Tâm is an F0 whose contacts are Hạnh (Bến Lức) and
// Khánh (Thạnh Lợi); searches counts admin's audited searches of people
// naming exactly records.
func worklistSearchEnv(t *testing.T, db *sqldb.DB) (*env, *traceFixture, func(records string) int) {
	e := newEnv(t, db)
	f := newTraceFixture(t, e)
	if code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 1)}); code != 201 {
		t.Fatalf("case: %d %s", code, body)
	}
	return e, f, func(records string) int {
		t.Helper()
		var n int
		if err := db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'search' AND subject = 'person' AND username = 'admin' AND record_ids = $1`, records).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// TestWorklistExportFollowsSearch: the worklist's export holds what the
// searched list shows (the same q, commune and state, on the API and from
// the page's form), and a search naming someone is audited as a search.
func TestWorklistExportFollowsSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e, f, searches := worklistSearchEnv(t, db)
		hanh := fmt.Sprint(f.people["0911000002"])
		// The unsearched list has both contacts; the search, Hạnh alone.
		for _, tc := range []struct {
			body      map[string]string
			want, not string
		}{
			{map[string]string{"state": "all"}, "Lê Văn Khánh", ""},
			{map[string]string{"state": "all", "q": "hanh"}, "Trần Thị Hạnh", "Lê Văn Khánh"},
			{map[string]string{"state": "all", "q": "0911.000.002"}, "Trần Thị Hạnh", "Lê Văn Khánh"},
			{map[string]string{"state": "all", "q": "hanh", "commune": "27994"}, "", "Trần Thị Hạnh"},
			{map[string]string{"state": "closed", "q": "hanh"}, "", "Trần Thị Hạnh"},
		} {
			before := searches(hanh)
			body := map[string]string{"format": "csv", "purpose": "Gửi danh sách cho trạm y tế"}
			for k, v := range tc.body {
				body[k] = v
			}
			code, csv := e.do("POST", "/api/v1/worklist/export", "admin", body)
			if code != 200 || tc.want != "" && !strings.Contains(csv, tc.want) || tc.not != "" && strings.Contains(csv, tc.not) {
				t.Errorf("export %v: %d, want %q and not %q: %s", tc.body, code, tc.want, tc.not, csv)
			}
			if after := searches(hanh); tc.body["q"] != "" && tc.want != "" && after != before+1 {
				t.Errorf("export %v: %d searches naming Hạnh audited, want 1", tc.body, after-before)
			}
		}
		// The page's export form carries the search, and its export is the
		// searched list.
		c := e.browser(t, "admin")
		if code, page := get(t, c, e.srv.URL+"/tracing/worklist?state=all&q=hanh"); code != 200 || !strings.Contains(page, `<input type="hidden" name="q" value="hanh">`) {
			t.Fatalf("worklist page: %d, export form without the search", code)
		}
		resp, err := c.PostForm(e.srv.URL+"/tracing/worklist/export", url.Values{"format": {"csv"}, "purpose": {"Gửi danh sách cho trạm y tế"},
			"state": {"all"}, "q": {"hanh"}})
		if err != nil {
			t.Fatal(err)
		}
		csv, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(csv), "Trần Thị Hạnh") || strings.Contains(string(csv), "Lê Văn Khánh") {
			t.Errorf("page export: %d %s", resp.StatusCode, csv)
		}
	})
}

// TestWorklistSearchAudited: every search of the worklist is audited as a
// search, also when it found nobody (on the API, the page and the export),
// as the case list's is; an unsearched list is not a search.
func TestWorklistSearchAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e, f, searches := worklistSearchEnv(t, db)
		c := e.browser(t, "admin")
		// A search by phone past its page shows nobody but counts the
		// contact: it is audited naming them.
		hanh := fmt.Sprint(f.people["0911000002"])
		before := searches(hanh)
		if code, body := e.do("GET", "/api/v1/worklist?state=all&q=0911000002&offset=50", "admin", nil); code != 200 || strings.Contains(body, "Hạnh") {
			t.Fatalf("a search past its page: %d %s", code, body)
		}
		if n := searches(hanh) - before; n != 1 {
			t.Errorf("a phone search past its page audited naming Hạnh %d times, want 1", n)
		}
		before = searches("")
		e.do("GET", "/api/v1/worklist?state=all&q=0988888888", "admin", nil)
		e.do("GET", "/api/v1/worklist?state=all&q=hanh&commune=27994", "admin", nil)
		get(t, c, e.srv.URL+"/tracing/worklist?state=all&q=yen")
		e.do("POST", "/api/v1/worklist/export", "admin", map[string]string{"format": "csv", "purpose": "Gửi danh sách cho trạm y tế", "q": "0988888888"})
		if n := searches("") - before; n != 4 {
			t.Errorf("%d empty worklist searches audited, want 4", n)
		}
		// An unsearched list is not a search.
		before = searches("")
		e.do("GET", "/api/v1/worklist?state=closed", "admin", nil)
		if n := searches("") - before; n != 0 {
			t.Errorf("an unsearched empty list audited as %d searches", n)
		}
	})
}

// TestWorklistExportCappedSearch: a name search over more contacts than a
// search opens names of would export an incomplete file without saying so:
// the export is refused with the reason, the page still shows its notice.
func TestWorklistExportCappedSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e, _, _ := worklistSearchEnv(t, db)
		// people.NameScan more contacts, copies of the first.
		if _, err := db.W.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
			INSERT INTO contacts (case_id, person_id, level, source, venue_id, overlap_seconds, first_shared, last_shared, evidence,
				commune_code, district_code, province_code, created_at, due_at)
			SELECT c.case_id, 1000000 + n.i, c.level, c.source, c.venue_id, c.overlap_seconds, c.first_shared, c.last_shared, c.evidence,
				c.commune_code, c.district_code, c.province_code, c.created_at, c.due_at
			FROM contacts c, n WHERE c.id = (SELECT min(id) FROM contacts)`); err != nil {
			t.Fatal(err)
		}
		code, body := e.do("POST", "/api/v1/worklist/export", "admin", map[string]string{"format": "csv", "purpose": "Gửi danh sách cho trạm y tế", "state": "all", "q": "hanh"})
		if code != 400 || !strings.Contains(body, `"q"`) {
			t.Fatalf("export of a capped name search: %d %s", code, body)
		}
		// By phone the search is exact, and exports.
		if code, csv := e.do("POST", "/api/v1/worklist/export", "admin", map[string]string{"format": "csv", "purpose": "Gửi danh sách cho trạm y tế", "state": "all", "q": "0911000002"}); code != 200 || !strings.Contains(csv, "Trần Thị Hạnh") {
			t.Fatalf("export by phone: %d %s", code, csv)
		}
		if _, page := get(t, e.browser(t, "admin"), e.srv.URL+"/tracing/worklist?state=all&q=hanh"); !strings.Contains(page, "5.000") {
			t.Fatal("the page does not say its name search was capped")
		}
	})
}
