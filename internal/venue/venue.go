package venue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Statuses a venue moves through.
const (
	StatusPending   = "pending"
	StatusApproved  = "approved"
	StatusSuspended = "suspended"
	StatusClosed    = "closed"
)

// Venue is a registered place, event or vehicle.
type Venue struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Category     string     `json:"category"`
	CommuneCode  string     `json:"commune_code"`
	DistrictCode string     `json:"district_code"`
	ProvinceCode string     `json:"province_code"`
	Address      string     `json:"address"`
	Lat          *float64   `json:"lat,omitempty"`
	Lon          *float64   `json:"lon,omitempty"`
	ContactName  string     `json:"contact_name,omitempty"`
	ContactPhone string     `json:"contact_phone,omitempty"`
	Capacity     int        `json:"capacity,omitempty"`
	OpeningHours string     `json:"opening_hours,omitempty"`
	StartsAt     *time.Time `json:"starts_at,omitempty"`
	EndsAt       *time.Time `json:"ends_at,omitempty"`
	Plate        string     `json:"plate,omitempty"`
	Route        string     `json:"route,omitempty"`
	Status       string     `json:"status"`
	QRGen        int        `json:"-"`
	ManagerID    *int64     `json:"manager_id,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	QRURL        string     `json:"qr_url,omitempty"`
}

// Signer makes the token printed in a venue's QR (internal/token implements it).
type Signer interface {
	Sign(venueID int64, gen int) string
}

// Service registers, lists and changes venues within the caller's jurisdiction.
type Service struct {
	DB      *sqldb.DB
	Vault   *vault.Vault
	Signer  Signer // nil: no QR URLs yet
	BaseURL string
	// Province is the deployment's province code (or geo.Country).
	Province string
	// Outbox tells a venue's manager what officials did to it (notices.go);
	// nil: nobody is told.
	Outbox *notify.Outbox
}

// Validate checks a venue's fields and fills its district and province codes.
func (v *Venue) Validate() error {
	f := errs.Fields{}
	v.Name = strings.Join(strings.Fields(v.Name), " ")
	if n := len([]rune(v.Name)); n < 2 || n > 200 {
		f.Add("name", msg.Both("venue.name_2_to_200"))
	}
	cat, ok := CategoryOf(v.Category)
	if !ok {
		f.Add("category", msg.Both("venue.unknown_category"))
	}
	if u, ok := geo.Get(v.CommuneCode); !ok || u.Level != "commune" {
		f.Add("commune_code", msg.Both("venue.unknown_commune_code"))
	} else {
		d, _ := geo.Ancestor(v.CommuneCode, "district")
		p, _ := geo.Ancestor(v.CommuneCode, "province")
		v.DistrictCode, v.ProvinceCode = d.Code, p.Code
	}
	if len([]rune(v.Address)) > 300 {
		f.Add("address", msg.Both("venue.address_at_most_300"))
	}
	// Written so NaN (which every comparison calls false) is refused too.
	if (v.Lat == nil) != (v.Lon == nil) || (v.Lat != nil && !(*v.Lat >= -90 && *v.Lat <= 90 && *v.Lon >= -180 && *v.Lon <= 180)) {
		f.Add("lat", msg.Both("venue.invalid_coordinates"))
	}
	if v.Capacity < 0 || v.Capacity > 1_000_000 {
		f.Add("capacity", msg.Both("venue.invalid_capacity"))
	}
	if cat.Kind == KindEvent {
		if v.StartsAt == nil || v.EndsAt == nil || !v.EndsAt.After(*v.StartsAt) {
			f.Add("ends_at", msg.Both("venue.event_needs_start_before"))
		}
	}
	if cat.Kind == KindVehicle && strings.TrimSpace(v.Plate) == "" {
		f.Add("plate", msg.Both("venue.vehicle_needs_plate_number"))
	}
	return f.Err()
}

// formID is what a form's idempotency key may be (the form makes UUIDs).
var formID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// ErrFormUsed: the form's key already made another venue (the error
// names the form's "id" field too).
var ErrFormUsed = errors.New("the form already made another venue")

// Create registers a venue. Officers and admins create approved venues within
// their jurisdiction; a venue manager's venue waits for the commune's approval.
func (s *Service) Create(ctx context.Context, p *auth.Principal, v Venue) (Venue, error) {
	return s.CreateOnce(ctx, p, v, "")
}

// CreateOnce is Create with the idempotency key of the form that asked
// (a random id the form carries): the same key again from the same user
// with the same venue, a double submit or a reloaded page, returns the
// venue the first made instead of a second one. The same key with another
// venue (the form kept by a browser and filled in again) is refused with
// ErrFormUsed, nothing made; another user's key is theirs alone. An empty
// key is Create.
func (s *Service) CreateOnce(ctx context.Context, p *auth.Principal, v Venue, clientID string) (Venue, error) {
	if clientID != "" && !formID.MatchString(clientID) {
		return Venue{}, fmt.Errorf("create venue: %w", &errs.Invalid{Fields: map[string]string{"id": msg.Both("venue.form_id_invalid")}})
	}
	key := ""
	if clientID != "" {
		var user int64
		if p != nil {
			user = p.UserID
		}
		key = fmt.Sprintf("%d:%s", user, clientID)
	}
	if err := v.Validate(); err != nil {
		return Venue{}, fmt.Errorf("create venue: %w", err)
	}
	if s.Province != "" && !geo.Contains(s.Province, v.CommuneCode) {
		return Venue{}, fmt.Errorf("create venue: %w", &errs.Invalid{Fields: map[string]string{"commune_code": msg.Both("venue.commune_outside_deployment_province")}})
	}
	v.Status = StatusPending
	switch {
	case p == nil:
	case p.Role == auth.VenueManager:
		id := p.UserID
		v.ManagerID = &id
		if !p.InJurisdiction(v.CommuneCode) {
			return Venue{}, fmt.Errorf("create venue: %w", errs.ErrForbidden)
		}
	case !p.InJurisdiction(v.CommuneCode) || !p.SeesSector(categoryDept(v.Category)):
		return Venue{}, fmt.Errorf("create venue: %w", errs.ErrForbidden)
	default:
		v.Status = StatusApproved
	}
	v.CreatedAt = time.Now().UTC().Truncate(time.Second)
	v.QRGen = 1
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO venues (name, category, commune_code, district_code, province_code, address,
		lat, lon, contact_name, contact_phone_enc, capacity, opening_hours, starts_at, ends_at, plate, route, status, qr_gen, manager_id, created_at,
		search_key, contact_phone_hash, client_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
		ON CONFLICT (province_code, client_id) WHERE client_id IS NOT NULL DO NOTHING RETURNING id`,
			v.Name, v.Category, v.CommuneCode, v.DistrictCode, v.ProvinceCode, v.Address, v.Lat, v.Lon, v.ContactName,
			s.Vault.Seal(v.ContactPhone), v.Capacity, v.OpeningHours, unixOrNil(v.StartsAt), unixOrNil(v.EndsAt),
			v.Plate, v.Route, v.Status, v.QRGen, v.ManagerID, v.CreatedAt.Unix(), searchKey(v), s.phoneHash(v.ContactPhone), nullIfEmpty(key)).Scan(&v.ID)
		if err != nil {
			return err
		}
		return indexWords(ctx, tx, map[int64]string{v.ID: searchKey(v)})
	})
	if errors.Is(err, sql.ErrNoRows) && key != "" {
		// The form was sent before: answer with the venue it made, if it
		// is this one.
		var first Venue
		if err := s.DB.W.QueryRowContext(ctx, "SELECT id, name, category, commune_code, address FROM venues WHERE province_code = $1 AND client_id = $2",
			v.ProvinceCode, key).Scan(&first.ID, &first.Name, &first.Category, &first.CommuneCode, &first.Address); err != nil {
			return Venue{}, fmt.Errorf("create venue: a form sent again: %w", err)
		}
		if first.Name != v.Name || first.Category != v.Category || first.CommuneCode != v.CommuneCode || first.Address != v.Address {
			return Venue{}, fmt.Errorf("create venue: %w: %w", ErrFormUsed, &errs.Invalid{Fields: map[string]string{"id": msg.Both("venue.form_used")}})
		}
		return s.Get(ctx, p, first.ID)
	}
	if err != nil {
		return Venue{}, fmt.Errorf("create venue: %w", err)
	}
	s.addURL(&v)
	return v, nil
}

func categoryDept(code string) string {
	c, _ := CategoryOf(code)
	return c.Department
}

// nullIfEmpty stores "" as NULL (a UNIQUE index holds many NULLs).
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func unixOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

func (s *Service) addURL(v *Venue) {
	if s.Signer != nil {
		v.QRURL = s.BaseURL + "/c/" + s.Signer.Sign(v.ID, v.QRGen)
	}
}

const venueCols = `id, name, category, commune_code, district_code, province_code, address, lat, lon, contact_name,
	contact_phone_enc, capacity, opening_hours, starts_at, ends_at, plate, route, status, qr_gen, manager_id, created_at`

func (s *Service) scan(row interface{ Scan(...any) error }) (Venue, error) {
	var v Venue
	var phone []byte
	var starts, ends sql.NullInt64
	var manager sql.NullInt64
	var created int64
	if err := row.Scan(&v.ID, &v.Name, &v.Category, &v.CommuneCode, &v.DistrictCode, &v.ProvinceCode, &v.Address,
		&v.Lat, &v.Lon, &v.ContactName, &phone, &v.Capacity, &v.OpeningHours, &starts, &ends, &v.Plate, &v.Route,
		&v.Status, &v.QRGen, &manager, &created); err != nil {
		return Venue{}, err
	}
	var err error
	if v.ContactPhone, err = s.Vault.Open(phone); err != nil {
		return Venue{}, err
	}
	for _, t := range []struct {
		src sql.NullInt64
		dst **time.Time
	}{{starts, &v.StartsAt}, {ends, &v.EndsAt}} {
		if t.src.Valid {
			tt := time.Unix(t.src.Int64, 0).UTC()
			*t.dst = &tt
		}
	}
	if manager.Valid {
		v.ManagerID = &manager.Int64
	}
	v.CreatedAt = time.Unix(created, 0).UTC()
	s.addURL(&v)
	return v, nil
}

// Lookup returns a venue by id with no jurisdiction check: for the public
// check-in path, which proves access with a signed token instead.
func (s *Service) Lookup(ctx context.Context, id int64) (Venue, error) {
	v, err := s.scan(s.DB.R.QueryRowContext(ctx, "SELECT "+venueCols+" FROM venues WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Venue{}, fmt.Errorf("venue %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Venue{}, fmt.Errorf("venue %d: %w", id, err)
	}
	return v, nil
}

// Visible reports whether the caller may see the venue.
func Visible(p *auth.Principal, v Venue) bool {
	if p == nil {
		return false
	}
	if p.Role == auth.VenueManager {
		return v.ManagerID != nil && *v.ManagerID == p.UserID
	}
	return p.InJurisdiction(v.CommuneCode) && p.SeesSector(categoryDept(v.Category))
}

// Get returns a venue the caller may see: ErrForbidden outside the caller's
// jurisdiction, ErrNotFound when there is no such venue.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id int64) (Venue, error) {
	v, err := s.Lookup(ctx, id)
	if err != nil {
		return Venue{}, err
	}
	if !Visible(p, v) {
		return Venue{}, fmt.Errorf("venue %d: %w", id, errs.ErrForbidden)
	}
	return v, nil
}

// Filter narrows a venue list.
type Filter struct {
	Commune  string // a unit code at any level; empty: the caller's whole jurisdiction
	Category string
	Status   string
	Q        string // a phone number, or words of the name, address, plate or route (diacritics optional)
	From, To string // days registered, YYYY-MM-DD in Vietnam, both ends included
	Sort     string // "" (by id), name, newest or commune
	Limit    int
	Offset   int
}

// List returns the venues the caller may see that match f, sorted as
// f.Sort says (by id by default).
func (s *Service) List(ctx context.Context, p *auth.Principal, f Filter) ([]Venue, error) {
	where, args, err := s.listWhere(p, f)
	if err != nil {
		return nil, err
	}
	order, ok := sorts[f.Sort]
	if !ok {
		return nil, fmt.Errorf("list venues: %w", &errs.Invalid{Fields: map[string]string{"sort": msg.Both("venue.bad_sort")}})
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := s.DB.R.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM venues WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
		venueCols, where, order, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list venues: %w", err)
	}
	defer rows.Close()
	out := []Venue{}
	for rows.Next() {
		v, err := s.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list venues: %w", err)
		}
		// A list carries no contact's name or phone: one venue's page shows
		// them, audited (web viewVenue).
		v.ContactName, v.ContactPhone = "", ""
		out = append(out, v)
	}
	return out, rows.Err()
}

// sorts are the orders a venue list offers (Filter.Sort), each ending on
// the id so pages never overlap.
var sorts = map[string]string{"": "id", "name": "search_key, id", "newest": "created_at DESC, id DESC", "commune": "commune_code, search_key, id"}

// Count is how many venues List would return for f without paging.
func (s *Service) Count(ctx context.Context, p *auth.Principal, f Filter) (int, error) {
	where, args, err := s.listWhere(p, f)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM venues WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count venues: %w", err)
	}
	return n, nil
}

// listWhere is the condition of List and Count: the caller's view, then
// each filter of f.
func (s *Service) listWhere(p *auth.Principal, f Filter) (string, []any, error) {
	where, args := scopeSQL(p)
	if f.Commune != "" {
		u, ok := geo.Get(f.Commune)
		if !ok {
			return "", nil, fmt.Errorf("list venues: %w", &errs.Invalid{Fields: map[string]string{"commune": msg.Both("venue.unknown_unit_code")}})
		}
		if !p.InJurisdiction(f.Commune) {
			return "", nil, fmt.Errorf("list venues: %w", errs.ErrForbidden)
		}
		if u.Level != "country" {
			args = append(args, f.Commune)
			where += fmt.Sprintf(" AND %s_code = $%d", u.Level, len(args))
		}
	}
	if f.Category != "" {
		args = append(args, f.Category)
		where += fmt.Sprintf(" AND category = $%d", len(args))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where += fmt.Sprintf(" AND status = $%d", len(args))
	}
	where, args, bad := sqldb.DayRange(where, args, "created_at", f.From, f.To)
	if len(bad) > 0 {
		f := errs.Fields{}
		for _, field := range bad {
			f.Add(field, msg.Both("venue.date_want_yyyy_mm_dd"))
		}
		return "", nil, fmt.Errorf("list venues: %w", f.Err())
	}
	q, args := s.searchWhere(f.Q, args)
	return where + q, args, nil
}

// scopeSQL returns the WHERE clause (and its arguments) that limits venues to
// what the caller may see.
func scopeSQL(p *auth.Principal) (string, []any) {
	if p == nil {
		return "1 = 0", nil
	}
	if p.Role == auth.VenueManager {
		return "manager_id = $1", []any{p.UserID}
	}
	where, args := "1 = 1", []any{}
	if col, val := p.Scope(); col != "" {
		args = append(args, val)
		where += fmt.Sprintf(" AND %s = $%d", col, len(args))
	}
	sector, sargs := SectorSQL(p, len(args)+1)
	return where + sector, append(args, sargs...)
}

// SectorSQL returns " AND category IN (...)" limiting venues to a department
// officer's sector, with placeholders numbered from next, or "" for callers
// who see every sector.
func SectorSQL(p *auth.Principal, next int) (string, []any) {
	if p.SeesSector("") {
		return "", nil
	}
	cats := CategoriesOf(p.Department)
	args := make([]any, len(cats))
	for i, c := range cats {
		args[i] = c
	}
	return " AND category IN (" + sqldb.In(next, len(cats)) + ")", args
}

// SetStatus approves, suspends or closes a venue. Only officers whose
// jurisdiction holds the venue may; a venue manager may close their own.
func (s *Service) SetStatus(ctx context.Context, p *auth.Principal, id int64, status string) (Venue, error) {
	switch status {
	case StatusApproved, StatusSuspended, StatusClosed:
	default:
		return Venue{}, fmt.Errorf("venue status: %w", &errs.Invalid{Fields: map[string]string{"status": msg.Both("venue.invalid_status")}})
	}
	v, err := s.Get(ctx, p, id)
	if err != nil {
		return Venue{}, err
	}
	if p.Role == auth.VenueManager && status != StatusClosed {
		return Venue{}, fmt.Errorf("venue status: %w", errs.ErrForbidden)
	}
	// From the status read, so of two officers (or servers) approving at
	// once one changes it and tells the manager.
	res, err := s.DB.W.ExecContext(ctx, "UPDATE venues SET status = $1 WHERE id = $2 AND status = $3", status, id, v.Status)
	if err != nil {
		return Venue{}, fmt.Errorf("venue status: %w", err)
	}
	changed, _ := res.RowsAffected()
	was := v.Status
	v.Status = status
	if p.Role != auth.VenueManager && was != status && changed == 1 {
		if err := s.tellStatus(ctx, v, was); err != nil {
			return v, err
		}
	}
	return v, nil
}

// PendingCount is how many venues in the caller's view wait for approval:
// the task list of the officers who approve them.
func (s *Service) PendingCount(ctx context.Context, p *auth.Principal) (int, error) {
	if p == nil || p.Role == auth.VenueManager {
		return 0, fmt.Errorf("pending venues: %w", errs.ErrForbidden)
	}
	return s.Count(ctx, p, Filter{Status: StatusPending})
}
