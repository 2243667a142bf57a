package web

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
)

func TestCheckinAPI(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	tok := e.keys.Sign(e.venues["Chợ Bến Lức"], 1)
	person := map[string]any{"name": "Võ Thị Sáu", "phone": "0901234567", "birth_year": 1990, "commune_code": "27991"}
	body := func(id string) map[string]any {
		return map[string]any{"id": id, "token": tok, "direction": "in", "person": person}
	}
	if code, b := e.do("POST", "/api/v1/checkins", "", body("dddddddd-0001")); code != 201 || !strings.Contains(b, `"venue_name":"Chợ Bến Lức"`) {
		t.Fatalf("new check-in: %d %s", code, b)
	}
	if code, b := e.do("POST", "/api/v1/checkins", "", body("dddddddd-0001")); code != 200 || !strings.Contains(b, `"created":false`) {
		t.Fatalf("repeat: %d %s", code, b)
	}
	bad := []struct {
		name   string
		body   any
		status int
		frag   string
	}{
		{"forged token", map[string]any{"id": "dddddddd-0002", "token": "AAAA" + tok[4:], "direction": "in", "person": person}, 400, `"token"`},
		{"unknown venue", map[string]any{"id": "dddddddd-0003", "token": e.keys.Sign(424242, 1), "direction": "in", "person": person}, 404, `"not_found"`},
		{"malformed JSON", `{"id": `, 400, `"body"`},
		{"oversize", `{"id":"` + strings.Repeat("x", 70<<10) + `"}`, 413, `"too_large"`},
		{"future", map[string]any{"id": "dddddddd-0004", "token": tok, "direction": "in", "at": "2099-01-01T00:00:00Z", "person": person}, 400, `"at"`},
	}
	for _, c := range bad {
		if code, b := e.do("POST", "/api/v1/checkins", "", c.body); code != c.status || !strings.Contains(b, c.frag) {
			t.Errorf("%s: %d %s", c.name, code, b)
		}
	}
	// A flood from one address is cut off with 429; what was refused is not stored.
	var ok, limited int
	for i := range 300 {
		switch code, _ := e.do("POST", "/api/v1/checkins", "", body(fmt.Sprintf("eeeeeeee-%04d", i))); code {
		case 201:
			ok++
		case 429:
			limited++
		default:
			t.Fatalf("flood: status %d", code)
		}
	}
	var stored int
	e.db.R.QueryRow("SELECT count(*) FROM visits WHERE id LIKE 'eeeeeeee-%'").Scan(&stored)
	if limited == 0 || ok != stored || ok > 200 {
		t.Fatalf("flood: %d accepted, %d limited, %d stored", ok, limited, stored)
	}
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
	// The visitor's province starts at the venue's, their commune unchosen:
	// the venue's commune is not their home.
	if got := evalJS(t, ctx, `[document.getElementById("show-communes").hidden, document.getElementById("province").value, document.querySelector("select[name=commune_code]").value].join()`); got != "true,80," {
		t.Fatalf("before choosing: show button hidden, province, commune = %s", got)
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
// TestBrowserCheckinAsksForCommune: a first-time visitor who leaves the
// home commune unchosen is asked for it, and nothing is queued (a scan
// queued offline without it would be refused when it finally arrives);
// without JavaScript the form comes back with the same request beside it.
func TestBrowserCheckinAsksForCommune(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 360, 740)
	market := e.venues["Chợ Bến Lức"]
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/c/"+e.keys.Sign(market, 1)),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "Phan Văn Út"),
		chromedp.SendKeys(`input[name=phone]`, "0913 222 333"),
		chromedp.SendKeys(`input[name=birth_year]`, "1988"),
		chromedp.Click("#in"),
		waitText("#status", "Chọn xã/phường nơi bạn ở"))
	if err != nil {
		t.Fatal(err)
	}
	if got := evalJS(t, ctx, `[localStorage.getItem("acv.queue") || "[]", String(document.activeElement.name)].join("|")`); got != "[]|commune_code" {
		t.Errorf("queue and focus after no commune: %s", got)
	}
	if n := count(t, e.db, "visits"); n != 0 {
		t.Errorf("%d visits stored without a commune", n)
	}
	code, _, page := sendForm(t, e.srv.Client(), e.srv.URL+"/c/"+e.keys.Sign(market, 1), url.Values{"id": {"aaaaaaaa-1111-4111-8111-000000000001"},
		"name": {"Phan Văn Út"}, "phone": {"0913222333"}, "birth_year": {"1988"}, "commune_code": {""}, "direction": {"in"}})
	if code != 400 || !strings.Contains(page, "Chọn xã/phường nơi bạn ở") {
		t.Errorf("no-script form without a commune: %d", code)
	}
}

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
		chromedp.SetValue(`select[name=commune_code]`, "27991"),
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
