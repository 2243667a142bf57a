// Package demo generates a deterministic dataset after shared/specs/workload.md:
// venues of every category across a province's communes, people, and days of
// check-ins with Zipf venue popularity and lognormal stays, plus one demo
// account for each role. The same seed always gives the same data.
package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/geo"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// Scale is the size of a generated dataset.
type Scale struct {
	Name          string
	People        int
	Venues        int
	CheckinsADay  int
	Days          int
	NoCheckoutPct float64
	// ZipfV is the Zipf offset of venue popularity (s = 1.1): chosen so the
	// busiest venue takes ~9,000 check-ins a day, as the workload says, at
	// the scale's venue count and daily check-ins (p₁ = v^-1.1 / Σ (v+k)^-1.1).
	ZipfV float64
}

// Scales: small loads in seconds for a demo; province and country follow the workload spec.
var Scales = map[string]Scale{
	"small":    {"small", 20_000, 2_000, 10_000, 21, 0.30, 20},
	"province": {"province", 1_000_000, 60_000, 1_000_000, 21, 0.30, 20},      // busiest ~8,900 a day
	"country":  {"country", 50_000_000, 3_000_000, 30_000_000, 21, 0.30, 600}, // ~8,700 (v = 20 gave 214,000)
}

// Password is the password of every demo account (printed by `serve --demo`).
const Password = "demo-longan-2021"

// Account is a demo login.
type Account struct {
	Username   string
	Role       auth.Role
	Unit       string
	Department string
}

// Accounts returns one demo account per role (two commune officers, so the
// difference between communes can be seen) within the province.
func Accounts(province string) []Account {
	district := "803" // Huyện Bến Lức
	if province != "80" {
		district = geo.Children(province)[0].Code
	}
	communes := geo.Children(district)
	return []Account{
		{"admin", auth.ProvinceAdmin, province, ""},
		{"soyte", auth.DepartmentOfficer, province, "health"},
		{"socongthuong", auth.DepartmentOfficer, province, "industry_trade"},
		{"canbohuyen", auth.DistrictOfficer, district, ""},
		{"canboxa", auth.CommuneOfficer, communes[0].Code, ""},
		{"canboxa2", auth.CommuneOfficer, communes[1].Code, ""},
		{"truyvet", auth.HealthTracer, province, ""},
		{"quanly", auth.VenueManager, communes[0].Code, ""},
	}
}

// Stats says what Load wrote.
type Stats struct {
	People, Venues, Visits int
	Elapsed                time.Duration
}

// Load writes the dataset for scale into db, ending at now, unless the database
// already holds venues (so restarting with --demo does not load twice).
func Load(ctx context.Context, db *sqldb.DB, v *vault.Vault, users *auth.Service, province string, sc Scale, seed uint64, now time.Time) (Stats, error) {
	start := time.Now()
	var n int
	if err := db.R.QueryRowContext(ctx, "SELECT count(*) FROM venues").Scan(&n); err != nil {
		return Stats{}, fmt.Errorf("demo: %w", err)
	}
	if n > 0 {
		return Stats{}, nil
	}
	var managerID int64
	for _, a := range Accounts(province) {
		u, err := users.CreateUser(ctx, auth.NewUser{Username: a.Username, Password: Password, Role: a.Role, Unit: a.Unit, Department: a.Department})
		if err != nil {
			return Stats{}, fmt.Errorf("demo account %s: %w", a.Username, err)
		}
		if a.Role == auth.VenueManager {
			managerID = u.UserID
		}
	}
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x80)), vault: v, communes: geo.Communes(province), now: now.UTC()}
	for _, b := range []struct {
		table string
		dst   *int64
	}{{"venues", &g.venueBase}, {"people", &g.personBase}} {
		if err := db.R.QueryRowContext(ctx, "SELECT COALESCE(max(id), 0) FROM "+b.table).Scan(b.dst); err != nil {
			return Stats{}, fmt.Errorf("demo: %w", err)
		}
	}
	if len(g.communes) == 0 {
		return Stats{}, fmt.Errorf("demo: no communes under %q", province)
	}
	st := Stats{People: sc.People, Venues: sc.Venues}
	steps := []func() error{
		func() error { return g.venues(ctx, db, sc.Venues, managerID, Accounts(province)[7].Unit) },
		func() error { return g.people(ctx, db, sc.People) },
		func() error {
			var err error
			st.Visits, err = g.visits(ctx, db, sc)
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return Stats{}, fmt.Errorf("demo: %w", err)
		}
	}
	for _, t := range []string{"venues", "people"} {
		if err := store.SyncSequence(ctx, db, t); err != nil {
			return Stats{}, fmt.Errorf("demo: %w", err)
		}
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

type gen struct {
	rng                   *rand.Rand
	vault                 *vault.Vault
	communes              []geo.Unit
	now                   time.Time
	venueBase, personBase int64 // ids are given explicitly, above any existing row
}

// batch inserts n rows with multi-row INSERTs of 64 rows, prepared once per
// transaction (SQLite's parser is slow on long $n lists, so statements stay short).
func batch(ctx context.Context, db *sqldb.DB, head string, cols, n int, row func(i int) []any) error {
	const perStmt, perTx = 64, 64 * 200
	stmtSQL := func(rows int) string {
		var b strings.Builder
		b.WriteString(head)
		for r := range rows {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + sqldb.In(r*cols+1, cols) + ")")
		}
		return b.String()
	}
	full := stmtSQL(perStmt)
	for lo := 0; lo < n; lo += perTx {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, full)
			if err != nil {
				return err
			}
			defer stmt.Close()
			args := make([]any, 0, perStmt*cols)
			for s := lo; s < min(lo+perTx, n); s += perStmt {
				e := min(s+perStmt, n)
				args = args[:0]
				for i := s; i < e; i++ {
					args = append(args, row(i)...)
				}
				if e-s == perStmt {
					_, err = stmt.ExecContext(ctx, args...)
				} else {
					_, err = tx.ExecContext(ctx, stmtSQL(e-s), args...)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

var prefixes = map[string]string{
	"party_office": "UBND", "public_service_center": "Trung tâm Hành chính công", "industrial_zone": "Khu công nghiệp",
	"industrial_cluster": "Cụm công nghiệp", "factory": "Công ty TNHH", "restaurant": "Quán ăn", "karaoke": "Karaoke",
	"massage_beauty": "Thẩm mỹ viện", "gym": "Phòng tập", "bank": "Ngân hàng Agribank chi nhánh", "post_office": "Bưu điện",
	"telecom_shop": "Cửa hàng Viettel", "notary": "Văn phòng công chứng", "meeting": "Hội nghị tại", "hospital": "Bệnh viện Đa khoa",
	"health_station": "Trạm Y tế", "apartment": "Chung cư", "school": "Trường THCS", "university": "Trường Cao đẳng",
	"vocational_school": "Trường Trung cấp nghề", "bus_station": "Bến xe", "port": "Bến phà", "waiting_shed": "Nhà chờ xe buýt",
	"bus": "Xe buýt tuyến", "coach": "Xe khách", "ferry": "Đò ngang", "shopping_center": "Trung tâm thương mại",
	"supermarket": "Siêu thị Co.opmart", "market": "Chợ", "shop": "Tạp hóa", "funeral": "Đám tang tại", "wedding": "Tiệc cưới tại",
	"tourist_site": "Khu du lịch", "worship": "Chùa",
}

func shortName(u geo.Unit) string {
	return strings.TrimSpace(strings.TrimPrefix(u.Name, u.Unit))
}

func (g *gen) venues(ctx context.Context, db *sqldb.DB, n int, managerID int64, managerCommune string) error {
	cats := venue.Categories
	seen := map[string]int{}
	head := `INSERT INTO venues (id, name, category, commune_code, district_code, province_code, address, lat, lon,
		capacity, starts_at, ends_at, plate, route, status, manager_id, created_at) VALUES `
	return batch(ctx, db, head, 17, n, func(i int) []any {
		c := g.communes[i%len(g.communes)]
		cat := cats[(i/len(g.communes)+i)%len(cats)]
		if i == 0 { // the venue manager's market
			c, _ = geo.Get(managerCommune)
			cat, _ = venue.CategoryOf("market")
		}
		d, _ := geo.Ancestor(c.Code, "district")
		p, _ := geo.Ancestor(c.Code, "province")
		name := prefixes[cat.Code] + " " + shortName(c)
		if seen[name]++; seen[name] > 1 {
			name += fmt.Sprintf(" %d", seen[name])
		}
		var starts, ends any
		var plate, route string
		switch cat.Kind {
		case venue.KindEvent:
			s := g.now.Add(-time.Duration(g.rng.IntN(20*24)) * time.Hour).Truncate(time.Hour)
			starts, ends = s.Unix(), s.Add(cat.DefaultStay).Unix()
		case venue.KindVehicle:
			plate = fmt.Sprintf("62B-%03d.%02d", g.rng.IntN(1000), g.rng.IntN(100))
			route = "Tân An – " + shortName(d)
		}
		var manager any
		if i == 0 {
			manager = managerID
		}
		// Long An spans roughly 10.4–11.0 N, 105.5–106.8 E.
		lat := 10.4 + g.rng.Float64()*0.6
		lon := 105.5 + g.rng.Float64()*1.3
		return []any{g.venueBase + int64(i) + 1, name, cat.Code, c.Code, d.Code, p.Code, fmt.Sprintf("Số %d, %s", 1+g.rng.IntN(300), c.Name),
			lat, lon, 20 + g.rng.IntN(500), starts, ends, plate, route, venue.StatusApproved, manager, g.now.Add(-30 * 24 * time.Hour).Unix()}
	})
}

var (
	family = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middle = []string{"Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Hoàng", "Kim"}
	given  = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long",
		"Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Trí", "Tú", "Tuấn", "Vy", "Yến"}
)

func (g *gen) people(ctx context.Context, db *sqldb.DB, n int) error {
	head := `INSERT INTO people (id, name_enc, phone_enc, phone_hash, id_number_enc, id_number_hash, birth_year,
		commune_code, district_code, province_code, created_at) VALUES `
	return batch(ctx, db, head, 11, n, func(i int) []any {
		c := g.communes[g.rng.IntN(len(g.communes))]
		d, _ := geo.Ancestor(c.Code, "district")
		p, _ := geo.Ancestor(c.Code, "province")
		name := family[g.rng.IntN(len(family))] + " " + middle[g.rng.IntN(len(middle))] + " " + given[g.rng.IntN(len(given))]
		phone := fmt.Sprintf("09%08d", (i*7919+13)%100_000_000)
		return []any{g.personBase + int64(i) + 1, g.vault.Seal(name), g.vault.Seal(phone), g.vault.Hash(phone), nil, nil, 1940 + g.rng.IntN(70),
			c.Code, d.Code, p.Code, g.now.Add(-30 * 24 * time.Hour).Unix()}
	})
}

// visits writes sc.Days days of check-ins ending today.
func (g *gen) visits(ctx context.Context, db *sqldb.DB, sc Scale) (int, error) {
	zipf := rand.NewZipf(g.rng, 1.1, sc.ZipfV, uint64(sc.Venues-1))
	// Popularity rank → venue id, shuffled so the busiest venues are spread out.
	rank := g.rng.Perm(sc.Venues)
	day0 := g.now.Add(-time.Duration(sc.Days-1) * 24 * time.Hour).Truncate(24 * time.Hour)
	total := sc.CheckinsADay * sc.Days
	head := "INSERT INTO visits (id, venue_id, person_id, t_in, t_out) VALUES "
	err := batch(ctx, db, head, 5, total, func(i int) []any {
		day := day0.Add(time.Duration(i/sc.CheckinsADay) * 24 * time.Hour)
		// Hours of the day, local time: mostly 6:00–21:00 with a morning peak.
		hour := 6 + math.Abs(g.rng.NormFloat64())*5
		if g.rng.IntN(3) == 0 {
			hour = 6 + g.rng.Float64()*15
		}
		tIn := day.Add(time.Duration(hour*3600)*time.Second - 7*time.Hour)
		if tIn.After(g.now) {
			tIn = g.now.Add(-time.Duration(g.rng.IntN(3600)) * time.Second)
		}
		stay := time.Duration(math.Min(math.Exp(math.Log(30)+0.8*g.rng.NormFloat64()), 480) * float64(time.Minute))
		var tOut any
		if g.rng.Float64() >= sc.NoCheckoutPct && !tIn.Add(stay).After(g.now) {
			tOut = tIn.Add(stay).Unix() // (a stay ending after now is still going on)
		}
		id := fmt.Sprintf("%016x-%016x", g.rng.Uint64(), uint64(i))
		return []any{id, g.venueBase + int64(rank[zipf.Uint64()]) + 1, g.personBase + int64(g.rng.IntN(sc.People)) + 1, tIn.Unix(), tOut}
	})
	return total, err
}
