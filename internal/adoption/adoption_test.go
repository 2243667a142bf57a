package adoption

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// fakePhones counts phones per commune from a fixed table.
type fakePhones map[string][2]int64

func (f fakePhones) PhonesByCommune(_ context.Context, unit string, _ time.Time) (map[string][2]int64, error) {
	out := map[string][2]int64{}
	for c, n := range f {
		if geo.Contains(unit, c) {
			out[c] = n
		}
	}
	return out, nil
}

var (
	admin   = &auth.Principal{UserID: 1, Role: auth.ProvinceAdmin, Unit: "80"}
	benLuc  = &auth.Principal{UserID: 2, Role: auth.DistrictOfficer, Unit: "803"}
	manager = &auth.Principal{UserID: 3, Role: auth.VenueManager, Unit: "27991"}
)

func TestImportAndReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// Bến Lức (803): 27991 at 50%, 27994 at 10%; Tân An (794): 27685 at 45%.
		s := NewService(db, fakePhones{"27991": {500, 400}, "27994": {100, 90}, "27685": {450, 300}})
		csv := "\ufeffMã xã;Tên xã;Số người dùng điện thoại thông minh\n27991;Bến Lức;1.000\n27994;Thạnh Lợi;1000\n"
		res, err := s.Import(ctx, benLuc, strings.NewReader(csv), "ben-luc.csv")
		if err != nil || res.Updated != 2 {
			t.Fatalf("csv import: %+v %v", res, err)
		}
		// XLSX, with the code as a number (spreadsheets drop leading zeros).
		x := excelize.NewFile()
		x.SetSheetRow("Sheet1", "A1", &[]any{"commune_code", "smartphone_users"})
		x.SetSheetRow("Sheet1", "A2", &[]any{27685, 1000})
		var buf bytes.Buffer
		x.Write(&buf)
		if res, err := s.Import(ctx, admin, &buf, "tan-an.xlsx"); err != nil || res.Updated != 1 {
			t.Fatalf("xlsx import: %+v %v", res, err)
		}
		// Bad files: every problem named, nothing stored.
		for name, c := range map[string]struct {
			who  *auth.Principal
			body string
			want string
		}{
			"unknown commune": {admin, "commune_code,smartphone_users\n27991,5\n99999,10\n", "row 3"},
			"outside":         {benLuc, "commune_code,smartphone_users\n27685,5\n", "outside your jurisdiction"},
			"duplicate":       {admin, "commune_code,smartphone_users\n27991,5\n27991,6\n", "repeats row 2"},
			"negative":        {admin, "commune_code,smartphone_users\n27991,-5\n", "not a number"},
			"no columns":      {admin, "a,b\n1,2\n", "commune_code column"},
		} {
			_, err := s.Import(ctx, c.who, strings.NewReader(c.body), "x.csv")
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", name, err, c.want)
			}
		}
		if _, err := s.Import(ctx, manager, strings.NewReader("commune_code,smartphone_users\n27991,5\n"), "x.csv"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("venue manager import: %v", err)
		}
		figs, _ := s.Figures(ctx, "27991", time.Now())
		if figs["27991"].Smartphones != 1000 {
			t.Fatalf("a refused import changed 27991: %+v", figs["27991"])
		}

		// On 2021-07-15 the target in force is 40% by 31/07.
		at := time.Date(2021, 7, 15, 12, 0, 0, 0, hcm)
		rep, err := s.Report(ctx, admin, "80", at)
		if err != nil {
			t.Fatal(err)
		}
		u := rep.Unit
		if u.Smartphones != 3000 || u.Registered != 1050 || u.Active != 790 || u.Current.Due != "2021-07-31" || u.Current.Percent != 40 || u.Current.Needed != 150 {
			t.Fatalf("province figures %+v", u)
		}
		if len(rep.Children) != 15 || rep.Children[0].Code != "803" || rep.Children[1].Code != "794" || rep.Children[2].Known() {
			t.Fatalf("districts order: %s %s %v", rep.Children[0].Code, rep.Children[1].Code, rep.Children[2].Known())
		}
		// Bến Lức: 600 of 2000 = 30%, 200 short of 40%; its communes, furthest behind first.
		if d := rep.Children[0]; d.Percent != 30 || d.Current.Needed != 200 {
			t.Errorf("Bến Lức %+v", d)
		}
		rep, _ = s.Report(ctx, benLuc, "803", at)
		if rep.Children[0].Code != "27994" || rep.Children[1].Code != "27991" || !rep.Children[1].Current.Met {
			t.Errorf("communes of Bến Lức: %+v", rep.Children[:2])
		}
		// After 31/07 the 60% target of 31/12 is in force.
		rep, _ = s.Report(ctx, admin, "80", time.Date(2021, 8, 2, 9, 0, 0, 0, hcm))
		if rep.Unit.Current.Due != "2021-12-31" || rep.Unit.Current.Needed != 750 || len(rep.Unit.Targets) != 2 || rep.Unit.Targets[0].Met {
			t.Errorf("after July: %+v", rep.Unit)
		}
		if _, err := s.Report(ctx, benLuc, "794", at); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("district officer reading another district: %v", err)
		}
		// Targets are configurable by the province only, and checked.
		if err := s.SetTargets(ctx, benLuc, []Target{{"2021-09-30", 50}}); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("district sets targets: %v", err)
		}
		if err := s.SetTargets(ctx, admin, []Target{{"2021-09-30", 50}, {"2021-12-31", 40}}); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("falling targets: %v", err)
		}
		if err := s.SetTargets(ctx, admin, []Target{{"2021-09-30", 50}, {"2021-12-31", 70}}); err != nil {
			t.Fatal(err)
		}
		rep, _ = s.Report(ctx, admin, "80", at)
		if rep.Unit.Current.Percent != 50 || rep.Unit.Current.Needed != 450 {
			t.Errorf("new targets: %+v", rep.Unit.Current)
		}
		if err := s.SetUsers(ctx, benLuc, "27994", 200); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUsers(ctx, benLuc, "27685", 200); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("edit outside: %v", err)
		}
	})
}
