package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// No log line holds a phone number, an ID number, a one-time code or a
// message body: the demo server, logging at debug level, is driven through a
// check-in, a declaration, a campaign and a venue registration confirmed by
// an SMS code, the messages are delivered to the development file, and
// every line it wrote is scanned for what those flows carried.
func TestLogsHoldNoPersonalData(t *testing.T) {
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freePort(t)
	var out lockedBuffer
	cmd := exec.Command(bin, "serve", "--demo", "--data", dir, "--addr", addr, "--checkin-rate", "0", "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	up := false
	for i := 0; i < 1200 && !up; i++ { // the demo dataset loads first
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !up {
		t.Fatalf("demo server did not start:\n%s", out.String())
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(method, path string, body any, want ...int) []byte {
		t.Helper()
		var r io.Reader
		ct := "application/json"
		switch b := body.(type) {
		case url.Values:
			r, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
		case nil:
		default:
			j, _ := json.Marshal(b)
			r = bytes.NewReader(j)
		}
		req, _ := http.NewRequest(method, base+path, r)
		req.Header.Set("Content-Type", ct)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ok := len(want) == 0
		for _, w := range want {
			ok = ok || resp.StatusCode == w
		}
		if !ok {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}

	const phone, idNumber = "0987654321", "079085009876"
	// A resident checks in at a demo venue.
	call("POST", "/login", url.Values{"username": {"admin"}, "password": {"demo-longan-2021"}}, 303)
	var venues struct {
		Venues []struct {
			ID    int64  `json:"id"`
			QRURL string `json:"qr_url"`
		} `json:"venues"`
	}
	json.Unmarshal(call("GET", "/api/v1/venues?commune=27991&status=approved&limit=1", nil, 200), &venues)
	if len(venues.Venues) == 0 {
		t.Fatal("no demo venue")
	}
	var v struct {
		QRURL string `json:"qr_url"`
	}
	json.Unmarshal(call("GET", "/api/v1/venues/"+itoa(venues.Venues[0].ID), nil, 200), &v)
	tok := v.QRURL[strings.LastIndex(v.QRURL, "/")+1:]
	call("POST", "/api/v1/checkins", map[string]any{"id": "log-scan-checkin-0001", "token": tok, "direction": "in",
		"person": map[string]any{"name": "Trần Thị Bích", "phone": phone, "birth_year": 1990, "commune_code": "27991"}}, 201)
	// The same resident declares their health.
	call("POST", "/api/v1/declarations", map[string]any{"kind": "resident", "name": "Trần Thị Bích", "birth_year": 1990,
		"sex": "female", "nationality": "Việt Nam", "id_number": idNumber, "phone": phone, "commune_code": "27991",
		"street": "12 Nguyễn Huệ", "symptoms": []string{}, "contact_case": false, "animal_market": false, "vaccine_doses": 2}, 200, 201)
	// The province starts a campaign to a commune's residents.
	call("POST", "/api/v1/campaigns", map[string]any{"name": "Cài Bluezone", "template": "install_bluezone", "channel": "sms",
		"unit_code": "27991", "groups": []string{"residents"}, "rate_per_min": 6000}, 201)
	// A venue owner registers with a code sent to their phone.
	const owner = "0976543210"
	call("POST", "/logout", url.Values{}, 303, 200)
	call("POST", "/dang-ky-dia-diem/ma", url.Values{"phone": {owner}}, 200)
	messages := filepath.Join(dir, "dev-messages.txt")
	code := ""
	for i := 0; i < 200 && code == ""; i++ { // the outbox delivers every few seconds
		b, _ := os.ReadFile(messages)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, owner) {
				code = regexp.MustCompile(`\b\d{6}\b`).FindString(line[strings.Index(line, owner)+len(owner):])
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code == "" {
		t.Fatal("the registration code never reached the development file")
	}
	call("POST", "/dang-ky-dia-diem", url.Values{"phone": {owner}, "code": {code}, "name": {"Quán cơm Bình An"},
		"category": {"restaurant"}, "commune_code": {"27991"}, "address": {"1 Lê Lợi"}, "contact_name": {"Bình"},
		"password": {"mat-khau-rat-dai-1"}, "password2": {"mat-khau-rat-dai-1"}}, 201)
	time.Sleep(6 * time.Second) // one more delivery round, for the campaign's messages

	// What must never be in a log line: the phones and ID number typed, every
	// phone-shaped number, the code, and every message body delivered.
	b, _ := os.ReadFile(messages)
	var bodies []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 5 {
			if s, err := strconv.Unquote(f[4]); err == nil && len(s) > 12 {
				bodies = append(bodies, s)
			}
		}
	}
	if len(bodies) < 3 {
		t.Fatalf("expected the demo's SMS, the campaign's and the code's messages, got %d bodies", len(bodies))
	}
	phoneLike := regexp.MustCompile(`(?:\+?84|\b0)(?:3|5|7|8|9)\d{8}\b`)
	logs := out.String()
	lines := strings.Split(logs, "\n")
	if len(lines) < 10 {
		t.Fatalf("too few log lines to mean anything:\n%s", logs)
	}
	for _, l := range lines {
		for _, secret := range []string{phone, owner, idNumber, code, "987654321", "976543210"} {
			if strings.Contains(l, secret) {
				t.Errorf("log line holds %q: %s", secret, l)
			}
		}
		if m := phoneLike.FindString(l); m != "" {
			t.Errorf("log line holds a phone number %q: %s", m, l)
		}
		for _, body := range bodies {
			if strings.Contains(l, body) || strings.Contains(l, body[:12]) {
				t.Errorf("log line holds a message body: %s", l)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
