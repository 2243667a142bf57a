package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"anticovid/internal/reports"
	"anticovid/internal/store/storetest"
)

// TestBrowserOperations drives Chromium through the dashboard, the public map,
// a district's report form (submitted after the deadline: marked late), the
// camera wall and a campaign's dry run; screenshots go to ANTICOVID_SCREENSHOTS.
func TestBrowserOperations(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	w30, _ := reports.ParseWeek("2021-W30")
	e.clock.set(w30.Deadline().Add(-20 * time.Hour))
	ctx := newBrowser(t, 1280, 900)
	login := func(user string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, user), chromedp.SendKeys(`input[name=password]`, testPassword),
			chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`)); err != nil {
			t.Fatal(err)
		}
	}
	logout := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/"), inMenu(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=username]`)); err != nil {
			t.Fatal(err)
		}
	}

	// The public map needs no login.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/map"), chromedp.WaitVisible(`#districts tr`), chromedp.WaitVisible(`.leaflet-interactive`),
		chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "ops-public-map")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Huyện Bến Lức") || !strings.Contains(body, "ẩn") || !strings.Contains(body, "Chợ Bến Lức") {
		t.Errorf("public map: %.500s", body)
	}

	login("admin")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/dashboard"), chromedp.WaitVisible(`#byHour`), chromedp.Sleep(700*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "ops-dashboard")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Lượt quét mã hôm nay") || !strings.Contains(body, "Huyện Bến Lức") || !strings.Contains(body, "Trực tuyến") {
		t.Errorf("dashboard: %.600s", body)
	}
	// Drill down to the district.
	if err := chromedp.Do(ctx, chromedp.Click(`#children a[href="/dashboard?unit=803"]`), chromedp.WaitVisible(`#children`), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if h := text(t, ctx, "h1"); !strings.Contains(h, "Bến Lức") {
		t.Errorf("drill-down heading %q", h)
	}
	logout()

	// A district fills in its report in the browser.
	login("benluc")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/reports"), chromedp.WaitVisible(`textarea[name=work_done]`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`textarea[name=work_done]`, "Đã tổ chức 15 đoàn đi từng nhà hướng dẫn cài đặt Bluezone và khai báo y tế."),
		chromedp.SendKeys(`textarea[name=difficulties]`, "Nhiều hộ dân chưa có điện thoại thông minh."),
		chromedp.SendKeys(`textarea[name=proposals]`, "Đề nghị Sở TT&TT hỗ trợ thêm 20 máy quét mã QR.")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "ops-report-form")
	e.clock.set(w30.Deadline().Add(90 * time.Minute)) // submitted late
	if err := chromedp.Do(ctx, chromedp.Click(`form.report button[type=submit]`), chromedp.WaitVisible(`p.ok`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "ops-report-submitted")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Nộp trễ") || !strings.Contains(body, "Thị trấn Bến Lức") {
		t.Errorf("report after submit: %.600s", body)
	}

	// The camera wall shows the proxied snapshots and the RTSP camera's state.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/cameras"), chromedp.WaitVisible(`.wall img`), chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "ops-camera-wall")
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll('.wall img')).every(i => i.complete && i.naturalWidth === 16)`))
	if err != nil || !loaded {
		t.Errorf("snapshots not shown: %v %v", loaded, err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "Trực tuyến") || !strings.Contains(body, "Mất tín hiệu") {
		t.Errorf("camera wall: %.500s", body)
	}

	// A campaign's dry run counts the district's recipients.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/campaigns"), chromedp.WaitVisible(`#newcampaign`),
		chromedp.SendKeys(`input[name=name]`, "Cài Bluezone đợt 2"),
		chromedp.Click(`button[hx-post]`), chromedp.WaitVisible(`.dryrun`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "ops-campaign-dry-run")
	if d := text(t, ctx, ".dryrun"); !regexp.MustCompile(`^[1-9][0-9.]* người nhận`).MatchString(d) || !strings.Contains(d, "Bến Lức") {
		t.Errorf("dry run: %q", d)
	}

	// A phone-sized dashboard.
	phone := newBrowser(t, 390, 844)
	ctx = phone
	login("benluc")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/dashboard"), chromedp.WaitVisible(`#byHour`), chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "ops-dashboard-phone")
	if dir := os.Getenv("ANTICOVID_SCREENSHOTS"); dir != "" { // the first screenful, as a phone shows it
		if top, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
			os.WriteFile(filepath.Join(dir, "ops-dashboard-phone-top.png"), top, 0o644)
		}
	}
}
