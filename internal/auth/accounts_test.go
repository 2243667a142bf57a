package auth_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"anticovid/internal/auth"
	"anticovid/internal/demo"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

func TestPasswordRule(t *testing.T) {
	refused := []string{
		"", "short one", strings.Repeat("x", 257) + "abcde", // length
		"password", "Password2021!", "PASSWORD12345", "!!!qwertyuiop123", "iloveyou123456", "i love you 1234", // common, dressed up
		"masterbating", "motherfucker99", "Anhyeuem@2021!", "matkhau123456", // in the list or our additions
		"aaaaaaaaaaaaaaaa", "abcabcabcabc", "121212121212", "hellohellohello", // repetitions
		"1234567890123", "qwertyuiopasdf", "1qaz2wsx3edc4rfv", "zyxwvutsrqponml", // keyboard runs
		"xa.benluc-2021-ok", "my XA.BENLUC pass", // the username
	}
	for _, pw := range refused {
		err := auth.CheckNewPassword("xa.benluc", pw)
		if f := errs.FieldsOf(err); f["password"] == "" {
			t.Errorf("%q accepted: %v", pw, err)
		}
	}
	for _, pw := range []string{goodPassword, "correct horse battery", "demo-longan-2021", "Bến Lức 2021 mưa to"} {
		if err := auth.CheckNewPassword("xa.benluc", pw); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
	// The demo's documented password passes for every demo account.
	for _, a := range demo.Accounts("80") {
		if err := auth.CheckNewPassword(a.Username, demo.Password); err != nil {
			t.Errorf("demo account %s: %v", a.Username, err)
		}
	}
	// Every message says the rule's length, in both languages.
	err := auth.CheckNewPassword("xa.benluc", "Password2021!")
	if m := errs.FieldsOf(err)["password"]; !strings.Contains(m, "12") || !strings.Contains(m, "phổ biến") || !strings.Contains(m, "common") {
		t.Errorf("message: %q", m)
	}
}

// lockClock is a settable clock for Lockout.
type lockClock struct{ t time.Time }

func (c *lockClock) now() time.Time { return c.t }

func TestLockoutNeverLocksTheUserAlone(t *testing.T) {
	clk := &lockClock{t: time.Unix(1_700_000_000, 0)}
	l := auth.NewLockout()
	l.Now = clk.now
	const attacker, official = "203.0.113.9", "198.51.100.7"
	// The attacker's waits double once the free tries are spent.
	var waits []time.Duration
	for range 8 {
		l.Fail(attacker, "admin")
		waits = append(waits, l.Wait(attacker, "admin"))
	}
	if waits[0] != 0 || waits[1] != 0 || waits[2] == 0 || waits[7] < 8*waits[4] {
		t.Fatalf("backoff: %v", waits)
	}
	// The same account, other spellings of it: still the attacker's pair.
	for _, u := range []string{"ADMIN", " admin "} {
		if l.Wait(attacker, u) == 0 {
			t.Errorf("%q escapes the backoff", u)
		}
	}
	// The official, from their own address, is not slowed at all.
	if w := l.Wait(official, "admin"); w != 0 {
		t.Fatalf("official waits %v", w)
	}
	// An IPv6 attacker owns the whole /64: other addresses in it share the count.
	for range 5 {
		l.Fail("2001:db8:1:2::1", "admin")
	}
	for _, a := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "[2001:db8:1:2::77]"} {
		if l.Wait(a, "admin") == 0 {
			t.Errorf("%s not slowed", a)
		}
	}
	if l.Wait("2001:db8:1:3::1", "admin") != 0 || l.Wait("::ffff:198.51.100.7", "admin") != 0 {
		t.Error("a neighbouring /64 or the official's mapped IPv4 is slowed")
	}
	// Spraying many usernames from one address hits the address cap, which
	// spares the same usernames from elsewhere.
	const sprayer = "192.0.2.50"
	for i := range 40 {
		l.Fail(sprayer, "user"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if l.Wait(sprayer, "never-tried") == 0 {
		t.Error("address cap not applied")
	}
	if l.Wait(official, "useraa") != 0 {
		t.Error("sprayed usernames locked for everyone")
	}
	// A success clears the pair; after the window the cap drains.
	l.Succeed(attacker, "admin")
	if l.Wait(attacker, "admin") != 0 {
		t.Error("success did not clear the pair")
	}
	clk.t = clk.t.Add(time.Hour)
	if l.Wait(sprayer, "never-tried") != 0 {
		t.Error("address cap never drains")
	}
}

// accountsEnv is a Service with a vault and accounts at every level.
type accountsEnv struct {
	s     *auth.Service
	now   time.Time
	users map[string]auth.User
}

func newAccountsEnv(t *testing.T, db *sqldb.DB) *accountsEnv {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &accountsEnv{s: auth.NewService(db, time.Hour), now: time.Unix(1_700_000_000, 0), users: map[string]auth.User{}}
	e.s.Vault, e.s.Now = v, func() time.Time { return e.now }
	for _, u := range []auth.NewUser{
		{Username: "country", Role: auth.ProvinceAdmin, Unit: "VN"},
		{Username: "longan", Role: auth.ProvinceAdmin, Unit: "80"},
		{Username: "longan2", Role: auth.ProvinceAdmin, Unit: "80"},
		{Username: "hanoi", Role: auth.ProvinceAdmin, Unit: "01"},
		{Username: "health", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"},
		{Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"},
		{Username: "tanan", Role: auth.DistrictOfficer, Unit: "794"},
		{Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"},
		{Username: "tracer80", Role: auth.HealthTracer, Unit: "80"},
	} {
		u.Password = goodPassword
		got, err := e.s.CreateUser(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		e.users[u.Username] = got
	}
	return e
}

func (e *accountsEnv) p(name string) *auth.Principal {
	p := e.users[name].Principal
	return &p
}

// ctx is a request context of name, as the web gives it.
func (e *accountsEnv) ctx(name string) context.Context {
	return auth.WithPrincipal(context.Background(), e.p(name))
}

func auditActions(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	log, err := auth.AuditLog(context.Background(), db, auth.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(log) - 1; i >= 0; i-- {
		out = append(out, log[i].Username+":"+log[i].Action+":"+log[i].RecordIDs)
	}
	return out
}

func TestAdministratorsActInTheirJurisdictionOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newAccountsEnv(t, db)
		cases := []struct {
			admin, target string
			want          error // nil: allowed
		}{
			{"longan", "benluc", nil},
			{"longan", "communea", nil},
			{"longan", "health", nil},
			{"longan", "longan2", nil},               // a peer in the same province
			{"benluc", "communea", nil},              // a commune of the district
			{"country", "longan", nil},               // the country admin above the province
			{"benluc", "tanan", errs.ErrNotFound},    // another district
			{"benluc", "longan", errs.ErrNotFound},   // above
			{"benluc", "tracer80", errs.ErrNotFound}, // a province-level tracer is above the district
			{"benluc", "health", errs.ErrNotFound},
			{"longan", "hanoi", errs.ErrNotFound},       // another province
			{"longan", "country", errs.ErrNotFound},     // above
			{"communea", "communea", errs.ErrForbidden}, // no administrator
			{"health", "tracer80", errs.ErrForbidden},
			{"tracer80", "communea", errs.ErrForbidden},
		}
		for _, c := range cases {
			target := e.users[c.target].UserID
			for name, act := range map[string]func() error{
				"disable":     func() error { return e.s.SetDisabled(e.ctx(c.admin), e.p(c.admin), target, true) },
				"force reset": func() error { return e.s.ForceReset(e.ctx(c.admin), e.p(c.admin), target) },
				"reset totp":  func() error { return e.s.ResetSecondFactor(e.ctx(c.admin), e.p(c.admin), target) },
			} {
				err := act()
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("%s %s %s: %v, want %v", c.admin, name, c.target, err, c.want)
				}
			}
			if c.want == nil {
				if err := e.s.SetDisabled(e.ctx(c.admin), e.p(c.admin), target, false); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The list shows exactly the manageable accounts.
		list, err := e.s.ManagedUsers(context.Background(), e.p("benluc"))
		if err != nil || len(list) != 2 || list[0].Username != "benluc" || list[1].Username != "communea" {
			t.Fatalf("benluc manages %+v %v", list, err)
		}
		if err := e.s.SetDisabled(e.ctx("longan"), e.p("longan"), e.users["longan"].UserID, true); errs.FieldsOf(err) == nil {
			t.Fatalf("an administrator disabled themselves: %v", err)
		}
		// Every allowed act was audited, by whom and on which account.
		acts := auditActions(t, db)
		if len(acts) != 6*4 || !strings.HasPrefix(acts[0], "longan:") || !strings.Contains(strings.Join(acts, " "), "benluc:disable:") {
			t.Fatalf("audit: %v", acts)
		}
	})
}

func TestDisabledAccountStopsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newAccountsEnv(t, db)
		ctx, id := context.Background(), e.users["communea"].UserID
		sess, _ := e.s.NewSession(ctx, id)
		tok, _ := e.s.CreateToken(ctx, "communea", time.Hour)
		if err := e.s.SetDisabled(e.ctx("benluc"), e.p("benluc"), id, true); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{sess, tok} {
			if _, err := e.s.Resolve(ctx, secret); !errors.Is(err, errs.ErrUnauthorized) {
				t.Fatalf("disabled account's secret still works: %v", err)
			}
		}
		if _, err := e.s.Authenticate(ctx, "communea", goodPassword); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatal("disabled account logs in")
		}
		// Even a session made in between (a login racing the disable) is refused.
		late, _ := e.s.NewSession(ctx, id)
		if _, err := e.s.Resolve(ctx, late); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatal("session of a disabled account resolves")
		}
		if err := e.s.SetDisabled(e.ctx("benluc"), e.p("benluc"), id, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Authenticate(ctx, "communea", goodPassword); err != nil {
			t.Fatalf("re-enabled: %v", err)
		}
		if _, err := e.s.Resolve(ctx, tok); err == nil {
			t.Fatal("a revoked token came back with the account")
		}
	})
}

func TestOwnPasswordSessionsAndForcedReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newAccountsEnv(t, db)
		ctx, me := e.ctx("communea"), e.p("communea")
		here, _ := e.s.NewSession(ctx, me.UserID)
		there, _ := e.s.NewSession(ctx, me.UserID)
		tok, _ := e.s.CreateToken(ctx, "communea", time.Hour)
		list, err := e.s.Sessions(ctx, me.UserID, here)
		if err != nil || len(list) != 3 {
			t.Fatalf("sessions %+v %v", list, err)
		}
		current := 0
		for _, x := range list {
			if x.Current {
				current++
			}
			if x.ID == here || x.ID == there || x.ID == tok {
				t.Fatal("a session's id is its secret")
			}
		}
		if current != 1 {
			t.Fatalf("%d current sessions", current)
		}
		// Another user's session: not for a commune officer to revoke.
		other, _ := e.s.NewSession(ctx, e.users["benluc"].UserID)
		if err := e.s.RevokeSession(ctx, me, e.users["benluc"].UserID, auth.SecretID(other)); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("revoke another's: %v", err)
		}
		// Nor is one of theirs revoked by naming it under their own id.
		if err := e.s.RevokeSession(ctx, me, me.UserID, auth.SecretID(other)); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("revoke another's under own id: %v", err)
		}
		if err := e.s.RevokeSession(ctx, me, me.UserID, auth.SecretID(tok)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Resolve(ctx, tok); err == nil {
			t.Fatal("revoked token resolves")
		}
		// The district revokes the commune officer's other browser.
		if err := e.s.RevokeSession(e.ctx("benluc"), e.p("benluc"), me.UserID, auth.SecretID(there)); err != nil {
			t.Fatal(err)
		}
		// Changing the password needs the current one and the rule; it ends the other sessions.
		there, _ = e.s.NewSession(ctx, me.UserID)
		if err := e.s.ChangePassword(ctx, me, "wrong", "một mật khẩu mới dài", here); errs.FieldsOf(err)["current"] == "" {
			t.Fatalf("wrong current: %v", err)
		}
		if err := e.s.ChangePassword(ctx, me, goodPassword, "password1234", here); errs.FieldsOf(err)["password"] == "" {
			t.Fatalf("weak new: %v", err)
		}
		if err := e.s.ChangePassword(ctx, me, goodPassword, "một mật khẩu mới dài", here); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Resolve(ctx, here); err != nil {
			t.Fatal("the session that changed the password ended")
		}
		if _, err := e.s.Resolve(ctx, there); err == nil {
			t.Fatal("another session outlived the password change")
		}
		// A forced reset: the next login asks for a new password first.
		if err := e.s.ForceReset(e.ctx("benluc"), e.p("benluc"), me.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Resolve(ctx, here); err == nil {
			t.Fatal("session outlived a forced reset")
		}
		u, err := e.s.Authenticate(ctx, "communea", "một mật khẩu mới dài")
		if err != nil || !u.MustReset {
			t.Fatalf("after reset: %+v %v", u, err)
		}
		pending, stage, err := e.s.BeginLogin(ctx, u)
		if err != nil || stage != auth.StagePassword {
			t.Fatalf("stage %q %v", stage, err)
		}
		if _, err := e.s.Resolve(ctx, pending); err == nil {
			t.Fatal("a pending login acts as a session")
		}
		if err := e.s.SetNewPassword(ctx, u, "communea 2021 mới"); errs.FieldsOf(err)["password"] == "" {
			t.Fatalf("reset to a password with the username: %v", err)
		}
		if err := e.s.SetNewPassword(ctx, u, "đồng lúa mùa nước nổi"); err != nil {
			t.Fatal(err)
		}
		sess, stage, err := e.s.Advance(ctx, pending, auth.StagePassword)
		if err != nil || stage != "" {
			t.Fatalf("advance: %q %v", stage, err)
		}
		if p, err := e.s.Resolve(ctx, sess); err != nil || p.UserID != me.UserID {
			t.Fatalf("session after reset: %v", err)
		}
		if u, _ := e.s.UserByID(ctx, me.UserID); u.MustReset {
			t.Fatal("reset flag stays")
		}
		want := []string{"communea:revoke", "benluc:revoke", "communea:change_password", "benluc:force_reset", "communea:change_password"}
		acts := auditActions(t, db)
		if len(acts) != len(want) {
			t.Fatalf("audit %v", acts)
		}
		for i, w := range want {
			if !strings.HasPrefix(acts[i], w+":") {
				t.Errorf("audit %d: %s, want %s", i, acts[i], w)
			}
		}
	})
}

func TestSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newAccountsEnv(t, db)
		ctx := context.Background()
		u := e.users["benluc"]
		// A district officer without a second factor is sent to enrolment,
		// except in a demo.
		if _, stage, _ := e.s.BeginLogin(ctx, u); stage != auth.StageEnrol {
			t.Fatalf("stage %q", stage)
		}
		e.s.EnrolOptional = true
		if _, stage, _ := e.s.BeginLogin(ctx, u); stage != "" {
			t.Fatalf("demo stage %q", stage)
		}
		e.s.EnrolOptional = false
		if _, stage, _ := e.s.BeginLogin(ctx, e.users["communea"]); stage != "" {
			t.Fatalf("a commune officer is made to enrol: %q", stage)
		}
		en, err := e.s.StartEnrol(ctx, u)
		if err != nil || !strings.HasPrefix(en.URL, "otpauth://totp/") || !strings.Contains(en.URL, "secret="+en.Secret) {
			t.Fatalf("enrol %+v %v", en, err)
		}
		if again, _ := e.s.StartEnrol(ctx, u); again.Secret != en.Secret {
			t.Fatal("reloading the enrolment page changes the secret")
		}
		code := func(at time.Time) string {
			c, err := totp.GenerateCode(en.Secret, at)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if _, err := e.s.ConfirmEnrol(ctx, u, "000000"); errs.FieldsOf(err)["code"] == "" {
			t.Fatalf("wrong first code: %v", err)
		}
		codes, err := e.s.ConfirmEnrol(ctx, u, code(e.now))
		if err != nil || len(codes) != 10 {
			t.Fatalf("confirm: %v %v", codes, err)
		}
		// Stored sealed: the secret and the recovery codes are nowhere in the database.
		var sealed []byte
		db.R.QueryRow("SELECT totp_secret_enc FROM users WHERE id = $1", u.UserID).Scan(&sealed)
		if len(sealed) == 0 || bytes.Contains(sealed, []byte(en.Secret)) {
			t.Fatal("secret not sealed")
		}
		var hashes string
		rows, _ := db.R.Query("SELECT code_hash FROM recovery_codes")
		for rows.Next() {
			var h string
			rows.Scan(&h)
			hashes += h
		}
		rows.Close()
		for _, c := range codes {
			if strings.Contains(hashes, strings.ReplaceAll(c, "-", "")) {
				t.Fatal("recovery code stored in clear")
			}
		}
		u, _ = e.s.UserByID(ctx, u.UserID)
		if !u.HasTOTP {
			t.Fatal("not enrolled")
		}
		if _, stage, _ := e.s.BeginLogin(ctx, u); stage != auth.StageCode {
			t.Fatalf("enrolled login stage %q", stage)
		}
		// The enrolment's own code cannot be used again, nor can any code twice.
		if err := e.s.CheckSecondFactor(ctx, u, code(e.now)); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatalf("enrolment code replayed: %v", err)
		}
		e.now = e.now.Add(30 * time.Second)
		if err := e.s.CheckSecondFactor(ctx, u, code(e.now)[:3]+" "+code(e.now)[3:]); err != nil {
			t.Fatalf("fresh code: %v", err)
		}
		for _, replay := range []string{code(e.now), code(e.now.Add(-30 * time.Second))} {
			if err := e.s.CheckSecondFactor(ctx, u, replay); !errors.Is(err, errs.ErrUnauthorized) {
				t.Fatalf("replay %s: %v", replay, err)
			}
		}
		for _, bad := range []string{"", "123456", "12345", "1234567", "abcdef", code(e.now.Add(5 * time.Minute))} {
			if err := e.s.CheckSecondFactor(ctx, u, bad); !errors.Is(err, errs.ErrUnauthorized) {
				t.Fatalf("code %q accepted: %v", bad, err)
			}
		}
		// One step of drift is allowed.
		if err := e.s.CheckSecondFactor(ctx, u, code(e.now.Add(30*time.Second))); err != nil {
			t.Fatalf("next step's code: %v", err)
		}
		// Recovery codes: any spelling, each once.
		for i, spelling := range []string{codes[0], strings.ToUpper(codes[1]), strings.ReplaceAll(codes[2], "-", "") + " "} {
			if err := e.s.CheckSecondFactor(ctx, u, spelling); err != nil {
				t.Fatalf("recovery code %d: %v", i, err)
			}
		}
		if err := e.s.CheckSecondFactor(ctx, u, codes[0]); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatal("recovery code used twice")
		}
		other := e.users["tanan"]
		if err := e.s.CheckSecondFactor(ctx, other, codes[3]); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatal("another user's recovery code works")
		}
		if n, _ := e.s.RecoveryCodesLeft(ctx, u.UserID); n != 7 {
			t.Fatalf("%d codes left", n)
		}
		// The province resets the lost phone: enrolment again at next login.
		if err := e.s.ResetSecondFactor(e.ctx("longan"), e.p("longan"), u.UserID); err != nil {
			t.Fatal(err)
		}
		u, _ = e.s.UserByID(ctx, u.UserID)
		if _, stage, _ := e.s.BeginLogin(ctx, u); u.HasTOTP || stage != auth.StageEnrol {
			t.Fatalf("after reset: %v %q", u.HasTOTP, stage)
		}
		if n, _ := e.s.RecoveryCodesLeft(ctx, u.UserID); n != 0 {
			t.Fatal("recovery codes outlive the reset")
		}
		acts := strings.Join(auditActions(t, db), " ")
		for _, w := range []string{"benluc:enrol_totp:", "benluc:recovery_code_used:", "longan:reset_totp:"} {
			if !strings.Contains(acts, w) {
				t.Errorf("audit lacks %s: %s", w, acts)
			}
		}
	})
}
