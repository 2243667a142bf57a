package cases

import (
	"context"
	"fmt"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/venue"
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

// exposures reads a case's (or the map's) exposure rows and names their
// venues through the venue package; province, when not empty, keeps only
// venues of that province (an unknown venue has none).
func (s *Service) exposures(ctx context.Context, province, where string, args ...any) ([]ExposureVenue, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT venue_id, t_from, t_to FROM exposures WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []ExposureVenue
	var ids []int64
	for rows.Next() {
		var e ExposureVenue
		var from, to int64
		if err := rows.Scan(&e.VenueID, &from, &to); err != nil {
			return nil, err
		}
		e.From, e.To = unix(from), unix(to)
		list = append(list, e)
		ids = append(ids, e.VenueID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	briefs, err := venue.Briefs(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, e := range list {
		b, ok := briefs[e.VenueID]
		if province != "" && (!ok || b.ProvinceCode != province) {
			continue
		}
		e.Name, e.Category, e.Address, e.CommuneCode, e.Lat, e.Lon = b.Name, b.Category, b.Address, b.CommuneCode, b.Lat, b.Lon
		out = append(out, e)
	}
	return out, nil
}

// Exposures returns the venues a case exposed, in time order.
func (s *Service) Exposures(ctx context.Context, p *auth.Principal, caseID int64) ([]ExposureVenue, error) {
	if _, _, err := s.Open(ctx, p, caseID); err != nil {
		return nil, err
	}
	out, err := s.exposures(ctx, "", "case_id = $1 ORDER BY t_from, venue_id", caseID)
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
	province := unit
	if unit == "VN" {
		province = ""
	}
	// Only confirmed cases' places: a suspected case is not published.
	list, err := s.exposures(ctx, province, "t_to >= $1 AND case_id IN (SELECT id FROM cases WHERE confirmed_by IS NOT NULL) ORDER BY venue_id, t_from", since.Unix())
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
	if c.Suspected {
		return 0, fmt.Errorf("notify visitors of case %d: %w", caseID, &errs.Invalid{Fields: map[string]string{"status": msg.Both("cases.suspected_not_notified")}})
	}
	if s.Outbox == nil {
		return 0, fmt.Errorf("notify visitors: no message outbox configured")
	}
	if err := s.Rules.Load(ctx); err != nil {
		return 0, err
	}
	exps, err := s.Exposures(ctx, p, caseID)
	if err != nil {
		return 0, err
	}
	queued := 0
	ids := make([]int64, len(exps))
	for i, e := range exps {
		ids[i] = e.VenueID
	}
	owners, err := venue.ContactPhones(ctx, s.DB, s.Vault, ids)
	if err != nil {
		return 0, fmt.Errorf("notify visitors: %w", err)
	}
	for _, e := range exps {
		// The venue first: what to do, never who the F0 is.
		if phone := owners[e.VenueID]; phone != "" {
			body := msg.T("vi", "cases.sms.venue_f0", e.Name, e.From.In(hcm).Format("15:04 02/01"), e.To.In(hcm).Format("15:04 02/01"), s.Hotline)
			if _, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindVenue, To: phone, Body: body,
				DedupKey: fmt.Sprintf("trace:venue-owner:case%d:venue%d", caseID, e.VenueID), Province: c.ProvinceCode}); err != nil {
				return queued, fmt.Errorf("notify visitors: %w", err)
			}
		}
		visitors, err := s.Engine.VenueVisitors(ctx, e.VenueID, e.Category, e.From, e.To, c.PersonID)
		if err != nil {
			return queued, fmt.Errorf("notify visitors: %w", err)
		}
		phones, err := s.People.Phones(ctx, visitors)
		if err != nil {
			return queued, fmt.Errorf("notify visitors: %w", err)
		}
		for _, person := range visitors {
			phone := phones[person]
			if phone == "" {
				continue
			}
			body := msg.T("vi", "cases.long_health_covid_19", e.Name, e.From.In(hcm).Format("15:04 02/01"), e.To.In(hcm).Format("15:04 02/01"), s.Hotline)
			ok, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindExposure, To: phone, Body: body,
				DedupKey: fmt.Sprintf("trace:venue:case%d:venue%d:person%d", caseID, e.VenueID, person), Province: c.ProvinceCode})
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
