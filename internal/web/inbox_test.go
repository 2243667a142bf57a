package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// newPendingVenue has managera register a venue in commune 27991 and the
// inbox's job run: communea (and the officials over it) get a notice.
func newPendingVenue(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	if err := e.inbox.Watch(ctx); err != nil { // the counts before
		t.Fatal(err)
	}
	if code, body := e.do("POST", "/api/v1/venues", "managera", map[string]any{"name": "Quán cơm Bà Tư", "category": "restaurant", "commune_code": "27991",
		"address": "5 Nguyễn Hữu Thọ", "contact_name": "Bà Tư", "contact_phone": "0912345670"}); code != 201 {
		t.Fatalf("venue: %d %s", code, body)
	}
	if err := e.inbox.Watch(ctx); err != nil {
		t.Fatal(err)
	}
}

// getNoFollow fetches path with c without following redirects.
func getNoFollow(t *testing.T, c *http.Client, path string) (int, string, string) {
	t.Helper()
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cc.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// The bell counts the reader's unread notices on every page; opening a
// notice marks it read and leads to its work; another official's notice is
// 404; the API pages the list and marks read; a venue manager has no inbox.
func TestInboxHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		newPendingVenue(t, e)
		a, b := e.browser(t, "communea"), e.browser(t, "communeb")
		for _, path := range []string{"/", "/venues", "/inbox"} {
			if _, page, _ := getNoFollow(t, a, e.srv.URL+path); !strings.Contains(page, `<span class="bell-count">1</span>`) || !strings.Contains(page, `aria-label="Thông báo chưa đọc: 1"`) {
				t.Fatalf("communea's %s has no bell with 1", path)
			}
		}
		if _, page, _ := getNoFollow(t, b, e.srv.URL+"/"); !strings.Contains(page, `id="bell"`) || strings.Contains(page, `bell-count`) {
			t.Fatal("communeb's bell should show no count")
		}
		if _, page, _ := getNoFollow(t, e.browser(t, "managera"), e.srv.URL+"/"); strings.Contains(page, `id="bell"`) {
			t.Fatal("a venue manager sees the bell")
		}
		if code, _ := e.do("GET", "/api/v1/inbox", "managera", nil); code != http.StatusForbidden {
			t.Errorf("venue manager's inbox: %d", code)
		}

		code, body := e.do("GET", "/api/v1/inbox", "communea", nil)
		var got inboxAnswer
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil {
			t.Fatalf("inbox: %d %s", code, body)
		}
		if got.Unread != 1 || len(got.Notices) != 1 || got.Notices[0].Href != "/venues?status=pending" ||
			got.Notices[0].Text != "1 địa điểm mới chờ phê duyệt (đang chờ: 1)" || got.Prefs.SMS != "off" {
			t.Fatalf("inbox: %+v", got)
		}
		id := got.Notices[0].ID
		if _, page, _ := getNoFollow(t, a, e.srv.URL+"/inbox"); !strings.Contains(page, fmt.Sprintf(`<a href="/inbox/%d">`, id)) || !strings.Contains(page, "Chưa đọc") {
			t.Fatalf("inbox page: %s", page)
		}

		// Another commune's officer: not found, and nothing marked read.
		if code, _, _ := getNoFollow(t, b, fmt.Sprintf("%s/inbox/%d", e.srv.URL, id)); code != http.StatusNotFound {
			t.Errorf("communeb opened communea's notice: %d", code)
		}
		if code, body := e.do("POST", "/api/v1/inbox/read", "communeb", map[string]any{"ids": []int64{id}}); code != 200 || !strings.Contains(body, `"marked":0`) {
			t.Errorf("communeb marked communea's notice: %d %s", code, body)
		}
		// The owner opens it: read, and on to the pending venues.
		code, _, to := getNoFollow(t, a, fmt.Sprintf("%s/inbox/%d", e.srv.URL, id))
		if code != http.StatusSeeOther || to != "/venues?status=pending" {
			t.Fatalf("open: %d → %q", code, to)
		}
		if _, page, _ := getNoFollow(t, a, e.srv.URL+"/"); strings.Contains(page, "bell-count") {
			t.Error("bell still counts the opened notice")
		}

		// The district's officer marks theirs through the API; all at once with the form.
		_, body = e.do("GET", "/api/v1/inbox?limit=1", "benluc", nil)
		json.Unmarshal([]byte(body), &got)
		if len(got.Notices) != 1 {
			t.Fatalf("benluc's inbox: %s", body)
		}
		if code, body := e.do("POST", "/api/v1/inbox/read", "benluc", map[string]any{"ids": []int64{got.Notices[0].ID}}); code != 200 || body != "{\"marked\":1,\"unread\":0}\n" {
			t.Errorf("mark read: %d %q", code, body)
		}
		if code, body := e.do("POST", "/api/v1/inbox/read", "admin", map[string]any{"all": true}); code != 200 || !strings.Contains(body, `"unread":0`) {
			t.Errorf("mark all read: %d %s", code, body)
		}
		resp, err := e.browser(t, "health").PostForm(e.srv.URL+"/inbox/read", nil)
		if err != nil || resp.StatusCode != 200 || resp.Request.URL.Path != "/inbox" {
			t.Fatalf("mark all read form: %v %v", resp, err)
		}
		resp.Body.Close()
	})
}

// The account page offers the preferences; the form saves them (no
// JavaScript) and refuses a value not offered.
func TestInboxPreferencesForm(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	a := e.browser(t, "communea")
	if _, page, _ := getNoFollow(t, a, e.srv.URL+"/account"); !strings.Contains(page, `action="/inbox/settings"`) || !strings.Contains(page, "Bản tổng hợp hằng ngày") {
		t.Fatal("no preferences on the account page")
	}
	resp, err := a.PostForm(e.srv.URL+"/inbox/settings", url.Values{"sms": {"daily"}, "email": {"each"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/account" || !strings.Contains(string(page), "Đã lưu cách nhận thông báo.") ||
		!strings.Contains(string(page), `<option value="daily" selected>`) || !strings.Contains(string(page), `<option value="each" selected>`) {
		t.Fatalf("after saving: %s %s", resp.Request.URL, page)
	}
	resp, err = a.PostForm(e.srv.URL+"/inbox/settings", url.Values{"sms": {"hourly"}, "email": {"off"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown mode: %d", resp.StatusCode)
	}
	if _, body := e.do("GET", "/api/v1/inbox", "communea", nil); !strings.Contains(body, `"prefs":{"sms":"daily","email":"each"}`) {
		t.Errorf("prefs: %s", body)
	}
}

// TestBrowserInbox: on a 360-px phone a commune officer signs in, sees the
// bell's count, opens the inbox (which fits the screen) and follows the
// notice to the pending venues; the bell then counts nothing.
func TestBrowserInbox(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	newPendingVenue(t, e)
	ctx := newBrowser(t, 360, 740)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "communea"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitNotPresent(`input[name=password]`),
		chromedp.WaitVisible(`#bell .bell-count`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := text(t, ctx, "#bell .bell-count"); n != "1" {
		t.Fatalf("bell shows %q", n)
	}
	viewport(t, ctx, "inbox-bell-360")
	if err := chromedp.Do(ctx, chromedp.Click(`#bell`), chromedp.WaitVisible(`#notices`)); err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, "inbox-360")
	if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Fatalf("inbox is %s px wide on a 360-px phone", w)
	}
	if n := text(t, ctx, "#notices li"); !strings.Contains(n, "1 địa điểm mới chờ phê duyệt") {
		t.Fatalf("notice %q", n)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#notices a`), chromedp.WaitVisible(`table.list`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "Quán cơm Bà Tư") {
		t.Fatalf("pending venues: %s", body)
	}
	if evalJS(t, ctx, `String(document.querySelectorAll("#bell .bell-count").length)`) != "0" {
		t.Fatal("the bell still counts the followed notice")
	}
	viewport(t, ctx, "inbox-followed-360")
}
