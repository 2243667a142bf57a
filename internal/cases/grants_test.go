package cases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

var (
	police      = &auth.Principal{UserID: 10, Username: "congan", Role: auth.DepartmentOfficer, Unit: "80", Department: "police"}
	ict         = &auth.Principal{UserID: 11, Username: "sotttt", Role: auth.DepartmentOfficer, Unit: "80", Department: "ict"}
	admin       = &auth.Principal{UserID: 12, Username: "lanhdao", Role: auth.ProvinceAdmin, Unit: "80"}
	tananTracer = &auth.Principal{UserID: 13, Username: "tracertanan", Role: auth.HealthTracer, Unit: "27685"}
	healthDept  = &auth.Principal{UserID: 14, Username: "soyte", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"}
)

// grantFixture is the standard visits with two F0s: A (An, 27991) and B
// (Em, 27685, who met Bình at school).
func grantFixture(t *testing.T, db *sqldb.DB) (*fixture, Case, Case) {
	t.Helper()
	f := newFixture(t, db)
	f.standardVisits()
	ctx := context.Background()
	a, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", Status: F0, SampleDate: f.today(1)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000005", Status: F0, SampleDate: f.today(0)})
	if err != nil {
		t.Fatal(err)
	}
	return f, a, b
}

// personalReads tries every read of a case's personal rows and returns the
// errors, by name.
func personalReads(f *fixture, p *auth.Principal, caseID int64) map[string]error {
	ctx := context.Background()
	_, errContacts := f.s.Contacts(ctx, p, caseID, Page{}, "")
	var buf bytes.Buffer
	_, errExport := f.s.ExportContacts(ctx, p, caseID, FormatXLSX, "kiểm tra xuất", &buf)
	_, errWork := f.s.Worklist(ctx, p, WorkFilter{CaseID: caseID, State: "all"}, "")
	return map[string]error{"contacts": errContacts, "export": errExport, "worklist": errWork}
}

func wantForbidden(t *testing.T, who string, errsByRead map[string]error) {
	t.Helper()
	for read, err := range errsByRead {
		if !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("%s %s: %v, want forbidden", who, read, err)
		}
	}
}

// auditedWith reports whether an audit row of user names grant id.
func auditedWith(t *testing.T, db *sqldb.DB, user string, id int64) int {
	t.Helper()
	list, err := auth.AuditLog(context.Background(), db, auth.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list {
		if e.Username == user && strings.Contains(e.Purpose, fmt.Sprintf("#%d:", id)) {
			n++
		}
	}
	return n
}

func TestGrantsGateContacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f, a, b := grantFixture(t, db)
		ctx := context.Background()
		// Without a grant: no personal read, but the figures.
		for _, p := range []*auth.Principal{police, ict} {
			wantForbidden(t, p.Username, personalReads(f, p, a.ID))
			c, acc, err := f.s.Open(ctx, p, a.ID)
			if err != nil || c.ID != a.ID || acc.Personal() {
				t.Errorf("%s open: %v %+v", p.Username, err, acc)
			}
			if counts, err := f.s.ContactCounts(ctx, p, a.ID); err != nil || counts[F1] != 2 {
				t.Errorf("%s counts %v %v", p.Username, counts, err)
			}
		}
		req := GrantRequest{CaseID: a.ID, Scope: ScopeContacts, Purpose: "Xác minh người tiếp xúc ổ dịch chợ", Days: 3}
		g, err := f.s.RequestAccess(ctx, police, req)
		if err != nil || g.Status != GrantPending {
			t.Fatalf("request: %+v %v", g, err)
		}
		wantForbidden(t, "pending", personalReads(f, police, a.ID))
		// The requester cannot decide their own request, whatever the role.
		for _, decide := range []func() error{
			func() error { _, err := f.s.Approve(ctx, police, g.ID); return err },
			func() error { _, err := f.s.Refuse(ctx, police, g.ID, "không cần"); return err },
			func() error { _, err := f.s.Approve(ctx, ict, g.ID); return err },
		} {
			if err := decide(); err == nil {
				t.Error("a non-administrator decided a request")
			}
		}
		self := *admin
		self.UserID = police.UserID
		if _, err := f.s.Approve(ctx, &self, g.ID); errs.FieldsOf(err)["grant"] == "" {
			t.Errorf("own approval: %v", err)
		}
		if got, _ := f.s.Grant(ctx, police, g.ID); got.Status != GrantPending {
			t.Fatalf("after refused self-approval: %s", got.Status)
		}
		// A refused request opens nothing.
		r, _ := f.s.RequestAccess(ctx, ict, GrantRequest{CaseID: a.ID, Scope: ScopeContacts, Purpose: "Rà soát dữ liệu ca bệnh", Days: 1})
		if _, err := f.s.Refuse(ctx, admin, r.ID, ""); errs.FieldsOf(err)["reason"] == "" {
			t.Errorf("refuse without a reason: %v", err)
		}
		if r, err = f.s.Refuse(ctx, admin, r.ID, "Không thuộc nhiệm vụ"); err != nil || r.Status != GrantRefused {
			t.Fatalf("refuse: %+v %v", r, err)
		}
		wantForbidden(t, "refused", personalReads(f, ict, a.ID))
		if _, err := f.s.Approve(ctx, admin, r.ID); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("approve after refusal: %v", err)
		}
		// Approved: A's contacts with names, through the grant; B still closed.
		if g, err = f.s.Approve(ctx, admin, g.ID); err != nil || !g.Open() || g.ExpiresAt == nil || !g.ExpiresAt.Equal(f.now.Add(72*time.Hour)) {
			t.Fatalf("approve: %+v %v", g, err)
		}
		res, err := f.s.Contacts(ctx, police, a.ID, Page{}, "")
		if err != nil {
			t.Fatal(err)
		}
		named := 0
		for _, cv := range res.Contacts {
			if cv.Phone != nil && cv.Name != "" {
				named++
			}
		}
		if named != 2 {
			t.Errorf("police through the grant: %d named contacts, want 2 (%+v)", named, res.Contacts)
		}
		var buf bytes.Buffer
		if _, err := f.s.ExportContacts(ctx, police, a.ID, FormatXLSX, "gửi tổ truy vết", &buf); err != nil || buf.Len() == 0 {
			t.Errorf("export through the grant: %v", err)
		}
		if n := auditedWith(t, db, "congan", g.ID); n != 2 {
			t.Errorf("%d audit rows name grant %d, want 2 (contacts, export)", n, g.ID)
		}
		wantForbidden(t, "police on B", personalReads(f, police, b.ID))
		wantForbidden(t, "ict", personalReads(f, ict, a.ID))
		if _, err := f.s.Worklist(ctx, police, WorkFilter{State: "all"}, ""); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("police worklist with a grant: %v", err)
		}
		// Expiry: advance the clock past it.
		f.now = f.now.Add(72*time.Hour + time.Second)
		wantForbidden(t, "expired", personalReads(f, police, a.ID))
		if got, _ := f.s.Grant(ctx, police, g.ID); got.Status != GrantExpired {
			t.Errorf("status after expiry %s", got.Status)
		}
		if _, err := f.s.Revoke(ctx, admin, g.ID, ""); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("revoke an expired grant: %v", err)
		}
		// Revocation closes at once.
		g2, _ := f.s.RequestAccess(ctx, police, req)
		if _, err := f.s.Approve(ctx, admin, g2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Contacts(ctx, police, a.ID, Page{}, ""); err != nil {
			t.Fatalf("second grant: %v", err)
		}
		if g2, err = f.s.Revoke(ctx, admin, g2.ID, "Đã đủ thông tin"); err != nil || g2.Status != GrantRevoked {
			t.Fatalf("revoke: %+v %v", g2, err)
		}
		wantForbidden(t, "revoked", personalReads(f, police, a.ID))
		// The administrator's list: pending first, then open, then closed.
		p3, _ := f.s.RequestAccess(ctx, ict, GrantRequest{CaseID: b.ID, Scope: ScopeContacts, Purpose: "Điều tra nguồn lây ca B", Days: 2})
		list, err := f.s.GrantsToDecide(ctx, admin)
		if err != nil || len(list) != 4 || list[0].ID != p3.ID {
			t.Errorf("admin list %+v %v", list, err)
		}
		if _, err := f.s.GrantsToDecide(ctx, police); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("police lists every request: %v", err)
		}
		if mine, _ := f.s.MyGrants(ctx, ict); len(mine) != 2 {
			t.Errorf("ict's requests %d", len(mine))
		}
		if _, err := f.s.Grant(ctx, ict, g.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("someone else's grant: %v", err)
		}
	})
}

func TestGrantVenueDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f, a, _ := grantFixture(t, db)
		ctx := context.Background()
		market := f.venues["Chợ Bến Lức"]
		dayOf := func(hoursAgo float64) string {
			return f.now.Add(-time.Duration(hoursAgo * float64(time.Hour))).In(hcm).Format("2006-01-02")
		}
		day := dayOf(30)
		want := map[int64]bool{}
		for phone, h := range map[string]float64{"0900000001": 30, "0900000002": 29.8, "0900000004": 29.5} {
			if dayOf(h) == day {
				want[f.people[phone]] = true
			}
		}
		g, err := f.s.RequestAccess(ctx, police, GrantRequest{CaseID: a.ID, Scope: ScopeVenueDays, Purpose: "Danh sách người đến chợ hôm đó",
			VenueDays: []VenueDay{{VenueID: market, Day: day}}, Days: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.VenueDayVisitors(ctx, police, g.ID, market, day, "xem"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("pending venue-day: %v", err)
		}
		if _, err := f.s.Approve(ctx, admin, g.ID); err != nil {
			t.Fatal(err)
		}
		list, err := f.s.VenueDayVisitors(ctx, police, g.ID, market, day, "xem")
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]bool{}
		for _, v := range list {
			got[v.PersonID] = true
			if v.Name == "" || v.Phone == "" {
				t.Errorf("visitor without name or phone: %+v", v)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("visitors %v, want %v", got, want)
		}
		if n := auditedWith(t, db, "congan", g.ID); n != 1 {
			t.Errorf("%d audit rows name grant %d", n, g.ID)
		}
		// Nothing else: another day, another venue, another's grant, the contacts.
		for name, read := range map[string]func() error{
			"other day": func() error { _, err := f.s.VenueDayVisitors(ctx, police, g.ID, market, dayOf(54), "x"); return err },
			"other venue": func() error {
				_, err := f.s.VenueDayVisitors(ctx, police, g.ID, f.venues["Trường THCS Thạnh Lợi"], day, "x")
				return err
			},
			"bad day":    func() error { _, err := f.s.VenueDayVisitors(ctx, police, g.ID, market, day+"x", "x"); return err },
			"other user": func() error { _, err := f.s.VenueDayVisitors(ctx, ict, g.ID, market, day, "x"); return err },
			"contacts":   func() error { _, err := f.s.Contacts(ctx, police, a.ID, Page{}, ""); return err },
		} {
			if err := read(); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s: %v", name, err)
			}
		}
		f.now = f.now.Add(24 * time.Hour)
		if _, err := f.s.VenueDayVisitors(ctx, police, g.ID, market, day, "x"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("expired venue-day grant: %v", err)
		}
	})
}

func TestGrantHealthJurisdiction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f, a, _ := grantFixture(t, db)
		ctx := context.Background()
		// Within their jurisdiction, health keeps its access and needs no grant.
		for _, p := range []*auth.Principal{communeTracer, healthDept, provinceTracer} {
			for read, err := range personalReads(f, p, a.ID) {
				if err != nil {
					t.Errorf("%s %s: %v", p.Username, read, err)
				}
			}
		}
		if _, err := f.s.RequestAccess(ctx, communeTracer, GrantRequest{CaseID: a.ID, Scope: ScopeContacts, Purpose: "Đã có quyền rồi mà", Days: 1}); errs.FieldsOf(err)["scope"] == "" {
			t.Errorf("request for what one has: %v", err)
		}
		// Outside it, a grant is needed.
		if _, _, err := f.s.Open(ctx, tananTracer, a.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("outside tracer opens the case: %v", err)
		}
		reads := personalReads(f, tananTracer, a.ID)
		delete(reads, "worklist") // their worklist is their own jurisdiction's: none of A's contacts
		wantForbidden(t, "outside tracer", reads)
		if items, err := f.s.Worklist(ctx, tananTracer, WorkFilter{CaseID: a.ID, State: "all"}, ""); err != nil || len(items) != 0 {
			t.Errorf("outside tracer's worklist holds A's contacts: %d %v", len(items), err)
		}
		g, err := f.s.RequestAccess(ctx, tananTracer, GrantRequest{CaseID: a.ID, Scope: ScopeContacts, Purpose: "Ca bệnh liên quan ổ dịch Tân An", Days: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Approve(ctx, admin, g.ID); err != nil {
			t.Fatal(err)
		}
		res, err := f.s.Contacts(ctx, tananTracer, a.ID, Page{}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range res.Contacts {
			if cv.Phone == nil {
				t.Errorf("grant holder misses contact %d", cv.PersonID)
			}
		}
		if auditedWith(t, db, "tracertanan", g.ID) != 1 {
			t.Error("read through the grant not audited with its id")
		}
		// A grant reads; it does not make the case theirs to change.
		if _, err := f.s.SetStatus(ctx, tananTracer, a.ID, Recovered, ""); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("grant holder changed the status: %v", err)
		}
	})
}

func TestGrantRequestChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f, a, _ := grantFixture(t, db)
		ctx := context.Background()
		market := f.venues["Chợ Bến Lức"]
		ok := GrantRequest{CaseID: a.ID, Scope: ScopeContacts, Purpose: "Xác minh người tiếp xúc", Days: 14}
		for _, tc := range []struct {
			name, field string
			edit        func(*GrantRequest)
		}{
			{"short purpose", "purpose", func(r *GrantRequest) { r.Purpose = "  tra cứu " }},
			{"long purpose", "purpose", func(r *GrantRequest) { r.Purpose = strings.Repeat("ư", 501) }},
			{"no days", "days", func(r *GrantRequest) { r.Days = 0 }},
			{"15 days", "days", func(r *GrantRequest) { r.Days = 15 }},
			{"negative days", "days", func(r *GrantRequest) { r.Days = -3 }},
			{"scope", "scope", func(r *GrantRequest) { r.Scope = "everything" }},
			{"contacts with venue-days", "venue_days", func(r *GrantRequest) { r.VenueDays = []VenueDay{{VenueID: market, Day: f.today(1)}} }},
			{"no venue-days", "venue_days", func(r *GrantRequest) { r.Scope = ScopeVenueDays }},
			{"future day", "venue_days", func(r *GrantRequest) {
				r.Scope, r.VenueDays = ScopeVenueDays, []VenueDay{{VenueID: market, Day: f.today(-1)}}
			}},
			{"bad day", "venue_days", func(r *GrantRequest) {
				r.Scope, r.VenueDays = ScopeVenueDays, []VenueDay{{VenueID: market, Day: "01/08/2021"}}
			}},
			{"unknown venue", "venue_days", func(r *GrantRequest) {
				r.Scope, r.VenueDays = ScopeVenueDays, []VenueDay{{VenueID: 999, Day: f.today(1)}}
			}},
			{"too many venue-days", "venue_days", func(r *GrantRequest) {
				r.Scope = ScopeVenueDays
				for i := range 21 {
					r.VenueDays = append(r.VenueDays, VenueDay{VenueID: market, Day: f.today(i)})
				}
			}},
			{"no case", "case_id", func(r *GrantRequest) { r.CaseID = 0 }},
		} {
			req := ok
			tc.edit(&req)
			if _, err := f.s.RequestAccess(ctx, police, req); errs.FieldsOf(err)[tc.field] == "" {
				t.Errorf("%s: %v, want a %s error", tc.name, err, tc.field)
			}
		}
		if _, err := f.s.RequestAccess(ctx, police, GrantRequest{CaseID: 9999, Scope: ScopeContacts, Purpose: ok.Purpose, Days: 1}); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("unknown case: %v", err)
		}
		for _, p := range []*auth.Principal{admin, communeOfficer, venueManager, {UserID: 20, Username: "congthuong", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"}} {
			if _, err := f.s.RequestAccess(ctx, p, ok); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s files a request: %v", p.Username, err)
			}
		}
		// Police of another province cannot ask for this one's cases.
		hanoi := &auth.Principal{UserID: 21, Username: "congan_hn", Role: auth.DepartmentOfficer, Unit: "01", Department: "police"}
		if _, err := f.s.RequestAccess(ctx, hanoi, ok); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("other province's police: %v", err)
		}
		g, err := f.s.RequestAccess(ctx, police, ok)
		if err != nil {
			t.Fatal(err)
		}
		hanoiAdmin := &auth.Principal{UserID: 22, Username: "lanhdao_hn", Role: auth.ProvinceAdmin, Unit: "01"}
		if _, err := f.s.Approve(ctx, hanoiAdmin, g.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("another province's administrator approved: %v", err)
		}
	})
}
