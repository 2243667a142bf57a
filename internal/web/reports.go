package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/reports"
)

// routesReports registers weekly progress reports: forms, status, consolidation, exports.
func (s *Server) routesReports() {
	if s.Ops == nil {
		return
	}
	s.page("GET /reports", true, s.reportsPage)
	s.page("GET /reports/{week}/{unit}", true, s.reportFormPage)
	s.page("POST /reports/{week}/{unit}", true, s.reportFormSubmit)
	s.page("GET /reports/{week}/export/{file}", true, s.reportExport)
	s.page("POST /reports/{week}/send", true, s.reportSendPage)
	s.api("GET", "/api/v1/reports/{week}/status", s.apiReportStatus)
	s.api("GET", "/api/v1/reports/{week}/units/{unit}", s.apiReport)
	s.api("PUT", "/api/v1/reports/{week}/units/{unit}", s.apiSubmitReport)
	s.api("GET", "/api/v1/reports/{week}/consolidated", s.apiConsolidated)
	s.api("GET", "/api/v1/reports/{week}/export/{file}", s.reportExport)
	s.api("POST", "/api/v1/reports/{week}/send", s.apiSendReport)
	s.api("PUT", "/api/v1/report-units/{unit}/email", s.apiReportEmail)
}

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
		return reports.Week{}, &errs.Invalid{Fields: map[string]string{"week": msg.Both("web.reports.bad_week", err.Error())}}
	}
	return w, nil
}

// answerWeek answers a read of the path's week with what get returns.
func (s *Server) answerWeek(w http.ResponseWriter, r *http.Request, get func(context.Context, *auth.Principal, reports.Week) (any, error)) error {
	wk, err := s.week(r)
	if err != nil {
		return err
	}
	v, err := get(r.Context(), auth.From(r.Context()), wk)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// stateView is a report state as a page shows it.
func stateView(l, st string) map[string]string {
	return map[string]string{"Class": st, "Text": msg.T(l, "ops.state."+st)}
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
	meetings, err := rs.WeekMeetings(r.Context(), wk)
	if err != nil {
		return err
	}
	l := lang(w, r)
	var rows []map[string]any
	for _, u := range b.Units {
		rows = append(rows, map[string]any{"Unit": u.Unit, "State": stateView(l, u.State), "At": u.SubmittedAt, "By": u.SubmittedBy, "Email": u.Email})
	}
	s.render(w, r, http.StatusOK, "reports", map[string]any{"Week": wk.String(), "Prev": wk.Prev().String(), "Next": wk.Next().String(),
		"Deadline": wk.Deadline(), "Rows": rows, "Counts": b.Counts, "Sent": r.URL.Query().Get("sent"), "Meetings": meetings})
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
		figs = append(figs, map[string]any{"Name": f.Name, "Label": msg.T(l, f.Key), "Value": fm[f.Name], "Shown": n64(fm[f.Name]), "Error": fields[f.Name]})
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
				bad[ff.name] = msg.Both("web.form.whole_number")
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
	return s.answerWeek(w, r, func(ctx context.Context, p *auth.Principal, wk reports.Week) (any, error) {
		return s.Ops.Reports.Status(ctx, p, wk)
	})
}

func (s *Server) apiReport(w http.ResponseWriter, r *http.Request) error {
	return s.answerWeek(w, r, func(ctx context.Context, p *auth.Principal, wk reports.Week) (any, error) {
		return s.Ops.Reports.Get(ctx, p, wk, r.PathValue("unit"))
	})
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
	return s.answerWeek(w, r, func(ctx context.Context, p *auth.Principal, wk reports.Week) (any, error) {
		return s.Ops.Reports.Consolidate(ctx, p, wk)
	})
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
	writeJSON(w, http.StatusOK, reportSentAnswer{Week: wk.String(), SentTo: to})
	return nil
}

func (s *Server) apiReportEmail(w http.ResponseWriter, r *http.Request) error {
	// email is required: a body without it (or with a typo for its name)
	// must not clear the address; "" clears it on purpose.
	var in reportEmailInput
	if err := decodeStrict(r, &in); err != nil {
		return err
	}
	if in.Email == nil {
		return fmt.Errorf("report email: %w", &errs.Invalid{Fields: map[string]string{"email": msg.Both("web.field.required")}})
	}
	if len(*in.Email) > 254 {
		return fmt.Errorf("report email: %w", &errs.Invalid{Fields: map[string]string{"email": msg.Both("reports.invalid_email_address")}})
	}
	if err := s.Ops.Reports.SetEmail(r.Context(), auth.From(r.Context()), r.PathValue("unit"), *in.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reportEmailAnswer{Unit: r.PathValue("unit"), Email: strings.TrimSpace(*in.Email)})
	return nil
}
