package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
)

// A wedding's organiser registers it on a phone-sized screen: phone, SMS
// code (read from the outbox, as the phone would receive it), the form with
// the event's fields shown and the vehicle's hidden, the commune narrowed by
// district, the GPS point from the phone; the result page; then the
// commune's officer approves it from the pending list and sees the QR.
func TestBrowserRegisterVenue(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 390, 844)
	const phone = "0939888777"
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	eval := func(js string) string { t.Helper(); return evalJS(t, ctx, js) }
	set := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function(){var el=document.querySelector(%q);el.value=%q;el.dispatchEvent(new Event("change",{bubbles:true}))})()`, sel, value))
	}
	fits := func(page string) {
		t.Helper()
		if got := eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
			t.Errorf("%s is wider than the phone's screen", page)
		}
	}

	do("open", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(`header .brand`))
	do("nav link", inMenu(`nav a[href="/dang-ky-dia-diem"]`), chromedp.WaitVisible(`input[name=phone]`))
	screenshot(t, ctx, "register-1-phone")
	fits("step 1")
	do("send code", chromedp.SendKeys(`input[name=phone]`, "0939 888 777"), chromedp.Click(`button[type=submit]`), chromedp.WaitVisible(`#venue-form`))
	if n := text(t, ctx, "#notice"); !strings.Contains(n, "Đã gửi mã xác nhận tới số *******777") {
		t.Fatalf("notice %q", n)
	}
	// Before a category is chosen, neither the event's nor the vehicle's fields show.
	if got := eval(`[document.querySelector("[data-kinds=event]").hidden, document.querySelector("[data-kinds=vehicle]").hidden].join()`); got != "true,true" {
		t.Fatalf("event/vehicle hidden before choosing: %s", got)
	}
	screenshot(t, ctx, "register-2-form")
	fits("step 2")

	code := e.smsCode(t, phone)
	do("fill",
		chromedp.SendKeys(`input[name=code]`, code),
		chromedp.SendKeys(`input[name=name]`, "Tiệc cưới Minh Tuấn – Thu Hà"),
		set("#category", "bus"))
	if got := eval(`[document.querySelector("[data-kinds=event]").hidden, document.querySelector("[data-kinds=vehicle]").hidden].join()`); got != "true,false" {
		t.Fatalf("bus: event/vehicle hidden %s", got)
	}
	do("wedding", set("#category", "wedding"))
	if got := eval(`[document.querySelector("[data-kinds=event]").hidden, document.querySelector("[data-kinds=vehicle]").hidden, document.querySelector("[name=opening_hours]").parentNode.hidden].join()`); got != "false,true,true" {
		t.Fatalf("wedding: event/vehicle/opening-hours hidden %s", got)
	}
	do("district", set("#district", "803"))
	if got := eval(`String(Array.prototype.filter.call(document.querySelectorAll("#commune optgroup"), function(g){return !g.hidden}).length)`); got != "1" {
		t.Fatalf("%s districts' communes offered after choosing one", got)
	}
	// GPS from the phone: the test grants the permission and places the phone.
	lat, lon, acc := 10.6401, 106.4832, 12.0
	gps := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "geolocation"}, Setting: browser.PermissionSettingGranted}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lon, Accuracy: &acc})
		return err
	})
	do("gps", gps, chromedp.Click("#locate"))
	for i := 0; i < 50 && eval(`document.getElementById("lat").value`) == ""; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if got := eval(`document.getElementById("lat").value + "," + document.getElementById("lon").value`); got != "10.640100,106.483200" {
		t.Fatalf("GPS filled %q", got)
	}
	do("rest",
		set("#commune", "27994"),
		set(`input[name=starts_at]`, "2021-08-07T17:00"),
		set(`input[name=ends_at]`, "2021-08-07T21:30"),
		chromedp.SendKeys(`input[name=address]`, "Nhà hàng Hồng Phúc, ấp 3"),
		chromedp.SendKeys(`input[name=contact_name]`, "Lê Minh Tuấn"),
		chromedp.SendKeys(`input[name=capacity]`, "250"),
		chromedp.SendKeys(`input[name=password]`, "hạnh phúc trăm năm"),
		chromedp.SendKeys(`input[name=password2]`, "hạnh phúc trăm năm"))
	do("scroll up", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	screenshot(t, ctx, "register-3-filled")
	if got := eval(`(function(){var r=document.getElementById("submit").getBoundingClientRect();return r.width>0&&r.height>0?"shown":"missing"})()`); got != "shown" {
		t.Fatalf("submit button %s", got)
	}
	do("submit", chromedp.Click("#submit"), chromedp.WaitVisible("#done"))
	screenshot(t, ctx, "register-4-done")
	fits("result")
	if got := text(t, ctx, "#done"); !strings.Contains(got, "Tiệc cưới Minh Tuấn – Thu Hà") || !strings.Contains(got, "Chờ duyệt") ||
		!strings.Contains(got, "Xã Thạnh Lợi") || !strings.Contains(got, phone) {
		t.Fatalf("result page: %s", got)
	}
	var id, starts, ends int64
	var commune, category, status, manager string
	var vlat float64
	if err := e.db.R.QueryRow(`SELECT v.id, v.commune_code, v.category, v.status, v.starts_at, v.ends_at, v.lat, u.username FROM venues v
		JOIN users u ON u.id = v.manager_id WHERE v.name = $1`, "Tiệc cưới Minh Tuấn – Thu Hà").Scan(&id, &commune, &category, &status, &starts, &ends, &vlat, &manager); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2021, 8, 7, 10, 0, 0, 0, time.UTC)
	if commune != "27994" || category != "wedding" || status != "pending" || starts != start.Unix() || ends != start.Add(270*time.Minute).Unix() ||
		vlat != lat || manager != phone {
		t.Fatalf("stored %s %s %s %d %d %v %s", commune, category, status, starts, ends, vlat, manager)
	}

	// The registrant is logged in: their venue page says the poster waits for approval.
	do("manager's page", chromedp.Click(`a[href="/venues/`+itoa64(id)+`"]`), chromedp.WaitVisible("#qr"))
	if got := text(t, ctx, "#qr"); !strings.Contains(got, "chỉ có sau khi địa điểm được duyệt") {
		t.Fatalf("manager's venue page: %s", got)
	}
	// The commune officer approves it from the pending list.
	do("logout", inMenu(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=username]`))
	do("login", chromedp.SendKeys(`input[name=username]`, "communeb"), chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`main button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`))
	do("venues", chromedp.Navigate(e.srv.URL+"/venues"), chromedp.WaitVisible(`#venue-filters`))
	do("pending", chromedp.Click(`#venue-filters a[href^="/venues?status=pending"]`), chromedp.WaitVisible(`table.list`))
	screenshot(t, ctx, "register-5-pending-list")
	if got := text(t, ctx, "table.list"); !strings.Contains(got, "Tiệc cưới Minh Tuấn – Thu Hà") || strings.Contains(got, "Trường THCS Thạnh Lợi") {
		t.Fatalf("pending list: %s", got)
	}
	do("approve", chromedp.Click(`table.list a[href="/venues/`+itoa64(id)+`"]`), chromedp.WaitVisible("#approve"),
		chromedp.Click("#approve"), chromedp.WaitVisible("#poster-link"))
	screenshot(t, ctx, "register-6-approved")
	fits("venue page")
	if got := eval(`document.querySelector("img.qr-thumb").naturalWidth > 0 ? "loaded" : "broken"`); got != "loaded" {
		t.Fatalf("QR thumbnail %s", got)
	}
	e.db.R.QueryRow("SELECT status FROM venues WHERE id = $1", id).Scan(&status)
	if status != "approved" {
		t.Fatalf("status after approval %q", status)
	}
	// Suspending asks first: answered "no", nothing changes; "yes", it is done.
	answers := make(chan bool, 2)
	asked := answerDialogs(ctx, func() bool { return <-answers })
	for _, yes := range []bool{false, true} {
		answers <- yes
		do("suspend", chromedp.Click("#suspend"))
		select {
		case q := <-asked:
			if !strings.Contains(q, "tạm dừng") {
				t.Errorf("question %q", q)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("suspending did not ask")
		}
		want := map[bool]string{false: "approved", true: "suspended"}[yes]
		for deadline := time.Now().Add(5 * time.Second); status != want && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			e.db.R.QueryRow("SELECT status FROM venues WHERE id = $1", id).Scan(&status)
		}
		time.Sleep(300 * time.Millisecond) // a refused question must leave it as it was
		e.db.R.QueryRow("SELECT status FROM venues WHERE id = $1", id).Scan(&status)
		if status != want {
			t.Fatalf("answered %v: status %q", yes, status)
		}
	}

	// The same officer imports a list with a mistake: the page lists it by row.
	file := filepath.Join(t.TempDir(), "dia-diem.csv")
	os.WriteFile(file, []byte("\ufeffname,category,commune_code,address\nChợ Thạnh Lợi,market,27994,Ấp 1\nĐình làng Thạnh Lợi,đình,27994,Ấp 2\n"), 0o644)
	do("import", chromedp.Navigate(e.srv.URL+"/venues"), chromedp.Click(`#venue-filters a[href="/venues/import"]`), chromedp.WaitVisible(`input[type=file]`),
		chromedp.SetUploadFiles(`input[type=file]`, []string{file}), chromedp.Click(`#import button[type=submit]`), chromedp.WaitVisible(`#row-errors`))
	screenshot(t, ctx, "register-7-import-errors")
	fits("import page")
	if got := text(t, ctx, "#row-errors"); !strings.Contains(got, "3") || !strings.Contains(got, "Loại địa điểm không hợp lệ") {
		t.Fatalf("import report: %s", got)
	}
}

// In a national deployment the form starts with the province: choosing one
// reloads the form with that province's districts and communes, keeping
// what was typed.
func TestBrowserRegisterVenueNational(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	base := registrationServer(t, e, "VN", false)
	ctx := newBrowser(t, 390, 844)
	eval := func(js string) string { t.Helper(); return evalJS(t, ctx, js) }
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/dang-ky-dia-diem"), chromedp.WaitVisible(`input[name=phone]`),
		chromedp.SendKeys(`input[name=phone]`, "0939 555 666"), chromedp.Click(`button[type=submit]`), chromedp.WaitVisible(`#province`)); err != nil {
		t.Fatal(err)
	}
	if got := eval(`[document.getElementById("refresh-units").hidden, document.querySelectorAll("#district option").length].join()`); got != "true,1" {
		t.Fatalf("before a province: refresh hidden, district options = %s", got)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`input[name=name]`, "Bến phà Cần Giuộc"),
		chromedp.Evaluate[chromedp.Void](`(function(){var p=document.getElementById("province");p.value="80";p.dispatchEvent(new Event("change"))})()`),
		chromedp.WaitReady(`#district option[value="803"]`)); err != nil {
		t.Fatal(err)
	}
	if got := eval(`[document.getElementById("province").value, document.querySelector("input[name=name]").value, document.querySelectorAll("#district option").length, document.querySelector("#commune option[value='27991']").textContent].join("|")`); got != "80|Bến phà Cần Giuộc|16|Thị trấn Bến Lức" {
		t.Fatalf("after choosing Long An: %s", got)
	}
	if got := eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
		t.Error("the form is wider than the phone's screen")
	}
	screenshot(t, ctx, "register-national")
}
