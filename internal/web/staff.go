package web

import (
	"fmt"
	"net/http"
	"strconv"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/venue"
)

// routesStaff registers staff mode: a venue's staff scan people without a smartphone, a
// personal QR (health declaration), the QR on a chip ID card, or a phone
// number typed in.
func (s *Server) routesStaff() {
	s.page("GET /venues/{id}/staff", true, s.staffPage)
	s.api("POST", "/api/v1/venues/{id}/scans", s.apiStaffScan)
}

// staffVenue returns a venue whose scanning the caller may run: its manager,
// or an officer whose jurisdiction holds it.
func (s *Server) staffVenue(r *http.Request) (venue.Venue, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return venue.Venue{}, err
	}
	p := auth.From(r.Context())
	if p.Role == auth.HealthTracer {
		return venue.Venue{}, fmt.Errorf("staff scan: %w", errs.ErrForbidden)
	}
	return s.Venues.Get(r.Context(), p, id)
}

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.staffVenue(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "staff", map[string]any{"Venue": v, "FormID": newID()})
	return nil
}

// staffScan is what the staff device sends.
type staffScan struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	QR        string `json:"qr"`
	Phone     string `json:"phone"`
	Name      string `json:"name"`
	BirthYear int    `json:"birth_year"`
}

// staffResult tells the staff who was scanned, without more personal data
// than they need to recognise the person in front of them.
type staffResult struct {
	checkin.Result
	Who  string `json:"who"`
	Kind string `json:"kind"` // personal, id_card, phone
}

func (s *Server) apiStaffScan(w http.ResponseWriter, r *http.Request) error {
	v, err := s.staffVenue(r)
	if err != nil {
		return err
	}
	var in staffScan
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	req := checkin.Request{ID: in.ID, Direction: in.Direction}
	var who, kind string
	switch {
	case in.QR != "":
		sc, err := s.Declarations.ParseScan(in.QR)
		if err != nil {
			return err
		}
		kind = sc.Kind
		switch sc.Kind {
		case declaration.ScanPersonal:
			req.PersonToken = s.Checkins.PersonToken(sc.Personal.PersonID)
			req.Grade = personalQRGrade(sc.Personal)
			who = msg.Both("web.staff.personal_qr", strconv.FormatInt(sc.Personal.PersonID, 10))
		case declaration.ScanIDCard:
			// Residence is not parsed from the card's free-text address: the
			// person is filed under the venue's commune, where they were seen.
			person := sc.Card.Person(v.CommuneCode)
			req.Person = &person
			req.Grade = checkin.StaffSeen // the chip card's signed identity, and staff saw its holder
			who = sc.Card.Name + " · CCCD ***" + sc.Card.Number[max(len(sc.Card.Number)-3, 0):]
		}
	case in.Phone != "":
		kind = "phone"
		ids, err := s.People.ByPhone(r.Context(), in.Phone)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			req.PersonToken = s.Checkins.PersonToken(ids[0])
		} else if in.Name == "" {
			return &errs.Invalid{Fields: map[string]string{"name": msg.Both("web.staff.unknown_phone")}}
		} else {
			req.Person = &people.Person{Name: in.Name, Phone: in.Phone, BirthYear: in.BirthYear, Commune: v.CommuneCode}
		}
		ph, _ := people.NormalizePhone(in.Phone)
		who = people.MaskPhone(ph)
	default:
		return &errs.Invalid{Fields: map[string]string{"qr": msg.Both("web.staff.nothing")}}
	}
	res, err := s.Checkins.IngestAt(r.Context(), v.ID, req)
	if err != nil {
		return err
	}
	res.PersonToken = "" // the staff device must not be able to act as the person later
	writeIdempotent(w, res.Created, staffResult{Result: res, Who: who, Kind: kind})
	return nil
}

// personalQRGrade is what a staff scan of a personal QR proves: staff saw
// the person the QR names, which is that person only if the declaration
// that issued it was proven (a QR obtained with typed details is not, and
// version 1 QRs carry no grade).
func personalQRGrade(c *declaration.Claims) int {
	if c.Proof >= checkin.PhoneProven {
		return checkin.StaffSeen
	}
	return checkin.Unproven
}
