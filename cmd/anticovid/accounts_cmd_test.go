package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// Outside --demo, a province administrator without a second factor is sent
// to enrolment after the password (the wiring gives auth the vault and does
// not relax the rule).
func TestProductionSendsOfficialsToEnrolment(t *testing.T) {
	dir := t.TempDir()
	if out, err := cli(t, "mùa lúa chín vàng\n", "user", "add", "--data", dir, "--username", "tinh.admin", "--role", "province_admin", "--unit", "80"); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	_, base := startServer(t, dir)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"/login", url.Values{"username": {"tinh.admin"}, "password": {"mùa lúa chín vàng"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login/step" || !strings.Contains(string(b), `id="totp-secret"`) {
		t.Fatalf("login ended on %s:\n%s", resp.Request.URL.Path, b)
	}
	resp, err = c.Get(base + "/api/v1/venues")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API before enrolment: %d", resp.StatusCode)
	}
}
