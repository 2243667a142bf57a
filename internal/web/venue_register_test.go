package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

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
	code, _, body := sendForm(t, c, u, form)
	return code, body
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
		// An account with more login steps (a forced reset, a second factor)
		// cannot skip them through this form.
		f.Set("name", "Đám giỗ ông Tư")
		for _, q := range []string{"UPDATE users SET must_reset = 1 WHERE username = $1",
			"UPDATE users SET must_reset = 0, totp_secret_enc = totp_pending_enc WHERE username = $1"} {
			e.auth.StartEnrol(t.Context(), mustUser(t, e, phone)) // a sealed secret in totp_pending_enc
			db.W.Exec(q, phone)
			code, body = post(t, anonymous(), e.srv.URL+"/dang-ky-dia-diem", f)
			expect(q, code, 400, body, "hãy đăng nhập trước")
		}
		db.W.Exec("UPDATE users SET totp_secret_enc = NULL WHERE username = $1", phone)
		// A forged confirmation is worth nothing.
		f.Set("confirmed", testenv.Alter(confirmed[1], 10))
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

// registrationServer serves e's deployment with another province and
// auto-approval setting.
func registrationServer(t *testing.T, e *env, province string, autoApprove bool) string {
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: province, Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10,
		LogLevel: "error", AutoApprove: autoApprove}
	srv := httptest.NewServer(contract(t, New(Deps{Config: cfg, DB: e.db, Auth: e.auth, People: e.scans.People, Checkins: e.scans, Keys: e.keys, Outbox: e.outbox, OTP: e.otp, Cases: e.cases,
		Venues: &venue.Service{DB: e.db, Vault: e.vault, Signer: e.keys, BaseURL: "http://anticovid.test", Province: province},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil))})))
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
