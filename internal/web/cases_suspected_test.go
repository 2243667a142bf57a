package web

import (
	"net/url"
	"strings"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestSuspectedCasePages: the commune officer registers a suspected case
// from the form it is shown (F0 only), sees its F1s on the worklist, and has
// no confirm button; the district officer confirms it from the case page.
func TestSuspectedCasePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		commune := e.browser(t, "communea")
		_, page := get(t, commune, e.srv.URL+"/cases")
		form, _, _ := strings.Cut(page[max(strings.Index(page, `<form method="post" action="/cases"`), 0):], "</form>")
		if !strings.Contains(form, `action="/cases"`) || strings.Contains(form, `<option value="F1"`) || !strings.Contains(form, "(nghi nhiễm, chờ xác nhận)") {
			t.Fatalf("commune's registration form: %s", page)
		}
		code, path, page := sendForm(t, commune, e.srv.URL+"/cases", url.Values{"phone": {"0911000001"}, "status": {"F0"}, "sample_date": {day(f.now, 1)}})
		if code != 200 || !strings.HasPrefix(path, "/cases/") || !strings.Contains(page, `id="suspected"`) || strings.Contains(page, `id="confirm-f0"`) ||
			!strings.Contains(page, "Chưa xác nhận") {
			t.Fatalf("registered: %d %s %s", code, path, page)
		}
		id := strings.TrimPrefix(path, "/cases/")
		if _, page = get(t, commune, e.srv.URL+"/tracing/worklist?case="+id+"&state=all"); !strings.Contains(page, "Trần Thị Hạnh") {
			t.Fatalf("the commune's F1 is not on its worklist: %s", page)
		}
		if code, _ := e.do("POST", "/api/v1/cases/"+id+"/confirm", "communea", nil); code != 403 {
			t.Fatalf("commune confirmed: %d", code)
		}
		district := e.browser(t, "benluc")
		if _, page = get(t, district, e.srv.URL+"/cases/"+id); !strings.Contains(page, `id="confirm-f0"`) {
			t.Fatalf("district's case page has no confirm button: %s", page)
		}
		code, _, page = sendForm(t, district, e.srv.URL+"/cases/"+id+"/confirm", nil)
		if code != 200 || strings.Contains(page, `id="suspected"`) || !strings.Contains(page, "benluc") {
			t.Fatalf("confirmed: %d %s", code, page)
		}
		if code, body := e.do("GET", "/api/v1/cases/"+id, "admin", nil); code != 200 || strings.Contains(body, `"suspected":true`) || !strings.Contains(body, `"from":"suspected","to":"F0"`) || !strings.Contains(body, `"confirmed_by_name":"benluc"`) {
			t.Fatalf("api after confirmation: %d %s", code, body)
		}
	})
}
