package meeting

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

const secret = "a-jitsi-app-secret-of-forty-bytes-long!!"

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// fixture is a province (Long An, 80) with officials at every level, a
// meeting service and a recorder behind the outbox.
type fixture struct {
	s     *Service
	users map[string]*auth.Principal
	clock *clock
	rec   *notify.Recorder
	logs  *bytes.Buffer
}

// people: Bến Lức (803) holds communes 27991 and 27994; Tân An is 794.
var accounts = []auth.NewUser{
	{Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"},
	{Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"},
	{Username: "tanan", Role: auth.DistrictOfficer, Unit: "794"},
	{Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"},
	{Username: "communeb", Role: auth.CommuneOfficer, Unit: "27994"},
	{Username: "tracera", Role: auth.HealthTracer, Unit: "27991"},
	{Username: "managera", Role: auth.VenueManager, Unit: "27991"},
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2021, 8, 9, 1, 0, 0, 0, time.UTC)} // Monday 08:00 in Vietnam
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec := &notify.Recorder{}
	out := &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec, notify.Email: rec}, Log: log, Now: c.now}
	f := &fixture{clock: c, rec: rec, logs: logs, users: map[string]*auth.Principal{},
		s: &Service{DB: db, Vault: v, Outbox: out, Provider: &Jitsi{BaseURL: "https://meet.longan.gov.vn", AppID: "anticovid", Secret: secret},
			Province: "80", BaseURL: "https://anticovid.longan.gov.vn", Log: log, Now: c.now}}
	as := auth.NewService(db, time.Hour)
	for _, u := range accounts {
		u.Password = "correct horse battery"
		got, err := as.CreateUser(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		f.users[u.Username] = &got.Principal
	}
	return f
}

// schedule makes the province's meeting tomorrow 08:00–10:00 (Vietnam) for
// every district committee and commune 27991.
func (f *fixture) schedule(t *testing.T) Meeting {
	t.Helper()
	start := f.clock.t.Add(24 * time.Hour)
	m, err := f.s.Schedule(context.Background(), f.users["admin"], Input{Title: "Họp Ban Chỉ đạo tỉnh; tuần 32, đợt 2", Agenda: "Đánh giá tình hình dịch",
		Start: start, End: start.Add(2 * time.Hour), AllBelow: true, Communes: []string{"27991"}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Scheduling invites the officials of the chosen units (not venue
// managers, not other communes), queues one message per address given,
// and logs no address, link or title.
func TestScheduleInvites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for name, c := range map[string]Contact{"benluc": {Email: "benluc@longan.gov.vn", Phone: "0912 345 678"}, "communea": {Email: "xa.a@longan.gov.vn"}, "communeb": {Email: "xa.b@longan.gov.vn"}} {
			if _, err := f.s.SetContact(ctx, f.users[name], c); err != nil {
				t.Fatal(err)
			}
		}
		m := f.schedule(t)
		v, err := f.s.Get(ctx, f.users["admin"], m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, i := range v.Invitees {
			names = append(names, i.Username)
		}
		if got := strings.Join(names, ","); got != "admin,communea,tracera,tanan,benluc" {
			t.Errorf("invitees %s", got)
		}
		if len(v.Units) != 16 || !v.Invitees[0].Chair || v.Invitees[1].Chair {
			t.Errorf("units %d, invitees %+v", len(v.Units), v.Invitees)
		}
		if _, _, err := f.s.Outbox.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		got := map[string]notify.Message{}
		for _, msg := range f.rec.Messages() {
			got[msg.Channel+" "+msg.To] = msg
			if msg.Kind != notify.KindMeeting {
				t.Errorf("kind %q", msg.Kind)
			}
		}
		if len(got) != 3 {
			t.Fatalf("messages %v", got)
		}
		for key, user := range map[string]string{"email benluc@longan.gov.vn": "benluc", "sms 0912345678": "benluc", "email xa.a@longan.gov.vn": "communea"} {
			msg, ok := got[key]
			link := f.s.Link(m, f.users[user].UserID)
			if !ok || !strings.Contains(msg.Body, link) || !strings.Contains(msg.Body, "08:00 10/08/2021") {
				t.Errorf("%s: %+v", key, msg)
			}
			if u, err := f.s.Join(ctx, m.ID, strings.TrimPrefix(link, fmt.Sprintf("%s/meetings/%d/join/", f.s.BaseURL, m.ID))); err == nil || u != "" {
				t.Errorf("%s: link opens a day early: %v", key, err)
			}
		}
		if msg := got["email benluc@longan.gov.vn"]; msg.Subject != "Giấy mời họp: Họp Ban Chỉ đạo tỉnh; tuần 32, đợt 2, 08:00 10/08/2021" {
			t.Errorf("subject %q", msg.Subject)
		}
		for _, secretish := range []string{"longan.gov.vn", "0912345678", "/join/", "Ban Chỉ đạo", "Ban Ch"} {
			if strings.Contains(f.logs.String(), secretish) {
				t.Errorf("log holds %q:\n%s", secretish, f.logs.String())
			}
		}
		if !strings.Contains(f.logs.String(), "meeting scheduled") {
			t.Errorf("no log of the scheduling: %s", f.logs.String())
		}
	})
}

// Who may schedule what: province admins for the province, districts for
// their own communes only, nobody else; bad input is refused field by field.
func TestScheduleRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		start := f.clock.t.Add(time.Hour)
		ok := Input{Title: "Họp giao ban", Start: start, End: start.Add(time.Hour), Communes: []string{"27994"}}
		for _, who := range []string{"communea", "tracera", "managera"} {
			if _, err := f.s.Schedule(ctx, f.users[who], ok); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s scheduled: %v", who, err)
			}
		}
		bad := map[string]func(*Input){
			"title":    func(in *Input) { in.Title = " a " },
			"start":    func(in *Input) { in.Start = f.clock.t.Add(-time.Hour); in.End = f.clock.t },
			"end":      func(in *Input) { in.End = in.Start },
			"communes": func(in *Input) { in.Communes = []string{"27685"} }, // Tân An's commune
		}
		for field, change := range bad {
			in := ok
			change(&in)
			if _, err := f.s.Schedule(ctx, f.users["benluc"], in); errs.FieldsOf(err)[field] == "" {
				t.Errorf("%s: %v", field, err)
			}
		}
		for _, c := range []string{"803", "80", "00004", "27991 ", ""} {
			in := ok
			in.Communes = []string{c}
			if _, err := f.s.Schedule(ctx, f.users["benluc"], in); errs.FieldsOf(err)["communes"] == "" {
				t.Errorf("commune %q accepted: %v", c, err)
			}
		}
		if _, err := f.s.Schedule(ctx, f.users["benluc"], Input{Title: "Họp", Start: start, End: start.Add(time.Hour)}); errs.FieldsOf(err)["communes"] == "" {
			t.Errorf("no units accepted: %v", err)
		}
		in := ok
		in.AllBelow = true
		m, err := f.s.Schedule(ctx, f.users["benluc"], in)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := f.s.Get(ctx, f.users["benluc"], m.ID); err != nil || len(v.Units) != 15 || v.Units[0] != "27991" {
			t.Errorf("district's meeting: %v %v", v.Units, err)
		}
		// Tân An's officer neither is invited nor supervises Bến Lức.
		if _, err := f.s.Get(ctx, f.users["tanan"], m.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("tanan sees Bến Lức's meeting: %v", err)
		}
	})
}

// An official of a unit that was not invited sees nothing of the meeting:
// not in the list, not its page, file or calendar; invitees and the
// province see it.
func TestVisibility(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.schedule(t)
		if err := f.s.SetMinutes(ctx, f.users["admin"], m.ID, "Biên bản", "", &File{Name: "bien-ban.pdf", Data: []byte("%PDF-1.4")}); err != nil {
			t.Fatal(err)
		}
		for who, sees := range map[string]bool{"admin": true, "benluc": true, "tanan": true, "communea": true, "tracera": true, "communeb": false, "managera": false} {
			list, err := f.s.List(ctx, f.users[who])
			if err != nil {
				t.Fatal(err)
			}
			if (len(list) == 1) != sees {
				t.Errorf("%s lists %d", who, len(list))
			}
			_, err1 := f.s.Get(ctx, f.users[who], m.ID)
			_, err2 := f.s.Attachment(ctx, f.users[who], m.ID)
			_, err3 := f.s.Calendar(ctx, f.users[who], m.ID)
			for _, err := range []error{err1, err2, err3} {
				if sees != (err == nil) || (!sees && !errors.Is(err, errs.ErrForbidden)) {
					t.Errorf("%s: %v", who, err)
				}
			}
		}
	})
}

// token returns the token part of a personal link.
func token(link string) string { return link[strings.LastIndexByte(link, '/')+1:] }

// Personal links: only an untouched token of this meeting, for an invitee,
// inside its time opens the room; every alteration, encoding or borrowed
// token is refused.
func TestPersonalLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.schedule(t)
		other := f.schedule(t)
		tok := token(f.s.Link(m, f.users["communea"].UserID))
		f.clock.t = m.Start.Add(-OpenBefore - time.Second)
		var early *NotOpen
		if _, err := f.s.Join(ctx, m.ID, tok); !errors.As(err, &early) || !early.Opens.Equal(m.Start.Add(-OpenBefore)) {
			t.Errorf("early: %v", err)
		}
		f.clock.t = m.Start.Add(-OpenBefore)
		if u, err := f.s.Join(ctx, m.ID, tok); err != nil || !strings.HasPrefix(u, "https://meet.longan.gov.vn/"+m.Room+"?jwt=") {
			t.Fatalf("join: %q %v", u, err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		var forged []string
		for i := range raw {
			b := bytes.Clone(raw)
			b[i] ^= 1
			forged = append(forged, base64.RawURLEncoding.EncodeToString(b))
		}
		forged = append(forged, "", tok[:len(tok)-1], tok+"A", tok+"=", base64.StdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw),
			strings.ToUpper(tok), "../"+tok, token(f.s.Link(other, f.users["communea"].UserID)),
			token(f.s.Link(m, f.users["communeb"].UserID)), // signed, but communeb is not invited
			token(f.s.Link(m, 999999)))
		for _, bad := range forged {
			if u, err := f.s.Join(ctx, m.ID, bad); !errors.Is(err, ErrBadLink) || u != "" {
				t.Errorf("%q: %q %v", bad, u, err)
			}
		}
		if _, err := f.s.Join(ctx, 424242, tok); !errors.Is(err, ErrBadLink) {
			t.Errorf("other id: %v", err)
		}
		f.clock.t = m.End.Add(LinkGrace - time.Second)
		if _, err := f.s.Join(ctx, m.ID, tok); err != nil {
			t.Errorf("last second: %v", err)
		}
		f.clock.t = m.End.Add(LinkGrace)
		if _, err := f.s.Join(ctx, m.ID, tok); !errors.Is(err, ErrLinkExpire) {
			t.Errorf("expired: %v", err)
		}
		f.clock.t = m.Start
		f.s.Provider = nil
		if _, err := f.s.Join(ctx, m.ID, tok); !errors.Is(err, ErrNoProvider) {
			t.Errorf("no provider: %v", err)
		}
	})
}

// report signs an attendance event at t.
func report(t time.Time, room string, user int64, event string) ([]byte, map[string][]string) {
	body := fmt.Appendf(nil, `{"event_name":%q,"room_name":%q,"occupant":{"id":"%d","name":"x"}}`, event, room, user)
	return body, notify.SignedHeaders(secret, t, body)
}

// Attendance reports count only when signed with the meeting secret over
// this body, recently, and once; the chair's marking wins over them.
func TestAttendanceReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.schedule(t)
		f.clock.t = m.Start.Add(5 * time.Minute)
		a, b := f.users["communea"].UserID, f.users["benluc"].UserID
		body, h := report(f.clock.t, m.Room, a, "muc-occupant-joined")
		if err := f.s.Apply(ctx, h, body); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Apply(ctx, h, body); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("replay: %v", err)
		}
		f.clock.t = f.clock.t.Add(2 * time.Minute)
		if err := f.s.Apply(ctx, h, body); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("later replay: %v", err)
		}
		f.clock.t = f.clock.t.Add(notify.ReportMaxAge)
		if err := f.s.Apply(ctx, h, body); !errors.Is(err, errs.ErrUnauthorized) {
			t.Errorf("old replay: %v", err)
		}
		now := f.clock.t
		good, gh := report(now, m.Room, b, "muc-occupant-joined")
		cases := map[string]func() ([]byte, map[string][]string){
			"old": func() ([]byte, map[string][]string) {
				return report(now.Add(-notify.ReportMaxAge-time.Second), m.Room, b, "muc-occupant-joined")
			},
			"future": func() ([]byte, map[string][]string) {
				return report(now.Add(2*time.Minute), m.Room, b, "muc-occupant-joined")
			},
			"other body": func() ([]byte, map[string][]string) {
				return bytes.Replace(good, []byte("joined"), []byte("joined "), 1), gh
			},
			"other secret": func() ([]byte, map[string][]string) { return good, notify.SignedHeaders("another secret", now, good) },
			"token only":   func() ([]byte, map[string][]string) { return good, map[string][]string{notify.TokenHeader: {secret}} },
			"no headers":   func() ([]byte, map[string][]string) { return good, map[string][]string{} },
			"no timestamp": func() ([]byte, map[string][]string) {
				return good, map[string][]string{notify.SignatureHeader: gh[notify.SignatureHeader]}
			},
			"bad hex": func() ([]byte, map[string][]string) {
				return good, map[string][]string{notify.SignatureHeader: {"sha256=zz"}, notify.TimestampHeader: gh[notify.TimestampHeader]}
			},
			"sha1 prefix": func() ([]byte, map[string][]string) {
				return good, map[string][]string{notify.SignatureHeader: {strings.Replace(gh[notify.SignatureHeader][0], "sha256", "sha1", 1)}, notify.TimestampHeader: gh[notify.TimestampHeader]}
			},
		}
		for name, mk := range cases {
			body, h := mk()
			if err := f.s.Apply(ctx, h, body); !errors.Is(err, errs.ErrUnauthorized) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if err := f.s.MarkAttendance(ctx, f.users["admin"], m.ID, b, false); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Apply(ctx, gh, good); err != nil { // accepted, but the chair said absent
			t.Fatal(err)
		}
		for _, bad := range []struct {
			room string
			user int64
		}{{"hop-nothere", a}, {m.Room, f.users["communeb"].UserID}} {
			body, h := report(now, bad.room, bad.user, "muc-occupant-joined")
			if err := f.s.Apply(ctx, h, body); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("%v: %v", bad, err)
			}
		}
		if err := f.s.MarkAttendance(ctx, f.users["communea"], m.ID, a, false); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("an invitee marked attendance: %v", err)
		}
		if err := f.s.MarkAttendance(ctx, f.users["admin"], m.ID, f.users["tracera"].UserID, true); err != nil {
			t.Fatal(err)
		}
		v, err := f.s.Get(ctx, f.users["admin"], m.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"communea": "yes system", "benluc": "no chair", "tracera": "yes chair", "tanan": "unknown ", "admin": "unknown "}
		for _, i := range v.Invitees {
			if got := i.State() + " " + i.Source; got != want[i.Username] {
				t.Errorf("%s: %s, want %s", i.Username, got, want[i.Username])
			}
		}
	})
}

// Minutes: the chair writes them, invitees read them; the file is bounded
// in size and type; the weekly report links the week's meetings that have
// minutes.
func TestMinutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.schedule(t)
		empty := f.schedule(t)
		if err := f.s.SetMinutes(ctx, f.users["communea"], m.ID, "x", "", nil); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("invitee wrote minutes: %v", err)
		}
		for name, file := range map[string]File{"big": {Name: "a.pdf", Data: make([]byte, MaxFile+1)}, "exe": {Name: "a.exe", Data: []byte("MZ")},
			"html": {Name: "a.html", Data: []byte("<script>")}, "empty": {Name: "a.pdf"}, "noext": {Name: "pdf", Data: []byte("x")}} {
			if err := f.s.SetMinutes(ctx, f.users["admin"], m.ID, "", "", &file); errs.FieldsOf(err)["file"] == "" {
				t.Errorf("%s: %v", name, err)
			}
		}
		if err := f.s.SetMinutes(ctx, f.users["admin"], m.ID, "Đã thống nhất", "Tăng cường quét mã", &File{Name: `C:\tmp\Biên bản "họp".PDF`, Data: []byte("%PDF")}); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.Attachment(ctx, f.users["communea"], m.ID)
		if err != nil || got.Name != "Biên bản họp.PDF" || got.Type != "application/pdf" || string(got.Data) != "%PDF" {
			t.Errorf("file %+v %v", got, err)
		}
		if _, err := f.s.Attachment(ctx, f.users["admin"], empty.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("no file: %v", err)
		}
		links, err := f.s.MinutesLinks(ctx, m.Start.Add(-time.Hour), m.Start.Add(time.Hour))
		if err != nil || len(links) != 1 || links[0].URL != fmt.Sprintf("https://anticovid.longan.gov.vn/meetings/%d", m.ID) || links[0].Title != m.Title {
			t.Errorf("links %+v %v", links, err)
		}
		if links, _ := f.s.MinutesLinks(ctx, m.Start.Add(time.Second), m.Start.Add(time.Hour)); len(links) != 0 {
			t.Errorf("outside the week: %+v", links)
		}
	})
}

// Invitation addresses are checked and stored sealed.
func TestContacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for _, c := range []Contact{{Email: "not an address"}, {Email: "Ông A <a@b.vn>"}, {Phone: "12345"}, {Phone: "0912abc678"}} {
			if _, err := f.s.SetContact(ctx, f.users["benluc"], c); !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("%+v: %v", c, err)
			}
		}
		if _, err := f.s.SetContact(ctx, f.users["benluc"], Contact{Email: "a@b.vn", Phone: "+84 912 345 678"}); err != nil {
			t.Fatal(err)
		}
		var raw []byte
		db.R.QueryRow("SELECT phone_enc FROM meeting_contacts").Scan(&raw)
		if bytes.Contains(raw, []byte("912345678")) {
			t.Error("phone stored in clear")
		}
		got, err := f.s.Contacts(ctx, []int64{f.users["benluc"].UserID})
		if c := got[f.users["benluc"].UserID]; err != nil || c.Email != "a@b.vn" || c.Phone != "0912345678" {
			t.Errorf("%+v %v", got, err)
		}
	})
}
