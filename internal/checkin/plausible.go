package checkin

import (
	"math"
	"strconv"
	"sync"
	"time"

	"anticovid/internal/geo"
	"anticovid/internal/venue"
)

// Reasons a scan is held for review (visits_held.reason).
const (
	ReasonSpeed = "speed" // the same person at two venues too far apart for the time between
	ReasonDaily = "daily" // more check-ins by one person in a day than anyone makes
	ReasonBurst = "burst" // many people at one venue from one client address within minutes
)

// The plausibility rules' thresholds.
const (
	// MaxSpeedKmh is the fastest a person is believed to travel between two
	// venues: a car on a Vietnamese expressway (limit 120 km/h). Flights are
	// not covered: an airport's venues and the destination's are hours apart.
	MaxSpeedKmh = 120
	// positionSlackKm forgives venue coordinates typed or geocoded up to a
	// couple of kilometres off, so two neighbouring venues scanned a minute
	// apart are never "too fast".
	positionSlackKm = 2
	// ProvinceGap: without coordinates for both venues, scans in two different
	// provinces this close together are held (no two provinces' venues are
	// reached in less, bar the few right on a border, which an officer
	// releases).
	ProvinceGap = 20 * time.Minute
	// DailyCap is the most check-ins one person makes in a day (Vietnam time).
	// A delivery rider, the busiest honest scanner, made 40–80 stops a day in
	// 2021 and scanned at each; 150 leaves that half again, while the issue's
	// "hundreds of check-ins by one phone" are held.
	DailyCap = 150
	// BurstWindow and BurstPeople: more than BurstPeople distinct people newly
	// typed in (details, not a person token, and not proven) at one venue from
	// one client address within BurstWindow are held. A family phone checks in
	// a handful of people; a script forging victims checks in dozens. A busy
	// market behind one carrier-grade NAT address is not held wholesale:
	// returning phones send their person token and proven phones their proof,
	// and neither is counted, so only first-time phones are; and a venue that
	// declared a capacity above BurstPeople gets its capacity as the threshold.
	BurstWindow = 10 * time.Minute
	BurstPeople = 30
	// maxBurstPeople bounds the memory one venue and address can take.
	maxBurstPeople = 2000
	// trailKeep: a person's last position older than this cannot make any
	// later scan too fast (Vietnam is 1,650 km long: under 14 h at 120 km/h).
	trailKeep = 24 * time.Hour
	// screenEntries bounds each of the two generations of the rules' maps, so
	// memory stays bounded (about 100 bytes an entry) whatever the traffic.
	screenEntries = 500_000
)

// vnOffset puts day boundaries at midnight in Asia/Ho_Chi_Minh (UTC+7, no DST).
const vnOffset = 7 * 3600

// screen applies the plausibility rules to the scans this server receives,
// in memory: one mutex and two map look-ups a scan, no database round trip.
//
// With several servers each applies them to what it sees: a load balancer
// that spreads requests at random shows a server only its share of a
// person's scans, so the speed and daily rules catch a pair or a day's
// excess only when it lands on the same server (a daily cap of 150 becomes
// up to 150 × servers in the worst case); the burst rule stays exact when
// the balancer keeps a client address on one server (hashing by address),
// and is otherwise loosened by the number of servers. A restart forgets what
// was seen. The rules are a net under the evidence grades, not a proof:
// docs/SCALING.md says more.
type screen struct {
	mu     sync.Mutex
	trails gens[int64, trail]
	bursts gens[burstKey, []burstSeen]
}

// trail is what the rules remember of a person.
type trail struct {
	venue    int64
	lat, lon float64
	pos      bool // lat/lon known
	province string
	at       int64 // unix seconds of the last accepted scan
	day      int64 // Vietnam day of count
	count    int   // check-ins that day
}

type burstKey struct {
	venue int64
	addr  string // keyed hash of the client address
}

type burstSeen struct {
	who string // person id or keyed hash of the typed phone
	at  int64
}

// gens is a map bounded by generations: when the current one is full it
// becomes the old one and the older is dropped, so recent entries survive.
type gens[K comparable, V any] struct {
	cur, old map[K]V
}

func (g *gens[K, V]) get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.old[k]
	return v, ok
}

func (g *gens[K, V]) put(k K, v V) {
	if g.cur == nil {
		g.cur = map[K]V{}
	}
	if _, ok := g.cur[k]; !ok && len(g.cur) >= screenEntries {
		g.old, g.cur = g.cur, map[K]V{}
	}
	g.cur[k] = v
}

// place is where and when a scan happened, as the rules see it.
type place struct {
	venue    int64
	lat, lon float64
	pos      bool
	province string
	at       int64
	in       bool // a check-in (counted by the daily cap)
}

func placeOf(v venue.Venue, at int64, dir string) place {
	p := place{venue: v.ID, at: at, in: dir == In}
	if v.Lat != nil && v.Lon != nil {
		p.lat, p.lon, p.pos = *v.Lat, *v.Lon, true
	}
	if u, ok := geo.Ancestor(v.CommuneCode, "province"); ok {
		p.province = u.Code
	}
	return p
}

// verdict is why a scan is held ("" when it is not) and the figures behind it.
type verdict struct {
	reason  string
	details string // key=value pairs for the reviewer's page
}

// person checks a scan by a known person against what this server saw of
// them, and remembers it when it is plausible.
func (sc *screen) person(id int64, p place) verdict {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	t, seen := sc.trails.get(id)
	if seen {
		if v := tooFast(t, p); v.reason != "" {
			return v
		}
		if p.in && t.day == day(p.at) && t.count >= DailyCap {
			return verdict{ReasonDaily, "count=" + strconv.Itoa(t.count+1)}
		}
	}
	sc.note(id, t, seen, p)
	return verdict{}
}

// remember records a plausible scan of a person the server resolved only
// while writing it (a phone's first scan here: nothing to compare with).
func (sc *screen) remember(id int64, p place) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	t, seen := sc.trails.get(id)
	sc.note(id, t, seen, p)
}

func (sc *screen) note(id int64, t trail, seen bool, p place) {
	d := day(p.at)
	if !seen || t.day != d {
		t.day, t.count = d, 0
	}
	if p.in {
		t.count++
	}
	if !seen || p.at >= t.at { // an older queued scan does not move the trail back
		t.venue, t.lat, t.lon, t.pos, t.province, t.at = p.venue, p.lat, p.lon, p.pos, p.province, p.at
	}
	sc.trails.put(id, t)
}

func day(at int64) int64 { return (at + vnOffset) / 86400 }

// tooFast reports a move from the person's last place to p that no one makes.
func tooFast(t trail, p place) verdict {
	if t.venue == p.venue {
		return verdict{}
	}
	gap := p.at - t.at
	if gap < 0 {
		gap = -gap
	}
	if gap > int64(trailKeep.Seconds()) {
		return verdict{}
	}
	minutes := strconv.FormatInt(gap/60, 10)
	from := "from=" + strconv.FormatInt(t.venue, 10)
	if t.pos && p.pos {
		km := distanceKm(t.lat, t.lon, p.lat, p.lon)
		if km-positionSlackKm > MaxSpeedKmh*float64(gap)/3600 {
			return verdict{ReasonSpeed, from + " km=" + strconv.FormatFloat(km, 'f', 1, 64) + " minutes=" + minutes}
		}
		return verdict{}
	}
	if t.province != "" && p.province != "" && t.province != p.province && gap < int64(ProvinceGap.Seconds()) {
		return verdict{ReasonSpeed, from + " minutes=" + minutes}
	}
	return verdict{}
}

// distanceKm is the great-circle distance between two points.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// burst counts a newly typed, unproven person at a venue from a client
// address (received at now, the server's clock) and holds the scan when the
// venue's threshold of such people in BurstWindow is passed.
func (sc *screen) burst(v venue.Venue, addr, who string, now int64) verdict {
	limit := max(BurstPeople, min(v.Capacity, maxBurstPeople))
	k := burstKey{v.ID, addr}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	seen, _ := sc.bursts.get(k)
	kept := seen[:0]
	for _, b := range seen {
		if now-b.at < int64(BurstWindow.Seconds()) {
			kept = append(kept, b)
		}
	}
	for i, b := range kept {
		if b.who == who {
			kept[i].at = now
			sc.bursts.put(k, kept)
			return verdict{}
		}
	}
	if len(kept) >= limit {
		sc.bursts.put(k, kept)
		return verdict{ReasonBurst, "count=" + strconv.Itoa(len(kept)+1) + " minutes=" + strconv.Itoa(int(BurstWindow.Minutes()))}
	}
	sc.bursts.put(k, append(kept, burstSeen{who, now}))
	return verdict{}
}
