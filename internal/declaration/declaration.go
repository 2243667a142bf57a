// Package declaration holds electronic health declarations: the form every
// resident (and every traveller) fills in, validated field by field; the
// signed personal QR code a declaration yields, which venue staff scan; and
// the worklist that puts declarations reporting symptoms or a contact with a
// case in front of the commune health station. The answers are personal
// health data: stored as one encrypted document, shown only within the
// viewer's jurisdiction after an audit entry, and purged with the check-ins.
package declaration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Kinds of declaration, as the national forms of 2021 named them.
const (
	KindResident = "resident" // khai báo y tế toàn dân: everyone, where they live
	KindTravel   = "travel"   // khai báo di chuyển nội địa: a trip within Vietnam
	KindEntry    = "entry"    // khai báo nhập cảnh: arriving from abroad
)

// Option is one choice of a closed list, with its stable code (what the API
// takes) and its Vietnamese and English labels.
type Option struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEN string `json:"name_en"`
}

// Label returns the option's name in lang ("en" or Vietnamese).
func (o Option) Label(lang string) string {
	if lang == "en" {
		return o.NameEN
	}
	return o.Name
}

// option is an answer whose labels are the catalog's key in both languages.
func option(code, key string) Option {
	return Option{code, msg.T("vi", key), msg.T("en", key)}
}

// Kinds lists the declaration kinds.
var Kinds = []Option{
	option(KindResident, "declaration.kind.resident"),
	option(KindTravel, "declaration.kind.travel"),
	option(KindEntry, "declaration.kind.entry"),
}

// Sexes lists the answers to "sex".
var Sexes = []Option{
	option("male", "declaration.sex.male"),
	option("female", "declaration.sex.female"),
	option("other", "declaration.sex.other"),
}

// Symptoms are the signs the Ministry of Health's form asked about, for the
// last 14 days.
var Symptoms = []Option{
	option("fever", "declaration.symptom.fever"),
	option("cough", "declaration.symptom.cough"),
	option("shortness_of_breath", "declaration.symptom.shortness_of_breath"),
	option("sore_throat", "declaration.symptom.sore_throat"),
	option("nausea_vomiting", "declaration.symptom.nausea_vomiting"),
	option("diarrhoea", "declaration.symptom.diarrhoea"),
	option("skin_bleeding", "declaration.symptom.skin_bleeding"),
	option("rash", "declaration.symptom.rash"),
}

// Modes are the means of transport of a travel or entry declaration.
var Modes = []Option{
	option("air", "declaration.mode.air"),
	option("ship", "declaration.mode.ship"),
	option("car", "declaration.mode.car"),
	option("train", "declaration.mode.train"),
	option("motorbike", "declaration.mode.motorbike"),
	option("other", "declaration.mode.other"),
}

// MaxVaccineDoses bounds the doses a person may report (two doses and a
// booster were the most anyone had in 2021; four leaves room).
const MaxVaccineDoses = 4

// Travel is what a travel or entry declaration adds. Dates are local
// calendar dates, YYYY-MM-DD.
type Travel struct {
	Mode           string `json:"mode,omitempty"`
	Vehicle        string `json:"vehicle,omitempty"` // flight number, plate, ship or train number
	Seat           string `json:"seat,omitempty"`
	DeparturePlace string `json:"departure_place,omitempty"`
	DepartureDate  string `json:"departure_date,omitempty"`
	ArrivalPlace   string `json:"arrival_place,omitempty"`
	ArrivalDate    string `json:"arrival_date,omitempty"`
}

// DepartureDay is the departure date as Vietnamese write it (dd/mm/yyyy).
func (t Travel) DepartureDay() string { return dayVN(t.DepartureDate) }

// ArrivalDay is the arrival date as Vietnamese write it (dd/mm/yyyy).
func (t Travel) ArrivalDay() string { return dayVN(t.ArrivalDate) }

func dayVN(iso string) string {
	d, err := time.Parse(dateLayout, iso)
	if err != nil {
		return iso
	}
	return d.Format("02/01/2006")
}

// Input is one declaration as a person fills it in (the JSON API takes it as
// is; the web form maps its fields onto it). After Validate it is also what
// is stored, encrypted, as the declaration's answers.
type Input struct {
	// ID is an optional client-generated id (a UUID): a retry with the same
	// id records nothing new and returns the same QR.
	ID   string `json:"id,omitempty"`
	Kind string `json:"kind"`

	Name        string `json:"name"`
	BirthYear   int    `json:"birth_year"`
	Sex         string `json:"sex"`
	Nationality string `json:"nationality"`
	IDNumber    string `json:"id_number"` // CCCD, CMND or passport; required for travel and entry
	Phone       string `json:"phone"`

	// Address in Vietnam; district and province follow from the commune when
	// left out.
	ProvinceCode string `json:"province_code"`
	DistrictCode string `json:"district_code"`
	CommuneCode  string `json:"commune_code"`
	Street       string `json:"street"`

	Travel

	// The last 14 days.
	Places       string   `json:"places"`        // places travelled, free text
	Symptoms     []string `json:"symptoms"`      // codes of Symptoms; empty: none
	ContactCase  *bool    `json:"contact_case"`  // close contact with a confirmed or suspected case
	AnimalMarket *bool    `json:"animal_market"` // visited a live-animal market
	VaccineDoses *int     `json:"vaccine_doses"`
}

// Flagged reports whether the declaration belongs on the commune health
// station's worklist.
func (in Input) Flagged() bool {
	return len(in.Symptoms) > 0 || (in.ContactCase != nil && *in.ContactCase)
}

// VisitedMarket reports a visit to a live-animal market (false when unanswered).
func (in Input) VisitedMarket() bool { return in.AnimalMarket != nil && *in.AnimalMarket }

// HasSymptom reports whether code is among the declared symptoms.
func (in Input) HasSymptom(code string) bool { return slices.Contains(in.Symptoms, code) }

// Message fragments reused by several fields.
var (
	msgAnswer = msg.Both("declaration.please_answer_question")
)

var (
	clientIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	dateLayout = "2006-01-02"
	hcm        = time.FixedZone("ICT", 7*3600) // Asia/Ho_Chi_Minh, no DST since 1975
)

// clean normalises free text: NFC (Vietnamese typed with combining marks
// compares equal to precomposed text), runs of spaces collapsed, control
// characters refused.
func clean(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	s = strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return s, true
}

// text validates one free-text field in place: length in runes within
// [min, max] (min 0: optional).
func text(f errs.Fields, field string, s *string, min, max int, name string) {
	c, ok := clean(*s)
	if !ok {
		f.Add(field, msg.Both("declaration.contains_invalid_characters"))
		return
	}
	*s = c
	n := utf8.RuneCountInString(c)
	switch {
	case n == 0 && min > 0:
		f.Add(field, msg.Both("declaration.please_enter", msg.T("vi", name), msg.T("en", name)))
	case n > 0 && n < min, n > max:
		f.Add(field, msg.Both("declaration.length", capitalize(msg.T("vi", name)), min, max, capitalize(msg.T("en", name))))
	}
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func optionOK(list []Option, code string) bool {
	return slices.ContainsFunc(list, func(o Option) bool { return o.Code == code })
}

// Validate normalises in place and reports every bad field at once, keyed by
// the JSON field names (the web form uses the same names). now fixes "this
// year" and "today".
func Validate(in *Input, now time.Time) error {
	f := errs.Fields{}
	if in.ID != "" && !clientIDRE.MatchString(in.ID) {
		f.Add("id", msg.Both("declaration.id_client_generated_uuid"))
	}
	if in.Kind == "" {
		in.Kind = KindResident
	}
	if !optionOK(Kinds, in.Kind) {
		f.Add("kind", msg.Both("declaration.unknown_declaration_kind"))
	}
	travels := in.Kind == KindTravel || in.Kind == KindEntry

	text(f, "name", &in.Name, 2, 100, "declaration.field.name")
	if y := now.In(hcm).Year(); in.BirthYear < y-120 || in.BirthYear > y {
		f.Add("birth_year", msg.Both("declaration.year_birth_between_and", y-120, y))
	}
	if !optionOK(Sexes, in.Sex) {
		f.Add("sex", msg.Both("declaration.please_choose_sex"))
	}
	text(f, "nationality", &in.Nationality, 2, 60, "declaration.field.nationality")
	if id, ok := people.NormalizeIDNumber(in.IDNumber); !ok {
		f.Add("id_number", msg.Both("declaration.invalid_id_number_cccd"))
	} else if id == "" && travels {
		f.Add("id_number", msg.Both("declaration.travel_declaration_needs_id"))
	} else {
		in.IDNumber = id
	}
	if ph, err := people.NormalizePhone(in.Phone); err != nil {
		f.Add("phone", msg.Both("declaration.invalid_phone_number_10"))
	} else {
		in.Phone = ph
	}
	address(f, in)
	text(f, "street", &in.Street, 2, 200, "declaration.field.street")

	if travels {
		travel(f, &in.Travel, now)
	} else {
		in.Travel = Travel{} // a form switched back to "resident" may still carry them
	}

	text(f, "places", &in.Places, 0, 1000, "declaration.field.places")
	seen := map[string]bool{}
	syms := in.Symptoms[:0:0]
	for _, s := range in.Symptoms {
		if !optionOK(Symptoms, s) {
			f.Add("symptoms", msg.Both("declaration.unknown_symptom", s))
			break
		}
		if !seen[s] {
			seen[s] = true
			syms = append(syms, s)
		}
	}
	// Keep the form's order, so stored answers compare equal however sent.
	slices.SortFunc(syms, func(a, b string) int {
		return slices.IndexFunc(Symptoms, func(o Option) bool { return o.Code == a }) -
			slices.IndexFunc(Symptoms, func(o Option) bool { return o.Code == b })
	})
	in.Symptoms = syms
	if in.ContactCase == nil {
		f.Add("contact_case", msgAnswer)
	}
	if in.AnimalMarket == nil {
		f.Add("animal_market", msgAnswer)
	}
	if in.VaccineDoses == nil {
		f.Add("vaccine_doses", msgAnswer)
	} else if *in.VaccineDoses < 0 || *in.VaccineDoses > MaxVaccineDoses {
		f.Add("vaccine_doses", msg.Both("declaration.vaccine_doses_0_to", MaxVaccineDoses))
	}
	return f.Err()
}

// address checks that province, district and commune are official units
// nested in one another, filling district and province from the commune.
func address(f errs.Fields, in *Input) {
	c, ok := geo.Get(in.CommuneCode)
	if !ok || c.Level != "commune" {
		if in.CommuneCode == "" {
			f.Add("commune_code", msg.Both("declaration.please_choose_commune"))
		} else {
			f.Add("commune_code", msg.Both("declaration.unknown_commune_code"))
		}
		if p, ok := geo.Get(in.ProvinceCode); in.ProvinceCode != "" && (!ok || p.Level != "province") {
			f.Add("province_code", msg.Both("declaration.unknown_province_code"))
		}
		if d, ok := geo.Get(in.DistrictCode); in.DistrictCode != "" && (!ok || d.Level != "district" || (in.ProvinceCode != "" && d.ParentCode != in.ProvinceCode)) {
			f.Add("district_code", msg.Both("declaration.district_not_in_chosen"))
		}
		return
	}
	d, _ := geo.Ancestor(c.Code, "district")
	p, _ := geo.Ancestor(c.Code, "province")
	switch {
	case in.ProvinceCode != "" && in.ProvinceCode != p.Code:
		f.Add("commune_code", msg.Both("declaration.commune_not_in_chosen"))
	case in.DistrictCode != "" && in.DistrictCode != d.Code:
		f.Add("commune_code", msg.Both("declaration.commune_not_in_chosen_2"))
	}
	in.ProvinceCode, in.DistrictCode = p.Code, d.Code
}

// travel validates a trip. Dates may lie a month either side of today: a
// declaration is made before leaving or on arrival, about the last 14 days.
func travel(f errs.Fields, t *Travel, now time.Time) {
	if !optionOK(Modes, t.Mode) {
		f.Add("mode", msg.Both("declaration.please_choose_means_transport"))
	}
	min := 1
	if t.Mode == "other" {
		min = 0
	}
	text(f, "vehicle", &t.Vehicle, min, 30, "declaration.field.vehicle")
	t.Vehicle = strings.ToUpper(t.Vehicle)
	text(f, "seat", &t.Seat, 0, 10, "declaration.field.seat")
	text(f, "departure_place", &t.DeparturePlace, 2, 200, "declaration.field.departure_place")
	text(f, "arrival_place", &t.ArrivalPlace, 2, 200, "declaration.field.arrival_place")
	today := now.In(hcm)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	parse := func(field, s, name string) (time.Time, bool) {
		if s == "" {
			f.Add(field, msg.Both("declaration.please_enter", msg.T("vi", name), msg.T("en", name)))
			return time.Time{}, false
		}
		d, err := time.Parse(dateLayout, s)
		if err != nil {
			f.Add(field, msg.Both("declaration.invalid_date_yyyy_mm"))
			return time.Time{}, false
		}
		if d.Before(today.AddDate(0, 0, -30)) || d.After(today.AddDate(0, 0, 30)) {
			f.Add(field, msg.Both("declaration.date_within_30_days"))
			return time.Time{}, false
		}
		return d, true
	}
	dep, ok1 := parse("departure_date", t.DepartureDate, "declaration.field.departure_date")
	arr, ok2 := parse("arrival_date", t.ArrivalDate, "declaration.field.arrival_date")
	if ok1 && ok2 && arr.Before(dep) {
		f.Add("arrival_date", msg.Both("declaration.arrival_cannot_before_departure"))
	}
}

// DefaultTTL is how long a personal QR stays valid: a declaration speaks for
// the last 14 days, so after 14 more it says nothing current.
const DefaultTTL = 14 * 24 * time.Hour

// Service records declarations and serves the worklist.
type Service struct {
	DB      *sqldb.DB
	People  *people.Service
	Vault   *vault.Vault
	BaseURL string        // public base URL the personal QR points at
	TTL     time.Duration // personal QR lifetime; DefaultTTL when zero
	Now     func() time.Time
}

// NewService returns a Service issuing QR codes under baseURL.
func NewService(db *sqldb.DB, p *people.Service, v *vault.Vault, baseURL string) *Service {
	return &Service{DB: db, People: p, Vault: v, BaseURL: strings.TrimRight(baseURL, "/"), TTL: DefaultTTL, Now: time.Now}
}

// now is the service's clock (Now when set, so tests can move it).
func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) ttl() time.Duration {
	if s.TTL <= 0 {
		return DefaultTTL
	}
	return s.TTL
}

// Result is what a submission returns to the person. Token and QRURL are
// set only for a proven declaration; an unproven one carries Pending
// instead, the handle its device presents once it has proved the phone.
type Result struct {
	Created   bool      `json:"created"` // false: the same id was recorded before
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Flagged   bool      `json:"flagged"` // the commune health station will follow up
	Proof     int       `json:"proof"`   // 0: unproven, kept and shown as such; 1: the device proved the phone
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Token     string    `json:"token,omitempty"`
	QRURL     string    `json:"qr_url,omitempty"`
	Pending   string    `json:"pending,omitempty"`
	PersonID  int64     `json:"-"`
}

// Proof grades of a declaration (declarations.proof), as for visits.
const (
	Unproven    = 0 // the phone was typed on a device that has not proved it
	PhoneProven = 1 // the device holds a proof cookie for the person the phone names
)

// Submit validates and records a declaration, finding or registering the
// person by phone. device is the person the device's proof cookie names (0
// without one): only when it is the person the phone maps to is the
// declaration proven and the personal QR issued. Otherwise the declaration
// is kept unproven, without a QR, so typing someone else's number neither
// obtains their QR nor speaks for them. A repeat of a client id returns the
// first submission and records nothing.
func (s *Service) Submit(ctx context.Context, in Input, device int64) (Result, error) {
	return s.submit(ctx, in, device, s.People.FindOrCreate)
}

// SubmitAssisted records a declaration someone filled in for another person
// (a volunteer at their door): unproven, without a QR in the result, and
// never attached to whoever the phone already names unless the name and
// birth year match too (people.Service.FindOrAdd): a grandmother declared
// with her son's phone is a person of her own, and typing a stranger's
// phone with another name yields nothing of the stranger's.
func (s *Service) SubmitAssisted(ctx context.Context, in Input) (Result, error) {
	return s.submit(ctx, in, 0, s.People.FindOrAdd)
}

// submit validates and records a declaration, finding its person with find.
func (s *Service) submit(ctx context.Context, in Input, device int64, find func(context.Context, people.Person) (int64, error)) (Result, error) {
	now := s.now().UTC().Truncate(time.Second)
	if err := Validate(&in, now); err != nil {
		return Result{}, fmt.Errorf("declare: %w", err)
	}
	if in.ID != "" {
		// A retry is answered without writing anything, not even a person.
		if r, ok, err := s.previous(ctx, in, device); ok || err != nil {
			return r, err
		}
	}
	personID, err := find(ctx, people.Person{Name: in.Name, Phone: in.Phone, IDNumber: in.IDNumber,
		BirthYear: in.BirthYear, Commune: in.CommuneCode})
	if err != nil {
		return Result{}, fmt.Errorf("declare: %w", err)
	}
	clientID := in.ID
	in.ID = ""
	doc, err := json.Marshal(in)
	if err != nil {
		return Result{}, fmt.Errorf("declare: %w", err)
	}
	res := Result{Created: true, Kind: in.Kind, Flagged: in.Flagged(), CreatedAt: now, ExpiresAt: now.Add(s.ttl()), PersonID: personID}
	if device == personID {
		res.Proof = PhoneProven
	}
	var cid any
	if clientID != "" {
		cid = clientID
	}
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO declarations (person_id, kind, answers_enc, has_symptoms, had_contact,
		commune_code, district_code, province_code, created_at, expires_at, client_id, proof)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (client_id) DO NOTHING RETURNING id`,
		personID, in.Kind, s.Vault.Seal(string(doc)), b2i(len(in.Symptoms) > 0), b2i(in.ContactCase != nil && *in.ContactCase),
		in.CommuneCode, in.DistrictCode, in.ProvinceCode, now.Unix(), res.ExpiresAt.Unix(), cid, res.Proof).Scan(&res.ID)
	if errors.Is(err, sql.ErrNoRows) && clientID != "" {
		// Lost a race with the same submission: answer as a retry.
		in.ID = clientID
		var ok bool
		if res, ok, err = s.previous(ctx, in, device); err == nil && !ok {
			err = fmt.Errorf("client id %s: vanished", clientID)
		}
		if err != nil {
			return Result{}, err
		}
		return res, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("declare: %w", err)
	}
	s.sign(&res, device)
	return res, nil
}

// sign gives a proven declaration its personal QR when device (the person
// the caller's proof cookie names) is its person; otherwise only the handle
// of the proof step: a client id or a retry is not proof.
func (s *Service) sign(r *Result, device int64) {
	if r.Proof < PhoneProven || device != r.PersonID {
		r.Pending = s.pendingHandle(r.ID, r.PersonID)
		return
	}
	r.Token = s.Sign(Claims{PersonID: r.PersonID, DeclarationID: r.ID, Expires: r.ExpiresAt, Proof: r.Proof})
	r.QRURL = s.URL(r.Token)
}

// previous returns the declaration recorded earlier under in's client id, if
// any. The id alone is not proof: the phone must be the same, or a guessed
// id would hand out someone else's QR (ErrConflict). An unproven one whose
// device has proved the phone since becomes proven.
func (s *Service) previous(ctx context.Context, in Input, device int64) (Result, bool, error) {
	var r Result
	var flagA, flagB int
	var created, expires int64
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, person_id, kind, has_symptoms, had_contact, created_at, expires_at, proof
		FROM declarations WHERE client_id = $1`, in.ID).
		Scan(&r.ID, &r.PersonID, &r.Kind, &flagA, &flagB, &created, &expires, &r.Proof)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("declare: client id %s: %w", in.ID, err)
	}
	phoneHash, known, err := s.People.PhoneHash(ctx, r.PersonID)
	if err != nil {
		return Result{}, false, fmt.Errorf("declare: client id %s: %w", in.ID, err)
	}
	if !known { // as before: a declaration whose person is gone is not a previous one
		return Result{}, false, nil
	}
	same := phoneHash == s.Vault.Hash(in.Phone)
	if phoneHash == "" { // a person of their own on a shared phone (people.Service.FindOrAdd): compare the phone kept
		phones, err := s.People.Phones(ctx, []int64{r.PersonID})
		if err != nil {
			return Result{}, false, fmt.Errorf("declare: client id %s: %w", in.ID, err)
		}
		same = phones[r.PersonID] != "" && phones[r.PersonID] == in.Phone
	}
	if !same {
		return Result{}, false, fmt.Errorf("declare: client id %s used by another person: %w", in.ID, errs.ErrConflict)
	}
	if r.Proof < PhoneProven && device == r.PersonID {
		if err := s.markProven(ctx, r.ID, r.PersonID); err != nil {
			return Result{}, false, fmt.Errorf("declare: client id %s: %w", in.ID, err)
		}
		r.Proof = PhoneProven
	}
	r.Flagged = flagA != 0 || flagB != 0
	r.CreatedAt, r.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
	s.sign(&r, device)
	return r, true, nil
}

// URL is the address a personal QR encodes.
func (s *Service) URL(token string) string { return s.BaseURL + "/p/" + token }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
