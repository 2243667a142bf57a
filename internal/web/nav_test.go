package web

import (
	"html"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"anticovid/internal/msg"
)

// screens are the pages an official may be sent to from a menu or a page.
var screens = []string{"/venues", "/activity", "/audit", "/messages", "/adoption", "/bluezone", "/declarations/worklist",
	"/cases", "/tracing/worklist", "/checkins/held", "/dashboard", "/reports", "/cameras", "/campaigns", "/map",
	"/meetings", "/press", "/press/releases", "/access", "/access/requests", "/accounts", "/account", "/venues/import", "/cases/import", "/tracing/rules", "/map/areas"}

var linkRE = regexp.MustCompile(`<a [^>]*href="(/[a-z/-]*)"`)

// Every role's menu shows exactly what it may use: each menu link opens
// (no 403 behind a link), and every screen the role may open is in the menu
// or one link away from a screen in it (a redirect is not a screen).
func TestMenuMatchesPermissions(t *testing.T) {
	oe, _ := fullServer(t, nil)
	opens := func(code int) bool { return code == http.StatusOK || code == http.StatusSeeOther }
	for _, a := range accounts {
		if a.Username == "hanoi" { // another province's administrator: as admin
			continue
		}
		c := oe.browser(t, a.Username)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		_, home := get(t, c, oe.srv.URL+"/")
		nav := home[strings.Index(home, "<nav>"):strings.Index(home, "</nav>")]
		inMenu, reachable := map[string]bool{}, map[string]bool{}
		for _, m := range linkRE.FindAllStringSubmatch(nav, -1) {
			inMenu[m[1]], reachable[m[1]] = true, true
		}
		for _, m := range linkRE.FindAllStringSubmatch(home, -1) {
			reachable[m[1]] = true
		}
		for p := range inMenu {
			code, page := get(t, c, oe.srv.URL+p)
			if !opens(code) {
				t.Errorf("%s (%s): the menu links %s, which answers %d", a.Username, a.Role, p, code)
			}
			for _, m := range linkRE.FindAllStringSubmatch(page, -1) {
				reachable[m[1]] = true
			}
		}
		for _, p := range screens {
			if code, _ := get(t, c, oe.srv.URL+p); code == http.StatusOK && !reachable[p] {
				t.Errorf("%s (%s): %s opens (%d) but no menu or page links it", a.Username, a.Role, p, code)
			}
		}
		if a.Role == "commune_officer" || a.Role == "district_officer" {
			if !inMenu["/tracing/worklist"] || !inMenu["/cases"] {
				t.Errorf("%s: the tracing worklist is not in the menu", a.Username)
			}
		}
	}
	for _, it := range append(menu, publicMenu...) {
		if _, ok := msg.Lookup(it.Key); !ok {
			t.Errorf("menu entry %s: no message %q", it.Path, it.Key)
		}
	}
	// A visitor's menu: the declaration form and the public map.
	_, home := get(t, http.DefaultClient, oe.srv.URL+"/login")
	nav := home[strings.Index(home, "<nav>"):strings.Index(home, "</nav>")]
	for _, p := range []string{"/khai-bao", "/map", "/login"} {
		if !strings.Contains(nav, `href="`+p+`"`) {
			t.Errorf("visitor's menu lacks %s", p)
		}
	}
}

// sendingAction matches the forms that send messages or change what cannot
// simply be changed back: closing a venue or case, sending, cancelling,
// disabling, resetting, revoking, deleting, ending.
var sendingAction = regexp.MustCompile(`(?s)<form [^>]*action="(/campaigns|[^"]*/(status|send|cancel|disable|reset-password|reset-totp|notify-venues|revoke|delete|end|reissue|publish))"[^>]*>.*?</form>`)

// Each such form asks first (app.js shows data-confirm, of the form or of
// the button pressed, before it submits),
// and a call's outcome is chosen, never pre-selected.
func TestActionsAskFirst(t *testing.T) {
	names, _ := fs.Glob(templateFS, "templates/*.html")
	n := 0
	for _, name := range names {
		b, _ := fs.ReadFile(templateFS, name)
		for _, form := range sendingAction.FindAllString(string(b), -1) {
			n++
			if !strings.Contains(form, "data-confirm=") {
				t.Errorf("%s: %.200s submits without asking", name, form)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d sending forms found", n)
	}
	b, _ := fs.ReadFile(templateFS, "templates/tracing_worklist.html")
	if !regexp.MustCompile(`<select name="outcome" required[^>]*><option value="" selected disabled>`).Match(b) {
		t.Error("the call outcome is pre-selected")
	}
}

// deepLinkRE is any link to a page of this site, with its query.
var deepLinkRE = regexp.MustCompile(`<a [^>]*href="(/[^"#]*)"`)

// TestNoDeadEnds: no role is led to a page it may not open. From each
// role's home, every link on every page it reaches (three steps deep, with
// a case, venues and contacts to link to) answers; never 403, 404 or a
// server error behind a link the role was shown.
func TestNoDeadEnds(t *testing.T) {
	oe, _ := fullServer(t, nil)
	f := newTraceFixture(t, oe.env)
	if code, body := oe.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 1)}); code != 201 {
		t.Fatalf("case: %d %s", code, body)
	}
	for _, a := range accounts {
		if a.Username == "hanoi" { // another province's administrator, as in TestMenuMatchesPermissions
			continue
		}
		c := oe.browser(t, a.Username)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		seen := map[string]bool{"/": true}
		from := map[string]string{}
		level := []string{"/"}
		for depth := 0; depth < 3 && len(level) > 0; depth++ {
			var next []string
			for _, p := range level {
				code, page := get(t, c, oe.srv.URL+p)
				if code == http.StatusForbidden || code == http.StatusNotFound || code >= 500 {
					t.Errorf("%s (%s): %s answers %d, linked from %s", a.Username, a.Role, p, code, from[p])
					continue
				}
				for _, m := range deepLinkRE.FindAllStringSubmatch(page, -1) {
					l := html.UnescapeString(m[1])
					if seen[l] || len(seen) > 400 || strings.HasPrefix(l, "/static/") || strings.HasPrefix(l, "/c/") || strings.HasPrefix(l, "/logout") {
						continue
					}
					seen[l], from[l] = true, p
					next = append(next, l)
				}
			}
			level = next
		}
	}
}
