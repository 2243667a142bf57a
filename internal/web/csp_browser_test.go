package web

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"anticovid/internal/auth"
	"anticovid/internal/doortodoor"
)

// TestBrowserNoCSPViolation loads the main pages in Chromium under the
// server's Content-Security-Policy: no page reports a violation (a
// securitypolicyviolation event, or a console or log message about the
// policy), and each still does its work (scripts ran, charts and map drew).
func TestBrowserNoCSPViolation(t *testing.T) {
	oe, _ := fullServer(t, nil)
	ctx := newBrowser(t, 1280, 900)
	var mu sync.Mutex
	var reports []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Source == "security" || m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy") {
				mu.Lock()
				reports = append(reports, m.String())
				mu.Unlock()
			}
		}
	}()
	// Every page records its violations from the first byte on.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) { window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber); });`})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(oe.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "admin"), chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`)); err != nil {
		t.Fatal(err)
	}
	market := oe.venues["Chợ Bến Lức"]
	door := &doortodoor.Service{DB: oe.db, Vault: oe.vault}
	chair := &auth.Principal{Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}
	if _, err := door.AddHouseholds(context.Background(), chair, "27991", []doortodoor.NewHousehold{{Hamlet: "Ấp 1", Address: "Số 1"}}); err != nil {
		t.Fatal(err)
	}
	team, err := door.AddTeam(context.Background(), chair, "27991", "Hội Phụ nữ", 0)
	if err != nil {
		t.Fatal(err)
	}
	link, _, err := door.Link(context.Background(), chair, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	pages := []struct {
		name, path string
		ready      chromedp.Action[chromedp.Void]
		works      string // JavaScript that is true once the page's scripts did their part
	}{
		{"home", "/", chromedp.WaitVisible(`main`), `!!document.querySelector("script[src^='/static/app.js?v=']")`},
		{"check-in", "/c/" + oe.keys.Sign(market, 1), chromedp.WaitVisible(`main`), `document.readyState === "complete"`},
		{"declaration", "/khai-bao", chromedp.WaitVisible(`form`), `document.readyState === "complete"`},
		{"staff scanner", "/venues/" + itoa64(market) + "/staff", chromedp.WaitVisible(`#start`), `typeof QrScanner === "function"`},
		{"dashboard", "/dashboard", chromedp.WaitVisible(`#byHour`), `typeof Chart === "function" && [...document.querySelectorAll("[data-width]")].every(e => e.style.width !== "")`},
		{"map", "/map", chromedp.WaitVisible(`.leaflet-container`), `!!document.querySelector(".leaflet-container .leaflet-interactive") && document.querySelectorAll("svg#cases rect").length > 0`},
		{"adoption bars", "/adoption", chromedp.WaitVisible(`main`), `[...document.querySelectorAll("[data-width],[data-left]")].every(e => e.style.width !== "" || e.style.left !== "")`},
		{"tracing rules", "/tracing/rules", chromedp.WaitVisible(`#rules`), `document.readyState === "complete"`},
		{"door-to-door", "/door-to-door?unit=27991", chromedp.WaitVisible(`#coverage`), `document.readyState === "complete"`},
		{"door-to-door volunteer", "/di-tung-nha/" + link, chromedp.WaitReady(`#door[data-offline-ready="1"]`), `document.getElementById("door").dataset.ready === "1" && document.querySelectorAll("#households li").length === 1`},
		{"campaigns", "/campaigns", chromedp.WaitVisible(`#newcampaign`), `typeof htmx === "object" && !document.querySelector("head style")`},
	}
	for _, p := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(oe.srv.URL+p.path), p.ready, chromedp.Sleep(400*time.Millisecond)); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		works, err := chromedp.Run(ctx, chromedp.Evaluate[bool](p.works))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		seen, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if !works {
			t.Errorf("%s: the page's scripts did not do their part (%s)", p.name, p.works)
		}
		if len(seen) > 0 {
			t.Errorf("%s: CSP violations %v", p.name, seen)
		}
		mu.Lock()
		if len(reports) > 0 {
			t.Errorf("%s: %v", p.name, reports)
			reports = nil
		}
		mu.Unlock()
	}
}
