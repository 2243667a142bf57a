package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"anticovid/internal/config"
	"anticovid/internal/doortodoor"
	"anticovid/internal/store/storetest"
)

// A volunteer's morning on a 360×740 phone: the team's link is opened
// once online; then the network is gone (the page's and the service
// worker's requests fail, and the server drops every connection): visits
// are recorded, the page is reloaded and still works from the service
// worker's copy and IndexedDB, with the queue intact; back online, the
// queue reaches the server, each visit exactly once, and sending it again
// changes nothing.
func TestBrowserDoorToDoorOffline(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	tok := doorSetup(t, e, "communea", "27991", "hamlet,address,residents\nẤp 1,Số 1 đường Nguyễn Trung Trực,3\nẤp 1,Số 3,2\nẤp 2,Số 15 hẻm 4,5\n")
	ctx := newBrowser(t, 360, 740)
	page := e.srv.URL + "/di-tung-nha/" + tok
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(`#households li button.record`),
		chromedp.WaitReady(`#door[data-offline-ready="1"]`)); err != nil {
		t.Fatal(err)
	}
	if n := evalJS(t, ctx, `String(document.querySelectorAll("#households li").length)`); n != "3" {
		t.Fatalf("households shown: %s", n)
	}
	// Offline, as the phone and as the server see it.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	offline := func(off bool) {
		t.Helper()
		on := true
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &on, MatchedNetworkConditions: []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}}}); err != nil {
			t.Fatal(err)
		}
		e.down.Store(off)
	}
	offline(true)
	record := func(i int, outcome string, counts map[string]string) {
		t.Helper()
		acts := []chromedp.Action[chromedp.Void]{chromedp.Click(fmt.Sprintf(`#households li:nth-child(%d) button.record`, i)), chromedp.WaitVisible(`#visit`),
			chromedp.Click(`#visit input[value=` + outcome + `]`)}
		for name, v := range counts {
			acts = append(acts, chromedp.SetValue(`#visit input[name=`+name+`]`, v))
		}
		acts = append(acts, chromedp.Click(`#save`), chromedp.WaitNotVisible(`#visit`))
		if err := chromedp.Do(ctx, acts...); err != nil {
			t.Fatal(err)
		}
	}
	record(1, "visited", map[string]string{"people": "3", "no_smartphone": "1", "installs": "2", "declarations": "3"})
	record(2, "nobody_home", nil)
	if err := chromedp.Do(ctx, chromedp.WaitReady(`#sync[data-pending="2"]`)); err != nil {
		t.Fatal(err)
	}
	// Two health declarations at the first house, still offline: each is
	// sealed and queued, and the form is empty again.
	declare := func(name, phone string, want int) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(`#decl-open`), chromedp.Click(`#decl-open`), chromedp.WaitVisible(`#decl`),
			chromedp.SendKeys(`#decl input[name=name]`, name), chromedp.SendKeys(`#decl input[name=birth_year]`, "1952"),
			chromedp.Click(`#decl input[name=sex][value=female]`), chromedp.SendKeys(`#decl input[name=phone]`, phone),
			chromedp.Click(`#decl input[name=symptoms][value=cough]`),
			chromedp.Click(`#decl input[name=contact_case][value=no]`), chromedp.Click(`#decl input[name=animal_market][value=no]`),
			chromedp.SetValue(`#decl select[name=vaccine_doses]`, "2")); err != nil {
			t.Fatal(err)
		}
		if want == 1 {
			screenshot(t, ctx, "door-volunteer-declaration")
			if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
				t.Fatalf("the declaration form is %s px wide on a 360 px phone", w)
			}
		}
		if err := chromedp.Do(ctx, chromedp.Click(`#decl-save`), chromedp.WaitNotVisible(`#decl`),
			chromedp.WaitReady(fmt.Sprintf(`#decl-count[data-n="%d"]`, want))); err != nil {
			t.Fatal(err)
		}
		if v := evalJS(t, ctx, `Array.prototype.map.call(document.querySelectorAll("#decl input[name=name], #decl input[name=phone]"), function (i) { return i.value; }).join("")`); v != "" {
			t.Fatalf("the declaration form still holds %q", v)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#households li:nth-child(1) button.record`), chromedp.WaitVisible(`#visit`)); err != nil {
		t.Fatal(err)
	}
	declare("Trương Thị Ngọc Lan", "0987 654 321", 1)
	declare("Trương Văn Hùng", "0987654322", 2)
	if err := chromedp.Do(ctx, chromedp.Click(`#cancel`), chromedp.WaitNotVisible(`#visit`), chromedp.WaitReady(`#sync[data-pending="4"]`)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, e.db, "door_visits") + count(t, e.db, "declarations"); n != 0 {
		t.Fatalf("offline visits or declarations reached the server: %d", n)
	}
	// Reload with no network: the service worker's copy and IndexedDB.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(`#door[data-ready="1"]`), chromedp.WaitVisible(`#households li button.record`),
		chromedp.WaitReady(`#sync[data-pending="4"]`)); err != nil {
		t.Fatal(err)
	}
	// What the phone keeps: every store of its IndexedDB, read back by the
	// page. The declarations are there, sealed: no name, no phone.
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise(function (done) {
		var r = indexedDB.open("door-team-" + document.getElementById("door").dataset.team);
		r.onsuccess = function () { var db = r.result, out = {}, names = Array.prototype.slice.call(db.objectStoreNames), n = names.length;
			names.forEach(function (name) { db.transaction(name).objectStore(name).getAll().onsuccess = function (ev) { out[name] = ev.target.result; if (--n === 0) done(JSON.stringify(out)); }; }); };
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var kept struct {
		Decls []doortodoor.SealedDeclaration `json:"decls"`
	}
	if err := json.Unmarshal([]byte(stored), &kept); err != nil || len(kept.Decls) != 2 || kept.Decls[0].Data == "" {
		t.Fatalf("sealed declarations kept: %v %.300s", err, stored)
	}
	for _, plain := range []string{"Trương", "Ngọc Lan", "Hùng", "0987 654 321", "0987654321", "0987654322", "cough", `"1952"`, `"kind"`, "birth_year"} {
		if strings.Contains(stored, plain) {
			t.Fatalf("IndexedDB holds %q in the clear", plain)
		}
	}
	states := evalJS(t, ctx, `Array.prototype.map.call(document.querySelectorAll("#households .state"), function (s) { return s.className; }).join(",")`)
	if states != "state visited,state nobody_home,state none" {
		t.Fatalf("states after offline reload: %s", states)
	}
	// A third visit after the reload, the phone still offline.
	record(3, "visited", map[string]string{"people": "2", "installs": "1"})
	if err := chromedp.Do(ctx, chromedp.WaitReady(`#sync[data-pending="5"]`)); err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, "door-volunteer-offline")
	if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Fatalf("page is %s px wide on a 360 px phone", w)
	}
	if s := text(t, ctx, "#sync-text"); !strings.Contains(s, "ngoại tuyến") || !strings.Contains(s, "5") {
		t.Fatalf("status offline: %q", s)
	}
	// Back online: the queue goes, once.
	offline(false)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.dispatchEvent(new Event("online")), true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitReady(`#sync[data-pending="0"]`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "door-volunteer-synced")
	if n := count(t, e.db, "door_visits"); n != 3 {
		t.Fatalf("visits on the server: %d, want 3", n)
	}
	if d, dd := count(t, e.db, "declarations"), count(t, e.db, "door_declarations"); d != 2 || dd != 2 {
		t.Fatalf("declarations on the server: %d (door %d), want 2", d, dd)
	}
	// The sealed declarations the phone kept, sent again: still two.
	if code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", tok, doortodoor.Batch{Declarations: kept.Decls}); code != 200 || strings.Count(body, `"duplicate"`) != 2 {
		t.Fatalf("resent declarations: %d %s", code, body)
	}
	if n := count(t, e.db, "declarations"); n != 2 {
		t.Fatalf("declarations after sending again: %d", n)
	}
	var installs, decls int
	e.db.R.QueryRow("SELECT SUM(installs), SUM(declarations) FROM door_visits").Scan(&installs, &decls)
	if installs != 3 || decls != 3 {
		t.Fatalf("installs %d, declarations %d", installs, decls)
	}
	// The phone sends everything it holds again (as after a lost answer):
	// the server keeps one of each.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(function (done) {
		var r = indexedDB.open("door-team-" + document.getElementById("door").dataset.team);
		r.onsuccess = function () { var tx = r.result.transaction("visits", "readwrite"), s = tx.objectStore("visits");
			s.getAll().onsuccess = function (ev) { ev.target.result.forEach(function (v) { v.sent = 0; s.put(v); }); };
			tx.oncomplete = function () { done(true); }; };
	})`, chromedp.EvalAwaitPromise),
	); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(`#door[data-ready="1"]`), chromedp.WaitReady(`#sync[data-pending="0"]`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := count(t, e.db, "door_visits"); n != 3 {
		t.Fatalf("visits after sending again: %d, want 3", n)
	}
	var visited int
	e.db.R.QueryRow("SELECT count(*) FROM door_households WHERE state = 'visited'").Scan(&visited)
	if visited != 2 {
		t.Fatalf("households visited: %d", visited)
	}
	// The commune officer prints the two cards; each QR reads back, verifies
	// and names its person.
	checkDoorCards(t, e, printDoorCards(t, e, "communea", "Trương Thị Ngọc Lan", "Trương Văn Hùng"), map[string]bool{"0987654321": true, "0987654322": true})
}

// A phone that queued a visit and a declaration offline reaches signal
// only after its link expired: the page (410, from the network) records
// nothing more, sends what was recorded while the link was valid, and says
// in Vietnamese that the link has expired and how much was sent.
func TestBrowserDoorToDoorExpiredLink(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	tok := doorSetup(t, e, "communea", "27991", "hamlet,address\nẤp 1,Số 1\nẤp 1,Số 2\n")
	ctx := newBrowser(t, 360, 740)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/di-tung-nha/"+tok), chromedp.WaitVisible(`#households li button.record`),
		chromedp.WaitReady(`#door[data-offline-ready="1"]`)); err != nil {
		t.Fatal(err)
	}
	e.down.Store(true)
	if err := chromedp.Do(ctx, chromedp.Click(`#households li:nth-child(1) button.record`), chromedp.WaitVisible(`#visit`),
		chromedp.Click(`#decl-open`), chromedp.WaitVisible(`#decl`),
		chromedp.SendKeys(`#decl input[name=name]`, "Lâm Thị Hồng"), chromedp.SendKeys(`#decl input[name=birth_year]`, "1960"),
		chromedp.Click(`#decl input[name=sex][value=female]`), chromedp.SendKeys(`#decl input[name=phone]`, "0977111222"),
		chromedp.Click(`#decl input[name=contact_case][value=no]`), chromedp.Click(`#decl input[name=animal_market][value=no]`),
		chromedp.SetValue(`#decl select[name=vaccine_doses]`, "1"), chromedp.Click(`#decl-save`), chromedp.WaitNotVisible(`#decl`),
		chromedp.Click(`#save`), chromedp.WaitNotVisible(`#visit`), chromedp.WaitReady(`#sync[data-pending="2"]`)); err != nil {
		t.Fatal(err)
	}
	// A day and an hour later, back online.
	e.doorSkew.Store(int64(25 * time.Hour))
	e.down.Store(false)
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(`#door[data-ready="1"]`), chromedp.WaitVisible(`#expired`),
		chromedp.WaitReady(`#sync[data-pending="0"]`)); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, "#expired"); !strings.Contains(msg, "Đường dẫn đã hết hạn") || !strings.Contains(msg, "Chờ gửi: 0") || !strings.Contains(msg, "Đã gửi: 2") {
		t.Fatalf("expired message: %q", msg)
	}
	if n := evalJS(t, ctx, `String(document.querySelectorAll("#households li button.record").length)`); n != "0" {
		t.Fatalf("an expired link still records: %s buttons", n)
	}
	if v, d := count(t, e.db, "door_visits"), count(t, e.db, "declarations"); v != 1 || d != 1 {
		t.Fatalf("after the expiry: %d visits, %d declarations; want 1, 1", v, d)
	}
	screenshot(t, ctx, "door-volunteer-expired")
}

// Refusals do not stall the queue. With the server out of reach, a
// volunteer queues three declarations: one with a birth year the server
// refuses (as an older copy of the form let through), a good one, and one
// at a house that, by the time the phone reaches the server, is no longer
// the team's. The first batch is refused as a whole (403); the page sends
// each alone, sets the two refused aside and shows them as refused with
// the server's reason, and the good one reaches the server. Nothing is
// sent again after that.
func TestBrowserDoorToDoorRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	tok := doorSetup(t, e, "communea", "27991", "hamlet,address\nẤp 1,Số 1\nẤp 1,Số 2\n")
	ctx := newBrowser(t, 360, 740)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/di-tung-nha/"+tok), chromedp.WaitVisible(`#households li button.record`),
		chromedp.WaitReady(`#door[data-ready="1"]`)); err != nil {
		t.Fatal(err)
	}
	// The form itself holds to the server's rules.
	for field, cases := range map[string]map[string]bool{
		"phone":     {"0987 654 321": true, "+84 987.654.321": true, "84987654321": true, "0087654321": false, "098765432": false, "09876543210": false, "1987654321": false},
		"id_number": {"079085001234": true, "123456789": true, "B1234567": true, "12345": false, "1234567890": false},
	} {
		for v, ok := range cases {
			got := evalJS(t, ctx, fmt.Sprintf(`(function () { var i = document.querySelector("#decl input[name=%s]"); i.value = %q; var ok = i.checkValidity(); i.value = ""; return String(ok); })()`, field, v))
			if got != fmt.Sprint(ok) {
				t.Errorf("%s %q valid in the form: %s, want %v", field, v, got, ok)
			}
		}
	}
	year := time.Now().Year()
	if r := evalJS(t, ctx, `(function () { var i = document.querySelector("#decl input[name=birth_year]"); return i.min + "-" + i.max; })()`); r != fmt.Sprintf("%d-%d", year-120, year) {
		t.Errorf("birth year range in the form: %s", r)
	}
	e.down.Store(true)
	declare := func(house int, name, born, phone string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(fmt.Sprintf(`#households li:nth-child(%d) button.record`, house)), chromedp.WaitVisible(`#visit`),
			chromedp.Click(`#decl-open`), chromedp.WaitVisible(`#decl`),
			chromedp.SendKeys(`#decl input[name=name]`, name), chromedp.SetValue(`#decl input[name=birth_year]`, born),
			chromedp.Click(`#decl input[name=sex][value=female]`), chromedp.SendKeys(`#decl input[name=phone]`, phone),
			chromedp.Click(`#decl input[name=contact_case][value=no]`), chromedp.Click(`#decl input[name=animal_market][value=no]`),
			chromedp.SetValue(`#decl select[name=vaccine_doses]`, "1"), chromedp.Click(`#decl-save`), chromedp.WaitNotVisible(`#decl`),
			chromedp.Click(`#cancel`), chromedp.WaitNotVisible(`#visit`)); err != nil {
			t.Fatal(err)
		}
	}
	evalJS(t, ctx, `document.getElementById("decl").noValidate = true, ""`) // as an older copy of the page
	declare(1, "Lâm Thị Sai", "1800", "0977111000")
	evalJS(t, ctx, `document.getElementById("decl").noValidate = false, ""`)
	declare(1, "Lâm Thị Đúng", "1960", "0977111222")
	declare(2, "Lâm Văn Dời", "1961", "0977111333")
	if err := chromedp.Do(ctx, chromedp.WaitReady(`#sync[data-pending="3"]`)); err != nil {
		t.Fatal(err)
	}
	// The second house moves to another commune's list before the phone
	// reaches the server.
	if _, err := e.db.W.Exec("UPDATE door_households SET commune_code = '27994' WHERE address = 'Số 2'"); err != nil {
		t.Fatal(err)
	}
	e.down.Store(false)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.dispatchEvent(new Event("online")), true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitReady(`#sync[data-pending="0"]`), chromedp.WaitReady(`#refused[data-n="2"]`)); err != nil {
		t.Fatalf("the queue did not settle: %v (pending %s)", err, evalJS(t, ctx, `document.getElementById("sync").dataset.pending`))
	}
	if d, dd := count(t, e.db, "declarations"), count(t, e.db, "door_declarations"); d != 1 || dd != 1 {
		t.Fatalf("declarations on the server: %d (door %d), want 1", d, dd)
	}
	c, err := e.decl.Cards(t.Context(), []int64{firstID(t, e)})
	if err != nil || len(c) != 1 {
		t.Fatalf("cards: %v %v", c, err)
	}
	for _, card := range c {
		if card.Name != "Lâm Thị Đúng" {
			t.Fatalf("the declaration on the server is %q's", card.Name)
		}
	}
	refused := text(t, ctx, "#refused")
	if !strings.Contains(refused, "Tờ khai khai giúp · Số 1") || !strings.Contains(refused, "Năm sinh") {
		t.Fatalf("refused list: %q", refused)
	}
	if !strings.Contains(text(t, ctx, "#refused-box"), "Không được nhận") {
		t.Fatal("the refused items are not headed as refused")
	}
	viewport(t, ctx, "door-volunteer-refused")
	if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Fatalf("page is %s px wide on a 360 px phone", w)
	}
	// Settled: after a reload nothing is sent again, and the refused stay shown.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(`#door[data-ready="1"]`), chromedp.WaitReady(`#refused[data-n="2"]`),
		chromedp.WaitReady(`#sync[data-pending="0"]`)); err != nil {
		t.Fatal(err)
	}
}

// firstID is the id of the one declaration stored.
func firstID(t *testing.T, e *env) int64 {
	t.Helper()
	var id int64
	if err := e.db.R.QueryRow("SELECT id FROM declarations ORDER BY id LIMIT 1").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A commune chair on a 360×740 phone opens the drive from the menu, adds a
// hamlet with its coordinates and a household, makes a team and its
// one-day link; with map tiles configured the hamlets are points on the
// map. The district then sees the commune's row.
func TestBrowserDoorToDoorOfficer(t *testing.T) {
	tiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(testPNG)
	}))
	t.Cleanup(tiles.Close)
	e := newEnvConfig(t, storetest.SQLite(t), func(c *config.Config) { c.MapTiles = tiles.URL + "/{z}/{x}/{y}.png" })
	login := func(ctx context.Context, user string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, user), chromedp.SendKeys(`input[name=password]`, testPassword),
			chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := newBrowser(t, 360, 740)
	login(ctx, "communea")
	err := chromedp.Do(ctx, inMenu(`nav a[href="/door-to-door"]`), chromedp.WaitVisible(`#hamlet-form`),
		chromedp.SendKeys(`#hamlet-form input[name=name]`, "Ấp Chợ"), chromedp.SendKeys(`#hamlet-form input[name=lat]`, "10,6385"),
		chromedp.SendKeys(`#hamlet-form input[name=lng]`, "106.4845"), chromedp.Submit(`#hamlet-form input[name=name]`), chromedp.WaitVisible(`#done[data-done=hamlet]`),
		chromedp.SendKeys(`#household-form input[name=hamlet]`, "Ấp Chợ"), chromedp.SendKeys(`#household-form input[name=address]`, "Số 7 đường Nguyễn Hữu Thọ"),
		chromedp.SendKeys(`#household-form input[name=residents]`, "4"), chromedp.Submit(`#household-form input[name=address]`), chromedp.WaitVisible(`#done[data-done=household]`),
		chromedp.SendKeys(`#team-form input[name=name]`, "Đoàn Thanh niên"), chromedp.Submit(`#team-form input[name=name]`), chromedp.WaitVisible(`#done[data-done=team]`),
		chromedp.Click(`#door-teams button[type=submit]`), chromedp.WaitVisible(`#team-link`),
		chromedp.WaitVisible(`#door-map .leaflet-interactive`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if link := text(t, ctx, "#team-link code"); !doorLinkRe.MatchString(link) {
		t.Fatalf("team link %q", link)
	}
	if row := text(t, ctx, "#door-areas tbody"); !strings.Contains(row, "Ấp Chợ") || !strings.Contains(row, "0%") {
		t.Fatalf("coverage row: %q", row)
	}
	if bad := evalJS(t, ctx, overflowJS); bad != "" {
		t.Errorf("past the right edge: %s", bad)
	}
	screenshot(t, ctx, "door-commune")
	if err := chromedp.Do(ctx, chromedp.Click(`#todo-link`), chromedp.WaitVisible(`#todo`)); err != nil {
		t.Fatal(err)
	}
	if list := text(t, ctx, "#todo"); !strings.Contains(list, "Số 7 đường Nguyễn Hữu Thọ") || !strings.Contains(list, "Chưa đến") {
		t.Fatalf("to visit: %q", list)
	}

	dctx := newBrowser(t, 360, 740)
	login(dctx, "benluc")
	if err := chromedp.Do(dctx, chromedp.Navigate(e.srv.URL+"/door-to-door"), chromedp.WaitVisible(`#door-areas`)); err != nil {
		t.Fatal(err)
	}
	if row := text(t, dctx, "#door-areas tbody"); !strings.Contains(row, "Bến Lức") || strings.Contains(row, "Ấp Chợ") {
		t.Fatalf("district row: %q", row)
	}
	if n := evalJS(t, dctx, `String(document.querySelectorAll("#manage").length)`); n != "0" {
		t.Fatalf("the district manages a commune's drive")
	}
	screenshot(t, dctx, "door-district")
}
