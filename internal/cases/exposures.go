package cases

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
)

// ExposureVenue is a place and time an F0 was at while infectious. It
// carries no personal data: this is what the public map shows.
type ExposureVenue struct {
	VenueID     int64     `json:"venue_id"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	Address     string    `json:"address,omitempty"`
	CommuneCode string    `json:"commune_code"`
	Lat         *float64  `json:"lat,omitempty"`
	Lon         *float64  `json:"lon,omitempty"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
}

const exposureSelect = `SELECT e.venue_id, COALESCE(v.name, ''), COALESCE(v.category, ''), COALESCE(v.address, ''), COALESCE(v.commune_code, ''),
	v.lat, v.lon, e.t_from, e.t_to FROM exposures e LEFT JOIN venues v ON v.id = e.venue_id`

func scanExposures(rows *sql.Rows) ([]ExposureVenue, error) {
	defer rows.Close()
	var out []ExposureVenue
	for rows.Next() {
		var e ExposureVenue
		var from, to int64
		if err := rows.Scan(&e.VenueID, &e.Name, &e.Category, &e.Address, &e.CommuneCode, &e.Lat, &e.Lon, &from, &to); err != nil {
			return nil, err
		}
		e.From, e.To = unix(from), unix(to)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Exposures returns the venues a case exposed, in time order.
func (s *Service) Exposures(ctx context.Context, p *auth.Principal, caseID int64) ([]ExposureVenue, error) {
	if _, err := s.Get(ctx, p, caseID); err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, exposureSelect+" WHERE e.case_id = $1 ORDER BY e.t_from, e.venue_id", caseID)
	if err != nil {
		return nil, fmt.Errorf("exposures: %w", err)
	}
	out, err := scanExposures(rows)
	if err != nil {
		return nil, fmt.Errorf("exposures: %w", err)
	}
	return out, nil
}

// PublicExposures returns every exposure venue of the last days within a
// unit (a province, or "VN"): places and times only, with no case, person
// or count that could single anyone out, merged where one venue's times
// touch. It is meant for the public map.
func (s *Service) PublicExposures(ctx context.Context, unit string, since time.Time) ([]ExposureVenue, error) {
	q := exposureSelect + " WHERE e.t_to >= $1"
	args := []any{since.Unix()}
	if unit != "" && unit != "VN" {
		q += " AND v.province_code = $2"
		args = append(args, unit)
	}
	rows, err := s.DB.R.QueryContext(ctx, q+" ORDER BY e.venue_id, e.t_from", args...)
	if err != nil {
		return nil, fmt.Errorf("public exposures: %w", err)
	}
	list, err := scanExposures(rows)
	if err != nil {
		return nil, fmt.Errorf("public exposures: %w", err)
	}
	var out []ExposureVenue
	for _, e := range list {
		if n := len(out); n > 0 && out[n-1].VenueID == e.VenueID && !e.From.After(out[n-1].To) {
			if e.To.After(out[n-1].To) {
				out[n-1].To = e.To
			}
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// NotifyVenueVisitors messages everyone who checked in at a case's exposure
// venues while the F0 was there (any overlap, by the rules' stays), beyond
// the F1 threshold: "watch your health". At most one message per person per
// exposure venue of the case. It returns how many were queued.
func (s *Service) NotifyVenueVisitors(ctx context.Context, p *auth.Principal, caseID int64) (int, error) {
	if !CanTrace(p) {
		return 0, fmt.Errorf("notify visitors: %w", errs.ErrForbidden)
	}
	c, err := s.Get(ctx, p, caseID)
	if err != nil {
		return 0, err
	}
	if s.Outbox == nil {
		return 0, fmt.Errorf("notify visitors: no message outbox configured")
	}
	if err := s.loadRules(ctx); err != nil {
		return 0, err
	}
	exps, err := s.Exposures(ctx, p, caseID)
	if err != nil {
		return 0, err
	}
	q := s.Engine.QR()
	if q == nil {
		return 0, nil
	}
	r := q.Rules()
	r.MinOverlap, r.WithinHour = 0, false
	queued := 0
	for _, e := range exps {
		lo := e.From.Unix() - int64(r.StayCap/time.Second)
		rows, err := s.DB.R.QueryContext(ctx, `SELECT v.person_id, v.t_in, v.t_out, p.phone_enc FROM visits v JOIN people p ON p.id = v.person_id
			WHERE v.venue_id = $1 AND v.t_in >= $2 AND v.t_in <= $3 AND v.person_id <> $4`, e.VenueID, lo, e.To.Unix(), c.PersonID)
		if err != nil {
			return queued, fmt.Errorf("notify visitors: %w", err)
		}
		type target struct {
			person int64
			phone  []byte
		}
		var targets []target
		seen := map[int64]bool{}
		for rows.Next() {
			var person, tIn int64
			var tOut sql.NullInt64
			var phone []byte
			if err := rows.Scan(&person, &tIn, &tOut, &phone); err != nil {
				rows.Close()
				return queued, fmt.Errorf("notify visitors: %w", err)
			}
			var out *int64
			if tOut.Valid {
				out = &tOut.Int64
			}
			a, b := r.Interval(e.Category, tIn, out)
			if b <= e.From.Unix() || a >= e.To.Unix() || seen[person] {
				continue
			}
			seen[person] = true
			targets = append(targets, target{person, phone})
		}
		rows.Close()
		for _, t := range targets {
			phone, err := s.Vault.Open(t.phone)
			if err != nil || phone == "" {
				continue
			}
			body := msg.T("vi", "cases.long_health_covid_19", e.Name, e.From.In(hcm).Format("15:04 02/01"), e.To.In(hcm).Format("15:04 02/01"), s.Hotline)
			ok, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, To: phone, Body: body,
				DedupKey: fmt.Sprintf("trace:venue:case%d:venue%d:person%d", caseID, e.VenueID, t.person)})
			if err != nil {
				return queued, fmt.Errorf("notify visitors: %w", err)
			}
			if ok {
				queued++
			}
		}
	}
	return queued, nil
}
