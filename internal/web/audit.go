package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sheet"
)

// routesAudit registers the personal-data access log (province administrators).
func (s *Server) routesAudit() {
	s.page("GET /audit", true, s.auditPage)
	s.page("GET /audit.csv", true, s.auditCSV)
	s.api("GET", "/api/v1/audit", s.apiAudit)
}

// auditActions and auditSubjects are the codes the log records, in the order
// the page's filter offers them; each has its words in the catalog
// (audit.action.X, audit.subject.X: TestAuditWords).
var (
	auditActions = []string{auth.ActionView, auth.ActionSearch, auth.ActionExport, auth.ActionDelete, "create", "update", "end", "resend",
		auth.ActionPassword, auth.ActionDisable, auth.ActionEnable, auth.ActionForceReset, auth.ActionRevoke, auth.ActionEnrol,
		auth.ActionResetTOTP, auth.ActionRecoveryUsed}
	auditSubjects = []string{"person", "declaration", "visit_held", "bluezone_contacts", "venue_contact", "campaign_recipients",
		"outbox", "account", "camera_wall", "camera_snapshot", "camera", "quarantine_zone", "map_area"}
)

// auditQuery is one page of the log and the filter that chose it.
type auditQuery struct {
	Filter     auth.AuditFilter
	User, Who  string // as typed
	From, To   string // YYYY-MM-DD as typed
	Entries    []auth.AuditEntry
	NextBefore int64 // 0: no older page
}

// auditEntries reads the filter from the query and one page of the log.
// ?who= names a person as officials know them (phone or ID number): the
// entries that read that person's row.
func (s *Server) auditEntries(r *http.Request, limit int) (auditQuery, error) {
	if !auth.From(r.Context()).Can(auth.ProvinceAdmin) {
		return auditQuery{}, fmt.Errorf("audit log: %w", errs.ErrForbidden)
	}
	q := r.URL.Query()
	a := auditQuery{User: strings.TrimSpace(q.Get("user")), Who: strings.TrimSpace(q.Get("who")), From: q.Get("from"), To: q.Get("to")}
	f := auth.AuditFilter{Username: a.User, Action: q.Get("action")}
	if u, ok := geo.Get(auth.From(r.Context()).Unit); ok && u.Level == "province" {
		f.Province = u.Code
	}
	var err error
	if f.Limit, err = queryInt(r, "limit", limit); err != nil {
		return a, err
	}
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return a, err
	}
	f.Before = int64(before)
	if a.From != "" {
		if f.From, err = parseDay("from", a.From); err != nil {
			return a, err
		}
	}
	if a.To != "" {
		if f.To, err = parseDay("to", a.To); err != nil {
			return a, err
		}
		f.To = f.To.Add(24 * time.Hour) // the whole last day
	}
	if a.Who != "" {
		ids, err := s.People.Known(r.Context(), a.Who)
		if err != nil {
			return a, err
		}
		f.Subject = "person"
		f.Records = []string{"0"} // nobody by that phone: nothing matches
		for _, id := range ids {
			f.Records = append(f.Records, strconv.FormatInt(id, 10))
		}
		// Who looked at a person is itself a look-up of that person.
		if err := auth.Audit(r.Context(), s.DB, auth.ActionSearch, "person", f.Records[1:], msg.Both("web.purpose.audit_who")); err != nil {
			return a, err
		}
	}
	a.Filter = f
	if a.Entries, err = auth.AuditLog(r.Context(), s.DB, f); err != nil {
		return a, err
	}
	if n := len(a.Entries); n > 0 && n == f.Limit {
		a.NextBefore = a.Entries[n-1].ID
	}
	return a, nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	a, err := s.auditEntries(r, 50)
	status, bad := http.StatusOK, map[string]string(nil)
	if len(errs.FieldsOf(err)) > 0 {
		status, bad = http.StatusBadRequest, formErrors(langOf(r), err, "user", "action", "who", "from", "to")
	} else if err != nil {
		return err
	}
	var next string
	if a.NextBefore > 0 {
		q := r.URL.Query()
		q.Set("before", strconv.FormatInt(a.NextBefore, 10))
		next = "/audit?" + q.Encode()
	}
	csv := r.URL.Query() // the filter alone: the CSV's and the newest page's
	csv.Del("before")
	csv.Del("limit")
	l := langOf(r)
	actions := make([][2]string, len(auditActions))
	for i, c := range auditActions {
		actions[i] = [2]string{c, auditWord(l, "action", c)}
	}
	s.render(w, r, status, "audit", map[string]any{"Q": a, "Rows": auditWords(l, a.Entries), "Actions": actions, "Errors": bad, "Next": next,
		"Newest": r.URL.Query().Get("before") != "", "Filter": csv.Encode()})
	return nil
}

// auditRow is one entry in a reader's words.
type auditRow struct {
	When, Who, Action, Whose, Records, Purpose, Request string
}

func auditWords(lang string, entries []auth.AuditEntry) []auditRow {
	out := make([]auditRow, len(entries))
	for i, e := range entries {
		out[i] = auditRow{e.At.In(hcm).Format("15:04:05 02/01/2006"), e.Username, auditWord(lang, "action", e.Action),
			auditWord(lang, "subject", e.Subject), e.RecordIDs, msg.Local(lang, e.Purpose), e.RequestID}
	}
	return out
}

// auditCSV exports the filtered log in Vietnamese words, up to 1,000
// entries a file (older ones page on with ?before=, as the page does).
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request) error {
	a, err := s.auditEntries(r, 1000)
	if err != nil {
		return err
	}
	rows := [][]string{{msg.T("vi", "audit.when"), msg.T("vi", "audit.who"), msg.T("vi", "audit.action"), msg.T("vi", "audit.whose"),
		msg.T("vi", "audit.records"), msg.T("vi", "audit.purpose"), msg.T("vi", "audit.request")}}
	for _, e := range auditWords("vi", a.Entries) {
		rows = append(rows, []string{e.When, e.Who, e.Action, e.Whose, e.Records, e.Purpose, e.Request})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="nhat-ky-truy-cap.csv"`)
	return sheet.WriteCSV(w, rows)
}

// auditWord is an action's or subject's words, or its code when the
// catalog has none (a code added without words still shows).
func auditWord(lang, kind, code string) string {
	if _, ok := msg.Lookup("audit." + kind + "." + code); ok {
		return msg.T(lang, "audit."+kind+"."+code)
	}
	return code
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) error {
	a, err := s.auditEntries(r, 200)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditAnswer{Entries: a.Entries, NextBefore: a.NextBefore})
	return nil
}
