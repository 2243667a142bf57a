package auth_test

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// goodPassword passes the password rule.
const goodPassword = "lúa chín vàng đồng"

func TestPasswordHash(t *testing.T) {
	h := auth.HashPassword("mật khẩu dài đủ")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash format: %s", h)
	}
	if !auth.CheckPassword(h, "mật khẩu dài đủ") || auth.CheckPassword(h, "mật khẩu dài đu") || auth.CheckPassword("garbage", "x") {
		t.Fatal("password check wrong")
	}
	if first, second := auth.HashPassword("same"), auth.HashPassword("same"); first == second {
		t.Fatal("salt not random")
	}
}

func TestUsersSessionsTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := auth.NewService(db, time.Hour)
		now := time.Now()
		s.Now = func() time.Time { return now }
		u, err := s.CreateUser(ctx, auth.NewUser{Username: "xa.benluc", Password: goodPassword, Role: auth.CommuneOfficer, Unit: "27991"})
		if err != nil {
			t.Fatal(err)
		}
		// Duplicate and invalid accounts are refused field by field; nothing is stored.
		bad := []struct {
			u     auth.NewUser
			field string
		}{
			{auth.NewUser{Username: "xa.benluc", Password: goodPassword, Role: auth.CommuneOfficer, Unit: "27991"}, "username"},
			{auth.NewUser{Username: "ab", Password: goodPassword, Role: auth.CommuneOfficer, Unit: "27991"}, "username"},
			{auth.NewUser{Username: "short", Password: "123", Role: auth.CommuneOfficer, Unit: "27991"}, "password"},
			{auth.NewUser{Username: "norole", Password: goodPassword, Role: "king", Unit: "80"}, "role"},
			{auth.NewUser{Username: "nounit", Password: goodPassword, Role: auth.ProvinceAdmin, Unit: "999"}, "unit"},
			{auth.NewUser{Username: "level", Password: goodPassword, Role: auth.CommuneOfficer, Unit: "803"}, "unit"},
			{auth.NewUser{Username: "dept", Password: goodPassword, Role: auth.DepartmentOfficer, Unit: "80", Department: "army"}, "department"},
			{auth.NewUser{Username: "dept2", Password: goodPassword, Role: auth.CommuneOfficer, Unit: "27991", Department: "health"}, "department"},
		}
		for _, b := range bad {
			_, err := s.CreateUser(ctx, b.u)
			if f := errs.FieldsOf(err); f[b.field] == "" {
				t.Errorf("%+v: want a %s error, got %v", b.u, b.field, err)
			}
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM users").Scan(&n)
		if n != 1 {
			t.Fatalf("%d users stored, want 1", n)
		}
		if _, err := s.Authenticate(ctx, "xa.benluc", "wrong password"); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := s.Authenticate(ctx, "nobody", goodPassword); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatalf("unknown user: %v", err)
		}
		if got, err := s.Authenticate(ctx, "xa.benluc", goodPassword); err != nil || got.UserID != u.UserID {
			t.Fatalf("login: %v", err)
		}
		sess, err := s.NewSession(ctx, u.UserID)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.CreateToken(ctx, "xa.benluc", 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{sess, tok} {
			p, err := s.Resolve(ctx, secret)
			if err != nil || p.Username != "xa.benluc" || p.Unit != "27991" || p.Role != auth.CommuneOfficer {
				t.Fatalf("resolve: %+v %v", p, err)
			}
		}
		var stored string
		db.R.QueryRow("SELECT token_hash FROM sessions LIMIT 1").Scan(&stored)
		if stored == sess || stored == tok || len(stored) != 64 {
			t.Fatal("secrets must be stored only as hashes")
		}
		// Two hours later the session has expired, the 48-hour token has not.
		now = now.Add(2 * time.Hour)
		if _, err := s.Resolve(ctx, sess); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatalf("expired session: %v", err)
		}
		if _, err := s.Resolve(ctx, tok); err != nil {
			t.Fatalf("token: %v", err)
		}
		if n, err := s.PurgeExpired(ctx); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if err := s.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Resolve(ctx, tok); !errors.Is(err, errs.ErrUnauthorized) {
			t.Fatalf("revoked token: %v", err)
		}
		if _, err := s.CreateToken(ctx, "nobody", time.Hour); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("token for unknown user: %v", err)
		}
	})
}

func TestPrincipalScope(t *testing.T) {
	cases := []struct {
		p        auth.Principal
		code     string
		in       bool
		col, val string
	}{
		{auth.Principal{Role: auth.ProvinceAdmin, Unit: "80"}, "27991", true, "province_code", "80"},
		{auth.Principal{Role: auth.ProvinceAdmin, Unit: "01"}, "27991", false, "province_code", "01"},
		{auth.Principal{Role: auth.DistrictOfficer, Unit: "803"}, "27991", true, "district_code", "803"},
		{auth.Principal{Role: auth.DistrictOfficer, Unit: "794"}, "27991", false, "district_code", "794"},
		{auth.Principal{Role: auth.CommuneOfficer, Unit: "27994"}, "27991", false, "commune_code", "27994"},
		{auth.Principal{Role: auth.ProvinceAdmin, Unit: "VN"}, "27991", true, "", ""},
	}
	for _, c := range cases {
		col, val := c.p.Scope()
		if c.p.InJurisdiction(c.code) != c.in || col != c.col || val != c.val {
			t.Errorf("%+v: in=%v scope=%s=%s", c.p, c.p.InJurisdiction(c.code), col, val)
		}
	}
	trade := auth.Principal{Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"}
	health := auth.Principal{Role: auth.DepartmentOfficer, Unit: "80", Department: "health"}
	if !trade.SeesSector("industry_trade") || trade.SeesSector("education") || !health.SeesSector("education") {
		t.Error("sector rules wrong")
	}
}

func TestAudit(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := auth.WithRequestID(auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 7, Username: "truyvet"}), "req-1")
	if err := auth.Audit(ctx, db, auth.ActionExport, "case_contacts", []string{"1", "2"}, "truy vết F1"); err != nil {
		t.Fatal(err)
	}
	got, err := auth.AuditLog(context.Background(), db, auth.AuditFilter{Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	e := got[0]
	if e.Username != "truyvet" || e.UserID != 7 || e.Action != "export" || e.RecordIDs != "1,2" || e.Purpose != "truy vết F1" || e.RequestID != "req-1" {
		t.Fatalf("entry: %+v", e)
	}
}

// TestAuditNamesEveryRecord: a read of thousands of records names each of
// them, over as many rows as it takes, none longer than the column's 4,000
// characters; a province administrator's filter keeps its own province's
// entries and the system's.
func TestAuditNamesEveryRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Username: "tracer", Unit: "27991"})
		ids := make([]string, 3000)
		for i := range ids {
			ids[i] = strconv.Itoa(100000 + i)
		}
		if err := auth.Audit(ctx, db, auth.ActionExport, "person", ids, "xuất danh sách F1"); err != nil {
			t.Fatal(err)
		}
		entries, err := auth.AuditLog(ctx, db, auth.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			if len(e.RecordIDs) > 4000 {
				t.Errorf("a row of %d characters", len(e.RecordIDs))
			}
			got = append(got, strings.Split(e.RecordIDs, ",")...)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Fatalf("%d rows name %d records, want all %d", len(entries), len(got), len(ids))
		}
		if err := auth.Audit(auth.WithPrincipal(context.Background(), &auth.Principal{Username: "hn", Unit: "00004"}), db, auth.ActionView, "person", []string{"7"}, "x"); err != nil {
			t.Fatal(err)
		}
		if err := auth.Audit(context.Background(), db, auth.ActionDelete, "person", []string{"8"}, "purge"); err != nil {
			t.Fatal(err)
		}
		la, _ := auth.AuditLog(ctx, db, auth.AuditFilter{Province: "80", Limit: 1000})
		hn, _ := auth.AuditLog(ctx, db, auth.AuditFilter{Province: "01", Limit: 1000})
		if len(la) != len(entries)+1 || len(hn) != 2 {
			t.Errorf("Long An reads %d entries, Hà Nội %d; want %d and 2", len(la), len(hn), len(entries)+1)
		}
	})
}
