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
	rows, err := s.DB.R.QueryContext(ctx, `SELECT x.t_in, x.t_out, p.phone_enc FROM visits x JOIN people p ON p.id = x.person_id
		WHERE x.venue_id = $1 AND x.t_in >= $2 ORDER BY x.t_in DESC`, v.ID, from)
	if err != nil {
		return VenueDay{}, fmt.Errorf("venue day: %w", err)
	}
	defer rows.Close()
	out := VenueDay{Inside: []Stay{}, Recent: []Stay{}}
	for rows.Next() {
		var tIn int64
		var tOut *int64
		var phone []byte
		if err := rows.Scan(&tIn, &tOut, &phone); err != nil {
			return VenueDay{}, fmt.Errorf("venue day: %w", err)
		}
		ph, err := s.Vault.Open(phone)
		if err != nil {
			return VenueDay{}, fmt.Errorf("venue day: %w", err)
		}
		st := Stay{In: time.Unix(tIn, 0).UTC(), Person: people.MaskPhone(ph)}
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
	return out, rows.Err()
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
	where, args := u.Level+"_code = $1", []any{unit, now.Add(-7 * 24 * time.Hour).Unix(), now.Add(-3 * 24 * time.Hour).Unix()}
	sector, sargs := venue.SectorSQL(p, len(args)+1)
	where, args = where+sector, append(args, sargs...)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT v.id, v.name, v.category, v.commune_code,
		(SELECT count(*) FROM visits x WHERE x.venue_id = v.id AND x.t_in >= $2),
		(SELECT count(*) FROM visits x WHERE x.venue_id = v.id AND x.t_in >= $3)
		FROM venues v WHERE v.status = 'approved' AND `+where+` ORDER BY v.category, v.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	defer rows.Close()
	out := []VenueScans{}
	for rows.Next() {
		var v VenueScans
		if err := rows.Scan(&v.ID, &v.Name, &v.Category, &v.Commune, &v.Scans7d, &v.Scans3d); err != nil {
			return nil, fmt.Errorf("activity: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
