package web

import (
	"net/url"
	"strings"
	"testing"

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
		other := url.Values{"name": {"Chợ Thạnh Lợi"}, "category": {"market"}, "commune_code": {"27994"}, "address": {"Ấp 3"}}
		if code, _, _ = sendForm(t, b, e.srv.URL+"/venues/new", other); code != 403 {
			t.Fatalf("another commune's venue: %d", code)
		}
		if code, _ := get(t, e.browser(t, "managera"), e.srv.URL+"/venues/new"); code != 403 {
			t.Fatalf("venue manager's form: %d", code)
		}
	})
}
