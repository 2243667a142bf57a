// Package inbox brings officials their work: notices of new work in their
// jurisdiction (new contacts on the follow-up worklist, flagged
// declarations, venues to approve, the weekly report due or late, cameras
// down, hand-offs from another province), read on the site (a bell with the
// unread count, the inbox page, the API) and, where an official chose it,
// sent by SMS or email through the outbox, one message per notice or one
// daily digest. It is the only owner of the inbox_* tables.
//
// Notices come from counts, not from the domain packages: a leased job
// (Watch) asks each Source how much work waits for every scope (role, unit,
// department: the officials who see the same count), compares it with the
// last count it stored, and on a rise writes one notice per official of the
// scope. The domain packages stay unaware of the inbox, and the job's cost
// is one count per scope and source per run, whatever the traffic. A
// compare-and-set on the stored count (its generation) decides which run
// writes the notices, and each notice's dedup key names that generation, so
// two servers never write one event twice. Texts hold counts and links only:
// nothing personal goes by SMS or email.
package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
)

// Source is one kind of work the inbox watches: Count says how much of it
// waits in p's jurisdiction and the page where it is done (the href may
// change, as the weekly report's does each week: new work at a new link is
// a notice even when the count stays). ErrForbidden: p's role does not do
// this work. The kind names the notice's text, inbox.kind.<Kind>.
type Source struct {
	Kind  string
	Count func(ctx context.Context, p *auth.Principal) (n int, href string, err error)
}

// The kinds of work watched, each with its texts in the catalog
// (inbox.kind.KIND for a notice, inbox.label.KIND for a digest's line).
const (
	KindWorklist     = "worklist"     // new contacts on the follow-up worklist
	KindDeclarations = "declarations" // flagged health declarations for the health station
	KindVenues       = "venues"       // venues waiting for approval
	KindReportDue    = "report_due"   // the unit's weekly report is due (one piece of work, no count)
	KindReportLate   = "report_late"  // the unit's weekly report is late (one piece of work, no count)
	KindCameras      = "cameras"      // cameras down
	KindHandoffs     = "handoffs"     // contacts handed over by another province, to receive
)

// Kinds is every kind of notice.
var Kinds = []string{KindWorklist, KindDeclarations, KindVenues, KindReportDue, KindReportLate, KindCameras, KindHandoffs}

// Contact is where an official takes messages (either may be empty).
type Contact struct{ Email, Phone string }

// Service is the inbox.
type Service struct {
	DB      *sqldb.DB
	Outbox  *notify.Outbox
	Sources []Source
	// Contacts returns the officials' addresses by account id (the ones
	// they gave for meeting invitations).
	Contacts func(ctx context.Context, ids []int64) (map[int64]Contact, error)
	// BaseURL starts the links in messages (https://anticovid.example.gov.vn).
	BaseURL string
	// DigestHour is the hour (0–23, Vietnam time) the daily digest goes out.
	DigestHour int
	Log        *slog.Logger
	Now        func() time.Time
}

// Preference values for a channel.
const (
	Off   = "off"   // nothing sent
	Each  = "each"  // one message per notice
	Daily = "daily" // one digest a day
)

// Modes is every preference value, in the order a form offers them.
var Modes = []string{Off, Each, Daily}

// hcm is Asia/Ho_Chi_Minh (no daylight saving since 1975): the digest's day
// and hour are local.
var hcm = time.FixedZone("ICT", 7*3600)

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
	return slog.Default()
}

// Notice is one notice: how much new work of a kind arrived, how much waits
// in all, and where it is done.
type Notice struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Added     int       `json:"added"`
	Total     int       `json:"total"`
	Href      string    `json:"href"`
	CreatedAt time.Time `json:"created_at"`
	Read      bool      `json:"read"`
}

// Text is the notice's text in lang: counts only.
func (n Notice) Text(lang string) string {
	if n.Kind == KindReportDue || n.Kind == KindReportLate {
		return msg.T(lang, "inbox.kind."+n.Kind)
	}
	return msg.T(lang, "inbox.kind."+n.Kind, n.Added, n.Total)
}

// official is whom a notice may address: signed in (not a venue manager).
func official(p *auth.Principal) error {
	if p == nil || p.UserID == 0 || p.Can(auth.VenueManager) {
		return fmt.Errorf("inbox: %w", errs.ErrForbidden)
	}
	return nil
}

// Unread is the bell: how many of p's notices are unread (one indexed count).
func (s *Service) Unread(ctx context.Context, p *auth.Principal) (int, error) {
	if err := official(p); err != nil {
		return 0, err
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM inbox_notices WHERE user_id = $1 AND read_at IS NULL", p.UserID).Scan(&n); err != nil {
		return 0, fmt.Errorf("inbox unread: %w", err)
	}
	return n, nil
}

const noticeCols = "id, kind, added, total, href, created_at, read_at"

func scanNotice(row interface{ Scan(...any) error }) (Notice, error) {
	var n Notice
	var created int64
	var read sql.NullInt64
	if err := row.Scan(&n.ID, &n.Kind, &n.Added, &n.Total, &n.Href, &created, &read); err != nil {
		return Notice{}, err
	}
	n.CreatedAt, n.Read = time.Unix(created, 0).UTC(), read.Valid
	return n, nil
}

// MaxPage is the most notices one List returns.
const MaxPage = 100

// List returns p's notices newest first, read and unread, limit at most
// (MaxPage when not in 1..MaxPage), older than the id before (0: from the
// newest); next is the before of the following page, 0 at the end.
func (s *Service) List(ctx context.Context, p *auth.Principal, before int64, limit int) (notices []Notice, next int64, err error) {
	if err := official(p); err != nil {
		return nil, 0, err
	}
	if limit < 1 || limit > MaxPage {
		limit = MaxPage
	}
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.DB.Primary().R.QueryContext(ctx, "SELECT "+noticeCols+" FROM inbox_notices WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
		p.UserID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("inbox list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("inbox list: %w", err)
		}
		notices = append(notices, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("inbox list: %w", err)
	}
	if len(notices) > limit {
		notices = notices[:limit]
		next = notices[limit-1].ID
	}
	return notices, next, nil
}

// Open returns p's notice id, marked read: following a notice reads it.
// Another official's notice is ErrNotFound, as one that does not exist.
func (s *Service) Open(ctx context.Context, p *auth.Principal, id int64) (Notice, error) {
	if err := official(p); err != nil {
		return Notice{}, err
	}
	if _, err := s.MarkRead(ctx, p, []int64{id}); err != nil {
		return Notice{}, err
	}
	n, err := scanNotice(s.DB.Primary().R.QueryRowContext(ctx, "SELECT "+noticeCols+" FROM inbox_notices WHERE id = $1 AND user_id = $2", id, p.UserID))
	if errors.Is(err, sql.ErrNoRows) {
		return Notice{}, fmt.Errorf("notice %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Notice{}, fmt.Errorf("notice %d: %w", id, err)
	}
	return n, nil
}

// MarkRead marks p's notices ids read (others' ids change nothing) and
// returns how many were unread.
func (s *Service) MarkRead(ctx context.Context, p *auth.Principal, ids []int64) (int, error) {
	if err := official(p); err != nil {
		return 0, err
	}
	total := 0
	err := sqldb.Chunks(ids, []any{s.now().Unix(), p.UserID}, func(in string, args []any) error {
		res, err := s.DB.W.ExecContext(ctx, "UPDATE inbox_notices SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += int(n)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("inbox mark read: %w", err)
	}
	return total, nil
}

// MarkAllRead marks every notice of p read and returns how many were unread.
func (s *Service) MarkAllRead(ctx context.Context, p *auth.Principal) (int, error) {
	if err := official(p); err != nil {
		return 0, err
	}
	res, err := s.DB.W.ExecContext(ctx, "UPDATE inbox_notices SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL", s.now().Unix(), p.UserID)
	if err != nil {
		return 0, fmt.Errorf("inbox mark all read: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Prefs is what an official wants sent, per channel: Off, Each or Daily.
type Prefs struct {
	SMS   string `json:"sms"`
	Email string `json:"email"`
}

// Prefs returns p's preferences (both Off when never set).
func (s *Service) Prefs(ctx context.Context, p *auth.Principal) (Prefs, error) {
	if err := official(p); err != nil {
		return Prefs{}, err
	}
	pr := Prefs{SMS: Off, Email: Off}
	err := s.DB.Primary().R.QueryRowContext(ctx, "SELECT sms, email FROM inbox_prefs WHERE user_id = $1", p.UserID).Scan(&pr.SMS, &pr.Email)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Prefs{}, fmt.Errorf("inbox prefs: %w", err)
	}
	return pr, nil
}

// SetPrefs sets p's own preferences.
func (s *Service) SetPrefs(ctx context.Context, p *auth.Principal, pr Prefs) (Prefs, error) {
	if err := official(p); err != nil {
		return Prefs{}, err
	}
	f := errs.Fields{}
	if !slices.Contains(Modes, pr.SMS) {
		f.Add("sms", msg.Both("inbox.bad_mode"))
	}
	if !slices.Contains(Modes, pr.Email) {
		f.Add("email", msg.Both("inbox.bad_mode"))
	}
	if err := f.Err(); err != nil {
		return Prefs{}, fmt.Errorf("inbox prefs: %w", err)
	}
	_, err := s.DB.W.ExecContext(ctx, `INSERT INTO inbox_prefs (user_id, sms, email, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET sms = excluded.sms, email = excluded.email, updated_at = excluded.updated_at`,
		p.UserID, pr.SMS, pr.Email, s.now().Unix())
	if err != nil {
		return Prefs{}, fmt.Errorf("inbox prefs: %w", err)
	}
	return pr, nil
}

// scopeKey names the officials who see the same counts: the count
// functions read role, unit and department only.
func scopeKey(p auth.Principal) string {
	return strings.Join([]string{string(p.Role), p.Unit, p.Department}, "|")
}
