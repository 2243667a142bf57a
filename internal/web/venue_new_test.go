package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"anticovid/internal/config"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestVenueNewForm: an officer adds one venue from a form offering only
// their jurisdiction's communes; it is approved at once and found by search;
// bad input comes back on the form in one language; a commune outside the
// jurisdiction is refused; a venue manager has no such form.
func TestVenueNewForm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		b := e.browser(t, "communea")
		code, page := get(t, b, e.srv.URL+"/venues/new")
		if code != 200 || !strings.Contains(page, `value="27991"`) || strings.Contains(page, `value="27994"`) || !strings.Contains(page, `name="lat"`) {
			t.Fatalf("form: %d %s", code, page)
		}
		form := url.Values{"name": {"Tiệm thuốc Nam Hưng"}, "category": {"shop"}, "commune_code": {"27991"}, "address": {"12 Nguyễn Trung Trực"},
			"contact_name": {"Anh Hưng"}, "contact_phone": {"0912 555 666"}, "lat": {"10,6368"}, "lon": {"106.4893"}}
		code, path, page := sendForm(t, b, e.srv.URL+"/venues/new", form)
		if code != 200 || !strings.HasPrefix(path, "/venues/") || !strings.Contains(page, "Tiệm thuốc Nam Hưng") || !strings.Contains(page, "Đã duyệt") {
			t.Fatalf("created: %d %s %s", code, path, page)
		}
		if c, body := e.do("GET", "/api/v1/venues?q=nam+hung", "communea", nil); c != 200 || !strings.Contains(body, `"lat":10.6368`) || !strings.Contains(body, `"total":1`) {
			t.Fatalf("search: %d %s", c, body)
		}
		bad := url.Values{"category": {"shop"}, "commune_code": {"27991"}, "contact_phone": {"12"}}
		code, _, page = sendForm(t, b, e.srv.URL+"/venues/new", bad)
		if code != 400 || !strings.Contains(page, `id="errors"`) || strings.Contains(page, " / ") || !strings.Contains(page, `value="12"`) {
			t.Fatalf("bad input: %d %s", code, page)
		}
		nan := url.Values{"name": {"Quán NaN"}, "category": {"shop"}, "commune_code": {"27991"}, "address": {"1 Lê Lợi"}, "lat": {"NaN"}, "lon": {"106.4"}}
		if code, _, page = sendForm(t, b, e.srv.URL+"/venues/new", nan); code != 400 || !strings.Contains(page, `id="errors"`) {
			t.Fatalf("NaN coordinates: %d", code)
		}
		other := url.Values{"name": {"Chợ Thạnh Lợi"}, "category": {"market"}, "commune_code": {"27994"}, "address": {"Ấp 3"}}
		if code, _, _ = sendForm(t, b, e.srv.URL+"/venues/new", other); code != 403 {
			t.Fatalf("another commune's venue: %d", code)
		}
		if code, _ := get(t, e.browser(t, "managera"), e.srv.URL+"/venues/new"); code != 403 {
			t.Fatalf("venue manager's form: %d", code)
		}
	})
}

// TestBrowserVenuePin: with map tiles configured, an officer on a 360-px
// phone places the new venue with a tap on the map; the pin's point is what
// is stored.
func TestBrowserVenuePin(t *testing.T) {
	tiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(testPNG)
	}))
	t.Cleanup(tiles.Close)
	e := newEnvConfig(t, storetest.SQLite(t), func(c *config.Config) { c.MapTiles = tiles.URL + "/{z}/{x}/{y}.png" })
	ctx := newBrowser(t, 360, 740)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "communea"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitNotPresent(`input[name=password]`),
		chromedp.Navigate(e.srv.URL+"/venues/new"),
		chromedp.WaitVisible(`#pin-map .leaflet-tile-loaded`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(`#pin-map`), chromedp.Click(`#pin-map`), chromedp.WaitVisible(`#pin-map .leaflet-marker-icon`)); err != nil {
		t.Fatal(err)
	}
	viewport(t, ctx, "venue-pin-360")
	lat, lon := evalJS(t, ctx, `document.getElementById("lat").value`), evalJS(t, ctx, `document.getElementById("lon").value`)
	if lat == "" || lon == "" {
		t.Fatalf("the tap set no point: %q %q", lat, lon)
	}
	if w := evalJS(t, ctx, `String(document.documentElement.scrollWidth)`); w != "360" {
		t.Fatalf("the form is %s px wide", w)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`input[name=name]`, "Quán bún Cô Ba"),
		chromedp.SetValue(`#category`, "restaurant"),
		chromedp.SetValue(`#commune`, "27991"),
		chromedp.SendKeys(`input[name=address]`, "3 Nguyễn Hữu Thọ"),
		chromedp.Click(`#submit`),
		chromedp.WaitVisible(`#qr`),
	)
	if err != nil {
		t.Fatal(err)
	}
	code, body := e.do("GET", "/api/v1/venues?q=bun+co+ba", "communea", nil)
	if code != 200 || !strings.Contains(body, `"lat":`+strings.TrimRight(strings.TrimRight(lat, "0"), ".")) {
		t.Fatalf("stored point (%s, %s): %s", lat, lon, body)
	}
}
