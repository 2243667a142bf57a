package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"anticovid/internal/store/storetest"
)

func TestLoginSessionsAndCSRF(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(user, pw string) (int, string) {
		resp, err := noRedirect.PostForm(e.srv.URL+"/login", url.Values{"username": {user}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	// Wrong password: a clear message, no session.
	code, body := post("communea", "wrong password!")
	if code != 401 || !strings.Contains(body, "Sai tên đăng nhập hoặc mật khẩu") {
		t.Fatalf("wrong password: %d", code)
	}
	// Five failures for one username from one address slow that address down,
	// even with the right password (account_test.go: other addresses are not).
	for range 5 {
		post("communeb", "wrong password!")
	}
	if code, body := post("communeb", testPassword); code != 429 || !strings.Contains(body, "quá nhiều lần") {
		t.Fatalf("after 5 failures: %d", code)
	}
	// An expired session is treated as logged out.
	sess, err := e.auth.NewSession(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	e.db.W.Exec("UPDATE sessions SET expires_at = $1 WHERE kind = 'session'", time.Now().Add(-time.Minute).Unix())
	req, _ := http.NewRequest("GET", e.srv.URL+"/venues", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sess})
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("expired session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A state-changing form posted from another site is refused, and changes nothing.
	c := e.browser(t, "admin")
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/v1/venues/1/status", strings.NewReader(`{"status":"closed"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var status string
	e.db.R.QueryRow("SELECT status FROM venues WHERE id = 1").Scan(&status)
	if resp.StatusCode != 403 || status == "closed" {
		t.Fatalf("cross-site POST: %d, venue %s", resp.StatusCode, status)
	}
	// The same request from the page itself goes through.
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/v1/venues/1/status", strings.NewReader(`{"status":"suspended"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if resp, err = c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("same-origin POST: %v %d", err, resp.StatusCode)
	}
	resp.Body.Close()
}

// TestLoginRedirectStaysOnSite signs in with next values a browser would
// follow off-site (slashes, backslashes, tabs, single and double
// percent-encoding, absolute URLs, schemes) and expects the home page each
// time, while a path of this site is kept.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	location := func(next string) string {
		t.Helper()
		resp, err := noRedirect.PostForm(e.srv.URL+"/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login with next %q: %d", next, resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	for _, next := range []string{"//evil.example", "/\\evil.example", "\\/evil.example", "/%09/evil.example",
		"%2F%2Fevil.example", "/\t/evil.example", "https://evil.example", "javascript:alert(1)", "/%5Cevil.example",
		"/%252F%252Fevil.example", "/%255Cevil.example", "/\r\n/evil.example", e.srv.URL + "/cases", ""} {
		if got := location(next); got != "/" {
			t.Errorf("next %q: redirected to %q, want /", next, got)
		}
	}
	if got := location("/bluezone?person=5"); got != "/bluezone?person=5" {
		t.Errorf("own path: redirected to %q", got)
	}
}
