package cases

import (
	"context"
	"fmt"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/tracing"
)

// Settings returns the tracing rules in force (tracing.Settings keeps
// them) to those who follow cases up.
func (s *Service) Settings(ctx context.Context, p *auth.Principal) (tracing.RuleSettings, error) {
	if !CanFollowUp(p) {
		return tracing.RuleSettings{}, fmt.Errorf("tracing settings: %w", errs.ErrForbidden)
	}
	return s.Rules.Current(ctx)
}

// SetSettings validates, stores and applies new rules when p may set them
// (tracing.CanSetRules): every trace started afterwards uses them.
func (s *Service) SetSettings(ctx context.Context, p *auth.Principal, rs tracing.RuleSettings) (tracing.RuleSettings, error) {
	if !tracing.CanSetRules(p) {
		return tracing.RuleSettings{}, fmt.Errorf("tracing settings: %w", errs.ErrForbidden)
	}
	return s.Rules.Save(ctx, p.Username, s.Now(), rs)
}
