package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestJurisdiction proves, for every role, which venues it may read and change,
// through the API and through the pages alike.
func TestJurisdiction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		all := []string{"Chợ Bến Lức", "Bệnh viện Đa khoa Bến Lức", "Trường THCS Thạnh Lợi", "Chợ Phường 5 Tân An", "Chợ Hàng Da"}
		sees := map[string][]string{
			"admin":    all[:4],
			"hanoi":    {"Chợ Hàng Da"},
			"health":   all[:4], // Health traces across every sector
			"trade":    {"Chợ Bến Lức", "Chợ Phường 5 Tân An"},
			"benluc":   all[:3],
			"tanan":    {"Chợ Phường 5 Tân An"},
			"communea": all[:2],
			"communeb": {"Trường THCS Thạnh Lợi"},
			"tracera":  all[:2],
			"managera": {"Chợ Bến Lức"},
		}
		for user, visible := range sees {
			t.Run(user, func(t *testing.T) {
				// The list holds exactly the visible venues.
				code, body := e.do("GET", "/api/v1/venues?limit=100", user, nil)
				var list struct{ Venues []struct{ Name string } }
				json.Unmarshal([]byte(body), &list)
				var names []string
				for _, v := range list.Venues {
					names = append(names, v.Name)
				}
				slices.Sort(names)
				want := slices.Clone(visible)
				slices.Sort(want)
				if code != 200 || !slices.Equal(names, want) {
					t.Errorf("list: %d %v, want %v", code, names, want)
				}
				browser := e.browser(t, user)
				for _, name := range all {
					id := e.venues[name]
					wantCode := http.StatusForbidden
					if slices.Contains(visible, name) {
						wantCode = http.StatusOK
					}
					if code, body := e.do("GET", fmt.Sprintf("/api/v1/venues/%d", id), user, nil); code != wantCode {
						t.Errorf("API %s: %d, want %d: %s", name, code, wantCode, body)
					} else if code == 403 && strings.Contains(body, "0912345678") {
						t.Errorf("API %s: refused but leaked the contact phone", name)
					}
					code, body := get(t, browser, fmt.Sprintf("%s/venues/%d", e.srv.URL, id))
					if code != wantCode || (code == 200) != strings.Contains(body, name) {
						t.Errorf("page %s: %d, want %d", name, code, wantCode)
					}
					// Changing: suspend (officers) — only within jurisdiction.
					code, _ = e.do("POST", fmt.Sprintf("/api/v1/venues/%d/status", id), user, map[string]string{"status": "suspended"})
					if wantCode == 403 && code != 403 {
						t.Errorf("suspend %s outside jurisdiction: %d, want 403", name, code)
					}
				}
			})
		}
		// After all that, venues outside each commune officer's unit are untouched
		// only where every writer was refused: check one that nobody outside may change.
		var status string
		db.R.QueryRow("SELECT status FROM venues WHERE id = $1", e.venues["Chợ Hàng Da"]).Scan(&status)
		if status != "suspended" { // hanoi suspended it: the only one allowed
			t.Errorf("Chợ Hàng Da status %q", status)
		}
		// Creating a venue in someone else's commune is refused, and nothing is stored.
		before := count(t, db, "venues")
		code, _ := e.do("POST", "/api/v1/venues", "communeb", map[string]any{"name": "Quán cà phê", "category": "restaurant", "commune_code": "27991", "address": "x"})
		if code != 403 || count(t, db, "venues") != before {
			t.Errorf("create outside jurisdiction: %d, venues %d→%d", code, before, count(t, db, "venues"))
		}
		code, _ = e.do("GET", "/api/v1/venues?commune=27994", "communea", nil)
		if code != 403 {
			t.Errorf("list another commune: %d, want 403", code)
		}
	})
}

func count(t *testing.T, db *sqldb.DB, table string) int {
	var n int
	if err := db.R.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestScenarios runs HTTP scenarios: method, path, who, body → status and fragments.
func TestScenarios(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	cases := []struct {
		name, method, path, user string
		body                     any
		status                   int
		fragments                []string
	}{
		{"me anonymous", "GET", "/api/v1/me", "", nil, 401, []string{`"error":{"code":"unauthorized"`}},
		{"me", "GET", "/api/v1/me", "communea", nil, 200, []string{`"username":"communea"`, `"role":"commune_officer"`, `"unit_code":"27991"`}},
		{"unit", "GET", "/api/v1/units/80", "", nil, 200, []string{`"name":"Tỉnh Long An"`, `"level":"province"`}},
		{"unit children", "GET", "/api/v1/units/80/children", "", nil, 200, []string{`"code":"794"`, `"code":"808"`, `"name":"Huyện Bến Lức"`}},
		{"unknown unit", "GET", "/api/v1/units/99999", "", nil, 404, []string{`"code":"not_found"`}},
		{"bad bearer", "GET", "/api/v1/me", "nobody", nil, 401, []string{`"unauthorized"`}},
		{"malformed JSON", "POST", "/api/v1/venues", "admin", `{"name": "x",`, 400, []string{`"code":"invalid"`, `"body"`}},
		{"trailing JSON", "POST", "/api/v1/venues", "admin", `{} {}`, 400, []string{`"invalid"`}},
		{"invalid venue", "POST", "/api/v1/venues", "admin", map[string]any{"name": "", "category": "zoo", "commune_code": "123"}, 400,
			[]string{`"name":`, `"category":`, `"commune_code":`}},
		{"event without dates", "POST", "/api/v1/venues", "admin", map[string]any{"name": "Đám cưới", "category": "wedding", "commune_code": "27991"}, 400, []string{`"ends_at"`}},
		{"too large", "POST", "/api/v1/venues", "admin", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, 413, []string{`"too_large"`}},
		{"create venue", "POST", "/api/v1/venues", "admin", map[string]any{"name": "Siêu thị Co.opmart Tân An", "category": "supermarket", "commune_code": "27685", "address": "Số 1 Hùng Vương"}, 201,
			[]string{`"status":"approved"`, `"name":"Siêu thị Co.opmart Tân An"`}},
		{"manager venue pending", "POST", "/api/v1/venues", "managera", map[string]any{"name": "Tạp hóa Cô Ba", "category": "shop", "commune_code": "27991"}, 201, []string{`"status":"pending"`}},
		{"bad status", "POST", "/api/v1/venues/1/status", "admin", map[string]any{"status": "gone"}, 400, []string{`"status"`}},
		{"bad limit", "GET", "/api/v1/venues?limit=-3", "admin", nil, 400, []string{`"limit"`}},
		{"unknown commune filter", "GET", "/api/v1/venues?commune=nope", "admin", nil, 400, []string{`"commune"`}},
		{"venue not found", "GET", "/api/v1/venues/999999", "admin", nil, 404, []string{`"not_found"`}},
		{"unknown API route", "GET", "/api/v1/nothing", "", nil, 404, []string{`"not_found"`}},
		{"categories", "GET", "/api/v1/venue-categories", "", nil, 200, []string{`"code":"market"`, `"name":"Chợ đầu mối, chợ dân sinh"`, `"code":"ferry"`}},
		{"audit forbidden", "GET", "/api/v1/audit", "communea", nil, 403, []string{`"forbidden"`}},
		{"healthz", "GET", "/healthz", "", nil, 200, []string{`"status":"ok"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.do(c.method, c.path, c.user, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, body)
			}
			for _, f := range c.fragments {
				if !strings.Contains(body, f) {
					t.Errorf("body lacks %s: %s", f, body)
				}
			}
		})
	}
}
