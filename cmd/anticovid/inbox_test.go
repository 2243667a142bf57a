package main

import (
	"context"
	"flag"
	"io"
	"slices"
	"testing"

	"anticovid/internal/auth"
	"anticovid/internal/config"
	"anticovid/internal/inbox"
	"anticovid/internal/venue"
)

// The inbox as wired: every source counts for every role without an error
// other than "not this role's work" (Watch returns any other), and a
// commune officer hears of a venue waiting for approval and of the unit's
// weekly report, while a venue manager hears nothing.
func TestInboxWiredSources(t *testing.T) {
	ctx := context.Background()
	var cfg config.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.Register(fs)
	if err := fs.Parse([]string{"--data", t.TempDir(), "--province", "80", "--dev-messages"}); err != nil {
		t.Fatal(err)
	}
	a, err := open(ctx, &cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	users := map[string]*auth.Principal{}
	for _, u := range []auth.NewUser{
		{Username: "tinh", Role: auth.ProvinceAdmin, Unit: "80"},
		{Username: "soyte", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"},
		{Username: "socongthuong", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"},
		{Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"},
		{Username: "xa.benluc", Role: auth.CommuneOfficer, Unit: "27991"},
		{Username: "truyvet", Role: auth.HealthTracer, Unit: "27991"},
		{Username: "quanly", Role: auth.VenueManager, Unit: "27991"},
	} {
		u.Password = "mật-khẩu-rất-dài-và-khó"
		got, err := a.auth.CreateUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		users[u.Username] = &got.Principal
	}
	if err := a.inbox.Watch(ctx); err != nil {
		t.Fatalf("watch: %v", err)
	}
	if _, err := a.venues.Create(ctx, users["quanly"], venue.Venue{Name: "Quán cơm Bà Tư", Category: "restaurant", CommuneCode: "27991",
		Address: "5 Nguyễn Hữu Thọ", ContactName: "Bà Tư", ContactPhone: "0912345670"}); err != nil {
		t.Fatal(err)
	}
	if err := a.inbox.Watch(ctx); err != nil {
		t.Fatalf("watch: %v", err)
	}
	ns, _, err := a.inbox.List(ctx, users["xa.benluc"], 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, n := range ns {
		kinds = append(kinds, n.Kind)
	}
	if !slices.Contains(kinds, inbox.KindVenues) || !slices.Contains(kinds, inbox.KindReportDue) && !slices.Contains(kinds, inbox.KindReportLate) {
		t.Fatalf("commune officer's notices: %v", kinds)
	}
	if _, err := a.inbox.Unread(ctx, users["quanly"]); err == nil {
		t.Fatal("a venue manager has an inbox")
	}
}
