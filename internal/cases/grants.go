package cases

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/venue"
)

// Purpose-bound access (issue #20): Police and Information & Communications
// officers trace with Health, but hold no standing right to anyone's
// check-ins. They, and health officers reaching outside their own
// jurisdiction, file a request naming one case, a purpose, the data and a
// duration; a province administrator approves or refuses it, and the grant
// opens exactly that data until it expires or is revoked. Every read through
// a grant is audited with the grant's id.

// What a grant opens.
const (
	ScopeContacts  = "contacts"   // the case's contact list and the case person
	ScopeVenueDays = "venue_days" // the visitors of named venue-days
)

// Grant statuses. GrantExpired is never stored: an approved grant reads as
// expired once its time is up.
const (
	GrantPending  = "pending"
	GrantApproved = "approved"
	GrantRefused  = "refused"
	GrantRevoked  = "revoked"
	GrantExpired  = "expired"
)

// Limits of a request.
const (
	MaxGrantDays      = 14  // the longest a grant may run
	maxGrantVenueDays = 20  // venue-days one request may name
	minGrantPurpose   = 10  // characters of purpose, at least
	maxGrantText      = 500 // characters of purpose or reason, at most
)

// VenueDay is one venue on one local day (Asia/Ho_Chi_Minh).
type VenueDay struct {
	VenueID   int64  `json:"venue_id"`
	Day       string `json:"day"` // YYYY-MM-DD
	VenueName string `json:"venue_name,omitempty"`
}

func (v VenueDay) key() string { return strconv.FormatInt(v.VenueID, 10) + ":" + v.Day }

// Grant is one request for access and what became of it.
type Grant struct {
	ID                  int64      `json:"id"`
	RequesterID         int64      `json:"requester_id"`
	RequesterName       string     `json:"requester"`
	RequesterRole       string     `json:"requester_role"`
	RequesterDepartment string     `json:"requester_department,omitempty"`
	CaseID              int64      `json:"case_id"`
	Scope               string     `json:"scope"`
	VenueDays           []VenueDay `json:"venue_days,omitempty"`
	Purpose             string     `json:"purpose"`
	Days                int        `json:"days"`
	Status              string     `json:"status"`
	CreatedAt           time.Time  `json:"created_at"`
	DecidedBy           string     `json:"decided_by,omitempty"`
	DecidedAt           *time.Time `json:"decided_at,omitempty"`
	Reason              string     `json:"reason,omitempty"`
	ExpiresAt           *time.Time `json:"expires_at,omitempty"`
	RevokedBy           string     `json:"revoked_by,omitempty"`
	RevokedAt           *time.Time `json:"revoked_at,omitempty"`
	CommuneCode         string     `json:"commune_code"`
	DistrictCode        string     `json:"district_code"`
	ProvinceCode        string     `json:"province_code"`
}

// Open reports whether the grant opens its data now.
func (g Grant) Open() bool { return g.Status == GrantApproved }

// covers reports whether the grant names a venue-day.
func (g Grant) covers(venueID int64, day string) bool {
	return slices.ContainsFunc(g.VenueDays, func(v VenueDay) bool { return v.VenueID == venueID && v.Day == day })
}

// GrantRequest is what a requester files.
type GrantRequest struct {
	CaseID    int64      `json:"case_id"`
	Scope     string     `json:"scope"`
	VenueDays []VenueDay `json:"venue_days"`
	Purpose   string     `json:"purpose"`
	Days      int        `json:"days"`
}

// NeedsGrant reports whether p reads no personal rows by standing: Police
// and ICT officers take part in tracing (cases, figures, exposure venues)
// but reach people only through a grant.
func NeedsGrant(p *auth.Principal) bool {
	return p != nil && p.Role == auth.DepartmentOfficer && (p.Department == "police" || p.Department == "ict")
}

// CanDecide reports whether p approves, refuses and revokes requests.
func CanDecide(p *auth.Principal) bool { return p.Can(auth.ProvinceAdmin) }

// CanRequest reports whether p may file requests: those who trace, but not
// the administrators who decide them.
func CanRequest(p *auth.Principal) bool { return CanTrace(p) && !CanDecide(p) }

// GrantPurpose is the audit purpose of a read through grant id: the id
// first, so the audit log names the grant of every such read.
func GrantPurpose(id int64, purpose string) string {
	return msg.Both("grants.audit", id) + ": " + purpose
}

// Access says how a caller reads a case's personal rows.
type Access struct {
	// Standing: within the caller's own jurisdiction, by role.
	Standing bool `json:"standing"`
	// Grant: through this open contacts grant.
	Grant *Grant `json:"grant,omitempty"`
}

// Personal reports whether the case's personal rows may be shown.
func (a Access) Personal() bool { return a.Standing || a.Grant != nil }

// sees reports whether a contact living in commune is shown by name: the
// caller's own jurisdiction by standing, the case's province through a grant.
func (a Access) sees(p *auth.Principal, commune string) bool {
	if a.Standing {
		return p.InJurisdiction(commune)
	}
	return a.Grant != nil && geo.Contains(a.Grant.ProvinceCode, commune)
}

// Purpose returns the audit purpose of a read under this access.
func (a Access) Purpose(purpose string) string {
	if a.Grant == nil || a.Standing {
		return purpose
	}
	return GrantPurpose(a.Grant.ID, purpose)
}

// Open returns a case to read and how p may read its personal rows: by
// standing within p's own jurisdiction (Police and ICT excepted), or through
// p's open contacts grant on it. Police and ICT see a case of their
// jurisdiction without personal rows; a case outside p's jurisdiction opens
// only through a grant.
func (s *Service) Open(ctx context.Context, p *auth.Principal, id int64) (Case, Access, error) {
	if !CanFollowUp(p) {
		return Case{}, Access{}, fmt.Errorf("case %d: %w", id, errs.ErrForbidden)
	}
	c, err := s.lookup(ctx, s.DB.R, id)
	if err != nil {
		return Case{}, Access{}, err
	}
	in := p.InJurisdiction(c.CommuneCode)
	if in && !NeedsGrant(p) {
		return c, Access{Standing: true}, nil
	}
	if CanRequest(p) {
		g, err := s.openGrant(ctx, p, c.ID)
		if err != nil {
			return Case{}, Access{}, fmt.Errorf("case %d: %w", id, err)
		}
		if g != nil {
			return c, Access{Grant: g}, nil
		}
	}
	if in {
		return c, Access{}, nil
	}
	return Case{}, Access{}, fmt.Errorf("case %d: %w", id, errs.ErrForbidden)
}

// ContactCounts returns how many contacts of a case are stored, by level:
// figures without personal data, for those who see the case but not its
// people.
func (s *Service) ContactCounts(ctx context.Context, p *auth.Principal, id int64) (map[string]int, error) {
	if !CanTrace(p) {
		return nil, fmt.Errorf("contact counts: %w", errs.ErrForbidden)
	}
	if _, _, err := s.Open(ctx, p, id); err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT level, count(*) FROM contacts WHERE case_id = $1 GROUP BY level", id)
	if err != nil {
		return nil, fmt.Errorf("contact counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var level string
		var n int
		if err := rows.Scan(&level, &n); err != nil {
			return nil, fmt.Errorf("contact counts: %w", err)
		}
		out[level] = n
	}
	return out, rows.Err()
}

const grantCols = `id, requester_id, requester_name, requester_role, requester_department, case_id, scope, venue_days, purpose, days_asked,
	status, created_at, decided_by_name, decided_at, reason, expires_at, revoked_by_name, revoked_at, commune_code, district_code, province_code`

func (s *Service) scanGrant(row interface{ Scan(...any) error }) (Grant, error) {
	var g Grant
	var days string
	var created int64
	var decided, expires, revoked sql.NullInt64
	if err := row.Scan(&g.ID, &g.RequesterID, &g.RequesterName, &g.RequesterRole, &g.RequesterDepartment, &g.CaseID, &g.Scope, &days,
		&g.Purpose, &g.Days, &g.Status, &created, &g.DecidedBy, &decided, &g.Reason, &expires, &g.RevokedBy, &revoked,
		&g.CommuneCode, &g.DistrictCode, &g.ProvinceCode); err != nil {
		return Grant{}, err
	}
	g.CreatedAt = unix(created)
	g.DecidedAt, g.ExpiresAt, g.RevokedAt = optTime(decided), optTime(expires), optTime(revoked)
	for item := range strings.SplitSeq(days, ",") {
		v, d, ok := strings.Cut(item, ":")
		if id, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
			g.VenueDays = append(g.VenueDays, VenueDay{VenueID: id, Day: d})
		}
	}
	if g.Status == GrantApproved && (g.ExpiresAt == nil || !s.Now().Before(*g.ExpiresAt)) {
		g.Status = GrantExpired
	}
	return g, nil
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := unix(v.Int64)
	return &t
}

// grants reads grants matching where, newest first.
func (s *Service) grants(ctx context.Context, where string, args ...any) ([]Grant, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT "+grantCols+" FROM access_grants WHERE "+where+" ORDER BY id DESC LIMIT 500", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := s.scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.nameVenueDays(ctx, out)
}

// nameVenueDays fills the venue names of grants' venue-days.
func (s *Service) nameVenueDays(ctx context.Context, gs []Grant) error {
	ids := map[int64]bool{}
	for _, g := range gs {
		for _, v := range g.VenueDays {
			ids[v.VenueID] = true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	names, err := s.venueNames(ctx, ids)
	if err != nil {
		return err
	}
	for i := range gs {
		for j := range gs[i].VenueDays {
			gs[i].VenueDays[j].VenueName = names[gs[i].VenueDays[j].VenueID]
		}
	}
	return nil
}

// openGrant returns p's newest open contacts grant on a case, or nil.
func (s *Service) openGrant(ctx context.Context, p *auth.Principal, caseID int64) (*Grant, error) {
	list, err := s.grants(ctx, "requester_id = $1 AND case_id = $2 AND scope = $3 AND status = $4 AND expires_at > $5",
		p.UserID, caseID, ScopeContacts, GrantApproved, s.Now().Unix())
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// PersonGrant returns p's open contacts grant on a case of person: what
// opens that person's Bluetooth contacts to Police and ICT.
func (s *Service) PersonGrant(ctx context.Context, p *auth.Principal, person int64) (Grant, error) {
	list, err := s.grants(ctx, `requester_id = $1 AND scope = $2 AND status = $3 AND expires_at > $4
		AND case_id IN (SELECT id FROM cases WHERE person_id = $5)`, p.UserID, ScopeContacts, GrantApproved, s.Now().Unix(), person)
	if err != nil {
		return Grant{}, fmt.Errorf("person grant: %w", err)
	}
	if len(list) == 0 {
		return Grant{}, fmt.Errorf("person grant: %w", errs.ErrForbidden)
	}
	return list[0], nil
}

// RequestAccess files a request. Police and ICT officers ask for any case in
// their jurisdiction; health officers for a case outside theirs, or for
// venue-days (no one reads a venue-day's visitors by standing).
func (s *Service) RequestAccess(ctx context.Context, p *auth.Principal, in GrantRequest) (Grant, error) {
	const op = "request access"
	if !CanRequest(p) {
		return Grant{}, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	in.Purpose = strings.TrimSpace(in.Purpose)
	f := errs.Fields{}
	if n := len([]rune(in.Purpose)); n < minGrantPurpose || n > maxGrantText {
		f.Add("purpose", msg.Both("grants.purpose_length", minGrantPurpose, maxGrantText))
	}
	if in.Days < 1 || in.Days > MaxGrantDays {
		f.Add("days", msg.Both("grants.days_range", MaxGrantDays))
	}
	var keys []string
	switch in.Scope {
	case ScopeContacts:
		if len(in.VenueDays) > 0 {
			f.Add("venue_days", msg.Both("grants.venue_days_with_contacts"))
		}
	case ScopeVenueDays:
		var err error
		if keys, err = s.checkVenueDays(ctx, in.VenueDays); err != nil {
			f.Add("venue_days", err.Error())
		}
	default:
		f.Add("scope", msg.Both("grants.scope_bad"))
	}
	if in.CaseID <= 0 {
		f.Add("case_id", msg.Both("grants.case_id"))
	}
	if err := f.Err(); err != nil {
		return Grant{}, fmt.Errorf("%s: %w", op, err)
	}
	c, err := s.lookup(ctx, s.DB.R, in.CaseID)
	if err != nil {
		return Grant{}, fmt.Errorf("%s: %w", op, err)
	}
	inJurisdiction := p.InJurisdiction(c.CommuneCode)
	switch {
	case NeedsGrant(p) && !inJurisdiction:
		return Grant{}, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	case !NeedsGrant(p) && inJurisdiction && in.Scope == ScopeContacts:
		return Grant{}, fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: errs.Fields{"scope": msg.Both("grants.already_standing")}})
	}
	if in.Scope == ScopeVenueDays {
		briefs, err := venue.Briefs(ctx, s.DB, venueIDs(in.VenueDays))
		if err != nil {
			return Grant{}, fmt.Errorf("%s: %w", op, err)
		}
		for _, v := range in.VenueDays {
			if b, ok := briefs[v.VenueID]; !ok || b.ProvinceCode != c.ProvinceCode {
				return Grant{}, fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: errs.Fields{"venue_days": msg.Both("grants.venue_unknown", v.VenueID)}})
			}
		}
	}
	var id int64
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO access_grants (requester_id, requester_name, requester_role, requester_department, case_id,
		scope, venue_days, purpose, days_asked, status, created_at, commune_code, district_code, province_code)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		p.UserID, p.Username, string(p.Role), p.Department, c.ID, in.Scope, strings.Join(keys, ","), in.Purpose, in.Days, GrantPending,
		s.Now().Unix(), c.CommuneCode, c.DistrictCode, c.ProvinceCode).Scan(&id)
	if err != nil {
		return Grant{}, fmt.Errorf("%s: %w", op, err)
	}
	s.Log.Info("access requested", "grant", id, "case", c.ID, "user", p.UserID, "scope", in.Scope)
	return s.grant(ctx, id)
}

// checkVenueDays validates named venue-days and returns their stored keys.
func (s *Service) checkVenueDays(ctx context.Context, vds []VenueDay) ([]string, error) {
	if len(vds) == 0 || len(vds) > maxGrantVenueDays {
		return nil, errors.New(msg.Both("grants.venue_days_count", maxGrantVenueDays))
	}
	today := s.Now().In(hcm).Format("2006-01-02")
	seen := map[string]bool{}
	var keys []string
	for i, v := range vds {
		d, err := time.ParseInLocation("2006-01-02", v.Day, hcm)
		if err != nil || v.VenueID <= 0 || d.Format("2006-01-02") > today {
			return nil, errors.New(msg.Both("grants.venue_day_bad", i+1))
		}
		if k := v.key(); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func venueIDs(vds []VenueDay) []int64 {
	out := make([]int64, len(vds))
	for i, v := range vds {
		out[i] = v.VenueID
	}
	return out
}

// grant reads one grant with no caller check.
func (s *Service) grant(ctx context.Context, id int64) (Grant, error) {
	list, err := s.grants(ctx, "id = $1", id)
	if err != nil {
		return Grant{}, fmt.Errorf("grant %d: %w", id, err)
	}
	if len(list) == 0 {
		return Grant{}, fmt.Errorf("grant %d: %w", id, errs.ErrNotFound)
	}
	return list[0], nil
}

// Grant returns one grant to its requester, or to an administrator over its case.
func (s *Service) Grant(ctx context.Context, p *auth.Principal, id int64) (Grant, error) {
	g, err := s.grant(ctx, id)
	if err != nil {
		return Grant{}, err
	}
	if p == nil || (g.RequesterID != p.UserID && !(CanDecide(p) && p.InJurisdiction(g.CommuneCode))) {
		return Grant{}, fmt.Errorf("grant %d: %w", id, errs.ErrForbidden)
	}
	return g, nil
}

// MyGrants returns p's own requests, newest first.
func (s *Service) MyGrants(ctx context.Context, p *auth.Principal) ([]Grant, error) {
	if !CanRequest(p) {
		return nil, fmt.Errorf("my requests: %w", errs.ErrForbidden)
	}
	out, err := s.grants(ctx, "requester_id = $1", p.UserID)
	if err != nil {
		return nil, fmt.Errorf("my requests: %w", err)
	}
	return out, nil
}

// GrantsToDecide returns the requests over cases in an administrator's
// jurisdiction: pending first (oldest first, as they wait), then open grants
// by expiry, then the rest, newest first.
func (s *Service) GrantsToDecide(ctx context.Context, p *auth.Principal) ([]Grant, error) {
	if !CanDecide(p) {
		return nil, fmt.Errorf("access requests: %w", errs.ErrForbidden)
	}
	where, args, err := scopeWhere(p, "")
	if err != nil {
		return nil, fmt.Errorf("access requests: %w", err)
	}
	out, err := s.grants(ctx, where, args...)
	if err != nil {
		return nil, fmt.Errorf("access requests: %w", err)
	}
	rank := map[string]int{GrantPending: 0, GrantApproved: 1}
	slices.SortStableFunc(out, func(a, b Grant) int {
		ra, oka := rank[a.Status]
		rb, okb := rank[b.Status]
		if !oka {
			ra = 2
		}
		if !okb {
			rb = 2
		}
		switch {
		case ra != rb:
			return ra - rb
		case ra == 0:
			return cmp.Compare(a.ID, b.ID)
		case ra == 1:
			return a.ExpiresAt.Compare(*b.ExpiresAt)
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// decision checks that p may decide grant id and returns it.
func (s *Service) decision(ctx context.Context, p *auth.Principal, id int64) (Grant, error) {
	g, err := s.grant(ctx, id)
	if err != nil {
		return Grant{}, err
	}
	if p == nil || g.RequesterID == p.UserID {
		return Grant{}, fmt.Errorf("grant %d: %w", id, &errs.Invalid{Fields: errs.Fields{"grant": msg.Both("grants.own_request")}})
	}
	if !CanDecide(p) || !p.InJurisdiction(g.CommuneCode) {
		return Grant{}, fmt.Errorf("grant %d: %w", id, errs.ErrForbidden)
	}
	return g, nil
}

// decide moves grant id from one status to another in one conditional
// update: of two administrators deciding at once, one wins and the other
// gets a conflict.
func (s *Service) decide(ctx context.Context, id int64, set string, args []any, from string, extra string) error {
	args = append(args, id, from)
	res, err := s.DB.W.ExecContext(ctx, fmt.Sprintf("UPDATE access_grants SET %s WHERE id = $%d AND status = $%d%s", set, len(args)-1, len(args), extra), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.ErrConflict
	}
	return nil
}

func checkReason(reason string, required bool) (string, error) {
	reason = strings.TrimSpace(reason)
	if n := len([]rune(reason)); n > maxGrantText || (required && n < 3) {
		return "", &errs.Invalid{Fields: errs.Fields{"reason": msg.Both("grants.reason_length", maxGrantText)}}
	}
	return reason, nil
}

// Approve opens a pending request for the days it asked, from now.
func (s *Service) Approve(ctx context.Context, p *auth.Principal, id int64) (Grant, error) {
	g, err := s.decision(ctx, p, id)
	if err != nil {
		return Grant{}, err
	}
	now := s.Now()
	exp := now.Add(time.Duration(g.Days) * 24 * time.Hour)
	if err := s.decide(ctx, id, "status = $1, decided_by = $2, decided_by_name = $3, decided_at = $4, expires_at = $5",
		[]any{GrantApproved, p.UserID, p.Username, now.Unix(), exp.Unix()}, GrantPending, ""); err != nil {
		return Grant{}, fmt.Errorf("approve grant %d: %w", id, err)
	}
	s.Log.Info("access granted", "grant", id, "case", g.CaseID, "by", p.UserID)
	return s.grant(ctx, id)
}

// Refuse closes a pending request, with the reason the requester will read.
func (s *Service) Refuse(ctx context.Context, p *auth.Principal, id int64, reason string) (Grant, error) {
	g, err := s.decision(ctx, p, id)
	if err != nil {
		return Grant{}, err
	}
	if reason, err = checkReason(reason, true); err != nil {
		return Grant{}, fmt.Errorf("refuse grant %d: %w", id, err)
	}
	if err := s.decide(ctx, id, "status = $1, decided_by = $2, decided_by_name = $3, decided_at = $4, reason = $5",
		[]any{GrantRefused, p.UserID, p.Username, s.Now().Unix(), reason}, GrantPending, ""); err != nil {
		return Grant{}, fmt.Errorf("refuse grant %d: %w", id, err)
	}
	s.Log.Info("access refused", "grant", id, "case", g.CaseID, "by", p.UserID)
	return s.grant(ctx, id)
}

// Revoke closes an open grant at once: the next read through it is refused.
func (s *Service) Revoke(ctx context.Context, p *auth.Principal, id int64, reason string) (Grant, error) {
	g, err := s.decision(ctx, p, id)
	if err != nil {
		return Grant{}, err
	}
	if reason, err = checkReason(reason, false); err != nil {
		return Grant{}, fmt.Errorf("revoke grant %d: %w", id, err)
	}
	now := s.Now().Unix()
	if err := s.decide(ctx, id, "status = $1, revoked_by_name = $2, revoked_at = $3, reason = $4",
		[]any{GrantRevoked, p.Username, now, reason}, GrantApproved, fmt.Sprintf(" AND expires_at > %d", now)); err != nil {
		return Grant{}, fmt.Errorf("revoke grant %d: %w", id, err)
	}
	s.Log.Info("access revoked", "grant", id, "case", g.CaseID, "by", p.UserID)
	return s.grant(ctx, id)
}

// Visitor is one check-in at a venue-day, as a grant shows it.
type Visitor struct {
	PersonID    int64      `json:"person_id"`
	Name        string     `json:"name"`
	Phone       string     `json:"phone"`
	CommuneCode string     `json:"commune_code,omitempty"`
	In          time.Time  `json:"in"`
	Out         *time.Time `json:"out,omitempty"`
	Proof       int        `json:"proof"`
}

// VenueDayVisitors returns who checked in at a venue on a local day, through
// p's own grant id, which must be open and name that venue-day. The read is
// audited with the grant's id before anything is decrypted.
func (s *Service) VenueDayVisitors(ctx context.Context, p *auth.Principal, grantID, venueID int64, day, purpose string) ([]Visitor, error) {
	const op = "venue-day visitors"
	g, err := s.grant(ctx, grantID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if p == nil || g.RequesterID != p.UserID || !g.Open() || g.Scope != ScopeVenueDays || !g.covers(venueID, day) {
		return nil, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	start, err := time.ParseInLocation("2006-01-02", day, hcm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	probe, err := checkin.OpenVenueProbe(ctx, s.DB, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []Visitor
	err = probe.Stays(ctx, venueID, start.Unix(), start.AddDate(0, 0, 1).Unix()-1, 0, func(person, tIn, tOut int64, hasOut bool, proof int) {
		v := Visitor{PersonID: person, In: unix(tIn), Proof: proof}
		if hasOut {
			t := unix(tOut)
			v.Out = &t
		}
		out = append(out, v)
	})
	probe.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	slices.SortFunc(out, func(a, b Visitor) int { return a.In.Compare(b.In) })
	ids, strs := distinctPersons(len(out), func(i int) int64 { return out[i].PersonID })
	if err := auth.Audit(asCaller(ctx, p), s.DB, auth.ActionView, "person", strs, GrantPurpose(g.ID, purpose)); err != nil {
		return nil, err
	}
	pii, err := s.People.Personal(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	places, err := s.People.Places(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	for i := range out {
		d := pii[out[i].PersonID]
		out[i].Name, out[i].Phone, out[i].CommuneCode = d.Name, d.Phone, places[out[i].PersonID].Commune
	}
	return out, nil
}
