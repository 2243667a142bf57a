package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/cases"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/msg"
	"anticovid/internal/people"
)

// routesBluezone registers the Bluezone server: the phone API and the tracer's page.
func (s *Server) routesBluezone() {
	if s.Bluezone == nil {
		return
	}
	s.api("POST", "/api/v1/bluezone/register/code", s.apiBZCode)
	s.api("POST", "/api/v1/bluezone/devices", s.apiBZRegister)
	s.api("GET", "/api/v1/bluezone/devices/self", s.apiBZSelf)
	s.api("POST", "/api/v1/bluezone/devices/self/ping", s.apiBZPing)
	s.api("DELETE", "/api/v1/bluezone/devices/self", s.apiBZDelete)
	s.api("POST", "/api/v1/bluezone/unregister", s.apiBZUnregister)
	s.api("POST", "/api/v1/bluezone/contact-logs", s.apiBZUpload)
	s.api("POST", "/api/v1/bluezone/feed", s.apiBZPublish)
	s.api("GET", "/api/v1/bluezone/feed", s.apiBZFeed)
	s.api("POST", "/api/v1/bluetooth/codes", s.apiBTIssue)
	s.api("GET", "/api/v1/bluezone/people/{id}/contacts", s.apiBZContacts)
	s.api("GET", "/api/v1/bluezone/uploads", s.apiBZUploads)
	s.page("GET /bluezone", true, s.bluezonePage)
	s.page("POST /bluezone/codes", true, s.bluezoneIssue)
	s.page("POST /bluezone/contacts", true, s.bluezoneContacts)
}

// knownPerson is the person an official names by what they know: a phone
// or ID number, or a scanned personal QR or chip ID card QR, never our
// internal id. A phone several people share asks for the ID number.
func (s *Server) knownPerson(r *http.Request, who string) (int64, error) {
	who = strings.TrimSpace(who)
	if strings.Contains(who, "/p/") || strings.Contains(who, "|") {
		sc, err := s.Declarations.ParseScan(who)
		if err != nil {
			return 0, &errs.Invalid{Fields: map[string]string{"who": msg.Both("web.bluezone.bad_qr")}}
		}
		if sc.Kind == declaration.ScanPersonal {
			return sc.Personal.PersonID, nil
		}
		who = sc.Card.Number
	}
	ids, err := s.People.Known(r.Context(), who)
	switch {
	case err != nil:
		return 0, err
	case len(ids) == 0:
		return 0, &errs.Invalid{Fields: map[string]string{"who": msg.Both("web.bluezone.no_person")}}
	case len(ids) > 1:
		return 0, &errs.Invalid{Fields: map[string]string{"who": msg.Both("web.bluezone.several")}}
	}
	return ids[0], nil
}

// deviceHeader carries a registered phone's secret token (Authorization is
// for people's accounts).
const deviceHeader = "X-Bluezone-Device"

func (s *Server) apiBZCode(w http.ResponseWriter, r *http.Request) error {
	var in phoneCodeInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Purpose == "" {
		in.Purpose = exposure.PurposeRegister
	}
	exp, err := s.Bluezone.StartRegistration(r.Context(), in.Purpose, in.Phone, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, expiresAnswer{ExpiresAt: exp.UTC()})
	return nil
}

func (s *Server) apiBZRegister(w http.ResponseWriter, r *http.Request) error {
	var in bluezone.Registration
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	dev, token, err := s.Bluezone.Register(r.Context(), in, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, bzRegistered{Device: dev, Token: token})
	return nil
}

func (s *Server) apiBZSelf(w http.ResponseWriter, r *http.Request) error {
	dev, err := s.Bluezone.DeviceByToken(r.Context(), r.Header.Get(deviceHeader))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, dev)
	return nil
}

func (s *Server) apiBZPing(w http.ResponseWriter, r *http.Request) error {
	if err := s.Bluezone.Ping(r.Context(), r.Header.Get(deviceHeader)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiBZDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Bluezone.Unregister(r.Context(), r.Header.Get(deviceHeader)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiBZUnregister(w http.ResponseWriter, r *http.Request) error {
	var in phoneConfirmInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Bluezone.UnregisterPhone(r.Context(), in.Phone, in.Code, clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiBZUpload(w http.ResponseWriter, r *http.Request) error {
	code, rows, err := bluezone.DecodeLog(r.Body)
	if err != nil {
		return err
	}
	if code == "" {
		code = r.Header.Get("X-Bluezone-Code")
	}
	res, err := s.Bluezone.UploadLog(r.Context(), code, clientIP(r), rows)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *Server) apiBZPublish(w http.ResponseWriter, r *http.Request) error {
	var in bzPublishInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	n, err := s.Bluezone.PublishKeys(r.Context(), in.Code, clientIP(r), in.Keys, in.WindowEnd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, publishedAnswer{Published: n})
	return nil
}

func (s *Server) apiBZFeed(w http.ResponseWriter, r *http.Request) error {
	since, err := queryInt(r, "since", 0)
	if err != nil {
		return err
	}
	feed, err := s.Bluezone.FeedSince(r.Context(), int64(since))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", feed.ETag)
	w.Header().Set("Cache-Control", "public, max-age=300")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == feed.ETag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, feed)
	return nil
}

func parseDay(field, s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), hcm)
	if err != nil {
		return time.Time{}, &errs.Invalid{Fields: map[string]string{field: msg.Both("web.bluezone.day")}}
	}
	return t, nil
}

func (s *Server) apiBTIssue(w http.ResponseWriter, r *http.Request) error {
	var in btIssueInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Who != "" {
		var err error
		if in.PersonID, err = s.knownPerson(r, in.Who); err != nil {
			return err
		}
	}
	var onset time.Time
	if in.Onset != "" {
		var err error
		if onset, err = parseDay("onset", in.Onset); err != nil {
			return err
		}
	}
	code, exp, err := s.Bluezone.Codes.Issue(r.Context(), auth.From(r.Context()), in.Purpose, in.PersonID, onset)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, codeIssued{Code: code, Purpose: in.Purpose, ExpiresAt: exp.UTC()})
	return nil
}

// contactWindow reads ?from=&to= (dates, inclusive), default the last 14 days.
func contactWindow(r *http.Request) (time.Time, time.Time, error) {
	to := time.Now()
	from := to.AddDate(0, 0, -14)
	var err error
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = parseDay("from", v); err != nil {
			return from, to, err
		}
	}
	if v := r.URL.Query().Get("to"); v != "" {
		if to, err = parseDay("to", v); err != nil {
			return from, to, err
		}
		to = to.AddDate(0, 0, 1)
	}
	return from, to, nil
}

func (s *Server) bzContacts(r *http.Request, person int64) ([]bluezone.Contact, error) {
	from, to, err := contactWindow(r)
	if err != nil {
		return nil, err
	}
	// Police and ICT read a person's Bluetooth contacts only through their
	// open grant on that person's case, named in the audit.
	purpose := msg.Both("web.purpose.bluezone")
	if p := auth.From(r.Context()); cases.NeedsGrant(p) {
		g, err := s.Cases.PersonGrant(r.Context(), p, person)
		if err != nil {
			return nil, err
		}
		purpose = cases.GrantPurpose(g.ID, purpose)
	}
	cs, err := s.Bluezone.ContactsOf(r.Context(), person, from, to)
	if err != nil {
		return nil, err
	}
	ids := []string{strconv.FormatInt(person, 10)}
	for _, c := range cs {
		ids = append(ids, strconv.FormatInt(c.PersonID, 10))
	}
	if err := auth.Audit(r.Context(), s.DB, auth.ActionView, "bluezone_contacts", ids, purpose); err != nil {
		return nil, err
	}
	return cs, nil
}

func (s *Server) apiBZContacts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cs, err := s.bzContacts(r, id)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []bluezone.Contact{}
	}
	writeJSON(w, http.StatusOK, bzContactsAnswer{PersonID: id, Contacts: cs})
	return nil
}

func (s *Server) apiBZUploads(w http.ResponseWriter, r *http.Request) error {
	ups, err := s.Bluezone.Uploads(r.Context(), 100)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, bzUploadsAnswer{Uploads: ups})
	return nil
}

// bzContactRow is one candidate as the tracer's page shows it.
type bzContactRow struct {
	bluezone.Contact
	Name, Phone, Commune string
}

func (s *Server) bluezonePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderBluezone(w, r, map[string]any{})
}

func (s *Server) renderBluezone(w http.ResponseWriter, r *http.Request, data map[string]any) error {
	p := auth.From(r.Context())
	if !bluezone.CanTrace(p) {
		return fmt.Errorf("bluezone page: %w", errs.ErrForbidden)
	}
	ups, err := s.Bluezone.Uploads(r.Context(), 20)
	if err != nil {
		return err
	}
	type uploadRow struct {
		bluezone.Upload
		Label string // the F0 by name and phone's last digits, not our id
	}
	f0s := make([]int64, len(ups))
	for i, u := range ups {
		f0s[i] = u.PersonID
	}
	labels := s.personLabels(r, f0s...)
	rows := make([]uploadRow, len(ups))
	for i, u := range ups {
		rows[i] = uploadRow{u, labels[u.PersonID]}
	}
	data["Uploads"] = rows
	data["Purposes"] = exposure.TracerPurposes
	id, _ := data["PersonID"].(int64)
	if v := r.URL.Query().Get("person"); v != "" && id == 0 { // an upload's link
		var err error
		if id, err = strconv.ParseInt(v, 10, 64); err != nil || id <= 0 {
			return fmt.Errorf("bluezone page: %w", &errs.Invalid{Fields: map[string]string{"person": msg.Both("web.bluezone.person")}})
		}
	}
	if id != 0 {
		cs, err := s.bzContacts(r, id)
		if errors.Is(err, errs.ErrForbidden) && cases.NeedsGrant(p) {
			data["NeedGrant"] = true // say so on the page, not a 403 behind its own form
			s.render(w, r, http.StatusOK, "bluezone", data)
			return nil
		}
		if err != nil {
			return err
		}
		var rows []bzContactRow
		for _, c := range cs {
			row := bzContactRow{Contact: c}
			if pp, err := s.People.Get(r.Context(), c.PersonID); err == nil {
				row.Name, row.Phone, row.Commune = pp.Name, people.MaskPhone(pp.Phone), pp.Commune
			}
			rows = append(rows, row)
		}
		data["Traced"], data["Person"], data["Contacts"] = true, s.personLabels(r, id)[id], rows
	}
	s.render(w, r, http.StatusOK, "bluezone", data)
	return nil
}

func (s *Server) bluezoneIssue(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("bluezone issue: %w", errs.ErrTooLarge)
	}
	who, purpose := r.PostFormValue("who"), r.PostFormValue("purpose")
	data := map[string]any{"Who": who}
	id, err := s.knownPerson(r, who)
	var code string
	var exp time.Time
	if err == nil {
		code, exp, err = s.Bluezone.Codes.Issue(r.Context(), auth.From(r.Context()), purpose, id, time.Time{})
	}
	switch {
	case err == nil:
		data["Code"], data["CodePurpose"], data["CodeExpires"], data["CodePerson"] = code, purpose, exp, s.personLabels(r, id)[id]
		delete(data, "Who")
	case errors.Is(err, errs.ErrInvalid) || errors.Is(err, errs.ErrNotFound):
		data["Error"] = errs.FieldsOf(err)
		if data["Error"] == nil {
			data["Error"] = map[string]string{"who": msg.Both("web.bluezone.no_person")}
		}
	default:
		return err
	}
	return s.renderBluezone(w, r, data)
}

// bluezoneContacts shows the Bluetooth candidates of the F0 the form names.
func (s *Server) bluezoneContacts(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("bluezone contacts: %w", errs.ErrTooLarge)
	}
	id, err := s.knownPerson(r, r.PostFormValue("who"))
	if f := errs.FieldsOf(err); f != nil {
		return s.renderBluezone(w, r, map[string]any{"ContactsError": f, "ContactsWho": r.PostFormValue("who")})
	}
	if err != nil {
		return err
	}
	return s.renderBluezone(w, r, map[string]any{"PersonID": id})
}

// personLabels names people as the tracer's page shows them: the name and
// the phone's last digits, read in one batch; unknown ids are absent.
func (s *Server) personLabels(r *http.Request, ids ...int64) map[int64]string {
	pp, _ := s.People.Personal(r.Context(), ids)
	out := make(map[int64]string, len(pp))
	for id, p := range pp {
		out[id] = p.Name + " · " + people.MaskPhone(p.Phone)
	}
	return out
}
