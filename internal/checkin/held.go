package checkin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/venue"
)

// Statuses of a held scan.
const (
	HeldStatus     = "held"
	ReleasedStatus = "released"
	RejectedStatus = "rejected"
	AllStatuses    = "all"
)

type clientKey struct{}

// WithClient tells the check-in path which client address sent a citizen's
// scan, for the burst rule (only a keyed hash of it is kept). Staff scans
// are not given one: a staff device scans many people at its venue by
// design, so the burst rule does not apply to them.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// screenScan applies the plausibility rules before a scan is written. A held
// scan is stored in visits_held and answered exactly like an accepted one,
// so whoever sends forged scans learns nothing to tune them by.
//
// typed is the person whose details the phone sent (zero when it sent a
// person token instead).
func (s *Service) screenScan(ctx context.Context, it item, typed people.Person, v venue.Venue, now time.Time) (Result, bool, error) {
	p := placeOf(v, it.at, it.dir)
	var vd verdict
	if it.personID != 0 {
		vd = s.screen.person(it.personID, p)
	}
	addr, _ := ctx.Value(clientKey{}).(string)
	var addrHash string
	if vd.reason == "" && addr != "" && typed.Name != "" && it.dir == In {
		if it.proof == Unproven { // staff-seen scans are not bursts
			_, who := s.People.Key(typed)
			addrHash = s.Vault.Hash("client-address:" + addr)
			vd = s.screen.burst(v, addrHash, who, now.Unix())
		}
	}
	if vd.reason == "" {
		return Result{}, false, nil
	}
	if addrHash == "" && addr != "" {
		addrHash = s.Vault.Hash("client-address:" + addr)
	}
	res, err := s.hold(ctx, it, typed, v, vd, addrHash, now)
	return res, true, err
}

// screened remembers a written scan whose person the writer resolved, for
// the rules to compare later scans with.
func (s *Service) screened(it item, v venue.Venue, personID int64) {
	if it.personID == 0 {
		s.screen.remember(personID, placeOf(v, it.at, it.dir))
	}
}

const insertHeld = `INSERT INTO visits_held (visit_id, venue_id, person_id, t_in, t_out, out_id, proof, queued, reason, details,
	client_hash, held_at, commune_code, district_code, province_code, status)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'held') ON CONFLICT DO NOTHING`

// hold stores a scan for review instead of writing it to visits. A scan
// already in visits is a retry whose first answer was lost (the database
// went away between committing and replying, and the rules did not see it
// written): it is answered as a repeat, not stored a second time.
func (s *Service) hold(ctx context.Context, it item, typed people.Person, v venue.Venue, vd verdict, addrHash string, now time.Time) (Result, error) {
	personID := it.personID
	if personID == 0 {
		var err error
		if personID, err = s.People.FindOrCreate(ctx, typed); err != nil {
			return Result{}, fmt.Errorf("hold check-in: %w", err)
		}
	}
	var stored int
	if err := s.DB.W.QueryRowContext(ctx, "SELECT count(*) FROM visits WHERE id = $1 OR out_id = $1", it.id).Scan(&stored); err != nil {
		return Result{}, fmt.Errorf("hold check-in: %w", err)
	}
	if stored > 0 {
		return Result{ID: it.id, Direction: it.dir, At: time.Unix(it.at, 0).UTC(), VenueID: v.ID, VenueName: v.Name,
			PersonToken: s.PersonToken(personID), Queued: it.queued, Proof: it.grade(personID)}, nil
	}
	tIn, tOut, outID := it.at, sql.NullInt64{}, sql.NullString{}
	if it.dir == Out {
		tIn, tOut, outID = it.at-it.stay, sql.NullInt64{Int64: it.at, Valid: true}, sql.NullString{String: it.id, Valid: true}
	}
	district, _ := geo.Ancestor(v.CommuneCode, "district")
	province, _ := geo.Ancestor(v.CommuneCode, "province")
	proof, queued := it.grade(personID), flag(it.queued)
	res, err := s.DB.W.ExecContext(ctx, insertHeld, it.id, v.ID, personID, tIn, tOut, outID, proof, queued, vd.reason, vd.details,
		addrHash, now.Unix(), v.CommuneCode, district.Code, province.Code)
	if err != nil {
		return Result{}, fmt.Errorf("hold check-in: %w", err)
	}
	n, _ := res.RowsAffected()
	return Result{Created: n == 1, ID: it.id, Direction: it.dir, At: time.Unix(it.at, 0).UTC(), VenueID: v.ID, VenueName: v.Name,
		PersonToken: s.PersonToken(personID), Queued: it.queued, Proof: proof}, nil
}

// HeldScan is a held check-in as a reviewer sees it.
type HeldScan struct {
	ID        int64      `json:"id"`
	VisitID   string     `json:"visit_id"`
	VenueID   int64      `json:"venue_id"`
	VenueName string     `json:"venue_name"`
	PersonID  int64      `json:"person_id"`
	Phone     string     `json:"phone"` // masked
	TIn       time.Time  `json:"t_in"`
	TOut      *time.Time `json:"t_out,omitempty"`
	Proof     int        `json:"proof"`
	Queued    bool       `json:"queued"`
	Reason    string     `json:"reason"`
	Details   string     `json:"details"` // key=value figures behind the reason
	HeldAt    time.Time  `json:"held_at"`
	Commune   string     `json:"commune_code"`
	Status    string     `json:"status"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// HeldFilter narrows the review list.
type HeldFilter struct {
	Unit          string // a unit within the caller's jurisdiction ("" = all of it)
	Status        string // held (default), released, rejected, all
	Limit, Offset int
}

// MayReview reports whether p may see and decide held check-ins: commune
// officers, and above them district officers and the province, in their
// jurisdiction; health tracers, whose work the holds protect.
func MayReview(p *auth.Principal) bool {
	return p.Can(auth.CommuneOfficer, auth.DistrictOfficer, auth.ProvinceAdmin, auth.HealthTracer)
}

// Held lists held check-ins in p's jurisdiction, oldest first while held,
// and records the access in the audit log before returning phones.
func (s *Service) Held(ctx context.Context, p *auth.Principal, f HeldFilter, purpose string) ([]HeldScan, error) {
	if !MayReview(p) {
		return nil, fmt.Errorf("held check-ins: %w", errs.ErrForbidden)
	}
	col, val := p.Scope()
	if f.Unit != "" {
		u, ok := geo.Get(f.Unit)
		if !ok {
			return nil, fmt.Errorf("held check-ins: %w", &errs.Invalid{Fields: map[string]string{"unit": msg.Both("checkin.held.unknown_unit")}})
		}
		if !p.InJurisdiction(u.Code) {
			return nil, fmt.Errorf("held check-ins %s: %w", u.Code, errs.ErrForbidden)
		}
		col, val = "", ""
		if u.Level != "country" {
			col, val = u.Level+"_code", u.Code
		}
	}
	var where []string
	var args []any
	if col != "" {
		args = append(args, val)
		where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	order := "held_at DESC, id DESC"
	switch f.Status {
	case "", HeldStatus:
		where, order = append(where, "status = 'held'"), "held_at, id"
	case ReleasedStatus, RejectedStatus:
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	case AllStatuses:
	default:
		return nil, fmt.Errorf("held check-ins: %w", &errs.Invalid{Fields: map[string]string{"status": msg.Both("checkin.held.bad_status")}})
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = min(max(f.Limit, 50), 200)
	}
	args = append(args, f.Limit, max(f.Offset, 0))
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf(`SELECT id, visit_id, venue_id, person_id, t_in, t_out, proof, queued, reason, details,
		held_at, commune_code, status, COALESCE(decided_by, 0), decided_at FROM visits_held%s ORDER BY %s LIMIT $%d OFFSET $%d`,
		cond, order, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("held check-ins: %w", err)
	}
	defer rows.Close()
	var out []HeldScan
	var deciders, persons []int64
	decider := map[int]int64{}
	for rows.Next() {
		var h HeldScan
		var tIn, heldAt, by int64
		var tOut, decided sql.NullInt64
		var queued int
		if err := rows.Scan(&h.ID, &h.VisitID, &h.VenueID, &h.PersonID, &tIn, &tOut, &h.Proof, &queued, &h.Reason, &h.Details,
			&heldAt, &h.Commune, &h.Status, &by, &decided); err != nil {
			return nil, fmt.Errorf("held check-ins: %w", err)
		}
		h.TIn, h.HeldAt, h.Queued = time.Unix(tIn, 0).UTC(), time.Unix(heldAt, 0).UTC(), queued != 0
		if tOut.Valid {
			t := time.Unix(tOut.Int64, 0).UTC()
			h.TOut = &t
		}
		if decided.Valid {
			t := time.Unix(decided.Int64, 0).UTC()
			h.DecidedAt = &t
		}
		decider[len(out)] = by
		deciders, persons = append(deciders, by), append(persons, h.PersonID)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("held check-ins: %w", err)
	}
	if len(out) == 0 {
		return []HeldScan{}, nil
	}
	names, err := auth.Usernames(ctx, s.DB, deciders)
	if err != nil {
		return nil, fmt.Errorf("held check-ins: %w", err)
	}
	ids := make([]string, len(out))
	for i := range out {
		ids[i] = strconv.FormatInt(out[i].ID, 10)
	}
	if auth.From(ctx) != p {
		ctx = auth.WithPrincipal(ctx, p) // the audit entry names the caller given
	}
	if err := auth.Audit(ctx, s.DB, auth.ActionView, "visit_held", ids, purpose); err != nil {
		return nil, fmt.Errorf("held check-ins: %w", err)
	}
	phones, err := s.People.Phones(ctx, persons)
	if err != nil {
		return nil, fmt.Errorf("held check-ins: %w", err)
	}
	for i := range out {
		out[i].Phone = people.MaskPhone(phones[out[i].PersonID])
		out[i].DecidedBy = names[decider[i]]
		if v, err := s.Venue(ctx, out[i].VenueID); err == nil {
			out[i].VenueName = v.Name
		}
	}
	return out, nil
}

// Release copies a held check-in into visits with its grade, where tracing
// finds it like any other, and marks it released by p.
func (s *Service) Release(ctx context.Context, p *auth.Principal, id int64) error {
	return s.decide(ctx, p, id, ReleasedStatus)
}

// Reject marks a held check-in rejected by p: it never enters visits, and
// retention purges it like the visits of its day.
func (s *Service) Reject(ctx context.Context, p *auth.Principal, id int64) error {
	return s.decide(ctx, p, id, RejectedStatus)
}

func (s *Service) decide(ctx context.Context, p *auth.Principal, id int64, status string) error {
	if !MayReview(p) {
		return fmt.Errorf("%s held check-in %d: %w", status, id, errs.ErrForbidden)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var commune, current string
		err := tx.QueryRowContext(ctx, "SELECT commune_code, status FROM visits_held WHERE id = $1", id).Scan(&commune, &current)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !p.InJurisdiction(commune)) {
			// Another unit's hold is not found, not forbidden: its existence is not the caller's to learn.
			return fmt.Errorf("%s held check-in %d: %w", status, id, errs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s held check-in %d: %w", status, id, err)
		}
		if current != HeldStatus {
			return fmt.Errorf("%s held check-in %d: already %s: %w", status, id, current, errs.ErrConflict)
		}
		if status == ReleasedStatus {
			if _, err := tx.ExecContext(ctx, `INSERT INTO visits (id, venue_id, person_id, t_in, t_out, out_id, proof, queued)
				SELECT visit_id, venue_id, person_id, t_in, t_out, out_id, proof, queued FROM visits_held WHERE id = $1
				ON CONFLICT DO NOTHING`, id); err != nil {
				return fmt.Errorf("release held check-in %d: %w", id, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE visits_held SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4",
			status, p.UserID, s.Now().Unix(), id); err != nil {
			return fmt.Errorf("%s held check-in %d: %w", status, id, err)
		}
		return nil
	})
}

// HeldCount is how many check-ins in p's jurisdiction wait for a decision.
// It reads no personal data, so it is not audited.
func (s *Service) HeldCount(ctx context.Context, p *auth.Principal) (int, error) {
	if !MayReview(p) {
		return 0, fmt.Errorf("held check-ins: %w", errs.ErrForbidden)
	}
	where, args := "status = 'held'", []any{}
	if col, val := p.Scope(); col != "" {
		where, args = fmt.Sprintf("%s = $1 AND status = 'held'", col), []any{val}
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM visits_held WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("held check-ins: %w", err)
	}
	return n, nil
}
