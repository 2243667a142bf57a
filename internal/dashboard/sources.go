package dashboard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

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

// venueInfo is what the check-in count needs of a venue.
type venueInfo struct {
	commune, category string
}

// CheckinSource counts check-ins (rows of visits) per hour, by the venue's
// commune and sector, and remembers the day each venue was last scanned.
type CheckinSource struct {
	DB *sqldb.DB

	mu     sync.Mutex
	venues map[int64]venueInfo
	loaded time.Time
	marked map[int64]int64 // venue id → last day written to dash_venue_seen
}

// Metrics implements HourlySource.
func (c *CheckinSource) Metrics() []string { return []string{Checkins} }

// localDay numbers days in Asia/Ho_Chi_Minh (UTC+7, no DST since 1975).
func localDay(t time.Time) int64 { return (t.Unix() + 7*3600) / 86400 }

// CountRange implements HourlySource.
func (c *CheckinSource) CountRange(ctx context.Context, from, to time.Time) ([]Count, error) {
	rows, err := c.DB.R.QueryContext(ctx, "SELECT venue_id, count(*) FROM visits WHERE t_in >= $1 AND t_in < $2 GROUP BY venue_id",
		from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("count check-ins: %w", err)
	}
	perVenue := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count check-ins: %w", err)
		}
		perVenue[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count check-ins: %w", err)
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
		sum[[2]string{v.commune, v.category}] += n
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
func (c *CheckinSource) lookup(ctx context.Context, ids map[int64]int64) (map[int64]venueInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.venues == nil || time.Since(c.loaded) > 10*time.Minute {
		all, err := loadVenues(ctx, c.DB, "", nil)
		if err != nil {
			return nil, err
		}
		c.venues, c.loaded = all, time.Now()
	}
	var missing []any
	for id := range ids {
		if _, ok := c.venues[id]; !ok {
			missing = append(missing, id)
		}
	}
	for len(missing) > 0 {
		chunk := missing[:min(len(missing), 500)]
		missing = missing[len(chunk):]
		more, err := loadVenues(ctx, c.DB, " WHERE id IN ("+sqldb.In(1, len(chunk))+")", chunk)
		if err != nil {
			return nil, err
		}
		for id, v := range more {
			c.venues[id] = v
		}
	}
	return c.venues, nil
}

func loadVenues(ctx context.Context, db *sqldb.DB, where string, args []any) (map[int64]venueInfo, error) {
	rows, err := db.R.QueryContext(ctx, "SELECT id, commune_code, category FROM venues"+where, args...)
	if err != nil {
		return nil, fmt.Errorf("venues for counting: %w", err)
	}
	defer rows.Close()
	out := map[int64]venueInfo{}
	for rows.Next() {
		var id int64
		var v venueInfo
		if err := rows.Scan(&id, &v.commune, &v.category); err != nil {
			return nil, fmt.Errorf("venues for counting: %w", err)
		}
		out[id] = v
	}
	return out, rows.Err()
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

// Gauges implements GaugeSource.
func (g VenueGauges) Gauges(ctx context.Context, now time.Time) ([]Count, error) {
	rows, err := g.DB.R.QueryContext(ctx, `SELECT v.commune_code, v.category, count(*),
		COALESCE(sum(CASE WHEN s.day > $1 THEN 1 ELSE 0 END), 0)
		FROM venues v LEFT JOIN dash_venue_seen s ON s.venue_id = v.id
		WHERE v.status = $2 GROUP BY v.commune_code, v.category`, localDay(now)-RecentDays, venue.StatusApproved)
	if err != nil {
		return nil, fmt.Errorf("venue gauges: %w", err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var commune, category string
		var n, scanning int64
		if err := rows.Scan(&commune, &category, &n, &scanning); err != nil {
			return nil, fmt.Errorf("venue gauges: %w", err)
		}
		cat, _ := venue.CategoryOf(category)
		out = append(out,
			Count{commune, cat.Department, Venues, n},
			Count{commune, cat.Department, VenuesScanning, scanning},
			Count{commune, cat.Department, Venues + ":" + category, n},
			Count{commune, cat.Department, VenuesScanning + ":" + category, scanning})
	}
	return out, rows.Err()
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
	rows, err := d.DB.R.QueryContext(ctx, `SELECT commune_code, count(*),
		COALESCE(sum(CASE WHEN has_symptoms <> 0 OR had_contact <> 0 THEN 1 ELSE 0 END), 0)
		FROM declarations WHERE created_at >= $1 AND created_at < $2 GROUP BY commune_code`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("count declarations: %w", err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var commune string
		var n, flagged int64
		if err := rows.Scan(&commune, &n, &flagged); err != nil {
			return nil, fmt.Errorf("count declarations: %w", err)
		}
		out = append(out, Count{commune, "", Declarations, n}, Count{commune, "", DeclarationsFlagged, flagged})
	}
	return out, rows.Err()
}
