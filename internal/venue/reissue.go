package venue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
)

// reissuers may replace a venue's QR code: the officers whose jurisdiction
// holds it, and its own manager (a poster was stolen, copied elsewhere or
// misprinted).
var reissuers = []auth.Role{auth.ProvinceAdmin, auth.DepartmentOfficer, auth.DistrictOfficer, auth.CommuneOfficer, auth.VenueManager}

// Reissue moves a venue to its next QR generation. Tokens carry the
// generation they were signed for and the check-in path compares it with the
// venue's, so every poster printed before is refused from now on; the venue
// keeps its id, history and status.
func (s *Service) Reissue(ctx context.Context, p *auth.Principal, id int64) (Venue, error) {
	v, err := s.Get(ctx, p, id)
	if err != nil {
		return Venue{}, fmt.Errorf("reissue QR: %w", err)
	}
	if !p.Can(reissuers...) {
		return Venue{}, fmt.Errorf("reissue QR of venue %d: %w", id, errs.ErrForbidden)
	}
	err = s.DB.W.QueryRowContext(ctx, "UPDATE venues SET qr_gen = qr_gen + 1 WHERE id = $1 RETURNING qr_gen", id).Scan(&v.QRGen)
	if errors.Is(err, sql.ErrNoRows) {
		return Venue{}, fmt.Errorf("reissue QR of venue %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Venue{}, fmt.Errorf("reissue QR of venue %d: %w", id, err)
	}
	s.addURL(&v)
	if p.Role != auth.VenueManager {
		if err := s.tell(ctx, v, fmt.Sprintf("venue:%d:qr:%d", v.ID, v.QRGen), "venue.sms.reissued", v.Name, s.BaseURL+"/venues/"+strconv.FormatInt(v.ID, 10)); err != nil {
			return v, err
		}
	}
	return v, nil
}
