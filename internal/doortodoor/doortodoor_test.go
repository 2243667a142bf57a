package doortodoor

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
	"anticovid/internal/vault"
)

// Bến Lức district (803): communes 27991 and 27994.
var (
	officer  = &auth.Principal{UserID: 1, Username: "xa1", Role: auth.CommuneOfficer, Unit: "27991"}
	other    = &auth.Principal{UserID: 2, Username: "xa2", Role: auth.CommuneOfficer, Unit: "27994"}
	district = &auth.Principal{UserID: 3, Username: "huyen", Role: auth.DistrictOfficer, Unit: "803"}
	manager  = &auth.Principal{UserID: 4, Username: "qly", Role: auth.VenueManager, Unit: "27991"}
)

func newService(t *testing.T, db *sqldb.DB, now *time.Time) *Service {
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &Service{DB: db, Vault: v, Now: func() time.Time { return *now }}
}

func TestDriveEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2021, 8, 10, 2, 0, 0, 0, time.UTC)
		s := newService(t, db, &now)

		lat, lng := 10.63, 106.48
		if _, err := s.AddHamlet(ctx, officer, "27991", " Ấp 1 ", &lat, &lng); err != nil {
			t.Fatal(err)
		}
		csv := "hamlet,address,residents\nẤp 1,Số 1 ngõ 2,4\nẤp 1,Số 3 ngõ 2,\nẤp 2,Số 5,2\nẤp 1,Số 1 ngõ 2,4\n"
		n, err := s.Import(ctx, officer, "27991", strings.NewReader(csv))
		if err != nil || n != 3 {
			t.Fatalf("import: %d %v", n, err)
		}
		// Refusals: another commune's officer, a manager, a bad row, too many rows.
		if _, err := s.Import(ctx, other, "27991", strings.NewReader(csv)); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other commune import: %v", err)
		}
		if _, err := s.AddHouseholds(ctx, manager, "27991", []NewHousehold{{Hamlet: "A", Address: "B"}}); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("manager: %v", err)
		}
		if _, err := s.Import(ctx, officer, "27991", strings.NewReader("h,a,r\nẤp 1,Số 9,-1\n")); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("bad row: %v", err)
		}
		var big strings.Builder
		big.WriteString("h,a\n")
		for i := range MaxImportRows + 1 {
			fmt.Fprintf(&big, "Ấp 9,Số %d\n", i)
		}
		if _, err := s.Import(ctx, officer, "27991", strings.NewReader(big.String())); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("too many rows: %v", err)
		}

		hamlets, err := s.Hamlets(ctx, officer, "27991")
		if err != nil || len(hamlets) != 2 || hamlets[0].Lat == nil {
			t.Fatalf("hamlets: %+v %v", hamlets, err)
		}
		team, err := s.AddTeam(ctx, officer, "27991", "Hội Phụ nữ", 0)
		if err != nil {
			t.Fatal(err)
		}
		team2, err := s.AddTeam(ctx, officer, "27991", "Đoàn Thanh niên", hamlets[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTeam(ctx, other, "27991", "X", 0); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other commune's team: %v", err)
		}
		tok, exp, err := s.Link(ctx, officer, team.ID)
		if err != nil || !exp.Equal(now.Add(24*time.Hour)) {
			t.Fatalf("link: %v %v", exp, err)
		}
		if _, _, err := s.Link(ctx, other, team.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other commune's link: %v", err)
		}
		v, err := s.Open(ctx, tok)
		if err != nil || v.Team.ID != team.ID {
			t.Fatalf("open: %+v %v", v, err)
		}
		hs, err := s.TeamHouseholds(ctx, v)
		if err != nil || len(hs) != 3 {
			t.Fatalf("households: %+v %v", hs, err)
		}
		// A forged or altered token, and tomorrow.
		bad := []byte(tok)
		bad[3] ^= 1
		for _, tk := range []string{string(bad), tok + "A", "x"} {
			if _, err := s.Open(ctx, tk); !errors.Is(err, ErrBadLink) {
				t.Fatalf("forged %q: %v", tk, err)
			}
		}

		// Team 1 visits house 1 twice (nobody home, then visited) and
		// sends its queue twice; team 2, limited to Ấp 2, may not touch Ấp 1.
		h1, h3 := hs[0].ID, hs[2].ID
		batch := []Visit{
			{ID: "aaaaaaaa-0000-0000-0000-000000000001", HouseholdID: h1, Outcome: NobodyHome, VisitedAt: now.Add(-2 * time.Hour).Unix()},
			{ID: "aaaaaaaa-0000-0000-0000-000000000002", HouseholdID: h1, Outcome: Visited, People: 3, NoSmartphone: 1, Installs: 2, Declarations: 3, VisitedAt: now.Add(-time.Hour).Unix()},
		}
		syn, err := s.Sync(ctx, v, Batch{Visits: batch})
		res := syn.Visits
		if err != nil || res[0].Status != "created" || res[1].Status != "created" {
			t.Fatalf("sync: %+v %v", res, err)
		}
		syn, err = s.Sync(ctx, v, Batch{Visits: batch})
		res = syn.Visits
		if err != nil || res[0].Status != "duplicate" || res[1].Status != "duplicate" {
			t.Fatalf("sync again: %+v %v", res, err)
		}
		tok2, _, _ := s.Link(ctx, officer, team2.ID)
		v2, _ := s.Open(ctx, tok2)
		if _, err := s.Sync(ctx, v2, Batch{Visits: []Visit{{ID: "bbbbbbbb-0000-0000-0000-000000000001", HouseholdID: h1, Outcome: Visited}}}); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("another hamlet: %v", err)
		}
		// Team 2 replays team 1's id on its own house: refused as a conflict, nothing changed.
		syn, err = s.Sync(ctx, v2, Batch{Visits: []Visit{{ID: batch[0].ID, HouseholdID: h3, Outcome: Refused}}})
		res = syn.Visits
		if err != nil || res[0].Status != "conflict" {
			t.Fatalf("replayed id: %+v %v", res, err)
		}
		// A later "nobody home" by team 2 at its house, then a visit by team 1
		// with an earlier time: both kept, the most advanced wins.
		if _, err := s.Sync(ctx, v2, Batch{Visits: []Visit{{ID: "bbbbbbbb-0000-0000-0000-000000000002", HouseholdID: h3, Outcome: NobodyHome, VisitedAt: now.Add(-10 * time.Minute).Unix()}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sync(ctx, v, Batch{Visits: []Visit{{ID: "aaaaaaaa-0000-0000-0000-000000000003", HouseholdID: h3, Outcome: Visited, People: 2, Installs: 1, VisitedAt: now.Add(-30 * time.Minute).Unix()}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sync(ctx, v, Batch{Visits: []Visit{{ID: "short", HouseholdID: h3, Outcome: "maybe"}}}); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("bad visit: %v", err)
		}
		var visits int
		db.R.QueryRowContext(ctx, "SELECT count(*) FROM door_visits").Scan(&visits)
		if visits != 4 {
			t.Fatalf("visits stored: %d, want 4", visits)
		}
		todo, err := s.ToVisit(ctx, officer, "27991")
		if err != nil || len(todo) != 1 || todo[0].Address != "Số 3 ngõ 2" {
			t.Fatalf("to visit: %+v %v", todo, err)
		}
		if _, err := s.ToVisit(ctx, other, "27991"); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other's to visit: %v", err)
		}

		c, err := s.Coverage(ctx, officer, "27991")
		want := Figures{Households: 3, Visited: 2, Attempted: 2, Installs: 3, Declarations: 3, NoSmartphone: 1}
		if err != nil || c.Total != want || len(c.Parts) != 2 {
			t.Fatalf("coverage: %+v %v", c, err)
		}
		dc, err := s.Coverage(ctx, district, "803")
		if err != nil || dc.Total != want || len(dc.Parts) != 1 || dc.Parts[0].Key != "27991" {
			t.Fatalf("district coverage: %+v %v", dc, err)
		}
		if _, err := s.Coverage(ctx, other, "27991"); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other's coverage: %v", err)
		}
		wk, err := s.Week(ctx, "803", now.Add(-24*time.Hour), now)
		if err != nil || wk != want {
			t.Fatalf("week: %+v %v", wk, err)
		}
		if wk, _ := s.Week(ctx, "803", now.Add(-48*time.Hour), now.Add(-24*time.Hour)); wk.Visited != 0 || wk.Households != 3 {
			t.Fatalf("last week: %+v", wk)
		}

		// Revoked, then expired.
		if err := s.RevokeTeam(ctx, officer, team2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, tok2); !errors.Is(err, ErrBadLink) {
			t.Fatalf("revoked: %v", err)
		}
		now = now.Add(24 * time.Hour)
		if _, err := s.Open(ctx, tok); !errors.Is(err, ErrLinkExpired) {
			t.Fatalf("expired: %v", err)
		}
	})
}
