// Package doortodoor runs the door-to-door drive ("Đi từng ngõ, gõ từng
// nhà"): a commune divides itself into hamlets and households, sends teams
// of volunteers house to house to help residents install Bluezone and
// declare their health, and follows its coverage. Volunteers have no
// account: a commune officer gives a team a one-day link signed with the
// vault's tag key, which reaches that team's commune's households and
// nothing else. Visits carry ids made on the volunteer's phone, so a phone
// that queued them offline can send them again and again: each is stored
// once. Households are addresses, never names.
package doortodoor

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Outcomes of a visit, least advanced first.
const (
	NobodyHome = "nobody_home"
	Refused    = "refused"
	Visited    = "visited"
)

// rank orders outcomes: a household's state is its most advanced one.
var rank = map[string]int{NobodyHome: 1, Refused: 2, Visited: 3}

// Outcomes lists the outcomes a visit may have, as the form offers them.
var Outcomes = []string{Visited, NobodyHome, Refused}

// LinkValidity is how long a team's link works: one day of the drive.
const LinkValidity = 24 * time.Hour

// MaxBatch bounds the visits of one sync request.
const MaxBatch = 500

// MaxImportRows bounds a household import (header excluded): a large
// commune has a few thousand households.
const MaxImportRows = 20000

// Errors of a volunteer link.
var (
	ErrBadLink     = errors.New("door-to-door link is not valid")
	ErrLinkExpired = errors.New("door-to-door link has expired")
)

// Hamlet is an ấp or khu phố of a commune.
type Hamlet struct {
	ID      int64    `json:"id"`
	Commune string   `json:"commune_code"`
	Name    string   `json:"name"`
	Lat     *float64 `json:"lat,omitempty"`
	Lng     *float64 `json:"lng,omitempty"`
}

// Household is one house to visit and its state.
type Household struct {
	ID        int64  `json:"id"`
	HamletID  int64  `json:"hamlet_id"`
	Hamlet    string `json:"hamlet"`
	Address   string `json:"address"`
	Residents int    `json:"residents"`
	State     string `json:"state"` // "" until a visit, else the most advanced outcome
	StateAt   int64  `json:"state_at,omitempty"`
}

// Team is a group of volunteers of one commune, optionally sent to one hamlet.
type Team struct {
	ID       int64  `json:"id"`
	Commune  string `json:"commune_code"`
	Name     string `json:"name"`
	HamletID int64  `json:"hamlet_id,omitempty"` // 0: the whole commune
	Revoked  bool   `json:"revoked"`
	Created  int64  `json:"created_at"`
}

// Visit is one visit as a volunteer's phone sends it.
type Visit struct {
	ID           string `json:"id"` // made on the phone (a UUID), the idempotency key
	HouseholdID  int64  `json:"household_id"`
	Outcome      string `json:"outcome"`
	People       int    `json:"people"`        // people present
	NoSmartphone int    `json:"no_smartphone"` // people whose phone is not a smartphone
	Installs     int    `json:"installs"`      // Bluezone installs helped
	Declarations int    `json:"declarations"`  // health declarations filled in with help
	VisitedAt    int64  `json:"visited_at"`    // Unix seconds, the phone's clock
}

// SyncResult says what became of one visit sent.
type SyncResult struct {
	ID     string `json:"id"`
	Status string `json:"status"` // created, duplicate (stored before), conflict (the id is another team's)
}

// Service keeps hamlets, households, teams and visits.
type Service struct {
	DB *sqldb.DB
	// Vault's tag key signs team links; its data key seals the teams'
	// private keys.
	Vault *vault.Vault
	// Declarations records the declarations volunteers fill in with help.
	Declarations *declaration.Service
	Now          func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CanManage reports whether p runs the drive of a commune: its commune
// officers (and the province's administrators, who may stand in).
func CanManage(p *auth.Principal, commune string) bool {
	u, ok := geo.Get(commune)
	return ok && u.Level == "commune" && p.Can(auth.CommuneOfficer, auth.ProvinceAdmin) && p.InJurisdiction(commune)
}

// CanView reports whether p follows the drive's coverage in unit: the
// commune, its district and the province.
func CanView(p *auth.Principal, unit string) bool {
	return p.Can(auth.CommuneOfficer, auth.DistrictOfficer, auth.ProvinceAdmin) && p.InJurisdiction(unit)
}

// codes returns a commune's district and province codes.
func codes(commune string) (district, province string) {
	if d, ok := geo.Ancestor(commune, "district"); ok {
		district = d.Code
	}
	if p, ok := geo.Ancestor(commune, "province"); ok {
		province = p.Code
	}
	return district, province
}

func forbidden(op string) error { return fmt.Errorf("%s: %w", op, errs.ErrForbidden) }

func invalid(op, field, key string, args ...any) error {
	f := errs.Fields{}
	f.Add(field, msg.Both(key, args...))
	return fmt.Errorf("%s: %w", op, f.Err())
}

// cleanName trims and collapses spaces; names and addresses are short.
func cleanName(s string) string { return strings.Join(strings.Fields(s), " ") }

// AddHamlet adds a hamlet to a commune (coordinates optional); adding one
// that exists returns it.
func (s *Service) AddHamlet(ctx context.Context, p *auth.Principal, commune, name string, lat, lng *float64) (Hamlet, error) {
	const op = "door add hamlet"
	if !CanManage(p, commune) {
		return Hamlet{}, forbidden(op)
	}
	name = cleanName(name)
	if name == "" || len(name) > 120 {
		return Hamlet{}, invalid(op, "name", "door.hamlet_name")
	}
	if (lat == nil) != (lng == nil) || (lat != nil && (*lat < -90 || *lat > 90 || *lng < -180 || *lng > 180)) {
		return Hamlet{}, invalid(op, "lat", "door.coordinates")
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = hamletID(ctx, tx, commune, name, true)
		return err
	})
	if err != nil {
		return Hamlet{}, fmt.Errorf("%s: %w", op, err)
	}
	if lat != nil {
		if _, err := s.DB.W.ExecContext(ctx, "UPDATE door_hamlets SET lat = $1, lng = $2 WHERE id = $3", *lat, *lng, id); err != nil {
			return Hamlet{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	return Hamlet{ID: id, Commune: commune, Name: name, Lat: lat, Lng: lng}, nil
}

// hamletID finds a commune's hamlet by name, adding it when asked.
func hamletID(ctx context.Context, tx *sql.Tx, commune, name string, add bool) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM door_hamlets WHERE commune_code = $1 AND name = $2", commune, name).Scan(&id)
	if err == nil || !errors.Is(err, sql.ErrNoRows) || !add {
		return id, err
	}
	d, pr := codes(commune)
	err = tx.QueryRowContext(ctx, `INSERT INTO door_hamlets (commune_code, district_code, province_code, name, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, commune, d, pr, name, time.Now().Unix()).Scan(&id)
	return id, err
}

// Hamlets lists a commune's hamlets by name.
func (s *Service) Hamlets(ctx context.Context, p *auth.Principal, commune string) ([]Hamlet, error) {
	if !CanView(p, commune) {
		return nil, forbidden("door hamlets")
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT id, name, lat, lng FROM door_hamlets WHERE commune_code = $1 ORDER BY name", commune)
	if err != nil {
		return nil, fmt.Errorf("door hamlets: %w", err)
	}
	defer rows.Close()
	var out []Hamlet
	for rows.Next() {
		h := Hamlet{Commune: commune}
		var lat, lng sql.NullFloat64
		if err := rows.Scan(&h.ID, &h.Name, &lat, &lng); err != nil {
			return nil, fmt.Errorf("door hamlets: %w", err)
		}
		if lat.Valid && lng.Valid {
			h.Lat, h.Lng = &lat.Float64, &lng.Float64
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// NewHousehold is a household to add: its hamlet by name (added when new).
type NewHousehold struct {
	Hamlet    string `json:"hamlet"`
	Address   string `json:"address"`
	Residents int    `json:"residents"`
}

func (h *NewHousehold) check() string {
	h.Hamlet, h.Address = cleanName(h.Hamlet), cleanName(h.Address)
	switch {
	case h.Hamlet == "" || len(h.Hamlet) > 120:
		return "door.hamlet_name"
	case h.Address == "" || len(h.Address) > 200:
		return "door.address"
	case h.Residents < 0 || h.Residents > 200:
		return "door.residents"
	}
	return ""
}

// AddHouseholds adds households to a commune in one transaction (a form's
// one, or an import's rows); one already listed at its hamlet and address
// is left as it is. It returns how many were new.
func (s *Service) AddHouseholds(ctx context.Context, p *auth.Principal, commune string, hs []NewHousehold) (int, error) {
	const op = "door add households"
	if !CanManage(p, commune) {
		return 0, forbidden(op)
	}
	for i := range hs {
		if key := hs[i].check(); key != "" {
			return 0, invalid(op, "household", key)
		}
	}
	d, pr := codes(commune)
	added := 0
	now := s.now().Unix()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		hamlets := map[string]int64{}
		for _, h := range hs {
			id, ok := hamlets[h.Hamlet]
			if !ok {
				var err error
				if id, err = hamletID(ctx, tx, commune, h.Hamlet, true); err != nil {
					return err
				}
				hamlets[h.Hamlet] = id
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO door_households (hamlet_id, commune_code, district_code, province_code, address, residents, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hamlet_id, address) DO NOTHING`, id, commune, d, pr, h.Address, h.Residents, now)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return added, nil
}

// households lists a commune's households (one hamlet's when hamlet > 0),
// by hamlet and address; todo keeps those not yet visited (no visit, or
// nobody home, or a refusal to come back to).
func (s *Service) households(ctx context.Context, commune string, hamlet int64, todo bool) ([]Household, error) {
	q := `SELECT h.id, h.hamlet_id, m.name, h.address, h.residents, h.state, h.state_at
		FROM door_households h JOIN door_hamlets m ON m.id = h.hamlet_id WHERE h.commune_code = $1`
	args := []any{commune}
	if hamlet > 0 {
		q += " AND h.hamlet_id = $2"
		args = append(args, hamlet)
	}
	if todo {
		q += fmt.Sprintf(" AND h.state_rank < %d", rank[Visited])
	}
	rows, err := s.DB.R.QueryContext(ctx, q+" ORDER BY m.name, h.address, h.id", args...)
	if err != nil {
		return nil, fmt.Errorf("door households: %w", err)
	}
	defer rows.Close()
	var out []Household
	for rows.Next() {
		var h Household
		if err := rows.Scan(&h.ID, &h.HamletID, &h.Hamlet, &h.Address, &h.Residents, &h.State, &h.StateAt); err != nil {
			return nil, fmt.Errorf("door households: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ToVisit lists a commune's households still to visit.
func (s *Service) ToVisit(ctx context.Context, p *auth.Principal, commune string) ([]Household, error) {
	if !CanView(p, commune) || !isCommune(commune) {
		return nil, forbidden("door to visit")
	}
	return s.households(ctx, commune, 0, true)
}

func isCommune(code string) bool {
	u, ok := geo.Get(code)
	return ok && u.Level == "commune"
}

// AddTeam adds a volunteer team to a commune, sent to one of its hamlets
// (hamlet > 0) or to all of them.
func (s *Service) AddTeam(ctx context.Context, p *auth.Principal, commune, name string, hamlet int64) (Team, error) {
	const op = "door add team"
	if !CanManage(p, commune) {
		return Team{}, forbidden(op)
	}
	name = cleanName(name)
	if name == "" || len(name) > 120 {
		return Team{}, invalid(op, "name", "door.team_name")
	}
	var hamletArg any
	if hamlet > 0 {
		var c string
		if err := s.DB.R.QueryRowContext(ctx, "SELECT commune_code FROM door_hamlets WHERE id = $1", hamlet).Scan(&c); err != nil || c != commune {
			return Team{}, invalid(op, "hamlet_id", "door.hamlet_unknown")
		}
		hamletArg = hamlet
	}
	d, pr := codes(commune)
	t := Team{Commune: commune, Name: name, HamletID: hamlet, Created: s.now().Unix()}
	err := s.DB.W.QueryRowContext(ctx, `INSERT INTO door_teams (commune_code, district_code, province_code, name, hamlet_id, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, commune, d, pr, name, hamletArg, p.Username, t.Created).Scan(&t.ID)
	if err != nil {
		return Team{}, fmt.Errorf("%s: %w", op, err)
	}
	return t, nil
}

// Teams lists a commune's teams, newest first.
func (s *Service) Teams(ctx context.Context, p *auth.Principal, commune string) ([]Team, error) {
	if !CanView(p, commune) {
		return nil, forbidden("door teams")
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, name, hamlet_id, revoked_at, created_at FROM door_teams
		WHERE commune_code = $1 ORDER BY id DESC`, commune)
	if err != nil {
		return nil, fmt.Errorf("door teams: %w", err)
	}
	defer rows.Close()
	var out []Team
	for rows.Next() {
		t := Team{Commune: commune}
		var hamlet, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Name, &hamlet, &revoked, &t.Created); err != nil {
			return nil, fmt.Errorf("door teams: %w", err)
		}
		t.HamletID, t.Revoked = hamlet.Int64, revoked.Valid
		out = append(out, t)
	}
	return out, rows.Err()
}

// team reads one team.
func (s *Service) team(ctx context.Context, id int64) (Team, error) {
	t := Team{ID: id}
	var hamlet, revoked sql.NullInt64
	// The primary: a link opened the moment it was made, or a team revoked
	// a moment ago, must not wait for a replica.
	err := s.DB.W.QueryRowContext(ctx, "SELECT commune_code, name, hamlet_id, revoked_at, created_at FROM door_teams WHERE id = $1", id).
		Scan(&t.Commune, &t.Name, &hamlet, &revoked, &t.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return Team{}, fmt.Errorf("door team %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Team{}, fmt.Errorf("door team %d: %w", id, err)
	}
	t.HamletID, t.Revoked = hamlet.Int64, revoked.Valid
	return t, nil
}

// RevokeTeam stops a team's links at once.
func (s *Service) RevokeTeam(ctx context.Context, p *auth.Principal, id int64) error {
	t, err := s.team(ctx, id)
	if err != nil {
		return err
	}
	if !CanManage(p, t.Commune) {
		return forbidden("door revoke team")
	}
	_, err = s.DB.W.ExecContext(ctx, "UPDATE door_teams SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", s.now().Unix(), id)
	if err != nil {
		return fmt.Errorf("door revoke team: %w", err)
	}
	return nil
}

// linkTag is the vault tag purpose of team links.
const linkTag = "door-team/v1"

// linkLen is a link token's bytes: team id and expiry (8 each), tag (16).
const linkLen = 8 + 8 + 16

// Link issues a team's token for one day from now (43 characters); the
// team's first link also makes its key pair (assisted.go).
func (s *Service) Link(ctx context.Context, p *auth.Principal, teamID int64) (string, time.Time, error) {
	t, err := s.team(ctx, teamID)
	if err != nil {
		return "", time.Time{}, err
	}
	if !CanManage(p, t.Commune) {
		return "", time.Time{}, forbidden("door link")
	}
	if t.Revoked {
		return "", time.Time{}, fmt.Errorf("door link: team revoked: %w", errs.ErrConflict)
	}
	if _, err := s.teamKey(ctx, t.ID); err != nil {
		return "", time.Time{}, fmt.Errorf("door link: %w", err)
	}
	exp := s.now().Add(LinkValidity).Truncate(time.Second)
	b := make([]byte, 16, linkLen)
	binary.BigEndian.PutUint64(b[0:], uint64(t.ID))
	binary.BigEndian.PutUint64(b[8:], uint64(exp.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, s.Vault.Tag(linkTag, b)...)), exp, nil
}

// Volunteer is what a valid link gives: its team, when it stops working,
// and the team's public key that the page encrypts declarations to.
type Volunteer struct {
	Team      Team      `json:"team"`
	Expires   time.Time `json:"expires"`
	Expired   bool      `json:"expired"` // past Expires: only a sync within SyncGrace is taken
	PublicKey string    `json:"public_key"`
}

// Open checks a link's token: ErrBadLink when forged, altered or its team
// revoked or gone, ErrLinkExpired when its day is over.
func (s *Service) Open(ctx context.Context, tok string) (Volunteer, error) {
	return s.openLink(ctx, tok, 0)
}

// OpenSync is Open for sending a queue: a link expired less than SyncGrace
// ago still opens, marked Expired, so that what was recorded while it was
// valid reaches the server (Sync refuses anything recorded after).
func (s *Service) OpenSync(ctx context.Context, tok string) (Volunteer, error) {
	return s.openLink(ctx, tok, SyncGrace)
}

// openLink checks a token, accepting it until grace after its expiry. An
// expired link's Volunteer comes back with ErrLinkExpired, so its page
// can still say how many items its phone holds.
func (s *Service) openLink(ctx context.Context, tok string, grace time.Duration) (Volunteer, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != linkLen || !s.Vault.CheckTag(linkTag, b[:16], b[16:]) {
		return Volunteer{}, ErrBadLink
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[8:])), 0)
	t, err := s.team(ctx, int64(binary.BigEndian.Uint64(b[0:])))
	if errors.Is(err, errs.ErrNotFound) || (err == nil && t.Revoked) {
		return Volunteer{}, ErrBadLink
	}
	if err != nil {
		return Volunteer{}, err
	}
	var key sql.NullString
	if err := s.DB.W.QueryRowContext(ctx, "SELECT key_public FROM door_teams WHERE id = $1", t.ID).Scan(&key); err != nil {
		return Volunteer{}, fmt.Errorf("door team %d: %w", t.ID, err)
	}
	now := s.now()
	v := Volunteer{Team: t, Expires: exp, Expired: !now.Before(exp), PublicKey: key.String}
	if !now.Before(exp.Add(grace)) {
		return v, ErrLinkExpired
	}
	return v, nil
}

// TeamHouseholds lists the households a volunteer's team visits: its
// hamlet's, or its commune's.
func (s *Service) TeamHouseholds(ctx context.Context, v Volunteer) ([]Household, error) {
	return s.households(ctx, v.Team.Commune, v.Team.HamletID, false)
}

var visitID = regexp.MustCompile(`^[A-Za-z0-9-]{16,64}$`)

// checkVisit validates one visit; its time is clamped to the link's day
// (a phone's clock may be wrong, and a queued visit must still land).
func (s *Service) checkVisit(v *Visit, i int, now, exp time.Time) error {
	f := errs.Fields{}
	k := fmt.Sprintf("visits[%d]", i)
	if !visitID.MatchString(v.ID) {
		f.Add(k+".id", msg.Both("door.visit_id"))
	}
	if rank[v.Outcome] == 0 {
		f.Add(k+".outcome", msg.Both("door.outcome"))
	}
	for name, n := range map[string]int{"people": v.People, "no_smartphone": v.NoSmartphone, "installs": v.Installs, "declarations": v.Declarations} {
		if n < 0 || n > 200 {
			f.Add(k+"."+name, msg.Both("door.count"))
		}
	}
	if v.Outcome != Visited && v.People+v.NoSmartphone+v.Installs+v.Declarations > 0 {
		f.Add(k+".outcome", msg.Both("door.counts_need_visit"))
	}
	if t := time.Unix(v.VisitedAt, 0); v.VisitedAt == 0 || t.After(now) || t.Before(exp.Add(-LinkValidity-time.Hour)) {
		v.VisitedAt = now.Unix()
	}
	return f.Err()
}

// Batch is what a volunteer's phone sends: queued visits and sealed
// declarations.
type Batch struct {
	Visits       []Visit             `json:"visits"`
	Declarations []SealedDeclaration `json:"declarations"`
}

// Synced says what became of each visit and declaration sent, in order.
type Synced struct {
	Visits       []SyncResult `json:"results"`
	Declarations []SyncResult `json:"declarations"`
}

// Sync stores a volunteer's visits and declarations, each once: one whose
// id was stored before is a duplicate and changes nothing, so a phone may
// send its queue again after a lost answer. Two volunteers' visits to one
// house are both kept; the household's state becomes the most advanced
// outcome (the latest among equals). Every household must be the team's
// and every declaration must open with the team's key and be valid, else
// nothing is stored. Through an expired link (OpenSync), what was recorded
// after the expiry is answered "expired" and not stored.
func (s *Service) Sync(ctx context.Context, v Volunteer, b Batch) (Synced, error) {
	const op = "door sync"
	visits := b.Visits
	if n := len(visits) + len(b.Declarations); n == 0 || len(visits) > MaxBatch {
		return Synced{}, invalid(op, "visits", "door.batch", MaxBatch)
	}
	if len(b.Declarations) > MaxDeclarations {
		return Synced{}, invalid(op, "declarations", "door.decl_batch", MaxDeclarations)
	}
	now := s.now()
	f := errs.Fields{}
	for i := range visits {
		if err := s.checkVisit(&visits[i], i, now, v.Expires); err != nil {
			for k, m := range errs.FieldsOf(err) {
				f[k] = m
			}
		}
	}
	if err := f.Err(); err != nil {
		return Synced{}, fmt.Errorf("%s: %w", op, err)
	}
	synced := Synced{Visits: make([]SyncResult, len(visits)), Declarations: make([]SyncResult, len(b.Declarations))}
	decls, err := s.checkDeclarations(ctx, v, b.Declarations, now, synced.Declarations)
	if err != nil {
		return Synced{}, fmt.Errorf("%s: %w", op, err)
	}
	out := synced.Visits
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i, vi := range visits {
			out[i].ID = vi.ID
			if v.Expired && vi.VisitedAt >= v.Expires.Unix() {
				out[i].Status = "expired"
				continue
			}
			var commune string
			var hamlet int64
			err := tx.QueryRowContext(ctx, "SELECT commune_code, hamlet_id FROM door_households WHERE id = $1", vi.HouseholdID).Scan(&commune, &hamlet)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && (commune != v.Team.Commune || (v.Team.HamletID > 0 && hamlet != v.Team.HamletID))) {
				return fmt.Errorf("household %d not the team's: %w", vi.HouseholdID, errs.ErrForbidden)
			}
			if err != nil {
				return err
			}
			d, pr := codes(commune)
			res, err := tx.ExecContext(ctx, `INSERT INTO door_visits (id, household_id, hamlet_id, team_id, commune_code, district_code, province_code,
				outcome, people, no_smartphone, installs, declarations, visited_at, received_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`,
				vi.ID, vi.HouseholdID, hamlet, v.Team.ID, commune, d, pr, vi.Outcome, vi.People, vi.NoSmartphone, vi.Installs, vi.Declarations, vi.VisitedAt, now.Unix())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				var team, household int64
				if err := tx.QueryRowContext(ctx, "SELECT team_id, household_id FROM door_visits WHERE id = $1", vi.ID).Scan(&team, &household); err != nil {
					return err
				}
				out[i].Status = "duplicate"
				if team != v.Team.ID || household != vi.HouseholdID {
					out[i].Status = "conflict"
				}
				continue
			}
			out[i].Status = "created"
			r := rank[vi.Outcome]
			if _, err := tx.ExecContext(ctx, `UPDATE door_households SET state = $1, state_rank = $2, state_at = $3
				WHERE id = $4 AND (state_rank < $2 OR (state_rank = $2 AND state_at < $3))`, vi.Outcome, r, vi.VisitedAt, vi.HouseholdID); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.submitDeclarations(ctx, v, decls, now, synced.Declarations)
	}
	if err != nil {
		return Synced{}, fmt.Errorf("%s: %w", op, err)
	}
	return synced, nil
}
