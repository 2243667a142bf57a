package reports

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/doortodoor"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/vault"
)

// A commune's and its district's weekly reports show the week's
// door-to-door figures, counted by the drive itself; last week's visits
// are not this week's.
func TestReportDoorToDoor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		from, _ := week30.Period()
		v, err := vault.New(bytes.Repeat([]byte{3}, 32))
		if err != nil {
			t.Fatal(err)
		}
		now := from.Add(50 * time.Hour)
		door := &doortodoor.Service{DB: db, Vault: v, Now: func() time.Time { return now }}
		chair := &auth.Principal{Username: "xa", Role: auth.CommuneOfficer, Unit: "27991"}
		if _, err := door.AddHouseholds(ctx, chair, "27991", []doortodoor.NewHousehold{{Hamlet: "Ấp 1", Address: "Số 1"}, {Hamlet: "Ấp 1", Address: "Số 2"}}); err != nil {
			t.Fatal(err)
		}
		team, _ := door.AddTeam(ctx, chair, "27991", "Hội Nông dân", 0)
		tok, _, _ := door.Link(ctx, chair, team.ID)
		vol, err := door.Open(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		hs, _ := door.TeamHouseholds(ctx, vol)
		if _, err := door.Sync(ctx, vol, doortodoor.Batch{Visits: []doortodoor.Visit{
			{ID: "cccccccc-0000-4000-8000-000000000001", HouseholdID: hs[0].ID, Outcome: doortodoor.Visited, People: 4, Installs: 2, Declarations: 4, VisitedAt: now.Add(-time.Hour).Unix()},
			{ID: "cccccccc-0000-4000-8000-000000000002", HouseholdID: hs[1].ID, Outcome: doortodoor.NobodyHome, VisitedAt: now.Add(-time.Hour).Unix()},
		}}); err != nil {
			t.Fatal(err)
		}
		s := newService(db, &clock{t: week30.Deadline()})
		s.DoorToDoor = door
		want := doortodoor.Figures{Households: 2, Visited: 1, Attempted: 2, Installs: 2, Declarations: 4}
		for _, key := range []string{"commune:27991", "district:803"} {
			r, err := s.Get(ctx, admin, week30, key)
			if err != nil || r.DoorToDoor == nil || *r.DoorToDoor != want {
				t.Fatalf("%s: %+v %v", key, r.DoorToDoor, err)
			}
		}
		r, err := s.Get(ctx, admin, week30.Next(), "commune:27991")
		if err != nil || r.DoorToDoor == nil || r.DoorToDoor.Visited != 0 || r.DoorToDoor.Households != 2 {
			t.Fatalf("next week: %+v %v", r.DoorToDoor, err)
		}
		if r, _ := s.Get(ctx, admin, week30, "dept:health"); r.DoorToDoor != nil {
			t.Fatalf("a department's report shows the drive: %+v", r.DoorToDoor)
		}
	})
}

// The consolidated PDF has a line per district whose communes run the drive.
func TestConsolidatedDoorToDoor(t *testing.T) {
	c := Consolidated{Districts: []Report{
		{Unit: Unit{Name: "Huyện Bến Lức"}, DoorToDoor: &doortodoor.Figures{Households: 1200, Visited: 300, Installs: 45, Declarations: 60}},
		{Unit: Unit{Name: "Huyện Cần Đước"}, DoorToDoor: &doortodoor.Figures{}},
	}}
	lines := c.doorLines()
	if len(lines) != 1 || lines[0] != "Huyện Bến Lức: đã thăm 300/1.200 hộ, giúp cài Bluezone 45 người, giúp khai báo y tế 60 tờ khai" {
		t.Fatalf("lines: %q", lines)
	}
	var pdf bytes.Buffer
	if err := c.PDF(&pdf); err != nil {
		t.Fatalf("pdf: %v", err)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		testenv.Skip(t, "pdftotext is not installed")
	}
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = &pdf
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(strings.Fields(string(out)), " "); !strings.Contains(text, "Đi từng ngõ, gõ từng nhà") || !strings.Contains(text, "đã thăm 300/1.200 hộ") {
		t.Errorf("pdf: %s", text[max(0, len(text)-400):])
	}
}
