package web

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/exposure"
	"anticovid/internal/store/storetest"
)

// TestBrowserAdoption: the province admin opens the adoption page on a phone:
// districts furthest behind first, a chart; then a district's communes; and
// a tracer opens an F0's Bluetooth contacts.
func TestBrowserAdoption(t *testing.T) {
	db := storetest.SQLite(t)
	e := newBTEnv(t, db)
	ctx := context.Background()
	now := time.Now()
	phones := bluezone.SimPhones(4, 300, now, []string{"27991", "27994", "27685", "27688"})
	persons, err := bluezone.BulkRegister(ctx, db, e.vault, phones, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	ad := adoption.NewService(db, e.bz)
	admin := &auth.Principal{UserID: 1, Role: auth.ProvinceAdmin, Unit: "80"}
	csv := "commune_code,smartphone_users\n27991,150\n27994,400\n27685,100\n27688,160\n"
	if _, err := ad.Import(ctx, admin, strings.NewReader(csv), "la.csv"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 390, 844)
	err = chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/login?next=/adoption"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "admin"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`.bars`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, b, "adoption-province")
	viewport(t, b, "adoption-province-top")
	if h := text(t, b, "h1"); h != "Tỷ lệ cài đặt Bluezone · Tỉnh Long An" {
		t.Fatalf("heading %q", h)
	}
	// Bến Lức: 150 of 550 (27%); Tân An: 150 of 260 (58%): Bến Lức first.
	first := text(t, b, "#adoption tbody tr:first-child td:first-child")
	second := text(t, b, "#adoption tbody tr:nth-child(2) td:first-child")
	if !strings.Contains(first, "Bến Lức") || !strings.Contains(second, "Tân An") {
		t.Fatalf("order: %q, %q", first, second)
	}
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/adoption?unit=803"), chromedp.WaitVisible(`#adoption`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, b, "adoption-district")
	viewport(t, b, "adoption-district-top")
	for _, sel := range []string{".bars", "#adoption"} {
		if err := chromedp.Do(b, chromedp.ScrollIntoView(sel)); err != nil {
			t.Fatal(err)
		}
		viewport(t, b, "adoption-district"+strings.ReplaceAll(strings.ReplaceAll(sel, ".", "-"), "#", "-"))
	}
	if first := text(t, b, "#adoption tbody tr:first-child td:first-child"); !strings.Contains(first, "Thạnh Lợi") {
		t.Fatalf("furthest behind commune of Bến Lức: %q", first)
	}
	// A tracer's view of an F0's contacts.
	rows, near := bluezone.SimLog(phones, bluezone.SimLogSpec{F0: 0, Days: 2, IDsPerDay: 20, RegisteredShare: 0.6, Seed: 2, Now: now})
	tracer := auth.WithPrincipal(ctx, &auth.Principal{UserID: 9, Role: auth.HealthTracer, Unit: "27991"})
	code, _, err := e.bz.Codes.Issue(tracer, auth.From(tracer), exposure.PurposeBluezoneLog, persons[0], time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.bz.UploadLog(ctx, code, "test", rows); err != nil {
		t.Fatal(err)
	}
	b2 := newBrowser(t, 390, 844)
	err = chromedp.Do(b2,
		chromedp.Navigate(e.srv.URL+fmt.Sprintf("/login?next=/bluezone?person=%d", persons[0])),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "tracera"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`#contacts`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, b2, "bluezone-contacts")
	if err := chromedp.Do(b2, chromedp.ScrollIntoView("#contacts")); err != nil {
		t.Fatal(err)
	}
	viewport(t, b2, "bluezone-contacts-table")
	if body := text(t, b2, "#contacts"); strings.Count(body, "Người thử nghiệm") != len(near) || !strings.Contains(body, "dBm") {
		t.Fatalf("contacts table (%d near): %s", len(near), body)
	}
	// The F0 is named by their phone, as the tracer knows them.
	err = chromedp.Do(b2, chromedp.SetValue(`form[action="/bluezone/codes"] input[name=who]`, phones[4].Phone), chromedp.Click(`form[action="/bluezone/codes"] button`), chromedp.WaitVisible(`#issued-code`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, b2, "bluezone-code")
	if got := text(t, b2, "#issued-code .code"); !regexp.MustCompile(`^\d{10}$`).MatchString(got) {
		t.Fatalf("issued code %q", got)
	}
	if got := text(t, b2, "#issued-code"); !strings.Contains(got, phones[4].Phone[len(phones[4].Phone)-3:]) || strings.Contains(got, "#") {
		t.Fatalf("issued for %q, want the F0's name and phone, no internal id", got)
	}
}
