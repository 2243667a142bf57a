package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/dashboard"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/notify"
	"anticovid/internal/reports"
)

// Ops are the operations centre's services: the live dashboard and public
// map, weekly reports, quarantine cameras and campaigns. When nil, none of
// their routes exist.
type Ops struct {
	Dashboard *dashboard.Service
	Reports   *reports.Service
	Cameras   *camera.Service
	Campaigns *campaign.Service
	// MapTiles is an optional tile server URL template for the public map
	// ({z}/{x}/{y}); empty: the schematic map, which needs no internet.
	MapTiles       string
	MapAttribution string
}

func (s *Server) routesOperations() {
	if s.Ops == nil {
		return
	}
	s.page("GET /dashboard", true, s.dashboardPage)
	s.api("GET", "/api/v1/dashboard", "Live figures of a unit (?unit=CODE, default the caller's) for the caller's sector.", true, s.apiDashboard)
	s.api("GET", "/api/v1/dashboard/stream", "Server-sent events: the figures of ?unit= each time they change (event \"figures\").", true, s.apiDashboardStream)

	s.page("GET /map", false, s.mapPage)
	s.api("GET", "/api/v1/public/map", "The public COVID map: cases by district and commune, places cases visited, quarantine and lockdown areas. No login, no personal data; ETag.", false, s.apiPublicMap(false))
	s.api("GET", "/api/v1/public/map.geojson", "The public COVID map as GeoJSON (schematic district points, venue points, areas without geometry).", false, s.apiPublicMap(true))
	s.api("GET", "/api/v1/map-areas", "Quarantine and lockdown areas in force within the caller's jurisdiction.", true, s.apiAreas)
	s.api("POST", "/api/v1/map-areas", "Declare an area: {kind: lockdown|quarantine, label, unit_code, starts_at?, ends_at?, note?}.", true, s.apiAddArea)
	s.api("POST", "/api/v1/map-areas/{id}/end", "Lift an area now.", true, s.apiEndArea)

	s.page("GET /reports", true, s.reportsPage)
	s.page("GET /reports/{week}/{unit}", true, s.reportFormPage)
	s.page("POST /reports/{week}/{unit}", true, s.reportFormSubmit)
	s.page("GET /reports/{week}/export/{file}", true, s.reportExport)
	s.page("POST /reports/{week}/send", true, s.reportSendPage)
	s.api("GET", "/api/v1/reports/{week}/status", "Who reported for an ISO week (2021-W30): on_time, late, pending, missing (province, ICT).", true, s.apiReportStatus)
	s.api("GET", "/api/v1/reports/{week}/units/{unit}", "A unit's report (dept:CODE, district:CODE, commune:CODE): submitted, or prefilled from live figures.", true, s.apiReport)
	s.api("PUT", "/api/v1/reports/{week}/units/{unit}", "Submit a unit's report: {figures?, work_done, difficulties, proposals}. Late reports are accepted and marked late.", true, s.apiSubmitReport)
	s.api("GET", "/api/v1/reports/{week}/consolidated", "The province's consolidated report for a week (province, ICT).", true, s.apiConsolidated)
	s.api("POST", "/api/v1/reports/{week}/send", "Email the consolidated report (XLSX and PDF) to the province's address (province, ICT).", true, s.apiSendReport)
	s.api("PUT", "/api/v1/report-units/{unit}/email", "Set where a unit's reminders go: {email} (province, ICT).", true, s.apiReportEmail)

	s.page("GET /cameras", true, s.camerasPage)
	s.page("GET /cameras/{id}/snapshot", true, s.cameraSnapshot)
	s.api("GET", "/api/v1/zones", "Quarantine zones and their cameras the caller may watch (no credentials).", true, s.apiZones)
	s.api("POST", "/api/v1/zones", "Add a quarantine zone: {name, address, commune_code, capacity, held, public}.", true, s.apiCreateZone)
	s.api("POST", "/api/v1/zones/{id}/cameras", "Add a camera: {name, stream_kind: rtsp|hls|mjpeg, stream_url, snapshot_url, username, password}.", true, s.apiAddCamera)

	s.routesOpsManage()

	s.page("GET /campaigns", true, s.campaignsPage)
	s.page("POST /campaigns", true, s.campaignCreatePage)
	s.page("POST /campaigns/dry-run", true, s.campaignDryRunFragment)
	s.page("GET /campaigns/{id}", true, s.campaignPage)
	s.page("POST /campaigns/{id}/cancel", true, s.campaignCancelPage)
	s.api("GET", "/api/v1/campaign-templates", "Campaign message templates (Vietnamese).", true, s.apiCampaignTemplates)
	s.api("GET", "/api/v1/campaigns", "Campaigns within the caller's jurisdiction with sent/failed counts.", true, s.apiCampaigns)
	s.api("POST", "/api/v1/campaigns/dry-run", "Count a campaign's recipients without sending: {name, template, channel, unit_code, groups, rate_per_min, body?}.", true, s.apiCampaignDryRun)
	s.api("POST", "/api/v1/campaigns", "Start a campaign (same body as the dry run); messages are queued at rate_per_min.", true, s.apiCreateCampaign)
	s.api("GET", "/api/v1/campaigns/{id}", "A campaign and its delivery log.", true, s.apiCampaign)
	s.api("POST", "/api/v1/campaigns/{id}/cancel", "Stop queueing a campaign's messages.", true, s.apiCancelCampaign)
}

// n64 writes an int64 the Vietnamese way.
func n64(n int64) string { return formatNumber(int(n)) }

// pctVN writes a percentage with a decimal comma.
func pctVN(p float64) string { return strings.Replace(strconv.FormatFloat(p, 'f', 1, 64), ".", ",", 1) }

// --- Dashboard ---

func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	f, err := s.Ops.Dashboard.Figures(r.Context(), p, r.URL.Query().Get("unit"))
	if err != nil {
		return err
	}
	js, _ := json.Marshal(f)
	l := lang(w, r)
	labels, _ := json.Marshal(map[string]string{
		"checkins": translate(l, "ops.checkins"), "f0": translate(l, "ops.f0"), "registered": translate(l, "ops.venues.registered"),
		"scanning": translate(l, "ops.venues.scanning"), "live": translate(l, "ops.live"), "offline": translate(l, "ops.reconnecting")})
	var crumbs []geo.Unit
	for _, u := range f.Path {
		if p.InJurisdiction(u.Code) {
			crumbs = append(crumbs, u)
		}
	}
	cat := make([]map[string]string, 0, len(f.Categories))
	for _, c := range f.Categories {
		name := c.Name
		if l == "en" {
			name = c.NameEN
		}
		cat = append(cat, map[string]string{"Name": name, "Registered": n64(c.Registered), "Scanning": n64(c.Scanning),
			"Pct": pctVN(float64(int64(float64(c.Scanning)*1000/float64(max(c.Registered, 1))+0.5)) / 10)})
	}
	s.render(w, r, http.StatusOK, "dashboard", map[string]any{
		"F": f, "JSON": string(js), "Labels": string(labels), "Crumbs": crumbs, "Categories": cat,
		"N": func(n int64) string { return n64(n) }, "Pct": pctVN, "Sector": auth.Departments[f.Sector],
		"BluezoneWidth": fmt.Sprintf("%.1f", min(f.BluezonePct, 100)), "TargetLeft": fmt.Sprintf("%.0f", f.BluezoneTarget),
	})
	return nil
}

func (s *Server) apiDashboard(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Ops.Dashboard.Figures(r.Context(), auth.From(r.Context()), r.URL.Query().Get("unit"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, f)
	return nil
}

// apiDashboardStream pushes the figures whenever the refresher writes new
// counts. The server's write timeout would cut a stream, so it is lifted
// here; a keep-alive comment every 25 s keeps proxies from closing it.
func (s *Server) apiDashboardStream(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	unit := r.URL.Query().Get("unit")
	f, err := s.Ops.Dashboard.Figures(r.Context(), p, unit)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ch, stop := s.Ops.Dashboard.Subscribe()
	defer stop()
	send := func(f dashboard.Figures) error {
		b, _ := json.Marshal(f)
		if _, err := fmt.Fprintf(w, "retry: 3000\nevent: figures\ndata: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(f); err != nil {
		return nil
	}
	last := f.Version
	keep := time.NewTicker(25 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-ch:
			f, err := s.Ops.Dashboard.Figures(r.Context(), p, unit)
			if err != nil {
				return nil
			}
			if f.Version == last {
				continue
			}
			last = f.Version
			if err := send(f); err != nil {
				return nil
			}
		}
	}
}

// --- Public map ---

func (s *Server) mapPage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "map", map[string]any{"Tiles": s.Ops.MapTiles, "Attribution": s.Ops.MapAttribution,
		"Threshold": s.Ops.Dashboard.Threshold, "CanDeclare": dashboard.MayDeclare(auth.From(r.Context()))})
	return nil
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// apiPublicMap serves the public map from memory: one build every 30 s
// however many visitors come, and a 304 for a visitor who has it already.
func (s *Server) apiPublicMap(geoJSON bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		doc, err := s.Ops.Dashboard.Public(r.Context())
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("ETag", doc.ETag)
		h.Set("Cache-Control", "public, max-age=30")
		h.Set("Access-Control-Allow-Origin", "*")
		if etagMatch(r.Header.Get("If-None-Match"), doc.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		body, ctype := doc.JSON, "application/json; charset=utf-8"
		if geoJSON {
			body, ctype = doc.GeoJSON, "application/geo+json; charset=utf-8"
		}
		h.Set("Content-Type", ctype)
		w.Write(body)
		return nil
	}
}

func (s *Server) apiAreas(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Ops.Dashboard.Areas(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"areas": list})
	return nil
}

func (s *Server) apiAddArea(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusCreated, s.Ops.Dashboard.AddArea)
}

func (s *Server) apiEndArea(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Ops.Dashboard.EndArea(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "ended": true})
	return nil
}

// --- Weekly reports ---

// week reads a week from the path (or ?week=), defaulting to the current one.
func (s *Server) week(r *http.Request) (reports.Week, error) {
	v := r.PathValue("week")
	if v == "" {
		v = r.URL.Query().Get("week")
	}
	if v == "" {
		return s.Ops.Reports.CurrentWeek(), nil
	}
	w, err := reports.ParseWeek(v)
	if err != nil {
		return reports.Week{}, &errs.Invalid{Fields: map[string]string{"week": "Tuần không hợp lệ (YYYY-Www, ví dụ 2021-W30) / " + err.Error()}}
	}
	return w, nil
}

// stateView is a report state as a page shows it.
func stateView(l, st string) map[string]string {
	return map[string]string{"Class": st, "Text": translate(l, "ops.state."+st)}
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	rs := s.Ops.Reports
	if !rs.Gatherer(p) {
		u, ok := reports.UnitFor(rs.Province, p)
		if !ok {
			return fmt.Errorf("reports: %w", errs.ErrForbidden)
		}
		http.Redirect(w, r, "/reports/"+wk.String()+"/"+u.Key, http.StatusSeeOther)
		return nil
	}
	b, err := rs.Status(r.Context(), p, wk)
	if err != nil {
		return err
	}
	l := lang(w, r)
	var rows []map[string]any
	for _, u := range b.Units {
		rows = append(rows, map[string]any{"Unit": u.Unit, "State": stateView(l, u.State), "At": u.SubmittedAt, "By": u.SubmittedBy, "Email": u.Email})
	}
	s.render(w, r, http.StatusOK, "reports", map[string]any{"Week": wk.String(), "Prev": wk.Prev().String(), "Next": wk.Next().String(),
		"Deadline": wk.Deadline(), "Rows": rows, "Counts": b.Counts, "Sent": r.URL.Query().Get("sent")})
	return nil
}

// figureFields are the figures of a report form, in display order.
var figureFields = []struct{ Name, Key string }{
	{"venues_registered", "ops.venues.registered"}, {"venues_scanning", "ops.venues.scanning"}, {"checkins", "ops.checkins"},
	{"declarations", "ops.declarations"}, {"bluezone_installs", "ops.bluezone.installs"}, {"smartphone_users", "ops.smartphones"},
}

func figureMap(f reports.Figures) map[string]int64 {
	return map[string]int64{"venues_registered": f.VenuesRegistered, "venues_scanning": f.VenuesScanning, "checkins": f.Checkins,
		"declarations": f.Declarations, "bluezone_installs": f.BluezoneInstalls, "smartphone_users": f.SmartphoneUsers}
}

func (s *Server) renderReportForm(w http.ResponseWriter, r *http.Request, status int, wk reports.Week, rep reports.Report, fields map[string]string, saved bool) {
	p := auth.From(r.Context())
	own, _ := reports.UnitFor(s.Ops.Reports.Province, p)
	l := lang(w, r)
	fm := figureMap(rep.Figures)
	var figs []map[string]any
	for _, f := range figureFields {
		figs = append(figs, map[string]any{"Name": f.Name, "Label": translate(l, f.Key), "Value": fm[f.Name], "Shown": n64(fm[f.Name]), "Error": fields[f.Name]})
	}
	var parts []map[string]any
	for _, pt := range rep.Parts {
		pm := figureMap(pt.Figures)
		parts = append(parts, map[string]any{"Unit": pt.Unit, "State": stateView(l, pt.State), "Venues": n64(pm["venues_registered"]),
			"Scanning": n64(pm["venues_scanning"]), "Checkins": n64(pm["checkins"]), "Bluezone": pctVN(pt.Figures.BluezonePct())})
	}
	from, to := wk.Period()
	s.render(w, r, status, "reports_form", map[string]any{"R": rep, "Week": wk.String(), "Editable": own.Key == rep.Unit.Key,
		"District": rep.Unit.Kind == reports.KindDistrict, "Figures": figs, "Parts": parts, "State": stateView(l, rep.State),
		"From": from, "To": to, "Deadline": wk.Deadline(), "Errors": fields, "Saved": saved,
		"Gatherer": s.Ops.Reports.Gatherer(p), "BluezonePct": pctVN(rep.Figures.BluezonePct()), "ScanningPct": pctVN(rep.Figures.ScanningPct())})
}

func (s *Server) reportFormPage(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	rep, err := s.Ops.Reports.Get(r.Context(), auth.From(r.Context()), wk, r.PathValue("unit"))
	if err != nil {
		return err
	}
	s.renderReportForm(w, r, http.StatusOK, wk, rep, nil, r.URL.Query().Get("saved") == "1")
	return nil
}

func (s *Server) reportFormSubmit(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("report form: %w", errs.ErrTooLarge)
	}
	in := reports.Input{WorkDone: r.PostFormValue("work_done"), Difficulties: r.PostFormValue("difficulties"), Proposals: r.PostFormValue("proposals")}
	bad := map[string]string{}
	if r.PostFormValue("venues_registered") != "" {
		var f reports.Figures
		for _, ff := range []struct {
			name string
			dst  *int64
		}{{"venues_registered", &f.VenuesRegistered}, {"venues_scanning", &f.VenuesScanning}, {"checkins", &f.Checkins},
			{"declarations", &f.Declarations}, {"bluezone_installs", &f.BluezoneInstalls}, {"smartphone_users", &f.SmartphoneUsers}} {
			v := strings.NewReplacer(".", "", ",", "", " ", "").Replace(r.PostFormValue(ff.name))
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				bad[ff.name] = "Phải là số nguyên / Must be a whole number"
			}
			*ff.dst = n
		}
		in.Figures = &f
	}
	p := auth.From(r.Context())
	key := r.PathValue("unit")
	var rep reports.Report
	if len(bad) == 0 {
		rep, err = s.Ops.Reports.Submit(r.Context(), p, wk, key, in)
		if err == nil {
			http.Redirect(w, r, "/reports/"+wk.String()+"/"+key+"?saved=1", http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, errs.ErrInvalid) {
			return err
		}
		bad = errs.FieldsOf(err)
	}
	if rep, err = s.Ops.Reports.Get(r.Context(), p, wk, key); err != nil {
		return err
	}
	rep.WorkDone, rep.Difficulties, rep.Proposals = in.WorkDone, in.Difficulties, in.Proposals
	if in.Figures != nil {
		rep.Figures = *in.Figures
	}
	s.renderReportForm(w, r, http.StatusBadRequest, wk, rep, bad, false)
	return nil
}

func (s *Server) reportExport(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	c, err := s.Ops.Reports.Consolidate(r.Context(), auth.From(r.Context()), wk)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	name := "bao-cao-tuan-" + wk.String()
	switch r.PathValue("file") {
	case name + ".xlsx":
		err = c.XLSX(&b)
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	case name + ".pdf":
		err = c.PDF(&b)
		w.Header().Set("Content-Type", "application/pdf")
	default:
		return fmt.Errorf("report export %q: %w", r.PathValue("file"), errs.ErrNotFound)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+r.PathValue("file")+`"`)
	w.Write(b.Bytes())
	return nil
}

func (s *Server) reportSendPage(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	if _, err := s.Ops.Reports.SendConsolidated(r.Context(), auth.From(r.Context()), wk); err != nil {
		return err
	}
	http.Redirect(w, r, "/reports?week="+wk.String()+"&sent=1", http.StatusSeeOther)
	return nil
}

func (s *Server) apiReportStatus(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	b, err := s.Ops.Reports.Status(r.Context(), auth.From(r.Context()), wk)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) apiReport(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	rep, err := s.Ops.Reports.Get(r.Context(), auth.From(r.Context()), wk, r.PathValue("unit"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) apiSubmitReport(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	var in reports.Input
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rep, err := s.Ops.Reports.Submit(r.Context(), auth.From(r.Context()), wk, r.PathValue("unit"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) apiConsolidated(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	c, err := s.Ops.Reports.Consolidate(r.Context(), auth.From(r.Context()), wk)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) apiSendReport(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	to, err := s.Ops.Reports.SendConsolidated(r.Context(), auth.From(r.Context()), wk)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"week": wk.String(), "sent_to": to})
	return nil
}

func (s *Server) apiReportEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Ops.Reports.SetEmail(r.Context(), auth.From(r.Context()), r.PathValue("unit"), in.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"unit": r.PathValue("unit"), "email": in.Email})
	return nil
}

// --- Cameras ---

func (s *Server) camerasPage(w http.ResponseWriter, r *http.Request) error {
	zones, err := s.Ops.Cameras.Zones(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	if err := s.Ops.Cameras.AuditWall(r.Context(), zones); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "cameras", map[string]any{"Zones": zones, "CanManage": camera.MayManage(auth.From(r.Context()))})
	return nil
}

// offlineSVG stands in for a snapshot the camera did not give.
const offlineSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360">` +
	`<rect width="640" height="360" fill="#2b2f36"/><text x="320" y="170" fill="#f1f3f5" font-family="sans-serif" font-size="28" text-anchor="middle">Mất tín hiệu camera</text>` +
	`<text x="320" y="210" fill="#adb5bd" font-family="sans-serif" font-size="20" text-anchor="middle">Camera offline</text></svg>`

func (s *Server) cameraSnapshot(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	data, ctype, err := s.Ops.Cameras.Snapshot(r.Context(), auth.From(r.Context()), id)
	w.Header().Set("Cache-Control", "private, no-store")
	if err != nil {
		if errors.Is(err, errs.ErrForbidden) || errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrUnauthorized) {
			return err
		}
		s.log.Warn("camera snapshot", "camera", id, "err", err)
		w.Header().Set("Content-Type", "image/svg+xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(offlineSVG))
		return nil
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(data)
	return nil
}

func (s *Server) apiZones(w http.ResponseWriter, r *http.Request) error {
	zones, err := s.Ops.Cameras.Zones(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"zones": zones})
	return nil
}

func (s *Server) apiCreateZone(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusCreated, s.Ops.Cameras.CreateZone)
}

func (s *Server) apiAddCamera(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return answerJSON(w, r, http.StatusCreated, withID(id, s.Ops.Cameras.AddCamera))
}

// --- Campaigns ---

// targetUnits are the units a caller may address: their own and below
// (districts and communes), within the deployment's province.
func (s *Server) targetUnits(p *auth.Principal) []geo.Unit {
	root := p.Unit
	if root == geo.Country && s.Config.Province != geo.Country {
		root = s.Config.Province
	}
	u, ok := geo.Get(root)
	if !ok {
		return nil
	}
	// The unit itself and the level below (a province's districts, a
	// district's communes): a province's 192 communes would make a useless list.
	out := append([]geo.Unit{u}, geo.Children(root)...)
	return out
}

func campaignInputFromForm(r *http.Request) campaign.Input {
	rate, _ := strconv.Atoi(r.PostFormValue("rate_per_min"))
	return campaign.Input{Name: r.PostFormValue("name"), Template: r.PostFormValue("template"), Channel: r.PostFormValue("channel"),
		Body: r.PostFormValue("body"), UnitCode: r.PostFormValue("unit_code"), Groups: r.PostForm["groups"], RatePerMin: rate}
}

func (s *Server) campaignsPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	list, err := s.Ops.Campaigns.List(r.Context(), p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "campaigns", map[string]any{"Campaigns": list, "Templates": campaign.Templates,
		"Units": s.targetUnits(p), "Form": campaign.Input{Template: "install_bluezone", Channel: notify.SMS, UnitCode: p.Unit,
			Groups: []string{campaign.Residents}, RatePerMin: 600}, "Has": slices.Contains[[]string, string]})
	return nil
}

func (s *Server) campaignCreatePage(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("campaign form: %w", errs.ErrTooLarge)
	}
	p := auth.From(r.Context())
	in := campaignInputFromForm(r)
	c, err := s.Ops.Campaigns.Create(r.Context(), p, in)
	if errors.Is(err, errs.ErrInvalid) {
		list, lerr := s.Ops.Campaigns.List(r.Context(), p)
		if lerr != nil {
			return lerr
		}
		s.render(w, r, http.StatusBadRequest, "campaigns", map[string]any{"Campaigns": list, "Templates": campaign.Templates,
			"Units": s.targetUnits(p), "Form": in, "Errors": errs.FieldsOf(err), "Has": slices.Contains[[]string, string]})
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/campaigns/%d", c.ID), http.StatusSeeOther)
	return nil
}

var dryRunFragment = template.Must(template.New("dry").Parse(`<div class="dryrun{{if .Err}} error{{end}}" role="status">
{{- if .Err}}{{.Err}}{{range $k, $v := .Fields}}<br><b>{{$k}}</b>: {{$v}}{{end}}
{{- else}}<b>{{.Total}}</b> {{.L.recipients}} ({{.L.residents}}: {{.Residents}}; {{.L.managers}}: {{.Managers}}) · {{.Segments}} {{.L.segments}}
<blockquote>{{.Body}}</blockquote>{{end}}</div>`))

// campaignDryRunFragment answers the form's "count recipients" button
// (htmx) with a fragment that replaces the result box.
func (s *Server) campaignDryRunFragment(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("campaign form: %w", errs.ErrTooLarge)
	}
	l := lang(w, r)
	labels := map[string]string{"recipients": translate(l, "ops.recipients"), "residents": translate(l, "ops.group.residents"),
		"managers": translate(l, "ops.group.venue_managers"), "segments": translate(l, "ops.sms.segments")}
	d, err := s.Ops.Campaigns.DryRun(r.Context(), auth.From(r.Context()), campaignInputFromForm(r))
	data := map[string]any{"L": labels}
	status := http.StatusOK
	if err != nil {
		st, _, msg := errs.HTTP(err)
		status = st
		data["Err"], data["Fields"] = msg, errs.FieldsOf(err)
	} else {
		data["Total"], data["Residents"], data["Managers"] = n64(d.Recipients), n64(d.ByGroup[campaign.Residents]), n64(d.ByGroup[campaign.VenueManagers])
		data["Segments"], data["Body"] = d.Segments, d.Body
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status != http.StatusOK {
		// htmx swaps only 2xx answers by default; the fragment carries the error.
		w.Header().Set("X-Dry-Run-Status", strconv.Itoa(status))
	}
	return dryRunFragment.Execute(w, data)
}

func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, log, err := s.Ops.Campaigns.Get(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "campaigns_detail", map[string]any{"C": c, "Log": log, "N": n64})
	return nil
}

func (s *Server) campaignCancelPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Ops.Campaigns.Cancel(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/campaigns/%d", id), http.StatusSeeOther)
	return nil
}

func (s *Server) apiCampaignTemplates(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"templates": campaign.Templates})
	return nil
}

func (s *Server) apiCampaigns(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Ops.Campaigns.List(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": list})
	return nil
}

func (s *Server) apiCampaignDryRun(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusOK, s.Ops.Campaigns.DryRun)
}

func (s *Server) apiCreateCampaign(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusCreated, s.Ops.Campaigns.Create)
}

func (s *Server) apiCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, log, err := s.Ops.Campaigns.Get(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaign": c, "deliveries": log})
	return nil
}

func (s *Server) apiCancelCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Ops.Campaigns.Cancel(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": campaign.Cancelled})
	return nil
}

// RunOps runs the operations centre's background work until ctx ends: the
// dashboard refresher, the camera probe, report reminders and campaign
// sending.
func RunOps(ctx context.Context, o *Ops) {
	if o == nil {
		return
	}
	go o.Dashboard.Run(ctx, 5*time.Second)
	go o.Cameras.Run(ctx, 30*time.Second)
	go o.Reports.Run(ctx, 15*time.Minute)
	go o.Campaigns.Run(ctx, 10*time.Second)
}
