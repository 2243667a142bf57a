package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/doortodoor"
	"anticovid/internal/reports"
	"anticovid/internal/sheet"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

var doorLinkRe = regexp.MustCompile(`/di-tung-nha/([A-Za-z0-9_-]{43})`)

// doorSetup lists households of a commune through the officer's forms and
// returns a fresh one-day link token for a new team of it.
func doorSetup(t *testing.T, e *env, officer, commune, csv string) string {
	t.Helper()
	c := e.browser(t, officer)
	ct, body := multipartBody(nil, "ho.csv", []byte(csv))
	resp, err := c.Post(e.srv.URL+"/door-to-door/import?unit="+commune, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Đã thêm") {
		t.Fatalf("import: %d %s", resp.StatusCode, b)
	}
	resp, err = c.PostForm(e.srv.URL+"/door-to-door/teams?unit="+commune, url.Values{"name": {"Hội Phụ nữ"}, "hamlet_id": {"0"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("team: %v %v", resp, err)
	}
	resp.Body.Close()
	var team int64
	e.db.R.QueryRow("SELECT max(id) FROM door_teams WHERE commune_code = $1", commune).Scan(&team)
	resp, err = c.PostForm(fmt.Sprintf("%s/door-to-door/teams/%d/link?unit=%s", e.srv.URL, team, commune), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m := doorLinkRe.FindStringSubmatch(string(b))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("link: %d %s", resp.StatusCode, b)
	}
	return m[1]
}

// doorAPI calls a volunteer endpoint with a link token.
func doorAPI(t *testing.T, e *env, method, path, tok string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set(doorHeader, tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The drive over HTTP: an officer lists households and makes a team's
// link; the link reads its commune's households and nothing else, syncs
// visits once however often they are sent, and stops working when
// forged, expired or of another commune; officers see only their
// jurisdiction's coverage; an import past the size bound is refused.
func TestDoorToDoorHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		tokA := doorSetup(t, e, "communea", "27991", "hamlet,address,residents\nẤp 1,Số 1,3\nẤp 2,Số 2,4\n")
		tokB := doorSetup(t, e, "communeb", "27994", "hamlet,address\nẤp Bình,Số 9\n")

		code, body := doorAPI(t, e, "GET", "/api/v1/door/households", tokA, nil)
		var list doorHouseholdsAnswer
		if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list.Households) != 2 {
			t.Fatalf("households: %d %s", code, body)
		}
		_, bodyB := doorAPI(t, e, "GET", "/api/v1/door/households", tokB, nil)
		if strings.Contains(bodyB, "Số 1") {
			t.Fatalf("commune B's link sees commune A: %s", bodyB)
		}
		h1 := list.Households[0].ID

		// Refused links: none, forged, another commune's for this household, expired.
		forged := []byte(tokA)
		forged[5] ^= 2
		past := &doortodoor.Service{DB: db, Vault: e.vault, Now: func() time.Time { return time.Now().Add(-25 * time.Hour) }}
		var teamA int64
		db.R.QueryRow("SELECT max(id) FROM door_teams WHERE commune_code = '27991'").Scan(&teamA)
		expired, _, err := past.Link(context.Background(), &auth.Principal{Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}, teamA)
		if err != nil {
			t.Fatal(err)
		}
		ancient := &doortodoor.Service{DB: db, Vault: e.vault, Now: func() time.Time { return time.Now().Add(-doortodoor.SyncGrace - 25*time.Hour) }}
		longAgo, _, _ := ancient.Link(context.Background(), &auth.Principal{Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}, teamA)
		visit := doortodoor.Batch{Visits: []doortodoor.Visit{{ID: "11111111-2222-4333-8444-555555555555", HouseholdID: h1, Outcome: doortodoor.Visited, People: 3, Installs: 2, Declarations: 1, VisitedAt: time.Now().Add(-time.Hour).Unix()}}}
		for name, c := range map[string]struct {
			tok  string
			want int
		}{"none": {"", 401}, "forged": {string(forged), 401}, "expired past the grace": {longAgo, 401}, "other commune": {tokB, 403}} {
			if code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", c.tok, visit); code != c.want {
				t.Errorf("%s: %d %s", name, code, body)
			}
		}
		// Expired within the grace: the sync is answered, but a visit made
		// after the expiry is refused as such.
		if code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", expired, visit); code != 200 || !strings.Contains(body, `"status":"expired"`) {
			t.Errorf("expired link's late visit: %d %s", code, body)
		}
		if code, _ := doorAPI(t, e, "GET", "/api/v1/door/households", expired, nil); code != 401 {
			t.Errorf("expired list: %d", code)
		}
		for tok, want := range map[string]int{tokA: 200, expired: 410, longAgo: 410, string(forged): 403, "x": 403} {
			if code, _ := e.do("GET", "/di-tung-nha/"+tok, "", nil); code != want {
				t.Errorf("page %.8s: %d, want %d", tok, code, want)
			}
		}

		// The same queue sent three times: stored once.
		for i, want := range []string{"created", "duplicate", "duplicate"} {
			code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", tokA, visit)
			var ans doortodoor.Synced
			if code != 200 || json.Unmarshal([]byte(body), &ans) != nil || ans.Visits[0].Status != want {
				t.Fatalf("send %d: %d %s", i, code, body)
			}
		}
		if n := count(t, db, "door_visits"); n != 1 {
			t.Fatalf("visits stored: %d", n)
		}
		big := doortodoor.Batch{Visits: make([]doortodoor.Visit, doortodoor.MaxBatch+1)}
		if code, _ := doorAPI(t, e, "POST", "/api/v1/door/visits", tokA, big); code != 400 && code != 413 {
			t.Errorf("huge batch: %d", code)
		}

		// Officers: coverage within their jurisdiction only.
		for _, c := range []struct {
			user, path string
			want       int
			has        string
		}{
			{"communea", "/door-to-door", 200, "Ấp 1"},
			{"communea", "/door-to-door/todo", 200, "Số 2"},
			{"benluc", "/door-to-door?unit=803", 200, "Bến Lức"},
			{"communeb", "/door-to-door?unit=27991", 403, ""},
			{"communeb", "/door-to-door/todo?unit=27991", 403, ""},
			{"tanan", "/door-to-door?unit=27991", 403, ""},
			{"managera", "/door-to-door", 403, ""},
			{"communea", "/api/v1/door-to-door/coverage", 200, `"visited":1`},
			{"communeb", "/api/v1/door-to-door/coverage?unit=803", 403, ""},
		} {
			code, body := e.do("GET", c.path, c.user, nil)
			if code != c.want || !strings.Contains(body, c.has) {
				t.Errorf("%s %s: %d", c.user, c.path, code)
			}
		}
		if code, body := e.do("GET", "/door-to-door/todo", "communea", nil); strings.Contains(body, "Số 1<") || code != 200 {
			t.Errorf("visited household still to visit: %d", code)
		}

		// Another commune's officer cannot import into, add a team to, or
		// link or revoke a team of commune A.
		cb := e.browser(t, "communeb")
		ct, file := multipartBody(nil, "ho.csv", []byte("h,a\nẤp X,Số 7\n"))
		for _, req := range []struct {
			path, ct string
			body     []byte
		}{
			{"/door-to-door/import?unit=27991", ct, file},
			{"/door-to-door/teams?unit=27991", "application/x-www-form-urlencoded", []byte("name=X")},
			{"/door-to-door/households?unit=27991", "application/x-www-form-urlencoded", []byte("hamlet=A&address=B")},
			{fmt.Sprintf("/door-to-door/teams/%d/link", teamA), "application/x-www-form-urlencoded", nil},
			{fmt.Sprintf("/door-to-door/teams/%d/revoke", teamA), "application/x-www-form-urlencoded", nil},
		} {
			resp, err := cb.Post(e.srv.URL+req.path, req.ct, bytes.NewReader(req.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("communeb %s: %d", req.path, resp.StatusCode)
			}
		}
		// An upload past the bound is refused before it is read.
		ca := e.browser(t, "communea")
		ct, file = multipartBody(nil, "ho.csv", bytes.Repeat([]byte("a"), sheet.MaxUpload+1))
		resp, err := ca.Post(e.srv.URL+"/door-to-door/import?unit=27991", ct, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("huge import: %d", resp.StatusCode)
		}
		// Revoking the team stops its link at once.
		resp, _ = ca.PostForm(fmt.Sprintf("%s/door-to-door/teams/%d/revoke?unit=27991", e.srv.URL, teamA), nil)
		resp.Body.Close()
		if code, _ := doorAPI(t, e, "GET", "/api/v1/door/households", tokA, nil); code != 401 {
			t.Errorf("revoked: %d", code)
		}
	})
}

// The weekly report of a commune and of its district shows the week's
// door-to-door figures, on the page and in the API.
func TestDoorToDoorInWeeklyReport(t *testing.T) {
	oe := newOpsEnv(t, storetest.SQLite(t))
	e := oe.env
	tok := doorSetup(t, e, "communea", "27991", "hamlet,address\nẤp 1,Số 1\nẤp 1,Số 2\n")
	_, body := doorAPI(t, e, "GET", "/api/v1/door/households", tok, nil)
	var list doorHouseholdsAnswer
	json.Unmarshal([]byte(body), &list)
	visit := doortodoor.Batch{Visits: []doortodoor.Visit{{ID: "dddddddd-0000-4000-8000-000000000001", HouseholdID: list.Households[0].ID, Outcome: doortodoor.Visited, People: 2, Installs: 2, Declarations: 1}}}
	if code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", tok, visit); code != 200 {
		t.Fatalf("sync: %d %s", code, body)
	}
	week := reports.Current(time.Now()).String() // the week whose period holds now
	code, body := e.do("GET", "/api/v1/reports/"+week+"/units/district:803", "benluc", nil)
	if code != 200 || !strings.Contains(body, `"door_to_door":{"households":2,"visited":1,"attempted":1,"installs":2,"declarations":1`) {
		t.Fatalf("district report: %d %s", code, body)
	}
	_, page := get(t, e.browser(t, "communea"), e.srv.URL+"/reports/"+week+"/commune:27991")
	if !strings.Contains(page, `id="report-door"`) || !strings.Contains(page, "<b>1</b> / 2") {
		t.Fatalf("report page without the drive's figures")
	}
}
