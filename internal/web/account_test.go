package web

import (
	"context"
	"encoding/base64"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"anticovid/internal/auth"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// clientFrom is a browser (cookie jar, following redirects) whose
// connections come from ip, a loopback address other than 127.0.0.1.
func clientFrom(ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext}}
}

// sendForm sends a form and returns the final status, path and body.
func sendForm(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(b)
}

// The official logs in from their own address while an attacker hammers
// their account from another: the attacker is slowed, the official is not.
// Spraying many accounts from one address hits the address cap.
func TestLoginLockoutSparesTheOfficial(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	attacker, official := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	var codes []int
	for i := range 12 {
		code, _, _ := sendForm(t, attacker, e.srv.URL+"/login", url.Values{"username": {"communea"}, "password": {"guess number " + itoa64(int64(i))}})
		codes = append(codes, code)
	}
	if codes[0] != 401 || codes[11] != 429 {
		t.Fatalf("attacker's answers: %v", codes)
	}
	// Even the right password waits, from the attacker's address.
	if code, _, body := sendForm(t, attacker, e.srv.URL+"/login", url.Values{"username": {"communea"}, "password": {testPassword}}); code != 429 || !strings.Contains(body, "quá nhiều lần") {
		t.Fatalf("attacker with the right password: %d", code)
	}
	// Any spelling of the username is the same pair.
	if code, _, _ := sendForm(t, attacker, e.srv.URL+"/login", url.Values{"username": {" CommuneA "}, "password": {testPassword}}); code != 429 {
		t.Fatalf("attacker with another spelling: %d", code)
	}
	// The official is not locked out.
	if code, path, _ := sendForm(t, official, e.srv.URL+"/login", url.Values{"username": {"communea"}, "password": {testPassword}}); code != 200 || path != "/" {
		t.Fatalf("official: %d %s", code, path)
	}
	// A spray over many usernames from one address: the address is capped,
	// for usernames it never tried too, and nobody else is.
	sprayer := clientFrom("127.0.0.3")
	for i := range 31 {
		sendForm(t, sprayer, e.srv.URL+"/login", url.Values{"username": {"user" + itoa64(int64(i))}, "password": {"x"}})
	}
	if code, _, _ := sendForm(t, sprayer, e.srv.URL+"/login", url.Values{"username": {"communeb"}, "password": {testPassword}}); code != 429 {
		t.Fatalf("sprayer: %d", code)
	}
	if code, path, _ := sendForm(t, official, e.srv.URL+"/login", url.Values{"username": {"communeb"}, "password": {testPassword}}); code != 200 || path != "/" {
		t.Fatalf("communeb from their address: %d %s", code, path)
	}
}

var (
	secretRE = regexp.MustCompile(`id="totp-secret"[^>]*>([A-Z2-7]+)<`)
	qrRE     = regexp.MustCompile(`src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"`)
	codesRE  = regexp.MustCompile(`<code>([a-z0-9]{5}-[a-z0-9]{5})</code>`)
)

// A district officer must enrol a second factor at the first login and can
// do nothing else until then; later logins ask for a code, each code works
// once, and recovery codes stand in for a lost phone.
func TestSecondFactorLogin(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.auth.EnrolOptional = false
	c := clientFrom("127.0.0.4")
	login := func() (int, string, string) {
		return sendForm(t, c, e.srv.URL+"/login", url.Values{"username": {"benluc"}, "password": {testPassword}})
	}
	code, path, body := login()
	if code != 200 || path != "/login/step" || !strings.Contains(body, "Bật xác thực hai lớp") {
		t.Fatalf("first login: %d %s", code, path)
	}
	m := secretRE.FindStringSubmatch(body)
	q := qrRE.FindStringSubmatch(html.UnescapeString(body))
	if m == nil || q == nil {
		t.Fatalf("enrolment page lacks the secret or the QR:\n%s", body)
	}
	secret := m[1]
	// The QR holds the otpauth:// URL of that very secret (read back by zbarimg).
	svg, _ := base64.StdEncoding.DecodeString(q[1])
	file := filepath.Join(t.TempDir(), "totp.svg")
	os.WriteFile(file, svg, 0o600)
	out, err := exec.Command(testenv.Command(t, "zbarimg"), "-q", "--raw", file).Output()
	if err != nil || !strings.HasPrefix(string(out), "otpauth://totp/anticovid:benluc?") || !strings.Contains(string(out), "secret="+secret) {
		t.Fatalf("QR reads %q %v", out, err)
	}
	// Until enrolled, nothing else answers: pages send to the login, the API refuses.
	if _, path, _ := sendForm(t, c, e.srv.URL+"/account/password", url.Values{}); path != "/login" {
		t.Fatalf("a page during enrolment: %s", path)
	}
	if code, _ := get(t, c, e.srv.URL+"/api/v1/venues"); code != 401 {
		t.Fatalf("API during enrolment: %d", code)
	}
	var pending string
	for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.srv.URL, "http://"), Path: "/login/step"}) {
		if ck.Name == pendingCookie {
			pending = ck.Value
		}
	}
	if pending == "" {
		t.Fatal("no pending cookie")
	}
	if code := bearerGet(t, e, pending); code != 401 {
		t.Fatalf("pending secret as a bearer token: %d", code)
	}
	resp, err := (&http.Client{Jar: cookieJar(e, sessionCookie, pending)}).Get(e.srv.URL + "/venues")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("pending secret as a session cookie reached %s", resp.Request.URL.Path)
	}
	// A wrong first code, then the right one: ten recovery codes, shown once.
	if code, _, body := sendForm(t, c, e.srv.URL+"/login/step", url.Values{"code": {"000000"}}); code != 422 || !strings.Contains(body, "Mã không đúng") {
		t.Fatalf("wrong enrolment code: %d", code)
	}
	first, _ := totp.GenerateCode(secret, time.Now())
	code, _, body = sendForm(t, c, e.srv.URL+"/login/step", url.Values{"code": {first}})
	recovery := codesRE.FindAllStringSubmatch(body, -1)
	if code != 200 || len(recovery) != 10 {
		t.Fatalf("enrolled: %d, %d codes", code, len(recovery))
	}
	if code, body := get(t, c, e.srv.URL+"/account"); code != 200 || !strings.Contains(body, "Đã bật") {
		t.Fatalf("account after enrolment: %d", code)
	}
	// The next login asks for a code; the enrolment's code is spent.
	sendForm(t, c, e.srv.URL+"/logout", nil)
	if _, path, body := login(); path != "/login/step" || !strings.Contains(body, "Nhập mã xác thực") {
		t.Fatalf("second login: %s", path)
	}
	if code, _, _ := sendForm(t, c, e.srv.URL+"/login/step", url.Values{"code": {first}}); code != 401 {
		t.Fatalf("replayed code: %d", code)
	}
	if _, path, _ := sendForm(t, c, e.srv.URL+"/login/step", url.Values{"code": {recovery[0][1]}}); path != "/" {
		t.Fatalf("recovery code: %s", path)
	}
	sendForm(t, c, e.srv.URL+"/logout", nil)
	login()
	if code, _, _ := sendForm(t, c, e.srv.URL+"/login/step", url.Values{"code": {recovery[0][1]}}); code != 401 {
		t.Fatalf("recovery code reused: %d", code)
	}
	// Guessing codes is slowed like guessing passwords.
	var last int
	for range 8 {
		last, _, _ = sendForm(t, c, e.srv.URL+"/login/step", url.Values{"code": {"123456"}})
	}
	if last != 429 {
		t.Fatalf("code guessing: %d", last)
	}
}

// bearerGet lists venues with secret as the bearer token and returns the status.
func bearerGet(t *testing.T, e *env, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/venues", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// cookieJar is a jar holding one cookie for the test server.
func cookieJar(e *env, name, value string) http.CookieJar {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
	return jar
}

func mustUser(t *testing.T, e *env, name string) auth.User {
	t.Helper()
	u, err := e.auth.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func userID(t *testing.T, e *env, name string) string {
	t.Helper()
	return itoa64(mustUser(t, e, name).UserID)
}

// Administrators disable, re-enable, force resets and revoke in their
// jurisdiction only; a disabled account's sessions and tokens stop at once;
// every user manages their own password and sessions.
func TestAccountPages(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	admin, benluc, communea := e.browser(t, "admin"), e.browser(t, "benluc"), e.browser(t, "communea")
	if code, body := get(t, admin, e.srv.URL+"/accounts"); code != 200 || !strings.Contains(body, "communea") || !strings.Contains(body, "tanan") || strings.Contains(body, "hanoi") {
		t.Fatalf("province list: %d", code)
	}
	if code, body := get(t, benluc, e.srv.URL+"/accounts"); code != 200 || !strings.Contains(body, "communea") || strings.Contains(body, "tanan") || strings.Contains(body, ">admin<") {
		t.Fatalf("district list: %d\n%s", code, body)
	}
	if code, _ := get(t, communea, e.srv.URL+"/accounts"); code != 403 {
		t.Fatalf("commune officer lists accounts: %d", code)
	}
	// Outside or above the district: as if the account did not exist.
	for _, target := range []string{"tanan", "admin", "health", "hanoi"} {
		for _, act := range []string{"disable", "reset-password", "reset-totp", "revoke"} {
			if code, _, _ := sendForm(t, benluc, e.srv.URL+"/accounts/"+userID(t, e, target)+"/"+act, url.Values{"id": {auth.SecretID(e.tokens[target])}}); code != 404 {
				t.Errorf("benluc %s %s: %d", act, target, code)
			}
		}
		if code := bearerGet(t, e, e.tokens[target]); code != 200 {
			t.Errorf("%s's token harmed: %d", target, code)
		}
	}
	// The district disables a commune officer: their token and browser stop now.
	id := userID(t, e, "communea")
	if code, _, body := sendForm(t, benluc, e.srv.URL+"/accounts/"+id+"/disable", nil); code != 200 || !strings.Contains(body, "Đã khóa tài khoản") {
		t.Fatalf("disable: %d", code)
	}
	if code := bearerGet(t, e, e.tokens["communea"]); code != 401 {
		t.Fatalf("disabled account's token: %d", code)
	}
	if _, path, _ := sendForm(t, communea, e.srv.URL+"/account/password", url.Values{}); path != "/login" {
		t.Fatalf("disabled account's browser: %s", path)
	}
	if code, _, _ := sendForm(t, clientFrom("127.0.0.5"), e.srv.URL+"/login", url.Values{"username": {"communea"}, "password": {testPassword}}); code != 401 {
		t.Fatalf("disabled account logs in: %d", code)
	}
	sendForm(t, benluc, e.srv.URL+"/accounts/"+id+"/enable", nil)
	communea = e.browser(t, "communea")
	tok, err := e.auth.CreateToken(context.Background(), "communea", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["communea"] = tok

	// A forced reset: the next login asks for a new password, under the rule.
	if code, _, _ := sendForm(t, admin, e.srv.URL+"/accounts/"+userID(t, e, "communeb")+"/reset-password", nil); code != 200 {
		t.Fatalf("force reset: %d", code)
	}
	b := clientFrom("127.0.0.6")
	if _, path, body := sendForm(t, b, e.srv.URL+"/login", url.Values{"username": {"communeb"}, "password": {testPassword}}); path != "/login/step" || !strings.Contains(body, "Đặt mật khẩu mới") {
		t.Fatalf("login after forced reset: %s", path)
	}
	for _, bad := range []url.Values{
		{"password": {"communeb-mới-2021"}, "confirm": {"communeb-mới-2021"}},
		{"password": {"Password12345!"}, "confirm": {"Password12345!"}},
		{"password": {"đồng lúa mùa nước nổi"}, "confirm": {"đồng lúa mùa nước"}},
	} {
		if code, _, _ := sendForm(t, b, e.srv.URL+"/login/step", bad); code != 422 {
			t.Errorf("new password %v: %d", bad, code)
		}
	}
	if _, path, _ := sendForm(t, b, e.srv.URL+"/login/step", url.Values{"password": {"đồng lúa mùa nước nổi"}, "confirm": {"đồng lúa mùa nước nổi"}}); path != "/" {
		t.Fatalf("after the new password: %s", path)
	}

	// Own account: the sessions and tokens, one revoked; the password changed.
	code, body := get(t, communea, e.srv.URL+"/account")
	if code != 200 || !strings.Contains(body, "Mã API") || !strings.Contains(body, "phiên này") {
		t.Fatalf("own account: %d\n%s", code, body)
	}
	if _, path, _ := sendForm(t, communea, e.srv.URL+"/account/sessions/revoke", url.Values{"id": {auth.SecretID(e.tokens["communea"])}}); path != "/account" {
		t.Fatalf("revoke own token: %s", path)
	}
	if code := bearerGet(t, e, e.tokens["communea"]); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	if code, _, body := sendForm(t, communea, e.srv.URL+"/account/password", url.Values{"current": {"wrong"}, "password": {"đồng lúa mùa nước nổi"}, "confirm": {"đồng lúa mùa nước nổi"}}); code != 422 || !strings.Contains(body, "Mật khẩu hiện tại không đúng") {
		t.Fatalf("wrong current password: %d", code)
	}
	if code, path, body := sendForm(t, communea, e.srv.URL+"/account/password", url.Values{"current": {testPassword}, "password": {"đồng lúa mùa nước nổi"}, "confirm": {"đồng lúa mùa nước nổi"}}); code != 200 || path != "/account" || !strings.Contains(body, "Đã đổi mật khẩu") {
		t.Fatalf("change password: %d %s", code, path)
	}
	// Every act is in the audit log the province reads.
	_, audit := get(t, admin, e.srv.URL+"/audit")
	for _, act := range []string{"Khoá tài khoản", "Mở khoá tài khoản", "Buộc đặt lại mật khẩu", "Thu hồi phiên đăng nhập", "Đổi mật khẩu"} {
		if !strings.Contains(audit, act) {
			t.Errorf("audit log lacks %s", act)
		}
	}
}
