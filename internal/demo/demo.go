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
	"anticovid/internal/checkin"
	"anticovid/internal/geo"
	"anticovid/internal/people"
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
	if n, err := venue.MaxID(ctx, db); err != nil || n > 0 {
		if err != nil {
			return Stats{}, fmt.Errorf("demo: %w", err)
		}
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
		maxID func(context.Context, *sqldb.DB) (int64, error)
		dst   *int64
	}{{venue.MaxID, &g.venueBase}, {people.MaxID, &g.personBase}} {
		var err error
		if *b.dst, err = b.maxID(ctx, db); err != nil {
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

// inserter is an owner's bulk insert path (people.Bulk, venue.Bulk,
// checkin.Bulk): the demo writes every row through its table's owner.
type inserter[T any] interface {
	Insert(ctx context.Context, rows []T) error
	Close()
}

// batch inserts n generated rows through an owner's bulk path, 64 rows a
// statement and 64 × 200 a transaction (SQLite's parser is slow on long $n
// lists, so statements stay short). row is called in order, so a seed
// always gives the same data.
func batch[T any](ctx context.Context, db *sqldb.DB, n int, open func(*sql.Tx) inserter[T], row func(i int) T) error {
	const perStmt, perTx = 64, 64 * 200
	for lo := 0; lo < n; lo += perTx {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			ins := open(tx)
			defer ins.Close()
			rows := make([]T, 0, perStmt)
			for s := lo; s < min(lo+perTx, n); s += perStmt {
				rows = rows[:0]
				for i := s; i < min(s+perStmt, n); i++ {
					rows = append(rows, row(i))
				}
				if err := ins.Insert(ctx, rows); err != nil {
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
	return batch(ctx, db, n, func(tx *sql.Tx) inserter[venue.Venue] { return venue.NewBulk(tx) }, func(i int) venue.Venue {
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
		var starts, ends *time.Time
		var plate, route string
		switch cat.Kind {
		case venue.KindEvent:
			s := g.now.Add(-time.Duration(g.rng.IntN(20*24)) * time.Hour).Truncate(time.Hour)
			e := s.Add(cat.DefaultStay)
			starts, ends = &s, &e
		case venue.KindVehicle:
			plate = fmt.Sprintf("62B-%03d.%02d", g.rng.IntN(1000), g.rng.IntN(100))
			route = "Tân An – " + shortName(d)
		}
		var manager *int64
		if i == 0 {
			manager = &managerID
		}
		// Long An spans roughly 10.4–11.0 N, 105.5–106.8 E.
		lat := 10.4 + g.rng.Float64()*0.6
		lon := 105.5 + g.rng.Float64()*1.3
		address := fmt.Sprintf("Số %d, %s", 1+g.rng.IntN(300), c.Name)
		return venue.Venue{ID: g.venueBase + int64(i) + 1, Name: name, Category: cat.Code, CommuneCode: c.Code, DistrictCode: d.Code,
			ProvinceCode: p.Code, Address: address, Lat: &lat, Lon: &lon, Capacity: 20 + g.rng.IntN(500), StartsAt: starts, EndsAt: ends,
			Plate: plate, Route: route, Status: venue.StatusApproved, ManagerID: manager, CreatedAt: g.now.Add(-30 * 24 * time.Hour)}
	})
}

var (
	family = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middle = []string{"Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Hoàng", "Kim"}
	given  = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long",
		"Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Trí", "Tú", "Tuấn", "Vy", "Yến"}
)

func (g *gen) people(ctx context.Context, db *sqldb.DB, n int) error {
	return batch(ctx, db, n, func(tx *sql.Tx) inserter[people.BulkRow] { return people.NewBulk(tx) }, func(i int) people.BulkRow {
		c := g.communes[g.rng.IntN(len(g.communes))]
		d, _ := geo.Ancestor(c.Code, "district")
		p, _ := geo.Ancestor(c.Code, "province")
		name := family[g.rng.IntN(len(family))] + " " + middle[g.rng.IntN(len(middle))] + " " + given[g.rng.IntN(len(given))]
		phone := fmt.Sprintf("09%08d", (i*7919+13)%100_000_000)
		return people.BulkRow{ID: g.personBase + int64(i) + 1, CreatedAt: g.now.Add(-30 * 24 * time.Hour).Unix(), Sealed: people.Sealed{
			Name: g.vault.Seal(name), Phone: g.vault.Seal(phone), PhoneHash: g.vault.Hash(phone), BirthYear: 1940 + g.rng.IntN(70),
			Commune: c.Code, District: d.Code, Province: p.Code}}
	})
}

// visits writes sc.Days days of check-ins ending today. They are made as
// from phones that proved their number, so tracing the demo's cases messages
// its F1s as a real province's would.
// dayShares spreads a scale's check-ins over its days as a week goes:
// weekends busier (markets, restaurants), each day a little off its
// weekday's figure, the total the scale's; days are local (Vietnam).
func (g *gen) dayShares(sc Scale, day0 time.Time) []int {
	weights := make([]float64, sc.Days)
	sum := 0.0
	for d := range weights {
		w := 1.0
		switch day0.AddDate(0, 0, d).Weekday() {
		case time.Saturday:
			w = 1.25
		case time.Sunday:
			w = 1.35
		case time.Monday:
			w = 0.9
		}
		weights[d] = w * (1 + 0.08*g.rng.NormFloat64())
		sum += weights[d]
	}
	total := sc.CheckinsADay * sc.Days
	out := make([]int, sc.Days)
	given := 0
	for d, w := range weights {
		out[d] = int(float64(total) * w / sum)
		given += out[d]
	}
	out[len(out)-1] += total - given
	return out
}

func (g *gen) visits(ctx context.Context, db *sqldb.DB, sc Scale) (int, error) {
	zipf := rand.NewZipf(g.rng, 1.1, sc.ZipfV, uint64(sc.Venues-1))
	// Popularity rank → venue id, shuffled so the busiest venues are spread out.
	rank := g.rng.Perm(sc.Venues)
	day0 := g.now.Add(-time.Duration(sc.Days-1) * 24 * time.Hour).Truncate(24 * time.Hour)
	total := sc.CheckinsADay * sc.Days
	shares := g.dayShares(sc, day0)
	// Dead posters: one venue in 30 stopped being scanned a week ago (its
	// poster torn down or never put back), as the dashboard should show.
	dead := func(v int) bool { return v%30 == 7 }
	lastWeek := sc.Days - 7
	d, left := 0, shares[0]
	err := batch(ctx, db, total, func(tx *sql.Tx) inserter[checkin.BulkVisit] { return checkin.NewBulk(tx) }, func(i int) checkin.BulkVisit {
		for left == 0 && d < len(shares)-1 {
			d++
			left = shares[d]
		}
		left--
		day := day0.Add(time.Duration(d) * 24 * time.Hour)
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
		var tOut *int64
		if g.rng.Float64() >= sc.NoCheckoutPct && !tIn.Add(stay).After(g.now) {
			out := tIn.Add(stay).Unix() // (a stay ending after now is still going on)
			tOut = &out
		}
		id := fmt.Sprintf("%016x-%016x", g.rng.Uint64(), uint64(i))
		v := rank[zipf.Uint64()]
		for d >= lastWeek && dead(v) {
			v = rank[zipf.Uint64()]
		}
		return checkin.BulkVisit{ID: id, VenueID: g.venueBase + int64(v) + 1, PersonID: g.personBase + int64(g.rng.IntN(sc.People)) + 1,
			In: tIn.Unix(), Out: tOut, Proof: checkin.PhoneProven}
	})
	return total, err
}
