package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"anticovid/internal/checkin"
	"anticovid/internal/declaration"
	"anticovid/internal/sqldb"
	"anticovid/internal/venue"
)

// Metric names. Hourly metrics count events; gauges are current values.
// Other modules may add their own metric names; these are the ones the
// dashboard and the public map know how to show.
const (
	Checkins            = "checkins"             // check-ins, by the venue's commune and sector
	Declarations        = "declarations"         // health declarations, by the declarant's commune
	DeclarationsFlagged = "declarations_flagged" // declarations with symptoms or a contact
	F0                  = "f0"                   // confirmed cases, by the hour of confirmation
	F1                  = "f1"                   // close contacts identified

	Venues           = "venues"            // approved venues (gauge; per category as "venues:CODE")
	VenuesScanning   = "venues_scanning"   // approved venues scanned in the last RecentDays days
	Quarantined      = "quarantined"       // people in quarantine now (gauge)
	BluezoneInstalls = "bluezone_installs" // phones with Bluezone registered (gauge)
	SmartphoneUsers  = "smartphone_users"  // smartphone users the Bluezone target is measured against
)

// RecentDays is how recent a scan must be for a venue to count as scanning:
// a week, so a venue open only some days of the week is not counted out.
const RecentDays = 7

// sectored metrics are split by the sector (department) responsible for the
// venue's category; the others are the same for every sector.
func sectored(metric string) bool {
	return metric == Checkins || metric == Venues || metric == VenuesScanning ||
		strings.HasPrefix(metric, Venues+":") || strings.HasPrefix(metric, VenuesScanning+":")
}

// Count is a number of events, or a current value, at one commune. Sector is
// the department code responsible (a sectored metric), or "".
type Count struct {
	Commune string
	Sector  string
	Metric  string
	N       int64
}

// HourlySource counts events of its metrics in [from, to) by commune. The
// refresher calls it for one hour at a time, so the query is one range scan
// of an index on the event time. Modules being built elsewhere (cases: F0,
// F1) implement it over their own tables and are added to Service.Hourly.
type HourlySource interface {
	Metrics() []string
	CountRange(ctx context.Context, from, to time.Time) ([]Count, error)
}

// GaugeSource reports current values by commune (people in quarantine,
// Bluezone installs and smartphone users). It is called about once a minute.
type GaugeSource interface {
	Metrics() []string
	Gauges(ctx context.Context, now time.Time) ([]Count, error)
}

// CheckinSource counts check-ins (rows of visits) per hour, by the venue's
// commune and sector, and remembers the day each venue was last scanned.
type CheckinSource struct {
	DB *sqldb.DB

	mu     sync.Mutex
	venues map[int64]venue.Located
	loaded time.Time
	marked map[int64]int64 // venue id → last day written to dash_venue_seen
}

// Metrics implements HourlySource.
func (c *CheckinSource) Metrics() []string { return []string{Checkins} }

// localDay numbers days in Asia/Ho_Chi_Minh (UTC+7, no DST since 1975).
func localDay(t time.Time) int64 { return (t.Unix() + 7*3600) / 86400 }

// CountRange implements HourlySource.
func (c *CheckinSource) CountRange(ctx context.Context, from, to time.Time) ([]Count, error) {
	perVenue, err := checkin.CountByVenue(ctx, c.DB, from, to)
	if err != nil {
		return nil, err
	}
	info, err := c.lookup(ctx, perVenue)
	if err != nil {
		return nil, err
	}
	sum := map[[2]string]int64{}
	for id, n := range perVenue {
		v, ok := info[id]
		if !ok {
			continue // a visit at a venue deleted since
		}
		sum[[2]string{v.Commune, v.Category}] += n
	}
	out := make([]Count, 0, len(sum))
	for k, n := range sum {
		cat, _ := venue.CategoryOf(k[1])
		out = append(out, Count{Commune: k[0], Sector: cat.Department, Metric: Checkins, N: n})
	}
	if err := c.markSeen(ctx, perVenue, localDay(to.Add(-time.Second))); err != nil {
		return nil, err
	}
	return out, nil
}

// lookup returns the commune and category of each venue, from a cache of
// every venue reloaded every ten minutes, and a query for any it misses.
func (c *CheckinSource) lookup(ctx context.Context, ids map[int64]int64) (map[int64]venue.Located, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.venues == nil || time.Since(c.loaded) > 10*time.Minute {
		all, err := venue.Locate(ctx, c.DB, nil)
		if err != nil {
			return nil, err
		}
		c.venues, c.loaded = all, time.Now()
	}
	missing := []int64{}
	for id := range ids {
		if _, ok := c.venues[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		more, err := venue.Locate(ctx, c.DB, missing)
		if err != nil {
			return nil, err
		}
		maps.Copy(c.venues, more)
	}
	return c.venues, nil
}

// markSeen records day as the last scan day of each venue, writing each
// venue at most once a day.
func (c *CheckinSource) markSeen(ctx context.Context, venues map[int64]int64, day int64) error {
	c.mu.Lock()
	if c.marked == nil {
		c.marked = map[int64]int64{}
	}
	var ids []int64
	for id := range venues {
		if c.marked[id] < day {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 200)]
		ids = ids[len(chunk):]
		var b strings.Builder
		args := make([]any, 0, 2*len(chunk))
		b.WriteString("INSERT INTO dash_venue_seen (venue_id, day) VALUES ")
		for i, id := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "($%d, $%d)", 2*i+1, 2*i+2)
			args = append(args, id, day)
		}
		b.WriteString(" ON CONFLICT (venue_id) DO UPDATE SET day = excluded.day WHERE dash_venue_seen.day < excluded.day")
		if _, err := c.DB.W.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("mark venues seen: %w", err)
		}
		c.mu.Lock()
		for _, id := range chunk {
			c.marked[id] = max(c.marked[id], day)
		}
		c.mu.Unlock()
	}
	return nil
}

// VenueGauges reports approved venues and venues scanned recently, in total
// and by category, by commune.
type VenueGauges struct {
	DB *sqldb.DB
}

// Metrics implements GaugeSource.
func (VenueGauges) Metrics() []string {
	out := []string{Venues, VenuesScanning}
	for _, c := range venue.Categories {
		out = append(out, Venues+":"+c.Code, VenuesScanning+":"+c.Code)
	}
	return out
}

// Gauges implements GaugeSource. The venue package says which venues are
// approved and where; the days they were last scanned are this package's
// own (dash_venue_seen).
func (g VenueGauges) Gauges(ctx context.Context, now time.Time) ([]Count, error) {
	all, err := venue.Locate(ctx, g.DB, nil)
	if err != nil {
		return nil, fmt.Errorf("venue gauges: %w", err)
	}
	seen, err := g.lastSeen(ctx)
	if err != nil {
		return nil, fmt.Errorf("venue gauges: %w", err)
	}
	type key struct{ commune, category string }
	n, scanning := map[key]int64{}, map[key]int64{}
	for id, l := range all {
		if !l.Approved {
			continue
		}
		k := key{l.Commune, l.Category}
		n[k]++
		if seen[id] > localDay(now)-RecentDays {
			scanning[k]++
		}
	}
	keys := slices.SortedFunc(maps.Keys(n), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.commune, b.commune), cmp.Compare(a.category, b.category))
	})
	var out []Count
	for _, k := range keys {
		cat, _ := venue.CategoryOf(k.category)
		out = append(out,
			Count{k.commune, cat.Department, Venues, n[k]},
			Count{k.commune, cat.Department, VenuesScanning, scanning[k]},
			Count{k.commune, cat.Department, Venues + ":" + k.category, n[k]},
			Count{k.commune, cat.Department, VenuesScanning + ":" + k.category, scanning[k]})
	}
	return out, nil
}

// lastSeen returns the local day each venue was last scanned, by venue.
func (g VenueGauges) lastSeen(ctx context.Context) (map[int64]int64, error) {
	rows, err := g.DB.R.QueryContext(ctx, "SELECT venue_id, day FROM dash_venue_seen")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[int64]int64{}
	for rows.Next() {
		var id, day int64
		if err := rows.Scan(&id, &day); err != nil {
			return nil, err
		}
		seen[id] = day
	}
	return seen, rows.Err()
}

// DeclarationSource counts health declarations (the declarations table of
// migration 0003) by the declarant's commune; flagged ones report symptoms
// or a contact with a case.
type DeclarationSource struct {
	DB *sqldb.DB
}

// Metrics implements HourlySource.
func (DeclarationSource) Metrics() []string { return []string{Declarations, DeclarationsFlagged} }

// CountRange implements HourlySource.
func (d DeclarationSource) CountRange(ctx context.Context, from, to time.Time) ([]Count, error) {
	var out []Count
	if err := declaration.CountBy(ctx, d.DB, from, to, func(commune string, n, flagged int64) {
		out = append(out, Count{commune, "", Declarations, n}, Count{commune, "", DeclarationsFlagged, flagged})
	}); err != nil {
		return nil, err
	}
	return out, nil
}
