package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// traceFixture adds people and visits to an env: an F0 (0911000001) and
// contacts at the market (27991) and the school (27994, another commune).
type traceFixture struct {
	e      *env
	people map[string]int64
	now    time.Time
}

func newTraceFixture(t *testing.T, e *env) *traceFixture {
	t.Helper()
	ctx := context.Background()
	ppl := people.NewService(e.db, e.vault)
	f := &traceFixture{e: e, people: map[string]int64{}, now: time.Now().UTC().Truncate(time.Second)}
	for _, p := range []people.Person{
		{Name: "Nguyễn Văn Tâm", Phone: "0911000001", BirthYear: 1980, Commune: "27991"},
		{Name: "Trần Thị Hạnh", Phone: "0911000002", BirthYear: 1991, Commune: "27991"},
		{Name: "Lê Văn Khánh", Phone: "0911000003", BirthYear: 1972, Commune: "27994"},
		{Name: "Võ Thị Yến", Phone: "0911000004", BirthYear: 1986, Commune: "27994"},
		{Name: "Bùi Văn Long", Phone: "0911000005", BirthYear: 1990, Commune: "00004"},
	} {
		id, err := ppl.FindOrCreate(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		f.people[p.Phone] = id
	}
	f.visit(t, "t-f0-market", "0911000001", "Chợ Bến Lức", 26, 60)
	f.visit(t, "t-hanh-market", "0911000002", "Chợ Bến Lức", 25.8, 45)
	f.visit(t, "t-f0-school", "0911000001", "Trường THCS Thạnh Lợi", 8, 120)
	f.visit(t, "t-khanh-school", "0911000003", "Trường THCS Thạnh Lợi", 7.5, -1)
	return f
}

func (f *traceFixture) visit(t *testing.T, id, phone, venue string, hoursAgo float64, minutes int) {
	t.Helper()
	in := f.now.Add(-time.Duration(hoursAgo * float64(time.Hour))).Unix()
	var out any
	if minutes >= 0 {
		out = in + int64(minutes)*60
	}
	if _, err := f.e.db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in, t_out) VALUES ($1, $2, $3, $4, $5)",
		id, f.e.venues[venue], f.people[phone], in, out); err != nil {
		t.Fatal(err)
	}
}

func day(t time.Time, daysAgo int) string {
	return t.In(hcm).AddDate(0, 0, -daysAgo).Format("2006-01-02")
}

// contactsJSON is the integrators' shape of GET /api/v1/cases/{id}/contacts.
type contactsJSON struct {
	Contacts []struct {
		PersonID       int64   `json:"person_id"`
		Phone          *string `json:"phone"`
		Level          string  `json:"level"`
		VenueID        int64   `json:"venue_id"`
		OverlapMinutes int64   `json:"overlap_minutes"`
		FirstShared    string  `json:"first_shared"`
		LastShared     string  `json:"last_shared"`
		Source         string  `json:"source"`
	} `json:"contacts"`
}

func TestCasesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911 000 001"}, "status": "F0", "sample_date": day(f.now, 1)})
		if code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
		var c struct {
			ID          int64  `json:"id"`
			Status      string `json:"status"`
			CommuneCode string `json:"commune_code"`
		}
		json.Unmarshal([]byte(body), &c)
		if c.ID == 0 || c.Status != "F0" || c.CommuneCode != "27991" {
			t.Fatalf("created %s", body)
		}
		// The admin sees both contacts with phones; the commune tracer sees
		// the phone of the contact in their commune only.
		for _, tc := range []struct {
			user   string
			phones map[string]bool // phone → shown
		}{
			{"admin", map[string]bool{"0911000002": true, "0911000003": true}},
			{"tracera", map[string]bool{"0911000002": true, "0911000003": false}},
		} {
			code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", c.ID), tc.user, nil)
			if code != 200 {
				t.Fatalf("%s contacts: %d %s", tc.user, code, body)
			}
			var got contactsJSON
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Contacts) != 2 {
				t.Fatalf("%s: %d contacts: %s", tc.user, len(got.Contacts), body)
			}
			for _, cj := range got.Contacts {
				var phone string
				for ph, id := range f.people {
					if id == cj.PersonID {
						phone = ph
					}
				}
				shown, ok := tc.phones[phone]
				if !ok || shown != (cj.Phone != nil) || (cj.Phone != nil && *cj.Phone != phone) {
					t.Errorf("%s: contact %s phone %v", tc.user, phone, cj.Phone)
				}
				if cj.Level != "F1" || cj.Source != "qr" || cj.VenueID == 0 || cj.OverlapMinutes <= 0 || cj.FirstShared == "" || cj.LastShared == "" {
					t.Errorf("%s: contact %+v", tc.user, cj)
				}
			}
			if strings.Contains(body, `"phone":null`) == tc.phones["0911000003"] {
				t.Errorf("%s: null phone expected exactly when hidden: %s", tc.user, body)
			}
		}
		// Hạnh shared 45 minutes at the market.
		_, body = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", c.ID), "admin", nil)
		if !strings.Contains(body, fmt.Sprintf(`"person_id":%d,"name":"Trần Thị Hạnh","phone":"0911000002","level":"F1","venue_id":%d,`, f.people["0911000002"], e.venues["Chợ Bến Lức"])) ||
			!strings.Contains(body, `"overlap_minutes":45`) {
			t.Errorf("Hạnh's contact: %s", body)
		}
		// A check-in recorded a second ago counts.
		f.visit(t, "t-f0-now", "0911000001", "Bệnh viện Đa khoa Bến Lức", 0.1, -1)
		f.visit(t, "t-yen-now", "0911000004", "Bệnh viện Đa khoa Bến Lức", 0, -1)
		_, body = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", c.ID), "admin", nil)
		if !strings.Contains(body, fmt.Sprintf(`"person_id":%d,"name":"Võ Thị Yến","phone":"0911000004"`, f.people["0911000004"])) {
			t.Errorf("the fresh check-in is missing: %s", body)
		}
		// A long list comes in pages; the total says how long.
		if _, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts?limit=1&offset=1", c.ID), "admin", nil); !strings.Contains(body, `"total":3`) || strings.Count(body, `"person_id"`) != 1 {
			t.Errorf("page of contacts: %s", body)
		}
		// Worklist, a call, an export.
		code, body = e.do("GET", "/api/v1/worklist?commune=27994", "admin", nil)
		var wl struct {
			Contacts []struct {
				ContactID int64  `json:"contact_id"`
				Name      string `json:"name"`
				Phone     string `json:"phone"`
			} `json:"contacts"`
		}
		json.Unmarshal([]byte(body), &wl)
		if code != 200 || len(wl.Contacts) != 2 || wl.Contacts[0].Phone == "" {
			t.Fatalf("worklist: %d %s", code, body)
		}
		if code, body := e.do("POST", fmt.Sprintf("/api/v1/contacts/%d/calls", wl.Contacts[0].ContactID), "tracera", map[string]string{"outcome": "reached"}); code != 403 {
			t.Errorf("call outside jurisdiction: %d %s", code, body)
		}
		code, body = e.do("POST", fmt.Sprintf("/api/v1/contacts/%d/calls", wl.Contacts[0].ContactID), "admin", map[string]string{"outcome": "quarantined_home", "note": "Dán thông báo"})
		if code != 200 || !strings.Contains(body, `"outcome":"quarantined_home"`) || !strings.Contains(body, `"calls":1`) {
			t.Errorf("call: %d %s", code, body)
		}
		code, body = e.do("POST", fmt.Sprintf("/api/v1/cases/%d/contacts/export", c.ID), "admin", map[string]string{"format": "xlsx", "purpose": "Gửi Trung tâm Y tế huyện"})
		if code != 200 || !strings.HasPrefix(body, "PK") {
			t.Fatalf("export: %d %.200s", code, body)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE action = 'export' AND username = 'admin' AND purpose = 'Gửi Trung tâm Y tế huyện'").Scan(&n)
		if n != 1 {
			t.Errorf("export audit rows: %d", n)
		}
		// Exposure venues are public and carry no personal data.
		code, body = e.do("GET", "/api/v1/exposure-venues", "", nil)
		if code != 200 || !strings.Contains(body, "Chợ Bến Lức") || strings.Contains(body, "0911") || strings.Contains(body, "Tâm") || strings.Contains(body, "case") {
			t.Errorf("public exposures: %d %s", code, body)
		}
		// F2 job and chain.
		if code, body := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/f2", c.ID), "admin", nil); code != 202 || !strings.Contains(body, `"status":"queued"`) {
			t.Errorf("F2 start: %d %s", code, body)
		}
		for i := 0; i < 100; i++ {
			_, body = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/f2", c.ID), "admin", nil)
			if strings.Contains(body, `"status":"done"`) {
				break
			}
			time.Sleep(30 * time.Millisecond)
		}
		if !strings.Contains(body, `"status":"done"`) {
			t.Errorf("F2 job: %s", body)
		}
		if code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/chain", c.ID), "admin", nil); code != 200 || !strings.Contains(body, fmt.Sprintf(`"root":%d`, c.ID)) {
			t.Errorf("chain: %d %s", code, body)
		}
		// Rules: tracers read them, the administrator changes them.
		if code, body := e.do("GET", "/api/v1/tracing/rules", "tracera", nil); code != 200 || !strings.Contains(body, `"min_overlap_minutes":15`) {
			t.Errorf("rules: %d %s", code, body)
		}
		if code, _ := e.do("PUT", "/api/v1/tracing/rules", "tracera", map[string]any{"min_overlap_minutes": 5}); code != 403 {
			t.Errorf("tracer changed the rules: %d", code)
		}
		if code, body := e.do("PUT", "/api/v1/tracing/rules", "admin", map[string]any{"min_overlap_minutes": 5, "within_hour": true}); code != 200 || !strings.Contains(body, `"within_hour":true`) {
			t.Errorf("admin rules: %d %s", code, body)
		}
		// The OpenAPI document lists the integrators' routes.
		_, body = e.do("GET", "/api/v1/openapi.json", "", nil)
		for _, p := range []string{`"/api/v1/cases"`, `"/api/v1/cases/{id}/contacts"`} {
			if !strings.Contains(body, p) {
				t.Errorf("openapi lacks %s", p)
			}
		}
	})
}

// TestCasesBadInput: each bad request is a clear error and saves nothing.
func TestCasesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		for _, tc := range []struct {
			name, user string
			body       any
			status     int
			fragments  []string
		}{
			{"unknown person", "admin", map[string]any{"person": map[string]string{"phone": "0988888888"}, "status": "F0", "sample_date": day(f.now, 1)}, 400,
				[]string{`"code":"invalid"`, `"person":"Không tìm thấy người này`}},
			{"onset months after sample", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 120), "onset_date": day(f.now, 1)}, 400,
				[]string{`"onset_date":"Ngày khởi phát sau ngày lấy mẫu 119 ngày`}},
			{"window longer than 30 days", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 45)}, 400,
				[]string{`"window":"Thời gian lây nhiễm dài`, `more than 30`}},
			{"out of jurisdiction", "tracera", map[string]any{"person": map[string]string{"phone": "0911000003"}, "status": "F0", "sample_date": day(f.now, 1)}, 403,
				[]string{`"code":"forbidden"`}},
			{"another province", "admin", map[string]any{"person": map[string]string{"phone": "0911000005"}, "status": "F0", "sample_date": day(f.now, 1)}, 403,
				[]string{`"forbidden"`}},
			{"venue manager", "managera", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 1)}, 403, nil},
			{"anonymous", "", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 1)}, 401, nil},
			{"malformed", "admin", `{"person": `, 400, []string{`"body"`}},
			{"no sample date", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0"}, 400, []string{`"sample_date"`}},
			{"unknown field type", "admin", map[string]any{"person": "0911000001", "status": "F0"}, 400, []string{`"body"`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := e.do("POST", "/api/v1/cases", tc.user, tc.body)
				if code != tc.status {
					t.Fatalf("status %d, want %d: %s", code, tc.status, body)
				}
				for _, f := range tc.fragments {
					if !strings.Contains(body, f) {
						t.Errorf("body lacks %s: %s", f, body)
					}
				}
			})
		}
		for _, table := range []string{"cases", "case_history", "contacts", "exposures"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%s holds %d rows after refused requests", table, n)
			}
		}
		if code, _ := e.do("GET", "/api/v1/cases/12345/contacts", "admin", nil); code != 404 {
			t.Errorf("unknown case: %d", code)
		}
	})
}
