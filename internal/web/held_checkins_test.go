package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"anticovid/internal/checkin"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.R.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestHeldCheckins: a scan that cannot be physical is answered like any
// other, kept out of visits, and shown to the venue's commune (and those
// above it) only, who release or reject it; every list is audited.
func TestHeldCheckins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		person := map[string]any{"name": "Lê Văn Cường", "phone": "0987654321", "birth_year": 1979, "commune_code": "00004"}
		code, body := e.do("POST", "/api/v1/checkins", "", map[string]any{"id": "heldweb-0001", "direction": "in",
			"token": e.keys.Sign(e.venues["Chợ Hàng Da"], 1), "person": person})
		if code != 201 {
			t.Fatalf("Hà Nội: %d %s", code, body)
		}
		var first checkin.Result
		json.Unmarshal([]byte(body), &first)
		// Seconds later the same phone "is" at Bến Lức's market: held, and
		// answered exactly as an accepted scan.
		code, body = e.do("POST", "/api/v1/checkins", "", map[string]any{"id": "heldweb-0002", "direction": "in",
			"token": e.keys.Sign(e.venues["Chợ Bến Lức"], 1), "person_token": first.PersonToken})
		if code != 201 || !strings.Contains(body, `"created":true`) || !strings.Contains(body, `"venue_name":"Chợ Bến Lức"`) || strings.Contains(body, "reason") {
			t.Fatalf("held scan: %d %s", code, body)
		}
		if n := e.count("SELECT count(*) FROM visits WHERE id = 'heldweb-0002'"); n != 0 {
			t.Fatal("held scan in visits")
		}
		cases := []struct {
			name, method, path, user string
			status                   int
			want, not                []string
		}{
			{"anonymous", "GET", "/api/v1/checkins/held", "", 401, nil, nil},
			{"venue manager", "GET", "/api/v1/checkins/held", "managera", 403, nil, nil},
			{"the venue's commune", "GET", "/api/v1/checkins/held", "communea", 200, []string{`"reason":"speed"`, `"venue_name":"Chợ Bến Lức"`, `"phone":"*******321"`, `"status":"held"`}, []string{"0987654321"}},
			{"its district", "GET", "/api/v1/checkins/held", "benluc", 200, []string{`"visit_id":"heldweb-0002"`}, nil},
			{"its province", "GET", "/api/v1/checkins/held", "admin", 200, []string{`"visit_id":"heldweb-0002"`}, nil},
			{"another commune", "GET", "/api/v1/checkins/held", "communeb", 200, []string{`{"held":[]}`}, nil},
			{"another district", "GET", "/api/v1/checkins/held", "tanan", 200, []string{`{"held":[]}`}, nil},
			{"another commune's unit", "GET", "/api/v1/checkins/held?unit=27991", "communeb", 403, nil, nil},
			{"bad status", "GET", "/api/v1/checkins/held?status=x", "communea", 400, []string{`"status"`}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				code, body := e.do(c.method, c.path, c.user, nil)
				if code != c.status {
					t.Fatalf("%d %s, want %d", code, body, c.status)
				}
				for _, w := range c.want {
					if !strings.Contains(body, w) {
						t.Errorf("missing %s in %s", w, body)
					}
				}
				for _, w := range c.not {
					if strings.Contains(body, w) {
						t.Errorf("%s shown in %s", w, body)
					}
				}
			})
		}
		if n := e.count("SELECT count(*) FROM audit_log WHERE subject = 'visit_held' AND username = 'communea' AND action = 'view'"); n != 1 {
			t.Fatalf("%d audit entries for communea", n)
		}
		var id int64
		db.R.QueryRow("SELECT id FROM visits_held WHERE visit_id = 'heldweb-0002'").Scan(&id)
		release := "/api/v1/checkins/held/" + strconv.FormatInt(id, 10) + "/release"
		for _, u := range []string{"communeb", "tanan", "hanoi"} {
			if code, body := e.do("POST", release, u, nil); code != 404 {
				t.Fatalf("%s released: %d %s", u, code, body)
			}
		}
		if code, body := e.do("POST", release, "managera", nil); code != 403 {
			t.Fatalf("manager released: %d %s", code, body)
		}
		// The page: the commune sees the reason in words and releases it.
		b := e.browser(t, "communea")
		code, page := get(t, b, e.srv.URL+"/checkins/held")
		if code != 200 || !strings.Contains(page, "Chợ Bến Lức") || !strings.Contains(page, "*******321") || !strings.Contains(page, "Ở tỉnh khác với lượt quét trước") {
			t.Fatalf("page: %d %s", code, page)
		}
		if code, home := get(t, b, e.srv.URL+"/"); code != 200 || !strings.Contains(home, `href="/checkins/held"`) {
			t.Fatalf("home page has no link: %d", code)
		}
		resp, err := b.PostForm(e.srv.URL+"/checkins/held/"+strconv.FormatInt(id, 10)+"/release", url.Values{"back": {"status=held"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Query().Get("done") != strconv.FormatInt(id, 10) {
			t.Fatalf("release form: %d %s", resp.StatusCode, resp.Request.URL)
		}
		if n := e.count("SELECT count(*) FROM visits WHERE id = 'heldweb-0002'"); n != 1 {
			t.Fatal("released scan not in visits")
		}
		if code, _ := e.do("POST", "/api/v1/checkins/held/"+strconv.FormatInt(id, 10)+"/reject", "communea", nil); code != 409 {
			t.Fatalf("decided twice: %d", code)
		}
		// Staff scans many people at a venue from one device: never a burst.
		for i := range checkin.BurstPeople + 5 {
			code, body := e.do("POST", fmt.Sprintf("/api/v1/venues/%d/scans", e.venues["Chợ Bến Lức"]), "managera",
				map[string]any{"id": fmt.Sprintf("staffweb-%04d", i), "direction": "in", "phone": fmt.Sprintf("0966%06d", i), "name": "Khách", "birth_year": 1970})
			if code != 201 {
				t.Fatalf("staff scan %d: %d %s", i, code, body)
			}
		}
		// Citizens typing details from one address at one venue: the first
		// BurstPeople pass, the next is held (and still answered 201).
		tanAn := e.keys.Sign(e.venues["Chợ Phường 5 Tân An"], 1)
		for i := range checkin.BurstPeople + 1 {
			code, body := e.do("POST", "/api/v1/checkins", "", map[string]any{"id": fmt.Sprintf("burstweb-%04d", i), "direction": "in", "token": tanAn,
				"person": map[string]any{"name": "Khách", "phone": fmt.Sprintf("0955%06d", i), "birth_year": 1990, "commune_code": "27685"}})
			if code != 201 {
				t.Fatalf("citizen scan %d: %d %s", i, code, body)
			}
		}
		if n := e.count("SELECT count(*) FROM visits_held WHERE reason = 'burst'"); n != 1 {
			t.Fatalf("%d burst holds, want 1", n)
		}
		if n := e.count("SELECT count(*) FROM visits_held WHERE visit_id LIKE 'staffweb-%'"); n != 0 {
			t.Fatalf("%d staff scans held", n)
		}
	})
}
