package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"anticovid/internal/auth"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestAuditWords: every action and subject the page offers has its words in
// both languages.
func TestAuditWords(t *testing.T) {
	for _, kind := range []struct {
		name  string
		codes []string
	}{{"action", auditActions}, {"subject", auditSubjects}} {
		for _, c := range kind.codes {
			if _, ok := msg.Lookup("audit." + kind.name + "." + c); !ok {
				t.Errorf("no words for audit.%s.%s", kind.name, c)
			}
		}
	}
}

// TestAuditLogPage: the province reads who looked at whose data, narrowed
// by official, action, person (named by phone) and dates, a page at a time
// with nothing skipped or shown twice, and exports the same rows as CSV in
// Vietnamese words; nobody else reads the log.
func TestAuditLogPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		if code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911 000 001"}, "status": "F0", "sample_date": day(f.now, 1)}); code != 201 {
			t.Fatalf("case: %d %s", code, body)
		}
		// The commune tracer reads the worklist: Hạnh's row, audited.
		if code, body := e.do("GET", "/api/v1/worklist", "tracera", nil); code != 200 || !strings.Contains(body, "0911000002") {
			t.Fatalf("worklist: %d %s", code, body)
		}
		// 120 more entries by another official, one a formula.
		ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 9, Username: "benluc"})
		for i := range 120 {
			purpose := fmt.Sprintf("kiểm tra %d", i)
			if i == 7 {
				purpose = "=HYPERLINK(\"http://x\")"
			}
			if err := auth.Audit(ctx, db, auth.ActionExport, "campaign_recipients", []string{fmt.Sprint(1000 + i)}, purpose); err != nil {
				t.Fatal(err)
			}
		}
		admin := e.browser(t, "admin")
		// Paging: 50, 50, 20 of benluc's, newest first, none twice.
		seen := map[string]bool{}
		next := e.srv.URL + "/audit?user=benluc"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("paging does not end")
			}
			code, page := get(t, admin, next)
			if code != 200 || strings.Contains(page, "tracera") {
				t.Fatalf("page %d: %d %s", pages, code, page)
			}
			for i := range 120 {
				if id := fmt.Sprintf("#%d<", 1000+i); strings.Contains(page, id) {
					if seen[id] {
						t.Fatalf("%s on two pages", id)
					}
					seen[id] = true
				}
			}
			next = ""
			if _, rest, ok := strings.Cut(page, `<a class="button" href="/audit?`); ok {
				q, _, _ := strings.Cut(rest, `"`)
				next = e.srv.URL + "/audit?" + strings.ReplaceAll(q, "&amp;", "&")
			}
		}
		if len(seen) != 120 {
			t.Fatalf("%d of 120 entries seen across the pages", len(seen))
		}
		// Whose data: Hạnh by her phone finds the tracer's read; Khánh's
		// phone (not on tracera's worklist) does not; the words are Vietnamese.
		code, page := get(t, admin, e.srv.URL+"/audit?who=0911+000+002")
		if code != 200 || !strings.Contains(page, "tracera") || !strings.Contains(page, "Thông tin người dân") || !strings.Contains(page, "<td>Xem</td>") || strings.Contains(page, "benluc") {
			t.Fatalf("by person: %d %s", code, page)
		}
		if _, page = get(t, admin, e.srv.URL+"/audit?who=0911000003&user=tracera"); strings.Contains(page, "<td>Xem</td>") {
			t.Fatalf("Khánh's phone finds the tracer's read: %s", page)
		}
		// Looking up whose data was read is itself recorded, naming Hạnh.
		var looked int
		db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE username = 'admin' AND action = 'search' AND record_ids = $1`, fmt.Sprint(f.people["0911000002"])).Scan(&looked)
		if looked != 1 {
			t.Errorf("the audit page's look-up by phone recorded %d times", looked)
		}
		// Dates and action.
		today := f.now.In(hcm).Format("2006-01-02")
		if _, page = get(t, admin, e.srv.URL+"/audit?action=view&from="+today+"&to="+today); !strings.Contains(page, "tracera") || strings.Contains(page, "benluc") {
			t.Fatalf("today's views: %s", page)
		}
		if _, page = get(t, admin, e.srv.URL+"/audit?to=2020-01-01"); strings.Contains(page, "tracera") || strings.Contains(page, "benluc") {
			t.Fatalf("before 2020: %s", page)
		}
		// Bad input: a clear message in one language, the form kept.
		for q, want := range map[string]string{"from=31-12-2026": "from", "who=abc": "who", "before=-1": "before"} {
			code, page := get(t, admin, e.srv.URL+"/audit?"+q)
			if code != 400 || !strings.Contains(page, `class="error"`) || strings.Contains(page, " / ") {
				t.Errorf("%s (%s): %d %s", q, want, code, page)
			}
		}
		// CSV: the same filter, Vietnamese words, formulas neutralised.
		resp, err := admin.Get(e.srv.URL + "/audit.csv?user=benluc")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(string(raw), "\ufeff") {
			t.Fatalf("csv: %d %q", resp.StatusCode, resp.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
		if err != nil || len(rows) != 121 || rows[0][0] != "Thời điểm" || rows[0][3] != "Dữ liệu của ai" || rows[1][2] != "Xuất dữ liệu" || rows[1][3] != "Người nhận chiến dịch" {
			t.Fatalf("csv rows %d: %v %v", len(rows), err, rows[:min(2, len(rows))])
		}
		for _, r := range rows {
			if strings.HasPrefix(r[5], "=") {
				t.Fatalf("formula exported: %q", r[5])
			}
		}
		// Only the province's administrators.
		for _, path := range []string{"/audit", "/audit.csv", "/api/v1/audit"} {
			for _, u := range []string{"benluc", "tracera", "health"} {
				if code, _ := get(t, e.browser(t, u), e.srv.URL+path); code != http.StatusForbidden {
					t.Errorf("%s %s: %d", u, path, code)
				}
			}
		}
		// The API pages with next_before.
		code, body := e.do("GET", "/api/v1/audit?user=benluc&limit=100", "admin", nil)
		if code != 200 || !strings.Contains(body, `"next_before":`) || strings.Count(body, `"username":"benluc"`) != 100 {
			t.Fatalf("api: %d %.300s", code, body)
		}
	})
}

// TestBrowserAuditPhone: the log fits a 360-px phone even when an entry
// lists hundreds of records.
func TestBrowserAuditPhone(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ids := make([]string, 600)
	for i := range ids {
		ids[i] = fmt.Sprint(100000 + i)
	}
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 9, Username: "truyvet.benluc"})
	if err := auth.Audit(ctx, e.db, auth.ActionView, "person", ids, "Truy vết F1 của ca F0 số 12"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 360, 740)
	err := chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/audit"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "admin"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`table.audit`),
	)
	if err != nil {
		t.Fatal(err)
	}
	viewport(t, b, "audit-360")
	if w := evalJS(t, b, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Fatalf("audit page is %s px wide on a 360-px phone", w)
	}
	if body := text(t, b, "table.audit"); !strings.Contains(body, "Thông tin người dân") || !strings.Contains(body, "Truy vết F1") {
		t.Fatalf("entry: %s", body)
	}
}
