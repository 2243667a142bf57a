package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// now is 15:30 on 10 August 2021 in Long An.
var now = time.Date(2021, 8, 10, 15, 30, 0, 0, HCM)

// fakeCases stands in for the cases module: F0 confirmations by commune.
type fakeCases struct{ at map[string][]time.Time }

func (f fakeCases) Metrics() []string { return []string{F0} }

func (f fakeCases) CountRange(_ context.Context, from, to time.Time) ([]Count, error) {
	var out []Count
	for commune, ts := range f.at {
		var n int64
		for _, t := range ts {
			if !t.Before(from) && t.Before(to) {
				n++
			}
		}
		if n > 0 {
			out = append(out, Count{Commune: commune, Metric: F0, N: n})
		}
	}
	return out, nil
}

type fakePlaces []ExposedPlace

func (f fakePlaces) ExposedPlaces(context.Context, time.Time) ([]ExposedPlace, error) { return f, nil }

// seed writes venues and visits: communes 27991 and 27994 are in Bến Lức (803),
// 27685 in Tân An (794).
func seed(t *testing.T, db *sqldb.DB) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, v := range []struct{ name, cat, commune string }{
		{"Chợ Bến Lức", "market", "27991"},
		{"Bệnh viện Đa khoa Bến Lức", "hospital", "27991"},
		{"Trường THCS Thạnh Lợi", "school", "27994"},
		{"Chợ Phường 5 Tân An", "market", "27685"},
		{"Đám cưới nhà ông Tư", "wedding", "27685"},
	} {
		var id int64
		err := db.W.QueryRow(`INSERT INTO venues (name, category, commune_code, district_code, province_code, address, lat, lon, status, created_at)
			VALUES ($1, $2, $3, $4, '80', '12 Đường Nguyễn Huệ', 10.6, 106.4, 'approved', 0) RETURNING id`,
			v.name, v.cat, v.commune, map[string]string{"27991": "803", "27994": "803", "27685": "794"}[v.commune]).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		ids[v.name] = id
	}
	visit := func(venue string, at time.Time, n int) {
		for i := range n {
			if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ($1, $2, $3, $4)",
				fmt.Sprintf("%s-%d-%d", at.Format("0102150405"), ids[venue], i), ids[venue], 1, at.Unix()); err != nil {
				t.Fatal(err)
			}
		}
	}
	visit("Chợ Bến Lức", now.Add(-30*time.Minute), 5)                   // 15:00 today
	visit("Chợ Bến Lức", now.Add(-5*time.Hour), 2)                      // 10:30 today
	visit("Bệnh viện Đa khoa Bến Lức", now.Add(-2*time.Hour), 3)        // 13:30 today
	visit("Trường THCS Thạnh Lợi", now.Add(-26*time.Hour), 4)           // yesterday
	visit("Chợ Phường 5 Tân An", now.Add(-16*time.Hour-time.Minute), 1) // 23:29 yesterday
	return ids
}

func newService(db *sqldb.DB) *Service {
	s := New(db, "80", slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Now = func() time.Time { return now }
	s.Hourly = append(s.Hourly, fakeCases{at: map[string][]time.Time{
		"27991": {now.Add(-time.Hour), now.Add(-3 * 24 * time.Hour)},
		"27685": {now.Add(-2 * time.Hour), now.Add(-2 * time.Hour), now.Add(-20 * time.Hour), now.Add(-5 * 24 * time.Hour)},
	}})
	return s
}

func TestFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ids := seed(t, db)
		s := newService(db)
		if err := s.Backfill(ctx, 14); err != nil {
			t.Fatal(err)
		}
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		admin := &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
		f, err := s.Figures(ctx, admin, "")
		if err != nil {
			t.Fatal(err)
		}
		if f.Unit.Code != "80" || f.CheckinsToday != 10 || f.CheckinsByHour[15] != 5 || f.CheckinsByHour[10] != 2 || f.CheckinsByHour[13] != 3 {
			t.Errorf("province today: %+v by hour %v", f.CheckinsToday, f.CheckinsByHour)
		}
		if got := f.CheckinsByDay[12].N; got != 5 { // yesterday: school 4 + Tân An market 1
			t.Errorf("yesterday's check-ins %d, want 5 (%v)", got, f.CheckinsByDay)
		}
		if f.F0Today != 3 || f.F0Days14 != 6 {
			t.Errorf("F0 today %d, 14 days %d; want 3, 6", f.F0Today, f.F0Days14)
		}
		// Every venue was scanned within the week except the wedding.
		if f.VenuesRegistered != 5 || f.VenuesScanning != 4 || f.ScanningPct != 80 {
			t.Errorf("venues %d scanning %d (%v%%)", f.VenuesRegistered, f.VenuesScanning, f.ScanningPct)
		}
		if len(f.Children) != 15 || !f.ChildLevelDrillable {
			t.Fatalf("children: %d", len(f.Children))
		}
		for _, c := range f.Children {
			want := map[string]int64{"803": 10, "794": 0}[c.Unit.Code]
			if c.CheckinsToday != want {
				t.Errorf("district %s: %d check-ins today, want %d", c.Unit.Code, c.CheckinsToday, want)
			}
		}
		if f.Available[Declarations] || !f.Available[F0] || !f.Available[Checkins] {
			t.Errorf("available: %v", f.Available)
		}

		// Drilling down: the district, then the commune.
		benluc := &auth.Principal{UserID: 2, Role: auth.DistrictOfficer, Unit: "803"}
		f, err = s.Figures(ctx, benluc, "27991")
		if err != nil || f.CheckinsToday != 10 || f.F0Today != 1 || f.F0Days14 != 2 || len(f.Children) != 0 {
			t.Errorf("commune 27991: %v %+v", err, f)
		}
		if _, err := s.Figures(ctx, benluc, "794"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("district officer on another district: %v", err)
		}
		if _, err := s.Figures(ctx, benluc, "80"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("district officer on the province: %v", err)
		}
		manager := &auth.Principal{UserID: 3, Role: auth.VenueManager, Unit: "27991"}
		if _, err := s.Figures(ctx, manager, ""); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("venue manager: %v", err)
		}

		// A department sees its own sector: Industry and Trade has the markets.
		trade := &auth.Principal{UserID: 4, Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"}
		f, err = s.Figures(ctx, trade, "")
		if err != nil || f.Sector != "industry_trade" || f.CheckinsToday != 7 || f.VenuesRegistered != 2 {
			t.Errorf("trade: %v sector %q today %d venues %d", err, f.Sector, f.CheckinsToday, f.VenuesRegistered)
		}
		for _, c := range f.Categories {
			if c.Code != "market" {
				t.Errorf("trade sees category %s", c.Code)
			}
		}

		// New check-ins arrive: the next refresh shows them and tells subscribers.
		ch, stop := s.Subscribe()
		defer stop()
		if _, err := db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ('late-1', $1, 1, $2)", ids["Chợ Bến Lức"], now.Add(-time.Minute).Unix()); err != nil {
			t.Fatal(err)
		}
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		default:
			t.Error("no signal after refresh")
		}
		f, _ = s.Figures(ctx, admin, "")
		if f.CheckinsToday != 11 {
			t.Errorf("after a new check-in: %d", f.CheckinsToday)
		}
	})
}

func TestDeclarationSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var pid int64
		if err := db.W.QueryRow(`INSERT INTO people (commune_code, district_code, province_code, created_at) VALUES ('27991', '803', '80', 0) RETURNING id`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		for i, flags := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {0, 0}} {
			if _, err := db.W.Exec(`INSERT INTO declarations (person_id, kind, answers_enc, has_symptoms, had_contact, commune_code, district_code, province_code, created_at, expires_at)
				VALUES ($1, 'health', $2, $3, $4, '27991', '803', '80', $5, $6)`, pid, []byte{1}, flags[0], flags[1], now.Add(-time.Duration(i)*time.Hour).Unix(), now.Add(24*time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
		}
		s := newService(db)
		s.Hourly = append(s.Hourly, DeclarationSource{DB: db})
		if err := s.Backfill(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		f, err := s.Figures(ctx, &auth.Principal{Role: auth.CommuneOfficer, Unit: "27991"}, "")
		if err != nil || f.DeclarationsToday != 4 || f.FlaggedToday != 2 || !f.Available[Declarations] {
			t.Errorf("declarations: %v %d flagged %d", err, f.DeclarationsToday, f.FlaggedToday)
		}
	})
}

func TestPublicMap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ids := seed(t, db)
		s := newService(db)
		s.Places = fakePlaces{
			{VenueID: ids["Chợ Bến Lức"], From: now.Add(-3 * time.Hour), To: now.Add(-2 * time.Hour)},
			{VenueID: ids["Đám cưới nhà ông Tư"], From: now.Add(-30 * time.Hour), To: now.Add(-27 * time.Hour)},
		}
		if err := s.Backfill(ctx, 30); err != nil {
			t.Fatal(err)
		}
		admin := &auth.Principal{UserID: 1, Role: auth.ProvinceAdmin, Unit: "80"}
		if _, err := s.AddArea(ctx, admin, Area{Kind: AreaLockdown, Label: "Ấp 3, xã Thạnh Lợi", UnitCode: "27994", Note: "liên hệ ông Tư"}); err != nil {
			t.Fatal(err)
		}
		tanan := &auth.Principal{UserID: 2, Role: auth.DistrictOfficer, Unit: "794"}
		if _, err := s.AddArea(ctx, tanan, Area{Kind: AreaLockdown, Label: "Ấp 1", UnitCode: "27994"}); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("area outside jurisdiction: %v", err)
		}
		doc, err := s.Public(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Province struct {
				F0Days14 any `json:"f0_14d"`
			}
			Districts []struct {
				Code     string
				F0Today  any `json:"f0_today"`
				F0Days14 any `json:"f0_14d"`
				Lockdown bool
				Series   []any
			}
			Communes []struct {
				Code     string
				F0Days14 any `json:"f0_14d"`
				Lockdown bool
			}
			Places []struct {
				Name     string
				Lat      *float64
				Category string
			}
			Areas []map[string]any
		}
		if err := json.Unmarshal(doc.JSON, &m); err != nil {
			t.Fatal(err)
		}
		// 803 has 2 cases in 14 days, 794 has 4 with 2 today: both hidden,
		// and another district hidden beside them so that the province
		// total minus the shown districts does not give either.
		hidden14 := 0
		for _, d := range m.Districts {
			if d.F0Days14 == nil {
				hidden14++
			} else if d.F0Days14 != float64(0) {
				t.Errorf("district %s: %v", d.Code, d.F0Days14)
			}
			switch d.Code {
			case "803":
				if d.F0Days14 != nil || d.F0Today != nil || !d.Lockdown {
					t.Errorf("Bến Lức: %+v", d)
				}
			case "794":
				if d.F0Days14 != nil || d.F0Today != nil {
					t.Errorf("Tân An: %+v", d)
				}
				if len(d.Series) != PublicDays {
					t.Errorf("series: %d days", len(d.Series))
				}
			}
		}
		if m.Province.F0Days14 != nil && hidden14 < 2 {
			t.Errorf("province 14 days %v with only %d hidden districts", m.Province.F0Days14, hidden14)
		}
		if len(m.Communes) < 150 {
			t.Errorf("communes: %d", len(m.Communes))
		}
		if len(m.Places) != 2 || m.Places[0].Name != "Chợ Bến Lức" || m.Places[0].Lat == nil ||
			m.Places[1].Name != "Đám cưới" || m.Places[1].Lat != nil {
			t.Errorf("places: %+v", m.Places)
		}
		for _, bad := range []string{"ông Tư", "Nguyễn Huệ", "12 Đường"} {
			if strings.Contains(string(doc.JSON), bad) || strings.Contains(string(doc.GeoJSON), bad) {
				t.Errorf("public map shows %q", bad)
			}
		}
		if len(m.Areas) != 1 || m.Areas[0]["label"] != "Ấp 3, xã Thạnh Lợi" {
			t.Errorf("areas: %v", m.Areas)
		}
		var gj struct {
			Type     string
			Features []struct {
				Geometry   any
				Properties map[string]any
			}
		}
		if err := json.Unmarshal(doc.GeoJSON, &gj); err != nil || gj.Type != "FeatureCollection" || len(gj.Features) != 15+2+1 {
			t.Errorf("geojson: %v %s %d", err, gj.Type, len(gj.Features))
		}
		// The two feeds hide the same cells: one cannot fill the other's gaps.
		byCode := map[string]map[string]any{}
		for _, f := range gj.Features {
			if f.Properties["kind"] == "district" {
				byCode[f.Properties["code"].(string)] = f.Properties
			}
		}
		for _, d := range m.Districts {
			g := byCode[d.Code]
			if g == nil || g["f0_today"] != d.F0Today || g["f0_14d"] != d.F0Days14 {
				t.Errorf("district %s: JSON %v/%v, GeoJSON %v", d.Code, d.F0Today, d.F0Days14, g)
			}
		}
		// Served from memory with the same ETag until the data changes.
		again, _ := s.Public(ctx)
		if again.ETag != doc.ETag {
			t.Error("ETag changed without new data")
		}
		s.invalidatePublic()
		same, _ := s.Public(ctx)
		if same.ETag != doc.ETag {
			t.Error("ETag changed on a rebuild of the same data")
		}
	})
}

func TestShown(t *testing.T) {
	for _, c := range []struct {
		n      int64
		hidden bool
		want   string
	}{{0, false, "0"}, {0, true, "null"}, {1, true, "null"}, {2, true, "null"}, {3, false, "3"}, {120, false, "120"}, {120, true, "null"}} {
		b, _ := marshal(Shown{c.n, c.hidden})
		if strings.TrimSpace(string(b)) != c.want {
			t.Errorf("%d: %s, want %s", c.n, b, c.want)
		}
	}
}

// TestModuleSources counts from the cases and Bluetooth tables as those
// modules write them (migrations 0004 and 0005).
func TestModuleSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ids := seed(t, db)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.W.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		var pid int64
		if err := db.W.QueryRow(`INSERT INTO people (commune_code, district_code, province_code, created_at) VALUES ('27991', '803', '80', 0) RETURNING id`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		for i, at := range []time.Time{now.Add(-time.Hour), now.Add(-30 * time.Hour)} {
			var cid int64
			// Confirmed cases, as cases.Create stores them (confirmed_by set).
			if err := db.W.QueryRow(`INSERT INTO cases (person_id, status, commune_code, district_code, province_code, isolation_kind, isolation_start, confirmed_by, created_at, updated_at)
				VALUES ($1, 'F0', '27991', '803', '80', 'facility', $2, 1, $3, $3) RETURNING id`, pid, dayStart(at).Unix(), at.Unix()).Scan(&cid); err != nil {
				t.Fatal(err)
			}
			exec(`INSERT INTO case_history (case_id, at, from_status, to_status, user_id, username) VALUES ($1, $2, '', 'F0', 1, 'soyte')`, cid, at.Unix())
			exec(`INSERT INTO contacts (case_id, person_id, level, source, overlap_seconds, first_shared, last_shared, evidence, commune_code, district_code,
				province_code, created_at, due_at, quarantine_until) VALUES ($1, $2, 'F1', 'qr', 600, 0, 0, '[]', '27994', '803', '80', $3, $3, $4)`,
				cid, pid+int64(i)+100, at.Unix(), now.Add(7*24*time.Hour).Unix())
			exec(`INSERT INTO exposures (case_id, venue_id, t_from, t_to, created_at) VALUES ($1, $2, $3, $4, $4)`, cid, ids["Chợ Bến Lức"], at.Add(-3*time.Hour).Unix(), at.Add(-2*time.Hour).Unix())
		}
		exec(`INSERT INTO bz_devices (person_id, phone_hash, key_enc, key_day, base_day, platform, token_hash, commune_code, district_code, province_code, registered_at, last_seen_at)
			VALUES ($1, 'h1', $2, 0, 0, 'android', 't1', '27991', '803', '80', 0, 0)`, pid, []byte{1})
		exec(`INSERT INTO adoption_smartphones (commune_code, district_code, province_code, users, updated_at) VALUES ('27991', '803', '80', 4, 0), ('27994', '803', '80', 6, 0)`)
		s := newService(db)
		s.Hourly = []HourlySource{&CheckinSource{DB: db}, CaseSource{DB: db}}
		s.Gauges = append(s.Gauges, QuarantineGauges{DB: db}, BluezoneGauges{DB: db})
		s.Places = ExposureSource{DB: db}
		if err := s.Backfill(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		f, err := s.Figures(ctx, &auth.Principal{Role: auth.DistrictOfficer, Unit: "803"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if f.F0Today != 1 || f.F0Days14 != 2 || f.F1Today != 1 || f.F1Days14 != 2 || f.Quarantined != 2+2 ||
			f.BluezoneInstalls != 1 || f.SmartphoneUsers != 10 || f.BluezonePct != 10 || !f.Available[Quarantined] {
			t.Errorf("figures: F0 %d/%d F1 %d/%d quarantined %d bluezone %d/%d (%v%%)", f.F0Today, f.F0Days14, f.F1Today, f.F1Days14,
				f.Quarantined, f.BluezoneInstalls, f.SmartphoneUsers, f.BluezonePct)
		}
		m, err := s.BuildPublic(ctx)
		if err != nil || len(m.Places) != 2 || m.Places[0].Name != "Chợ Bến Lức" {
			t.Errorf("places: %v %+v", err, m.Places)
		}
	})
}
