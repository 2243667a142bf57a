package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
)

// A police officer asks for a case's contacts from its page on a phone
// (360×740), and the province administrator approves it on theirs; then
// the case page shows the contacts through the grant.
func TestBrowserGrants(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	grantUsers(t, e)
	f := newTraceFixture(t, e)
	a := newCase(t, e, "0911000001", day(f.now, 1))
	// login signs in through the form, on a fresh browser (its own cookies),
	// and waits until the login page is gone (the header is on it too: a
	// navigation right after would cut the sign-in's redirect).
	login := func(user, next string) context.Context {
		ctx := newBrowser(t, 360, 740)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+next), chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, user), chromedp.SendKeys(`input[name=password]`, testPassword),
			chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`)); err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
		return ctx
	}
	casePath := fmt.Sprintf("/cases/%d", a)
	ctx := login("police", casePath)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+casePath), chromedp.WaitVisible(`#access-form`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "main"); strings.Contains(body, "Trần Thị Hạnh") || !strings.Contains(body, "Yêu cầu quyền truy cập") {
		t.Fatalf("police case page:\n%s", body)
	}
	// Nothing wider than the phone: the form fits.
	if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("case page is %s px wide on a 360 px phone", w)
	}
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(`#access-form`),
		chromedp.SendKeys(`#access-form textarea[name=purpose]`, "Xác minh người tiếp xúc ổ dịch chợ Bến Lức")); err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, "grants-request-form")
	screenshot(t, ctx, "grants-case-police")
	if err := chromedp.Do(ctx, chromedp.Click(`#access-form button[type=submit]`), chromedp.WaitVisible(`#my-grants`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "#my-grants"); !strings.Contains(body, "Chờ duyệt") || !strings.Contains(body, "ổ dịch chợ Bến Lức") {
		t.Fatalf("my requests: %s", body)
	}
	screenshot(t, ctx, "grants-mine")

	ctx = login("admin", "/access/requests")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/access/requests"), chromedp.WaitVisible(`#pending`)); err != nil {
		t.Fatal(err)
	}
	if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("admin page is %s px wide on a 360 px phone", w)
	}
	screenshot(t, ctx, "grants-admin-pending")
	if err := chromedp.Do(ctx, chromedp.Click(`#pending form[action$="/approve"] button`), chromedp.WaitVisible(`#open li.approved`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "#open"); !strings.Contains(body, "police") || !strings.Contains(body, "hết hạn") {
		t.Errorf("open grants: %s", body)
	}
	screenshot(t, ctx, "grants-admin-open")

	ctx = login("police", casePath)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+casePath), chromedp.WaitVisible(`#contacts-table`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "Trần Thị Hạnh") || !strings.Contains(body, "Đang xem theo cấp quyền") {
		t.Errorf("case page through the grant:\n%s", body)
	}
	screenshot(t, ctx, "grants-case-granted")
}
