package web

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/poster"
	"anticovid/internal/venue"
)

// routesVenueRegistration registers public venue registration, the phone confirmed by an SMS code.
func (s *Server) routesVenueRegistration() {
	s.registerIP = newLimiter(rate.Every(30*time.Second), 10)
	s.page("GET /dang-ky-dia-diem", false, s.registerStart)
	s.page("GET /register", false, func(w http.ResponseWriter, r *http.Request) error {
		target := "/dang-ky-dia-diem"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return nil
	})
	s.page("POST /dang-ky-dia-diem/ma", false, s.registerSendCode)
	s.page("POST /dang-ky-dia-diem", false, s.registerSubmit)
}

// categoryGroup is one of the directive's two lists of venue categories.
type categoryGroup struct {
	Label      string // i18n key
	Categories []venue.Category
}

// firstCrowded is the first category of the directive's second list (crowded
// places); venue.Categories keeps the directive's order, workplaces first.
const firstCrowded = "hospital"

func categoryGroups() []categoryGroup {
	g := []categoryGroup{{Label: "register.group.work"}, {Label: "register.group.crowd"}}
	i := 0
	for _, c := range venue.Categories {
		if c.Code == firstCrowded {
			i = 1
		}
		g[i].Categories = append(g[i].Categories, c)
	}
	return g
}

// registerView is what the registration pages show.
type registerView struct {
	Phone        string            // normalised, once step 1 is done
	Confirmed    string            // proof that the phone passed its code (see confirmation)
	Values       map[string]string // the form as typed
	Errors       map[string]string // field → message
	Notice       string            // i18n key of a message above the form
	NoticeArg    string
	Province     geo.Unit   // the province whose districts are listed
	Provinces    []geo.Unit // a national deployment's provinces, to choose from
	Groups       []categoryGroup
	Districts    []unitGroup
	CategoryName func(string) string
	Venue        *venue.Venue // once registered
	QRSVG        template.HTML
	Username     string
	DemoCode     string // the code sent, shown only in a demo (otp.Service.Reveal)
	// Tiles and Attribution are the map tiles (--map-tiles) the GPS point
	// is pinned on; without tiles the form has the fields and the phone's
	// GPS only.
	Tiles, Attribution string
}

func (s *Server) newRegisterView(r *http.Request) *registerView {
	return &registerView{Values: map[string]string{}, Errors: map[string]string{}, Groups: categoryGroups(),
		CategoryName: categoryName(langOf(r)), Tiles: s.Config.MapTiles, Attribution: s.Config.MapAttribution}
}

func (s *Server) renderRegister(w http.ResponseWriter, r *http.Request, status int, page string, rv *registerView) {
	s.addressUnits(rv)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, page, rv)
}

// addressUnits fills the address pickers: the deployment's districts and
// their communes or, in a national deployment, the provinces and the
// districts of the one chosen (the form's "show districts" button, which
// the page's script presses when the province changes).
func (s *Server) addressUnits(rv *registerView) {
	prov, _ := geo.Get(s.Config.Province)
	if prov.Level == "country" {
		rv.Provinces = geo.Children(geo.Country)
		code := rv.Values["province"]
		if c, ok := geo.Ancestor(rv.Values["commune_code"], "province"); ok && code == "" {
			code = c.Code
		}
		if prov, _ = geo.Get(code); prov.Level != "province" {
			prov = geo.Unit{}
		}
		rv.Values["province"] = prov.Code
	}
	rv.Province, rv.Districts = prov, districtGroups(prov.Code)
}

func (s *Server) registerStart(w http.ResponseWriter, r *http.Request) error {
	s.renderRegister(w, r, http.StatusOK, "register", s.newRegisterView(r))
	return nil
}

// registerSendCode is step 1: it sends a code to the phone and shows the form.
func (s *Server) registerSendCode(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.ErrTooLarge
	}
	rv := s.newRegisterView(r)
	rv.Values["phone"] = r.PostFormValue("phone")
	if !s.registerIP.take(clientIP(r)) {
		rv.Notice = "register.limited"
		s.renderRegister(w, r, http.StatusTooManyRequests, "register", rv)
		return nil
	}
	sent, err := s.OTP.Send(r.Context(), otp.RegisterVenue, r.PostFormValue("phone"))
	switch {
	case errors.Is(err, otp.ErrTooSoon):
		// A code is on its way (or several were): let them use it.
		rv.Phone, _ = people.NormalizePhone(r.PostFormValue("phone"))
		rv.Notice = "register.too_soon"
		rv.Values["contact_phone"] = rv.Phone
		s.renderRegister(w, r, http.StatusTooManyRequests, "register_form", rv)
		return nil
	case errs.FieldsOf(err) != nil:
		rv.Errors = errs.FieldsOf(err)
		s.renderRegister(w, r, http.StatusBadRequest, "register", rv)
		return nil
	case err != nil:
		return err
	}
	rv.Phone, rv.Notice, rv.NoticeArg, rv.DemoCode = sent.Phone, "register.sent", people.MaskPhone(sent.Phone), sent.Code
	rv.Values["contact_phone"] = sent.Phone
	s.renderRegister(w, r, http.StatusOK, "register_form", rv)
	return nil
}

// confirmationTTL is how long a phone, once confirmed by its code, stays
// confirmed while the person fixes the rest of the form.
const confirmationTTL = 30 * time.Minute

const confirmTag = "venue-register-phone/v1"

// confirmation proves, without server state, that phone passed its one-time
// code: a form sent back with field errors then needs no second code.
func (s *Server) confirmation(phone string, now time.Time) string {
	msg := binary.BigEndian.AppendUint64([]byte(phone), uint64(now.Add(confirmationTTL).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(msg, s.Venues.Vault.Tag(confirmTag, msg)...))
}

func (s *Server) confirmed(tok, phone string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != len(phone)+8+16 {
		return false
	}
	msg, tag := b[:len(b)-16], b[len(b)-16:]
	return string(msg[:len(phone)]) == phone && s.Venues.Vault.CheckTag(confirmTag, msg, tag) &&
		int64(binary.BigEndian.Uint64(msg[len(phone):])) > now.Unix()
}

// registerFields are the form fields the page sends back as typed.
var registerFields = []string{"name", "category", "province", "district", "commune_code", "address", "lat", "lon", "contact_name",
	"contact_phone", "capacity", "opening_hours", "starts_at", "ends_at", "plate", "route", "code"}

// venueFromForm reads the registration form into a venue, with the problems
// of fields that do not even parse.
func venueFromForm(r *http.Request, phone string) (venue.Venue, errs.Fields) {
	f := errs.Fields{}
	val := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	v := venue.Venue{Name: val("name"), Category: val("category"), CommuneCode: val("commune_code"), Address: val("address"),
		ContactName: val("contact_name"), OpeningHours: val("opening_hours"), Plate: val("plate"), Route: val("route")}
	if v.Category == "" {
		f.Add("category", msg.Both("web.register.category"))
	}
	if v.CommuneCode == "" {
		f.Add("commune_code", msg.Both("web.register.commune"))
	}
	if len([]rune(v.ContactName)) > 100 || len([]rune(v.OpeningHours)) > 100 || len([]rune(v.Plate)) > 20 || len([]rune(v.Route)) > 200 {
		f.Add("name", msg.Both("web.register.too_long"))
	}
	if val("lat") != "" || val("lon") != "" {
		lat, e1 := strconv.ParseFloat(strings.ReplaceAll(val("lat"), ",", "."), 64)
		lon, e2 := strconv.ParseFloat(strings.ReplaceAll(val("lon"), ",", "."), 64)
		if e1 != nil || e2 != nil {
			f.Add("lat", msg.Both("web.register.coordinates"))
		} else {
			v.Lat, v.Lon = &lat, &lon
		}
	}
	v.ContactPhone = phone
	if p := val("contact_phone"); p != "" {
		if ph, err := people.NormalizePhone(p); err == nil {
			v.ContactPhone = ph
		} else {
			f.Add("contact_phone", msg.Both("web.register.contact_phone"))
		}
	}
	if c := val("capacity"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			f.Add("capacity", msg.Both("web.register.capacity"))
		}
		v.Capacity = n
	}
	for _, t := range []struct {
		k   string
		dst **time.Time
	}{{"starts_at", &v.StartsAt}, {"ends_at", &v.EndsAt}} {
		if s := val(t.k); s != "" {
			tt, ok := venue.ParseLocalTime(s)
			if !ok {
				f.Add(t.k, msg.Both("web.register.time"))
				continue
			}
			*t.dst = &tt
		}
	}
	v.KeepKindFields()
	return v, f
}

// registerSubmit is step 2: the code, the venue and the account's password.
// Nothing is stored unless every field is valid and the code is right.
func (s *Server) registerSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.ErrTooLarge
	}
	ctx := r.Context()
	now := time.Now()
	rv := s.newRegisterView(r)
	for _, k := range registerFields {
		rv.Values[k] = r.PostFormValue(k)
	}
	phone, err := people.NormalizePhone(r.PostFormValue("phone"))
	if err != nil {
		rv.Errors["phone"] = msg.Both("web.register.phone")
		s.renderRegister(w, r, http.StatusBadRequest, "register", rv)
		return nil
	}
	rv.Phone = phone
	if tok := r.PostFormValue("confirmed"); s.confirmed(tok, phone, now) {
		rv.Confirmed = tok
	}
	fail := func() error {
		rv.Notice = "register.errors"
		s.renderRegister(w, r, http.StatusBadRequest, "register_form", rv)
		return nil
	}
	if r.PostFormValue("refresh") != "" { // a province was chosen: list its districts
		s.renderRegister(w, r, http.StatusOK, "register_form", rv)
		return nil
	}

	// Every field first, so that a typo does not burn the code.
	v, f := venueFromForm(r, phone)
	if err := v.Validate(); err != nil {
		for k, msg := range errs.FieldsOf(err) {
			if _, seen := f[k]; !seen {
				f.Add(k, msg)
			}
		}
	}
	if _, bad := f["commune_code"]; !bad && !geo.Contains(s.Config.Province, v.CommuneCode) {
		f.Add("commune_code", msg.Both("web.register.outside"))
	}
	pw := r.PostFormValue("password")
	if n := len([]rune(pw)); n < 10 || n > 256 {
		f.Add("password", msg.Both("web.register.password_length"))
	} else if pw != r.PostFormValue("password2") {
		f.Add("password2", msg.Both("web.register.password_mismatch"))
	}
	if len(f) > 0 {
		rv.Errors = f
		return fail()
	}

	// Then the phone.
	if rv.Confirmed == "" {
		if err := s.OTP.Check(ctx, otp.RegisterVenue, phone, r.PostFormValue("code")); err != nil {
			if fields := errs.FieldsOf(err); fields != nil {
				rv.Errors = fields
				return fail()
			}
			return err
		}
		rv.Confirmed = s.confirmation(phone, now)
	}

	// The account: new, or the one this phone already has.
	var p *auth.Principal
	existing, err := s.Auth.UserByName(ctx, phone)
	switch {
	case err == nil:
		if existing.Role != auth.VenueManager {
			rv.Errors["phone"] = msg.Both("web.register.officer_phone")
			return fail()
		}
		if s.Auth.Lockout.Wait(clientIP(r), phone) > 0 {
			rv.Errors["password"] = msg.T(langOf(r), "login.limited")
			return fail()
		}
		u, err := s.Auth.Authenticate(ctx, phone, pw)
		if err != nil {
			s.Auth.Lockout.Fail(clientIP(r), phone)
			rv.Errors["password"] = msg.Both("web.register.existing_account")
			return fail()
		}
		if u.MustReset || u.HasTOTP {
			// This form signs in with the password alone: an account with
			// more login steps (a forced reset, a second factor) logs in first.
			rv.Errors["password"] = msg.Both("account.register_login_first")
			return fail()
		}
		if u.Unit != v.CommuneCode {
			rv.Errors["commune_code"] = msg.Both("web.register.other_commune", unitDisplayName(u.Unit))
			return fail()
		}
		p = &u.Principal
	case errors.Is(err, errs.ErrNotFound):
		u, err := s.Auth.CreateUser(ctx, auth.NewUser{Username: phone, Password: pw, Role: auth.VenueManager, Unit: v.CommuneCode})
		if err != nil {
			if fields := errs.FieldsOf(err); fields != nil {
				rv.Errors = fields
				return fail()
			}
			return err
		}
		p = &u.Principal
	default:
		return err
	}

	created, err := s.Venues.Create(ctx, p, v)
	if err != nil {
		return err
	}
	if s.Config.AutoApprove {
		// The deployment itself approves: the commune may still suspend or close.
		deployment := &auth.Principal{Username: "auto-approve", Role: auth.ProvinceAdmin, Unit: s.Config.Province}
		if created, err = s.Venues.SetStatus(ctx, deployment, created.ID, venue.StatusApproved); err != nil {
			return err
		}
	}
	s.log.Info("venue registered", "venue", created.ID, "status", created.Status, "manager", p.UserID)

	secret, err := s.Auth.NewSession(ctx, p.UserID)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: s.Config.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(s.Config.SessionTTL.Seconds())})
	r = r.WithContext(auth.WithPrincipal(ctx, p)) // the page already shows them logged in
	rv.Venue, rv.Username = &created, phone
	if created.Status == venue.StatusApproved && created.QRURL != "" {
		svg, err := poster.SVG(created.QRURL)
		if err != nil {
			return err
		}
		rv.QRSVG = template.HTML(svg) // drawn here, from our own signed URL
	}
	s.renderRegister(w, r, http.StatusCreated, "register_done", rv)
	return nil
}
