package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/netip"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/cases"
	"anticovid/internal/declaration"
	"anticovid/internal/demo"
	"anticovid/internal/doortodoor"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/geo"
	"anticovid/internal/people"
	"anticovid/internal/reports"
	"anticovid/internal/store"
)

// demoActivity makes the demo look like a province at work, once, after its
// dataset and cases: F1 calls recorded (some left overdue), recovered and
// suspected cases, weekly reports (most on time, some late, some missing),
// a campaign, Bluezone phones per commune near and below the targets, and a
// quarantine zone whose cameras show pictures from a source on loopback.
func demoActivity(ctx context.Context, a *app, province string) error {
	admin := &auth.Principal{Username: "demo", Role: auth.ProvinceAdmin, Unit: province}
	steps := []struct {
		name string
		do   func() error
	}{
		{"cases", func() error { return demoFollowUp(ctx, a, admin) }},
		{"reports", func() error { return demoReports(ctx, a, province) }},
		{"bluezone", func() error { return demoBluezone(ctx, a, admin, province) }},
		{"campaign", func() error { return demoCampaign(ctx, a, admin) }}, // after the phones: its count is theirs too
		{"door to door", func() error { return demoDoorToDoor(ctx, a, province) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("demo %s: %w", s.name, err)
		}
	}
	return nil
}

// demoFollowUp records calls on two F1s in three (the rest wait, overdue
// for the older cases), recovers the two oldest F0s, and has the first
// commune officer register two suspected cases.
func demoFollowUp(ctx context.Context, a *app, admin *auth.Principal) error {
	items, err := a.cases.Worklist(ctx, admin, cases.WorkFilter{Limit: 90}, "demo")
	if err != nil {
		return err
	}
	outcomes := []string{cases.OutcomeReached, cases.OutcomeUnreachable, cases.OutcomeHome, cases.OutcomeTested}
	for i, it := range items {
		if i%3 == 2 {
			continue
		}
		if _, err := a.cases.RecordCall(ctx, admin, it.ContactID, outcomes[i%len(outcomes)], demo.CallNote); err != nil {
			return err
		}
	}
	listed, err := a.cases.List(ctx, admin, cases.Filter{Status: cases.F0, Limit: 100})
	if err != nil {
		return err
	}
	f0s := listed.Cases
	for i := len(f0s) - 1; i >= 0 && i >= len(f0s)-2; i-- { // newest first: the last are the oldest
		if _, err := a.cases.SetStatus(ctx, admin, f0s[i].ID, cases.Recovered, ""); err != nil {
			return err
		}
	}
	var officer demo.Account
	for _, acc := range demo.Accounts(admin.Unit) {
		if acc.Role == auth.CommuneOfficer {
			officer = acc
			break
		}
	}
	u, err := a.auth.UserByName(ctx, officer.Username)
	if err != nil {
		return err
	}
	residents, err := people.PhonesAfter(ctx, a.db, "commune_code", officer.Unit, 0, 20)
	if err != nil {
		return err
	}
	made := 0
	for _, r := range residents {
		if made == 2 {
			break
		}
		_, err := a.cases.Create(ctx, &u.Principal, cases.NewCase{PersonID: r.ID, Status: cases.F0, SampleDate: time.Now().In(reports.HCM).Format(time.DateOnly)})
		if errors.Is(err, errs.ErrInvalid) {
			continue // already a case
		}
		if err != nil {
			return err
		}
		made++
	}
	return nil
}

// demoReports has last week's reports in (nine units in ten, one of them
// late; the tenth missing) and this week's from one unit in four so far.
func demoReports(ctx context.Context, a *app, province string) error {
	now := time.Now()
	this := reports.Current(now)
	last := this.Prev()
	for i, u := range reports.Units(province) {
		p := &auth.Principal{Username: "demo-" + u.Key, Role: auth.DepartmentOfficer, Unit: province, Department: u.Code}
		switch u.Kind {
		case reports.KindDistrict:
			p = &auth.Principal{Username: "demo-" + u.Key, Role: auth.DistrictOfficer, Unit: u.Code}
		case reports.KindCommune:
			p = &auth.Principal{Username: "demo-" + u.Key, Role: auth.CommuneOfficer, Unit: u.Code}
		}
		in := reports.Input{WorkDone: demo.ReportWork[i%len(demo.ReportWork)], Difficulties: demo.ReportDifficulties[i%len(demo.ReportDifficulties)],
			Proposals: demo.ReportProposals[i%len(demo.ReportProposals)]}
		var at time.Time
		switch i % 10 {
		case 0: // missing
		case 1:
			at = last.Deadline().Add(time.Duration(2+i%20) * time.Hour) // late
		default:
			at = last.Deadline().Add(-time.Duration(1+i%60) * time.Hour)
		}
		if !at.IsZero() {
			if err := submitAt(ctx, a, p, last, u.Key, in, at); err != nil {
				return err
			}
		}
		if i%4 == 0 && now.After(this.Monday()) {
			if err := submitAt(ctx, a, p, this, u.Key, in, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// submitAt submits a report as if at t: the report service's clock decides
// whether it is late.
func submitAt(ctx context.Context, a *app, p *auth.Principal, w reports.Week, key string, in reports.Input, t time.Time) error {
	rs := *a.ops.Reports
	rs.Now = func() time.Time { return t }
	_, err := rs.Submit(ctx, p, w, key, in)
	return err
}

// demoCampaign starts a Bluezone campaign to the first commune's residents;
// its messages go to the development file, and its delivery figures fill.
func demoCampaign(ctx context.Context, a *app, admin *auth.Principal) error {
	commune := geo.Communes(admin.Unit)[0]
	_, err := a.ops.Campaigns.Create(ctx, admin, campaign.Input{Name: demo.Campaign, Template: "install_bluezone", Channel: "sms",
		UnitCode: commune.Code, Groups: []string{"residents"}, RatePerMin: 600})
	return err
}

// demoDoorToDoor runs the door-to-door drive in the province's first
// commune: four hamlets of 25 households (placed near Bến Lức in Long An,
// the demo's province, else without coordinates), three teams, and this
// morning's visits through a team's link, as the phones would send them:
// most houses visited, some nobody home or refusing, some still to visit.
func demoDoorToDoor(ctx context.Context, a *app, province string) error {
	communes := geo.Communes(province)
	if len(communes) == 0 {
		return nil
	}
	commune := communes[0].Code
	chair := &auth.Principal{Username: "demo", Role: auth.CommuneOfficer, Unit: commune}
	for i, name := range demo.DoorHamlets {
		var lat, lng *float64
		if province == "80" {
			la, lo := 10.635+0.006*float64(i%2), 106.478+0.007*float64(i/2)
			lat, lng = &la, &lo
		}
		if _, err := a.door.AddHamlet(ctx, chair, commune, name, lat, lng); err != nil {
			return err
		}
		var hs []doortodoor.NewHousehold
		for j := range 25 {
			hs = append(hs, doortodoor.NewHousehold{Hamlet: name, Address: demo.DoorAddress(j), Residents: 2 + j%5})
		}
		if _, err := a.door.AddHouseholds(ctx, chair, commune, hs); err != nil {
			return err
		}
	}
	var team doortodoor.Team
	for _, name := range demo.DoorTeams {
		t, err := a.door.AddTeam(ctx, chair, commune, name, 0)
		if err != nil {
			return err
		}
		team = t
	}
	tok, _, err := a.door.Link(ctx, chair, team.ID)
	if err != nil {
		return err
	}
	vol, err := a.door.Open(ctx, tok)
	if err != nil {
		return err
	}
	hs, err := a.door.TeamHouseholds(ctx, vol)
	if err != nil {
		return err
	}
	now := time.Now()
	var visits []doortodoor.Visit
	for i, h := range hs {
		v := doortodoor.Visit{ID: fmt.Sprintf("demo-door-visit-%06d", i), HouseholdID: h.ID, VisitedAt: now.Add(-time.Duration(i%6) * time.Hour).Unix()}
		switch {
		case i%10 < 6: // visited
			v.Outcome, v.People = doortodoor.Visited, 1+i%4
			v.NoSmartphone, v.Installs, v.Declarations = i%3/2, min(v.People, 1+i%2), v.People
		case i%10 < 7:
			v.Outcome = doortodoor.Refused
		case i%10 < 8:
			v.Outcome = doortodoor.NobodyHome
		default:
			continue // still to visit
		}
		visits = append(visits, v)
	}
	for len(visits) > 0 {
		n := min(len(visits), doortodoor.MaxBatch)
		if _, err := a.door.Sync(ctx, vol, doortodoor.Batch{Visits: visits[:n]}); err != nil {
			return err
		}
		visits = visits[n:]
	}
	// Three residents without a smartphone declared with the team's help
	// (sealed to the team's key as the volunteer's page does): their cards
	// wait at /door-to-door/cards.
	var ds []doortodoor.SealedDeclaration
	no, doses := false, 2
	for i, r := range demo.DoorAssisted {
		if i >= len(hs) {
			break
		}
		in := declaration.Input{Kind: declaration.KindResident, Name: r.Name, BirthYear: 1940 + 5*i, Sex: r.Sex,
			Nationality: demo.Nationality, Phone: fmt.Sprintf("098800%04d", i+1), CommuneCode: commune, Street: demo.DoorAddress(i),
			ContactCase: &no, AnimalMarket: &no, VaccineDoses: &doses}
		plain, err := json.Marshal(in)
		if err != nil {
			return err
		}
		d := doortodoor.SealedDeclaration{ID: fmt.Sprintf("demo-door-declaration-%02d", i), HouseholdID: hs[i].ID, MadeAt: now.Add(-time.Hour).Unix()}
		if err := doortodoor.SealDeclaration(vol.PublicKey, vol.Team.ID, &d, plain); err != nil {
			return err
		}
		ds = append(ds, d)
	}
	_, err = a.door.Sync(ctx, vol, doortodoor.Batch{Declarations: ds})
	return err
}

// demoBluezone registers Bluezone phones in every commune, from a quarter
// to two thirds of its smartphone users, against targets of 50% in two
// weeks and 70% in six: some communes near the target, most below.
func demoBluezone(ctx context.Context, a *app, admin *auth.Principal, province string) error {
	communes := geo.Communes(province)
	today := time.Now().In(reports.HCM)
	var codes []string
	for i, c := range communes {
		users := int64(80 + (i*37)%60)
		if err := a.adoption.SetUsers(ctx, admin, c.Code, users); err != nil {
			return err
		}
		share := 0.25 + float64((i*53)%42)/100 // 25%–66%
		for range int(float64(users) * share) {
			codes = append(codes, c.Code)
		}
	}
	if err := a.adoption.SetTargets(ctx, admin, []adoption.Target{
		{Due: today.AddDate(0, 0, 14).Format(time.DateOnly), Percent: 50},
		{Due: today.AddDate(0, 0, 42).Format(time.DateOnly), Percent: 70},
	}); err != nil {
		return err
	}
	now := time.Now()
	phones := bluezone.SimPhones(1, len(codes), now, codes)
	for i := range phones {
		phones[i].Commune = codes[i]
		phones[i].Phone = fmt.Sprintf("08%08d", i) // apart from the demo people's 09 numbers
	}
	persons, err := bluezone.BulkRegister(ctx, a.db, a.vault, phones, now, nil)
	if err != nil {
		return err
	}
	for _, t := range []string{"people", "bz_devices"} {
		if err := store.SyncSequence(ctx, a.db, t); err != nil {
			return err
		}
	}
	// An F0's phone uploads its contact log with the code a tracer gave:
	// its registered contacts are on the Bluezone page.
	if _, err := a.bluezone.Maintain(ctx); err != nil {
		return err
	}
	code, _, err := a.bluezone.Codes.Issue(ctx, admin, exposure.PurposeBluezoneLog, persons[0], time.Time{})
	if err != nil {
		return err
	}
	rows, _ := bluezone.SimLog(phones, bluezone.SimLogSpec{F0: 0, Days: 7, IDsPerDay: 80, RegisteredShare: 0.4, Seed: 1, Now: now})
	_, err = a.bluezone.UploadLog(ctx, code, "demo", rows)
	return err
}

// demoCameras starts a picture source on loopback (a test pattern that
// moves with the clock, as a camera's snapshot would) and a quarantine zone
// in the first district whose cameras read it; the demo's camera guard lets
// loopback through, which a real deployment never does. The source stops
// when ctx ends; each start points the cameras at its new port.
func demoCameras(ctx context.Context, a *app, province string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(testPattern), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	go func() { <-ctx.Done(); srv.Close() }()
	a.ops.Cameras.Guard.Allow = append(a.ops.Cameras.Guard.Allow, netip.MustParsePrefix("127.0.0.1/32"))
	district := geo.Children(province)[0]
	commune := geo.Communes(district.Code)[0]
	officer := &auth.Principal{Username: "demo", Role: auth.DistrictOfficer, Unit: district.Code}
	zones, err := a.ops.Cameras.Zones(ctx, officer)
	if err != nil {
		return err
	}
	var zoneID int64
	for _, z := range zones {
		if z.Name == demo.Zone {
			zoneID = z.ID
		}
	}
	if zoneID == 0 {
		z, err := a.ops.Cameras.CreateZone(ctx, officer, camera.Zone{Name: demo.Zone, CommuneCode: commune.Code, Capacity: 300, Held: 124, Public: true})
		if err != nil {
			return err
		}
		zoneID = z.ID
	}
	// Each start has a new port: the zone's cameras point at this one.
	z, err := a.ops.Cameras.Zone(ctx, officer, zoneID)
	if err != nil {
		return err
	}
	for _, c := range z.Cameras {
		if err := a.ops.Cameras.DeleteCamera(ctx, officer, c.ID); err != nil {
			return err
		}
	}
	for i, name := range demo.Cameras {
		url := fmt.Sprintf("http://%s/camera/%d.png", ln.Addr(), i)
		if _, err := a.ops.Cameras.AddCamera(ctx, officer, zoneID, camera.CameraInput{Name: name, StreamKind: camera.MJPEG, SnapshotURL: url}); err != nil {
			return err
		}
	}
	return nil
}

// testPattern is a camera's picture: colour bars with a band that moves
// with the clock, so a refreshed wall visibly changes.
func testPattern(w http.ResponseWriter, r *http.Request) {
	const width, height = 320, 180
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	bars := []color.RGBA{{200, 200, 200, 255}, {200, 200, 40, 255}, {40, 200, 200, 255}, {40, 200, 40, 255}, {200, 40, 200, 255}, {200, 40, 40, 255}, {40, 40, 200, 255}}
	band := int(time.Now().Unix()%int64(height-20)) + 10
	for x := range width {
		for y := range height {
			c := bars[x*len(bars)/width]
			if y >= band && y < band+8 {
				c = color.RGBA{20, 20, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	w.Header().Set("Content-Type", "image/png")
	png.Encode(w, img)
}
