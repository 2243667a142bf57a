package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"anticovid/internal/geo"
	"anticovid/internal/sqldb"
	"anticovid/internal/venue"
)

// ExposedPlace is a venue a confirmed case visited, with the time window of
// the visit, as tracing (another module) determined it.
type ExposedPlace struct {
	VenueID  int64
	From, To time.Time
}

// PlaceSource lists the places confirmed cases visited since a time. The
// tracing module implements it; the public map shows none until it is wired.
type PlaceSource interface {
	ExposedPlaces(ctx context.Context, since time.Time) ([]ExposedPlace, error)
}

// PublicZone is a quarantine facility as the public may know it: name and
// commune, nothing about the people held.
type PublicZone struct {
	Name         string `json:"name"`
	CommuneCode  string `json:"commune_code"`
	CommuneName  string `json:"commune_name"`
	DistrictCode string `json:"district_code"`
}

// ZoneSource lists the quarantine facilities marked public (internal/camera).
type ZoneSource interface {
	PublicZones(ctx context.Context, province string) ([]PublicZone, error)
}

// Shown is a count as the public sees it. A hidden count (small, or one from
// which a small count could be derived: see suppress.go) is written as null
// whatever the reason, so a reader cannot tell the two apart.
type Shown struct {
	N      int64
	Hidden bool
}

// MarshalJSON writes the number, or null for a hidden count.
func (c Shown) MarshalJSON() ([]byte, error) {
	if c.Hidden {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatInt(c.N, 10)), nil
}

// PublicUnit is a district's or commune's case counts on the public map.
type PublicUnit struct {
	Code         string   `json:"code"`
	Name         string   `json:"name"`
	DistrictCode string   `json:"district_code,omitempty"`
	Lat          *float64 `json:"lat,omitempty"`
	Lon          *float64 `json:"lon,omitempty"`
	F0Today      Shown    `json:"f0_today"`
	F0Days14     Shown    `json:"f0_14d"`
	Series       []Shown  `json:"series,omitempty"`
	Lockdown     bool     `json:"lockdown"`
	Quarantine   bool     `json:"quarantine"`
}

// PublicPlace is a venue a case visited. Events (funerals, weddings,
// meetings) are often held at a home: they are shown by category and commune
// only, with neither name nor position.
type PublicPlace struct {
	Name         string    `json:"name"`
	Category     string    `json:"category"`
	CategoryName string    `json:"category_name"`
	CommuneCode  string    `json:"commune_code"`
	CommuneName  string    `json:"commune_name"`
	DistrictCode string    `json:"district_code"`
	Lat          *float64  `json:"lat,omitempty"`
	Lon          *float64  `json:"lon,omitempty"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
}

// PublicArea is a quarantine or lockdown area in force.
type PublicArea struct {
	Kind         string     `json:"kind"`
	Label        string     `json:"label"`
	UnitCode     string     `json:"unit_code"`
	UnitName     string     `json:"unit_name"`
	DistrictCode string     `json:"district_code"`
	Since        time.Time  `json:"since"`
	Until        *time.Time `json:"until,omitempty"`
}

// PublicMap is everything /map shows. It holds no personal data by
// construction: counts, venue names and positions, unit names.
type PublicMap struct {
	GeneratedAt     time.Time     `json:"generated_at"`
	Province        PublicUnit    `json:"province"`
	Threshold       int           `json:"threshold"`
	Days            []string      `json:"days"`
	CasesAvailable  bool          `json:"cases_available"`
	PlacesAvailable bool          `json:"places_available"`
	Schematic       bool          `json:"schematic"`
	Districts       []PublicUnit  `json:"districts"`
	Communes        []PublicUnit  `json:"communes"`
	Places          []PublicPlace `json:"places"`
	Areas           []PublicArea  `json:"areas"`
	Zones           []PublicZone  `json:"zones"`
}

// publicDoc is the encoded public map, shared by every visitor until it is
// rebuilt: a spike of visitors costs no database work.
type publicDoc struct {
	Map           PublicMap // what JSON encodes, for the page that lists it
	JSON, GeoJSON []byte
	ETag          string
	built         time.Time
	hash          string
}

// PublicDays is how many days of case history the public map shows.
const PublicDays = 28

// publicTTL is how long a built public document is served before a rebuild.
const publicTTL = 30 * time.Second

// schematic holds approximate positions (district seats) of Long An's
// districts: the map draws them as circles, not boundaries.
var schematic = map[string][2]float64{
	"794": {10.536, 106.413}, "795": {10.773, 105.924}, "796": {10.832, 105.660}, "797": {10.880, 105.775},
	"798": {10.740, 106.020}, "799": {10.615, 106.050}, "800": {10.662, 106.170}, "801": {10.850, 106.270},
	"802": {10.895, 106.395}, "803": {10.638, 106.487}, "804": {10.603, 106.402}, "805": {10.520, 106.505},
	"806": {10.508, 106.605}, "807": {10.605, 106.672}, "808": {10.440, 106.475},
}

// position returns a district's schematic position; districts of other
// provinces are laid on a circle around the country's centre.
func position(code string, i, n int) (float64, float64) {
	if p, ok := schematic[code]; ok {
		return p[0], p[1]
	}
	a := 2 * math.Pi * float64(i) / float64(max(n, 1))
	return 16 + 0.5*math.Sin(a), 106 + 0.5*math.Cos(a)
}

// Public returns the encoded public map (JSON, GeoJSON and their ETag),
// rebuilding it at most every 30 seconds.
func (s *Service) Public(ctx context.Context) (*publicDoc, error) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if s.pub != nil && s.now().Sub(s.pub.built) < publicTTL {
		return s.pub, nil
	}
	m, err := s.BuildPublic(ctx)
	if err != nil {
		if s.pub != nil { // keep serving the last good map
			s.Log.Error("public map", "err", err)
			return s.pub, nil
		}
		return nil, err
	}
	gen := m.GeneratedAt
	m.GeneratedAt = time.Time{}
	body, err := marshal(m)
	if err != nil {
		return nil, fmt.Errorf("public map: %w", err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:12])
	if s.pub != nil && s.pub.hash == hash {
		s.pub.built = s.now()
		return s.pub, nil
	}
	m.GeneratedAt = gen
	doc := &publicDoc{Map: m, built: s.now(), hash: hash, ETag: `"` + hash + `"`}
	if doc.JSON, err = marshal(m); err != nil {
		return nil, fmt.Errorf("public map: %w", err)
	}
	if doc.GeoJSON, err = geoJSON(m); err != nil {
		return nil, err
	}
	s.pub = doc
	return doc, nil
}

// marshal encodes without escaping <, > and & (venue names stay readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// BuildPublic computes the public map from the stored counts and areas.
func (s *Service) BuildPublic(ctx context.Context) (PublicMap, error) {
	now := s.now()
	today := dayStart(now)
	from := today.AddDate(0, 0, -(PublicDays - 1))
	th := int64(s.Threshold)
	if th <= 0 {
		th = 3
	}
	prov := s.Province
	if prov == "" || prov == geo.Country {
		prov = geo.Country
	}
	pu, _ := geo.Get(prov)
	provided := s.provided()
	m := PublicMap{GeneratedAt: now.UTC().Truncate(time.Second), Threshold: int(th), Schematic: true,
		CasesAvailable: provided[F0], PlacesAvailable: s.Places != nil,
		Province: PublicUnit{Code: pu.Code, Name: pu.Name}, Places: []PublicPlace{}, Areas: []PublicArea{}, Zones: []PublicZone{}}
	for i := range PublicDays {
		m.Days = append(m.Days, from.AddDate(0, 0, i).Format("2006-01-02"))
	}
	districts := geo.Children(prov)
	var units []string
	units = append(units, prov)
	var communes []geo.Unit
	for _, d := range districts {
		units = append(units, d.Code)
		if prov != geo.Country {
			for _, c := range geo.Children(d.Code) {
				units = append(units, c.Code)
				communes = append(communes, c)
			}
		}
	}
	series, err := s.dailyF0(ctx, units, from)
	if err != nil {
		return PublicMap{}, err
	}
	for _, u := range units {
		if series[u] == nil {
			series[u] = make([]int64, PublicDays)
		}
	}
	tree := unitTree{root: prov, children: map[string][]string{}}
	for _, d := range districts {
		tree.children[prov] = append(tree.children[prov], d.Code)
	}
	for _, c := range communes {
		tree.children[c.ParentCode] = append(tree.children[c.ParentCode], c.Code)
	}
	daily, total := publicCells(tree, series, th)
	shown := func(code string, withSeries bool) PublicUnit {
		u, _ := geo.Get(code)
		pu := PublicUnit{Code: code, Name: u.Name}
		days := series[code]
		var d14 int64
		for _, n := range days[PublicDays-14:] {
			d14 += n
		}
		pu.F0Today = Shown{days[PublicDays-1], daily[PublicDays-1][code]}
		pu.F0Days14 = Shown{d14, total[code]}
		if withSeries {
			for i, n := range days {
				pu.Series = append(pu.Series, Shown{n, daily[i][code]})
			}
		}
		return pu
	}
	m.Province = shown(prov, true)
	areas, err := s.activeAreas(ctx, prov, now)
	if err != nil {
		return PublicMap{}, err
	}
	flags := map[string][2]bool{}
	for _, a := range areas {
		f := flags[a.UnitCode]
		if a.Kind == AreaLockdown {
			f[0] = true
		} else {
			f[1] = true
		}
		flags[a.UnitCode] = f
		if a.DistrictCode != a.UnitCode {
			df := flags[a.DistrictCode]
			df[0], df[1] = df[0] || f[0], df[1] || f[1]
			flags[a.DistrictCode] = df
		}
	}
	m.Areas = areas
	for i, d := range districts {
		pu := shown(d.Code, true)
		lat, lon := position(d.Code, i, len(districts))
		pu.Lat, pu.Lon = &lat, &lon
		pu.Lockdown, pu.Quarantine = flags[d.Code][0], flags[d.Code][1]
		m.Districts = append(m.Districts, pu)
	}
	for _, c := range communes {
		pu := shown(c.Code, false)
		pu.DistrictCode = c.ParentCode
		pu.Lockdown, pu.Quarantine = flags[c.Code][0], flags[c.Code][1]
		m.Communes = append(m.Communes, pu)
	}
	if s.Places != nil {
		if m.Places, err = s.publicPlaces(ctx, now.Add(-14*24*time.Hour)); err != nil {
			return PublicMap{}, err
		}
	}
	if s.Zones != nil {
		zs, err := s.Zones.PublicZones(ctx, prov)
		if err != nil {
			return PublicMap{}, err
		}
		if zs != nil {
			m.Zones = zs
		}
	}
	return m, nil
}

// dailyF0 returns, per unit, the confirmed cases of each of the PublicDays days.
func (s *Service) dailyF0(ctx context.Context, units []string, from time.Time) (map[string][]int64, error) {
	out := map[string][]int64{}
	for lo := 0; lo < len(units); lo += 400 {
		chunk := units[lo:min(lo+400, len(units))]
		args := []any{F0, localDay(from)}
		for _, u := range chunk {
			args = append(args, u)
		}
		rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT unit_code, day, n FROM dash_daily
			WHERE metric = $1 AND sector = '' AND day >= $2 AND unit_code IN (%s)`, sqldb.In(3, len(chunk))), args...)
		if err != nil {
			return nil, fmt.Errorf("public map cases: %w", err)
		}
		for rows.Next() {
			var unit string
			var day, n int64
			if err := rows.Scan(&unit, &day, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("public map cases: %w", err)
			}
			di := int(day - localDay(from))
			if di < 0 || di >= PublicDays {
				continue
			}
			if out[unit] == nil {
				out[unit] = make([]int64, PublicDays)
			}
			out[unit][di] += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("public map cases: %w", err)
		}
	}
	return out, nil
}

// publicPlaces resolves exposed venues into what the public may see.
func (s *Service) publicPlaces(ctx context.Context, since time.Time) ([]PublicPlace, error) {
	exposed, err := s.Places.ExposedPlaces(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("public map places: %w", err)
	}
	sort.Slice(exposed, func(i, j int) bool { return exposed[i].From.After(exposed[j].From) })
	if len(exposed) > 1000 {
		exposed = exposed[:1000]
	}
	ids := map[int64]bool{}
	for _, e := range exposed {
		ids[e.VenueID] = true
	}
	venues, err := venue.Briefs(ctx, s.DB, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return nil, fmt.Errorf("public map places: %w", err)
	}
	out := []PublicPlace{}
	for _, e := range exposed {
		v, ok := venues[e.VenueID]
		if !ok {
			continue
		}
		cat, _ := venue.CategoryOf(v.Category)
		c, _ := geo.Get(v.CommuneCode)
		p := PublicPlace{Name: v.Name, Category: v.Category, CategoryName: cat.Name, CommuneCode: v.CommuneCode, CommuneName: c.Name,
			DistrictCode: v.DistrictCode, Lat: v.Lat, Lon: v.Lon, From: e.From.UTC(), To: e.To.UTC()}
		if cat.Kind != venue.KindPlace { // events at homes, moving vehicles
			p.Name, p.Lat, p.Lon = cat.Name, nil, nil
		}
		out = append(out, p)
	}
	return out, nil
}

// geoJSON writes the map as a FeatureCollection: districts (schematic
// points), exposed places (venue points), and areas (no geometry).
func geoJSON(m PublicMap) ([]byte, error) {
	type feature struct {
		Type       string         `json:"type"`
		Geometry   any            `json:"geometry"`
		Properties map[string]any `json:"properties"`
	}
	point := func(lat, lon *float64) any {
		if lat == nil || lon == nil {
			return nil
		}
		return map[string]any{"type": "Point", "coordinates": []float64{*lon, *lat}}
	}
	fs := []feature{}
	for _, d := range m.Districts {
		fs = append(fs, feature{"Feature", point(d.Lat, d.Lon), map[string]any{"kind": "district", "code": d.Code, "name": d.Name,
			"f0_today": d.F0Today, "f0_14d": d.F0Days14, "lockdown": d.Lockdown, "quarantine": d.Quarantine, "schematic": true}})
	}
	for _, p := range m.Places {
		fs = append(fs, feature{"Feature", point(p.Lat, p.Lon), map[string]any{"kind": "place", "name": p.Name, "category": p.Category,
			"category_name": p.CategoryName, "commune_code": p.CommuneCode, "commune_name": p.CommuneName, "from": p.From, "to": p.To}})
	}
	for _, a := range m.Areas {
		fs = append(fs, feature{"Feature", nil, map[string]any{"kind": a.Kind, "label": a.Label, "unit_code": a.UnitCode,
			"unit_name": a.UnitName, "since": a.Since, "until": a.Until}})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"type": "FeatureCollection", "features": fs,
		"properties": map[string]any{"generated_at": m.GeneratedAt, "threshold": m.Threshold}}); err != nil {
		return nil, fmt.Errorf("public map geojson: %w", err)
	}
	return b.Bytes(), nil
}

// PublicCounts hides, of one set of counts of the deployment's units (its
// province and districts, and communes where given), the ones the public
// map would hide by the rules of suppress.go: the press release publishes
// other figures (scans, declarations, Bluezone installs) with the same
// protection, from this one implementation.
func (s *Service) PublicCounts(counts map[string]int64) map[string]Shown {
	th := int64(s.Threshold)
	if th <= 0 {
		th = 3
	}
	prov := s.Province
	if prov == "" {
		prov = geo.Country
	}
	tree := unitTree{root: prov, children: map[string][]string{}}
	for _, d := range geo.Children(prov) {
		tree.children[prov] = append(tree.children[prov], d.Code)
		for _, c := range geo.Children(d.Code) {
			if _, ok := counts[c.Code]; ok {
				tree.children[d.Code] = append(tree.children[d.Code], c.Code)
			}
		}
	}
	hidden := protect(tree, counts, th)
	out := make(map[string]Shown, len(counts))
	for u, n := range counts {
		out[u] = Shown{N: n, Hidden: hidden[u]}
	}
	return out
}
