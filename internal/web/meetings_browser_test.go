package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
)

// On a 360×740 phone the province admin schedules a meeting with the form
// (all districts and one commune), lands on its page, and an invited
// commune official sees it under "my meetings" with a join button; nothing
// is wider than the screen.
func TestBrowserMeetings(t *testing.T) {
	e := newMeetingEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 360, 740)
	login := func(user string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, user), chromedp.SendKeys(`input[name=password]`, testPassword),
			chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`)); err != nil {
			t.Fatal(err)
		}
	}
	fits := func(page string) {
		t.Helper()
		if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
			t.Errorf("%s is %s px wide on a 360 px screen", page, w)
		}
	}
	login("admin")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/meetings"), chromedp.WaitVisible(`#schedule`)); err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, "meetings-list-phone")
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(`#schedule`), chromedp.SendKeys(`#schedule input[name=title]`, "Họp Ban Chỉ đạo tỉnh về quét mã QR"),
		chromedp.SendKeys(`#schedule textarea[name=agenda]`, "1. Đánh giá tuần 32\n2. Kế hoạch tuần 33"),
		chromedp.Click(`details.mt-district summary`), chromedp.Click(`input[name=communes][value="27685"]`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "meetings-schedule-phone")
	fits("the schedule form")
	if body := text(t, ctx, "#schedule"); !strings.Contains(body, "Lên lịch họp Ban Chỉ đạo") || !strings.Contains(body, "Ban Chỉ đạo tất cả các huyện") {
		t.Errorf("form: %.400s", body)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#schedule button[type=submit]`), chromedp.WaitVisible(`#attendance`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "meetings-page-chair-phone")
	fits("the meeting page")
	body := text(t, ctx, "main")
	for _, want := range []string{"Đã lên lịch họp", "Họp Ban Chỉ đạo tỉnh về quét mã QR", "Tỉnh Long An", "Huyện Bến Lức", "Phường 5", "Điểm danh", "Vào phòng họp", "Biên bản họp"} {
		if !strings.Contains(body, want) {
			t.Errorf("meeting page lacks %q: %.800s", want, body)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/"), inMenu(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=username]`)); err != nil {
		t.Fatal(err)
	}
	login("benluc")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/meetings"), chromedp.WaitVisible(`#mine a`), chromedp.Click(`#mine a`), chromedp.WaitVisible(`#join`)); err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, "meetings-page-invitee-phone")
	fits("the invitee's page")
	if href := evalJS(t, ctx, `document.querySelector('#join').getAttribute('href')`); !strings.Contains(href, "/join/") {
		t.Errorf("join link %q", href)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/meetings?lang=en"), chromedp.WaitVisible(`#mine`)); err != nil {
		t.Fatal(err)
	}
	if h := text(t, ctx, "h1"); h != "Online meetings" {
		t.Errorf("English heading %q", h)
	}
}
