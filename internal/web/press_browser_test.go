package web

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
)

// On a 360×740 phone: the province admin uploads a leaflet with the form;
// a commune officer downloads it (the file arrives whole) and marks it
// broadcast; the admin sees which communes have not used it, drafts the
// week's press release, edits and approves it; anyone reads it on the
// public press page. Nothing is wider than the screen.
func TestBrowserPress(t *testing.T) {
	e := newPressEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 360, 740)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	login := func(user string) {
		t.Helper()
		run("login "+user, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, user), chromedp.SendKeys(`input[name=password]`, testPassword),
			chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`))
	}
	logout := func() {
		t.Helper()
		run("logout", chromedp.Navigate(e.srv.URL+"/"), inMenu(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=username]`))
	}
	fits := func(page string) {
		t.Helper()
		if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
			t.Errorf("%s is %s px wide on a 360 px screen", page, w)
		}
	}
	leaflet := filepath.Join(t.TempDir(), "Tờ rơi Bluezone.pdf")
	if err := os.WriteFile(leaflet, testPDF, 0o600); err != nil {
		t.Fatal(err)
	}

	login("admin")
	run("library", chromedp.Navigate(e.srv.URL+"/press"), chromedp.WaitVisible(`#upload`))
	viewport(t, ctx, "press-library-admin-phone")
	fits("the library")
	run("upload", chromedp.SendKeys(`#upload input[name=title]`, "Tờ rơi hướng dẫn cài đặt Bluezone"),
		chromedp.SetValue(`#upload select[name=kind]`, "leaflet"),
		chromedp.SendKeys(`#upload textarea[name=description]`, "In hai mặt, khổ A5"),
		chromedp.SetUploadFiles(`#upload input[name=file]`, []string{leaflet}),
		chromedp.Click(`#upload button[type=submit]`), chromedp.WaitVisible(`#coverage`))
	screenshot(t, ctx, "press-material-uploaded-phone")
	fits("the material page")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Đã tải lên tài liệu.") || !strings.Contains(body, "Tờ rơi hướng dẫn cài đặt Bluezone") ||
		!strings.Contains(body, "Tờ rơi Bluezone.pdf") || !strings.Contains(body, "192 xã chưa sử dụng") {
		t.Errorf("material page: %.600s", body)
	}
	materialURL := evalJS(t, ctx, `location.pathname`)
	logout()

	login("communea")
	dir := t.TempDir()
	done := make(chan string, 1)
	chromedp.ListenBrowser(ctx, func(ev any) {
		if d, ok := ev.(*browser.EventDownloadProgress); ok && d.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- d.GUID:
			default:
			}
		}
	})
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		t.Fatal(err)
	}
	run("library as a commune", chromedp.Navigate(e.srv.URL+"/press"), chromedp.WaitVisible(`#materials a`))
	viewport(t, ctx, "press-library-commune-phone")
	fits("the commune's library")
	run("open", chromedp.Click(`#materials li > a`), chromedp.WaitVisible(`#mark`), chromedp.Click(`#download`))
	select {
	case guid := <-done:
		got, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil || !bytes.Equal(got, testPDF) {
			t.Errorf("downloaded %q %v", got, err)
		}
	case <-time.After(15 * time.Second):
		t.Error("no download completed")
	}
	run("mark", chromedp.Click(`#mark input[value=broadcast]`), chromedp.SetValue(`#mark input[name=count]`, "3"),
		chromedp.Click(`#mark button[type=submit]`), chromedp.WaitVisible(`#marks table`))
	screenshot(t, ctx, "press-material-marked-phone")
	fits("the marked material")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Đã ghi nhận.") || !strings.Contains(body, "Đã phát") {
		t.Errorf("after marking: %.600s", body)
	}
	logout()

	login("admin")
	run("coverage", chromedp.Navigate(e.srv.URL+materialURL), chromedp.WaitVisible(`#unused`))
	if u := text(t, ctx, "#unused"); !strings.Contains(u, "191 xã chưa sử dụng") {
		t.Errorf("unused: %q", u)
	}
	run("releases", chromedp.Navigate(e.srv.URL+"/press/releases"), chromedp.WaitVisible(`#draft`), chromedp.Click(`#draft button`), chromedp.WaitVisible(`#edit`))
	viewport(t, ctx, "press-release-draft-phone")
	fits("the draft")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Bản nháp (chưa công khai)") || !strings.Contains(body, "Huyện Bến Lức") {
		t.Errorf("draft page: %.800s", body)
	}
	run("edit", chromedp.SetValue(`#edit input[name=title]`, "Long An: người dân tích cực quét mã QR và cài đặt Bluezone"),
		chromedp.Click(`#edit button[type=submit]`), chromedp.WaitVisible(`p.ok[role=status]`))
	asked := acceptDialogs(ctx)
	run("publish", chromedp.Click(`#publish button[type=submit]`), chromedp.WaitVisible(`#release`))
	select {
	case q := <-asked:
		if !strings.Contains(q, "Công bố") {
			t.Errorf("publishing asked %q", q)
		}
	default:
		t.Error("publishing did not ask first")
	}
	screenshot(t, ctx, "press-release-public-phone")
	fits("the public release")
	logout()

	run("public", chromedp.Navigate(e.srv.URL+"/bao-chi/"), chromedp.WaitVisible(`#releases a`))
	viewport(t, ctx, "press-public-index-phone")
	fits("the press page")
	run("read", chromedp.Click(`#releases li > a`), chromedp.WaitVisible(`#release`))
	body := text(t, ctx, "main")
	for _, want := range []string{"Long An: người dân tích cực quét mã QR và cài đặt Bluezone", "THÔNG CÁO BÁO CHÍ", "Ban Chỉ đạo tỉnh đề nghị", "Thành phố Tân An", "Tải bản PDF"} {
		if !strings.Contains(body, want) {
			t.Errorf("public release lacks %q: %.1000s", want, body)
		}
	}
}
