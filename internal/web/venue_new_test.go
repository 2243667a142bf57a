package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
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

// TestVenueNewFormOnce: the form carries an idempotency key, so a double
// submit, or the same form sent again after an error was corrected, adds
// one venue and shows the first; another officer replaying the key gets
// neither a venue of their own nor a look at the first.
func TestVenueNewFormOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		b := e.browser(t, "communea")
		_, page := get(t, b, e.srv.URL+"/venues/new")
		m := regexp.MustCompile(`<input type="hidden" name="id" value="([0-9a-f-]{36})" autocomplete="off">`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("the form carries no id: %s", page)
		}
		if _, again := get(t, b, e.srv.URL+"/venues/new"); strings.Contains(again, m[1]) {
			t.Fatal("two forms carry the same id")
		}
		form := url.Values{"id": {m[1]}, "name": {"Nhà thuốc Long Châu"}, "category": {"shop"}, "commune_code": {"27991"}, "address": {"5 Nguyễn Huệ"}}
		// A mistake first: the page sent back keeps the id.
		bad := url.Values{"id": {m[1]}, "category": {"shop"}, "commune_code": {"27991"}}
		if code, _, page := sendForm(t, b, e.srv.URL+"/venues/new", bad); code != 400 || !strings.Contains(page, `name="id" value="`+m[1]+`"`) {
			t.Fatalf("bad input: %d, id kept %v", code, strings.Contains(page, m[1]))
		}
		code, first, _ := sendForm(t, b, e.srv.URL+"/venues/new", form)
		code2, second, page := sendForm(t, b, e.srv.URL+"/venues/new", form)
		if code != 200 || code2 != 200 || !strings.HasPrefix(first, "/venues/") || second != first || !strings.Contains(page, "Nhà thuốc Long Châu") {
			t.Fatalf("submitted twice: %d %s, then %d %s", code, first, code2, second)
		}
		count := func() int {
			var n int
			db.R.QueryRow("SELECT count(*) FROM venues WHERE name = $1", "Nhà thuốc Long Châu").Scan(&n)
			return n
		}
		if n := count(); n != 1 {
			t.Fatalf("%d venues after a double submit, want 1", n)
		}
		// A new form is a new venue.
		_, page = get(t, b, e.srv.URL+"/venues/new")
		form.Set("id", regexp.MustCompile(`name="id" value="([0-9a-f-]{36})"`).FindStringSubmatch(page)[1])
		if code, path, _ := sendForm(t, b, e.srv.URL+"/venues/new", form); code != 200 || path == first || count() != 2 {
			t.Fatalf("a second form: %d %s, %d venues", code, path, count())
		}
		// The first form kept by the browser and filled in with another
		// venue: refused with a new id, and sent again it adds that venue.
		kept := url.Values{"id": {m[1]}, "name": {"Quán cà phê Gió"}, "category": {"shop"}, "commune_code": {"27991"}, "address": {"9 Nguyễn Huệ"}}
		code, _, page = sendForm(t, b, e.srv.URL+"/venues/new", kept)
		fresh := regexp.MustCompile(`name="id" value="([0-9a-f-]{36})"`).FindStringSubmatch(page)
		if code != 400 || !strings.Contains(page, "đã thêm một địa điểm khác") || fresh == nil || fresh[1] == m[1] || strings.Contains(page, "Nhà thuốc Long Châu") {
			t.Fatalf("a used form with another venue: %d, new id %v", code, fresh)
		}
		kept.Set("id", fresh[1])
		if code, path, page := sendForm(t, b, e.srv.URL+"/venues/new", kept); code != 200 || path == first || !strings.Contains(page, "Quán cà phê Gió") {
			t.Fatalf("sent again with the new id: %d %s", code, path)
		}
		// Another officer's form with the same id is theirs: their venue,
		// never the first.
		other := url.Values{"id": {m[1]}, "name": {"Chợ Thạnh Lợi"}, "category": {"market"}, "commune_code": {"27994"}, "address": {"Ấp 3"}}
		if code, path, page := sendForm(t, e.browser(t, "communeb"), e.srv.URL+"/venues/new", other); code != 200 || path == first || strings.Contains(page, "Nhà thuốc Long Châu") {
			t.Fatalf("another officer's id: %d %s", code, path)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d venues named Nhà thuốc Long Châu, want 2", n)
		}
		// Keys that are not a form's are refused, not stored.
		for _, id := range []string{strings.Repeat("x", 65), "x", "a\x00bcdefgh", "abcdefgh\xff", "ab cd ef gh"} {
			form.Set("id", id)
			if code, _, _ := sendForm(t, b, e.srv.URL+"/venues/new", form); code != 400 || count() != 2 {
				t.Fatalf("key %q: %d, %d venues", id, code, count())
			}
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
