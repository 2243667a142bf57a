package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"anticovid/internal/auth"
	"anticovid/internal/config"
	"anticovid/internal/meeting"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/vault"
)

const jitsiSecret = "the-jitsi-app-secret-shared-with-prosody"

// fakeJitsi plays a Jitsi Meet server with token authentication: it takes
// the redirect, verifies the JWT's HS256 signature with the app secret and
// every claim prosody reads, and answers 200 only when all hold.
type fakeJitsi struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []jwt.MapClaims // the claims of each accepted join
	// want is what the next join must carry: room, user id, name, moderator.
	want struct {
		room, id, name string
		moderator      bool
	}
}

func newFakeJitsi(t *testing.T) *fakeJitsi {
	f := &fakeJitsi{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if why := f.check(r); why != "" {
			http.Error(w, why, http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "welcome to the room")
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeJitsi) check(r *http.Request) string {
	host, _, _ := strings.Cut(f.srv.Listener.Addr().String(), ":")
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.URL.Query().Get("jwt"), claims, func(tok *jwt.Token) (any, error) { return []byte(jitsiSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience("jitsi"), jwt.WithIssuer("anticovid-test"), jwt.WithSubject(host),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		return "token: " + err.Error()
	}
	nbf, err := claims.GetNotBefore()
	if err != nil || nbf == nil || nbf.After(time.Now()) {
		return "no nbf"
	}
	ctxUser, _ := claims["context"].(map[string]any)
	user, _ := ctxUser["user"].(map[string]any)
	switch {
	case claims["room"] != f.want.room || strings.TrimPrefix(r.URL.Path, "/") != f.want.room:
		return fmt.Sprintf("room %v at %s", claims["room"], r.URL.Path)
	case user["id"] != f.want.id || user["name"] != f.want.name || user["moderator"] != f.want.moderator:
		return fmt.Sprintf("user %v", user)
	}
	f.got = append(f.got, claims)
	return ""
}

// meetingEnv is a server with the meetings feature, Jitsi played by fake.
type meetingEnv struct {
	*env
	svc  *meeting.Service
	fake *fakeJitsi
	logs *bytes.Buffer
	ids  map[string]*auth.Principal
}

func newMeetingEnv(t *testing.T, db *sqldb.DB) *meetingEnv {
	t.Helper()
	ctx := context.Background()
	v, err := vault.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fake := newFakeJitsi(t)
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10, LogLevel: "error", CheckinRate: 20}
	rec := &notify.Recorder{}
	outbox := &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec, notify.Email: rec}}
	svc := &meeting.Service{DB: db, Vault: v, Outbox: outbox, Provider: &meeting.Jitsi{BaseURL: fake.srv.URL, AppID: "anticovid-test", Secret: jitsiSecret},
		Province: "80", Log: log}
	e := &env{t: t, db: db, auth: auth.NewService(db, time.Hour), tokens: map[string]string{}, outbox: outbox, sms: rec, vault: v}
	e.auth.Vault, e.auth.EnrolOptional = v, true // password alone, as in newEnvConfig
	s := New(Deps{Config: cfg, DB: db, Auth: e.auth, Outbox: outbox, Log: log, Meetings: svc})
	e.srv = httptest.NewServer(contract(t, s))
	t.Cleanup(e.srv.Close)
	svc.BaseURL = e.srv.URL
	me := &meetingEnv{env: e, svc: svc, fake: fake, logs: logs, ids: map[string]*auth.Principal{}}
	for _, a := range accounts {
		a.Password = testPassword
		u, err := e.auth.CreateUser(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		me.ids[a.Username] = &u.Principal
		if e.tokens[a.Username], err = e.auth.CreateToken(ctx, a.Username, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	return me
}

// schedule has the province admin schedule a meeting starting in 10
// minutes for every district committee and commune 27991, through the API.
func (e *meetingEnv) schedule(t *testing.T) meeting.Meeting {
	t.Helper()
	start := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	st, body := e.do("POST", "/api/v1/meetings", "admin", map[string]any{"title": "Họp Ban Chỉ đạo tỉnh", "agenda": "Tình hình dịch",
		"start": start, "end": start.Add(time.Hour), "all_below": true, "communes": []string{"27991"}})
	if st != http.StatusCreated {
		t.Fatalf("schedule: %d %s", st, body)
	}
	var m meeting.Meeting
	json.Unmarshal([]byte(body), &m)
	full, err := e.svc.Get(context.Background(), e.ids["admin"], m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return full.Meeting
}

// Following a personal link lands in the (fake) Jitsi room with a token
// whose signature and every claim it checks hold: the chair as moderator,
// an invitee not.
func TestMeetingJoinJitsi(t *testing.T) {
	e := newMeetingEnv(t, storetest.SQLite(t))
	m := e.schedule(t)
	for _, who := range []string{"admin", "communea", "benluc"} {
		u := e.ids[who]
		e.fake.want.room, e.fake.want.id, e.fake.want.name, e.fake.want.moderator = m.Room, fmt.Sprint(u.UserID), who, who == "admin"
		resp, err := http.Get(e.svc.Link(m, u.UserID)) // no login: the link is the invitee's
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "welcome to the room" || resp.Request.URL.Host != e.fake.srv.Listener.Addr().String() {
			t.Fatalf("%s: %d %s at %s", who, resp.StatusCode, b, resp.Request.URL)
		}
	}
	if len(e.fake.got) != 3 {
		t.Fatalf("joins %d", len(e.fake.got))
	}
	exp, _ := e.fake.got[0].GetExpirationTime()
	if !exp.Equal(m.End.Add(meeting.LinkGrace)) {
		t.Errorf("exp %v, want %v", exp, m.End.Add(meeting.LinkGrace))
	}
	// A token signed with another secret is what the fake refuses.
	e.fake.want.id = "0"
	other := &meeting.Jitsi{BaseURL: e.fake.srv.URL, AppID: "anticovid-test", Secret: "not-the-secret-of-this-jitsi-server!!"}
	u, _ := other.JoinURL(m, meeting.Participant{ID: 0, Name: "x"}, time.Now())
	if st, _ := get(t, http.DefaultClient, u); st != http.StatusUnauthorized {
		t.Errorf("the fake accepted a foreign signature: %d", st)
	}
}

// A forged, borrowed or expired personal link gets a clear Vietnamese page
// (English when chosen), never a redirect.
func TestMeetingLinkPages(t *testing.T) {
	e := newMeetingEnv(t, storetest.SQLite(t))
	m := e.schedule(t)
	link := e.svc.Link(m, e.ids["communea"].UserID)
	tok := link[strings.LastIndexByte(link, '/')+1:]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		path   string
		status int
		text   string
	}{
		{fmt.Sprintf("/meetings/%d/join/%s", m.ID, testenv.Alter(tok, 20)), 403, "Liên kết không hợp lệ"},
		{fmt.Sprintf("/meetings/%d/join/%s", m.ID, tok+"A"), 403, "Liên kết không hợp lệ"},
		{fmt.Sprintf("/meetings/%d/join/%s", m.ID+1, tok), 403, "Liên kết không hợp lệ"},
		{fmt.Sprintf("/meetings/abc/join/%s", tok), 403, "Liên kết không hợp lệ"},
		{fmt.Sprintf("/meetings/%d/join/%s", m.ID, url.PathEscape("<script>")), 403, "Liên kết không hợp lệ"},
		{fmt.Sprintf("/meetings/%d/join/%s?lang=en", m.ID, tok+"A"), 403, "This link is not valid"},
	}
	for _, c := range cases {
		st, body := get(t, noRedirect, e.srv.URL+c.path)
		if st != c.status || !strings.Contains(body, c.text) || strings.Contains(body, "<script>") {
			t.Errorf("%s: %d %.300s", c.path, st, body)
		}
	}
	e.svc.Now = func() time.Time { return m.End.Add(meeting.LinkGrace + time.Second) }
	if st, body := get(t, noRedirect, link); st != http.StatusGone || !strings.Contains(body, "Liên kết đã hết hạn") {
		t.Errorf("expired: %d %.300s", st, body)
	}
	e.svc.Now = func() time.Time { return m.Start.Add(-meeting.OpenBefore - time.Minute) }
	if st, body := get(t, noRedirect, link); st != http.StatusConflict || !strings.Contains(body, "Phòng họp chưa mở") {
		t.Errorf("early: %d %.300s", st, body)
	}
	e.svc.Now = nil
	e.svc.Provider = nil
	if st, body := get(t, noRedirect, link); st != http.StatusServiceUnavailable || !strings.Contains(body, "Chưa cấu hình hệ thống hội nghị") {
		t.Errorf("no provider: %d %.300s", st, body)
	}
	c := e.browser(t, "communea")
	if st, body := get(t, c, e.srv.URL+"/meetings"); st != 200 || !strings.Contains(body, `id="no-provider"`) {
		t.Errorf("meetings page without provider: %d %.300s", st, body)
	}
	// A form error reads in the reader's language only.
	ca := e.browser(t, "admin")
	resp, err := ca.PostForm(e.srv.URL+"/meetings", url.Values{"title": {"Họp"}, "date": {time.Now().AddDate(0, 0, 2).Format("2006-01-02")}, "from": {"10:00"}, "to": {"09:00"}, "all_below": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "Giờ kết thúc phải sau giờ bắt đầu") || strings.Contains(string(b), "The end must come") {
		t.Errorf("form error: %d %.500s", resp.StatusCode, b)
	}
	if strings.Contains(e.logs.String(), tok) {
		t.Error("a personal link's token is in the log")
	}
}

// The webhook takes only signed, recent, first-time reports over HTTP.
func TestMeetingWebhookHTTP(t *testing.T) {
	e := newMeetingEnv(t, storetest.SQLite(t))
	m := e.schedule(t)
	body := fmt.Appendf(nil, `{"event_name":"muc-occupant-joined","room_name":%q,"occupant":{"id":"%d"}}`, m.Room, e.ids["tanan"].UserID)
	post := func(h http.Header, b []byte) int {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/meetings/webhook", bytes.NewReader(b))
		for k, v := range h {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := notify.SignedHeaders(jitsiSecret, time.Now(), body)
	for name, c := range map[string]struct {
		h http.Header
		b []byte
	}{
		"unsigned":   {http.Header{}, body},
		"old":        {notify.SignedHeaders(jitsiSecret, time.Now().Add(-10*time.Minute), body), body},
		"wrong key":  {notify.SignedHeaders("x", time.Now(), body), body},
		"token only": {http.Header{notify.TokenHeader: {jitsiSecret}}, body},
		"bearer":     {http.Header{"Authorization": {"Bearer " + e.tokens["admin"]}}, body},
	} {
		if st := post(c.h, c.b); st != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, st)
		}
	}
	if st := post(signed, body); st != http.StatusNoContent {
		t.Fatalf("signed: %d", st)
	}
	if st := post(signed, body); st != http.StatusConflict {
		t.Errorf("replay: %d", st)
	}
	st, out := e.do("GET", fmt.Sprintf("/api/v1/meetings/%d", m.ID), "tanan", nil)
	if st != 200 || !strings.Contains(out, `"source":"system"`) {
		t.Errorf("attendance: %d %s", st, out)
	}
	// The chair marks attendance on the page; an invitee cannot.
	if st, _ := e.do("PUT", fmt.Sprintf("/api/v1/meetings/%d/attendance/%d", m.ID, e.ids["benluc"].UserID), "communea", `{"attended":true}`); st != http.StatusForbidden {
		t.Errorf("invitee marked: %d", st)
	}
	c := e.browser(t, "admin")
	resp, err := c.PostForm(fmt.Sprintf("%s/meetings/%d/attendance", e.srv.URL, m.ID), url.Values{"user": {fmt.Sprint(e.ids["benluc"].UserID)}, "attended": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(b), "chủ trì đánh dấu") != 1 || strings.Count(string(b), "hệ thống họp ghi nhận") != 1 {
		t.Errorf("attendance page: %d %.2000s", resp.StatusCode, b)
	}
	// Another commune's official sees nothing of it.
	if st, _ := e.do("GET", fmt.Sprintf("/api/v1/meetings/%d", m.ID), "communeb", nil); st != http.StatusForbidden {
		t.Errorf("communeb: %d", st)
	}
	cb := e.browser(t, "communeb")
	if st, body := get(t, cb, e.srv.URL+"/meetings"); st != 200 || strings.Contains(body, "Họp Ban Chỉ đạo tỉnh") {
		t.Errorf("communeb's list: %d", st)
	}
	if st, _ := get(t, cb, fmt.Sprintf("%s/meetings/%d/calendar.ics", e.srv.URL, m.ID)); st != http.StatusForbidden {
		t.Errorf("communeb's calendar: %d", st)
	}
}
