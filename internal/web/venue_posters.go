package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/poster"
	"anticovid/internal/venue"
)

// routesVenuePosters registers venue QR codes and printable A4 posters.
func (s *Server) routesVenuePosters() {
	s.api("GET", "/api/v1/venues/{id}/qr.png", s.apiQRPNG)
	s.api("GET", "/api/v1/venues/{id}/qr.svg", s.apiQRSVG)
	s.api("GET", "/api/v1/venues/{id}/poster.pdf", s.apiPoster)
	s.api("GET", "/api/v1/units/{code}/posters.pdf", s.apiCommunePosters)
}

// printable returns a venue the caller may see whose QR code may be printed:
// an approved one (any other would be refused at the door).
func (s *Server) printable(r *http.Request) (venue.Venue, error) {
	v, err := byID(r, s.Venues.Get)
	if err != nil {
		return venue.Venue{}, err
	}
	if v.Status != venue.StatusApproved {
		return venue.Venue{}, fmt.Errorf("poster of venue %d (%s): %w", v.ID, v.Status, &errs.Invalid{Fields: map[string]string{
			"status": msg.Both("web.poster.not_approved", msg.T("vi", "status."+v.Status), msg.T("en", "status."+v.Status))}})
	}
	if v.QRURL == "" {
		return venue.Venue{}, fmt.Errorf("poster of venue %d: no signing key configured", v.ID)
	}
	return v, nil
}

func (s *Server) apiQRPNG(w http.ResponseWriter, r *http.Request) error {
	v, err := s.printable(r)
	if err != nil {
		return err
	}
	size, err := queryInt(r, "size", 512)
	if err != nil {
		return err
	}
	png, err := poster.PNG(v.QRURL, size)
	if err != nil {
		return err
	}
	sendDownload(w, "image/png", "inline", fmt.Sprintf("qr-%d.png", v.ID), png)
	return nil
}

func (s *Server) apiQRSVG(w http.ResponseWriter, r *http.Request) error {
	v, err := s.printable(r)
	if err != nil {
		return err
	}
	svg, err := poster.SVG(v.QRURL)
	if err != nil {
		return err
	}
	sendDownload(w, "image/svg+xml", "inline", fmt.Sprintf("qr-%d.svg", v.ID), svg)
	return nil
}

// posterOf is what a venue's A4 poster prints: Vietnamese names, the address
// down to the district ("Thị trấn Bến Lức, huyện Bến Lức").
func posterOf(v venue.Venue) poster.Poster {
	return poster.Poster{URL: v.QRURL, Name: v.Name, Category: categoryName("vi")(v.Category), Address: v.Address,
		Commune: unitDisplayName(v.CommuneCode) + ", " + lowerUnitType(v.DistrictCode)}
}

// lowerUnitType writes a unit's type in lower case inside an address, as
// Vietnamese does: "Huyện Bến Lức" → "huyện Bến Lức".
func lowerUnitType(code string) string {
	u, ok := geo.Get(code)
	if !ok {
		return code
	}
	if rest, found := strings.CutPrefix(u.Name, u.Unit); found {
		return strings.ToLower(u.Unit) + rest
	}
	return u.Name
}

func (s *Server) apiPoster(w http.ResponseWriter, r *http.Request) error {
	v, err := s.printable(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := poster.PDF(&buf, []poster.Poster{posterOf(v)}); err != nil {
		return err
	}
	sendDownload(w, "application/pdf", "inline", fmt.Sprintf("ap-phich-%d.pdf", v.ID), buf.Bytes())
	return nil
}

// maxCommunePosters bounds one PDF: at ~16 ms a page (BenchmarkCommunePosters)
// 2,000 posters take about half a minute, within the server's write timeout.
// A larger commune prints in parts with ?offset= (the X-Next-Offset header
// says where the next part starts) or by ?category=.
var maxCommunePosters = 2000

func (s *Server) apiCommunePosters(w http.ResponseWriter, r *http.Request) error {
	u, err := s.unit(r)
	if err != nil {
		return err
	}
	if u.Level != "commune" {
		return fmt.Errorf("posters of %s: %w", u.Code, &errs.Invalid{Fields: map[string]string{
			"code": msg.Both("web.poster.per_commune")}})
	}
	p := auth.From(r.Context())
	if !p.InJurisdiction(u.Code) {
		return fmt.Errorf("posters of %s: %w", u.Code, errs.ErrForbidden)
	}
	start, err := queryInt(r, "offset", 0)
	if err != nil {
		return err
	}
	// One more than a part holds tells whether another part follows. List
	// returns at most 1,000 at a time.
	var list []venue.Venue
	for len(list) <= maxCommunePosters {
		page, err := s.Venues.List(r.Context(), p, venue.Filter{Commune: u.Code, Category: r.URL.Query().Get("category"),
			Status: venue.StatusApproved, Limit: 1000, Offset: start + len(list)})
		if err != nil {
			return err
		}
		list = append(list, page...)
		if len(page) < 1000 {
			break
		}
	}
	if len(list) > maxCommunePosters {
		list = list[:maxCommunePosters]
		w.Header().Set("X-Next-Offset", strconv.Itoa(start+maxCommunePosters))
	}
	if len(list) == 0 {
		return fmt.Errorf("posters of %s: %w", u.Code, &errs.Invalid{Fields: map[string]string{
			"venues": msg.Both("web.poster.no_venue")}})
	}
	posters := make([]poster.Poster, len(list))
	for i, v := range list {
		posters[i] = posterOf(v)
	}
	var buf bytes.Buffer
	if err := poster.PDF(&buf, posters); err != nil {
		return err
	}
	sendDownload(w, "application/pdf", "attachment", fmt.Sprintf("ap-phich-%s.pdf", u.Code), buf.Bytes())
	return nil
}
