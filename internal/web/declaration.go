package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// routesDeclaration registers the public health declaration form and its JSON API.
func (s *Server) routesDeclaration() {
	if r := s.Config.CheckinRate; r > 0 {
		// A declaration is rarer than a scan: a fifth of the check-in rate
		// from one address, with bursts for a carrier's shared address.
		s.declareIP = newLimiter(rate.Limit(r/5), int(r)+1)
	}
	for _, p := range []string{"/khai-bao", "/declare"} {
		s.page("GET "+p, false, s.declarePage)
		s.page("POST "+p, false, s.declareSubmit)
	}
	s.routesDeclarationProof()
	s.api("GET", "/api/v1/declaration-options", s.apiDeclOptions)
	s.api("POST", "/api/v1/declarations", s.apiDeclare)
}

// maxDeclarationBody bounds a declaration's JSON: a full one is under 3 KB.
const maxDeclarationBody = 32 << 10

// declareView is what the form shows. V holds every value exactly as typed
// (a rejected form comes back with nothing lost); Errors holds each field's
// message in the page's language.
type declareView struct {
	V         map[string]string
	Errors    map[string]string
	Summary   []fieldError // the errors in form order, linking to their fields
	FormID    string
	Kinds     []option
	Sexes     []option
	Symptoms  []option
	Modes     []option
	Doses     []int
	Provinces []geo.Unit
	Districts []geo.Unit
	Communes  []unitGroup
	Questions []string // the yes/no questions besides symptoms
	Travel    bool
	MyQR      string // the personal QR remembered on this phone, still valid
}

// fieldError is one line of the error summary at the top of the form.
type fieldError struct{ ID, Label, Msg string }

// declareFields are the form's single-valued fields (symptoms are
// symptom_<code>).
var declareFields = []string{"id", "kind", "name", "birth_year", "sex", "nationality", "id_number", "phone",
	"province_code", "district_code", "commune_code", "street", "mode", "vehicle", "seat", "departure_place",
	"departure_date", "arrival_place", "arrival_date", "places", "contact_case", "animal_market", "vaccine_doses", "confirm"}

// qrCookie remembers the last personal QR on the phone that declared.
const qrCookie = "anticovid_qr"

func (s *Server) declView(r *http.Request, v map[string]string) declareView {
	lang := langOf(r)
	dv := declareView{V: v, Errors: map[string]string{}, FormID: v["id"], Kinds: options(declaration.Kinds, lang),
		Sexes: options(declaration.Sexes, lang), Symptoms: options(declaration.Symptoms, lang), Modes: options(declaration.Modes, lang),
		Provinces: geo.Children(geo.Country), Questions: []string{"contact_case", "animal_market"}}
	for i := 0; i <= declaration.MaxVaccineDoses; i++ {
		dv.Doses = append(dv.Doses, i)
	}
	if dv.FormID == "" {
		dv.FormID = newID()
	}
	dv.Travel = v["kind"] == declaration.KindTravel || v["kind"] == declaration.KindEntry
	// The lists follow what is chosen: districts of the province; communes of
	// the district, or (before one is chosen, for phones without JavaScript)
	// every commune of the province grouped by district.
	if p, ok := geo.Get(v["province_code"]); ok && p.Level == "province" {
		dv.Districts = geo.Children(p.Code)
		if dd, ok := geo.Get(v["district_code"]); ok && dd.ParentCode == p.Code {
			dv.Communes = []unitGroup{{dd.Code, dd.Name, geo.Children(dd.Code)}}
		} else {
			dv.Communes = districtGroups(p.Code)
		}
	}
	if c, err := r.Cookie(qrCookie); err == nil {
		if _, err := s.Declarations.Verify(c.Value); err == nil {
			dv.MyQR = "/p/" + c.Value
		}
	}
	return dv
}

func (s *Server) declarePage(w http.ResponseWriter, r *http.Request) error {
	v := map[string]string{"kind": declaration.KindResident, "nationality": msg.T("vi", "web.decl.nationality"), "province_code": s.Config.Province}
	if k := r.URL.Query().Get("kind"); k == declaration.KindTravel || k == declaration.KindEntry {
		v["kind"] = k
	}
	if _, ok := geo.Get(v["province_code"]); !ok || v["province_code"] == geo.Country {
		v["province_code"] = ""
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "declare", s.declView(r, v))
	return nil
}

// inputFromForm maps the form onto a declaration. Form-only checks (every
// symptom answered yes or no, the pledge ticked) come back as extra field
// errors; the declaration package validates the rest.
func inputFromForm(r *http.Request) (declaration.Input, map[string]string, errs.Fields) {
	v := map[string]string{}
	for _, k := range declareFields {
		v[k] = r.PostFormValue(k)
	}
	in := declaration.Input{ID: v["id"], Kind: v["kind"], Name: v["name"], Sex: v["sex"], Nationality: v["nationality"],
		IDNumber: v["id_number"], Phone: v["phone"], ProvinceCode: v["province_code"], DistrictCode: v["district_code"],
		CommuneCode: v["commune_code"], Street: v["street"], Places: v["places"],
		Travel: declaration.Travel{Mode: v["mode"], Vehicle: v["vehicle"], Seat: v["seat"], DeparturePlace: v["departure_place"],
			DepartureDate: v["departure_date"], ArrivalPlace: v["arrival_place"], ArrivalDate: v["arrival_date"]}}
	in.BirthYear, _ = strconv.Atoi(strings.TrimSpace(v["birth_year"]))
	if s := strings.TrimSpace(v["vaccine_doses"]); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			n = -1
		}
		in.VaccineDoses = &n
	}
	yesNo := func(s string) *bool {
		switch s {
		case "yes":
			return new(true)
		case "no":
			return new(false)
		}
		return nil
	}
	in.ContactCase, in.AnimalMarket = yesNo(v["contact_case"]), yesNo(v["animal_market"])
	f := errs.Fields{}
	for _, o := range declaration.Symptoms {
		key := "symptom_" + o.Code
		v[key] = r.PostFormValue(key)
		switch v[key] {
		case "yes":
			in.Symptoms = append(in.Symptoms, o.Code)
		case "no":
		default:
			f.Add(key, msg.Both("web.decl.yes_no"))
		}
	}
	if v["confirm"] == "" {
		f.Add("confirm", msg.Both("web.decl.pledge"))
	}
	return in, v, f
}

// summary lists the form's errors in the order of the form, each with the
// label of its field and the id of the element to jump to.
func summary(lang string, errors map[string]string) []fieldError {
	var out []fieldError
	add := func(id, label string) {
		if m, ok := errors[id]; ok {
			out = append(out, fieldError{id, label, m})
		}
	}
	for _, k := range declareFields {
		switch k {
		case "places":
			add(k, msg.T(lang, "decl.places.short"))
			for _, o := range declaration.Symptoms {
				add("symptom_"+o.Code, msg.T(lang, "decl.symptoms.short")+": "+o.Label(lang))
			}
			add("symptoms", msg.T(lang, "decl.symptoms.short"))
		case "contact_case", "animal_market", "confirm":
			add(k, msg.T(lang, "decl."+k+".short"))
		default:
			add(k, msg.T(lang, "decl."+k))
		}
	}
	return out
}

func (s *Server) declareSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("declaration form: %w", errs.ErrTooLarge)
	}
	in, v, formErrs := inputFromForm(r)
	lang := langOf(r)
	if r.PostFormValue("refresh") != "" {
		// Without JavaScript, choosing a province or district needs a round
		// trip to list its units; nothing is validated or stored.
		if r.PostFormValue("refresh") == "province" {
			v["district_code"], v["commune_code"] = "", ""
		}
		s.render(w, r, http.StatusOK, "declare", s.declView(r, v))
		return nil
	}
	if s.declareIP != nil && !s.declareIP.take(clientIP(r)) {
		return fmt.Errorf("declaration from %s: %w", clientIP(r), errs.ErrRateLimited)
	}
	fail := func(fields map[string]string) error {
		dv := s.declView(r, v)
		for k, m := range fields {
			dv.Errors[k] = msg.Local(lang, m)
		}
		dv.Summary = summary(lang, dv.Errors)
		s.render(w, r, http.StatusBadRequest, "declare", dv)
		return nil
	}
	if len(formErrs) > 0 {
		// Report the declaration's own problems in the same pass.
		check := in
		if err := declaration.Validate(&check, time.Now()); err != nil {
			for k, m := range errs.FieldsOf(err) {
				formErrs.Add(k, m)
			}
		}
		return fail(formErrs)
	}
	res, err := s.Declarations.Submit(r.Context(), in, s.provenPerson(r))
	if f := errs.FieldsOf(err); f != nil {
		return fail(f)
	}
	if errors.Is(err, errs.ErrConflict) {
		v["id"] = "" // the form's id belongs to someone else's declaration: a fresh one
		return fail(map[string]string{"form": msg.Both("web.decl.form_used")})
	}
	if err != nil {
		return err
	}
	return s.showDeclCard(w, r, res, in.Name)
}

func (s *Server) apiDeclOptions(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, declOptionsAnswer{Kinds: declaration.Kinds, Sexes: declaration.Sexes,
		Symptoms: declaration.Symptoms, Modes: declaration.Modes, MaxVaccineDoses: declaration.MaxVaccineDoses})
	return nil
}

func (s *Server) apiDeclare(w http.ResponseWriter, r *http.Request) error {
	if s.declareIP != nil && !s.declareIP.take(clientIP(r)) {
		return fmt.Errorf("declaration from %s: %w", clientIP(r), errs.ErrRateLimited)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxDeclarationBody)
	var in declaration.Input
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Declarations.Submit(r.Context(), in, s.provenPerson(r))
	if err != nil {
		return err
	}
	writeIdempotent(w, res.Created, res)
	return nil
}
