// Package reports runs the weekly deployment reports of the directive: every
// department and every district reports to the province (through the
// Department of Information and Communications) before Friday 13:00; a
// district's figures add up its communes' reports. Forms are prefilled from
// the live figures; the province sees who is on time, late or missing;
// units are reminded by email the day before; the consolidated report is
// exported to XLSX and PDF and emailed to the province.
package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/doortodoor"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
)

// Figures are the numbers a report gives for its period.
type Figures struct {
	VenuesRegistered int64 `json:"venues_registered"`
	VenuesScanning   int64 `json:"venues_scanning"`
	Checkins         int64 `json:"checkins"`
	Declarations     int64 `json:"declarations"`
	BluezoneInstalls int64 `json:"bluezone_installs"`
	SmartphoneUsers  int64 `json:"smartphone_users"`
}

// Add returns the sum of two sets of figures.
func (f Figures) Add(g Figures) Figures {
	return Figures{f.VenuesRegistered + g.VenuesRegistered, f.VenuesScanning + g.VenuesScanning, f.Checkins + g.Checkins,
		f.Declarations + g.Declarations, f.BluezoneInstalls + g.BluezoneInstalls, f.SmartphoneUsers + g.SmartphoneUsers}
}

// BluezonePct is Bluezone adoption against the area's smartphone users.
func (f Figures) BluezonePct() float64 { return pct(f.BluezoneInstalls, f.SmartphoneUsers) }

// ScanningPct is the share of registered venues that scan.
func (f Figures) ScanningPct() float64 { return pct(f.VenuesScanning, f.VenuesRegistered) }

func pct(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(int64(float64(part)*1000/float64(whole)+0.5)) / 10
}

func (f Figures) validate(fs errs.Fields) {
	for name, v := range map[string]int64{"venues_registered": f.VenuesRegistered, "venues_scanning": f.VenuesScanning,
		"checkins": f.Checkins, "declarations": f.Declarations, "bluezone_installs": f.BluezoneInstalls, "smartphone_users": f.SmartphoneUsers} {
		if v < 0 || v > 1_000_000_000 {
			fs.Add(name, msg.Both("reports.between_0_and_1"))
		}
	}
	if f.VenuesScanning > f.VenuesRegistered {
		fs.Add("venues_scanning", msg.Both("reports.cannot_exceed_venues_registered"))
	}
}

// Live gives the live figures of a unit (a unit code at any level) for a
// sector ("" = all) over a period, keyed by dashboard metric names
// (checkins, declarations, venues, venues_scanning, bluezone_installs,
// smartphone_users). internal/dashboard implements it.
type Live interface {
	Totals(ctx context.Context, unit, sector string, from, to time.Time) (map[string]int64, error)
}

// States of a unit's report for a week.
const (
	OnTime  = "on_time" // submitted before the deadline
	Late    = "late"    // submitted after the deadline (accepted)
	Pending = "pending" // not yet submitted, deadline not passed
	Missing = "missing" // not submitted, deadline passed
)

// Report is one unit's weekly report, submitted or prefilled.
type Report struct {
	Week             string     `json:"week"`
	Unit             Unit       `json:"unit"`
	Figures          Figures    `json:"figures"`
	WorkDone         string     `json:"work_done"`
	Difficulties     string     `json:"difficulties"`
	Proposals        string     `json:"proposals"`
	Submitted        bool       `json:"submitted"`
	SubmittedBy      string     `json:"submitted_by,omitempty"`
	SubmittedAt      *time.Time `json:"submitted_at,omitempty"`
	FirstSubmittedAt *time.Time `json:"first_submitted_at,omitempty"`
	Deadline         time.Time  `json:"deadline"`
	State            string     `json:"state"`
	// Parts are a district's communes, whose figures the district's add up.
	Parts []Report `json:"parts,omitempty"`
	// DoorToDoor is the week's door-to-door drive in the district or
	// commune, counted live (not part of what the unit submits); nil
	// without the drive.
	DoorToDoor *doortodoor.Figures `json:"door_to_door,omitempty"`
}

// Input is what a unit submits. Figures nil keeps the prefilled ones; a
// district's figures are always the sum of its communes'.
type Input struct {
	Figures      *Figures `json:"figures"`
	WorkDone     string   `json:"work_done"`
	Difficulties string   `json:"difficulties"`
	Proposals    string   `json:"proposals"`
}

// Service keeps the weekly reports.
type Service struct {
	DB       *sqldb.DB
	Province string
	Live     Live
	Outbox   *notify.Outbox // reminders; nil: none sent
	Mailer   *Mailer        // the consolidated report; nil: not configured
	// ProvinceEmail receives the consolidated report.
	ProvinceEmail string
	// Meetings are the week's meetings with minutes, which the report
	// links; nil: none.
	Meetings Meetings
	// DoorToDoor gives the week's door-to-door figures; nil: none shown.
	DoorToDoor DoorToDoor
	Log        *slog.Logger
	Now        func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Gatherer reports whether the caller sees every unit's report: the
// province's administrators and the Department of Information and
// Communications, which gathers the reports.
func (s *Service) Gatherer(p *auth.Principal) bool {
	if p == nil || !p.InJurisdiction(s.Province) {
		return false
	}
	return p.Role == auth.ProvinceAdmin || (p.Role == auth.DepartmentOfficer && p.Department == "ict")
}

func (s *Service) canSubmit(p *auth.Principal, u Unit) bool {
	own, ok := UnitFor(s.Province, p)
	return ok && own.Key == u.Key
}

func (s *Service) canRead(p *auth.Principal, u Unit) bool {
	if s.canSubmit(p, u) || s.Gatherer(p) {
		return true
	}
	return p != nil && p.Role == auth.DistrictOfficer && u.Kind == KindCommune && u.Parent == p.Unit
}

func (s *Service) unit(key string) (Unit, error) {
	u, ok := UnitOf(s.Province, key)
	if !ok {
		return Unit{}, fmt.Errorf("report unit %q: %w", key, errs.ErrNotFound)
	}
	return u, nil
}

func state(submitted bool, late bool, deadline, now time.Time) string {
	switch {
	case submitted && late:
		return Late
	case submitted:
		return OnTime
	case now.After(deadline):
		return Missing
	}
	return Pending
}

// live returns a unit's prefilled figures for the week: a district's are
// the sum of its communes' (as submitted, else live).
func (s *Service) live(ctx context.Context, w Week, u Unit) (Figures, error) {
	if s.Live == nil {
		return Figures{}, nil
	}
	from, to := w.Period()
	code := u.Code
	if u.Kind == KindDepartment {
		code = s.Province
	}
	m, err := s.Live.Totals(ctx, code, u.sector(), from, to)
	if err != nil {
		return Figures{}, fmt.Errorf("live figures %s: %w", u.Key, err)
	}
	return Figures{VenuesRegistered: m["venues"], VenuesScanning: m["venues_scanning"], Checkins: m["checkins"],
		Declarations: m["declarations"], BluezoneInstalls: m["bluezone_installs"], SmartphoneUsers: m["smartphone_users"]}, nil
}

const reportCols = `unit_key, venues_registered, venues_scanning, checkins, declarations, bluezone_installs, smartphone_users,
	work_done, difficulties, proposals, submitted_by_name, first_submitted_at, submitted_at, late`

func scanReport(row interface{ Scan(...any) error }, r *Report) (string, error) {
	var key string
	var first, at int64
	var late int
	f := &r.Figures
	err := row.Scan(&key, &f.VenuesRegistered, &f.VenuesScanning, &f.Checkins, &f.Declarations, &f.BluezoneInstalls, &f.SmartphoneUsers,
		&r.WorkDone, &r.Difficulties, &r.Proposals, &r.SubmittedBy, &first, &at, &late)
	if err != nil {
		return "", err
	}
	ft, st := time.Unix(first, 0).UTC(), time.Unix(at, 0).UTC()
	r.Submitted, r.FirstSubmittedAt, r.SubmittedAt = true, &ft, &st
	if late != 0 {
		r.State = Late
	} else {
		r.State = OnTime
	}
	return key, nil
}

// stored returns the submitted reports of a week by unit key.
func (s *Service) stored(ctx context.Context, w Week, keys []string) (map[string]Report, error) {
	out := map[string]Report{}
	for lo := 0; lo < len(keys); lo += 400 {
		chunk := keys[lo:min(lo+400, len(keys))]
		args := []any{w.String()}
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := s.DB.R.QueryContext(ctx, "SELECT "+reportCols+" FROM weekly_reports WHERE week = $1 AND unit_key IN ("+sqldb.In(2, len(chunk))+")", args...)
		if err != nil {
			return nil, fmt.Errorf("reports %s: %w", w, err)
		}
		for rows.Next() {
			var r Report
			key, err := scanReport(rows, &r)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("reports %s: %w", w, err)
			}
			out[key] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reports %s: %w", w, err)
		}
	}
	return out, nil
}

// Get returns a unit's report for the week: as submitted, or prefilled
// from the live figures. A district's report lists its communes.
func (s *Service) Get(ctx context.Context, p *auth.Principal, w Week, key string) (Report, error) {
	u, err := s.unit(key)
	if err != nil {
		return Report{}, err
	}
	if !s.canRead(p, u) {
		return Report{}, fmt.Errorf("report %s %s: %w", w, key, errs.ErrForbidden)
	}
	return s.get(ctx, w, u)
}

func (s *Service) get(ctx context.Context, w Week, u Unit) (Report, error) {
	now := s.now()
	keys := []string{u.Key}
	var communes []Unit
	if u.Kind == KindDistrict {
		communes = Communes(u.Code)
		for _, c := range communes {
			keys = append(keys, c.Key)
		}
	}
	got, err := s.stored(ctx, w, keys)
	if err != nil {
		return Report{}, err
	}
	r, ok := got[u.Key]
	r.Week, r.Unit, r.Deadline = w.String(), u, w.Deadline().UTC()
	var sum Figures
	for _, c := range communes {
		part, ok := got[c.Key]
		if !ok {
			if part.Figures, err = s.live(ctx, w, c); err != nil {
				return Report{}, err
			}
			part.State = state(false, false, w.Deadline(), now)
		}
		part.Week, part.Unit, part.Deadline = w.String(), c, w.Deadline().UTC()
		sum = sum.Add(part.Figures)
		r.Parts = append(r.Parts, part)
	}
	if s.DoorToDoor != nil && (u.Kind == KindDistrict || u.Kind == KindCommune) {
		from, to := w.Period()
		f, err := s.DoorToDoor.Week(ctx, u.Code, from, to)
		if err != nil {
			return Report{}, err
		}
		r.DoorToDoor = &f
	}
	if !ok {
		r.State = state(false, false, w.Deadline(), now)
		if u.Kind == KindDistrict {
			r.Figures = sum
		} else if r.Figures, err = s.live(ctx, w, u); err != nil {
			return Report{}, err
		}
	}
	return r, nil
}

// Submit stores a unit's report for the week; only the unit's own officers
// may. A report after the deadline is accepted and marked late.
func (s *Service) Submit(ctx context.Context, p *auth.Principal, w Week, key string, in Input) (Report, error) {
	u, err := s.unit(key)
	if err != nil {
		return Report{}, err
	}
	if !s.canSubmit(p, u) {
		return Report{}, fmt.Errorf("submit report %s %s: %w", w, key, errs.ErrForbidden)
	}
	now := s.now()
	f := errs.Fields{}
	if w.Monday().After(now) {
		f.Add("week", msg.Both("reports.week_has_not_started"))
	}
	clean := func(name, v string, required bool) string {
		v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
		if n := len([]rune(v)); n > 5000 {
			f.Add(name, msg.Both("reports.at_most_5_000"))
		} else if required && n < 2 {
			f.Add(name, msg.Both("reports.required"))
		}
		return v
	}
	in.WorkDone = clean("work_done", in.WorkDone, true)
	in.Difficulties = clean("difficulties", in.Difficulties, false)
	in.Proposals = clean("proposals", in.Proposals, false)
	prefilled, err := s.get(ctx, w, u)
	if err != nil {
		return Report{}, err
	}
	figures := prefilled.Figures
	if u.Kind != KindDistrict && in.Figures != nil {
		figures = *in.Figures
	}
	figures.validate(f)
	if err := f.Err(); err != nil {
		return Report{}, fmt.Errorf("submit report: %w", err)
	}
	late := 0
	if now.After(w.Deadline()) {
		late = 1
	}
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO weekly_reports (week, unit_key, venues_registered, venues_scanning, checkins,
		declarations, bluezone_installs, smartphone_users, work_done, difficulties, proposals, submitted_by, submitted_by_name,
		first_submitted_at, submitted_at, deadline, late) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16)
		ON CONFLICT (week, unit_key) DO UPDATE SET venues_registered = excluded.venues_registered, venues_scanning = excluded.venues_scanning,
		checkins = excluded.checkins, declarations = excluded.declarations, bluezone_installs = excluded.bluezone_installs,
		smartphone_users = excluded.smartphone_users, work_done = excluded.work_done, difficulties = excluded.difficulties,
		proposals = excluded.proposals, submitted_by = excluded.submitted_by, submitted_by_name = excluded.submitted_by_name,
		submitted_at = excluded.submitted_at`,
		w.String(), u.Key, figures.VenuesRegistered, figures.VenuesScanning, figures.Checkins, figures.Declarations,
		figures.BluezoneInstalls, figures.SmartphoneUsers, in.WorkDone, in.Difficulties, in.Proposals, p.UserID, p.Username,
		now.Unix(), w.Deadline().Unix(), late)
	if err != nil {
		return Report{}, fmt.Errorf("submit report: %w", err)
	}
	return s.get(ctx, w, u)
}

// UnitStatus is one line of the province's board.
type UnitStatus struct {
	Unit        Unit       `json:"unit"`
	State       string     `json:"state"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	SubmittedBy string     `json:"submitted_by,omitempty"`
	Email       string     `json:"email,omitempty"`
}

// Board is who reported for a week.
type Board struct {
	Week     string         `json:"week"`
	Deadline time.Time      `json:"deadline"`
	Units    []UnitStatus   `json:"units"`
	Counts   map[string]int `json:"counts"`
}

// Status returns every unit's state for the week (gatherers only).
func (s *Service) Status(ctx context.Context, p *auth.Principal, w Week) (Board, error) {
	if !s.Gatherer(p) {
		return Board{}, fmt.Errorf("report status: %w", errs.ErrForbidden)
	}
	return s.status(ctx, w)
}

func (s *Service) status(ctx context.Context, w Week) (Board, error) {
	units := Units(s.Province)
	keys := make([]string, len(units))
	for i, u := range units {
		keys[i] = u.Key
	}
	got, err := s.stored(ctx, w, keys)
	if err != nil {
		return Board{}, err
	}
	emails, err := s.emails(ctx)
	if err != nil {
		return Board{}, err
	}
	b := Board{Week: w.String(), Deadline: w.Deadline().UTC(), Counts: map[string]int{OnTime: 0, Late: 0, Pending: 0, Missing: 0}}
	now := s.now()
	for _, u := range units {
		st := UnitStatus{Unit: u, Email: emails[u.Key]}
		if r, ok := got[u.Key]; ok {
			st.State, st.SubmittedAt, st.SubmittedBy = r.State, r.FirstSubmittedAt, r.SubmittedBy
		} else {
			st.State = state(false, false, w.Deadline(), now)
		}
		b.Counts[st.State]++
		b.Units = append(b.Units, st)
	}
	return b, nil
}

func (s *Service) emails(ctx context.Context) (map[string]string, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT unit_key, email FROM report_units")
	if err != nil {
		return nil, fmt.Errorf("report unit emails: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, e string
		if err := rows.Scan(&k, &e); err != nil {
			return nil, fmt.Errorf("report unit emails: %w", err)
		}
		out[k] = e
	}
	return out, rows.Err()
}

// SetEmail sets where a unit's reminders go (gatherers only). An empty
// address stops the reminders.
func (s *Service) SetEmail(ctx context.Context, p *auth.Principal, key, email string) error {
	if !s.Gatherer(p) {
		return fmt.Errorf("set report email: %w", errs.ErrForbidden)
	}
	if _, err := s.unit(key); err != nil {
		return err
	}
	email = strings.TrimSpace(email)
	if email != "" {
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email {
			return fmt.Errorf("set report email: %w", &errs.Invalid{Fields: map[string]string{"email": msg.Both("reports.invalid_email_address")}})
		}
	}
	_, err := s.DB.W.ExecContext(ctx, `INSERT INTO report_units (unit_key, email, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (unit_key) DO UPDATE SET email = excluded.email, updated_at = excluded.updated_at`, key, email, s.now().Unix())
	if err != nil {
		return fmt.Errorf("set report email: %w", err)
	}
	return nil
}

// SendReminders queues, on the day before the deadline (Thursday, from
// 08:00), one reminder email to each unit that has not reported and has an
// address. The outbox's dedup key makes repeated runs send each at most once.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	if s.Outbox == nil {
		return 0, nil
	}
	now := s.now()
	w := WeekOf(now)
	local := now.In(HCM)
	if local.Weekday() != time.Thursday || local.Hour() < 8 || !now.Before(w.Deadline()) {
		return 0, nil
	}
	b, err := s.status(ctx, w)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range b.Units {
		if u.State != Pending || u.Email == "" {
			continue
		}
		body := fmt.Sprintf(msg.T("vi", "reports.dear_weekly_report_on")+
			msg.T("vi", "reports.before_13_00_on")+
			"Dear %s: the weekly report %s is due by 13:00 on Friday %s (Asia/Ho_Chi_Minh).\n",
			u.Unit.Name, w, w.Deadline().Format("02/01/2006"), u.Unit.Name, w, w.Deadline().Format("2006-01-02"))
		queued, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.Email, Kind: notify.KindReportReminder, To: u.Email,
			Subject: msg.T("vi", "reports.weekly_report_reminder") + w.String() + " / Weekly report reminder", Body: body,
			DedupKey: "report-reminder:" + w.String() + ":" + u.Unit.Key})
		if err != nil {
			return n, fmt.Errorf("report reminders: %w", err)
		}
		if queued {
			n++
		}
	}
	return n, nil
}

// Tick is one turn of the reminder job (internal/jobs runs it on one server
// at a time): SendReminders, logged.
func (s *Service) Tick(ctx context.Context) error {
	n, err := s.SendReminders(ctx)
	if n > 0 {
		s.Log.Info("report reminders queued", "count", n)
	}
	return err
}

// lastSend returns when the week's consolidated report was last emailed,
// and whether it ever was.
func (s *Service) lastSend(ctx context.Context, w Week) (time.Time, bool, error) {
	var at int64
	err := s.DB.R.QueryRowContext(ctx, "SELECT sent_at FROM report_sends WHERE week = $1 ORDER BY id DESC LIMIT 1", w.String()).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("report sends: %w", err)
	}
	return time.Unix(at, 0).UTC(), true, nil
}

// Task is what the weekly report asks of the caller this week: its own
// unit's report, and for gatherers how many units have not reported yet.
type Task struct {
	Week        string    `json:"week"`
	Deadline    time.Time `json:"deadline"`
	UnitKey     string    `json:"unit_key,omitempty"` // the caller's unit; "" when it reports for none
	State       string    `json:"state,omitempty"`    // its report's state this week
	Outstanding int       `json:"outstanding"`        // gatherers: units pending or missing
	Late        bool      `json:"late"`               // the deadline has passed
}

// Task returns the caller's report task for the current week; ErrForbidden
// for callers who neither report nor gather.
func (s *Service) Task(ctx context.Context, p *auth.Principal) (Task, error) {
	w := s.CurrentWeek()
	t := Task{Week: w.String(), Deadline: w.Deadline().UTC(), Late: s.now().After(w.Deadline())}
	own, reports := UnitFor(s.Province, p)
	if !reports && !s.Gatherer(p) {
		return Task{}, fmt.Errorf("report task: %w", errs.ErrForbidden)
	}
	if reports {
		got, err := s.stored(ctx, w, []string{own.Key})
		if err != nil {
			return Task{}, err
		}
		t.UnitKey, t.State = own.Key, state(false, false, w.Deadline(), s.now())
		if r, ok := got[own.Key]; ok {
			t.State = r.State
		}
	}
	if s.Gatherer(p) {
		b, err := s.status(ctx, w)
		if err != nil {
			return Task{}, err
		}
		t.Outstanding = b.Counts[Pending] + b.Counts[Missing]
	}
	return t, nil
}
