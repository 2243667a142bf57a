package press

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/reports"
)

// Row is one unit's published figures. A nil count is hidden: small, or
// one a small count could be worked out from (dashboard.PublicCounts, and
// the public map's own cells for the cases); the snapshot never holds it.
type Row struct {
	Code             string   `json:"code"`
	Name             string   `json:"name"`
	F0Days14         *int64   `json:"f0_14d"`
	Checkins         *int64   `json:"checkins_7d"`
	Declarations     *int64   `json:"declarations_7d"`
	VenuesRegistered *int64   `json:"venues_registered"`
	VenuesScanning   *int64   `json:"venues_scanning"`
	BluezoneInstalls *int64   `json:"bluezone_installs"`
	BluezonePct      *float64 `json:"bluezone_pct"`
}

// Figures are a release's figures: the seven days to At, the cases as the
// public map showed them at At.
type Figures struct {
	From           time.Time `json:"from"`
	At             time.Time `json:"at"`
	Threshold      int       `json:"threshold"`
	F0Today        *int64    `json:"f0_today"`
	BluezoneTarget float64   `json:"bluezone_target_pct"`
	Province       Row       `json:"province"`
	Districts      []Row     `json:"districts"`
}

// Release is one week's press release.
type Release struct {
	ID          int64      `json:"id"`
	Week        string     `json:"week"`
	Title       string     `json:"title"`
	Body        string     `json:"body"`
	Figures     Figures    `json:"figures"`
	DraftedAt   time.Time  `json:"drafted_at"`
	EditedAt    *time.Time `json:"edited_at,omitempty"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
}

// Published reports whether the release is public.
func (r Release) Published() bool { return r.PublishedAt != nil }

// Paragraphs splits the body at blank lines.
func (r Release) Paragraphs() []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(r.Body, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// WeekLabel is "49/2026".
func (r Release) WeekLabel() string {
	w, err := reports.ParseWeek(r.Week)
	if err != nil {
		return r.Week
	}
	return fmt.Sprintf("%d/%d", w.Num, w.Year)
}

func shown(c dashboard.Shown) *int64 {
	if c.Hidden {
		return nil
	}
	n := c.N
	return &n
}

// figures computes the release's figures now from the dashboard's stored
// counts: one Totals read per unit, never a scan of check-ins.
func (s *Service) figures(ctx context.Context) (Figures, error) {
	if s.Dash == nil {
		return Figures{}, errors.New("press figures: no dashboard")
	}
	at := s.now().UTC().Truncate(time.Second)
	f := Figures{From: at.AddDate(0, 0, -7), At: at, Threshold: s.Dash.Threshold}
	if f.Threshold <= 0 {
		f.Threshold = 3
	}
	units := []string{s.Province}
	for _, d := range geo.Children(s.Province) {
		units = append(units, d.Code)
	}
	metrics := []string{dashboard.Checkins, dashboard.Declarations, dashboard.Venues, dashboard.VenuesScanning, dashboard.BluezoneInstalls}
	counts := map[string]map[string]int64{}
	phones := map[string]int64{}
	for _, m := range metrics {
		counts[m] = map[string]int64{}
	}
	for _, u := range units {
		t, err := s.Dash.Totals(ctx, u, "", f.From, at)
		if err != nil {
			return Figures{}, fmt.Errorf("press figures: %w", err)
		}
		for _, m := range metrics {
			counts[m][u] = t[m]
		}
		phones[u] = t[dashboard.SmartphoneUsers]
	}
	public := map[string]map[string]dashboard.Shown{}
	for _, m := range metrics {
		public[m] = s.Dash.PublicCounts(counts[m])
	}
	pm, err := s.Dash.BuildPublic(ctx)
	if err != nil {
		return Figures{}, fmt.Errorf("press figures: %w", err)
	}
	f.F0Today = shown(pm.Province.F0Today)
	cases := map[string]dashboard.Shown{pm.Province.Code: pm.Province.F0Days14}
	for _, d := range pm.Districts {
		cases[d.Code] = d.F0Days14
	}
	row := func(code string) Row {
		u, _ := geo.Get(code)
		r := Row{Code: code, Name: u.Name, F0Days14: shown(cases[code]), Checkins: shown(public[dashboard.Checkins][code]),
			Declarations: shown(public[dashboard.Declarations][code]), VenuesRegistered: shown(public[dashboard.Venues][code]),
			VenuesScanning: shown(public[dashboard.VenuesScanning][code]), BluezoneInstalls: shown(public[dashboard.BluezoneInstalls][code])}
		if r.BluezoneInstalls != nil && phones[code] > 0 { // the share gives the count away: shown only with it
			p := float64(*r.BluezoneInstalls) * 100 / float64(phones[code])
			r.BluezonePct = &p
		}
		return r
	}
	f.Province = row(s.Province)
	for _, u := range units[1:] {
		f.Districts = append(f.Districts, row(u))
	}
	if s.Dash.Targets != nil {
		if f.BluezoneTarget, err = s.Dash.Targets.BluezoneTarget(ctx, s.Province, at); err != nil {
			return Figures{}, fmt.Errorf("press figures: %w", err)
		}
	}
	return f, nil
}

// Num writes a published count the Vietnamese way (1.234.567), a hidden
// one as a dash.
func Num(c *int64) string {
	if c == nil {
		return "—"
	}
	s := strconv.FormatInt(*c, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Pct writes a share with a decimal comma, a hidden one as a dash.
func Pct(p *float64) string {
	if p == nil {
		return "—"
	}
	return strings.Replace(strconv.FormatFloat(*p, 'f', 1, 64), ".", ",", 1) + "%"
}

// draftText is the system's draft of a release, in Vietnamese (press
// releases are published in Vietnamese only).
func draftText(week reports.Week, province string, f Figures) (title, body string) {
	vi := func(key string, args ...any) string { return msg.T("vi", key, args...) }
	or := func(c *int64) string {
		if c == nil {
			return vi("press.release.hidden_count")
		}
		return Num(c)
	}
	at := f.At.In(dashboard.HCM).Format("15:04 02/01/2006")
	title = vi("press.release.draft_title", week.Num, week.Year, province)
	p := f.Province
	paras := []string{
		vi("press.release.draft_venues", at, province, or(p.VenuesRegistered), or(p.VenuesScanning)),
		vi("press.release.draft_scans", or(p.Checkins), or(p.Declarations)),
	}
	if p.BluezonePct != nil {
		paras = append(paras, vi("press.release.draft_bluezone", or(p.BluezoneInstalls), Pct(p.BluezonePct), Pct(&f.BluezoneTarget)))
	} else {
		paras = append(paras, vi("press.release.draft_bluezone_count", or(p.BluezoneInstalls)))
	}
	paras = append(paras, vi("press.release.draft_cases", or(f.F0Today), or(p.F0Days14)), vi("press.release.draft_appeal"))
	return title, strings.Join(paras, "\n\n")
}

const releaseCols = `id, week, title, body, figures, drafted_at, edited_at, published_at`

func scanRelease(sc interface{ Scan(...any) error }) (Release, error) {
	var r Release
	var fig string
	var drafted int64
	var edited, published sql.NullInt64
	if err := sc.Scan(&r.ID, &r.Week, &r.Title, &r.Body, &fig, &drafted, &edited, &published); err != nil {
		return Release{}, err
	}
	if err := json.Unmarshal([]byte(fig), &r.Figures); err != nil {
		return Release{}, fmt.Errorf("release %s figures: %w", r.Week, err)
	}
	r.DraftedAt = time.Unix(drafted, 0).UTC()
	if edited.Valid {
		t := time.Unix(edited.Int64, 0).UTC()
		r.EditedAt = &t
	}
	if published.Valid {
		t := time.Unix(published.Int64, 0).UTC()
		r.PublishedAt = &t
	}
	return r, nil
}

func (s *Service) get(ctx context.Context, week string) (Release, error) {
	r, err := scanRelease(s.DB.R.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM press_releases WHERE province_code = $1 AND week = $2`, s.Province, week))
	if errors.Is(err, sql.ErrNoRows) {
		return Release{}, fmt.Errorf("release %s: %w", week, errs.ErrNotFound)
	}
	if err != nil {
		return Release{}, fmt.Errorf("release %s: %w", week, err)
	}
	return r, nil
}

// CurrentWeek is the week a release drafted now belongs to.
func (s *Service) CurrentWeek() string { return reports.WeekOf(s.now()).String() }

// Draft has the system write this week's release from the figures of now
// (editors). An existing draft is returned as it is unless refresh, which
// rewrites its figures and text; a published release is never rewritten.
func (s *Service) Draft(ctx context.Context, p *auth.Principal, refresh bool) (Release, error) {
	if !s.Editor(p) {
		return Release{}, fmt.Errorf("draft release: %w", errs.ErrForbidden)
	}
	week := reports.WeekOf(s.now())
	old, err := s.get(ctx, week.String())
	switch {
	case err == nil && old.Published() && refresh:
		return Release{}, fmt.Errorf("redraft published %s: %w", week, errs.ErrConflict)
	case err == nil && !refresh:
		return old, nil
	case err != nil && !errors.Is(err, errs.ErrNotFound):
		return Release{}, err
	}
	f, err := s.figures(ctx)
	if err != nil {
		return Release{}, err
	}
	prov, _ := geo.Get(s.Province)
	name := prov.Name // "Tỉnh Long An" reads "tỉnh Long An" inside a sentence
	if r, n := utf8.DecodeRuneInString(name); r != utf8.RuneError {
		name = strings.ToLower(string(r)) + name[n:]
	}
	title, body := draftText(week, name, f)
	fig, _ := json.Marshal(f)
	now := s.now().Unix()
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO press_releases (province_code, week, title, body, figures, drafted_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (province_code, week) DO UPDATE SET title = $3, body = $4, figures = $5,
		drafted_at = $6, edited_by = NULL, edited_at = NULL WHERE press_releases.published_at IS NULL`,
		s.Province, week.String(), title, body, string(fig), now)
	if err != nil {
		return Release{}, fmt.Errorf("draft release %s: %w", week, err)
	}
	return s.get(ctx, week.String())
}

// Edit is an editor's change to a draft.
type Edit struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Update saves an editor's text of a draft; a published release is final.
func (s *Service) Update(ctx context.Context, p *auth.Principal, week string, in Edit) (Release, error) {
	if !s.Editor(p) {
		return Release{}, fmt.Errorf("edit release: %w", errs.ErrForbidden)
	}
	f := errs.Fields{}
	in.Title, in.Body = strings.TrimSpace(in.Title), strings.TrimSpace(in.Body)
	if n := utf8.RuneCountInString(in.Title); n < 5 || n > 200 {
		f.Add("title", msg.Both("press.release.title_length"))
	}
	if n := utf8.RuneCountInString(in.Body); n < 20 || n > 20000 {
		f.Add("body", msg.Both("press.release.body_length"))
	}
	if err := f.Err(); err != nil {
		return Release{}, err
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE press_releases SET title = $1, body = $2, edited_by = $3, edited_at = $4
		WHERE province_code = $5 AND week = $6 AND published_at IS NULL`, in.Title, in.Body, p.UserID, s.now().Unix(), s.Province, week)
	if err != nil {
		return Release{}, fmt.Errorf("edit release %s: %w", week, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.get(ctx, week); err != nil {
			return Release{}, err
		}
		return Release{}, fmt.Errorf("edit published %s: %w", week, errs.ErrConflict)
	}
	return s.get(ctx, week)
}

// Publish approves a draft: from now on it is public at its stable URL
// and in the feed, and no longer changes.
func (s *Service) Publish(ctx context.Context, p *auth.Principal, week string) (Release, error) {
	if !s.Editor(p) {
		return Release{}, fmt.Errorf("publish release: %w", errs.ErrForbidden)
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE press_releases SET approved_by = $1, published_at = $2
		WHERE province_code = $3 AND week = $4 AND published_at IS NULL`, p.UserID, s.now().Unix(), s.Province, week)
	if err != nil {
		return Release{}, fmt.Errorf("publish release %s: %w", week, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.get(ctx, week); err != nil {
			return Release{}, err
		}
		return Release{}, fmt.Errorf("publish %s again: %w", week, errs.ErrConflict)
	}
	if s.Log != nil {
		s.Log.Info("press release published", "week", week, "user_id", p.UserID)
	}
	return s.get(ctx, week)
}

// Releases lists every release, drafts included (editors).
func (s *Service) Releases(ctx context.Context, p *auth.Principal) ([]Release, error) {
	if !s.Editor(p) {
		return nil, fmt.Errorf("releases: %w", errs.ErrForbidden)
	}
	return s.list(ctx, false, 200)
}

// Published lists the public releases, newest first.
func (s *Service) Published(ctx context.Context, limit int) ([]Release, error) {
	return s.list(ctx, true, limit)
}

func (s *Service) list(ctx context.Context, public bool, limit int) ([]Release, error) {
	q := `SELECT ` + releaseCols + ` FROM press_releases WHERE province_code = $1`
	if public {
		q += ` AND published_at IS NOT NULL`
	}
	rows, err := s.DB.R.QueryContext(ctx, q+` ORDER BY week DESC LIMIT $2`, s.Province, limit)
	if err != nil {
		return nil, fmt.Errorf("releases: %w", err)
	}
	defer rows.Close()
	var out []Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("releases: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Release returns one week's release: to editors in any state, to anyone
// else (nil p: the public) only once published; a draft is not found.
func (s *Service) Release(ctx context.Context, p *auth.Principal, week string) (Release, error) {
	if _, err := reports.ParseWeek(week); err != nil {
		return Release{}, fmt.Errorf("release %q: %w", week, errs.ErrNotFound)
	}
	r, err := s.get(ctx, week)
	if err != nil {
		return Release{}, err
	}
	if !r.Published() && !s.Editor(p) {
		return Release{}, fmt.Errorf("release %s unpublished: %w", week, errs.ErrNotFound)
	}
	return r, nil
}
