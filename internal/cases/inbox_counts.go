package cases

import (
	"context"
	"fmt"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
)

// ContactsCount is how many contacts (F1 and F2, open or closed) were ever
// put on p's follow-up worklist: it only grows as new contacts arrive (a
// retention purge aside), so the inbox tells the worklist's officials of
// each rise as that many new contacts. It reads no one's details.
func (s *Service) ContactsCount(ctx context.Context, p *auth.Principal) (int, error) {
	if !CanFollowUp(p) || NeedsGrant(p) {
		return 0, fmt.Errorf("contacts count: %w", errs.ErrForbidden)
	}
	where, args, err := scopeWhere(p, "")
	if err != nil {
		return 0, fmt.Errorf("contacts count: %w", err)
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM contacts WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("contacts count: %w", err)
	}
	return n, nil
}
