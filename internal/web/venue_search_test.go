package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestVenueSearch: officials find a venue by words of its name or address
// typed without diacritics or capitals, or by the phone it registered with,
// within their own jurisdiction only, narrowed by category and status, in
// the order they choose, counted, a page at a time; the API takes the same
// filters. Wildcards typed are plain characters.
func TestVenueSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		for _, n := range []string{"Quán cơm Bà Tư", "Quán cà phê Đồng Xanh", "Tiệm vàng Kim Long", "Nhà thuốc Đức Tâm"} {
			if code, body := e.do("POST", "/api/v1/venues", "communea", map[string]any{"name": n, "category": "restaurant", "commune_code": "27991",
				"address": "5 Nguyễn Hữu Thọ", "contact_name": "Bà Tư", "contact_phone": "0987000111"}); code != 201 {
				t.Fatalf("%s: %d %s", n, code, body)
			}
		}
		names := func(user, query string) (int, []string) {
			t.Helper()
			code, body := e.do("GET", "/api/v1/venues?"+query, user, nil)
			if code != 200 {
				t.Fatalf("%s %s: %d %s", user, query, code, body)
			}
			var got struct {
				Venues []struct{ Name string }
				Total  int
			}
			json.Unmarshal([]byte(body), &got)
			var out []string
			for _, v := range got.Venues {
				out = append(out, v.Name)
			}
			return got.Total, out
		}
		for _, c := range []struct {
			user, query string
			want        []string
		}{
			{"admin", "q=cho+ben+luc", []string{"Chợ Bến Lức"}},
			{"admin", "q=CHỢ+BẾN+LỨC", []string{"Chợ Bến Lức"}},
			{"admin", "q=ben+luc&sort=name", []string{"Bệnh viện Đa khoa Bến Lức", "Chợ Bến Lức"}},
			{"admin", "q=dong+xanh", []string{"Quán cà phê Đồng Xanh"}},
			{"admin", "q=nguyen+huu+tho&sort=name", []string{"Nhà thuốc Đức Tâm", "Quán cà phê Đồng Xanh", "Quán cơm Bà Tư", "Tiệm vàng Kim Long"}},
			{"admin", "q=0987+000+111&category=restaurant&sort=name", []string{"Nhà thuốc Đức Tâm", "Quán cà phê Đồng Xanh", "Quán cơm Bà Tư", "Tiệm vàng Kim Long"}},
			{"admin", "q=%25", nil},
			{"admin", "q=_", nil},
			{"communeb", "q=cho+ben+luc", nil}, // another commune's market
			{"hanoi", "q=cho", []string{"Chợ Hàng Da"}},
			{"admin", "q=cho&status=pending", nil},
		} {
			total, got := names(c.user, c.query)
			if strings.Join(got, "|") != strings.Join(c.want, "|") || total != len(c.want) {
				t.Errorf("%s %s: %d %q, want %q", c.user, c.query, total, got, c.want)
			}
		}
		// Paging: two pages of two, the total the same on both, nothing twice.
		t1, p1 := names("admin", "q=nguyen+huu+tho&sort=name&limit=2")
		t2, p2 := names("admin", "q=nguyen+huu+tho&sort=name&limit=2&offset=2")
		if t1 != 4 || t2 != 4 || strings.Join(append(p1, p2...), "|") != "Nhà thuốc Đức Tâm|Quán cà phê Đồng Xanh|Quán cơm Bà Tư|Tiệm vàng Kim Long" {
			t.Fatalf("pages: %d %q, %d %q", t1, p1, t2, p2)
		}
		if code, body := e.do("GET", "/api/v1/venues?sort=price", "admin", nil); code != 400 || !strings.Contains(body, `"sort"`) {
			t.Fatalf("bad sort: %d %s", code, body)
		}
		// Days registered, and the district narrowed to one commune.
		today := time.Now().In(hcm)
		if n, _ := names("admin", "q=nguyen+huu+tho&from="+today.Format("2006-01-02")); n != 4 {
			t.Errorf("registered today: %d", n)
		}
		if n, _ := names("admin", "q=nguyen+huu+tho&to="+today.AddDate(0, 0, -1).Format("2006-01-02")); n != 0 {
			t.Errorf("registered before today: %d", n)
		}
		if n, _ := names("benluc", "q=nguyen+huu+tho&commune=27994"); n != 0 {
			t.Errorf("another commune of the district: %d", n)
		}
		if code, body := e.do("GET", "/api/v1/venues?from=05/12/2026", "admin", nil); code != 400 || !strings.Contains(body, `"from"`) {
			t.Errorf("bad date: %d %s", code, body)
		}
		if code, page := get(t, e.browser(t, "benluc"), e.srv.URL+"/venues?to=x"); code != 400 || !strings.Contains(page, "field-error") || !strings.Contains(page, `<option value="27994"`) {
			t.Errorf("bad date on the page: %d", code)
		}
		// The page: the search box keeps what was typed, says how many.
		_, page := get(t, e.browser(t, "communea"), e.srv.URL+"/venues?q=cho+ben+luc")
		if !strings.Contains(page, `value="cho ben luc"`) || !strings.Contains(page, "1 địa điểm") || !strings.Contains(page, "Chợ Bến Lức") || strings.Contains(page, "Quán cơm Bà Tư") {
			t.Fatalf("search page: %s", page)
		}
	})
}
