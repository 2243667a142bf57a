package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/geo"
	"anticovid/internal/people"
)

// bodyLimits raises the request body limit for routes that take files: a
// contact log of up to bluezone.MaxLogRows rows, an adoption spreadsheet.
var bodyLimits = map[string]int64{
	"/api/v1/bluezone/contact-logs": bluezone.MaxLogBytes,
	"/api/v1/adoption/import":       20 << 20,
	"/adoption/import":              20 << 20,
}

// deviceHeader carries a registered phone's secret token (Authorization is
// for people's accounts).
const deviceHeader = "X-Bluezone-Device"

func (s *Server) routesBluetooth() {
	if s.Bluezone != nil {
		s.api("POST", "/api/v1/bluezone/register/code", "Send a phone a one-time code by SMS to confirm a Bluezone registration (purpose bz_register) or its deletion (bz_unregister).", false, s.apiBZCode)
		s.api("POST", "/api/v1/bluezone/devices", "Register a phone: phone, code, base_key (64 hex), base_day (YYYY-MM-DD), commune_code, platform; returns the device token. Re-registration replaces the old key.", false, s.apiBZRegister)
		s.api("GET", "/api/v1/bluezone/devices/self", "The registration of the phone holding the X-Bluezone-Device token.", false, s.apiBZSelf)
		s.api("POST", "/api/v1/bluezone/devices/self/ping", "The phone is still running Bluezone (counts it as active).", false, s.apiBZPing)
		s.api("DELETE", "/api/v1/bluezone/devices/self", "Erase the registration of the phone holding the token: its key and every index link.", false, s.apiBZDelete)
		s.api("POST", "/api/v1/bluezone/unregister", "Erase the registration of a phone number confirmed by a bz_unregister code (lost phone).", false, s.apiBZUnregister)
		s.api("POST", "/api/v1/bluezone/contact-logs", "An F0's phone uploads its contact log with a bz_log code: {code, rows: [{own_id, contact_id, rssi, t}]}; at most 100000 rows.", false, s.apiBZUpload)
		s.api("POST", "/api/v1/bluezone/feed", "An F0's phone publishes its daily keys with a bz_feed code: {code, keys: [{daily_key, day_start}], window_end}.", false, s.apiBZPublish)
		s.api("GET", "/api/v1/bluezone/feed", "Published daily keys of F0s (?since=ID for newer ones); cacheable, with an ETag.", false, s.apiBZFeed)
		s.api("POST", "/api/v1/bluetooth/codes", "A health tracer issues a one-time code for an F0: {person_id, purpose: bz_log | bz_feed | en, onset: YYYY-MM-DD}.", true, s.apiBTIssue)
		s.api("GET", "/api/v1/bluezone/people/{id}/contacts", "Bluetooth F1 candidates of an F0 (?from=&to= YYYY-MM-DD) with their evidence.", true, s.apiBZContacts)
		s.api("GET", "/api/v1/bluezone/uploads", "The newest contact-log uploads in the caller's jurisdiction.", true, s.apiBZUploads)
		s.page("GET /bluezone", true, s.bluezonePage)
		s.page("POST /bluezone/codes", true, s.bluezoneIssue)
	}
	if s.Exposure != nil {
		s.api("POST", "/api/v1/en/verify", "Exchange an EN verification code for a certificate: {code} → {certificate, expires_at}.", false, s.apiENVerify)
		s.api("POST", "/api/v1/en/publish", "Upload Temporary Exposure Keys with a certificate: {certificate, temporaryExposureKeys: [{key (base64), rollingStartNumber, rollingPeriod, transmissionRisk}]}.", false, s.apiENPublish)
		s.api("GET", "/api/v1/en/signing-keys", "The public keys export files are signed with (verification key id and version).", false, s.apiENKeys)
		s.mux.HandleFunc("GET /en/export/{region}/{file}", s.enExportFile)
	}
	if s.Adoption != nil {
		s.api("GET", "/api/v1/adoption", "Bluezone adoption of a unit (?unit=) and its children, furthest behind the target first.", true, s.apiAdoption)
		s.api("PUT", "/api/v1/adoption/communes/{code}", "Set a commune's number of smartphone users: {users}.", true, s.apiAdoptionSet)
		s.api("POST", "/api/v1/adoption/import", "Import smartphone users per commune from a CSV or XLSX body (?filename=); all rows or none.", true, s.apiAdoptionImport)
		s.api("GET", "/api/v1/adoption/targets", "The adoption targets: due dates and percentages.", true, s.apiAdoptionTargets)
		s.api("PUT", "/api/v1/adoption/targets", "Replace the adoption targets (province administrator): {targets: [{due_date, percent}]}.", true, s.apiAdoptionSetTargets)
		s.page("GET /adoption", true, s.adoptionPage)
		s.page("POST /adoption/import", true, s.adoptionImportForm)
		s.page("POST /adoption/users", true, s.adoptionUsersForm)
	}
}

// --- phone API ---

func (s *Server) apiBZCode(w http.ResponseWriter, r *http.Request) error {
	var in struct{ Phone, Purpose string }
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
	writeJSON(w, http.StatusAccepted, map[string]any{"expires_at": exp.UTC()})
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
	writeJSON(w, http.StatusCreated, map[string]any{"device": dev, "token": token})
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
	var in struct{ Phone, Code string }
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
	var in struct {
		Code      string             `json:"code"`
		Keys      []bluezone.FeedKey `json:"keys"`
		WindowEnd int64              `json:"window_end"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	n, err := s.Bluezone.PublishKeys(r.Context(), in.Code, clientIP(r), in.Keys, in.WindowEnd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]int{"published": n})
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

// --- tracers ---

func parseDay(field, s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), hcm)
	if err != nil {
		return time.Time{}, &errs.Invalid{Fields: map[string]string{field: "Ngày dạng YYYY-MM-DD / date must be YYYY-MM-DD"}}
	}
	return t, nil
}

func (s *Server) apiBTIssue(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		PersonID int64  `json:"person_id"`
		Purpose  string `json:"purpose"`
		Onset    string `json:"onset"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
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
	writeJSON(w, http.StatusCreated, map[string]any{"code": code, "purpose": in.Purpose, "expires_at": exp.UTC()})
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
	cs, err := s.Bluezone.ContactsOf(r.Context(), person, from, to)
	if err != nil {
		return nil, err
	}
	ids := []string{strconv.FormatInt(person, 10)}
	for _, c := range cs {
		ids = append(ids, strconv.FormatInt(c.PersonID, 10))
	}
	if err := auth.Audit(r.Context(), s.DB, auth.ActionView, "bluezone_contacts", ids, "Truy vết F1 qua Bluezone / Bluetooth F1 tracing"); err != nil {
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
	writeJSON(w, http.StatusOK, map[string]any{"person_id": id, "contacts": cs})
	return nil
}

func (s *Server) apiBZUploads(w http.ResponseWriter, r *http.Request) error {
	ups, err := s.Bluezone.Uploads(r.Context(), 100)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"uploads": ups})
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
	data["Uploads"] = ups
	data["Purposes"] = exposure.TracerPurposes
	if v := r.URL.Query().Get("person"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("bluezone page: %w", &errs.Invalid{Fields: map[string]string{"person": "Mã người không hợp lệ / invalid person id"}})
		}
		cs, err := s.bzContacts(r, id)
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
		data["Person"], data["Contacts"] = id, rows
	}
	s.render(w, r, http.StatusOK, "bluezone", data)
	return nil
}

func (s *Server) bluezoneIssue(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("bluezone issue: %w", errs.ErrTooLarge)
	}
	id, _ := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("person_id")), 10, 64)
	purpose := r.PostFormValue("purpose")
	data := map[string]any{}
	code, exp, err := s.Bluezone.Codes.Issue(r.Context(), auth.From(r.Context()), purpose, id, time.Time{})
	switch {
	case err == nil:
		data["Code"], data["CodePurpose"], data["CodeExpires"], data["CodePerson"] = code, purpose, exp, id
	case errors.Is(err, errs.ErrInvalid) || errors.Is(err, errs.ErrNotFound):
		data["Error"] = errs.FieldsOf(err)
		if data["Error"] == nil {
			data["Error"] = map[string]string{"person_id": "Không tìm thấy người này / no such person"}
		}
	default:
		return err
	}
	return s.renderBluezone(w, r, data)
}

// --- Exposure Notification ---

func (s *Server) apiENVerify(w http.ResponseWriter, r *http.Request) error {
	var in struct{ Code string }
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	cert, exp, err := s.Exposure.Verify(r.Context(), in.Code, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificate": cert, "expires_at": exp.UTC()})
	return nil
}

func (s *Server) apiENPublish(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Certificate string `json:"certificate"`
		Keys        []struct {
			Key                string `json:"key"`
			RollingStartNumber int32  `json:"rollingStartNumber"`
			RollingPeriod      int32  `json:"rollingPeriod"`
			TransmissionRisk   int32  `json:"transmissionRisk"`
		} `json:"temporaryExposureKeys"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	f := errs.Fields{}
	keys := make([]exposure.Key, len(in.Keys))
	for i, k := range in.Keys {
		data, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			f.Add(fmt.Sprintf("keys[%d].key_data", i), "Khoá không phải base64 / key is not base64")
		}
		keys[i] = exposure.Key{Data: data, RollingStart: k.RollingStartNumber, RollingPeriod: k.RollingPeriod, TransmissionRisk: k.TransmissionRisk}
	}
	if err := f.Err(); err != nil {
		return fmt.Errorf("en publish: %w", err)
	}
	res, err := s.Exposure.Publish(r.Context(), in.Certificate, clientIP(r), keys)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) apiENKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Exposure.SigningKeys(r.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []exposure.PublicKeyInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"region": s.Exposure.Region, "keys": keys})
	return nil
}

var exportFileRE = regexp.MustCompile(`^(index\.txt|\d+-\d+-\d{5}\.zip)$`)

// enExportFile serves the published export files: immutable zips cached for
// a year, the index for five minutes.
func (s *Server) enExportFile(w http.ResponseWriter, r *http.Request) {
	region, file := r.PathValue("region"), r.PathValue("file")
	if region != s.Exposure.Region || !exportFileRE.MatchString(file) {
		http.NotFound(w, r)
		return
	}
	path := filepath.Join(s.Exposure.Dir, region, file)
	f, err := os.Open(path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if file == "index.txt" {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("Content-Type", "application/zip")
	}
	http.ServeContent(w, r, file, st.ModTime(), f)
}

// --- adoption ---

func (s *Server) adoptionUnit(r *http.Request) string {
	p := auth.From(r.Context())
	unit := r.URL.Query().Get("unit")
	if unit == "" {
		unit = p.Unit
		if unit == geo.Country && s.Config.Province != geo.Country {
			unit = s.Config.Province
		}
	}
	return unit
}

func (s *Server) apiAdoption(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Adoption.Report(r.Context(), auth.From(r.Context()), s.adoptionUnit(r), time.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) apiAdoptionSet(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Users *int64 `json:"users"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Users == nil {
		return &errs.Invalid{Fields: map[string]string{"users": "Thiếu số người dùng / users is required"}}
	}
	if err := s.Adoption.SetUsers(r.Context(), auth.From(r.Context()), r.PathValue("code"), *in.Users); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiAdoptionImport(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Query().Get("filename")
	if name == "" {
		name = "upload.csv"
	}
	res, err := s.Adoption.Import(r.Context(), auth.From(r.Context()), r.Body, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) apiAdoptionTargets(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Adoption.Targets(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": ts})
	return nil
}

func (s *Server) apiAdoptionSetTargets(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Targets []adoption.Target `json:"targets"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Adoption.SetTargets(r.Context(), auth.From(r.Context()), in.Targets); err != nil {
		return err
	}
	return s.apiAdoptionTargets(w, r)
}

// adoptionRow is one area as the page shows it, numbers formatted.
type adoptionRow struct {
	Code, Name, Level                 string
	Users, Registered, Active, Needed string
	Percent, Target, Gap, Due         string
	Known, Behind, Drill              bool
	BarPct, MarkPct                   string // chart: bar length and target mark, in % of the track
	CommunesWithData, Communes        int
	TargetsText                       string
}

func percent(f float64) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', 1, 64), ".", ",", 1) + "%"
}

func toRow(f adoption.Figures) adoptionRow {
	row := adoptionRow{Code: f.Code, Name: f.Name, Level: f.Level, Users: formatNumber(int(f.Smartphones)),
		Registered: formatNumber(int(f.Registered)), Active: formatNumber(int(f.Active)), Needed: formatNumber(int(f.Current.Needed)),
		Percent: percent(f.Percent), Target: percent(f.Current.Percent), Gap: percent(f.Gap), Known: f.Known(),
		Behind: f.Known() && f.Current.Needed > 0, Drill: f.Level != "commune",
		CommunesWithData: f.CommunesWithData, Communes: f.Communes}
	if d, err := time.Parse(time.DateOnly, f.Current.Due); err == nil {
		row.Due = d.Format("02/01/2006")
	}
	var ts []string
	for _, t := range f.Targets {
		d, _ := time.Parse(time.DateOnly, t.Due)
		mark := "✗"
		if t.Met {
			mark = "✓"
		}
		ts = append(ts, fmt.Sprintf("%s %s %s", percent(t.Percent), d.Format("02/01/2006"), mark))
	}
	row.TargetsText = strings.Join(ts, " · ")
	return row
}

func (s *Server) adoptionPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdoption(w, r, nil)
}

func (s *Server) renderAdoption(w http.ResponseWriter, r *http.Request, extra map[string]any) error {
	p := auth.From(r.Context())
	unit := s.adoptionUnit(r)
	rep, err := s.Adoption.Report(r.Context(), p, unit, time.Now())
	if err != nil {
		return err
	}
	data := map[string]any{"Unit": toRow(rep.Unit), "UnitCode": unit, "Path": geo.Path(unit), "CanEdit": adoption.CanEdit(p, firstCommune(unit))}
	var rows []adoptionRow
	for _, c := range rep.Children {
		row := toRow(c)
		row.BarPct = strconv.FormatFloat(min(c.Percent, 100), 'f', 1, 64)
		row.MarkPct = strconv.FormatFloat(min(c.Current.Percent, 100), 'f', 1, 64)
		rows = append(rows, row)
	}
	data["Rows"] = rows
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, http.StatusOK, "adoption", data)
	return nil
}

func firstCommune(unit string) string {
	if cs := geo.Communes(unit); len(cs) > 0 {
		return cs[0].Code
	}
	return unit
}

func (s *Server) adoptionImportForm(w http.ResponseWriter, r *http.Request) error {
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return s.renderAdoption(w, r, map[string]any{"Errors": map[string]string{"file": "Chọn tệp CSV hoặc XLSX / choose a CSV or XLSX file"}})
	}
	defer file.Close()
	res, err := s.Adoption.Import(r.Context(), auth.From(r.Context()), io.LimitReader(file, 20<<20), hdr.Filename)
	if errors.Is(err, errs.ErrInvalid) {
		return s.renderAdoption(w, r, map[string]any{"Errors": errs.FieldsOf(err)})
	}
	if err != nil {
		return err
	}
	return s.renderAdoption(w, r, map[string]any{"Imported": res.Updated})
}

func (s *Server) adoptionUsersForm(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("adoption form: %w", errs.ErrTooLarge)
	}
	n, err := strconv.ParseInt(strings.NewReplacer(".", "", ",", "", " ", "").Replace(r.PostFormValue("users")), 10, 64)
	if err != nil {
		return s.renderAdoption(w, r, map[string]any{"Errors": map[string]string{"users": "Số người dùng phải là số / users must be a number"}})
	}
	err = s.Adoption.SetUsers(r.Context(), auth.From(r.Context()), strings.TrimSpace(r.PostFormValue("commune_code")), n)
	if errors.Is(err, errs.ErrInvalid) {
		return s.renderAdoption(w, r, map[string]any{"Errors": errs.FieldsOf(err)})
	}
	if err != nil {
		return err
	}
	return s.renderAdoption(w, r, map[string]any{"Imported": 1})
}
