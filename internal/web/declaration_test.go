package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"anticovid/internal/config"
	"anticovid/internal/declaration"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
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
	e.srv = httptest.NewServer(s)
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
		{"new", "POST", "/api/v1/declarations", "", withID, 201, []string{`"created":true`, `"flagged":false`, `"qr_url":"` + e.srv.URL + `/p/`, `"token":"`}},
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
		{"worklist Tân An is not Bến Lức's", "GET", "/api/v1/declarations/worklist", "communea", nil, 200, []string{`{"declarations":[]}`}},
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
	// The token in the answer verifies and names the stored declaration.
	code, body := e.do("POST", "/api/v1/declarations", "", withID)
	var res declaration.Result
	json.Unmarshal([]byte(body), &res)
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

// formValues is a complete form as a browser without JavaScript posts it.
func formValues(id string) url.Values {
	v := url.Values{"id": {id}, "kind": {"resident"}, "name": {"Nguyễn Văn An"}, "birth_year": {"1985"}, "sex": {"male"},
		"nationality": {"Việt Nam"}, "id_number": {"079085001234"}, "phone": {"0912 345 678"}, "province_code": {"80"},
		"district_code": {"803"}, "commune_code": {"27991"}, "street": {"123 Hùng Vương"}, "places": {"TP. Hồ Chí Minh"},
		"contact_case": {"no"}, "animal_market": {"no"}, "vaccine_doses": {"2"}, "confirm": {"1"}}
	for _, s := range declaration.Symptoms {
		v.Set("symptom_"+s.Code, "no")
	}
	return v
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDeclarationForm drives the form as a phone without JavaScript does.
func TestDeclarationForm(t *testing.T) {
	e, _ := declEnv(t, storetest.SQLite(t), 0)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	code, page := get(t, c, e.srv.URL+"/khai-bao")
	for _, want := range []string{"Khai báo y tế điện tử", "Họ và tên", "Khó thở", "Xuất huyết ngoài da", "Nổi ban ngoài da",
		"Buồn nôn, nôn", "Tiêu chảy", "chợ buôn bán động vật sống", "Số mũi vắc xin", "Huyện Bến Lức", "Thị trấn Bến Lức",
		`<option value="80" selected>`, "Thông tin di chuyển", `name="id" value="`} {
		if !strings.Contains(page, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if code != 200 {
		t.Fatalf("form: %d", code)
	}
	if code, page := get(t, c, e.srv.URL+"/declare?lang=en"); code != 200 || !strings.Contains(page, "Electronic health declaration") ||
		!strings.Contains(page, "Shortness of breath") || strings.Contains(page, "Khó thở") {
		t.Errorf("English form: %d", code)
	}
	get(t, c, e.srv.URL+"/khai-bao?lang=vi")

	// Errors come back beside their fields, with everything typed kept.
	bad := formValues("11111111-2222-4333-8444-555555555555")
	bad.Set("phone", "09123")
	bad.Set("birth_year", "19a5")
	bad.Del("symptom_rash")
	bad.Del("confirm")
	bad.Set("commune_code", "27685") // Tân An, not in district 803
	code, page = postForm(t, c, e.srv.URL+"/khai-bao", bad)
	if code != 400 {
		t.Fatalf("bad form: %d", code)
	}
	for _, want := range []string{`id="phone-error">Số điện thoại không hợp lệ`, `value="09123"`, `value="19a5"`, `id="birth_year-error">Năm sinh từ`,
		"Hãy chọn Có hoặc Không", "Hãy đánh dấu cam kết", "Xã/phường không thuộc quận/huyện đã chọn", `value="Nguyễn Văn An"`,
		`value="123 Hùng Vương"`, ">TP. Hồ Chí Minh</textarea>", `name="symptom_fever" value="no" aria-label="Sốt: Không" checked`,
		`name="id" value="11111111-2222-4333-8444-555555555555"`} {
		if !strings.Contains(page, want) {
			t.Errorf("rejected form lacks %q", want)
		}
	}
	if n := count(t, e.db, "declarations"); n != 0 {
		t.Fatalf("rejected form stored %d declarations", n)
	}

	// Without JavaScript, a new province is listed after a refresh submit.
	refresh := formValues("")
	refresh.Set("province_code", "01")
	refresh.Set("refresh", "province")
	code, page = postForm(t, c, e.srv.URL+"/khai-bao", refresh)
	if code != 200 || !strings.Contains(page, "Quận Ba Đình") || strings.Contains(page, "Huyện Bến Lức") || strings.Contains(page, "field-error") {
		t.Errorf("refresh: %d", code)
	}

	// A good form: the QR page, with the name and an inline QR.
	code, page = postForm(t, c, e.srv.URL+"/khai-bao", formValues("22222222-2222-4333-8444-555555555555"))
	if code != 200 || !strings.Contains(page, "Đã gửi tờ khai y tế thành công") || !strings.Contains(page, "Nguyễn Văn An") ||
		!strings.Contains(page, `src="data:image/svg`) || !strings.Contains(page, "Hiệu lực đến") {
		t.Fatalf("result: %d\n%s", code, page)
	}
	// The same form posted twice (a double tap) records once.
	postForm(t, c, e.srv.URL+"/khai-bao", formValues("22222222-2222-4333-8444-555555555555"))
	if n := count(t, e.db, "declarations"); n != 1 {
		t.Errorf("%d declarations after a double submit", n)
	}
	// The phone remembers its QR.
	if _, page := get(t, c, e.srv.URL+"/khai-bao"); !strings.Contains(page, "Xem mã QR cá nhân của bạn") {
		t.Error("the form does not offer the remembered QR")
	}
	// A flagged declaration tells the person what happens next.
	sick := formValues("33333333-2222-4333-8444-555555555555")
	sick.Set("symptom_fever", "yes")
	if _, page := postForm(t, c, e.srv.URL+"/khai-bao", sick); !strings.Contains(page, "Trạm y tế xã/phường sẽ liên hệ") {
		t.Error("flagged result lacks the health station notice")
	}
}

// TestPersonalQR: the PNG decodes (zbarimg) to the URL the API returned; the
// page behind it says whether it is valid, without personal data; altered
// and expired tokens are refused.
func TestPersonalQR(t *testing.T) {
	e, decl := declEnv(t, storetest.SQLite(t), 0)
	code, body := e.do("POST", "/api/v1/declarations", "", declBody("0912345678", "Nguyễn Văn An", "27991", nil, false))
	var res declaration.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil || code != 201 {
		t.Fatalf("declare: %d %s", code, body)
	}
	resp, err := http.Get(e.srv.URL + "/p/" + res.Token + "/qr.png?size=400")
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zbar := testenv.Command(t, "zbarimg")
	path := filepath.Join(t.TempDir(), "qr.png")
	os.WriteFile(path, png, 0o644)
	out, err := exec.Command(zbar, "--quiet", "--raw", path).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != res.QRURL {
		t.Fatalf("decoded %q, want %q", got, res.QRURL)
	}
	// What a staff scanner does with the decoded text.
	scan, err := decl.ParseScan(strings.TrimSpace(string(out)))
	if err != nil || scan.Kind != declaration.ScanPersonal || scan.Personal.DeclarationID != res.ID {
		t.Fatalf("ParseScan of the decoded QR: %+v %v", scan, err)
	}
	code, page := get(t, http.DefaultClient, res.QRURL)
	if code != 200 || !strings.Contains(page, "Mã QR khai báo y tế hợp lệ") || !strings.Contains(page, "Hiệu lực đến") || strings.Contains(page, "Nguyễn Văn An") || strings.Contains(page, "0912345678") {
		t.Errorf("QR page: %d (must be valid and show no personal data)", code)
	}
	if code, page := get(t, http.DefaultClient, res.QRURL+"/qr.svg"); code != 200 || !strings.HasPrefix(page, "<svg") {
		t.Errorf("qr.svg: %d", code)
	}
	flip := byte('A')
	if res.Token[5] == 'A' {
		flip = 'B'
	}
	altered := res.Token[:5] + string(flip) + res.Token[6:]
	for _, u := range []string{"/p/" + altered, "/p/" + altered + "/qr.png", "/p/nonsense/qr.svg"} {
		if code, page := get(t, http.DefaultClient, e.srv.URL+u); code != 400 || !strings.Contains(page, "không hợp lệ") {
			t.Errorf("%s: %d, want 400 with a reason", u, code)
		}
	}
	old := decl.Sign(declaration.Claims{PersonID: 1, DeclarationID: res.ID, Expires: time.Now().Add(-time.Hour)})
	if code, page := get(t, http.DefaultClient, e.srv.URL+"/p/"+old); code != 400 || !strings.Contains(page, "đã hết hạn") {
		t.Errorf("expired: %d", code)
	}
}

// TestBrowserDeclaration: on a phone-sized screen, a resident fills the form
// (the district and commune lists follow the province), makes a mistake, fixes
// it, submits and sees the personal QR, which decodes to the right URL; then
// the commune officer finds the declaration on the worklist and handles it.
func TestBrowserDeclaration(t *testing.T) {
	e, decl := declEnv(t, storetest.SQLite(t), 0)
	ctx := newBrowser(t, 360, 740)
	shot := func(name string) string {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(os.TempDir(), "anticovid-decl-"+name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) string { t.Helper(); return evalJS(t, ctx, js) }
	// waitEval polls js until it gives want: declare.js runs deferred, after
	// the elements a wait finds are already visible.
	waitEval := func(js, want string) bool {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if eval(js) == want {
				return true
			}
		}
		return false
	}
	run(chromedp.Navigate(e.srv.URL+"/khai-bao"), chromedp.WaitVisible(`#name`))
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("page is %spx wide on a 360px screen (sideways scrolling)", w)
	}
	if !waitEval(`String(document.getElementById("travel").hidden)`, "true") {
		t.Error("travel section shown for a resident declaration")
	}
	shot("form-empty")
	run(
		chromedp.SendKeys(`#name`, "Phạm Thị Dung"),
		chromedp.SendKeys(`#birth_year`, "1992"),
		chromedp.Click(`input[name=sex][value=female]`),
		chromedp.SendKeys(`#phone`, "0903 111 222"),
		chromedp.SendKeys(`#street`, "45 Nguyễn Huệ, khu phố 2"),
		// The province changes to Hồ Chí Minh City and back to Long An: the
		// lists are fetched for each.
		chromedp.SetValue(`#province_code`, "79"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("province_code").dispatchEvent(new Event("change"))`, chromedp.EvalIgnoreExceptions),
	)
	waitOptions := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(eval(`Array.from(document.querySelectorAll("`+sel+` option")).map(o => o.textContent).join("|")`), want) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s never listed %s", sel, want)
	}
	waitOptions("#district_code", "Quận 1")
	run(chromedp.SetValue(`#province_code`, "80"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("province_code").dispatchEvent(new Event("change"))`, chromedp.EvalIgnoreExceptions))
	waitOptions("#district_code", "Huyện Bến Lức")
	run(chromedp.SetValue(`#district_code`, "803"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("district_code").dispatchEvent(new Event("change"))`, chromedp.EvalIgnoreExceptions))
	waitOptions("#commune_code", "Xã Thạnh Lợi")
	if strings.Contains(eval(`Array.from(document.querySelectorAll("#commune_code option")).map(o => o.textContent).join("|")`), "Phường 5") {
		t.Error("commune list still holds another district's communes")
	}
	run(chromedp.SetValue(`#commune_code`, "27991"))
	// Travel: the section appears.
	run(chromedp.Click(`input[name=kind][value=travel]`))
	if eval(`String(document.getElementById("travel").hidden)`) != "false" {
		t.Fatal("travel section hidden for a travel declaration")
	}
	today := time.Now().In(hcm).Format("2006-01-02")
	run(
		chromedp.SetValue(`#mode`, "car"),
		chromedp.SendKeys(`#vehicle`, "62B-012.34"),
		chromedp.SendKeys(`#departure_place`, "TP. Hồ Chí Minh"),
		chromedp.SetValue(`#departure_date`, today),
		chromedp.SendKeys(`#arrival_place`, "Bến Lức, Long An"),
		chromedp.SetValue(`#arrival_date`, today),
	)
	for _, s := range declaration.Symptoms {
		answer := "no"
		if s.Code == "cough" {
			answer = "yes"
		}
		run(chromedp.Click(`input[name=symptom_` + s.Code + `][value=` + answer + `]`))
	}
	run(chromedp.Click(`input[name=contact_case][value=no]`), chromedp.Click(`input[name=animal_market][value=no]`),
		chromedp.SetValue(`#vaccine_doses`, "1"))
	shot("form-filled")
	// Submitted without the ID number a trip needs and without the pledge: the
	// page comes back with both errors, nothing lost.
	run(chromedp.Click(`#submit`), chromedp.WaitVisible(`#summary`))
	shot("form-error")
	if got := eval(`Array.from(document.querySelectorAll("#summary li a")).map(a => a.getAttribute("href")).join(" ")`); got != "#id_number #confirm" {
		t.Errorf("error summary links %q", got)
	}
	if !waitEval(`document.activeElement.id`, "id_number") {
		t.Errorf("focus on %q, want the first field with an error", eval(`document.activeElement.id`))
	}
	if v := eval(`document.getElementById("name").value + "|" + document.getElementById("vehicle").value + "|" + document.getElementById("commune_code").value`); v != "Phạm Thị Dung|62B-012.34|27991" {
		t.Errorf("values after a rejected submit: %q", v)
	}
	if got := eval(`document.querySelector(".pledge .field-error").textContent`); !strings.Contains(got, "cam kết") {
		t.Errorf("pledge error %q", got)
	}
	if n := count(t, e.db, "declarations"); n != 0 {
		t.Fatalf("rejected form stored %d", n)
	}
	run(chromedp.SendKeys(`#id_number`, "080192001234"), chromedp.Click(`input[name=confirm]`), chromedp.Click(`#submit`), chromedp.WaitVisible(`#qr`))
	path := shot("result")
	if h := eval(`document.querySelector("#qrcard h1").textContent + "|" + document.querySelector(".holder").textContent`); h != "Mã QR cá nhân|Phạm Thị Dung" {
		t.Errorf("result heading %q", h)
	}
	if eval(`String(document.getElementById("qr").naturalWidth > 0 && document.getElementById("qr").getBoundingClientRect().width >= 250)`) != "true" {
		t.Error("QR image not shown at a scannable size")
	}
	if !strings.Contains(eval(`document.querySelector(".warn").textContent`), "Trạm y tế") {
		t.Error("flagged result lacks the health station notice")
	}
	// The QR on the screen decodes to the URL of the stored declaration.
	zbar := testenv.Command(t, "zbarimg")
	out, err := exec.Command(zbar, "--quiet", "--raw", path).Output()
	if err != nil {
		t.Fatalf("zbarimg on the screenshot: %v", err)
	}
	m := regexp.MustCompile(`/p/([A-Za-z0-9_-]+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("screenshot decodes to %q", out)
	}
	c, err := decl.Verify(m[1])
	var kind string
	var sym int
	e.db.R.QueryRow("SELECT kind, has_symptoms FROM declarations WHERE id = $1", c.DeclarationID).Scan(&kind, &sym)
	if err != nil || kind != "travel" || sym != 1 || strings.TrimSpace(string(out)) != e.srv.URL+"/p/"+m[1] {
		t.Fatalf("decoded %q: %+v %v, stored %s %d", out, c, err, kind, sym)
	}
	// Print view: header and buttons are hidden, the QR stays.
	media := func(m string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return err
		})
	}
	run(media("print"))
	if eval(`getComputedStyle(document.querySelector("header.top")).display + "|" + getComputedStyle(document.getElementById("qr")).display`) != "none|block" {
		t.Error("print view keeps the header or hides the QR")
	}
	shot("result-print")
	run(media(""))

	// The page behind the QR, as a phone's camera opens it: valid, no personal data.
	run(chromedp.Navigate(e.srv.URL+"/p/"+m[1]), chromedp.WaitVisible(`#qr`))
	shot("card")
	if got := eval(`document.querySelector("main").textContent`); !strings.Contains(got, "Hiệu lực đến") || strings.Contains(got, "Phạm Thị Dung") {
		t.Errorf("QR page: %q", got)
	}

	// Without JavaScript (a basic phone browser): the travel section and the
	// refresh buttons show, and the form is still usable.
	run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}), chromedp.Navigate(e.srv.URL+"/khai-bao?lang=en"), chromedp.WaitVisible(`#travel`), chromedp.WaitVisible(`button.refresh`))
	shot("form-nojs-en")
	if got := text(t, ctx, "h1"); got != "Electronic health declaration" {
		t.Errorf("English heading %q", got)
	}
	run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		return err
	}), chromedp.Navigate(e.srv.URL+"/khai-bao?lang=vi"))

	// The commune officer sees it on the worklist and handles it.
	run(chromedp.Navigate(e.srv.URL+"/login?next=/declarations/worklist"), chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "communea"), chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`), chromedp.WaitVisible(`ol.worklist`))
	if got := eval(`document.querySelector("ol.worklist").textContent`); !strings.Contains(got, "Phạm Thị Dung") || !strings.Contains(got, "0903111222") ||
		!strings.Contains(got, "Ho") || !strings.Contains(got, "62B-012.34") {
		t.Errorf("worklist item: %q", got)
	}
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("worklist is %spx wide on a 360px screen", w)
	}
	shot("worklist")
	run(chromedp.SendKeys(`textarea[name=note]`, "Đã gọi điện, hẹn lấy mẫu xét nghiệm"), chromedp.Click(`form.handle button`),
		chromedp.WaitVisible(`p.ok`))
	shot("worklist-handled")
	var handledBy int64
	e.db.R.QueryRow("SELECT handled_by FROM declarations WHERE id = $1", c.DeclarationID).Scan(&handledBy)
	var who string
	e.db.R.QueryRow("SELECT username FROM users WHERE id = $1", handledBy).Scan(&who)
	if who != "communea" {
		t.Errorf("handled by %q", who)
	}
	if got := eval(`document.querySelector("main").textContent`); strings.Contains(got, "Phạm Thị Dung") {
		t.Error("handled declaration still on the open list")
	}
}
