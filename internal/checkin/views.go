package checkin

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/venue"
)

// hcm is Asia/Ho_Chi_Minh (no daylight saving since 1975): "today" is a local day.
var hcm = time.FixedZone("ICT", 7*3600)

// Stay is one visit as a venue's staff see it: the person masked.
type Stay struct {
	In     time.Time  `json:"in"`
	Out    *time.Time `json:"out,omitempty"`
	Person string     `json:"person"` // masked phone
}

// VenueDay is a venue manager's view: who is inside now and today's flow.
type VenueDay struct {
	Inside  []Stay `json:"inside"`
	Entries int    `json:"entries_today"`
	Exits   int    `json:"exits_today"`
	Recent  []Stay `json:"recent"`
}

// Day returns the venue's view at now. A stay without a check-out counts as
// inside until the category's default stay has passed: that is when it closes.
func (s *Service) Day(ctx context.Context, v venue.Venue, now time.Time) (VenueDay, error) {
	cat, _ := venue.CategoryOf(v.Category)
	y, m, d := now.In(hcm).Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, hcm).Unix()
	stay := int64(cat.DefaultStay.Seconds())
	from := min(dayStart, now.Unix()-stay)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT t_in, t_out, person_id FROM visits
		WHERE venue_id = $1 AND t_in >= $2 ORDER BY t_in DESC`, v.ID, from)
	if err != nil {
		return VenueDay{}, fmt.Errorf("venue day: %w", err)
	}
	type visit struct {
		in     int64
		out    *int64
		person int64
	}
	var visits []visit
	var ids []int64
	for rows.Next() {
		var x visit
		if err := rows.Scan(&x.in, &x.out, &x.person); err != nil {
			rows.Close()
			return VenueDay{}, fmt.Errorf("venue day: %w", err)
		}
		visits = append(visits, x)
		ids = append(ids, x.person)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return VenueDay{}, fmt.Errorf("venue day: %w", err)
	}
	who, err := s.People.Personal(ctx, ids)
	if err != nil {
		return VenueDay{}, fmt.Errorf("venue day: %w", err)
	}
	out := VenueDay{Inside: []Stay{}, Recent: []Stay{}}
	for _, x := range visits {
		pr, ok := who[x.person]
		if !ok {
			continue // a visit of someone no longer registered
		}
		tIn, tOut := x.in, x.out
		st := Stay{In: time.Unix(tIn, 0).UTC(), Person: people.MaskPhone(pr.Phone)}
		if tOut != nil {
			o := time.Unix(*tOut, 0).UTC()
			st.Out = &o
		}
		now := now.Unix()
		if tIn <= now && ((tOut == nil && tIn > now-stay) || (tOut != nil && *tOut > now)) {
			out.Inside = append(out.Inside, st)
		}
		if tIn >= dayStart {
			out.Entries++
			if len(out.Recent) < 50 {
				out.Recent = append(out.Recent, st)
			}
		}
		if tOut != nil && *tOut >= dayStart && *tOut <= now {
			out.Exits++
		}
	}
	return out, nil
}

// VenueScans is one venue's recent scanning, for commune and district views.
type VenueScans struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Commune  string `json:"commune_code"`
	Scans7d  int    `json:"scans_7d"`
	Scans3d  int    `json:"scans_3d"`
}

// Dead reports a registered venue with no scan in the last 3 days: its poster
// is missing, hidden, or ignored.
func (v VenueScans) Dead() bool { return v.Scans3d == 0 }

// Activity lists the approved venues of a commune or district in the caller's
// jurisdiction with their scans over the last 7 and 3 days. Each venue is one
// index range probe on visits(venue_id, t_in): no scan of the visits table.
func (s *Service) Activity(ctx context.Context, p *auth.Principal, unit string, now time.Time) ([]VenueScans, error) {
	u, ok := geo.Get(unit)
	if !ok || (u.Level != "commune" && u.Level != "district") {
		return nil, fmt.Errorf("activity: %w", &errs.Invalid{Fields: map[string]string{"unit": msg.Both("checkin.choose_commune_or_district")}})
	}
	if !p.InJurisdiction(unit) {
		return nil, fmt.Errorf("activity %s: %w", unit, errs.ErrForbidden)
	}
	venues, err := venue.ApprovedIn(ctx, s.DB, p, u.Level, unit)
	if err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	ids := make([]int64, len(venues))
	for i, v := range venues {
		ids[i] = v.ID
	}
	n7, n3, err := s.scansSince(ctx, ids, now.Add(-7*24*time.Hour).Unix(), now.Add(-3*24*time.Hour).Unix())
	if err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	out := make([]VenueScans, 0, len(venues))
	for _, v := range venues {
		out = append(out, VenueScans{ID: v.ID, Name: v.Name, Category: v.Category, Commune: v.CommuneCode, Scans7d: n7[v.ID], Scans3d: n3[v.ID]})
	}
	return out, nil
}

// scansSince counts the check-ins at each venue since a and since b (b ≥ a),
// by venue: index range reads on visits(venue_id, t_in), 500 venues a statement.
func (s *Service) scansSince(ctx context.Context, ids []int64, a, b int64) (map[int64]int, map[int64]int, error) {
	na, nb := map[int64]int{}, map[int64]int{}
	err := sqldb.Chunks(ids, []any{a, b}, func(in string, args []any) error {
		rows, err := s.DB.R.QueryContext(ctx, `SELECT venue_id, count(*), COALESCE(sum(CASE WHEN t_in >= $2 THEN 1 ELSE 0 END), 0)
			FROM visits WHERE venue_id IN (`+in+`) AND t_in >= $1 GROUP BY venue_id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var x, y int
			if err := rows.Scan(&id, &x, &y); err != nil {
				rows.Close()
				return err
			}
			na[id], nb[id] = x, y
		}
		rows.Close()
		return rows.Err()
	})
	return na, nb, err
}
