package dashboard

import (
	"context"
	"testing"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestBluezoneTargetFromAdoption: the dashboard measures Bluezone against
// the targets the province edits (adoption_targets), the one in force on
// the day, not a number of its own.
func TestBluezoneTargetFromAdoption(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db)
		clock := now // 10 August 2021
		s.Now = func() time.Time { return clock }
		admin := &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
		benluc := &auth.Principal{UserID: 2, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"}
		target := func(p *auth.Principal) float64 {
			t.Helper()
			s.Invalidate()
			f, err := s.Figures(ctx, p, "")
			if err != nil {
				t.Fatal(err)
			}
			return f.BluezoneTarget
		}
		// The migration's targets: 40% by 31 July, 60% by 31 December.
		if got := target(admin); got != 60 {
			t.Errorf("10 Aug with the directive's targets: %v, want 60", got)
		}
		clock = time.Date(2021, 7, 31, 23, 0, 0, 0, HCM)
		if got := target(benluc); got != 40 {
			t.Errorf("31 Jul 23:00 local: %v, want 40", got)
		}
		// The province raises its own goals: the dashboard follows.
		ad := adoption.NewService(db, nil)
		if err := ad.SetTargets(ctx, admin, []adoption.Target{{Due: "2021-08-15", Percent: 50}, {Due: "2021-09-30", Percent: 65}, {Due: "2021-12-31", Percent: 80}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			at   time.Time
			want float64
		}{
			{time.Date(2021, 8, 10, 9, 0, 0, 0, HCM), 50},
			{time.Date(2021, 8, 15, 23, 59, 0, 0, HCM), 50},
			{time.Date(2021, 8, 16, 0, 1, 0, 0, HCM), 65},
			{time.Date(2021, 12, 31, 12, 0, 0, 0, HCM), 80},
			{time.Date(2022, 3, 1, 12, 0, 0, 0, HCM), 80}, // past the last: the last stays
		} {
			clock = c.at
			for _, p := range []*auth.Principal{admin, benluc} {
				if got := target(p); got != c.want {
					t.Errorf("%s for %s: %v, want %v", c.at.Format(time.DateTime), p.Username, got, c.want)
				}
			}
		}
		// Without a target source nothing is made up.
		s.Targets = nil
		if got := target(admin); got != 0 {
			t.Errorf("no target source: %v", got)
		}
	})
}
