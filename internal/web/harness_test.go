package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/config"
	"anticovid/internal/declaration"
	"anticovid/internal/doortodoor"
	"anticovid/internal/inbox"
	"anticovid/internal/notify"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// testPassword is every test account's password.
const testPassword = "correct horse battery"

// env is a running server with one account per role and venues in several communes.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	db     *sqldb.DB
	auth   *auth.Service
	tokens map[string]string // username → bearer token
	venues map[string]int64  // name → id
	keys   *token.Keyring
	outbox *notify.Outbox
	sms    *notify.Recorder // every SMS and email the server queued, once delivered
	vault  *vault.Vault
	decl   *declaration.Service
	scans  *checkin.Service // one per database: it holds the SQLite journal
	otp    *otp.Service     // the phone codes of venue registration
	cases  *cases.Service   // case registry and tracing, shared by every server of the env
	inbox  *inbox.Service   // officials' notices; tests run its Watch themselves
	down   atomic.Bool
	// doorSkew moves the door-to-door service's clock (nanoseconds), so a
	// test sees a team's link expire.
	doorSkew atomic.Int64
}

// accounts: username → role, unit, department. Communes 27991 and 27994 are
// in district 803 (Bến Lức); 27685 is in 794 (Tân An); 00004 is in Hà Nội.
var accounts = []auth.NewUser{
	{Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"},
	{Username: "hanoi", Role: auth.ProvinceAdmin, Unit: "01"},
	{Username: "health", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"},
	{Username: "trade", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"},
	{Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"},
	{Username: "tanan", Role: auth.DistrictOfficer, Unit: "794"},
	{Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"},
	{Username: "communeb", Role: auth.CommuneOfficer, Unit: "27994"},
	{Username: "tracera", Role: auth.HealthTracer, Unit: "27991"},
	{Username: "managera", Role: auth.VenueManager, Unit: "27991"},
}

func newEnv(t testing.TB, db *sqldb.DB) *env {
	t.Helper()
	return newEnvConfig(t, db, nil)
}

// newEnvConfig is newEnv with settings changed by configure first.
func newEnvConfig(t testing.TB, db *sqldb.DB, configure func(*config.Config)) *env {
	t.Helper()
	ctx := context.Background()
	v, err := vault.New(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10, LogLevel: "error", CheckinRate: 20}
	if configure != nil {
		configure(cfg)
	}
	e := &env{t: t, db: db, auth: auth.NewService(db, time.Hour), tokens: map[string]string{}, venues: map[string]int64{}}
	// Tests of other screens log in with the password alone; the account
	// tests turn the second factor back on (accounts_test.go).
	e.auth.Vault, e.auth.EnrolOptional = v, true
	keys, err := token.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	venues := &venue.Service{DB: db, Vault: v, Signer: keys, BaseURL: "http://anticovid.test"}
	ppl := people.NewService(db, v)
	checkins, err := checkin.NewService(ctx, db, ppl, v, keys, cfg.Retention)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(checkins.Close)
	e.sms = &notify.Recorder{}
	outbox := &notify.Outbox{DB: db, Vault: v, Province: "80", Senders: map[string]notify.Sender{notify.SMS: e.sms, notify.Email: e.sms}}
	e.keys, e.outbox, e.vault, e.scans = keys, outbox, v, checkins
	e.decl = declaration.NewService(db, ppl, v, "http://anticovid.test")
	e.otp = otp.New(db, v, outbox)
	e.cases = cases.NewService(db, ppl, outbox, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.cases.Receivers = e.auth.HasProvinceAdmin
	e.inbox = &inbox.Service{DB: db, Outbox: outbox, BaseURL: "http://anticovid.test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sources: []inbox.Source{{Kind: inbox.KindVenues, Count: func(ctx context.Context, p *auth.Principal) (int, string, error) {
			n, err := venues.PendingCount(ctx, p)
			return n, "/venues?status=pending", err
		}}, {Kind: inbox.KindWorklist, Count: func(ctx context.Context, p *auth.Principal) (int, string, error) {
			n, err := e.cases.ContactsCount(ctx, p)
			return n, "/tracing/worklist", err
		}}}}
	s := New(Deps{Config: cfg, DB: db, Auth: e.auth, People: ppl, Venues: venues, Checkins: checkins, Keys: keys, Outbox: outbox,
		Declarations: e.decl, OTP: e.otp, Cases: e.cases, Inbox: e.inbox, DoorToDoor: &doortodoor.Service{DB: db, Vault: v, Declarations: e.decl,
			Now: func() time.Time { return time.Now().Add(time.Duration(e.doorSkew.Load())) }},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	// Every API request and answer is checked against the OpenAPI document
	// (contract_test.go); down makes the server drop connections, as a phone
	// sees a lost network.
	checked := contract(t, s)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.down.Load() {
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		checked.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	principals := map[string]*auth.Principal{}
	for _, a := range accounts {
		a.Password = testPassword
		u, err := e.auth.CreateUser(ctx, a)
		if err != nil {
			t.Fatalf("user %s: %v", a.Username, err)
		}
		principals[a.Username] = &u.Principal
		if e.tokens[a.Username], err = e.auth.CreateToken(ctx, a.Username, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for _, nv := range []struct {
		name, cat, commune, owner string
	}{
		{"Chợ Bến Lức", "market", "27991", "managera"},
		{"Bệnh viện Đa khoa Bến Lức", "hospital", "27991", "admin"},
		{"Trường THCS Thạnh Lợi", "school", "27994", "admin"},
		{"Chợ Phường 5 Tân An", "market", "27685", "admin"},
		{"Chợ Hàng Da", "market", "00004", "hanoi"},
	} {
		got, err := venues.Create(ctx, principals[nv.owner], venue.Venue{Name: nv.name, Category: nv.cat, CommuneCode: nv.commune,
			Address: "1 Đường 30/4", ContactName: "Chị Lan", ContactPhone: "0912345678"})
		if err != nil {
			t.Fatalf("venue %s: %v", nv.name, err)
		}
		e.venues[nv.name] = got.ID
		if got.Status == venue.StatusPending { // the manager's own market: the commune approves it
			if _, err := venues.SetStatus(ctx, principals["communea"], got.ID, venue.StatusApproved); err != nil {
				t.Fatal(err)
			}
		}
	}
	// From here on, officials' acts on a venue are told to its manager.
	venues.Outbox = outbox
	return e
}

// do sends a request as username (by bearer token; "" for anonymous).
func (e *env) do(method, path, username string, body any) (int, string) {
	e.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if username != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[username])
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// browser returns a client with a cookie jar logged in as username through the form.
func (e *env) browser(t *testing.T, username string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(e.srv.URL+"/login", url.Values{"username": {username}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/" {
		t.Fatalf("login as %s ended on %s (%d)", username, resp.Request.URL, resp.StatusCode)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
