package web

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// waitText waits until the element sel's text contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`document.querySelector(` + strconv.Quote(sel) + `).textContent.indexOf(` + strconv.Quote(want) + `) >= 0`)
}

// One tap is one record, on a phone-sized screen: a double tap, and a second
// tap while a slow network keeps the first one's answer away, store one
// visit on check-in and on check-out.
func TestBrowserOneTapOneRecord(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 360, 740)
	market := e.venues["Chợ Bến Lức"]
	counts := func() (n, open int) {
		e.db.R.QueryRow("SELECT count(*), count(*) - count(t_out) FROM visits WHERE venue_id = $1", market).Scan(&n, &open)
		return
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/c/"+e.keys.Sign(market, 1)),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "Lê Thị Hồng"),
		chromedp.SendKeys(`input[name=phone]`, "0987 654 321"),
		chromedp.SendKeys(`input[name=birth_year]`, "1979"),
		chromedp.SetValue(`select[name=commune_code]`, "27991"))
	if err != nil {
		t.Fatal(err)
	}
	// Answers take 1.5 s to come back.
	evalJS(t, ctx, `(function () { var f = window.fetch; window.fetch = function () {
		return f.apply(this, arguments).then(function (r) { return new Promise(function (ok) { setTimeout(function () { ok(r); }, 1500); }); }); }; return "slow"; })()`)
	// A double tap (two clicks in one go), then an impatient third tap while waiting.
	if got := evalJS(t, ctx, `(function () { var b = document.getElementById("in"); b.click(); b.click(); return String(b.disabled); })()`); got != "true" {
		t.Fatalf("check-in button not waiting for the answer: disabled %s", got)
	}
	if err := chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	evalJS(t, ctx, `(function () { document.getElementById("in").click(); document.getElementById("out").click(); return ""; })()`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible("#status p.ok")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text(t, ctx, "#status"), "Đã check-in lúc") {
		t.Fatalf("status %q", text(t, ctx, "#status"))
	}
	if got := evalJS(t, ctx, `String(document.getElementById("in").disabled)`); got != "false" {
		t.Fatalf("buttons not released after the answer: disabled %s", got)
	}
	if n, open := counts(); n != 1 || open != 1 {
		t.Fatalf("after a double tap on check-in over a slow network: %d visits, %d open; want 1, 1", n, open)
	}
	screenshot(t, ctx, "checkin-proof-step")
	// The same on check-out, with real taps.
	if err := chromedp.Do(ctx, chromedp.Click("#out"), chromedp.Sleep(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	evalJS(t, ctx, `(function () { var b = document.getElementById("out"); b.click(); b.click(); return ""; })()`)
	if err := chromedp.Do(ctx, waitText("#status", "Đã check-out lúc")); err != nil {
		t.Fatal(err)
	}
	if n, open := counts(); n != 1 || open != 0 {
		t.Fatalf("after a double tap on check-out over a slow network: %d visits, %d open; want 1, 0", n, open)
	}
}

// In a demo the proof step shows its code on the page: the resident asks for
// it, types it, and the phone's next scans are proven.
func TestBrowserPhoneProofDemo(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.otp.Reveal = true
	ctx := newBrowser(t, 360, 740)
	market := e.venues["Chợ Bến Lức"]
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/c/"+e.keys.Sign(market, 1)),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "Nguyễn Văn Bảy"),
		chromedp.SendKeys(`input[name=phone]`, "0912 345 777"),
		chromedp.SendKeys(`input[name=birth_year]`, "1970"),
		chromedp.SetValue(`select[name=commune_code]`, "27991"))
	if err != nil {
		t.Fatal(err)
	}
	if got := evalJS(t, ctx, `String(document.getElementById("proof").hidden)`); got != "true" {
		t.Fatalf("proof step before any check-in: hidden %s", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click("#in"), chromedp.WaitVisible("#status p.ok"), chromedp.WaitVisible("#proof")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click("#proof-send"), chromedp.WaitVisible("#proof-demo")); err != nil {
		t.Fatal(err)
	}
	sent := text(t, ctx, "#proof-sent")
	code := regexp.MustCompile(`\d{6}`).FindString(sent)
	if code == "" || !strings.Contains(sent, "Đã gửi mã tới số *******777") {
		t.Fatalf("proof step shows %q", sent)
	}
	screenshot(t, ctx, "checkin-proof-code")
	if err := chromedp.Do(ctx, chromedp.SendKeys("#proof-code", code), chromedp.Click("#proof-check"), chromedp.WaitVisible("#proof-status p.ok")); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#proof-status"); !strings.Contains(got, "Đã xác minh số điện thoại") {
		t.Fatalf("after the code: %q", got)
	}
	// The check-out now carries the proof; the page no longer offers the step.
	if err := chromedp.Do(ctx, chromedp.Click("#out"), waitText("#status", "Đã check-out lúc")); err != nil {
		t.Fatal(err)
	}
	var proof int
	e.db.R.QueryRow("SELECT proof FROM visits WHERE venue_id = $1", market).Scan(&proof)
	if proof != 1 {
		t.Fatalf("visit proof %d after the device proved the phone, want 1", proof)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible("#in")); err != nil {
		t.Fatal(err)
	}
	if got := evalJS(t, ctx, `String(document.getElementById("proof").hidden)`); got != "true" {
		t.Fatalf("proof step offered again to a proven phone: hidden %s", got)
	}
}

// The citizen page while PostgreSQL is down (a real server of the test's
// own, stopped): the server answers 503, the page keeps the scan on the
// phone and says the system is briefly unavailable, and sends it by itself
// after Retry-After once the database is back: one record.
func TestBrowserCheckinDatabaseDown(t *testing.T) {
	pg := testenv.NewCluster(t)
	db, err := store.OpenMigrated(context.Background(), pg.URL(""), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newEnv(t, db)
	ctx := newBrowser(t, 390, 844)
	market := e.venues["Chợ Bến Lức"]
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/c/"+e.keys.Sign(market, 1)),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "Lê Thị Hồng"),
		chromedp.SendKeys(`input[name=phone]`, "0987 654 321"),
		chromedp.SendKeys(`input[name=birth_year]`, "1979"),
		chromedp.SetValue(`select[name=commune_code]`, "27991"),
		chromedp.Click("#in"),
		waitText("#status", "Đã check-in lúc"),
	)
	if err != nil {
		t.Fatal(err)
	}
	pg.Stop(t, "fast")
	if err := chromedp.Do(ctx, chromedp.Click("#out"), waitText("#status", "Hệ thống đang tạm gián đoạn")); err != nil {
		t.Fatalf("the scan while the database is down: %v (status %q)", err, text(t, ctx, "#status"))
	}
	screenshot(t, ctx, "checkin-database-down")
	if q, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`JSON.parse(localStorage.getItem("acv.queue")).length`)); q != 1 {
		t.Fatalf("%d scans queued on the phone, want 1", q)
	}
	pg.Start(t)
	// No reload, no "online" event: the page sends it again after Retry-After.
	if err := chromedp.Do(ctx, waitText("#status", "Đã check-out lúc")); err != nil {
		t.Fatalf("the queued scan after the database came back: %v (status %q)", err, text(t, ctx, "#status"))
	}
	var n, open int
	db.R.QueryRow("SELECT count(*), count(*) - count(t_out) FROM visits WHERE venue_id = $1", market).Scan(&n, &open)
	if n != 1 || open != 0 {
		t.Fatalf("%d visits, %d open; want the one stay, closed", n, open)
	}
}
