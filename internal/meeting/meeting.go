// Package meeting runs the steering committees' online meetings without
// being a video system: officials of the province or a district schedule a
// meeting, invite units (every district committee, chosen communes), and
// each invited official gets a personal signed link that expires, by email
// (with a calendar file), SMS and on the site. Following the link lets them
// into the room of an existing conferencing system (Jitsi Meet, with a
// signed JWT; see Provider). Attendance comes from the conferencing
// system's signed reports or from the chair; minutes and decisions are kept
// with the meeting and linked from the weekly report.
package meeting

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/reports"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Limits of what a meeting holds.
const (
	MaxMinutes = 20000   // runes of minutes, and of decisions
	MaxFile    = 1 << 20 // bytes of the attached file (the request is also bounded by --max-body)
	MaxLength  = 12 * time.Hour
	// LinkGrace is how long after its end a meeting's personal links (and
	// the conferencing tokens they lead to) still work.
	LinkGrace = time.Hour
	// OpenBefore is how early before the start a personal link lets one in.
	OpenBefore = 30 * time.Minute
)

// FileTypes are the attached file's accepted types, by extension.
var FileTypes = map[string]string{".pdf": "application/pdf", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".doc": "application/msword", ".odt": "application/vnd.oasis.opendocument.text", ".txt": "text/plain; charset=utf-8",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}

// Meeting is one scheduled meeting.
type Meeting struct {
	ID        int64      `json:"id"`
	Title     string     `json:"title"`
	Agenda    string     `json:"agenda"`
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"`
	Room      string     `json:"-"` // only links reveal the room
	Unit      string     `json:"unit_code"`
	ChairID   int64      `json:"chair_id"`
	Chair     string     `json:"chair"`
	CreatedAt time.Time  `json:"created_at"`
	Minutes   string     `json:"minutes"`
	Decisions string     `json:"decisions"`
	MinutesAt *time.Time `json:"minutes_at,omitempty"`
	FileName  string     `json:"file_name,omitempty"`
	FileSize  int        `json:"file_size,omitempty"`
	Units     []string   `json:"units"`
}

// Invitee is one invited official and their attendance.
type Invitee struct {
	UserID   int64      `json:"user_id"`
	Username string     `json:"username"`
	Unit     string     `json:"unit_code"`
	Chair    bool       `json:"chair"`
	Attended *bool      `json:"attended"` // nil: not known
	JoinedAt *time.Time `json:"joined_at,omitempty"`
	Source   string     `json:"source,omitempty"` // system (the conferencing system) or chair
}

// State is the attendance in a word: yes, no or unknown.
func (i Invitee) State() string {
	switch {
	case i.Attended == nil:
		return "unknown"
	case *i.Attended:
		return "yes"
	}
	return "no"
}

// Input is what the organiser fills in. AllBelow invites every unit one
// level below the organiser (a province's district committees, a
// district's communes); Communes adds chosen communes of its area.
type Input struct {
	Title    string    `json:"title"`
	Agenda   string    `json:"agenda"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	AllBelow bool      `json:"all_below"`
	Communes []string  `json:"communes"`
}

// Service keeps meetings.
type Service struct {
	DB       *sqldb.DB
	Vault    *vault.Vault
	Outbox   *notify.Outbox // invitations; nil: none sent
	Provider Provider       // nil: no conferencing system configured
	Province string
	BaseURL  string // this server's public URL, for the links
	// From is the calendar file's organiser address (the SMTP sender).
	From string
	Log  *slog.Logger
	Now  func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Organiser is the unit p schedules meetings for: the province for its
// administrators, the district for its officers; false for anyone else.
func (s *Service) Organiser(p *auth.Principal) (string, bool) {
	switch {
	case p.Can(auth.ProvinceAdmin) && p.InJurisdiction(s.Province) && s.Province != geo.Country:
		return s.Province, true
	case p.Can(auth.DistrictOfficer) && geo.Contains(s.Province, p.Unit):
		return p.Unit, true
	}
	return "", false
}

// official says whose accounts count as a unit's officials: everyone but
// the venue managers (businesses, not the administration).
func official(r auth.Role) bool { return r != auth.VenueManager }

// Schedule creates a meeting, invites the units' officials (and the chair,
// its organiser) and queues their invitations.
func (s *Service) Schedule(ctx context.Context, p *auth.Principal, in Input) (Meeting, error) {
	org, ok := s.Organiser(p)
	if !ok {
		return Meeting{}, fmt.Errorf("schedule meeting: %w", errs.ErrForbidden)
	}
	units, err := s.validate(org, &in)
	if err != nil {
		return Meeting{}, fmt.Errorf("schedule meeting: %w", err)
	}
	users, err := auth.UsersInUnits(ctx, s.DB, units)
	if err != nil {
		return Meeting{}, err
	}
	room := make([]byte, 12)
	rand.Read(room)
	now := s.now()
	district := ""
	if d, ok := geo.Ancestor(org, "district"); ok {
		district = d.Code
	}
	m := Meeting{Title: in.Title, Agenda: in.Agenda, Start: in.Start.UTC(), End: in.End.UTC(), Room: "hop-" + hex.EncodeToString(room),
		Unit: org, ChairID: p.UserID, Chair: p.Username, CreatedAt: now.UTC().Truncate(time.Second), Units: units}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO meetings (title, agenda, starts_at, ends_at, room, unit_code, district_code, province_code, chair_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, m.Title, m.Agenda, m.Start.Unix(), m.End.Unix(), m.Room,
			org, district, s.Province, p.UserID, m.CreatedAt.Unix()).Scan(&m.ID); err != nil {
			return err
		}
		for _, u := range units {
			if _, err := tx.ExecContext(ctx, "INSERT INTO meeting_units (meeting_id, unit_code) VALUES ($1, $2)", m.ID, u); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO meeting_invitees (meeting_id, user_id, unit_code, chair) VALUES ($1, $2, $3, 1)", m.ID, p.UserID, p.Unit); err != nil {
			return err
		}
		for _, u := range users {
			if u.UserID == p.UserID || !official(u.Role) {
				continue
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO meeting_invitees (meeting_id, user_id, unit_code) VALUES ($1, $2, $3)", m.ID, u.UserID, u.Unit); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Meeting{}, fmt.Errorf("schedule meeting: %w", err)
	}
	queued, err := s.invite(ctx, m)
	if err != nil {
		return m, err
	}
	s.log().Info("meeting scheduled", "meeting", m.ID, "units", len(units), "invitations", queued, "by", p.UserID)
	return m, nil
}

// validate checks the input field by field and returns the invited units.
func (s *Service) validate(org string, in *Input) ([]string, error) {
	f := errs.Fields{}
	in.Title, in.Agenda = strings.TrimSpace(in.Title), strings.TrimSpace(in.Agenda)
	if n := utf8.RuneCountInString(in.Title); n < 3 || n > 200 {
		f.Add("title", msg.Both("meeting.title_3_200"))
	}
	if utf8.RuneCountInString(in.Agenda) > 4000 {
		f.Add("agenda", msg.Both("meeting.agenda_too_long"))
	}
	now := s.now()
	switch {
	case in.Start.IsZero():
		f.Add("start", msg.Both("meeting.start_needed"))
	case in.Start.Before(now.Add(-5 * time.Minute)):
		f.Add("start", msg.Both("meeting.start_past"))
	case in.Start.After(now.AddDate(1, 0, 0)):
		f.Add("start", msg.Both("meeting.start_far"))
	case !in.End.After(in.Start) || in.End.Sub(in.Start) > MaxLength:
		f.Add("end", msg.Both("meeting.end_after_start"))
	}
	var units []string
	if in.AllBelow {
		for _, u := range geo.Children(org) {
			units = append(units, u.Code)
		}
	}
	for _, c := range in.Communes {
		u, ok := geo.Get(c)
		if !ok || u.Level != "commune" || !geo.Contains(org, c) {
			f.Add("communes", msg.Both("meeting.commune_outside"))
			break
		}
		if !slices.Contains(units, c) {
			units = append(units, c)
		}
	}
	if len(units) == 0 && f["communes"] == "" {
		f.Add("communes", msg.Both("meeting.no_units"))
	}
	return units, f.Err()
}

const meetingCols = `m.id, m.title, m.agenda, m.starts_at, m.ends_at, m.room, m.unit_code, m.chair_id, m.created_at,
	m.minutes, m.decisions, m.minutes_at, m.file_name, COALESCE(length(m.file_data), 0)`

func scanMeeting(row interface{ Scan(...any) error }) (Meeting, error) {
	var m Meeting
	var start, end, created int64
	var minutesAt sql.NullInt64
	if err := row.Scan(&m.ID, &m.Title, &m.Agenda, &start, &end, &m.Room, &m.Unit, &m.ChairID, &created,
		&m.Minutes, &m.Decisions, &minutesAt, &m.FileName, &m.FileSize); err != nil {
		return Meeting{}, err
	}
	m.Start, m.End, m.CreatedAt = time.Unix(start, 0).UTC(), time.Unix(end, 0).UTC(), time.Unix(created, 0).UTC()
	if minutesAt.Valid {
		t := time.Unix(minutesAt.Int64, 0).UTC()
		m.MinutesAt = &t
	}
	return m, nil
}

// supervises reports whether p oversees meetings organised by unit: the
// organising level (province administrators, district officers) within its
// jurisdiction.
func supervises(p *auth.Principal, unit string) bool {
	return p.Can(auth.ProvinceAdmin, auth.DistrictOfficer) && p.InJurisdiction(unit)
}

// List returns the meetings p may see, newest first: those p is invited
// to, and those organised within p's jurisdiction when p organises.
func (s *Service) List(ctx context.Context, p *auth.Principal) ([]Meeting, error) {
	q := "SELECT " + meetingCols + " FROM meetings m WHERE m.id IN (SELECT meeting_id FROM meeting_invitees WHERE user_id = $1)"
	args := []any{p.UserID}
	if p.Can(auth.ProvinceAdmin, auth.DistrictOfficer) {
		if col, val := p.Scope(); col != "" {
			q += " OR m." + col + " = $2"
			args = append(args, val)
		} else {
			q += " OR 1 = 1" // the whole country
		}
	}
	return s.query(ctx, "meetings", q+" ORDER BY m.starts_at DESC, m.id DESC LIMIT 300", args...)
}

// query reads the meetings a SELECT of meetingCols returns; what names the
// read in errors.
func (s *Service) query(ctx context.Context, what, q string, args ...any) ([]Meeting, error) {
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []Meeting{}
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// load reads a meeting with its units and invitees.
func (s *Service) load(ctx context.Context, id int64) (Meeting, []Invitee, error) {
	m, err := scanMeeting(s.DB.R.QueryRowContext(ctx, "SELECT "+meetingCols+" FROM meetings m WHERE m.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Meeting{}, nil, fmt.Errorf("meeting %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Meeting{}, nil, fmt.Errorf("meeting %d: %w", id, err)
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT unit_code FROM meeting_units WHERE meeting_id = $1 ORDER BY unit_code", id)
	if err != nil {
		return Meeting{}, nil, fmt.Errorf("meeting %d: %w", id, err)
	}
	for rows.Next() {
		var u string
		rows.Scan(&u)
		m.Units = append(m.Units, u)
	}
	rows.Close()
	rows, err = s.DB.R.QueryContext(ctx, "SELECT user_id, unit_code, chair, attended, joined_at, source FROM meeting_invitees WHERE meeting_id = $1 ORDER BY chair DESC, unit_code, user_id", id)
	if err != nil {
		return Meeting{}, nil, fmt.Errorf("meeting %d: %w", id, err)
	}
	defer rows.Close()
	var inv []Invitee
	var ids []int64
	for rows.Next() {
		var i Invitee
		var chair int
		var attended, joined sql.NullInt64
		if err := rows.Scan(&i.UserID, &i.Unit, &chair, &attended, &joined, &i.Source); err != nil {
			return Meeting{}, nil, fmt.Errorf("meeting %d: %w", id, err)
		}
		i.Chair = chair == 1
		if attended.Valid {
			a := attended.Int64 == 1
			i.Attended = &a
		}
		if joined.Valid {
			t := time.Unix(joined.Int64, 0).UTC()
			i.JoinedAt = &t
		}
		inv, ids = append(inv, i), append(ids, i.UserID)
	}
	if err := rows.Err(); err != nil {
		return Meeting{}, nil, fmt.Errorf("meeting %d: %w", id, err)
	}
	names, err := auth.Usernames(ctx, s.DB, ids)
	if err != nil {
		return Meeting{}, nil, err
	}
	for k := range inv {
		inv[k].Username = names[inv[k].UserID]
	}
	m.Chair = names[m.ChairID]
	return m, inv, nil
}

// View is a meeting as one reader sees it.
type View struct {
	Meeting
	Invitees []Invitee `json:"invitees"`
	// Me is the reader's invitation, nil when the reader only supervises.
	Me *Invitee `json:"me,omitempty"`
	// Manage: the reader may mark attendance and write the minutes.
	Manage bool `json:"manage"`
}

// Get returns a meeting to an invitee or a supervisor; anyone else is
// refused (an official of a unit that was not invited sees nothing).
func (s *Service) Get(ctx context.Context, p *auth.Principal, id int64) (View, error) {
	m, inv, err := s.load(ctx, id)
	if err != nil {
		return View{}, err
	}
	v := View{Meeting: m, Invitees: inv, Manage: p.UserID == m.ChairID || supervises(p, m.Unit)}
	for k := range inv {
		if inv[k].UserID == p.UserID {
			v.Me = &inv[k]
		}
	}
	if v.Me == nil && !supervises(p, m.Unit) {
		return View{}, fmt.Errorf("meeting %d: %w", id, errs.ErrForbidden)
	}
	return v, nil
}

// MarkAttendance records, by the chair (or a supervisor), whether an
// invitee attended; it overrides what the conferencing system reported.
func (s *Service) MarkAttendance(ctx context.Context, p *auth.Principal, id, userID int64, attended bool) error {
	v, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	if !v.Manage {
		return fmt.Errorf("mark attendance: %w", errs.ErrForbidden)
	}
	var res sql.Result
	if attended {
		res, err = s.DB.W.ExecContext(ctx, `UPDATE meeting_invitees SET attended = 1, joined_at = COALESCE(joined_at, $1), source = 'chair'
			WHERE meeting_id = $2 AND user_id = $3`, s.now().Unix(), id, userID)
	} else {
		res, err = s.DB.W.ExecContext(ctx, `UPDATE meeting_invitees SET attended = 0, joined_at = NULL, source = 'chair'
			WHERE meeting_id = $1 AND user_id = $2`, id, userID)
	}
	if err != nil {
		return fmt.Errorf("mark attendance: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mark attendance: not invited: %w", errs.ErrNotFound)
	}
	return nil
}

// File is an attached file.
type File struct {
	Name string
	Type string
	Data []byte
}

// SetMinutes stores the minutes and decisions (chair or supervisor); a
// non-nil file replaces the attached one.
func (s *Service) SetMinutes(ctx context.Context, p *auth.Principal, id int64, minutes, decisions string, file *File) error {
	v, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	if !v.Manage {
		return fmt.Errorf("meeting minutes: %w", errs.ErrForbidden)
	}
	f := errs.Fields{}
	if utf8.RuneCountInString(minutes) > MaxMinutes {
		f.Add("minutes", msg.Both("meeting.minutes_too_long", MaxMinutes))
	}
	if utf8.RuneCountInString(decisions) > MaxMinutes {
		f.Add("decisions", msg.Both("meeting.minutes_too_long", MaxMinutes))
	}
	if file != nil {
		file.Name = cleanName(file.Name)
		typ, ok := FileTypes[strings.ToLower(extOf(file.Name))]
		switch {
		case len(file.Data) == 0 || file.Name == "":
			f.Add("file", msg.Both("meeting.file_empty"))
		case len(file.Data) > MaxFile:
			f.Add("file", msg.Both("meeting.file_too_large", MaxFile>>20))
		case !ok:
			f.Add("file", msg.Both("meeting.file_type"))
		}
		file.Type = typ
	}
	if err := f.Err(); err != nil {
		return fmt.Errorf("meeting minutes: %w", err)
	}
	now := s.now().Unix()
	if file != nil {
		_, err = s.DB.W.ExecContext(ctx, `UPDATE meetings SET minutes = $1, decisions = $2, minutes_by = $3, minutes_at = $4,
			file_name = $5, file_type = $6, file_data = $7 WHERE id = $8`, minutes, decisions, p.UserID, now, file.Name, file.Type, file.Data, id)
	} else {
		_, err = s.DB.W.ExecContext(ctx, "UPDATE meetings SET minutes = $1, decisions = $2, minutes_by = $3, minutes_at = $4 WHERE id = $5",
			minutes, decisions, p.UserID, now, id)
	}
	if err != nil {
		return fmt.Errorf("meeting minutes: %w", err)
	}
	return nil
}

// Attachment returns the attached file to whoever may see the meeting.
func (s *Service) Attachment(ctx context.Context, p *auth.Principal, id int64) (File, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return File{}, err
	}
	var f File
	err := s.DB.R.QueryRowContext(ctx, "SELECT file_name, file_type, file_data FROM meetings WHERE id = $1 AND file_name <> ''", id).Scan(&f.Name, &f.Type, &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, fmt.Errorf("meeting file: %w", errs.ErrNotFound)
	}
	if err != nil {
		return File{}, fmt.Errorf("meeting file: %w", err)
	}
	return f, nil
}

func extOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// cleanName keeps a file name's last part, without control characters or
// quotes, so it can go into a Content-Disposition header.
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == ';' {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > 120 {
		name = string([]rune(name)[:100]) + extOf(name)
	}
	return strings.TrimSpace(name)
}

// Contact is where an official takes meeting invitations.
type Contact struct {
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// SetContact sets the caller's own invitation addresses (either may be empty).
func (s *Service) SetContact(ctx context.Context, p *auth.Principal, c Contact) (Contact, error) {
	f := errs.Fields{}
	c.Email, c.Phone = strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone)
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			f.Add("email", msg.Both("meeting.bad_email"))
		}
	}
	if c.Phone != "" {
		ph, err := people.NormalizePhone(c.Phone)
		if err != nil {
			f.Add("phone", msg.Both("meeting.bad_phone"))
		}
		c.Phone = ph
	}
	if err := f.Err(); err != nil {
		return Contact{}, fmt.Errorf("meeting contact: %w", err)
	}
	_, err := s.DB.W.ExecContext(ctx, `INSERT INTO meeting_contacts (user_id, email_enc, phone_enc, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET email_enc = excluded.email_enc, phone_enc = excluded.phone_enc, updated_at = excluded.updated_at`,
		p.UserID, s.seal(c.Email), s.seal(c.Phone), s.now().Unix())
	if err != nil {
		return Contact{}, fmt.Errorf("meeting contact: %w", err)
	}
	return c, nil
}

func (s *Service) seal(v string) []byte {
	if v == "" {
		return nil
	}
	return s.Vault.Seal(v)
}

// Contacts returns the invitation addresses of accounts, by id.
func (s *Service) Contacts(ctx context.Context, ids []int64) (map[int64]Contact, error) {
	out := map[int64]Contact{}
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rows, err := s.DB.R.QueryContext(ctx, "SELECT user_id, email_enc, phone_enc FROM meeting_contacts WHERE user_id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var email, phone []byte
			if err := rows.Scan(&id, &email, &phone); err != nil {
				return err
			}
			var c Contact
			if len(email) > 0 {
				c.Email, _ = s.Vault.Open(email)
			}
			if len(phone) > 0 {
				c.Phone, _ = s.Vault.Open(phone)
			}
			out[id] = c
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("meeting contacts: %w", err)
	}
	return out, nil
}

// MinutesLinks lists the meetings of the province that started in
// [from, to) and have minutes, decisions or a file: what the weekly report
// links (reports.Meetings).
func (s *Service) MinutesLinks(ctx context.Context, from, to time.Time) ([]reports.MeetingLink, error) {
	list, err := s.query(ctx, "meetings with minutes", "SELECT "+meetingCols+` FROM meetings m WHERE m.province_code = $1 AND m.starts_at >= $2 AND m.starts_at < $3
		AND (m.minutes <> '' OR m.decisions <> '' OR m.file_name <> '') ORDER BY m.starts_at, m.id`, s.Province, from.Unix(), to.Unix())
	var out []reports.MeetingLink
	for _, m := range list {
		out = append(out, reports.MeetingLink{Title: m.Title, Start: m.Start, Unit: m.Unit, URL: fmt.Sprintf("%s/meetings/%d", s.BaseURL, m.ID)})
	}
	return out, err
}
