package web

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
)

// overflowJS lists the elements that reach past the right edge of the
// screen, leaving out those inside a box that scrolls or clips on its own.
const overflowJS = `(() => {
	const W = document.documentElement.clientWidth, bad = [];
	for (const el of document.querySelectorAll('body *')) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.right <= W + 0.5) continue;
		let p = el.parentElement, boxed = false;
		for (; p && p !== document.body; p = p.parentElement) {
			const o = getComputedStyle(p).overflowX;
			if (o === 'auto' || o === 'scroll' || o === 'hidden') { boxed = true; break; }
		}
		if (!boxed) bad.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') + ' ' + Math.round(r.right) + 'px');
	}
	return bad.slice(0, 4).join('; ');
})()`

// tidyJS finds what a careful reader notices on a page: a title or heading
// that says a part twice ("Truy vết · Truy vết"), and a button left in the
// browser's own grey, unstyled.
const tidyJS = `(() => {
	const bad = [], twice = s => { const p = s.split('·').map(x => x.trim().toLowerCase()).filter(x => x); return new Set(p).size !== p.length; };
	if (twice(document.title)) bad.push('title "' + document.title + '"');
	for (const h of document.querySelectorAll('h1')) if (twice(h.textContent)) bad.push('h1 "' + h.textContent.trim() + '"');
	for (const b of document.querySelectorAll('button, input[type=submit], input[type=button], input[type=reset]')) {
		const s = getComputedStyle(b);
		if (s.backgroundColor === 'rgb(239, 239, 239)' || s.borderTopStyle === 'outset') bad.push('unstyled ' + b.outerHTML.slice(0, 80));
	}
	return bad.slice(0, 4).join('; ');
})()`

// TestBrowserEveryPageFitsAPhone: at 360×740 every page in every role's menu
// (and the home and account pages) fits the screen: no sideways panning, a
// wide table scrolls inside its own box or becomes cards; no title says a
// part twice and every button is styled.
func TestBrowserEveryPageFitsAPhone(t *testing.T) {
	oe := newOpsEnv(t, storetest.SQLite(t))
	e := oe.env
	f := newTraceFixture(t, e)
	code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911 000 001"}, "status": "F0", "sample_date": day(f.now, 1)})
	if code != 201 {
		t.Fatalf("case: %d %s", code, body)
	}
	var c struct{ ID int64 }
	json.Unmarshal([]byte(body), &c)
	navLink := regexp.MustCompile(`<a href="(/[^"?#]*)"`)
	ctx := newBrowser(t, 360, 740)
	for _, user := range []string{"", "admin", "communea", "benluc", "tracera", "health", "managera"} {
		pages := []string{"/"}
		if user != "" {
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
				chromedp.SendKeys(`input[name=username]`, user), chromedp.SendKeys(`input[name=password]`, testPassword),
				chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`)); err != nil {
				t.Fatalf("%s login: %v", user, err)
			}
			pages = append(pages, "/account")
		}
		if user == "admin" { // pages one step from the menu
			pages = append(pages, "/tracing/handoffs", "/access/requests", "/venues/import", "/venues/new", "/cases/import",
				fmt.Sprintf("/cases/%d", c.ID), fmt.Sprintf("/cases/%d/chain", c.ID), fmt.Sprintf("/venues/%d", e.venues["Chợ Bến Lức"]), "/tracing/worklist?state=all", "/door-to-door/cards?unit=27991")
		}
		client := e.srv.Client()
		if user != "" {
			client = e.browser(t, user)
		}
		_, home := get(t, client, e.srv.URL+"/")
		nav, _, _ := strings.Cut(home[strings.Index(home, "<nav>"):], "</nav>")
		for _, m := range navLink.FindAllStringSubmatch(nav, -1) {
			pages = append(pages, m[1])
		}
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+p), chromedp.WaitReady(`footer`)); err != nil {
				t.Fatalf("%s %s: %v", user, p, err)
			}
			if bad := evalJS(t, ctx, overflowJS); bad != "" {
				viewport(t, ctx, "overflow-"+user+strings.ReplaceAll(p, "/", "-"))
				t.Errorf("%s %s: past the right edge: %s", user, p, bad)
			}
			if bad := evalJS(t, ctx, tidyJS); bad != "" {
				t.Errorf("%s %s: %s", user, p, bad)
			}
		}
		if user != "" {
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/"), inMenu(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=username]`)); err != nil {
				t.Fatalf("%s logout: %v", user, err)
			}
		}
	}
}
