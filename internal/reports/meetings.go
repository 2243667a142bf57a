package reports

import (
	"anticovid/internal/doortodoor"
	"anticovid/internal/geo"
	"context"
	"time"
)

// Meetings gives the meetings held in a period that have minutes or
// decisions (internal/meeting implements it): the weekly report links them.
type Meetings interface {
	MinutesLinks(ctx context.Context, from, to time.Time) ([]MeetingLink, error)
}

// MeetingLink is one meeting a weekly report links to.
type MeetingLink struct {
	Title string    `json:"title"`
	Start time.Time `json:"start"`
	Unit  string    `json:"unit_code"` // the organising unit
	URL   string    `json:"url"`       // its page: minutes, decisions, attached file
}

// DoorToDoor gives a district's or commune's door-to-door figures over a
// period (internal/doortodoor implements it): the weekly report shows them.
type DoorToDoor interface {
	Week(ctx context.Context, unit string, from, to time.Time) (doortodoor.Figures, error)
}

// meetings lists the week's meetings with minutes; none without a source.
func (s *Service) meetings(ctx context.Context, w Week) ([]MeetingLink, error) {
	if s.Meetings == nil {
		return nil, nil
	}
	from, to := w.Period()
	return s.Meetings.MinutesLinks(ctx, from, to)
}

// WeekMeetings lists a week's meetings with minutes for a gatherer's page.
func (s *Service) WeekMeetings(ctx context.Context, w Week) ([]MeetingLink, error) {
	return s.meetings(ctx, w)
}

func unitNameOf(code string) string {
	if u, ok := geo.Get(code); ok {
		return u.Name
	}
	return code
}
