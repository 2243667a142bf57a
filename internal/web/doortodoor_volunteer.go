package web

import (
	"errors"
	"fmt"
	"net/http"

	"anticovid/internal/declaration"
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
	return volunteerErr(s.DoorToDoor.Open(r.Context(), r.Header.Get(doorHeader)))
}

// volunteerErr answers a link's refusal as 401.
func volunteerErr(v doortodoor.Volunteer, err error) (doortodoor.Volunteer, error) {
	if errors.Is(err, doortodoor.ErrBadLink) || errors.Is(err, doortodoor.ErrLinkExpired) {
		return v, fmt.Errorf("door link: %w: %w", err, errs.ErrUnauthorized)
	}
	return v, err
}

// doorHouseholdsAnswer is what a volunteer's phone keeps for the morning.
type doorHouseholdsAnswer struct {
	Team       doortodoor.Team        `json:"team"`
	Commune    string                 `json:"commune_name"`
	Expires    string                 `json:"expires"`    // dd/mm/yyyy HH:mm, Vietnam time
	PublicKey  string                 `json:"public_key"` // the team's P-256 key that declarations are sealed to
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
	writeJSON(w, http.StatusOK, doorHouseholdsAnswer{Team: v.Team, Commune: c.Name, Expires: localTimeOf(v.Expires), PublicKey: v.PublicKey, Households: hs})
	return nil
}

// apiDoorVisits takes a phone's queue: visits and sealed declarations
// (doortodoor.Batch), through a link valid or expired less than
// doortodoor.SyncGrace ago. The log names counts only.
func (s *Server) apiDoorVisits(w http.ResponseWriter, r *http.Request) error {
	v, err := volunteerErr(s.DoorToDoor.OpenSync(r.Context(), r.Header.Get(doorHeader)))
	if err != nil {
		return err
	}
	var in doortodoor.Batch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.DoorToDoor.Sync(r.Context(), v, in)
	if err != nil {
		return err
	}
	s.log.Info("door visits synced", "team", v.Team.ID, "visits", len(res.Visits), "declarations", len(res.Declarations), "expired_link", v.Expired)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// doorVolunteerPage is the page a team's link opens. It carries no
// household: the script fetches them with the token and keeps them, so
// the page the service worker cached works offline as it is.
func (s *Server) doorVolunteerPage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the path
	tok := r.PathValue("token")
	v, err := s.DoorToDoor.OpenSync(r.Context(), tok)
	status := http.StatusOK
	if errors.Is(err, doortodoor.ErrBadLink) {
		s.render(w, r, http.StatusForbidden, "doortodoor_link", map[string]any{"Message": msg.T(lang(w, r), "door.link_bad")})
		return nil
	}
	if errors.Is(err, doortodoor.ErrLinkExpired) || v.Expired {
		// Expired: the page still opens, without its forms, so the phone
		// sends what it holds (within the grace) and says how much.
		status = http.StatusGone
	} else if err != nil {
		return err
	}
	c, _ := geo.Get(v.Team.Commune)
	l := lang(w, r)
	doses := make([]int, declaration.MaxVaccineDoses+1)
	for i := range doses {
		doses[i] = i
	}
	s.render(w, r, status, "doortodoor_volunteer", map[string]any{"Token": tok, "Team": v.Team, "Commune": c.Name,
		"Until": localTimeOf(v.Expires), "Outcomes": doortodoor.Outcomes, "Key": v.PublicKey, "Expired": v.Expired,
		"ExpiresUnix": v.Expires.Unix(), "GraceUnix": v.Expires.Add(doortodoor.SyncGrace).Unix(), "GraceHours": int(doortodoor.SyncGrace.Hours()),
		"Sexes": options(declaration.Sexes, l), "Symptoms": options(declaration.Symptoms, l), "Questions": []string{"contact_case", "animal_market"}, "Doses": doses})
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
