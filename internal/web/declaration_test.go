package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"anticovid/internal/config"
	"anticovid/internal/declaration"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// declEnv is the shared test environment with the declaration service wired
// in (the harness's server is replaced by one that has it). checkinRate 0
// turns the per-address limit off.
func declEnv(t *testing.T, db *sqldb.DB, checkinRate float64) (*env, *declaration.Service) {
	t.Helper()
	e := newEnv(t, db)
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour,
		MaxBody: 64 << 10, LogLevel: "error", CheckinRate: checkinRate}
	ppl := people.NewService(db, e.vault)
	decl := declaration.NewService(db, ppl, e.vault, "")
	s := New(Deps{Config: cfg, DB: db, Auth: e.auth, People: ppl, Venues: &venue.Service{DB: db, Vault: e.vault, Signer: e.keys},
		Keys: e.keys, Outbox: e.outbox, OTP: e.otp, Cases: e.cases, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Declarations: decl})
	e.srv = httptest.NewServer(contract(t, s))
	t.Cleanup(e.srv.Close)
	decl.BaseURL = e.srv.URL
	return e, decl
}

// declaration is a complete, valid API body.
func declBody(phone, name, commune string, symptoms []string, contact bool) map[string]any {
	return map[string]any{"kind": "resident", "name": name, "birth_year": 1985, "sex": "male", "nationality": "Việt Nam",
		"id_number": "079085001234", "phone": phone, "commune_code": commune, "street": "123 Hùng Vương",
		"symptoms": symptoms, "contact_case": contact, "animal_market": false, "vaccine_doses": 2}
}

func TestDeclarationAPI(t *testing.T) {
	e, decl := declEnv(t, storetest.SQLite(t), 0)
	id := "5f0c6a1e-8b7d-4c2a-9e3f-1a2b3c4d5e6f"
	withID := declBody("0912345678", "Nguyễn Văn An", "27991", nil, false)
	withID["id"] = id
	travel := declBody("0912345679", "Trần Thị Bình", "27685", []string{"fever", "cough"}, false)
	travel["kind"], travel["mode"], travel["vehicle"], travel["seat"] = "travel", "car", "51B-123.45", "7"
	today := time.Now().In(hcm).Format("2006-01-02")
	travel["departure_place"], travel["departure_date"], travel["arrival_place"], travel["arrival_date"] = "TP. Hồ Chí Minh", today, "Tân An", today
	reuse := declBody("0987654321", "Lê Văn Cường", "27991", nil, false)
	reuse["id"] = id
	cases := []struct {
		name, method, path, user string
		body                     any
		status                   int
		fragments                []string
	}{
		{"options", "GET", "/api/v1/declaration-options", "", nil, 200, []string{`"code":"shortness_of_breath"`, `"name":"Khó thở"`, `"code":"travel"`, `"max_vaccine_doses":4`}},
		{"new, no proof cookie", "POST", "/api/v1/declarations", "", withID, 201, []string{`"created":true`, `"flagged":false`, `"proof":0`, `"pending":"`}},
		{"repeat of the same id", "POST", "/api/v1/declarations", "", withID, 200, []string{`"created":false`}},
		{"same id, another phone", "POST", "/api/v1/declarations", "", reuse, 409, []string{`"code":"conflict"`}},
		{"travel with symptoms", "POST", "/api/v1/declarations", "", travel, 201, []string{`"flagged":true`, `"kind":"travel"`}},
		{"empty object", "POST", "/api/v1/declarations", "", map[string]any{}, 400, []string{`"code":"invalid"`,
			`"name":"Hãy nhập họ và tên / Please enter your full name"`, `"phone":`, `"commune_code":`, `"street":`, `"sex":`,
			`"birth_year":`, `"nationality":`, `"contact_case":`, `"animal_market":`, `"vaccine_doses":`}},
		{"field errors", "POST", "/api/v1/declarations", "", map[string]any{"kind": "travel", "name": "An", "birth_year": 3000, "sex": "x",
			"phone": "12", "commune_code": "00004", "province_code": "80", "symptoms": []string{"hiccups"}, "vaccine_doses": 9}, 400,
			[]string{`"birth_year":"Năm sinh từ`, `"sex":`, `"phone":"Số điện thoại không hợp lệ`, `"commune_code":"Xã/phường không thuộc tỉnh/thành phố đã chọn`,
				`"symptoms":`, `"vaccine_doses":`, `"mode":`, `"departure_date":`, `"id_number":`}},
		{"wrong types", "POST", "/api/v1/declarations", "", `{"name": 5}`, 400, []string{`"body"`}},
		{"malformed JSON", "POST", "/api/v1/declarations", "", `{"name": "An",`, 400, []string{`"body"`}},
		{"trailing data", "POST", "/api/v1/declarations", "", `{} {}`, 400, []string{`"body"`}},
		{"over the declaration limit", "POST", "/api/v1/declarations", "", `{"places":"` + strings.Repeat("x", 40<<10) + `"}`, 413, []string{`"too_large"`}},
		{"over the server limit", "POST", "/api/v1/declarations", "", `{"places":"` + strings.Repeat("x", 70<<10) + `"}`, 413, []string{`"too_large"`}},
		{"worklist anonymous", "GET", "/api/v1/declarations/worklist", "", nil, 401, []string{`"unauthorized"`}},
		{"worklist venue manager", "GET", "/api/v1/declarations/worklist", "managera", nil, 403, []string{`"forbidden"`}},
		{"worklist other department", "GET", "/api/v1/declarations/worklist", "trade", nil, 403, []string{`"forbidden"`}},
		{"worklist district officer", "GET", "/api/v1/declarations/worklist", "benluc", nil, 403, []string{`"forbidden"`}},
		{"worklist Tân An is not Bến Lức's", "GET", "/api/v1/declarations/worklist", "communea", nil, 200, []string{`{"declarations":[],"total":0}`}},
		{"worklist health department", "GET", "/api/v1/declarations/worklist", "health", nil, 200, []string{`"name":"Trần Thị Bình"`, `"phone":"0912345679"`, `"symptoms":["fever","cough"]`, `"has_symptoms":true`}},
		{"worklist bad status", "GET", "/api/v1/declarations/worklist?status=x", "health", nil, 400, []string{`"status"`}},
		{"worklist other commune filter", "GET", "/api/v1/declarations/worklist?unit=27685", "communea", nil, 403, []string{`"forbidden"`}},
		{"bad limit", "GET", "/api/v1/declarations/worklist?limit=-1", "health", nil, 400, []string{`"limit"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := count(t, e.db, "declarations")
			code, body := e.do(c.method, c.path, c.user, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, body)
			}
			for _, f := range c.fragments {
				if !strings.Contains(body, f) {
					t.Errorf("body lacks %s: %s", f, body)
				}
			}
			if code >= 400 && count(t, e.db, "declarations") != before {
				t.Errorf("a refused request stored a declaration")
			}
		})
	}
	// Without the device's proof no answer carries a QR; once proved, the
	// token verifies and names the stored declaration.
	code, body := e.do("POST", "/api/v1/declarations", "", withID)
	var res declaration.Result
	json.Unmarshal([]byte(body), &res)
	if code != 200 || res.Token != "" || strings.Contains(body, `"token"`) || res.Pending == "" {
		t.Fatalf("repeat without proof: %d %s", code, body)
	}
	res = proveDecl(t, decl, res)
	c, err := decl.Verify(res.Token)
	if code != 200 || err != nil || c.DeclarationID != res.ID || res.QRURL != e.srv.URL+"/p/"+res.Token {
		t.Fatalf("repeat: %d %+v %v %+v", code, res, err, c)
	}
	if n := count(t, e.db, "declarations"); n != 2 {
		t.Errorf("%d declarations stored, want 2", n)
	}
}

// TestDeclarationJurisdiction: each role sees exactly the flagged declarations
// of its area, handles only those, and every view is audited.
func TestDeclarationJurisdiction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e, _ := declEnv(t, db, 0)
		ids := map[string]int64{}
		for _, d := range []struct {
			phone, name, commune string
			symptoms             []string
			contact              bool
		}{
			{"0900000001", "Khỏe Bến Lức", "27991", nil, false},
			{"0900000002", "Sốt Bến Lức", "27991", []string{"fever"}, false},
			{"0900000003", "Tiếp Xúc Thạnh Lợi", "27994", nil, true},
			{"0900000004", "Ho Tân An", "27685", []string{"cough"}, false},
			{"0900000005", "Sốt Hà Nội", "00004", []string{"fever"}, false},
		} {
			code, body := e.do("POST", "/api/v1/declarations", "", declBody(d.phone, d.name, d.commune, d.symptoms, d.contact))
			if code != 201 {
				t.Fatalf("declare %s: %d %s", d.name, code, body)
			}
			var r declaration.Result
			json.Unmarshal([]byte(body), &r)
			ids[d.name] = r.ID
		}
		all := []string{"Sốt Bến Lức", "Tiếp Xúc Thạnh Lợi", "Ho Tân An", "Sốt Hà Nội", "Khỏe Bến Lức"}
		sees := map[string][]string{
			"communea": {"Sốt Bến Lức"},
			"communeb": {"Tiếp Xúc Thạnh Lợi"},
			"tracera":  {"Sốt Bến Lức"},
			"health":   {"Ho Tân An", "Sốt Bến Lức", "Tiếp Xúc Thạnh Lợi"},
			"admin":    nil, "benluc": nil, "trade": nil, "managera": nil, "hanoi": nil,
		}
		for user, want := range sees {
			t.Run(user, func(t *testing.T) {
				code, body := e.do("GET", "/api/v1/declarations/worklist?status=all", user, nil)
				if want == nil {
					if code != 403 {
						t.Fatalf("worklist: %d, want 403", code)
					}
				} else {
					var list struct{ Declarations []declaration.Item }
					json.Unmarshal([]byte(body), &list)
					var names []string
					for _, it := range list.Declarations {
						names = append(names, it.Answers.Name)
					}
					slices.Sort(names)
					w := slices.Sorted(slices.Values(want))
					if code != 200 || !slices.Equal(names, w) {
						t.Fatalf("worklist: %d %v, want %v", code, names, w)
					}
				}
				// The page shows the same, and never another area's names.
				browser := e.browser(t, user)
				code, page := get(t, browser, e.srv.URL+"/declarations/worklist?status=all")
				if want == nil && code != 403 {
					t.Errorf("page: %d, want 403", code)
				}
				for _, name := range all {
					if slices.Contains(want, name) != strings.Contains(page, name) {
						t.Errorf("page shows %s: %v, want %v", name, strings.Contains(page, name), slices.Contains(want, name))
					}
				}
				// Handling another area's declaration is refused and changes nothing.
				for _, name := range all[:4] {
					if slices.Contains(want, name) {
						continue
					}
					code, _ := e.do("POST", fmt.Sprintf("/api/v1/declarations/%d/handled", ids[name]), user, map[string]string{"note": "Đã gọi"})
					if code != 403 && code != 404 {
						t.Errorf("handle %s: %d, want 403", name, code)
					}
				}
			})
		}
		var handled int
		db.R.QueryRow("SELECT count(*) FROM declarations WHERE handled_at IS NOT NULL").Scan(&handled)
		if handled != 0 {
			t.Fatalf("%d declarations handled by people outside their area", handled)
		}
		// Within the area: a note is required, then it is recorded once.
		path := fmt.Sprintf("/api/v1/declarations/%d/handled", ids["Sốt Bến Lức"])
		if code, body := e.do("POST", path, "communea", map[string]string{"note": ""}); code != 400 || !strings.Contains(body, `"note"`) {
			t.Errorf("empty note: %d %s", code, body)
		}
		if code, body := e.do("POST", path, "tracera", map[string]string{"note": "Đã gọi điện, hướng dẫn tự cách ly"}); code != 200 {
			t.Errorf("handle: %d %s", code, body)
		}
		if code, _ := e.do("POST", path, "communea", map[string]string{"note": "Lần hai"}); code != 409 {
			t.Errorf("handle twice: %d, want 409", code)
		}
		if code, body := e.do("GET", "/api/v1/declarations/worklist?status=handled", "communea", nil); code != 200 ||
			!strings.Contains(body, `"handled_by":"tracera"`) || !strings.Contains(body, "hướng dẫn tự cách ly") {
			t.Errorf("handled list: %d %s", code, body)
		}
		// Audited: who saw which declarations, and why.
		var n int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE username = $1 AND subject = 'declaration' AND record_ids = $2",
			"communeb", fmt.Sprint(ids["Tiếp Xúc Thạnh Lợi"])).Scan(&n)
		if n < 2 { // API and page
			t.Errorf("communeb's views audited %d times, want at least 2", n)
		}
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE subject = 'declaration' AND record_ids LIKE $1",
			"%"+fmt.Sprint(ids["Khỏe Bến Lức"])+"%").Scan(&n)
		if ids["Khỏe Bến Lức"] > 9 || n != 0 { // ids are single digits here, so LIKE is exact enough
			t.Errorf("an unflagged declaration was shown (%d audit entries)", n)
		}
	})
}

// TestDeclarationRateLimit: a flood from one address is refused before it
// reaches the database.
func TestDeclarationRateLimit(t *testing.T) {
	e, _ := declEnv(t, storetest.SQLite(t), 5) // a declaration a second, bursts of 6
	codes := map[int]int{}
	for i := range 10 {
		code, _ := e.do("POST", "/api/v1/declarations", "", declBody(fmt.Sprintf("09100000%02d", i), "Người Thử", "27991", nil, false))
		codes[code]++
	}
	if codes[201] < 6 || codes[429] < 3 || codes[201]+codes[429] != 10 {
		t.Fatalf("status counts %v, want 6–7 created and the rest 429", codes)
	}
	if n := count(t, e.db, "declarations"); n != codes[201] {
		t.Errorf("%d stored, %d acknowledged", n, codes[201])
	}
}

// TestDeclarationProofCookie: only a valid, unexpired proof cookie for the
// person the phone names gets the QR; a forged one, an expired one, or one
// for a different person is a device without proof.
func TestDeclarationProofCookie(t *testing.T) {
	e, decl := declEnv(t, storetest.SQLite(t), 0)
	post := func(body map[string]any, cookie string) (int, declaration.Result) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/declarations", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: people.ProofCookie, Value: cookie})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res declaration.Result
		json.NewDecoder(resp.Body).Decode(&res)
		return resp.StatusCode, res
	}
	_, first := post(declBody("0912345678", "Nguyễn Văn An", "27991", nil, false), "")
	victim, _, err := decl.Pending(first.Pending)
	if err != nil {
		t.Fatal(err)
	}
	_, other := post(declBody("0987000111", "Kẻ Gian", "27991", nil, false), "")
	attacker, _, _ := decl.Pending(other.Pending)
	foreign, _ := vault.New(bytes.Repeat([]byte{3}, 32))
	now := time.Now()
	for name, cookie := range map[string]string{
		"none":             "",
		"forged":           people.NewService(e.db, foreign).ProofToken(victim, now),
		"garbage":          "AAAA",
		"expired":          decl.People.ProofToken(victim, now.Add(-people.ProofTTL-time.Hour)),
		"for someone else": decl.People.ProofToken(attacker, now),
	} {
		code, res := post(declBody("0912345678", "Kẻ Gian", "27991", []string{"fever"}, false), cookie)
		if code != 201 || res.Token != "" || res.QRURL != "" || res.Proof != 0 || res.Pending == "" {
			t.Errorf("%s cookie: %d %+v", name, code, res)
		}
	}
	code, res := post(declBody("0912345678", "Nguyễn Văn An", "27991", nil, false), decl.People.ProofToken(victim, now))
	if c, err := decl.Verify(res.Token); code != 201 || err != nil || res.Proof != 1 || c.PersonID != victim || c.Proof != 1 {
		t.Errorf("proven device: %d %+v %v", code, res, err)
	}
	if n := count(t, e.db, "declarations WHERE proof = 0"); n != 7 {
		t.Errorf("%d unproven declarations, want 7", n)
	}
}

// proveDecl runs the proof step of an unproven declaration on the device of
// the person it names (the code is checked in TestDeclarationForm).
func proveDecl(t *testing.T, decl *declaration.Service, res declaration.Result) declaration.Result {
	t.Helper()
	person, _, err := decl.Pending(res.Pending)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = decl.Prove(t.Context(), res.Pending, person); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestStatusUnitFilterAction: the review lists' filter names its list's
// GET path, so a page rendered at a form's POST path (a handled note
// refused) filters the list, not the path it was posted to.
func TestStatusUnitFilterAction(t *testing.T) {
	e, _ := declEnv(t, storetest.SQLite(t), 0)
	code, body := e.do("POST", "/api/v1/declarations", "", declBody("0900000002", "Sốt Bến Lức", "27991", []string{"fever"}, false))
	var r declaration.Result
	json.Unmarshal([]byte(body), &r)
	if code != 201 {
		t.Fatalf("declare: %d %s", code, body)
	}
	browser := e.browser(t, "health")
	resp, err := browser.PostForm(fmt.Sprintf("%s/declarations/%d/handled", e.srv.URL, r.ID), url.Values{"note": {""}, "back": {"status=all"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(page), `<form method="get" action="/declarations/worklist" class="filters card">`) {
		t.Fatalf("refused note at %s: %d, filter form %q", resp.Request.URL.Path, resp.StatusCode, filterForm(string(page)))
	}
	held := newEnv(t, storetest.SQLite(t))
	if code, page := get(t, held.browser(t, "tracera"), held.srv.URL+"/checkins/held?status=all"); code != 200 ||
		!strings.Contains(page, `<form method="get" action="/checkins/held" class="filters card">`) {
		t.Fatalf("held check-ins: %d, filter form %q", code, filterForm(page))
	}
}

// filterForm is a page's filter form's opening tag, for messages.
func filterForm(page string) string {
	if i := strings.Index(page, `class="filters card"`); i >= 0 {
		return page[max(i-80, 0) : i+20]
	}
	return ""
}
