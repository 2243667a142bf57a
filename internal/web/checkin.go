package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/checkin"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/venue"
)

// routesCheckin registers the citizen's check-in: the JSON API and the page a venue QR opens.
func (s *Server) routesCheckin() {
	s.api("POST", "/api/v1/checkins", s.apiCheckin)
	s.page("GET /c/{token}", false, s.checkinPage)
	s.page("POST /c/{token}", false, s.checkinForm)
}

// personCookie remembers the person on a phone without JavaScript.
const personCookie = "anticovid_person"

func (s *Server) apiCheckin(w http.ResponseWriter, r *http.Request) error {
	if s.Config.CheckinRate > 0 && !s.scans.take(clientIP(r)) {
		return fmt.Errorf("check-in from %s: %w", clientIP(r), errs.ErrRateLimited)
	}
	var req checkin.Request
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	req.ProvenID = s.provenPerson(r)
	res, err := s.Checkins.Ingest(checkin.WithClient(r.Context(), clientIP(r)), req)
	if err != nil {
		return err
	}
	writeIdempotent(w, res.Created, res)
	return nil
}

// checkinView is what the citizen page shows.
type checkinView struct {
	Token     string
	Venue     venue.Venue
	Category  string
	Provinces []geo.Unit // to choose another province of residence
	Province  string     // the province whose communes are listed
	Districts []unitGroup
	FormID    string // idempotency key of the no-JavaScript form
	Remember  bool   // a person cookie is set
	// ProvenToken is the person token of the person this device proved its
	// phone for ("" when none): the page's script offers the proof step when
	// the person it checks in as is another.
	ProvenToken string
	Result      *checkin.Result
	Error       map[string]string
	Person      people.Person
	Privacy     string // what is stored and for how long, in the page's language
}

func (s *Server) checkinView(r *http.Request) (checkinView, error) {
	tok := r.PathValue("token")
	v, err := s.Checkins.VenueOf(r.Context(), tok)
	if err != nil {
		return checkinView{}, err
	}
	cv := checkinView{Token: tok, Venue: v, Category: categoryName(langOf(r))(v.Category), FormID: newID(), Provinces: geo.Children(geo.Country),
		Privacy: msg.T(langOf(r), "checkin.privacy", int(s.Config.Retention.Hours()/24))}
	province, _ := geo.Ancestor(v.CommuneCode, "province")
	cv.listCommunes(province.Code)
	if c, err := r.Cookie(personCookie); err == nil && c.Value != "" {
		cv.Remember = true
	}
	if id := s.provenPerson(r); id != 0 {
		cv.ProvenToken = s.Checkins.PersonToken(id)
	}
	// The visitor's home commune is theirs to choose: the venue's is not a
	// guess worth recording against a person.
	return cv, nil
}

// listCommunes lists the communes of a province of residence, by district:
// the venue's by default, another one for visitors who choose it (the form's
// "show communes" button, pressed by the page's script on change).
func (cv *checkinView) listCommunes(province string) {
	if u, ok := geo.Get(province); !ok || u.Level != "province" {
		return
	}
	cv.Province, cv.Districts = province, districtGroups(province)
}

func (s *Server) checkinPage(w http.ResponseWriter, r *http.Request) error {
	cv, err := s.checkinView(r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "checkin", cv)
	return nil
}

// checkinForm is the same check-in for a phone without JavaScript: the form
// carries an id made when the page was served, so a double tap records once.
func (s *Server) checkinForm(w http.ResponseWriter, r *http.Request) error {
	cv, err := s.checkinView(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errs.ErrTooLarge
	}
	cv.listCommunes(r.PostFormValue("province"))
	year, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue("birth_year")))
	typed := people.Person{Name: r.PostFormValue("name"), Phone: r.PostFormValue("phone"), BirthYear: year,
		Commune: r.PostFormValue("commune_code"), IDNumber: r.PostFormValue("id_number")}
	if r.PostFormValue("show") != "" { // another province of residence: list its communes, record nothing
		cv.Person, cv.FormID = typed, r.PostFormValue("id")
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, http.StatusOK, "checkin", cv)
		return nil
	}
	if s.Config.CheckinRate > 0 && !s.scans.take(clientIP(r)) {
		return errs.ErrRateLimited
	}
	req := checkin.Request{ID: r.PostFormValue("id"), Token: cv.Token, Direction: r.PostFormValue("direction")}
	if c, err := r.Cookie(personCookie); err == nil && r.PostFormValue("name") == "" {
		req.PersonToken = c.Value
	} else {
		cv.Person = typed
		req.Person = &cv.Person
	}
	req.ProvenID = s.provenPerson(r)
	res, err := s.Checkins.Ingest(checkin.WithClient(r.Context(), clientIP(r)), req)
	if err != nil {
		if f := errs.FieldsOf(err); f != nil {
			cv.Error = f
			s.render(w, r, http.StatusBadRequest, "checkin", cv)
			return nil
		}
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: personCookie, Value: res.PersonToken, Path: "/c/", HttpOnly: true,
		Secure: s.Config.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int((365 * 24 * time.Hour).Seconds())})
	cv.Result, cv.Remember = &res, true
	s.render(w, r, http.StatusOK, "checkin", cv)
	return nil
}
