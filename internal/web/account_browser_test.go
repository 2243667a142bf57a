package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"anticovid/internal/store/storetest"
)

// TestBrowserAccountPages: on a 360 px phone a province administrator is
// sent to enrolment at the first login, scans (here: reads) the secret, gets
// the recovery codes and sees their sessions; no page is wider than the
// screen. Screenshots go to ANTICOVID_SCREENSHOTS.
func TestBrowserAccountPages(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.auth.EnrolOptional = false
	ctx := newBrowser(t, 360, 740)
	fits := func(page string) {
		t.Helper()
		if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
			t.Errorf("%s is %s px wide on a 360 px screen", page, w)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "admin"), chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`), chromedp.WaitVisible(`#totp-qr`)); err != nil {
		t.Fatal(err)
	}
	if loaded := evalJS(t, ctx, `String(document.querySelector('#totp-qr').naturalWidth > 0)`); loaded != "true" {
		t.Fatal("the QR code did not load")
	}
	if h := text(t, ctx, "h1"); h != "Bật xác thực hai lớp" {
		t.Fatalf("heading %q", h)
	}
	fits("enrolment")
	viewport(t, ctx, "account-enrol")
	secret := text(t, ctx, "#totp-secret")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`input[name=code]`, code), chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`#codes`)); err != nil {
		t.Fatal(err)
	}
	if n := evalJS(t, ctx, `String(document.querySelectorAll('#codes li').length)`); n != "10" {
		t.Fatalf("%s recovery codes", n)
	}
	fits("recovery codes")
	screenshot(t, ctx, "account-codes")
	if err := chromedp.Do(ctx, chromedp.Click(`a.button`), chromedp.WaitNotPresent(`#codes`),
		chromedp.Navigate(e.srv.URL+"/account"), chromedp.WaitVisible(`#sessions`)); err != nil {
		t.Fatal(err)
	}
	body := text(t, ctx, "main")
	for _, want := range []string{"Phiên đăng nhập và mã API", "Trình duyệt", "phiên này", "Mã API", "Đổi mật khẩu", "Số mã khôi phục còn lại: 10"} {
		if !strings.Contains(body, want) {
			t.Errorf("sessions page lacks %q:\n%s", want, body)
		}
	}
	fits("sessions")
	screenshot(t, ctx, "account-sessions")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/accounts"), chromedp.WaitVisible(`#accounts`)); err != nil {
		t.Fatal(err)
	}
	fits("accounts")
	screenshot(t, ctx, "accounts")
}
