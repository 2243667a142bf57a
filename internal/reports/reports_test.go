package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/notify"
	"anticovid/internal/notify/smtpsink"
	"anticovid/internal/sheet/sheettest"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/vault"
)

func TestDeadline(t *testing.T) {
	for _, c := range []struct{ week, deadline string }{
		{"2021-W30", "2021-07-30T13:00:00+07:00"},
		{"2021-W01", "2021-01-08T13:00:00+07:00"},
		{"2020-W53", "2021-01-01T13:00:00+07:00"}, // 2020 has 53 weeks; its last Friday is in 2021
		{"2021-W52", "2021-12-31T13:00:00+07:00"},
		{"2022-W01", "2022-01-07T13:00:00+07:00"},
		{"2026-W01", "2026-01-02T13:00:00+07:00"}, // week 1 of 2026 starts on 29 December 2025
		{"2015-W53", "2016-01-01T13:00:00+07:00"},
		{"2019-W01", "2019-01-04T13:00:00+07:00"}, // starts on 31 December 2018
	} {
		w, err := ParseWeek(c.week)
		if err != nil {
			t.Errorf("%s: %v", c.week, err)
			continue
		}
		if got := w.Deadline().Format(time.RFC3339); got != c.deadline {
			t.Errorf("%s: deadline %s, want %s", c.week, got, c.deadline)
		}
		if w.String() != c.week || WeekOf(w.Deadline()) != w {
			t.Errorf("%s: round trip %s / %s", c.week, w, WeekOf(w.Deadline()))
		}
		from, to := w.Period()
		if to.Sub(from) != 7*24*time.Hour || !to.Equal(w.Deadline()) || !from.Equal(w.Prev().Deadline()) {
			t.Errorf("%s: period %s – %s", c.week, from, to)
		}
	}
	for _, bad := range []string{"2021-W53", "2021-W00", "2021-30", "2021-W3", "21-W30", "2021-W30x", ""} {
		if _, err := ParseWeek(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Weeks are counted in Vietnam: 31 Dec 2020 23:30 UTC is already Friday 1 January 2021 there.
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2020, 12, 31, 23, 30, 0, 0, time.UTC), "2020-W53"},
		{time.Date(2021, 1, 3, 16, 59, 0, 0, time.UTC), "2020-W53"}, // Sunday 23:59 local
		{time.Date(2021, 1, 3, 17, 0, 0, 0, time.UTC), "2021-W01"},  // Monday 00:00 local
		{time.Date(2019, 12, 30, 0, 0, 0, 0, HCM), "2020-W01"},
	} {
		if got := WeekOf(c.at).String(); got != c.want {
			t.Errorf("week of %s: %s, want %s", c.at, got, c.want)
		}
	}
	w, _ := ParseWeek("2021-W30")
	if Current(w.Deadline().Add(-time.Second)) != w || Current(w.Deadline()) != w.Next() || w.Next().String() != "2021-W31" {
		t.Error("current week around the deadline")
	}
	y, _ := ParseWeek("2020-W53")
	if y.Next().String() != "2021-W01" || y.Next().Prev() != y {
		t.Errorf("next of 2020-W53: %s", y.Next())
	}
}

// fakeLive gives every unit figures derived from its code, so sums are checkable.
type fakeLive struct{}

func (fakeLive) Totals(_ context.Context, unit, sector string, _, _ time.Time) (map[string]int64, error) {
	n, _ := strconv.ParseInt(unit[len(unit)-2:], 10, 64)
	n++
	if sector != "" {
		n = 1000
	}
	return map[string]int64{"venues": 10 + n, "venues_scanning": 5 + n, "checkins": 100 * n, "declarations": 10 * n,
		"bluezone_installs": 50 * n, "smartphone_users": 200 * n}, nil
}

var (
	week30, _ = ParseWeek("2021-W30")
	admin     = &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
	ict       = &auth.Principal{UserID: 2, Username: "sotttt", Role: auth.DepartmentOfficer, Unit: "80", Department: "ict"}
	health    = &auth.Principal{UserID: 3, Username: "soyte", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"}
	trade     = &auth.Principal{UserID: 4, Username: "socongthuong", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"}
	benluc    = &auth.Principal{UserID: 5, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"}
	tanan     = &auth.Principal{UserID: 6, Username: "tanan", Role: auth.DistrictOfficer, Unit: "794"}
	communeA  = &auth.Principal{UserID: 7, Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newService(db *sqldb.DB, c *clock) *Service {
	return &Service{DB: db, Province: "80", Live: fakeLive{}, Now: c.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestSubmit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := &clock{t: week30.Deadline().Add(-26 * time.Hour)} // Thursday 11:00
		s := newService(db, c)

		// Prefilled from the live figures; a sector department gets its sector's.
		r, err := s.Get(ctx, trade, week30, "dept:industry_trade")
		if err != nil || r.Submitted || r.State != Pending || r.Figures.VenuesRegistered != 1010 {
			t.Fatalf("trade prefill: %v %+v", err, r)
		}
		r, err = s.Submit(ctx, health, week30, "dept:health", Input{WorkDone: "Đã triển khai mã QR tại 45 bệnh viện.", Difficulties: "Thiếu nhân lực"})
		if err != nil || r.State != OnTime || !r.Submitted || r.Figures.VenuesRegistered != 91 { // province 80: n = 81
			t.Fatalf("health: %v %+v", err, r)
		}

		// A commune's own figures feed its district's report.
		if _, err := s.Submit(ctx, communeA, week30, "commune:27991", Input{WorkDone: "Đi từng nhà hướng dẫn cài Bluezone",
			Figures: &Figures{VenuesRegistered: 40, VenuesScanning: 30, Checkins: 5000, Declarations: 700, BluezoneInstalls: 900, SmartphoneUsers: 2000}}); err != nil {
			t.Fatal(err)
		}
		d, err := s.Get(ctx, benluc, week30, "district:803")
		if err != nil {
			t.Fatal(err)
		}
		var want Figures
		for _, commune := range geo.Children("803") {
			if commune.Code == "27991" {
				want = want.Add(Figures{40, 30, 5000, 700, 900, 2000})
				continue
			}
			m, _ := fakeLive{}.Totals(ctx, commune.Code, "", time.Time{}, time.Time{})
			want = want.Add(Figures{m["venues"], m["venues_scanning"], m["checkins"], m["declarations"], m["bluezone_installs"], m["smartphone_users"]})
		}
		if d.Figures != want || len(d.Parts) != len(geo.Children("803")) {
			t.Errorf("district sum %+v, want %+v (%d parts)", d.Figures, want, len(d.Parts))
		}

		// Bad input, field by field.
		_, err = s.Submit(ctx, trade, week30, "dept:industry_trade", Input{WorkDone: " ", Figures: &Figures{VenuesRegistered: 5, VenuesScanning: 9, Checkins: -1}})
		f := errs.FieldsOf(err)
		if f["work_done"] == "" || f["venues_scanning"] == "" || f["checkins"] == "" {
			t.Errorf("invalid input: %v", err)
		}
		next := week30.Next().Next()
		if _, err := s.Submit(ctx, trade, next, "dept:industry_trade", Input{WorkDone: "Kế hoạch"}); errs.FieldsOf(err)["week"] == "" {
			t.Errorf("a future week: %v", err)
		}

		// Another unit's report: 403, for every kind of unit, and nothing stored.
		for _, c := range []struct {
			p   *auth.Principal
			key string
		}{{health, "dept:ict"}, {benluc, "district:794"}, {tanan, "district:803"}, {communeA, "commune:27994"}, {admin, "district:803"}, {communeA, "district:803"}} {
			if _, err := s.Submit(ctx, c.p, week30, c.key, Input{WorkDone: "không được phép"}); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s submitting %s: %v", c.p.Username, c.key, err)
			}
		}
		if _, err := s.Get(ctx, tanan, week30, "district:803"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("reading another district's report: %v", err)
		}
		if _, err := s.Get(ctx, benluc, week30, "commune:27991"); err != nil {
			t.Errorf("a district reads its commune: %v", err)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM weekly_reports WHERE work_done = 'không được phép'").Scan(&n)
		if n != 0 {
			t.Errorf("%d refused reports stored", n)
		}

		// After the deadline: accepted, marked late; a correction keeps the state.
		c.set(week30.Deadline().Add(2 * time.Hour))
		r, err = s.Submit(ctx, benluc, week30, "district:803", Input{WorkDone: "Hoàn thành 100% xã", Proposals: "Bổ sung kinh phí"})
		if err != nil || r.State != Late || r.Figures != want {
			t.Fatalf("late report: %v %+v", err, r)
		}
		r, err = s.Submit(ctx, health, week30, "dept:health", Input{WorkDone: "Đã triển khai mã QR tại 46 bệnh viện."})
		if err != nil || r.State != OnTime || !strings.Contains(r.WorkDone, "46") {
			t.Errorf("correction after the deadline: %v %+v", err, r)
		}

		// The province's board.
		if _, err := s.Status(ctx, benluc, week30); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("district reads the board: %v", err)
		}
		b, err := s.Status(ctx, ict, week30)
		if err != nil {
			t.Fatal(err)
		}
		units := len(Units("80"))
		if units != 9+15 || b.Counts[OnTime] != 1 || b.Counts[Late] != 1 || b.Counts[Missing] != units-2 || b.Counts[Pending] != 0 {
			t.Errorf("board: %d units, %v", units, b.Counts)
		}
		b, _ = s.Status(ctx, admin, week30.Next())
		if b.Counts[Pending] != units {
			t.Errorf("next week's board: %v", b.Counts)
		}
	})
}

func TestXLSXAndPDF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := &clock{t: week30.Deadline().Add(-time.Hour)}
		s := newService(db, c)
		if _, err := s.Submit(ctx, benluc, week30, "district:803", Input{WorkDone: "Tuyên truyền cài đặt Bluezone tại 15 xã, thị trấn",
			Difficulties: "Nhiều người cao tuổi không có điện thoại thông minh"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Consolidate(ctx, benluc, week30); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("district consolidates: %v", err)
		}
		cons, err := s.Consolidate(ctx, admin, week30)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "r.xlsx")
		var b bytes.Buffer
		if err := cons.XLSX(&b); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, b.Bytes(), 0o600)
		x, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		rows, err := x.GetRows("Tổng hợp")
		if err != nil {
			t.Fatal(err)
		}
		// Header on row 4, 15 districts on rows 5–19, the total on row 20.
		if len(rows) != 20 || rows[3][1] != "Đơn vị" || rows[19][1] != "Tổng cộng" {
			t.Fatalf("sheet has %d rows: %q / %q", len(rows), rows[3], rows[len(rows)-1])
		}
		cols := map[int]string{3: "venues", 4: "venues_scanning", 6: "checkins", 7: "declarations", 8: "bluezone_installs", 9: "smartphone_users"}
		for col, metric := range cols {
			var sum, want int64
			for r := 4; r < 19; r++ {
				v, err := x.GetCellValue("Tổng hợp", cell(col+1, r+1), excelize.Options{RawCellValue: true})
				n, perr := strconv.ParseInt(v, 10, 64)
				if err != nil || perr != nil {
					t.Fatalf("row %d col %d: %q", r+1, col, v)
				}
				sum += n
				// A district's figures are its communes' (here all live).
				var m int64
				for _, commune := range geo.Children(strings.TrimPrefix(cons.Districts[r-4].Unit.Key, "district:")) {
					live, _ := fakeLive{}.Totals(ctx, commune.Code, "", time.Time{}, time.Time{})
					m += live[metric]
				}
				if n != m {
					t.Errorf("%s %s: %d, want %d", cons.Districts[r-4].Unit.Key, metric, n, m)
				}
			}
			tv, _ := x.GetCellValue("Tổng hợp", cell(col+1, 20), excelize.Options{RawCellValue: true})
			total, _ := strconv.ParseInt(tv, 10, 64)
			want = map[string]int64{"venues": cons.Total.VenuesRegistered, "venues_scanning": cons.Total.VenuesScanning, "checkins": cons.Total.Checkins,
				"declarations": cons.Total.Declarations, "bluezone_installs": cons.Total.BluezoneInstalls, "smartphone_users": cons.Total.SmartphoneUsers}[metric]
			if total != sum || total != want || total == 0 {
				t.Errorf("%s: total row %d, rows add up to %d, consolidated %d", metric, total, sum, want)
			}
		}
		if rows[4+9][1] != "Huyện Bến Lức" || rows[4+9][2] != "Đúng hạn" || rows[4+9][5] != "88.4" { // Bến Lức is the 10th district (794…803)
			t.Errorf("Bến Lức state: %q", rows[4+9])
		}
		texts, _ := x.GetRows("Nội dung")
		found := false
		for _, r := range texts {
			if len(r) > 3 && strings.Contains(r[3], "không có điện thoại thông minh") {
				found = true
			}
		}
		if !found {
			t.Error("the district's difficulties are not in the workbook")
		}
		// The PDF reads back in Vietnamese.
		pdftotext := testenv.Command(t, "pdftotext")
		var pb bytes.Buffer
		if err := cons.PDF(&pb); err != nil {
			t.Fatal(err)
		}
		pdfPath := filepath.Join(t.TempDir(), "r.pdf")
		os.WriteFile(pdfPath, pb.Bytes(), 0o600)
		out, err := exec.Command(pdftotext, "-layout", pdfPath, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"BÁO CÁO TỔNG HỢP TUẦN 2021-W30", "Huyện Bến Lức", "Đúng hạn", "Tổng cộng", "Sở Y tế",
			"Nhiều người cao tuổi không có điện thoại thông minh", vn(cons.Total.Checkins)} {
			if !strings.Contains(string(out), want) {
				t.Errorf("PDF lacks %q", want)
			}
		}
		if os.Getenv("ANTICOVID_KEEP_REPORT") != "" {
			os.WriteFile("/tmp/report-2021-W30.pdf", pb.Bytes(), 0o644)
		}
	})
}

func cell(col, row int) string {
	c, _ := excelize.CoordinatesToCellName(col, row)
	return c
}

func TestEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		srv := smtpsink.Start(t, smtpsink.Options{Mode: smtpsink.Plain, User: "sotttt", Password: "mật khẩu"})
		m, err := ParseSMTPURL(fmt.Sprintf("smtp://sotttt:m%%E1%%BA%%ADt%%20kh%%E1%%BA%%A9u@%s?from=baocao@stttt.longan.gov.vn&tls=none", srv.Addr))
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{t: week30.Deadline().Add(-28 * time.Hour)} // Thursday 09:00
		s := newService(db, c)
		s.Mailer, s.ProvinceEmail = m, "ubnd@longan.gov.vn"
		v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
		s.Outbox = &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.Email: m}, Log: s.Log}

		// Reminders the day before, to units that have not reported.
		if err := s.SetEmail(ctx, ict, "district:803", "vanphong@benluc.longan.gov.vn"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetEmail(ctx, admin, "dept:health", "syt@longan.gov.vn"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetEmail(ctx, admin, "dept:police", "not an address"); errs.FieldsOf(err)["email"] == "" {
			t.Errorf("bad address accepted: %v", err)
		}
		if err := s.SetEmail(ctx, benluc, "district:803", "x@y.vn"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("a district sets addresses: %v", err)
		}
		if _, err := s.Submit(ctx, health, week30, "dept:health", Input{WorkDone: "Đã báo cáo"}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // a second run queues nothing new
			n, err := s.SendReminders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n > 1 {
				t.Errorf("%d reminders queued", n)
			}
		}
		if sent, failed, err := s.Outbox.Deliver(ctx); err != nil || sent != 1 || failed != 0 {
			t.Fatalf("deliver: %d sent, %d failed, %v", sent, failed, err)
		}
		got := srv.Received()
		if len(got) != 1 || got[0].To[0] != "vanphong@benluc.longan.gov.vn" || got[0].User != "sotttt" ||
			!strings.Contains(string(got[0].Data), "2021-W30") {
			t.Fatalf("reminder: %+v", got)
		}

		// The consolidated report, both files attached.
		if _, err := s.SendConsolidated(ctx, benluc, week30); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("district sends: %v", err)
		}
		to, err := s.SendConsolidated(ctx, ict, week30)
		if err != nil || to != "ubnd@longan.gov.vn" {
			t.Fatal(to, err)
		}
		got = srv.Received()
		if len(got) != 2 {
			t.Fatalf("%d messages", len(got))
		}
		msg := parseMail(t, got[1].Data)
		if got[1].From != "baocao@stttt.longan.gov.vn" || got[1].To[0] != "ubnd@longan.gov.vn" ||
			msg.subject != "Báo cáo tổng hợp tuần 2021-W30 – Tỉnh Long An" {
			t.Errorf("envelope %s → %v, subject %q", got[1].From, got[1].To, msg.subject)
		}
		xl, ok := msg.files["bao-cao-tuan-2021-W30.xlsx"]
		if !ok || !bytes.HasPrefix(msg.files["bao-cao-tuan-2021-W30.pdf"], []byte("%PDF")) {
			t.Fatalf("attachments: %v", keys(msg.files))
		}
		x, err := excelize.OpenReader(bytes.NewReader(xl))
		if err != nil {
			t.Fatal(err)
		}
		total, _ := x.GetCellValue("Tổng hợp", "G20", excelize.Options{RawCellValue: true})
		cons, _ := s.Consolidate(ctx, admin, week30)
		if total != strconv.FormatInt(cons.Total.Checkins, 10) || !cons.LastSent.After(time.Time{}) {
			t.Errorf("emailed workbook total %s, want %d; last sent %v", total, cons.Total.Checkins, cons.LastSent)
		}
		if !strings.Contains(msg.text, "Đúng hạn: 1") {
			t.Errorf("body: %q", msg.text)
		}

		// No server configured: a clear error, nothing recorded.
		s.Mailer = nil
		if _, err := s.SendConsolidated(ctx, ict, week30); errs.FieldsOf(err)["smtp"] == "" {
			t.Errorf("unconfigured: %v", err)
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	m, err := ParseSMTPURL("smtps://u:p@mail.longan.gov.vn?from=a@b.vn")
	if err != nil || m.Port != 465 || m.TLS != "tls" || m.Username != "u" || m.Password != "p" {
		t.Errorf("%+v %v", m, err)
	}
	m, err = ParseSMTPURL("smtp://mail.longan.gov.vn:2525?from=a@b.vn")
	if err != nil || m.Port != 2525 || m.TLS != "starttls" {
		t.Errorf("%+v %v", m, err)
	}
	for _, bad := range []string{"http://x?from=a@b.vn", "smtp://x", "smtp://x?from=a@b.vn&tls=maybe", "smtp://x:0?from=a@b.vn"} {
		if _, err := ParseSMTPURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestXLSXQuotesFormulas: the texts a unit submits reach the consolidated
// workbook as text, whichever formula character they start with.
func TestXLSXQuotesFormulas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db, &clock{t: week30.Deadline().Add(-time.Hour)})
		if _, err := s.Submit(ctx, benluc, week30, "district:803", Input{WorkDone: `=HYPERLINK("http://evil.example","x")`,
			Difficulties: "+cmd|' /C calc'!A0", Proposals: "@SUM(A1)"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Submit(ctx, health, week30, "dept:health", Input{WorkDone: "-2+3", Difficulties: "\t=1"}); err != nil {
			t.Fatal(err)
		}
		cons, err := s.Consolidate(ctx, admin, week30)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := cons.XLSX(&b); err != nil {
			t.Fatal(err)
		}
		if n := sheettest.NoFormulas(t, b.Bytes()); n < 100 {
			t.Fatalf("read only %d cells", n)
		}
	})
}
