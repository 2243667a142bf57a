package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/config"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/venue"
)

var smsCodeRE = regexp.MustCompile(`\b(\d{6})\b`)

// smsCode delivers the outbox (as the server's worker would) and returns the
// newest one-time code sent to phone: the test reads the SMS, like a person.
func (e *env) smsCode(t *testing.T, phone string) string {
	t.Helper()
	if _, _, err := e.outbox.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := e.sms.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To == phone {
			if m := smsCodeRE.FindStringSubmatch(msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code was sent to %s", phone)
	return ""
}

// post sends a form and returns the status and body.
func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func anonymous() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// registration is a complete, valid step-2 form for phone.
func registration(phone, code string) url.Values {
	return url.Values{"phone": {phone}, "code": {code}, "name": {"Tiệm tạp hóa Cô Ba"}, "category": {"shop"},
		"district": {"803"}, "commune_code": {"27991"}, "address": {"12 đường 30/4, khu phố 2"}, "lat": {"10.6345"}, "lon": {"106.4801"},
		"contact_name": {"Nguyễn Thị Ba"}, "capacity": {"20"}, "opening_hours": {"06:00–21:00"},
		"password": {"mật khẩu của cô Ba"}, "password2": {"mật khẩu của cô Ba"}}
}

// Registration through the public pages: every refused code (wrong, expired,
// reused, too many attempts) is a clear message and creates nothing; a good
// one creates a venue_manager account and a pending venue owned by it.
func TestVenueRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		const phone = "0909123456"
		c := anonymous()
		users, venues := count(t, db, "users"), count(t, db, "venues")
		nothingCreated := func(step string) {
			t.Helper()
			if u, v := count(t, db, "users"), count(t, db, "venues"); u != users || v != venues {
				t.Fatalf("%s: users %d→%d, venues %d→%d", step, users, u, venues, v)
			}
		}
		expect := func(step string, status, wantStatus int, body string, fragments ...string) {
			t.Helper()
			if status != wantStatus {
				t.Fatalf("%s: status %d, want %d\n%s", step, status, wantStatus, body)
			}
			for _, f := range fragments {
				if !strings.Contains(body, f) {
					t.Fatalf("%s: body lacks %q\n%s", step, f, body)
				}
			}
		}

		code, body := get(t, c, e.srv.URL+"/register")
		expect("alias", code, 200, body, "Đăng ký địa điểm", `action="/dang-ky-dia-diem/ma"`)
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {"12345"}})
		expect("bad phone", code, 400, body, "Số điện thoại không hợp lệ")

		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {"0909 123 456"}})
		expect("send", code, 200, body, "Đã gửi mã xác nhận tới số", "*******456", "Cơ quan, doanh nghiệp, nơi làm việc",
			"Nơi tập trung đông người", `data-kind="event"`, "Huyện Bến Lức", "Thị trấn Bến Lức", `name="password"`)
		for _, cat := range []string{"Chợ đầu mối, chợ dân sinh", "Phà, đò", "Đám tang", "Cơ sở tôn giáo, tín ngưỡng"} {
			if !strings.Contains(body, cat) {
				t.Fatalf("category %q missing", cat)
			}
		}
		good := e.smsCode(t, phone)
		wrongCode := "000000"
		if good == wrongCode {
			wrongCode = "111111"
		}

		// A form error does not spend the code.
		f := registration(phone, good)
		f.Set("name", "")
		f.Set("category", "wedding")
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem", f)
		expect("form errors", code, 400, body, "Tên địa điểm từ 2 đến 200 ký tự", "Sự kiện cần thời gian bắt đầu và kết thúc", `value="12 đường 30/4, khu phố 2"`)
		nothingCreated("form errors")
		f = registration(phone, good)
		f.Set("category", "bus")
		f.Set("password2", "something else")
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem", f)
		expect("vehicle without plate", code, 400, body, "Phương tiện cần biển số", "Hai mật khẩu không khớp")

		// Wrong code.
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem", registration(phone, wrongCode))
		expect("wrong code", code, 400, body, "Mã xác nhận không đúng; còn 4 lần thử")
		nothingCreated("wrong code")

		// Expired code (the clock is moved by ageing the stored code).
		db.W.Exec("UPDATE otp_codes SET expires_at = $1", time.Now().Add(-time.Second).Unix())
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem", registration(phone, good))
		expect("expired", code, 400, body, "Mã đã hết hạn")
		nothingCreated("expired code")

		// A new code after the resend gap; five wrong guesses kill it.
		db.W.Exec("UPDATE otp_codes SET created_at = created_at - 120")
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {phone}})
		expect("resend", code, 200, body, "Đã gửi mã")
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {phone}})
		expect("resend too soon", code, 429, body, "Mã vừa được gửi tới số này")
		good = e.smsCode(t, phone)
		for i := 0; i < 5; i++ {
			post(t, c, e.srv.URL+"/dang-ky-dia-diem", registration(phone, wrongCode))
		}
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem", registration(phone, good))
		expect("too many attempts", code, 400, body, "Nhập sai quá nhiều lần")
		nothingCreated("too many attempts")

		// A fresh code works once.
		db.W.Exec("UPDATE otp_codes SET created_at = created_at - 120")
		post(t, c, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {phone}})
		good = e.smsCode(t, phone)
		code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem", registration(phone, good))
		expect("register", code, 201, body, "Đã đăng ký địa điểm", "Tiệm tạp hóa Cô Ba", "Chờ duyệt", "UBND xã/phường sẽ xem xét", phone)
		var id int64
		var status, role, unit string
		if err := db.R.QueryRow(`SELECT v.id, v.status, u.role, u.unit_code FROM venues v JOIN users u ON u.id = v.manager_id
			WHERE u.username = $1`, phone).Scan(&id, &status, &role, &unit); err != nil {
			t.Fatal(err)
		}
		if status != "pending" || role != "venue_manager" || unit != "27991" {
			t.Fatalf("stored: %s %s %s", status, role, unit)
		}
		// The registrant is logged in, sees the venue, and gets no poster yet.
		code, body = get(t, c, fmt.Sprintf("%s/api/v1/venues/%d", e.srv.URL, id))
		expect("own venue", code, 200, body, `"contact_phone":"0909123456"`, `"lat":10.6345`, `"capacity":20`, `"opening_hours":"06:00–21:00"`)
		code, body = get(t, c, fmt.Sprintf("%s/api/v1/venues/%d/poster.pdf", e.srv.URL, id))
		expect("pending poster", code, 400, body, "Chỉ địa điểm đã được duyệt mới có mã QR", "Chờ duyệt")

		// The same code again: used.
		other := anonymous()
		code, body = post(t, other, e.srv.URL+"/dang-ky-dia-diem", registration(phone, good))
		expect("reused", code, 400, body, "Mã này đã được dùng")
		if n := count(t, db, "venues"); n != venues+1 {
			t.Fatalf("venues %d after a reused code", n)
		}

		// A second venue on the same phone needs the account's password.
		db.W.Exec("UPDATE otp_codes SET created_at = created_at - 120")
		post(t, other, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {phone}})
		f = registration(phone, e.smsCode(t, phone))
		f.Set("name", "Đám cưới con cô Ba")
		f.Set("category", "wedding")
		f.Set("starts_at", "2021-08-01T17:00")
		f.Set("ends_at", "2021-08-01T21:00")
		f.Set("password", "not the password")
		f.Set("password2", "not the password")
		code, body = post(t, other, e.srv.URL+"/dang-ky-dia-diem", f)
		expect("existing account, wrong password", code, 400, body, "đã có tài khoản", "Đã xác nhận số điện thoại")
		confirmed := regexp.MustCompile(`name="confirmed" value="([^"]+)"`).FindStringSubmatch(body)
		if confirmed == nil {
			t.Fatal("no confirmation kept after the code was accepted")
		}
		f = registration(phone, "")
		f.Set("confirmed", confirmed[1])
		f.Set("name", "Đám cưới con cô Ba")
		f.Set("category", "wedding")
		f.Set("starts_at", "2021-08-01T17:00")
		f.Set("ends_at", "2021-08-01T21:00")
		code, body = post(t, other, e.srv.URL+"/dang-ky-dia-diem", f)
		expect("second venue", code, 201, body, "Đám cưới con cô Ba")
		var starts, managers int64
		db.R.QueryRow("SELECT starts_at FROM venues WHERE name = $1", "Đám cưới con cô Ba").Scan(&starts)
		db.R.QueryRow("SELECT count(DISTINCT manager_id) FROM venues WHERE name LIKE $1", "%cô Ba%").Scan(&managers)
		if starts != time.Date(2021, 8, 1, 10, 0, 0, 0, time.UTC).Unix() || managers != 1 {
			t.Fatalf("event starts %d, managers %d", starts, managers)
		}
		// A forged confirmation is worth nothing.
		f.Set("confirmed", confirmed[1][:len(confirmed[1])-2]+"AA")
		code, body = post(t, anonymous(), e.srv.URL+"/dang-ky-dia-diem", f)
		expect("forged confirmation", code, 400, body, "Mã xác nhận gồm 6 chữ số")

		// The commune officer sees it among the pending venues and approves it
		// from the venue page; the manager then gets the poster.
		officer := e.browser(t, "communea")
		code, body = get(t, officer, e.srv.URL+"/venues?status=pending")
		expect("pending list", code, 200, body, "Tiệm tạp hóa Cô Ba", `href="/venues?status=pending"`)
		if strings.Contains(body, "Bệnh viện Đa khoa Bến Lức") {
			t.Fatal("the pending filter lists an approved venue")
		}
		code, body = get(t, officer, fmt.Sprintf("%s/venues/%d", e.srv.URL, id))
		expect("venue page", code, 200, body, fmt.Sprintf(`action="/venues/%d/status"`, id), `value="approved"`, "Mã QR và áp phích chỉ có sau khi")
		code, body = post(t, officer, fmt.Sprintf("%s/venues/%d/status", e.srv.URL, id), url.Values{"status": {"approved"}})
		expect("approve", code, 200, body, "Đã duyệt", fmt.Sprintf(`/api/v1/venues/%d/poster.pdf`, id), fmt.Sprintf(`action="/venues/%d/reissue"`, id))
		code, body = get(t, c, fmt.Sprintf("%s/api/v1/venues/%d/poster.pdf", e.srv.URL, id))
		expect("approved poster", code, 200, body, "%PDF-")
		// Another commune's officer cannot.
		code, _ = post(t, e.browser(t, "communeb"), fmt.Sprintf("%s/venues/%d/status", e.srv.URL, id), url.Values{"status": {"suspended"}})
		if code != 403 {
			t.Fatalf("other commune suspends: %d", code)
		}
		// Nor can the manager approve their own venue.
		code, _ = post(t, c, fmt.Sprintf("%s/venues/%d/status", e.srv.URL, id), url.Values{"status": {"approved"}})
		if code != 403 {
			t.Fatalf("manager approves: %d", code)
		}
	})
}

// fetch GETs a file as username (by bearer token) and fails unless it
// answers 200 with the content type ctype ("" accepts any).
func (e *env) fetch(t *testing.T, path, username, ctype string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[username])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s as %s: %d %s", path, username, resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); ctype != "" && got != ctype {
		t.Fatalf("GET %s: Content-Type %q, want %q", path, got, ctype)
	}
	return body
}

// zbarRead decodes every QR code in an image file with Debian's zbarimg.
func zbarRead(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command(testenv.Command(t, "zbarimg"), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v (no code found?)", path, err)
	}
	return strings.Fields(string(out))
}

func venueQRURL(t *testing.T, e *env, id int64, username string) string {
	t.Helper()
	var v struct {
		QRURL string `json:"qr_url"`
	}
	json.Unmarshal(e.fetch(t, fmt.Sprintf("/api/v1/venues/%d", id), username, ""), &v)
	if v.QRURL == "" {
		t.Fatal("no qr_url")
	}
	return v.QRURL
}

// The QR code in the PNG and in the PDF poster (rasterised as a printer
// would) reads back as the venue's qr_url exactly; the poster's text keeps
// its Vietnamese diacritics; other communes get 403; a reissued code makes
// the old posters fail at the door at once.
func TestVenuePosters(t *testing.T) {
	pdftoppm := testenv.Command(t, "pdftoppm")
	pdftotext := testenv.Command(t, "pdftotext")
	e := newEnv(t, storetest.SQLite(t))
	dir := t.TempDir()
	hospital := e.venues["Bệnh viện Đa khoa Bến Lức"]
	want := venueQRURL(t, e, hospital, "communea")
	code, body := e.do("POST", "/api/v1/venues", "managera", map[string]any{"name": "Tạp hóa Cô Ba", "category": "shop", "commune_code": "27991"})
	var pending struct{ ID int64 }
	if json.Unmarshal([]byte(body), &pending); code != 201 || pending.ID == 0 {
		t.Fatalf("pending venue: %d %s", code, body)
	}

	png := e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/qr.png?size=600", hospital), "communea", "image/png")
	os.WriteFile(filepath.Join(dir, "qr.png"), png, 0o644)
	if got := zbarRead(t, filepath.Join(dir, "qr.png")); len(got) != 1 || got[0] != want {
		t.Fatalf("PNG reads %q, want %q", got, want)
	}
	if svg := string(e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/qr.svg", hospital), "benluc", "image/svg+xml")); !strings.Contains(svg, "<svg") {
		t.Fatalf("SVG: %.100s", svg)
	}
	pdf := filepath.Join(dir, "poster.pdf")
	os.WriteFile(pdf, e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/poster.pdf", hospital), "communea", "application/pdf"), 0o644)
	text := pdfText(t, pdftotext, pdf)
	for _, frag := range []string{"Bệnh viện Đa khoa Bến Lức", "Bệnh viện", "Thị trấn Bến Lức, huyện Bến Lức", "MÃ QR ĐIỂM KIỂM SOÁT RA VÀO", "Quét mã này khi vào và khi ra"} {
		if !strings.Contains(text, frag) {
			t.Errorf("poster text lacks %q:\n%s", frag, text)
		}
	}
	pages := pdfPages(t, pdftoppm, pdf)
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	if got := zbarRead(t, pages[0]); len(got) != 1 || got[0] != want {
		t.Fatalf("poster reads %q, want %q", got, want)
	}
	keep(t, pages[0], "venue-poster.png")

	// Jurisdiction, and only approved venues.
	for _, c := range []struct {
		path, user string
		status     int
		fragment   string
	}{
		{fmt.Sprintf("/api/v1/venues/%d/poster.pdf", hospital), "communeb", 403, `"forbidden"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", hospital), "tanan", 403, `"forbidden"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.svg", hospital), "managera", 403, `"forbidden"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", hospital), "", 401, `"unauthorized"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png?size=5", hospital), "admin", 400, `"size"`},
		{fmt.Sprintf("/api/v1/venues/%d/poster.pdf", pending.ID), "managera", 400, "Chỉ địa điểm đã được duyệt mới có mã QR; địa điểm này: Chờ duyệt"},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", pending.ID), "communea", 400, `"status"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", e.venues["Chợ Hàng Da"]), "admin", 403, `"forbidden"`},
		{"/api/v1/venues/999999/poster.pdf", "admin", 404, `"not_found"`},
		{"/api/v1/units/27994/posters.pdf", "communea", 403, `"forbidden"`},
		{"/api/v1/units/00004/posters.pdf", "benluc", 403, `"forbidden"`},
		{"/api/v1/units/803/posters.pdf", "benluc", 400, "theo từng xã"},
		{"/api/v1/units/99999/posters.pdf", "admin", 404, `"not_found"`},
		{"/api/v1/units/27997/posters.pdf", "benluc", 400, "chưa có địa điểm nào"},
	} {
		if code, body := e.do("GET", c.path, c.user, nil); code != c.status || !strings.Contains(body, c.fragment) {
			t.Errorf("GET %s as %q: %d %.200s, want %d %s", c.path, c.user, code, body, c.status, c.fragment)
		}
	}

	// A commune's batch: every approved venue of the commune (not the
	// pending one), one page each.
	batch := filepath.Join(dir, "commune.pdf")
	os.WriteFile(batch, e.fetch(t, "/api/v1/units/27991/posters.pdf", "communea", "application/pdf"), 0o644)
	pages = pdfPages(t, pdftoppm, batch)
	text = pdfText(t, pdftotext, batch)
	if len(pages) != 2 || !strings.Contains(text, "Chợ Bến Lức") || !strings.Contains(text, "Bệnh viện Đa khoa Bến Lức") ||
		strings.Contains(text, "Thạnh Lợi") || strings.Contains(text, "Cô Ba") {
		t.Fatalf("commune batch: %d pages\n%s", len(pages), text)
	}
	wantURLs := map[string]bool{want: true, venueQRURL(t, e, e.venues["Chợ Bến Lức"], "communea"): true}
	for _, p := range pages {
		if got := zbarRead(t, p); len(got) != 1 || !wantURLs[got[0]] {
			t.Errorf("%s reads %q", filepath.Base(p), got)
		}
	}
	// Parts: with one poster a part, the first part names where the next begins.
	defer func(n int) { maxCommunePosters = n }(maxCommunePosters)
	maxCommunePosters = 1
	for i, part := range []struct{ query, next string }{{"", "1"}, {"?offset=1", ""}} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/units/27991/posters.pdf"+part.query, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["communea"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		partPDF := filepath.Join(dir, fmt.Sprintf("part%d.pdf", i))
		os.WriteFile(partPDF, b, 0o644)
		if n := len(pdfPages(t, pdftoppm, partPDF)); resp.StatusCode != 200 || n != 1 || resp.Header.Get("X-Next-Offset") != part.next {
			t.Fatalf("part %q: %d, %d pages, next %q", part.query, resp.StatusCode, n, resp.Header.Get("X-Next-Offset"))
		}
	}
	maxCommunePosters = 2000
	// A department officer's batch holds only their sector.
	os.WriteFile(batch, e.fetch(t, "/api/v1/units/27991/posters.pdf", "trade", "application/pdf"), 0o644)
	if text := pdfText(t, pdftotext, batch); !strings.Contains(text, "Chợ Bến Lức") || strings.Contains(text, "Bệnh viện") {
		t.Fatalf("trade's batch:\n%s", text)
	}

	// Reissue: the old token worked a moment ago and is refused at once after.
	old := strings.TrimPrefix(want, "http://anticovid.test/c/")
	scan := func(tok, id string) (int, string) {
		return e.do("POST", "/api/v1/checkins", "", map[string]any{"id": id, "token": tok, "direction": "in",
			"person": map[string]any{"name": "Trần Văn Bảy", "phone": "0987000111", "birth_year": 1980, "commune_code": "27991"}})
	}
	if code, body := scan(old, "8f0c1d9e-0000-4000-8000-000000000001"); code != 201 {
		t.Fatalf("check-in before reissue: %d %s", code, body)
	}
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/venues/%d/reissue", hospital), "communeb", nil); code != 403 {
		t.Fatalf("reissue by another commune: %d", code)
	}
	code, body = e.do("POST", fmt.Sprintf("/api/v1/venues/%d/reissue", hospital), "communea", nil)
	var re struct {
		QRURL        string `json:"qr_url"`
		ContactPhone string `json:"contact_phone"`
	}
	json.Unmarshal([]byte(body), &re)
	if code != 200 || re.QRURL == "" || re.QRURL == want || re.ContactPhone != "" {
		t.Fatalf("reissue: %d %s", code, body)
	}
	if code, body := scan(old, "8f0c1d9e-0000-4000-8000-000000000002"); code != 400 || !strings.Contains(body, "đã được thay bằng mã mới") {
		t.Fatalf("old poster after reissue: %d %s", code, body)
	}
	if code, body := scan(strings.TrimPrefix(re.QRURL, "http://anticovid.test/c/"), "8f0c1d9e-0000-4000-8000-000000000003"); code != 201 {
		t.Fatalf("new poster: %d %s", code, body)
	}
	os.WriteFile(filepath.Join(dir, "qr2.png"), e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/qr.png", hospital), "communea", "image/png"), 0o644)
	if got := zbarRead(t, filepath.Join(dir, "qr2.png")); len(got) != 1 || got[0] != re.QRURL {
		t.Fatalf("PNG after reissue reads %q, want %q", got, re.QRURL)
	}
	// The page form does the same, redirecting back to the venue.
	officer := e.browser(t, "communea")
	code, page := post(t, officer, fmt.Sprintf("%s/venues/%d/reissue", e.srv.URL, hospital), nil)
	if code != 200 || !strings.Contains(page, "Bệnh viện Đa khoa Bến Lức") || venueQRURL(t, e, hospital, "communea") == re.QRURL {
		t.Fatalf("reissue form: %d", code)
	}
}

// keep copies a file to $ANTICOVID_SCREENSHOTS for people to look at.
func keep(t *testing.T, path, name string) {
	if dir := os.Getenv("ANTICOVID_SCREENSHOTS"); dir != "" {
		if b, err := os.ReadFile(path); err == nil {
			os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
	}
}

// pdfPages rasterises a PDF and returns the PNG of each page.
func pdfPages(t *testing.T, pdftoppm, pdf string) []string {
	t.Helper()
	out, err := exec.Command(pdftoppm, "-r", "120", "-png", pdf, strings.TrimSuffix(pdf, ".pdf")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(strings.TrimSuffix(pdf, ".pdf") + "-*.png")
	return pages
}

func pdfText(t *testing.T, pdftotext, pdf string) string {
	t.Helper()
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// multipartFile builds a multipart body with one file field.
func multipartFile(t *testing.T, name string, data []byte) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	return w.FormDataContentType(), &b
}

// doRaw sends a body with a content type as username.
func (e *env) doRaw(t *testing.T, method, path, username, ctype string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	req.Header.Set("Content-Type", ctype)
	if username != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[username])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Bulk import over the API and the page: one bad row stores nothing and is
// reported by its line; an XLSX file imports; only officers may import.
func TestVenueImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		before := count(t, db, "venues")
		csv := "\ufeffname,category,commune_code,address,contact_phone,capacity\n" +
			"Nhà văn hóa khu phố 1,meeting,27991,Khu phố 1,,\n" + // an event without start and end
			"Quán cơm Bà Tư,restaurant,27991,Chợ cũ,0912 000 111,40\n" +
			"Tiệm vàng Kim Hưng,shop,27994,Quốc lộ 1A,,\n" + // another commune than communea's
			"Tạp hóa Út Em,shop,27991,Ấp 2,12ab,\n"
		code, body := e.doRaw(t, "POST", "/api/v1/venues/import", "communea", "text/csv", strings.NewReader(csv))
		var rep struct {
			Errors []struct {
				Row    int               `json:"row"`
				Fields map[string]string `json:"fields"`
			} `json:"errors"`
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal([]byte(body), &rep)
		if code != 400 || rep.Error.Code != "invalid" || len(rep.Errors) != 3 || rep.Errors[0].Row != 2 || rep.Errors[0].Fields["ends_at"] == "" ||
			rep.Errors[1].Row != 4 || !strings.Contains(rep.Errors[1].Fields["commune_code"], "ngoài địa bàn") ||
			rep.Errors[2].Row != 5 || rep.Errors[2].Fields["contact_phone"] == "" {
			t.Fatalf("report: %d %s", code, body)
		}
		if n := count(t, db, "venues"); n != before {
			t.Fatalf("a refused file stored %d venues", n-before)
		}

		// The same rows fixed, as XLSX through a multipart upload.
		f := excelize.NewFile()
		f.SetSheetRow("Sheet1", "A1", &[]any{"name", "category", "commune_code", "starts_at", "ends_at", "plate", "route"})
		f.SetSheetRow("Sheet1", "A2", &[]any{"Hội nghị khu phố 1", "meeting", "27991", "2021-08-05 08:00", "2021-08-05 11:00"})
		f.SetSheetRow("Sheet1", "A3", &[]any{"Xe buýt Tân An – Bến Lức", "Xe buýt", 27991, "", "", "62B-000.01", "Tân An – Bến Lức"})
		var x bytes.Buffer
		f.Write(&x)
		ctype, mp := multipartFile(t, "dia-diem.xlsx", x.Bytes())
		code, body = e.doRaw(t, "POST", "/api/v1/venues/import", "communea", ctype, mp)
		if code != 201 || strings.TrimSpace(body) != `{"created":2}` {
			t.Fatalf("xlsx import: %d %s", code, body)
		}
		var status, plate string
		db.R.QueryRow("SELECT status, plate FROM venues WHERE name = $1", "Xe buýt Tân An – Bến Lức").Scan(&status, &plate)
		if status != "approved" || plate != "62B-000.01" || count(t, db, "venues") != before+2 {
			t.Fatalf("stored: %q %q", status, plate)
		}

		for _, c := range []struct {
			user   string
			status int
		}{{"managera", 403}, {"tracera", 403}, {"", 401}} {
			if code, _ := e.doRaw(t, "POST", "/api/v1/venues/import", c.user, "text/csv", strings.NewReader(csv)); code != c.status {
				t.Errorf("import as %q: %d, want %d", c.user, code, c.status)
			}
		}
		if code, body := e.doRaw(t, "POST", "/api/v1/venues/import", "admin", "text/csv", strings.NewReader("ten,loai\nA,B\n")); code != 400 || !strings.Contains(body, "Cột không rõ") {
			t.Errorf("bad header: %d %s", code, body)
		}

		// The page: templates to download, the same report as a table.
		officer := e.browser(t, "communea")
		code, page := get(t, officer, e.srv.URL+"/venues/import")
		if code != 200 || !strings.Contains(page, "mau-dia-diem.xlsx") || !strings.Contains(page, `enctype="multipart/form-data"`) {
			t.Fatalf("import page: %d", code)
		}
		code, tmpl := get(t, officer, e.srv.URL+"/venues/import/mau-dia-diem.csv")
		if code != 200 || !strings.HasPrefix(tmpl, "\ufeffname,category,commune_code,") {
			t.Fatalf("CSV template: %d %q", code, tmpl)
		}
		code, tmpl = get(t, officer, e.srv.URL+"/venues/import/mau-dia-diem.xlsx")
		if code != 200 || !strings.HasPrefix(tmpl, "PK") {
			t.Fatalf("XLSX template: %d", code)
		}
		ctype, mp = multipartFile(t, "dia-diem.csv", []byte(csv))
		resp, err := officer.Post(e.srv.URL+"/venues/import", ctype, mp)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "Chưa nhập dòng nào vì có dòng sai") ||
			!strings.Contains(string(b), `data-label="Dòng">4</td><td data-label="Cột"><code>commune_code</code>`) {
			t.Fatalf("page report: %d\n%s", resp.StatusCode, b)
		}
		if code, _ := get(t, e.browser(t, "managera"), e.srv.URL+"/venues/import"); code != 403 {
			t.Fatalf("manager import page: %d", code)
		}
		if n := count(t, db, "venues"); n != before+2 {
			t.Fatalf("venues %d, want %d", n, before+2)
		}
	})
}

// registrationServer serves e's deployment with another province and
// auto-approval setting.
func registrationServer(t *testing.T, e *env, province string, autoApprove bool) string {
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: province, Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10,
		LogLevel: "error", AutoApprove: autoApprove}
	srv := httptest.NewServer(New(Deps{Config: cfg, DB: e.db, Auth: e.auth, People: e.scans.People, Checkins: e.scans, Keys: e.keys, Outbox: e.outbox, OTP: e.otp, Cases: e.cases,
		Venues: &venue.Service{DB: e.db, Vault: e.vault, Signer: e.keys, BaseURL: "http://anticovid.test", Province: province},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// With --auto-approve, a registered venue is approved at once: the result
// page shows its QR code and the poster downloads.
func TestVenueRegistrationAutoApprove(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	srvURL := registrationServer(t, e, "80", true)
	const phone = "0977111222"
	c := anonymous()
	if code, body := post(t, c, srvURL+"/dang-ky-dia-diem/ma", url.Values{"phone": {phone}}); code != 200 {
		t.Fatalf("send: %d %s", code, body)
	}
	code, body := post(t, c, srvURL+"/dang-ky-dia-diem", registration(phone, e.smsCode(t, phone)))
	if code != 201 || !strings.Contains(body, "Đã duyệt") || !strings.Contains(body, "<svg") || !strings.Contains(body, "/poster.pdf") {
		t.Fatalf("auto-approved registration: %d\n%s", code, body)
	}
	var id int64
	var status string
	e.db.R.QueryRow("SELECT id, status FROM venues WHERE name = $1", "Tiệm tạp hóa Cô Ba").Scan(&id, &status)
	if status != "approved" {
		t.Fatalf("status %q", status)
	}
	if code, body := get(t, c, fmt.Sprintf("%s/api/v1/venues/%d/poster.pdf", srvURL, id)); code != 200 || !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("poster: %d", code)
	}
}

// A national deployment's form asks for the province first and lists that
// province's districts and communes (the "show districts" button, pressed
// by the page's script when the province changes); neither step spends the
// code, and the venue is stored in the commune chosen.
func TestVenueRegistrationNational(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	srvURL := registrationServer(t, e, "VN", false)
	const phone = "0977333444"
	c := anonymous()
	venues := count(t, e.db, "venues")
	code, body := post(t, c, srvURL+"/dang-ky-dia-diem/ma", url.Values{"phone": {phone}})
	if code != 200 || !strings.Contains(body, `<select name="province" id="province">`) || !strings.Contains(body, ">Thành phố Hà Nội</option>") ||
		!strings.Contains(body, ">Tỉnh Long An</option>") || strings.Contains(body, "Huyện Bến Lức") || strings.Contains(body, "Quận Ba Đình") {
		t.Fatalf("form: %d\n%s", code, body)
	}
	f := registration(phone, e.smsCode(t, phone))
	f.Set("province", "80")
	f.Del("district")
	f.Del("commune_code")
	f.Set("refresh", "1")
	code, body = post(t, c, srvURL+"/dang-ky-dia-diem", f)
	if code != 200 || !strings.Contains(body, `<option value="80" selected>Tỉnh Long An</option>`) || !strings.Contains(body, ">Huyện Bến Lức</option>") ||
		!strings.Contains(body, `<option value="27991">Thị trấn Bến Lức</option>`) || strings.Contains(body, "Quận Ba Đình") ||
		!strings.Contains(body, `value="Tiệm tạp hóa Cô Ba"`) || count(t, e.db, "venues") != venues {
		t.Fatalf("districts of the chosen province: %d\n%s", code, body)
	}
	f.Del("refresh")
	f.Set("district", "803")
	f.Set("commune_code", "27991")
	if code, body = post(t, c, srvURL+"/dang-ky-dia-diem", f); code != 201 {
		t.Fatalf("register: %d\n%s", code, body)
	}
	var commune, province string
	e.db.R.QueryRow("SELECT commune_code, province_code FROM venues WHERE name = $1", "Tiệm tạp hóa Cô Ba").Scan(&commune, &province)
	if commune != "27991" || province != "80" {
		t.Fatalf("stored in %q/%q", commune, province)
	}
}
