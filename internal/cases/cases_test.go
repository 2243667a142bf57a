package cases

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/sheet/sheettest"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/tracing"
	"anticovid/internal/vault"
)

// fixture is a registry with people, venues and visits around now.
type fixture struct {
	t      *testing.T
	db     *sqldb.DB
	s      *Service
	rec    *notify.Recorder
	now    time.Time
	people map[string]int64 // phone → id
	venues map[string]int64
}

var (
	provinceTracer = &auth.Principal{UserID: 1, Username: "truyvet", Role: auth.HealthTracer, Unit: "80"}
	communeTracer  = &auth.Principal{UserID: 2, Username: "tracera", Role: auth.HealthTracer, Unit: "27991"}
	communeOfficer = &auth.Principal{UserID: 3, Username: "canboxa", Role: auth.CommuneOfficer, Unit: "27991"}
	venueManager   = &auth.Principal{UserID: 4, Username: "quanly", Role: auth.VenueManager, Unit: "27991"}
)

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ppl := people.NewService(db, v)
	rec := &notify.Recorder{}
	ob := &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec}}
	f := &fixture{t: t, db: db, rec: rec, now: time.Now().UTC().Truncate(time.Second), people: map[string]int64{}, venues: map[string]int64{}}
	f.s = NewService(db, ppl, ob, nil)
	f.s.Now = func() time.Time { return f.now }
	for _, p := range []people.Person{
		{Name: "Nguyễn Văn An", Phone: "0900000001", BirthYear: 1980, Commune: "27991"},  // the F0
		{Name: "Trần Thị Bình", Phone: "0900000002", BirthYear: 1990, Commune: "27991"},  // F1 at the market
		{Name: "Lê Văn Cường", Phone: "0900000003", BirthYear: 1975, Commune: "27994"},   // F1 at the hospital, other commune
		{Name: "Phạm Thị Dung", Phone: "0900000004", BirthYear: 2000, Commune: "27991"},  // at the market, too briefly
		{Name: "Hoàng Văn Em", Phone: "0900000005", BirthYear: 1965, Commune: "27685"},   // F2: met Bình at school
		{Name: "Võ Thị Giang", Phone: "0900000006", BirthYear: 1988, Commune: "27994"},   // someone of another commune
		{Name: "Đặng Minh Hải", Phone: "0900000007", BirthYear: 1995, Commune: "27991"},  // no visits
		{Name: "Bùi Thị Lan", Phone: "0900000008", BirthYear: 1992, Commune: "00004"},    // Hà Nội
		{Name: "Nguyễn Văn An", Phone: "0900000009", BirthYear: 1980, Commune: "27994"},  // same name and year, other commune
		{Name: "Ngô Thị Mai", Phone: "0900000010", BirthYear: 1970, Commune: "27991"},    // checks in "now"
		{Name: "Dương Văn Nam", Phone: "0900000011", BirthYear: 1983, Commune: "27991"},  // possible duplicate in the import
		{Name: "Lý Thị Oanh", Phone: "0900000012", BirthYear: 1999, Commune: "27991"},    // F1, later F0 (chain)
		{Name: "Hồ Văn Phúc", Phone: "0900000013", BirthYear: 1960, Commune: "27991"},    // contact of Oanh (chain)
		{Name: "Phan Thị Quế", Phone: "0900000014", BirthYear: 1985, Commune: "27991"},   // spare
		{Name: "Nguyễn Thị Hoa", Phone: "0900000015", BirthYear: 1983, Commune: "27991"}, // spare
	} {
		id, err := ppl.FindOrCreate(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		f.people[p.Phone] = id
	}
	for i, v := range []struct{ name, cat, commune string }{
		{"Chợ Bến Lức", "market", "27991"}, {"Bệnh viện Đa khoa Bến Lức", "hospital", "27991"}, {"Trường THCS Thạnh Lợi", "school", "27994"},
	} {
		id := int64(i + 1)
		if _, err := db.W.ExecContext(ctx, `INSERT INTO venues (id, name, category, commune_code, district_code, province_code, status, created_at)
			VALUES ($1, $2, $3, $4, '803', '80', 'approved', 0)`, id, v.name, v.cat, v.commune); err != nil {
			t.Fatal(err)
		}
		f.venues[v.name] = id
	}
	return f
}

// visit records a stay from a phone proven on its device; hoursAgo and
// minutes of stay (-1: no check-out).
func (f *fixture) visit(id, phone, venue string, hoursAgo float64, minutes int) {
	f.t.Helper()
	f.visitGraded(id, phone, venue, hoursAgo, minutes, checkin.PhoneProven)
}

// visitGraded records a stay with its evidence grade.
func (f *fixture) visitGraded(id, phone, venue string, hoursAgo float64, minutes, proof int) {
	f.t.Helper()
	in := f.now.Add(-time.Duration(hoursAgo * float64(time.Hour))).Unix()
	var out any
	if minutes >= 0 {
		out = in + int64(minutes)*60
	}
	if _, err := f.db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in, t_out, proof) VALUES ($1, $2, $3, $4, $5, $6)",
		id, f.venues[venue], f.people[phone], in, out, proof); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.R.QueryRow(q, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) today(daysAgo int) string {
	return f.now.In(hcm).AddDate(0, 0, -daysAgo).Format("2006-01-02")
}

// standardVisits: the F0 (0001) at the market 30 hours ago for an hour and at
// the hospital 50 hours ago; Bình 40 min with them at the market; Dung 5 min;
// Cường at the hospital without checking out; Bình at school a day later with
// Em (an F2); Giang at the market a week before the window.
func (f *fixture) standardVisits() {
	f.visit("f0-market", "0900000001", "Chợ Bến Lức", 30, 60)
	f.visit("f0-hospital", "0900000001", "Bệnh viện Đa khoa Bến Lức", 50, 90)
	f.visit("binh-market", "0900000002", "Chợ Bến Lức", 29.8, 40)
	f.visit("dung-market", "0900000004", "Chợ Bến Lức", 29.5, 5)
	f.visit("cuong-hospital", "0900000003", "Bệnh viện Đa khoa Bến Lức", 49.5, -1)
	f.visit("binh-school", "0900000002", "Trường THCS Thạnh Lợi", 5, 120)
	f.visit("em-school", "0900000005", "Trường THCS Thạnh Lợi", 4.5, 60)
	f.visit("giang-old", "0900000006", "Chợ Bến Lức", 24*9, 60)
}

func TestCreateF0TracesNotifiesAndScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.standardVisits()
		ctx := context.Background()
		c, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", Status: F0, SampleDate: f.today(1), Note: "PCR dương tính"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != F0 || c.CommuneCode != "27991" || c.DistrictCode != "803" || c.PersonID != f.people["0900000001"] {
			t.Fatalf("case %+v", c)
		}
		// Stored worklist: Bình (market, 40 min) and Cường (hospital, default stay); not Dung (5 min < 15), not Giang (before the window).
		if n := f.count("SELECT count(*) FROM contacts WHERE case_id = $1 AND level = 'F1'", c.ID); n != 2 {
			t.Fatalf("%d F1 rows, want 2", n)
		}
		var overlap int64
		var commune string
		db.R.QueryRow("SELECT overlap_seconds, commune_code FROM contacts WHERE case_id = $1 AND person_id = $2", c.ID, f.people["0900000002"]).Scan(&overlap, &commune)
		if overlap != 40*60 || commune != "27991" {
			t.Errorf("Bình: overlap %d commune %s", overlap, commune)
		}
		if n := f.count("SELECT count(*) FROM exposures WHERE case_id = $1", c.ID); n != 2 {
			t.Errorf("%d exposure venues, want 2", n)
		}
		if n := f.count("SELECT count(*) FROM case_history WHERE case_id = $1 AND to_status = 'F0'", c.ID); n != 1 {
			t.Errorf("history rows %d", n)
		}
		// The province tracer sees both phones; the commune tracer only Bình's.
		res, err := f.s.Contacts(ctx, provinceTracer, c.ID, Page{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Contacts) != 2 || res.Contacts[0].Level != F1 || res.Contacts[0].Source != tracing.SourceQR {
			t.Fatalf("contacts %+v", res.Contacts)
		}
		phones := map[int64]*string{}
		for _, cv := range res.Contacts {
			phones[cv.PersonID] = cv.Phone
		}
		if p := phones[f.people["0900000003"]]; p == nil || *p != "0900000003" {
			t.Errorf("province tracer: Cường's phone %v", p)
		}
		// Cường is vulnerable (hospital): listed first.
		if res.Contacts[0].PersonID != f.people["0900000003"] || !res.Contacts[0].Vulnerable || res.Contacts[0].VenueName != "Bệnh viện Đa khoa Bến Lức" {
			t.Errorf("first contact %+v", res.Contacts[0])
		}
		res, err = f.s.Contacts(ctx, communeTracer, c.ID, Page{}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range res.Contacts {
			inside := cv.PersonID == f.people["0900000002"]
			if inside != (cv.Phone != nil) || inside != (cv.Name != "") {
				t.Errorf("commune tracer, person %d: phone %v name %q", cv.PersonID, cv.Phone, cv.Name)
			}
		}
		if n := f.count("SELECT count(*) FROM audit_log WHERE username = $1 AND action = $2 AND record_ids = $3", "tracera", "view", fmt.Sprint(f.people["0900000002"])); n != 1 {
			t.Errorf("audit rows for the commune tracer's view: %d", n)
		}
		// A check-in recorded a moment ago at the market while the F0 is
		// still infectious (isolation not yet started) counts at once.
		f.visit("f0-now", "0900000001", "Chợ Bến Lức", 0.2, -1)
		f.visit("mai-now", "0900000010", "Chợ Bến Lức", 0.0, -1)
		res, err = f.s.Contacts(ctx, provinceTracer, c.ID, Page{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.New != 1 || f.count("SELECT count(*) FROM contacts WHERE case_id = $1 AND person_id = $2", c.ID, f.people["0900000010"]) != 1 {
			t.Errorf("the fresh check-in was not added: new %d", res.New)
		}
		// Notifications: each F1 once, even after tracing again.
		waitFor(t, func() bool { return f.count("SELECT count(*) FROM outbox") == 3 })
		if err := f.s.NotifyPending(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		f.s.Contacts(ctx, provinceTracer, c.ID, Page{}, "")
		time.Sleep(50 * time.Millisecond)
		if n := f.count("SELECT count(*) FROM outbox"); n != 3 {
			t.Errorf("outbox holds %d messages, want 3 (one per F1)", n)
		}
		if _, _, err := f.s.Outbox.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		msgs := f.rec.Messages()
		if len(msgs) != 3 || !strings.Contains(msgs[0].Body+msgs[1].Body+msgs[2].Body, "Chợ Bến Lức") || !strings.Contains(msgs[0].Body, "Y tế Long An") {
			t.Errorf("messages %+v", msgs)
		}
		// A venue manager and a case outside the commune tracer's unit are refused.
		if _, err := f.s.Contacts(ctx, venueManager, c.ID, Page{}, ""); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("venue manager: %v", err)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met within 4 s")
}

func TestCreateRefusesBadInputAndSavesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.standardVisits()
		ctx := context.Background()
		for _, tc := range []struct {
			name  string
			p     *auth.Principal
			in    NewCase
			field string // "" : forbidden
		}{
			{"unknown person", provinceTracer, NewCase{Phone: "0999999999", SampleDate: f.today(1)}, "person"},
			{"bad phone", provinceTracer, NewCase{Phone: "12ab", SampleDate: f.today(1)}, "person.phone"},
			{"no person", provinceTracer, NewCase{SampleDate: f.today(1)}, "person"},
			{"onset months after sample", provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(100), OnsetDate: f.today(1)}, "onset_date"},
			{"window longer than 30 days", provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(40)}, "window"},
			{"sample in the future", provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.now.AddDate(0, 0, 3).Format("2006-01-02")}, "sample_date"},
			{"F0 without sample", provinceTracer, NewCase{Phone: "0900000001"}, "sample_date"},
			{"bad date", provinceTracer, NewCase{Phone: "0900000001", SampleDate: "31/02/2021x"}, "sample_date"},
			{"bad status", provinceTracer, NewCase{Phone: "0900000001", Status: "F9", SampleDate: f.today(1)}, "status"},
			{"out of jurisdiction", communeTracer, NewCase{Phone: "0900000006", SampleDate: f.today(1)}, ""},
			{"Hà Nội person for Long An tracer", provinceTracer, NewCase{Phone: "0900000008", SampleDate: f.today(1)}, ""},
			{"commune officer registers no F1", communeOfficer, NewCase{Phone: "0900000001", Status: F1}, "status"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.s.Create(ctx, tc.p, tc.in)
				if tc.field == "" {
					if !errors.Is(err, errs.ErrForbidden) {
						t.Fatalf("err %v, want forbidden", err)
					}
				} else if fields := errs.FieldsOf(err); fields[tc.field] == "" {
					t.Fatalf("err %v, want a message for %s", err, tc.field)
				} else if !strings.Contains(fields[tc.field], "/") {
					t.Errorf("message %q lacks the English half", fields[tc.field])
				}
			})
		}
		for _, table := range []string{"cases", "case_history", "contacts", "exposures"} {
			if n := f.count("SELECT count(*) FROM " + table); n != 0 {
				t.Errorf("%s holds %d rows after refused input", table, n)
			}
		}
	})
}

// TestNoPartialCase: when saving the contacts fails mid-transaction, the
// case is not saved either.
func TestNoPartialCase(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	f.standardVisits()
	// Make the contacts insert fail: a trigger refuses it.
	if _, err := db.W.Exec(`CREATE TRIGGER contacts_fail BEFORE INSERT ON contacts BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Create(context.Background(), provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(1)}); err == nil {
		t.Fatal("create succeeded although the contacts could not be saved")
	}
	for _, table := range []string{"cases", "case_history", "exposures"} {
		if n := f.count("SELECT count(*) FROM " + table); n != 0 {
			t.Errorf("%s holds %d rows after a failed create", table, n)
		}
	}
}

func TestStatusHistoryChainAndF2(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.standardVisits()
		ctx := context.Background()
		f.visit("oanh-market", "0900000012", "Chợ Bến Lức", 29.9, 50)
		f.visit("phuc-hospital", "0900000013", "Bệnh viện Đa khoa Bến Lức", 10, 60)
		f.visit("oanh-hospital", "0900000012", "Bệnh viện Đa khoa Bến Lức", 10, 45)
		root, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(1)})
		if err != nil {
			t.Fatal(err)
		}
		// Oanh, an F1, tests positive: she becomes an F0 linked to the root.
		f.now = f.now.Add(time.Hour)
		oanh, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000012", SampleDate: f.today(0)})
		if err != nil {
			t.Fatal(err)
		}
		if oanh.SourceCaseID == nil || *oanh.SourceCaseID != root.ID {
			t.Fatalf("Oanh's source %v, want %d", oanh.SourceCaseID, root.ID)
		}
		var outcome string
		db.R.QueryRow("SELECT outcome FROM contacts WHERE case_id = $1 AND person_id = $2", root.ID, oanh.PersonID).Scan(&outcome)
		if outcome != "confirmed_f0" {
			t.Errorf("Oanh's contact row outcome %q", outcome)
		}
		// Phúc (her contact at the hospital) is registered F1, then turns F0: history F1 → F0.
		phuc, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000013", Status: F1})
		if err != nil {
			t.Fatal(err)
		}
		if phuc.SourceCaseID == nil || *phuc.SourceCaseID != oanh.ID {
			t.Fatalf("Phúc's source %v, want %d", phuc.SourceCaseID, oanh.ID)
		}
		phuc2, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000013", Status: F0, SampleDate: f.today(0)})
		if err != nil {
			t.Fatal(err)
		}
		if phuc2.ID != phuc.ID || phuc2.Status != F0 {
			t.Fatalf("F1 → F0 made a new record: %+v", phuc2)
		}
		h, err := f.s.History(ctx, provinceTracer, phuc.ID)
		if err != nil || len(h) != 2 || h[0].To != F1 || h[1].From != F1 || h[1].To != F0 {
			t.Fatalf("history %+v %v", h, err)
		}
		if _, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000013", Status: F0, SampleDate: f.today(0)}); errs.FieldsOf(err)["person"] == "" {
			t.Errorf("a second F0 for the same person: %v", err)
		}
		// Registered F1 with a sample, then positive through a status change: traced at once.
		quy, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000014", Status: F1, SampleDate: f.today(0)})
		if err != nil {
			t.Fatal(err)
		}
		f.visit("quy-market", "0900000014", "Chợ Bến Lức", 20, 60)
		f.visit("hoa-market", "0900000015", "Chợ Bến Lức", 19.9, 60)
		if c, err := f.s.SetStatus(ctx, provinceTracer, quy.ID, F0, "PCR dương tính"); err != nil || c.Status != F0 {
			t.Fatalf("F1 → F0: %+v %v", c, err)
		}
		if n := f.count("SELECT count(*) FROM contacts WHERE case_id = $1 AND person_id = $2", quy.ID, f.people["0900000015"]); n != 1 {
			t.Errorf("F1 → F0 by status change was not traced")
		}
		if _, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000014", Status: F1}); errs.FieldsOf(err)["person"] == "" {
			t.Errorf("an F0 registered again as F1: %v", err)
		}
		if c, err := f.s.SetStatus(ctx, provinceTracer, phuc.ID, Recovered, "Âm tính 2 lần"); err != nil || c.Status != Recovered {
			t.Fatalf("recovered: %+v %v", c, err)
		}
		ch, err := f.s.Chain(ctx, provinceTracer, phuc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Root != root.ID || len(ch.Nodes) != 3 || ch.Nodes[2].CaseID != phuc.ID || ch.Nodes[2].Depth != 2 || ch.Nodes[1].SourceID != root.ID {
			t.Fatalf("chain %+v", ch)
		}
		// F2 from the root: Bình's school contact Em is found, with progress to the end.
		job, err := f.s.StartF2(ctx, provinceTracer, root.ID, tracing.DefaultBounds())
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			j, err := f.s.Job(ctx, provinceTracer, root.ID)
			return err == nil && j.ID == job.ID && (j.Status == tracing.JobDone || j.Status == tracing.JobFailed)
		})
		j, _ := f.s.Job(ctx, provinceTracer, root.ID)
		if j.Status != tracing.JobDone || j.Done != j.Total || j.Total == 0 || j.Found < 1 {
			t.Fatalf("job %+v", j)
		}
		var via int64
		var level string
		if err := db.R.QueryRow("SELECT level, via_person_id FROM contacts WHERE case_id = $1 AND person_id = $2", root.ID, f.people["0900000005"]).Scan(&level, &via); err != nil || level != F2 || via != f.people["0900000002"] {
			t.Fatalf("Em: level %q via %d err %v", level, via, err)
		}
		if _, err := f.s.StartF2(ctx, provinceTracer, root.ID, tracing.Bounds{}); errs.FieldsOf(err)["max_seeds"] == "" {
			t.Errorf("zero bounds accepted: %v", err)
		}
	})
}

func TestWorklistCallsAndExports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.standardVisits()
		ctx := context.Background()
		c, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(1)})
		if err != nil {
			t.Fatal(err)
		}
		// The commune officer of 27991 sees Bình only (Cường lives in 27994).
		items, err := f.s.Worklist(ctx, communeOfficer, WorkFilter{}, "Gọi điện F1")
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].Name != "Trần Thị Bình" || items[0].Phone != "0900000002" || items[0].Overdue {
			t.Fatalf("worklist %+v", items)
		}
		if _, err := f.s.Worklist(ctx, communeOfficer, WorkFilter{Commune: "27994"}, ""); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("another commune's worklist: %v", err)
		}
		// Overdue after a day without a call.
		f.now = f.now.Add(25 * time.Hour)
		items, _ = f.s.Worklist(ctx, provinceTracer, WorkFilter{State: "overdue"}, "")
		if len(items) != 2 || !items[0].Overdue {
			t.Fatalf("overdue %+v", items)
		}
		binh := items[0].ContactID
		if items[0].PersonID != f.people["0900000002"] {
			binh = items[1].ContactID
		}
		if _, err := f.s.RecordCall(ctx, communeOfficer, binh, "maybe", ""); errs.FieldsOf(err)["outcome"] == "" {
			t.Errorf("bad outcome accepted: %v", err)
		}
		it, err := f.s.RecordCall(ctx, communeOfficer, binh, OutcomeHome, "Cách ly tại nhà, đã dán thông báo")
		if err != nil {
			t.Fatal(err)
		}
		if it.Outcome != OutcomeHome || it.Calls != 1 || it.Overdue || it.Closed {
			t.Fatalf("after the call %+v", it)
		}
		cuong := f.count("SELECT id FROM contacts WHERE person_id = $1", f.people["0900000003"])
		if _, err := f.s.RecordCall(ctx, communeOfficer, int64(cuong), OutcomeReached, ""); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("call outside jurisdiction: %v", err)
		}
		if it, err := f.s.RecordCall(ctx, provinceTracer, int64(cuong), OutcomeFacility, ""); err != nil || !it.Closed {
			t.Fatalf("facility closes: %+v %v", it, err)
		}
		_, calls, err := f.s.WorkItem(ctx, provinceTracer, binh)
		if err != nil || len(calls) != 1 || calls[0].Username != "canboxa" {
			t.Fatalf("calls %+v %v", calls, err)
		}
		// Exports: the purpose is required and recorded.
		var buf bytes.Buffer
		if _, err := f.s.ExportContacts(ctx, provinceTracer, c.ID, FormatXLSX, "", &buf); errs.FieldsOf(err)["purpose"] == "" {
			t.Fatalf("export without purpose: %v", err)
		}
		name, err := f.s.ExportContacts(ctx, provinceTracer, c.ID, FormatXLSX, "Gửi Trạm Y tế xã Thạnh Lợi", &buf)
		if err != nil {
			t.Fatal(err)
		}
		if name != fmt.Sprintf("tiep-xuc-ca-%d.xlsx", c.ID) {
			t.Errorf("file name %s", name)
		}
		text := xlsxText(t, &buf)
		for _, want := range []string{"Trần Thị Bình", "0900000002", "Lê Văn Cường", "Cách ly tại nhà", "Chợ Bến Lức", "Gửi Trạm Y tế xã Thạnh Lợi", "Họ và tên"} {
			if !strings.Contains(text, want) {
				t.Errorf("XLSX lacks %q: %s", want, text)
			}
		}
		if n := f.count("SELECT count(*) FROM audit_log WHERE action = 'export' AND purpose = 'Gửi Trạm Y tế xã Thạnh Lợi'"); n != 1 {
			t.Errorf("export audit rows %d", n)
		}
		// CSV for other systems: UTF-8 with a byte order mark, the header
		// row first, one row per contact, through the formula-safe writer.
		buf.Reset()
		name, err = f.s.ExportContacts(ctx, provinceTracer, c.ID, FormatCSV, "Gửi Công an tỉnh", &buf)
		if err != nil || name != fmt.Sprintf("tiep-xuc-ca-%d.csv", c.ID) {
			t.Fatalf("csv export %s: %v", name, err)
		}
		body, ok := bytes.CutPrefix(buf.Bytes(), []byte("\ufeff"))
		if !ok {
			t.Fatal("CSV without a UTF-8 byte order mark")
		}
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(rows) < 3 || !slices.Equal(rows[0], exportHeader) {
			t.Fatalf("CSV rows %q: %v", rows, err)
		}
		if !strings.Contains(string(body), "Trần Thị Bình") || !strings.Contains(string(body), "0900000002") {
			t.Errorf("CSV lacks a contact:\n%s", body)
		}
		buf.Reset()
		if _, err := f.s.ExportWorklist(ctx, communeOfficer, WorkFilter{State: "all"}, FormatCSV, "Danh sách gửi trạm y tế", &buf); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("\ufeff")) {
			t.Fatalf("worklist CSV: %v", err)
		}
		if strings.Contains(buf.String(), "Lê Văn Cường") {
			t.Error("the commune's CSV lists a contact of another commune")
		}
		buf.Reset()
		if _, err := f.s.ExportWorklist(ctx, communeOfficer, WorkFilter{State: "all"}, FormatPDF, "Danh sách đi xác minh tại nhà", &buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF")) {
			t.Fatal("not a PDF")
		}
		if pdftotext, err := exec.LookPath("pdftotext"); err == nil {
			path := filepath.Join(t.TempDir(), "w.pdf")
			os.WriteFile(path, buf.Bytes(), 0o600)
			out, err := exec.Command(pdftotext, "-layout", path, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Trần Thị Bình", "Cách ly tại nhà", "THEO DÕI F1/F2", "Danh sách đi xác minh tại nhà"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("PDF text lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "Lê Văn Cường") {
				t.Error("the commune's PDF lists a contact of another commune")
			}
		}
		// Every cell whole: the text read back in drawing order, spaces
		// aside (a wrapped cell breaks its lines at them), holds each
		// header and each row's cells, the call deadline with its date.
		items, err = f.s.exportItems(ctx, communeOfficer, WorkFilter{State: "all"}, "test")
		if err != nil || len(items) == 0 {
			t.Fatal(items, err)
		}
		path := filepath.Join(t.TempDir(), "w.pdf")
		os.WriteFile(path, buf.Bytes(), 0o600)
		out, err := exec.Command(testenv.Command(t, "pdftotext"), "-raw", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
		pdfText := squash(string(out))
		if strings.Contains(pdfText, "…") {
			t.Errorf("a cell was cut:\n%s", out)
		}
		for _, h := range append(exportHeader[:11:11], msg.T("vi", "cases.call_due")) {
			if !strings.Contains(pdfText, squash(h)) {
				t.Errorf("PDF header lacks %q:\n%s", h, out)
			}
		}
		for i, it := range items {
			for _, c := range exportRow(i, it)[:12] {
				if !strings.Contains(pdfText, squash(c)) {
					t.Errorf("PDF lacks the cell %q:\n%s", c, out)
				}
			}
		}
	})
}

func TestImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		d := f.now.In(hcm).AddDate(0, 0, -1).Format("02/01/2006")
		csv := "\ufeffHọ và tên;Số điện thoại;CCCD;Năm sinh;Mã xã;Ngày lấy mẫu;Ngày khởi phát\n" +
			"Trần Thị Bình;0900000002;;1990;27991;" + d + ";\n" + // existing person
			"Người Mới Một;0911111111;;1970;27991;" + d + ";\n" + // new
			"Người Mới Hai;0911111111;;1971;27991;" + d + ";\n" + // duplicate phone in the file
			"Dương Văn Nam;0922222222;;1983;27991;" + d + ";\n" + // same name and year as a known person: decide
			"nguyen thi hoa;0933333333;;1983;27991;" + d + ";\n" + // same name without diacritics: decide
			"X;abc;;3000;99999;32/13/2021;\n" + // invalid
			"Võ Thị Giang;0900000006;;1988;00004;" + d + ";\n" // outside jurisdiction
		imp, err := f.s.PreviewImport(ctx, provinceTracer, "xet-nghiem.csv", []byte(csv))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{RowExisting, RowNew, RowDuplicate, RowPossible, RowPossible, RowInvalid, RowInvalid}
		for i, r := range imp.Rows {
			if r.Status != want[i] {
				t.Errorf("line %d: %s, want %s (%v)", r.Line, r.Status, want[i], r.Errors)
			}
		}
		if r := imp.Rows[5]; len(r.Errors) < 4 {
			t.Errorf("invalid row errors %v", r.Errors)
		}
		if len(imp.Rows[3].Candidates) != 1 || imp.Rows[3].Candidates[0].PersonID != f.people["0900000011"] || imp.Rows[3].Candidates[0].Phone != "*******011" {
			t.Errorf("candidates %+v", imp.Rows[3].Candidates)
		}
		if n := f.count("SELECT count(*) FROM cases"); n != 0 {
			t.Fatalf("preview wrote %d cases", n)
		}
		got, err := f.s.CommitImport(ctx, provinceTracer, imp.ID, map[int]string{5: fmt.Sprintf("same:%d", f.people["0900000011"]), 6: DecideNew})
		if err != nil {
			t.Fatal(err)
		}
		if got.Counts["created"] != 4 {
			t.Fatalf("counts %v rows %+v", got.Counts, got.Rows)
		}
		if n := f.count("SELECT count(*) FROM cases WHERE status = 'F0'"); n != 4 {
			t.Errorf("%d F0 cases", n)
		}
		if got.Rows[3].PersonID != f.people["0900000011"] {
			t.Errorf("decided row linked to %d", got.Rows[3].PersonID)
		}
		if got.Rows[4].PersonID == f.people["0900000015"] {
			t.Error("'new' decision linked the existing person")
		}
		if _, err := f.s.CommitImport(ctx, provinceTracer, imp.ID, nil); errs.FieldsOf(err)["import"] == "" {
			t.Errorf("second commit: %v", err)
		}
		// XLSX works the same way; another user cannot read the upload.
		x := excelize.NewFile()
		x.SetSheetRow("Sheet1", "A1", &[]any{"Họ tên", "SĐT", "Năm sinh", "Mã xã", "Ngày lấy mẫu"})
		x.SetSheetRow("Sheet1", "A2", &[]any{"Phan Thị Quế", "0900000014", 1985, "27991", f.today(1)})
		var buf bytes.Buffer
		x.Write(&buf)
		imp2, err := f.s.PreviewImport(ctx, provinceTracer, "lab.xlsx", buf.Bytes())
		if err != nil || len(imp2.Rows) != 1 || imp2.Rows[0].Status != RowExisting {
			t.Fatalf("xlsx import %+v %v", imp2, err)
		}
		if _, err := f.s.GetImport(ctx, communeTracer, imp2.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("another user's import: %v", err)
		}
		if _, err := f.s.PreviewImport(ctx, provinceTracer, "x.csv", []byte("a,b\n1,2\n")); errs.FieldsOf(err)["file"] == "" {
			t.Errorf("missing columns: %v", err)
		}
	})
}

func TestExposuresArePublicWithoutPersonalData(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	f.standardVisits()
	ctx := context.Background()
	c, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(1)})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := f.s.Exposures(ctx, provinceTracer, c.ID)
	if err != nil || len(mine) != 2 || mine[0].Name != "Bệnh viện Đa khoa Bến Lức" || mine[1].To.Sub(mine[1].From) != time.Hour {
		t.Fatalf("exposures %+v %v", mine, err)
	}
	pub, err := f.s.PublicExposures(ctx, "80", f.now.Add(-14*24*time.Hour))
	if err != nil || len(pub) != 2 {
		t.Fatalf("public %+v %v", pub, err)
	}
	n, err := f.s.NotifyVenueVisitors(ctx, provinceTracer, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Everyone whose stay overlapped: Bình, Dung (market), Cường (hospital).
	if n != 3 {
		t.Errorf("venue visitors messaged: %d, want 3", n)
	}
	if n, _ := f.s.NotifyVenueVisitors(ctx, provinceTracer, c.ID); n != 0 {
		t.Errorf("second run queued %d", n)
	}
}

// TestExposureEndsByNow: an F0 confirmed while still inside a venue without
// a check-out exposed it until now, not until the default stay would end.
func TestExposureEndsByNow(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	f.visit("open-1", "0900000001", "Chợ Bến Lức", 0.25, -1) // 15 minutes ago, market default stay longer
	ctx := context.Background()
	c, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(0)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := f.s.Exposures(ctx, provinceTracer, c.ID)
	if err != nil || len(ex) != 1 || ex[0].To.After(f.now) || !ex[0].To.After(ex[0].From) {
		t.Fatalf("exposures %+v %v (now %v)", ex, err, f.now)
	}
}

// TestRuleSettings: an administrator's rules apply to the next trace and
// survive a restart (a new service reads them back); a tracer cannot set them.
func TestRuleSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.standardVisits()
		ctx := context.Background()
		admin := &auth.Principal{UserID: 9, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
		rs, err := f.s.Settings(ctx, provinceTracer)
		if err != nil || rs.MinOverlapMinutes != 15 || rs.DefaultStayMinutes["market"] != 45 || rs.WithinHour {
			t.Fatalf("defaults %+v %v", rs, err)
		}
		if _, err := f.s.SetSettings(ctx, provinceTracer, rs); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("a tracer set the rules: %v", err)
		}
		bad := rs
		bad.MinOverlapMinutes = -5
		bad.DefaultStayMinutes = map[string]int{"zoo": 10}
		if _, err := f.s.SetSettings(ctx, admin, bad); errs.FieldsOf(err)["min_overlap_minutes"] == "" || errs.FieldsOf(err)["default_stay_minutes.zoo"] == "" {
			t.Errorf("bad rules: %v", err)
		}
		rs.MinOverlapMinutes = 0
		rs.DefaultStayMinutes = map[string]int{"market": 90}
		got, err := f.s.SetSettings(ctx, admin, rs)
		if err != nil || got.MinOverlapMinutes != 0 || got.DefaultStayMinutes["market"] != 90 || got.UpdatedBy != "admin" {
			t.Fatalf("set %+v %v", got, err)
		}
		c, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", SampleDate: f.today(1)})
		if err != nil {
			t.Fatal(err)
		}
		// With no threshold, Dung's 5 minutes at the market count.
		if n := f.count("SELECT count(*) FROM contacts WHERE case_id = $1 AND person_id = $2", c.ID, f.people["0900000004"]); n != 1 {
			t.Errorf("Dung is not a contact under the new rules")
		}
		again := NewService(db, f.s.People, nil, nil)
		if rs, err := again.Settings(ctx, provinceTracer); err != nil || rs.MinOverlapMinutes != 0 || rs.DefaultStayMinutes["market"] != 90 {
			t.Errorf("after a restart %+v %v", rs, err)
		}
	})
}

// xlsxText is the text of an export's sheet, row by row.
func xlsxText(t *testing.T, r io.Reader) string {
	t.Helper()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(mustRows(t, data))
}

// TestXLSXExportQuotesFormulas writes a list whose every text field a
// person typed (name, phone, venue, the purpose) starts like a formula.
func TestXLSXExportQuotesFormulas(t *testing.T) {
	items := []WorkItem{
		{Name: `=HYPERLINK("http://evil.example","Bấm vào")`, Phone: "+84900000001", Level: "F1", VenueName: "-1+2", Source: "qr", CommuneCode: "27991"},
		{Name: "@SUM(A1:A9)", Phone: "\t=1+1", Level: "F1", VenueName: "\r=cmd|' /C calc'!A0", Source: "qr", CommuneCode: "27991"},
	}
	var b bytes.Buffer
	if err := writeXLSX(&b, "=title", "+meta", items); err != nil {
		t.Fatal(err)
	}
	if n := sheettest.NoFormulas(t, b.Bytes()); n < 20 {
		t.Fatalf("read only %d cells", n)
	}
	if !strings.Contains(b.String(), "PK") || !strings.Contains(fmt.Sprint(mustRows(t, b.Bytes())), `'=HYPERLINK`) {
		t.Error("the name is not kept behind a quote")
	}
}

// TestCSVExportQuotesFormulas: the CSV of contacts goes through the same
// formula-safe writer as every CSV the system makes.
func TestCSVExportQuotesFormulas(t *testing.T) {
	items := []WorkItem{
		{Name: `=HYPERLINK("http://evil.example","Bấm vào")`, Phone: "+84900000001", Level: "F1", VenueName: "-1+2", Source: "qr", CommuneCode: "27991"},
		{Name: "@SUM(A1:A9)", Phone: "\t=1+1", Level: "F1", VenueName: "\r=cmd|' /C calc'!A0", Source: "qr", CommuneCode: "27991"},
	}
	var b bytes.Buffer
	if err := writeCSV(&b, items); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b.Bytes(), []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("rows %q: %v", rows, err)
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q would be read as a formula", cell)
			}
		}
	}
}

func mustRows(t *testing.T, data []byte) [][]string {
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, _ := x.GetRows(x.GetSheetList()[0])
	return rows
}

// TestSuspectedCase: the commune health station registers a suspected case
// and its F1s are on the worklist at once, but nobody is messaged until
// district or province health confirms it; the commune cannot confirm.
func TestSuspectedCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.standardVisits()
		ctx := context.Background()
		district := &auth.Principal{UserID: 4, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"}
		c, err := f.s.Create(ctx, communeOfficer, NewCase{Phone: "0900000001", SampleDate: f.today(1)})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Suspected || c.ConfirmedBy != 0 {
			t.Fatalf("commune's case: %+v", c)
		}
		if n := f.count("SELECT count(*) FROM contacts WHERE case_id = $1 AND level = 'F1'", c.ID); n == 0 {
			t.Fatal("a suspected case is not traced")
		}
		items, err := f.s.Worklist(ctx, communeOfficer, WorkFilter{}, "")
		if err != nil || len(items) == 0 {
			t.Fatalf("the commune's worklist: %d %v", len(items), err)
		}
		if err := f.s.NotifyPending(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if n := f.count("SELECT count(*) FROM outbox"); n != 0 {
			t.Fatalf("%d messages for a suspected case", n)
		}
		// Not published, not counted, its places' visitors not messaged.
		published := func() int {
			t.Helper()
			ex, err := f.s.PublicExposures(ctx, "80", time.Now().Add(-30*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return len(ex)
		}
		confirmedToday := func() int64 {
			t.Helper()
			var n int64
			if err := CountConfirmed(ctx, db, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), func(_ string, k int64) { n += k }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if published() != 0 || confirmedToday() != 0 {
			t.Fatalf("a suspected case is on the public map (%d places) or counted (%d)", published(), confirmedToday())
		}
		if _, err := f.s.NotifyVenueVisitors(ctx, provinceTracer, c.ID); errs.FieldsOf(err)["status"] == "" {
			t.Fatalf("visitors of a suspected case's places messaged: %v", err)
		}
		for _, p := range []*auth.Principal{communeOfficer, communeTracer} {
			if _, err := f.s.Confirm(ctx, p, c.ID); !errors.Is(err, errs.ErrForbidden) {
				t.Fatalf("%s confirmed: %v", p.Username, err)
			}
		}
		for range 2 { // a repeat changes nothing
			if c, err = f.s.Confirm(ctx, district, c.ID); err != nil || c.Suspected || c.ConfirmedByName != "benluc" {
				t.Fatalf("district's confirmation: %+v %v", c, err)
			}
		}
		waitFor(t, func() bool { return f.count("SELECT count(*) FROM outbox") > 0 })
		if published() == 0 || confirmedToday() != 1 {
			t.Fatalf("after confirmation: %d places published, %d counted (want 1)", published(), confirmedToday())
		}
		if n := f.count("SELECT count(*) FROM case_history WHERE case_id = $1 AND from_status = 'suspected' AND to_status = 'F0'", c.ID); n != 1 {
			t.Fatalf("%d confirmations in the history", n)
		}
		// A case the district registers itself is confirmed from the start.
		c2, err := f.s.Create(ctx, district, NewCase{Phone: "0900000006", SampleDate: f.today(1)})
		if err != nil || c2.Suspected || c2.ConfirmedByName != "benluc" {
			t.Fatalf("district's own case: %+v %v", c2, err)
		}
	})
}
