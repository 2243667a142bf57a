package web

import (
	"errors"
	"fmt"
	"net/http"

	"anticovid/internal/doortodoor"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// doorHeader carries a volunteer team's link token to the API (not in the
// URL, so the API's access logs never hold it).
const doorHeader = "X-Door-Link"

// routesDoorVolunteer registers the volunteers' phone page, which works
// offline for a morning: a service worker (served under the page's path,
// so its scope covers it) keeps the page and its assets, IndexedDB keeps
// the household list and the queue of visits, which the page sends when
// back online (static/door.js, static/door-sw.js).
func (s *Server) routesDoorVolunteer() {
	s.page("GET /di-tung-nha/{token}", false, s.doorVolunteerPage)
	s.mux.HandleFunc("GET /di-tung-nha/sw.js", s.doorServiceWorker)
	s.api("GET", "/api/v1/door/households", s.apiDoorHouseholds)
	s.api("POST", "/api/v1/door/visits", s.apiDoorVisits)
}

// volunteer checks the link token of an API request.
func (s *Server) volunteer(r *http.Request) (doortodoor.Volunteer, error) {
	v, err := s.DoorToDoor.Open(r.Context(), r.Header.Get(doorHeader))
	if errors.Is(err, doortodoor.ErrBadLink) || errors.Is(err, doortodoor.ErrLinkExpired) {
		return v, fmt.Errorf("door link: %w: %w", err, errs.ErrUnauthorized)
	}
	return v, err
}

// doorHouseholdsAnswer is what a volunteer's phone keeps for the morning.
type doorHouseholdsAnswer struct {
	Team       doortodoor.Team        `json:"team"`
	Commune    string                 `json:"commune_name"`
	Expires    string                 `json:"expires"` // dd/mm/yyyy HH:mm, Vietnam time
	Households []doortodoor.Household `json:"households"`
}

func (s *Server) apiDoorHouseholds(w http.ResponseWriter, r *http.Request) error {
	v, err := s.volunteer(r)
	if err != nil {
		return err
	}
	hs, err := s.DoorToDoor.TeamHouseholds(r.Context(), v)
	if err != nil {
		return err
	}
	if hs == nil {
		hs = []doortodoor.Household{}
	}
	c, _ := geo.Get(v.Team.Commune)
	writeJSON(w, http.StatusOK, doorHouseholdsAnswer{Team: v.Team, Commune: c.Name, Expires: localTimeOf(v.Expires), Households: hs})
	return nil
}

// doorVisitsInput is a batch of queued visits.
type doorVisitsInput struct {
	Visits []doortodoor.Visit `json:"visits"`
}

// doorVisitsAnswer says what became of each visit sent, in order.
type doorVisitsAnswer struct {
	Results []doortodoor.SyncResult `json:"results"`
}

func (s *Server) apiDoorVisits(w http.ResponseWriter, r *http.Request) error {
	v, err := s.volunteer(r)
	if err != nil {
		return err
	}
	var in doorVisitsInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.DoorToDoor.Sync(r.Context(), v, in.Visits)
	if err != nil {
		return err
	}
	s.log.Info("door visits synced", "team", v.Team.ID, "visits", len(res))
	writeJSON(w, http.StatusOK, doorVisitsAnswer{Results: res})
	return nil
}

// doorVolunteerPage is the page a team's link opens. It carries no
// household: the script fetches them with the token and keeps them, so
// the page the service worker cached works offline as it is.
func (s *Server) doorVolunteerPage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the path
	tok := r.PathValue("token")
	v, err := s.DoorToDoor.Open(r.Context(), tok)
	if err != nil {
		l := lang(w, r)
		status, key := http.StatusForbidden, "door.link_bad"
		switch {
		case errors.Is(err, doortodoor.ErrLinkExpired):
			status, key = http.StatusGone, "door.link_expired"
		case !errors.Is(err, doortodoor.ErrBadLink):
			return err
		}
		s.render(w, r, status, "doortodoor_link", map[string]any{"Message": msg.T(l, key)})
		return nil
	}
	c, _ := geo.Get(v.Team.Commune)
	s.render(w, r, http.StatusOK, "doortodoor_volunteer", map[string]any{"Token": tok, "Team": v.Team, "Commune": c.Name,
		"Until": localTimeOf(v.Expires), "Outcomes": doortodoor.Outcomes})
	return nil
}

// doorServiceWorker serves the volunteers' service worker from the page's
// own path, so it may control /di-tung-nha/ pages; it is checked on every
// load (max-age=0) so a new release reaches phones.
func (s *Server) doorServiceWorker(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/door-sw.js")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=0, must-revalidate")
	w.Write(b)
}
