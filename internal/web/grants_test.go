package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/store/storetest"
)

// grantUsers adds the officers purpose-bound access is about: Police and
// ICT of the province, and a health tracer of another district (Tân An).
func grantUsers(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, a := range []auth.NewUser{
		{Username: "police", Role: auth.DepartmentOfficer, Unit: "80", Department: "police"},
		{Username: "ict", Role: auth.DepartmentOfficer, Unit: "80", Department: "ict"},
		{Username: "tracertanan", Role: auth.HealthTracer, Unit: "27685"},
	} {
		a.Password = testPassword
		if _, err := e.auth.CreateUser(ctx, a); err != nil {
			t.Fatal(err)
		}
		var err error
		if e.tokens[a.Username], err = e.auth.CreateToken(ctx, a.Username, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
}

// newCase registers an F0 by phone as the province administrator.
func newCase(t *testing.T, e *env, phone, sample string) int64 {
	t.Helper()
	code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": phone}, "status": "F0", "sample_date": sample})
	if code != 201 {
		t.Fatalf("case: %d %s", code, body)
	}
	var c struct{ ID int64 }
	json.Unmarshal([]byte(body), &c)
	return c.ID
}

// fileGrant files a request and returns its id.
func fileGrant(t *testing.T, e *env, user string, req map[string]any) int64 {
	t.Helper()
	code, body := e.do("POST", "/api/v1/access-requests", user, req)
	if code != 201 || !strings.Contains(body, `"status":"pending"`) {
		t.Fatalf("request as %s: %d %s", user, code, body)
	}
	var g struct{ ID int64 }
	json.Unmarshal([]byte(body), &g)
	return g.ID
}

// personalReads is every API read of a case's personal rows, by name → status.
func personalReads(e *env, user string, caseID int64) map[string]int {
	out := map[string]int{}
	out["contacts"], _ = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", caseID), user, nil)
	out["export"], _ = e.do("POST", fmt.Sprintf("/api/v1/cases/%d/contacts/export", caseID), user, map[string]string{"format": "pdf", "purpose": "gửi tổ truy vết"})
	out["worklist"], _ = e.do("GET", fmt.Sprintf("/api/v1/worklist?case=%d&state=all", caseID), user, nil)
	// "Is this person a case?" by phone, ID number or name is personal too.
	out["search by phone"], _ = e.do("GET", "/api/v1/cases?q=0911000001", user, nil)
	out["search by name"], _ = e.do("GET", "/api/v1/cases?q=nguyen+van+tam", user, nil)
	return out
}

func want403(t *testing.T, who string, reads map[string]int) {
	t.Helper()
	for read, code := range reads {
		if code != 403 {
			t.Errorf("%s %s: %d, want 403", who, read, code)
		}
	}
}

// auditRows counts audit rows of user naming grant id.
func auditRows(t *testing.T, e *env, user string, id int64) int {
	t.Helper()
	var n int
	if err := e.db.R.QueryRow("SELECT count(*) FROM audit_log WHERE username = $1 AND purpose LIKE $2", user, fmt.Sprintf("%%#%d:%%", id)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGrantsAPI(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	grantUsers(t, e)
	f := newTraceFixture(t, e)
	a := newCase(t, e, "0911000001", day(f.now, 1)) // Tâm: Hạnh at the market, Khánh at the school
	b := newCase(t, e, "0911000003", day(f.now, 0)) // Khánh: Tâm at the school
	for _, u := range []string{"police", "ict"} {
		want403(t, u, personalReads(e, u, a))
		// Figures without people: the case itself and its exposure venues.
		if code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d", a), u, nil); code != 200 || strings.Contains(body, "Nguyễn Văn Tâm") {
			t.Errorf("%s case: %d %s", u, code, body)
		}
		if code, _ := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/exposure-venues", a), u, nil); code != 200 {
			t.Errorf("%s exposure venues: %d", u, code)
		}
	}
	// Health within its jurisdiction needs nothing; outside it, a grant.
	for read, code := range personalReads(e, "tracera", a) {
		if code != 200 {
			t.Errorf("tracera %s: %d", read, code)
		}
	}
	want403(t, "tracertanan", map[string]int{"contacts": personalReads(e, "tracertanan", a)["contacts"]})

	req := map[string]any{"case_id": a, "scope": "contacts", "purpose": "Truy tìm người tiếp xúc ở chợ", "days": 2}
	g := fileGrant(t, e, "police", req)
	want403(t, "pending", personalReads(e, "police", a))
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/approve", g), "police", nil); code < 400 {
		t.Errorf("requester approved their own request: %d", code)
	}
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/approve", g), "tracera", nil); code != 403 {
		t.Errorf("a tracer approved: %d", code)
	}
	if code, body := e.do("GET", fmt.Sprintf("/api/v1/access-requests/%d", g), "police", nil); code != 200 || !strings.Contains(body, `"status":"pending"`) {
		t.Fatalf("after the refused approvals: %d %s", code, body)
	}
	// Refused: nothing.
	r := fileGrant(t, e, "ict", req)
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/refuse", r), "admin", map[string]string{"reason": ""}); code != 400 {
		t.Errorf("refusal without a reason: %d", code)
	}
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/refuse", r), "admin", map[string]string{"reason": "Không thuộc nhiệm vụ"}); code != 200 {
		t.Errorf("refuse: %d", code)
	}
	want403(t, "refused", personalReads(e, "ict", a))

	if code, body := e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/approve", g), "admin", nil); code != 200 || !strings.Contains(body, `"status":"approved"`) {
		t.Fatalf("approve: %d %s", code, body)
	}
	code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", a), "police", nil)
	if code != 200 || !strings.Contains(body, "0911000002") || !strings.Contains(body, "0911000003") {
		t.Fatalf("police through the grant: %d %s", code, body)
	}
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/contacts/export", a), "police", map[string]string{"format": "xlsx", "purpose": "gửi tổ truy vết"}); code != 200 {
		t.Errorf("export through the grant: %d", code)
	}
	if n := auditRows(t, e, "police", g); n != 2 {
		t.Errorf("%d audit rows name grant %d, want 2", n, g)
	}
	want403(t, "police on B", personalReads(e, "police", b))
	want403(t, "ict with police's grant", personalReads(e, "ict", a))
	if code, _ := e.do("GET", "/api/v1/worklist", "police", nil); code != 403 {
		t.Errorf("police worklist: %d", code)
	}
	// The administrator sees it open, then revokes it at once.
	if code, body := e.do("GET", "/api/v1/access-requests", "admin", nil); code != 200 || !strings.Contains(body, fmt.Sprintf(`"id":%d`, g)) {
		t.Errorf("admin list: %d %s", code, body)
	}
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/revoke", g), "admin", nil); code != 200 {
		t.Errorf("revoke: %d", code)
	}
	want403(t, "revoked", personalReads(e, "police", a))

	// Expiry: a new grant, then the clock moves past it.
	g2 := fileGrant(t, e, "police", req)
	e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/approve", g2), "admin", nil)
	if code, _ := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", a), "police", nil); code != 200 {
		t.Fatalf("second grant: %d", code)
	}
	now := e.cases.Now
	e.cases.Now = func() time.Time { return now().Add(49 * time.Hour) }
	want403(t, "expired", personalReads(e, "police", a))
	e.cases.Now = now

	// A health tracer outside the case's district, through a grant.
	h := fileGrant(t, e, "tracertanan", req)
	e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/approve", h), "admin", nil)
	if code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts", a), "tracertanan", nil); code != 200 || !strings.Contains(body, "0911000002") {
		t.Errorf("outside tracer through a grant: %d %s", code, body)
	}
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/status", a), "tracertanan", map[string]string{"status": "recovered"}); code != 403 {
		t.Errorf("outside tracer changed the status: %d", code)
	}

	// Venue-days: the market's day of the F0's visit, nothing else.
	market := e.venues["Chợ Bến Lức"]
	vday := f.now.Add(-26 * time.Hour).In(hcm).Format("2006-01-02")
	v := fileGrant(t, e, "ict", map[string]any{"case_id": a, "scope": "venue_days", "purpose": "Danh sách người đến chợ ngày đó", "days": 1,
		"venue_days": []map[string]any{{"venue_id": market, "day": vday}}})
	visitors := func(grant, venue int64, d string) (int, string) {
		return e.do("GET", fmt.Sprintf("/api/v1/access-requests/%d/visitors?venue=%d&day=%s", grant, venue, url.QueryEscape(d)), "ict", nil)
	}
	if code, _ := visitors(v, market, vday); code != 403 {
		t.Errorf("pending venue-day: %d", code)
	}
	e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/approve", v), "admin", nil)
	code, body = visitors(v, market, vday)
	if code != 200 || !strings.Contains(body, "0911000001") || strings.Contains(body, "0911000003") {
		t.Errorf("venue-day visitors: %d %s", code, body)
	}
	if f.now.Add(-time.Duration(25.8*float64(time.Hour))).In(hcm).Format("2006-01-02") == vday && !strings.Contains(body, "Trần Thị Hạnh") {
		t.Errorf("Hạnh missing from the market's day: %s", body)
	}
	for _, bad := range []struct {
		venue int64
		day   string
	}{{e.venues["Trường THCS Thạnh Lợi"], vday}, {market, f.now.Add(-50 * time.Hour).In(hcm).Format("2006-01-02")}, {market, vday + "'"}} {
		if code, _ := visitors(v, bad.venue, bad.day); code != 403 {
			t.Errorf("venue-day %d %s outside the grant: %d", bad.venue, bad.day, code)
		}
	}
	want403(t, "ict with a venue-day grant", map[string]int{"contacts": personalReads(e, "ict", a)["contacts"]})
	if n := auditRows(t, e, "ict", v); n != 1 {
		t.Errorf("%d audit rows name venue-day grant %d", n, v)
	}
	if code, _ := e.do("GET", fmt.Sprintf("/api/v1/access-requests/%d/visitors?venue=%d&day=%s", v, market, vday), "police", nil); code != 403 {
		t.Errorf("someone else's venue-day grant: %d", code)
	}
}

func TestGrantsPages(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	grantUsers(t, e)
	f := newTraceFixture(t, e)
	a := newCase(t, e, "0911000001", day(f.now, 1))
	police := e.browser(t, "police")
	// The case page: figures, no people, a request form, no export (it would 403).
	code, page := get(t, police, fmt.Sprintf("%s/cases/%d", e.srv.URL, a))
	if code != 200 || !strings.Contains(page, `id="access-form"`) || !strings.Contains(page, `id="contacts-need-grant"`) || !strings.Contains(page, `id="person-hidden"`) {
		t.Fatalf("police case page: %d", code)
	}
	for _, leak := range []string{"Nguyễn Văn Tâm", "0911000001", "Trần Thị Hạnh", "0911000002", `id="export"`, `id="contacts-table"`} {
		if strings.Contains(page, leak) {
			t.Errorf("police case page shows %q", leak)
		}
	}
	if _, list := get(t, police, e.srv.URL+"/cases"); strings.Contains(list, `href="/tracing/worklist"`) || !strings.Contains(list, `href="/access"`) {
		t.Error("police case list: worklist button shown or no link to their requests")
	}
	// File through the page's form.
	resp, err := police.PostForm(fmt.Sprintf("%s/access", e.srv.URL), url.Values{"case_id": {itoa64(a)}, "scope": {"contacts"}, "purpose": {"Xác minh người tiếp xúc ổ dịch chợ"}, "days": {"3"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/access" {
		t.Fatalf("after filing: %s", resp.Request.URL)
	}
	_, mine := get(t, police, e.srv.URL+"/access")
	if !strings.Contains(mine, "Chờ duyệt") || !strings.Contains(mine, "Xác minh người tiếp xúc ổ dịch chợ") {
		t.Errorf("my requests page misses the request")
	}
	// A short purpose comes back on the form, in Vietnamese.
	resp, _ = police.PostForm(e.srv.URL+"/access", url.Values{"case_id": {itoa64(a)}, "scope": {"contacts"}, "purpose": {"ngắn"}, "days": {"3"}})
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("short purpose: %d", resp.StatusCode)
	}
	// The administrator's page lists it first and approves it.
	admin := e.browser(t, "admin")
	_, adm := get(t, admin, e.srv.URL+"/access/requests")
	if !strings.Contains(adm, "Xác minh người tiếp xúc ổ dịch chợ") || !strings.Contains(adm, "/approve") {
		t.Fatal("admin page misses the pending request")
	}
	var g int64
	fmt.Sscanf(adm[strings.Index(adm, `action="/access/`)+len(`action="/access/`):], "%d", &g)
	resp, _ = admin.PostForm(fmt.Sprintf("%s/access/%d/approve", e.srv.URL, g), nil)
	resp.Body.Close()
	code, page = get(t, police, fmt.Sprintf("%s/cases/%d", e.srv.URL, a))
	if code != 200 || !strings.Contains(page, "Trần Thị Hạnh") || !strings.Contains(page, `id="through-grant"`) || strings.Contains(page, `id="access-form"`) {
		t.Errorf("police case page through the grant: %d", code)
	}
	resp, _ = admin.PostForm(fmt.Sprintf("%s/access/%d/revoke", e.srv.URL, g), nil)
	resp.Body.Close()
	if _, page = get(t, police, fmt.Sprintf("%s/cases/%d", e.srv.URL, a)); strings.Contains(page, "Trần Thị Hạnh") {
		t.Error("revoked grant still shows the contacts")
	}
	// Health's own jurisdiction: unchanged, no request form.
	if _, page = get(t, e.browser(t, "tracera"), fmt.Sprintf("%s/cases/%d", e.srv.URL, a)); !strings.Contains(page, "Trần Thị Hạnh") || strings.Contains(page, `id="access-form"`) {
		t.Error("tracer's own case page changed")
	}
}

// Bluetooth contacts name people: Police and ICT read them only through a
// grant on the person's case; the page says so instead of a 403.
func TestGrantsBluetooth(t *testing.T) {
	e := newBTEnv(t, storetest.SQLite(t))
	grantUsers(t, e.env)
	f := newTraceFixture(t, e.env)
	a := newCase(t, e.env, "0911000001", day(f.now, 1))
	person := f.people["0911000001"]
	path := fmt.Sprintf("/api/v1/bluezone/people/%d/contacts", person)
	if code, _ := e.do("GET", path, "police", nil); code != 403 {
		t.Errorf("police Bluetooth contacts without a grant: %d", code)
	}
	if _, page := get(t, e.browser(t, "police"), fmt.Sprintf("%s/bluezone?person=%d", e.srv.URL, person)); !strings.Contains(page, `id="bz-need-grant"`) {
		t.Error("police Bluetooth page: no notice")
	}
	g := fileGrant(t, e.env, "police", map[string]any{"case_id": a, "scope": "contacts", "purpose": "Truy vết Bluetooth của ca bệnh", "days": 1})
	e.do("POST", fmt.Sprintf("/api/v1/access-requests/%d/approve", g), "admin", nil)
	if code, body := e.do("GET", path, "police", nil); code != 200 {
		t.Errorf("police Bluetooth contacts through the grant: %d %s", code, body)
	}
	if code, _ := e.do("GET", fmt.Sprintf("/api/v1/bluezone/people/%d/contacts", f.people["0911000002"]), "police", nil); code != 403 {
		t.Errorf("police Bluetooth contacts of someone else: %d", code)
	}
	if n := auditRows(t, e.env, "police", g); n != 1 {
		t.Errorf("%d Bluetooth audit rows name grant %d", n, g)
	}
}
