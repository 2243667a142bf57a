package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

// smsGateway is a real HTTP SMS gateway that counts what it receives per
// recipient, a little slowly, so a server can die between two messages.
type smsGateway struct {
	mu    sync.Mutex
	count map[string]int
	total int
}

func (g *smsGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct{ To string }
	json.NewDecoder(r.Body).Decode(&m)
	time.Sleep(20 * time.Millisecond)
	g.mu.Lock()
	g.count[m.To]++
	g.total++
	g.mu.Unlock()
	io.WriteString(w, `{"error":0}`)
}

func (g *smsGateway) received() (map[string]int, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.count))
	for k, v := range g.count {
		out[k] = v
	}
	return out, g.total
}

// call sends a JSON request with a bearer token (or a session cookie).
func call(t *testing.T, method, u, bearer string, cookie *http.Cookie, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// Two `anticovid serve` processes on one fresh PostgreSQL database, an SMS
// gateway counting per recipient, a campaign to a commune, EN keys to
// publish, and the server running the campaign killed (SIGKILL) halfway:
// every resident is texted once (a message in the dead server's hands at
// the kill is failed as interrupted, for an admin to re-send, never sent
// again), one set of export files is served by both, a session and a venue
// QR made on one server work on the other, and a server whose data key
// does not open the database refuses to start.
func TestTwoServersOneDatabase(t *testing.T) {
	pg := storetest.PostgresURL(t)
	key := make([]byte, 32)
	rand.Read(key)
	t.Setenv("ANTICOVID_DATA_KEY", hex.EncodeToString(key))
	dirA, dirB := t.TempDir(), t.TempDir()
	if out, err := cli(t, "", "migrate", "--db", pg, "--data", dirA); err != nil {
		t.Fatal(err, out)
	}
	if out, err := cli(t, "mật-khẩu-rất-dài\n", "user", "add", "--db", pg, "--data", dirA, "--username", "admin", "--role", "province_admin", "--unit", "80"); err != nil {
		t.Fatal(err, out)
	}
	tok, err := cli(t, "", "token", "create", "--db", pg, "--data", dirA, "--username", "admin")
	if err != nil {
		t.Fatal(err, tok)
	}
	tok = strings.TrimSpace(tok)

	// Residents of one commune, and Exposure Notification keys uploaded in
	// a window that has closed, waiting to be published.
	ctx := context.Background()
	db, err := store.Open(ctx, pg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, _ := vault.New(key)
	ppl := people.NewService(db, v)
	const residents = 240
	for i := range residents {
		if _, err := ppl.FindOrCreate(ctx, people.Person{Name: "Nguyễn Văn An", Phone: fmt.Sprintf("0912%06d", i), BirthYear: 1980, Commune: "27685"}); err != nil {
			t.Fatal(err)
		}
	}
	avail := time.Now().Add(-2 * time.Hour).Truncate(time.Hour).Unix()
	for i := range 12 {
		k := make([]byte, 16)
		rand.Read(k)
		if _, err := db.W.Exec(`INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region, certificate_id,
			created_at, available_at) VALUES ($1, $2, 144, 4, 'VN', 0, $3, $3)`, k, (avail/600)/144*144-144, avail+int64(i)); err != nil {
			t.Fatal(err)
		}
	}

	gw := &smsGateway{count: map[string]int{}}
	gws := httptest.NewServer(gw)
	defer gws.Close()
	args := []string{"--db", pg, "--job-lease", "3s", "--sms-url", gws.URL, "--sms-rate", "100", "--sms-success", "error=0"}
	cmdA, baseA := startServer(t, dirA, args...)
	cmdB, baseB := startServer(t, dirB, args...)
	servers := map[int]*exec.Cmd{cmdA.Process.Pid: cmdA, cmdB.Process.Pid: cmdB}

	// A venue QR signed by one server verifies on the other.
	code, body := call(t, "POST", baseA+"/api/v1/venues", tok, nil, map[string]string{"name": "Chợ Tân An", "category": "market", "commune_code": "27685", "address": "Phường 5"})
	var venue struct {
		QRURL string `json:"qr_url"`
	}
	json.Unmarshal(body, &venue)
	if code != http.StatusCreated || !strings.Contains(venue.QRURL, "/c/") {
		t.Fatalf("venue on A: %d %s", code, body)
	}
	qr := venue.QRURL[strings.LastIndex(venue.QRURL, "/c/")+3:]
	code, body = call(t, "POST", baseB+"/api/v1/checkins", "", nil, map[string]any{"id": "00000000-0000-4000-8000-000000000001", "token": qr, "direction": "in",
		"person": map[string]any{"name": "Phạm Văn Đức", "phone": "0987000001", "birth_year": 1970, "commune_code": "27991"}})
	if code != http.StatusCreated {
		t.Fatalf("check-in on B with A's venue QR: %d %s", code, body)
	}

	// A login begun on one server finishes on the other (an administrator
	// enrols a second factor), and its session works on both. The cookie
	// jar ignores ports, as a browser behind one load balancer would.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(baseA+"/login", url.Values{"username": {"admin"}, "password": {"mật-khẩu-rất-dài"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/step" {
		t.Fatalf("login on A: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = browser.Get(baseB + "/login/step")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`id="totp-secret"[^>]*>([A-Z2-7]+)<`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("second-factor enrolment on B: %d %.500s", resp.StatusCode, page)
	}
	otpCode, _ := totp.GenerateCode(string(m[1]), time.Now())
	resp, err = browser.PostForm(baseB+"/login/step", url.Values{"code": {otpCode}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "anticovid_session" && c.Value != "" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusOK || session == nil {
		t.Fatalf("enrolment on B: %d %v", resp.StatusCode, resp.Cookies())
	}
	if code, body := call(t, "GET", baseA+"/api/v1/campaigns", "", session, nil); code != http.StatusOK {
		t.Fatalf("B's session on A: %d %s", code, body)
	}
	if code, body := call(t, "GET", baseB+"/api/v1/campaigns", "", session, nil); code != http.StatusOK {
		t.Fatalf("the session on B: %d %s", code, body)
	}
	if code, _ := call(t, "GET", baseB+"/api/v1/campaigns", "", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("no session on B: %d", code)
	}

	// One set of export files, served alike by both.
	var index string
	for range 100 {
		_, b := call(t, "GET", baseA+"/en/export/VN/index.txt", "", nil, nil)
		if index = string(b); strings.Contains(index, ".zip") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, ib := call(t, "GET", baseB+"/en/export/VN/index.txt", "", nil, nil)
	var files, exported int
	db.R.QueryRow("SELECT count(*), coalesce(sum(keys), 0) FROM en_exports").Scan(&files, &exported)
	if strings.Count(index, ".zip") != 1 || string(ib) != index || files != 1 || exported != 12 {
		t.Fatalf("export: %d files with %d keys; index on A %q, on B %q", files, exported, index, ib)
	}
	name := strings.TrimSpace(index)[len("VN/"):]
	_, za := call(t, "GET", baseA+"/en/export/VN/"+name, "", nil, nil)
	_, zb := call(t, "GET", baseB+"/en/export/VN/"+name, "", nil, nil)
	if len(za) < 100 || !bytes.Equal(za, zb) {
		t.Fatalf("export file served differently: %d and %d bytes", len(za), len(zb))
	}

	// The campaign; the server running it dies once it has begun.
	code, body = call(t, "POST", baseA+"/api/v1/campaigns", tok, nil, map[string]any{"name": "Cài Bluezone", "template": "install_bluezone",
		"channel": "sms", "unit_code": "27685", "groups": []string{"residents"}, "rate_per_min": 600})
	if code != http.StatusCreated {
		t.Fatalf("campaign: %d %s", code, body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, n := gw.received(); n < 30; _, n = gw.received() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages reached the gateway", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var holder string
	db.R.QueryRow("SELECT holder FROM job_leases WHERE name = 'campaigns'").Scan(&holder)
	parts := strings.Split(holder, "/")
	pid, _ := strconv.Atoi(parts[min(1, len(parts)-1)])
	victim := servers[pid]
	if victim == nil {
		t.Fatalf("the campaign lease is held by %q, neither server", holder)
	}
	victim.Process.Signal(syscall.SIGKILL)
	victim.Wait()
	_, atKill := gw.received()

	// The survivor takes the campaign over and the outbox drains. Rows the
	// victim had claimed but not yet sent wait out its claim's lease (the
	// outbox's, 2 minutes) before the survivor takes them: the deadline
	// leaves a minute beyond it (it failed at 2 minutes with 17 such rows).
	deadline = time.Now().Add(180 * time.Second)
	for {
		var open int
		var status string
		db.R.QueryRow("SELECT status FROM campaigns").Scan(&status)
		db.R.QueryRow("SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')").Scan(&open)
		if status == "done" && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s, %d messages still open", status, open)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, total := gw.received()
	var sent, interrupted, deliveries int
	db.R.QueryRow("SELECT count(*) FROM outbox WHERE kind = $1 AND status = 'sent'", notify.KindCampaign).Scan(&sent)
	db.R.QueryRow("SELECT count(*) FROM outbox WHERE kind = $1 AND status = 'failed' AND last_error = $2", notify.KindCampaign, notify.ErrInterrupted).Scan(&interrupted)
	db.R.QueryRow("SELECT count(*) FROM campaign_deliveries").Scan(&deliveries)
	if deliveries != residents || sent+interrupted != residents || interrupted > 1 {
		t.Fatalf("%d deliveries, %d sent, %d interrupted; want %d residents, at most one interrupted", deliveries, sent, interrupted, residents)
	}
	missing := 0
	for i := range residents {
		switch n := got[fmt.Sprintf("0912%06d", i)]; {
		case n > 1:
			t.Errorf("resident %d texted %d times", i, n)
		case n == 0:
			missing++
		}
	}
	if missing > interrupted || total > residents {
		t.Fatalf("%d residents never texted (%d interrupted), %d messages for %d residents", missing, interrupted, total, residents)
	}
	if atKill >= total {
		t.Fatalf("nothing was sent after the kill (%d before, %d in all): the test did not kill mid-campaign", atKill, total)
	}
	t.Logf("%d residents: %d messages before the kill, %d after; %d interrupted", residents, atKill, total-atKill, interrupted)

	// A server with another data key refuses to start.
	bin, _ := build()
	other := make([]byte, 32)
	rand.Read(other)
	cmd := exec.Command(bin, "serve", "--db", pg, "--data", t.TempDir(), "--addr", freePort(t))
	cmd.Env = append(cmd.Environ(), "ANTICOVID_DATA_KEY="+hex.EncodeToString(other))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "does not open this database") {
		t.Fatalf("a server with another data key: %v\n%s", err, out)
	}
}
