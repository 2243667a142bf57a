package web

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// newBrowser starts headless Chromium with a phone-sized window (or skips, and
// fails under ANTICOVID_REQUIRE_ALL=1, when it is not installed).
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Skip(t, "chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first run starts the browser; it must not carry the test timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// screenshot saves the page to dir/name.png when ANTICOVID_SCREENSHOTS names a
// directory (people look at them); it always takes one, so a broken page fails.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if dir := os.Getenv("ANTICOVID_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/"+name+".png", png, 0o644)
	}
}

// A commune officer logs in, sees Vietnamese pages with their commune's
// venues, and gets the 403 page for another commune's venue.
func TestBrowserCommuneOfficer(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 390, 844)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/venues"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "communea"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`table.list`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "commune-venues")
	heading := text(t, ctx, "h1")
	body := text(t, ctx, "main")
	if heading != "Địa điểm" || !strings.Contains(body, "Chợ Bến Lức") || !strings.Contains(body, "Đã duyệt") || strings.Contains(body, "Thạnh Lợi") {
		t.Fatalf("venue list: %q\n%s", heading, body)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/venues/"+itoa64(e.venues["Trường THCS Thạnh Lợi"])), chromedp.WaitVisible(`p.error`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "commune-403")
	title, _ := chromedp.Run(ctx, chromedp.Title())
	body = text(t, ctx, "main")
	if !strings.Contains(title, "Lỗi 403") || !strings.Contains(body, "Không có quyền truy cập") || strings.Contains(body, "Thạnh Lợi") {
		t.Fatalf("403 page: %q %q", title, body)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/venues?lang=en")); err != nil {
		t.Fatal(err)
	}
	if h := text(t, ctx, "h1"); h != "Venues" {
		t.Fatalf("English heading %q", h)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// evalJS runs js in the page and returns its string result.
func evalJS(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

// A visitor from another province chooses it: the page lists that
// province's communes, keeps what was typed, and the check-in stores the
// visitor's own commune.
func TestBrowserCheckinOtherProvince(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 390, 844)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/c/"+e.keys.Sign(e.venues["Chợ Bến Lức"], 1)),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "Trần Quốc Tuấn"),
		chromedp.SendKeys(`input[name=phone]`, "0912 000 111"),
		chromedp.SendKeys(`input[name=birth_year]`, "1990"))
	if err != nil {
		t.Fatal(err)
	}
	if got := evalJS(t, ctx, `[document.getElementById("show-communes").hidden, document.getElementById("province").value].join()`); got != "true,80" {
		t.Fatalf("before choosing: show button hidden, province = %s", got)
	}
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`(function(){var p=document.getElementById("province");p.value="01";p.dispatchEvent(new Event("change"))})()`),
		chromedp.WaitReady(`select[name=commune_code] option[value="00001"]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := evalJS(t, ctx, `[document.querySelector("input[name=name]").value, document.getElementById("province").value, document.querySelector("select[name=commune_code] option[value='00001']").textContent, String(!!document.querySelector("select[name=commune_code] option[value='27991']"))].join("|")`); got != "Trần Quốc Tuấn|01|Phường Phúc Xá|false" {
		t.Fatalf("after choosing Hà Nội: %s", got)
	}
	if n := count(t, e.db, "visits"); n != 0 {
		t.Fatalf("choosing a province recorded %d visits", n)
	}
	screenshot(t, ctx, "checkin-other-province")
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("select[name=commune_code]").value = "00004"`),
		chromedp.Click("#in"),
		chromedp.WaitVisible("#status p.ok"))
	if err != nil {
		t.Fatal(err)
	}
	var commune, province string
	if err := e.db.R.QueryRow("SELECT p.commune_code, p.province_code FROM visits v JOIN people p ON p.id = v.person_id").Scan(&commune, &province); err != nil || commune != "00004" || province != "01" {
		t.Fatalf("stored commune %q province %q (%v)", commune, province, err)
	}
}

// A resident opens a venue's QR link on a phone, registers, checks in and out;
// then loses the network, checks in, regains it, and exactly one record is made.
func TestBrowserCheckin(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 390, 844)
	market := e.venues["Chợ Bến Lức"]
	visits := func() (n, open int) {
		e.db.R.QueryRow("SELECT count(*), count(*) - count(t_out) FROM visits WHERE venue_id = $1", market).Scan(&n, &open)
		return
	}
	waitStatus := func(cls, want string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible("#status p."+cls)); err != nil {
			t.Fatalf("waiting for %s: %v", cls, err)
		}
		if got := text(t, ctx, "#status"); !strings.Contains(got, want) {
			t.Fatalf("status %q, want %q", got, want)
		}
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/c/"+e.keys.Sign(market, 1)),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "Lê Thị Hồng"),
		chromedp.SendKeys(`input[name=phone]`, "0987 654 321"),
		chromedp.SendKeys(`input[name=birth_year]`, "1979"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if h := text(t, ctx, "h1"); h != "Chợ Bến Lức" {
		t.Fatalf("venue heading %q", h)
	}
	screenshot(t, ctx, "checkin-register")
	if err := chromedp.Do(ctx, chromedp.Click("#in")); err != nil {
		t.Fatal(err)
	}
	waitStatus("ok", "Đã check-in lúc")
	screenshot(t, ctx, "checkin-done")
	if n, open := visits(); n != 1 || open != 1 {
		t.Fatalf("after check-in: %d visits, %d open", n, open)
	}
	if who := text(t, ctx, "#who"); !strings.Contains(who, "Lê Thị Hồng") || strings.Contains(who, "654") {
		t.Fatalf("remembered person shown as %q", who)
	}
	if err := chromedp.Do(ctx, chromedp.Click("#out")); err != nil {
		t.Fatal(err)
	}
	waitStatus("ok", "Đã check-out lúc")
	if n, open := visits(); n != 1 || open != 0 {
		t.Fatalf("after check-out: %d visits, %d open", n, open)
	}
	// Offline: the scan waits on the phone.
	e.down.Store(true)
	if err := chromedp.Do(ctx, chromedp.Click("#in")); err != nil {
		t.Fatal(err)
	}
	waitStatus("warn", "Mất kết nối")
	screenshot(t, ctx, "checkin-offline")
	if n, _ := visits(); n != 1 {
		t.Fatalf("offline scan reached the server: %d visits", n)
	}
	e.down.Store(false)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.dispatchEvent(new Event("online"))`)); err != nil {
		t.Fatal(err)
	}
	waitStatus("ok", "Đã check-in lúc")
	// Reload (the queue is flushed again on load): still exactly one new record.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible("#in"), chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, open := visits(); n != 2 || open != 1 {
		t.Fatalf("after reconnecting: %d visits (want 2), %d open (want 1)", n, open)
	}
	var persons int
	e.db.R.QueryRow("SELECT count(*) FROM people").Scan(&persons)
	if persons != 1 {
		t.Fatalf("%d people, want 1", persons)
	}
}
