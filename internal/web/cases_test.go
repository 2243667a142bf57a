package web

import (
	"anticovid/internal/msg"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"anticovid/internal/cases"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/tracing"
)

// traceFixture adds people and visits to an env: an F0 (0911000001) and
// contacts at the market (27991) and the school (27994, another commune).
type traceFixture struct {
	e      *env
	people map[string]int64
	now    time.Time
}

func newTraceFixture(t *testing.T, e *env) *traceFixture {
	t.Helper()
	ctx := context.Background()
	ppl := people.NewService(e.db, e.vault)
	f := &traceFixture{e: e, people: map[string]int64{}, now: time.Now().UTC().Truncate(time.Second)}
	for _, p := range []people.Person{
		{Name: "Nguyễn Văn Tâm", Phone: "0911000001", BirthYear: 1980, Commune: "27991"},
		{Name: "Trần Thị Hạnh", Phone: "0911000002", BirthYear: 1991, Commune: "27991"},
		{Name: "Lê Văn Khánh", Phone: "0911000003", BirthYear: 1972, Commune: "27994"},
		{Name: "Võ Thị Yến", Phone: "0911000004", BirthYear: 1986, Commune: "27994"},
		{Name: "Bùi Văn Long", Phone: "0911000005", BirthYear: 1990, Commune: "00004"},
	} {
		id, err := ppl.FindOrCreate(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		f.people[p.Phone] = id
	}
	f.visit(t, "t-f0-market", "0911000001", "Chợ Bến Lức", 26, 60)
	f.visit(t, "t-hanh-market", "0911000002", "Chợ Bến Lức", 25.8, 45)
	f.visit(t, "t-f0-school", "0911000001", "Trường THCS Thạnh Lợi", 8, 120)
	f.visit(t, "t-khanh-school", "0911000003", "Trường THCS Thạnh Lợi", 7.5, -1)
	return f
}

func (f *traceFixture) visit(t *testing.T, id, phone, venue string, hoursAgo float64, minutes int) {
	t.Helper()
	in := f.now.Add(-time.Duration(hoursAgo * float64(time.Hour))).Unix()
	var out any
	if minutes >= 0 {
		out = in + int64(minutes)*60
	}
	if _, err := f.e.db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in, t_out) VALUES ($1, $2, $3, $4, $5)",
		id, f.e.venues[venue], f.people[phone], in, out); err != nil {
		t.Fatal(err)
	}
}

func day(t time.Time, daysAgo int) string {
	return t.In(hcm).AddDate(0, 0, -daysAgo).Format("2006-01-02")
}

// contactsJSON is the integrators' shape of GET /api/v1/cases/{id}/contacts.
type contactsJSON struct {
	Contacts []struct {
		PersonID       int64   `json:"person_id"`
		Phone          *string `json:"phone"`
		Level          string  `json:"level"`
		VenueID        int64   `json:"venue_id"`
		OverlapMinutes int64   `json:"overlap_minutes"`
		FirstShared    string  `json:"first_shared"`
		LastShared     string  `json:"last_shared"`
		Source         string  `json:"source"`
	} `json:"contacts"`
}

func TestCasesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911 000 001"}, "status": "F0", "sample_date": day(f.now, 1)})
		if code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
		var c struct {
			ID          int64  `json:"id"`
			Status      string `json:"status"`
			CommuneCode string `json:"commune_code"`
		}
		json.Unmarshal([]byte(body), &c)
		if c.ID == 0 || c.Status != "F0" || c.CommuneCode != "27991" {
			t.Fatalf("created %s", body)
		}
		// The admin sees both contacts with phones; the commune tracer sees
		// the phone of the contact in their commune only.
		for _, tc := range []struct {
			user   string
			phones map[string]bool // phone → shown
		}{
			{"admin", map[string]bool{"0911000002": true, "0911000003": true}},
			{"tracera", map[string]bool{"0911000002": true, "0911000003": false}},
		} {
			code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", c.ID), tc.user, nil)
			if code != 200 {
				t.Fatalf("%s contacts: %d %s", tc.user, code, body)
			}
			var got contactsJSON
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Contacts) != 2 {
				t.Fatalf("%s: %d contacts: %s", tc.user, len(got.Contacts), body)
			}
			for _, cj := range got.Contacts {
				var phone string
				for ph, id := range f.people {
					if id == cj.PersonID {
						phone = ph
					}
				}
				shown, ok := tc.phones[phone]
				if !ok || shown != (cj.Phone != nil) || (cj.Phone != nil && *cj.Phone != phone) {
					t.Errorf("%s: contact %s phone %v", tc.user, phone, cj.Phone)
				}
				if cj.Level != "F1" || cj.Source != "qr" || cj.VenueID == 0 || cj.OverlapMinutes <= 0 || cj.FirstShared == "" || cj.LastShared == "" {
					t.Errorf("%s: contact %+v", tc.user, cj)
				}
			}
			if strings.Contains(body, `"phone":null`) == tc.phones["0911000003"] {
				t.Errorf("%s: null phone expected exactly when hidden: %s", tc.user, body)
			}
		}
		// Hạnh shared 45 minutes at the market.
		_, body = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", c.ID), "admin", nil)
		if !strings.Contains(body, fmt.Sprintf(`"person_id":%d,"name":"Trần Thị Hạnh","phone":"0911000002","level":"F1","venue_id":%d,`, f.people["0911000002"], e.venues["Chợ Bến Lức"])) ||
			!strings.Contains(body, `"overlap_minutes":45`) {
			t.Errorf("Hạnh's contact: %s", body)
		}
		// A check-in recorded a second ago counts.
		f.visit(t, "t-f0-now", "0911000001", "Bệnh viện Đa khoa Bến Lức", 0.1, -1)
		f.visit(t, "t-yen-now", "0911000004", "Bệnh viện Đa khoa Bến Lức", 0, -1)
		_, body = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", c.ID), "admin", nil)
		if !strings.Contains(body, fmt.Sprintf(`"person_id":%d,"name":"Võ Thị Yến","phone":"0911000004"`, f.people["0911000004"])) {
			t.Errorf("the fresh check-in is missing: %s", body)
		}
		// A long list comes in pages; the total says how long.
		if _, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts?limit=1&offset=1", c.ID), "admin", nil); !strings.Contains(body, `"total":3`) || strings.Count(body, `"person_id"`) != 1 {
			t.Errorf("page of contacts: %s", body)
		}
		// Worklist, a call, an export.
		code, body = e.do("GET", "/api/v1/worklist?commune=27994", "admin", nil)
		var wl struct {
			Contacts []struct {
				ContactID int64  `json:"contact_id"`
				Name      string `json:"name"`
				Phone     string `json:"phone"`
			} `json:"contacts"`
		}
		json.Unmarshal([]byte(body), &wl)
		if code != 200 || len(wl.Contacts) != 2 || wl.Contacts[0].Phone == "" {
			t.Fatalf("worklist: %d %s", code, body)
		}
		if code, body := e.do("POST", fmt.Sprintf("/api/v1/contacts/%d/calls", wl.Contacts[0].ContactID), "tracera", map[string]string{"outcome": "reached"}); code != 403 {
			t.Errorf("call outside jurisdiction: %d %s", code, body)
		}
		code, body = e.do("POST", fmt.Sprintf("/api/v1/contacts/%d/calls", wl.Contacts[0].ContactID), "admin", map[string]string{"outcome": "quarantined_home", "note": "Dán thông báo"})
		if code != 200 || !strings.Contains(body, `"outcome":"quarantined_home"`) || !strings.Contains(body, `"calls":1`) {
			t.Errorf("call: %d %s", code, body)
		}
		code, body = e.do("POST", fmt.Sprintf("/api/v1/cases/%d/contacts/export", c.ID), "admin", map[string]string{"format": "xlsx", "purpose": "Gửi Trung tâm Y tế huyện"})
		if code != 200 || !strings.HasPrefix(body, "PK") {
			t.Fatalf("export: %d %.200s", code, body)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE action = 'export' AND username = 'admin' AND purpose = 'Gửi Trung tâm Y tế huyện'").Scan(&n)
		if n != 1 {
			t.Errorf("export audit rows: %d", n)
		}
		// Exposure venues are public and carry no personal data.
		code, body = e.do("GET", "/api/v1/exposure-venues", "", nil)
		if code != 200 || !strings.Contains(body, "Chợ Bến Lức") || strings.Contains(body, "0911") || strings.Contains(body, "Tâm") || strings.Contains(body, "case") {
			t.Errorf("public exposures: %d %s", code, body)
		}
		// F2 job and chain.
		if code, body := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/f2", c.ID), "admin", nil); code != 202 || !strings.Contains(body, `"status":"queued"`) {
			t.Errorf("F2 start: %d %s", code, body)
		}
		for i := 0; i < 100; i++ {
			_, body = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/f2", c.ID), "admin", nil)
			if strings.Contains(body, `"status":"done"`) {
				break
			}
			time.Sleep(30 * time.Millisecond)
		}
		if !strings.Contains(body, `"status":"done"`) {
			t.Errorf("F2 job: %s", body)
		}
		if code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/chain", c.ID), "admin", nil); code != 200 || !strings.Contains(body, fmt.Sprintf(`"root":%d`, c.ID)) {
			t.Errorf("chain: %d %s", code, body)
		}
		// Rules: tracers read them, the administrator changes them.
		if code, body := e.do("GET", "/api/v1/tracing/rules", "tracera", nil); code != 200 || !strings.Contains(body, `"min_overlap_minutes":15`) {
			t.Errorf("rules: %d %s", code, body)
		}
		if code, _ := e.do("PUT", "/api/v1/tracing/rules", "tracera", map[string]any{"min_overlap_minutes": 5}); code != 403 {
			t.Errorf("tracer changed the rules: %d", code)
		}
		if code, body := e.do("PUT", "/api/v1/tracing/rules", "admin", map[string]any{"min_overlap_minutes": 5, "within_hour": true}); code != 200 || !strings.Contains(body, `"within_hour":true`) {
			t.Errorf("admin rules: %d %s", code, body)
		}
		// The OpenAPI document lists the integrators' routes.
		_, body = e.do("GET", "/api/v1/openapi.json", "", nil)
		for _, p := range []string{`"/api/v1/cases"`, `"/api/v1/cases/{id}/contacts"`} {
			if !strings.Contains(body, p) {
				t.Errorf("openapi lacks %s", p)
			}
		}
	})
}

// TestCasesBadInput: each bad request is a clear error and saves nothing.
func TestCasesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		for _, tc := range []struct {
			name, user string
			body       any
			status     int
			fragments  []string
		}{
			{"unknown person", "admin", map[string]any{"person": map[string]string{"phone": "0988888888"}, "status": "F0", "sample_date": day(f.now, 1)}, 400,
				[]string{`"code":"invalid"`, `"person":"Không tìm thấy người này`}},
			{"onset months after sample", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 120), "onset_date": day(f.now, 1)}, 400,
				[]string{`"onset_date":"Ngày khởi phát sau ngày lấy mẫu 119 ngày`}},
			{"window longer than 30 days", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 45)}, 400,
				[]string{`"window":"Thời gian lây nhiễm dài`, `more than 30`}},
			{"out of jurisdiction", "tracera", map[string]any{"person": map[string]string{"phone": "0911000003"}, "status": "F0", "sample_date": day(f.now, 1)}, 403,
				[]string{`"code":"forbidden"`}},
			{"another province", "admin", map[string]any{"person": map[string]string{"phone": "0911000005"}, "status": "F0", "sample_date": day(f.now, 1)}, 403,
				[]string{`"forbidden"`}},
			{"venue manager", "managera", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 1)}, 403, nil},
			{"anonymous", "", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 1)}, 401, nil},
			{"malformed", "admin", `{"person": `, 400, []string{`"body"`}},
			{"no sample date", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0"}, 400, []string{`"sample_date"`}},
			{"unknown field type", "admin", map[string]any{"person": "0911000001", "status": "F0"}, 400, []string{`"body"`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := e.do("POST", "/api/v1/cases", tc.user, tc.body)
				if code != tc.status {
					t.Fatalf("status %d, want %d: %s", code, tc.status, body)
				}
				for _, f := range tc.fragments {
					if !strings.Contains(body, f) {
						t.Errorf("body lacks %s: %s", f, body)
					}
				}
			})
		}
		for _, table := range []string{"cases", "case_history", "contacts", "exposures"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%s holds %d rows after refused requests", table, n)
			}
		}
		if code, _ := e.do("GET", "/api/v1/cases/12345/contacts", "admin", nil); code != 404 {
			t.Errorf("unknown case: %d", code)
		}
	})
}

// TestCasesPages: the tracer's pages render, in Vietnamese, within jurisdiction.
func TestCasesPages(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	f := newTraceFixture(t, e)
	c := e.browser(t, "tracera")
	code, body := get(t, c, e.srv.URL+"/cases")
	if code != 200 || !strings.Contains(body, `href="/cases">Truy vết</a>`) || !strings.Contains(body, "Xác nhận ca bệnh") {
		t.Fatalf("cases page: %d", code)
	}
	// The form: an error is shown next to its field, then a good submit redirects.
	resp, err := c.PostForm(e.srv.URL+"/cases", url.Values{"phone": {"0977777777"}, "status": {"F0"}, "sample_date": {day(f.now, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "Không tìm thấy người này") || !strings.Contains(string(b), `value="0977777777"`) {
		t.Fatalf("bad form: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(e.srv.URL+"/cases", url.Values{"phone": {"0911000001"}, "status": {"F0"}, "sample_date": {day(f.now, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/cases/") {
		t.Fatalf("after submit: %d %s", resp.StatusCode, resp.Request.URL)
	}
	for _, want := range []string{"Nguyễn Văn Tâm", "Trần Thị Hạnh", "0911000002", "Ngoài địa bàn: không hiện thông tin", "Chợ Bến Lức", "Mở rộng F2", "Lịch sử trạng thái"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	if strings.Contains(page, "Lê Văn Khánh") || strings.Contains(page, "0911000003") {
		t.Error("case page shows a contact outside the tracer's commune")
	}
	caseURL := resp.Request.URL.String()
	for _, p := range []string{"/tracing/worklist", "/cases/import", "/tracing/rules", strings.TrimPrefix(caseURL, e.srv.URL) + "/chain"} {
		if code, body := get(t, c, e.srv.URL+p); code != 200 || !strings.Contains(body, "Truy vết") && !strings.Contains(body, "<svg") {
			t.Errorf("%s: %d", p, code)
		}
	}
	if _, body := get(t, c, caseURL+"/chain"); !strings.Contains(body, "<svg") || !strings.Contains(body, "F0") {
		t.Error("chain page lacks its drawing")
	}
	// Others: no nav link, and the page is refused.
	m := e.browser(t, "managera")
	if code, body := get(t, m, e.srv.URL+"/cases"); code != 403 || strings.Contains(body, `href="/cases"`) {
		t.Errorf("venue manager: %d", code)
	}
	if code, _ := get(t, m, caseURL); code != 403 {
		t.Errorf("venue manager on a case: %d", code)
	}
}

// TestBrowserTracer: a tracer confirms an F0 on a phone-sized screen, sees
// the contacts at once, records a call outcome and exports the XLSX.
func TestBrowserTracer(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	f := newTraceFixture(t, e)
	ctx := newBrowser(t, 412, 915)
	dir := t.TempDir()
	shots := os.Getenv("ANTICOVID_SCREENSHOTS")
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/cases"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "tracera"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`#confirm`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-cases")
	if h := text(t, ctx, "h1"); h != "Truy vết · Ca bệnh" {
		t.Fatalf("heading %q", h)
	}
	sample := f.now.In(hcm).AddDate(0, 0, -1)
	start := time.Now()
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#confirm input[name=phone]`, "0911000001"),
		chromedp.SetValue(`#confirm input[name=sample_date]`, sample.Format("2006-01-02")),
		chromedp.Click(`#confirm button[type=submit]`),
		chromedp.WaitVisible(`#contacts-table`),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("confirm → contacts shown in %v", time.Since(start).Round(time.Millisecond))
	screenshot(t, ctx, "tracer-case")
	contacts := text(t, ctx, "#contacts")
	if !strings.Contains(contacts, "Trần Thị Hạnh") || !strings.Contains(contacts, "0911000002") || !strings.Contains(contacts, "45 phút") ||
		!strings.Contains(contacts, "Ngoài địa bàn") || strings.Contains(contacts, "Lê Văn Khánh") {
		t.Fatalf("contacts section: %s", contacts)
	}
	// The worklist: record that Hạnh is quarantined at home.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/tracing/worklist"),
		chromedp.WaitVisible(`#worklist`),
		chromedp.SetValue(`#worklist form.call select[name=outcome]`, "quarantined_home"),
		chromedp.SendKeys(`#worklist form.call input[name=note]`, "Đã dán thông báo cách ly"),
		chromedp.Click(`#worklist form.call button`),
		chromedp.WaitVisible(`p.ok`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-worklist")
	if row := text(t, ctx, "#worklist tbody tr"); !strings.Contains(row, "Cách ly tại nhà (1)") {
		t.Fatalf("worklist row after the call: %s", row)
	}
	var outcome string
	e.db.R.QueryRow("SELECT outcome FROM contacts WHERE person_id = $1", f.people["0911000002"]).Scan(&outcome)
	if outcome != "quarantined_home" {
		t.Fatalf("stored outcome %q", outcome)
	}
	// Export the worklist as XLSX, with a purpose.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#export input[name=purpose]`, "Gửi Trạm Y tế xã để theo dõi"),
		chromedp.Click(`#export button`),
	)
	if err != nil {
		t.Fatal(err)
	}
	var file string
	for i := 0; i < 100 && file == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		m, _ := filepath.Glob(filepath.Join(dir, "*.xlsx"))
		if len(m) == 1 {
			file = m[0]
		}
	}
	if file == "" {
		t.Fatal("no XLSX downloaded")
	}
	data, _ := os.ReadFile(file)
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("Danh sách")
	x.Close()
	all := fmt.Sprint(rows)
	if !strings.Contains(all, "Trần Thị Hạnh") || !strings.Contains(all, "Cách ly tại nhà") || !strings.Contains(all, "Gửi Trạm Y tế xã để theo dõi") || strings.Contains(all, "Lê Văn Khánh") {
		t.Fatalf("XLSX rows: %s", all)
	}
	if filepath.Base(file) != "theo-doi-27991.xlsx" {
		t.Errorf("file name %s", filepath.Base(file))
	}
	if shots != "" {
		os.WriteFile(filepath.Join(shots, "tracer-export.xlsx"), data, 0o644)
	}
	// Hạnh tests positive: her case links to Tâm's, and the chain page draws both.
	code, body := e.do("POST", "/api/v1/cases", "tracera", map[string]any{"person": map[string]string{"phone": "0911000002"}, "status": "F0", "sample_date": day(f.now, 0)})
	if code != 201 || !strings.Contains(body, `"source_case_id":1`) {
		t.Fatalf("second case: %d %s", code, body)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/cases"), chromedp.Click(`table.list a`), chromedp.WaitVisible(`#contacts`),
		chromedp.Click(`a[href$="/chain"]`), chromedp.WaitVisible(`.chain svg`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-chain")
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".chain g.node").length + 10 * document.querySelectorAll(".chain line").length`))
	if err != nil || nodes != 12 {
		t.Fatalf("chain drawing: %d (nodes + 10 × edges), want 2 nodes and 1 edge: %v", nodes, err)
	}
	// The rules page: read-only for a tracer.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/tracing/rules"), chromedp.WaitVisible(`#rules`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-rules")
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#rules fieldset").disabled`)); err != nil || !disabled {
		t.Fatalf("a tracer may edit the rules form: %v %v", disabled, err)
	}
	if _, err := http.Get(e.srv.URL + "/healthz"); err != nil {
		t.Fatal(err)
	}
}

// TestCasesMessages: every text of the tracing pages has a Vietnamese and
// an English message, including the keys built from statuses and outcomes.
func TestCasesMessages(t *testing.T) {
	re := regexp.MustCompile(`T "([a-z_.0-9]+)"`)
	var keys []string
	for _, pattern := range []string{"templates/cases*.html", "templates/tracing*.html", "templates/chain.html"} {
		names, _ := fs.Glob(templateFS, pattern)
		for _, n := range names {
			b, _ := templateFS.ReadFile(n)
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				keys = append(keys, m[1])
			}
		}
	}
	for _, s := range cases.Statuses {
		keys = append(keys, "case."+s)
	}
	for _, o := range append(cases.Outcomes, "", "confirmed_f0") {
		keys = append(keys, "outcome."+o)
	}
	for _, j := range []string{tracing.JobQueued, tracing.JobRunning, tracing.JobDone, tracing.JobFailed} {
		keys = append(keys, "job."+j)
	}
	for _, r := range []string{cases.RowNew, cases.RowExisting, cases.RowDuplicate, cases.RowAlready, cases.RowPossible, cases.RowInvalid, "created"} {
		keys = append(keys, "row."+r)
	}
	for _, k := range []string{"work.open", "work.overdue", "work.closed", "work.all", "cases.isolation.home", "cases.isolation.facility"} {
		keys = append(keys, k)
	}
	if len(keys) < 100 {
		t.Fatalf("only %d keys found: the templates moved?", len(keys))
	}
	for _, k := range keys {
		m, ok := msg.Lookup(k)
		if !ok || m[0] == "" || m[1] == "" {
			t.Errorf("message %q missing or empty", k)
		}
	}
}
