package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestTaskList: each official's home page lists the work waiting in their
// jurisdiction, counted from the same rows their worklists show, overdue
// first, each a link to a page they may open; another unit's work never
// shows, and a venue manager's home has no officer work.
func TestTaskList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		oe := newOpsEnv(t, db)
		e := oe.env
		tasks := func(user string) map[string]task {
			t.Helper()
			code, body := e.do("GET", "/api/v1/tasks", user, nil)
			if code != 200 {
				t.Fatalf("%s tasks: %d %s", user, code, body)
			}
			var got struct{ Tasks []task }
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			out := map[string]task{}
			for _, tk := range got.Tasks {
				out[tk.Key] = tk
			}
			return out
		}
		want := func(user string, counts map[string]int) {
			t.Helper()
			got := tasks(user)
			for k, n := range counts {
				tk, ok := got[k]
				if n < 0 {
					if ok {
						t.Errorf("%s sees %s: %+v", user, k, tk)
					}
					continue
				}
				if !ok || tk.Count != n {
					t.Errorf("%s %s: %+v (shown %v), want %d", user, k, tk, ok, n)
				}
			}
		}
		// Nothing yet: the report is due, and the camera that does not answer is down.
		want("communea", map[string]int{"calls_overdue": 0, "declarations": 0, "held": 0, "venues_pending": 0, "cameras_down": 1, "report_pending": 1, "grants": -1})
		want("managera", map[string]int{"calls_due": -1, "venues_pending": -1, "held": -1, "report_pending": -1, "cameras_down": -1})

		// Work arrives: an F0 whose F1s live in two communes, a venue
		// registered by its manager, a flagged declaration, a held scan.
		f := newTraceFixture(t, e)
		if code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911 000 001"}, "status": "F0", "sample_date": day(f.now, 1)}); code != 201 {
			t.Fatalf("case: %d %s", code, body)
		}
		if code, body := e.do("POST", "/api/v1/venues", "managera", map[string]any{"name": "Quán cơm Bà Tư", "category": "restaurant", "commune_code": "27991",
			"address": "5 Nguyễn Hữu Thọ", "contact_name": "Bà Tư", "contact_phone": "0912345670"}); code != 201 {
			t.Fatalf("venue: %d %s", code, body)
		}
		if code, body := e.do("POST", "/api/v1/declarations", "", declBody("0912345671", "Phạm Thị Hoa", "27991", []string{"fever"}, false)); code != 201 {
			t.Fatalf("declaration: %d %s", code, body)
		}
		person := map[string]any{"name": "Lê Văn Cường", "phone": "0987654321", "birth_year": 1979, "commune_code": "00004"}
		code, body := e.do("POST", "/api/v1/checkins", "", map[string]any{"id": "tasks-0001", "direction": "in", "token": e.keys.Sign(e.venues["Chợ Hàng Da"], 1), "person": person})
		if code != 201 {
			t.Fatalf("check-in: %d %s", code, body)
		}
		var first struct {
			PersonToken string `json:"person_token"`
		}
		json.Unmarshal([]byte(body), &first)
		if code, body = e.do("POST", "/api/v1/checkins", "", map[string]any{"id": "tasks-0002", "direction": "in", "token": e.keys.Sign(e.venues["Chợ Bến Lức"], 1), "person_token": first.PersonToken}); code != 201 {
			t.Fatalf("held scan: %d %s", code, body)
		}
		want("communea", map[string]int{"calls_overdue": 0, "calls_due": 1, "declarations": 1, "held": 1, "venues_pending": 1, "cameras_down": 1})
		want("communeb", map[string]int{"calls_due": 1, "declarations": 0, "held": 0, "venues_pending": 0, "cameras_down": 0})
		want("tanan", map[string]int{"calls_due": 0, "held": 0, "venues_pending": 0, "cameras_down": 0, "report_pending": 1})
		want("benluc", map[string]int{"calls_due": 2, "held": 1, "venues_pending": 1, "cameras_down": 1, "declarations": -1})
		want("admin", map[string]int{"calls_due": 2, "held": 1, "venues_pending": 1, "grants": 0, "report_pending": -1})
		code, body = e.do("GET", "/api/v1/reports/"+oe.ops.Reports.CurrentWeek().String()+"/status", "admin", nil)
		var board struct{ Counts map[string]int }
		json.Unmarshal([]byte(body), &board)
		if n := tasks("admin")["reports_outstanding"].Count; code != 200 || n == 0 || n != board.Counts["pending"]+board.Counts["missing"] {
			t.Fatalf("outstanding reports %d, board %d %s", tasks("admin")["reports_outstanding"].Count, code, body)
		}

		// A day later nobody has called: the calls are overdue, and come first.
		e.cases.Now = func() time.Time { return time.Now().Add(30 * time.Hour) }
		t.Cleanup(func() { e.cases.Now = time.Now })
		want("communea", map[string]int{"calls_overdue": 1, "calls_due": 1})
		code, body = e.do("GET", "/api/v1/tasks", "communea", nil)
		if code != 200 || !strings.HasPrefix(body, `{"tasks":[{"key":"calls_overdue","count":1,"late":true`) {
			t.Fatalf("overdue not first: %s", body)
		}

		// The page: every task a link the officer may open, in Vietnamese.
		b := e.browser(t, "communea")
		code, page := get(t, b, e.srv.URL+"/")
		for _, w := range []string{"Việc cần làm", `<li class="late"><a href="/tracing/worklist?state=overdue"><span class="count">1</span> Cuộc gọi theo dõi F1 quá hạn`,
			`href="/venues?status=pending"><span class="count">1</span> Địa điểm chờ duyệt`, `<span class="count">!</span> Báo cáo tuần của đơn vị chưa nộp, hạn 13:00`} {
			if code != 200 || !strings.Contains(page, w) {
				t.Fatalf("home page lacks %q: %d %s", w, code, page)
			}
		}
		for _, user := range []string{"communea", "benluc", "admin", "tanan", "health"} {
			c := e.browser(t, user)
			for _, tk := range tasks(user) {
				if code, _ := get(t, c, e.srv.URL+tk.Href); code != http.StatusOK {
					t.Errorf("%s: task %s links to %s: %d", user, tk.Key, tk.Href, code)
				}
			}
		}
		_, page = get(t, e.browser(t, "managera"), e.srv.URL+"/")
		if !strings.Contains(page, "Không có việc nào đang chờ.") {
			t.Fatalf("manager's home: %s", page)
		}
	})
}

// TestBrowserTaskList: on a 360-px phone the commune officer signs in to the
// task list, which fits the screen, and one tap on a task opens its page.
func TestBrowserTaskList(t *testing.T) {
	oe := newOpsEnv(t, storetest.SQLite(t))
	e := oe.env
	if code, body := e.do("POST", "/api/v1/venues", "managera", map[string]any{"name": "Quán cơm Bà Tư", "category": "restaurant", "commune_code": "27991",
		"address": "5 Nguyễn Hữu Thọ", "contact_name": "Bà Tư", "contact_phone": "0912345670"}); code != 201 {
		t.Fatalf("venue: %d %s", code, body)
	}
	ctx := newBrowser(t, 360, 740)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "communea"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`ul.tasks`),
	)
	if err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, "home-tasks-360")
	if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Fatalf("task list is %s px wide on a 360-px phone", w)
	}
	if h := text(t, ctx, "h1"); h != "Việc cần làm" {
		t.Fatalf("heading %q", h)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`a[href="/venues?status=pending"]`), chromedp.WaitVisible(`table.list`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "Quán cơm Bà Tư") || strings.Contains(body, "Chợ Bến Lức") {
		t.Fatalf("pending venues: %s", body)
	}
}
