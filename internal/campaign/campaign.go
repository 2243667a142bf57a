// Package campaign sends the directive's messages — install Bluezone,
// declare your health, scan the QR code — to the registered residents and
// venue managers of a unit, by SMS or an OTT messenger, through the
// notification outbox: a dry run first shows how many people a campaign
// reaches; sending is rate limited so an operator's gateway is not flooded;
// every message is logged with its delivery state.
package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// Recipient groups.
const (
	Residents     = "residents"      // registered people living in the unit
	VenueManagers = "venue_managers" // contacts of the unit's approved venues
)

// Statuses of a campaign.
const (
	Sending   = "sending"
	Done      = "done"
	Cancelled = "cancelled"
)

// Template is a ready message in Vietnamese; {unit} becomes the target
// unit's name and {link} the deployment's address.
type Template struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEN string `json:"name_en"`
	Body   string `json:"body"`
}

// Templates are the messages the directive asks for.
var Templates = []Template{
	{"install_bluezone", msg.T("vi", "campaign.template.install_bluezone"), msg.T("en", "campaign.template.install_bluezone"),
		msg.T("vi", "campaign.template.install_bluezone.body")},
	{"declare", msg.T("vi", "campaign.template.declare"), msg.T("en", "campaign.template.declare"),
		msg.T("vi", "campaign.template.declare.body")},
	{"scan_qr", msg.T("vi", "campaign.template.scan_qr"), msg.T("en", "campaign.template.scan_qr"),
		msg.T("vi", "campaign.template.scan_qr.body")},
	{"venue_register", msg.T("vi", "campaign.template.venue_register"), msg.T("en", "campaign.template.venue_register"),
		msg.T("vi", "campaign.template.venue_register.body")},
}

// TemplateOf returns a template by code.
func TemplateOf(code string) (Template, bool) {
	for _, t := range Templates {
		if t.Code == code {
			return t, true
		}
	}
	return Template{}, false
}

// Input is a campaign as an officer composes it. Body empty: the template's.
type Input struct {
	Name       string   `json:"name"`
	Template   string   `json:"template"`
	Channel    string   `json:"channel"`
	Body       string   `json:"body"`
	UnitCode   string   `json:"unit_code"`
	Groups     []string `json:"groups"`
	RatePerMin int      `json:"rate_per_min"`
}

// Campaign is a campaign with its delivery counts.
type Campaign struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Template   string     `json:"template"`
	Channel    string     `json:"channel"`
	Body       string     `json:"body"`
	UnitCode   string     `json:"unit_code"`
	Groups     []string   `json:"groups"`
	RatePerMin int        `json:"rate_per_min"`
	Status     string     `json:"status"`
	Recipients int64      `json:"recipients"`
	Queued     int64      `json:"queued"`
	Pending    int64      `json:"pending"`
	Sent       int64      `json:"sent"`
	Failed     int64      `json:"failed"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// DryRun says whom a campaign would reach, without sending anything.
type DryRun struct {
	Recipients int64            `json:"recipients"`
	ByGroup    map[string]int64 `json:"by_group"`
	Body       string           `json:"body"`
	Segments   int              `json:"sms_segments"`
}

// Delivery is one line of the delivery log. It names the recipient by
// record, never by phone number.
type Delivery struct {
	Recipient string     `json:"recipient"`
	QueuedAt  time.Time  `json:"queued_at"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// Service plans and sends campaigns.
type Service struct {
	DB      *sqldb.DB
	Vault   *vault.Vault
	Outbox  *notify.Outbox
	BaseURL string
	// MaxRate is the most messages a minute one campaign may queue.
	MaxRate int
	Log     *slog.Logger
	Now     func() time.Time

	mu       sync.Mutex
	lastStep map[int64]time.Time
	credit   map[int64]float64
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) maxRate() int {
	if s.MaxRate > 0 {
		return s.MaxRate
	}
	return 6000
}

// maySend: the province, the departments that run the system and health,
// and the district and commune committees send campaigns.
func maySend(p *auth.Principal) bool {
	if p.Can(auth.ProvinceAdmin, auth.DistrictOfficer, auth.CommuneOfficer) {
		return true
	}
	return p.Can(auth.DepartmentOfficer) && (p.Department == "ict" || p.Department == "health")
}

// segments is how many SMS a body takes: Vietnamese with diacritics is sent
// as UCS-2, 70 characters in one message, 67 per part when split.
func segments(body string) int {
	n := len([]rune(body))
	ascii := true
	for _, r := range body {
		if r > 127 {
			ascii = false
			break
		}
	}
	one, part := 160, 153
	if !ascii {
		one, part = 70, 67
	}
	if n <= one {
		return 1
	}
	return (n + part - 1) / part
}

// check validates the input and the caller's right to reach the unit, and
// returns the message body.
func (s *Service) check(p *auth.Principal, in *Input) (geo.Unit, string, error) {
	f := errs.Fields{}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	if n := len([]rune(in.Name)); n < 2 || n > 120 {
		f.Add("name", msg.Both("campaign.name_2_to_120"))
	}
	tpl, ok := TemplateOf(in.Template)
	if !ok {
		f.Add("template", msg.Both("campaign.unknown_template"))
	}
	if in.Channel != notify.SMS && in.Channel != notify.OTT {
		f.Add("channel", msg.Both("campaign.channel_sms_or_ott"))
	}
	u, found := geo.Get(in.UnitCode)
	if !found {
		f.Add("unit_code", msg.Both("campaign.unknown_unit_code"))
	}
	slices.Sort(in.Groups)
	in.Groups = slices.Compact(in.Groups)
	if len(in.Groups) == 0 {
		f.Add("groups", msg.Both("campaign.choose_at_least_one"))
	}
	for _, g := range in.Groups {
		if g != Residents && g != VenueManagers {
			f.Add("groups", msg.Both("campaign.unknown_recipient_group"))
		}
	}
	if in.RatePerMin == 0 {
		in.RatePerMin = 600
	}
	if in.RatePerMin < 1 || in.RatePerMin > s.maxRate() {
		f.Add("rate_per_min", msg.Both("campaign.rate_1_to_messages", s.maxRate()))
	}
	body := strings.TrimSpace(in.Body)
	if body == "" {
		body = tpl.Body
	}
	body = strings.ReplaceAll(body, "{unit}", "UBND "+strings.TrimSpace(u.Name))
	body = strings.ReplaceAll(body, "{link}", s.BaseURL)
	if n := len([]rune(body)); n < 10 || n > 480 {
		f.Add("body", msg.Both("campaign.message_10_to_480"))
	}
	if err := f.Err(); err != nil {
		return geo.Unit{}, "", err
	}
	if p == nil || !maySend(p) || !p.InJurisdiction(u.Code) {
		return geo.Unit{}, "", errs.ErrForbidden
	}
	return u, body, nil
}

// scope returns the column that limits records to a unit, "" for the country.
func scope(u geo.Unit) string {
	switch u.Level {
	case "province", "district", "commune":
		return u.Level + "_code"
	}
	return ""
}

// DryRun counts the recipients of a campaign without sending anything.
func (s *Service) DryRun(ctx context.Context, p *auth.Principal, in Input) (DryRun, error) {
	u, body, err := s.check(p, &in)
	if err != nil {
		return DryRun{}, fmt.Errorf("dry run: %w", err)
	}
	d := DryRun{ByGroup: map[string]int64{}, Body: body, Segments: segments(body)}
	col := scope(u)
	for _, g := range in.Groups {
		count := people.CountPhones
		if g == VenueManagers {
			count = venue.CountContacts
		}
		n, err := count(ctx, s.DB, col, u.Code)
		if err != nil {
			return DryRun{}, fmt.Errorf("dry run: %w", err)
		}
		d.ByGroup[g] = n
		d.Recipients += n
	}
	return d, nil
}

// Create starts a campaign: recipients are counted now and messages are
// queued in the background at the campaign's rate. Handing phone numbers to
// a provider is an export of personal data, so it is audited first.
func (s *Service) Create(ctx context.Context, p *auth.Principal, in Input) (Campaign, error) {
	dry, err := s.DryRun(ctx, p, in)
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	u, body, _ := s.check(p, &in)
	commune, district, province := "", "", ""
	for _, a := range geo.Path(u.Code) {
		switch a.Level {
		case "commune":
			commune = a.Code
		case "district":
			district = a.Code
		case "province":
			province = a.Code
		}
	}
	now := s.now()
	c := Campaign{Name: in.Name, Template: in.Template, Channel: in.Channel, Body: body, UnitCode: u.Code, Groups: in.Groups,
		RatePerMin: in.RatePerMin, Status: Sending, Recipients: dry.Recipients, CreatedBy: p.Username, CreatedAt: now.UTC().Truncate(time.Second)}
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO campaigns (name, template, channel, body, unit_code, commune_code, district_code, province_code,
		groups, rate_per_min, status, recipients, created_by, created_by_name, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		c.Name, c.Template, c.Channel, c.Body, c.UnitCode, commune, district, province, strings.Join(c.Groups, ","), c.RatePerMin,
		c.Status, c.Recipients, p.UserID, p.Username, now.Unix()).Scan(&c.ID)
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	if err := auth.Audit(ctx, s.DB, auth.ActionExport, "campaign_recipients", []string{strconv.FormatInt(c.ID, 10)},
		msg.Both("campaign.messaging_campaign")+": "+c.Name); err != nil {
		s.DB.W.ExecContext(ctx, "UPDATE campaigns SET status = $1 WHERE id = $2", Cancelled, c.ID)
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	return c, nil
}

// visible returns the WHERE clause limiting campaigns to the caller's jurisdiction.
func visible(p *auth.Principal) (string, []any) {
	if col, val := p.Scope(); col != "" {
		return col + " = $1", []any{val}
	}
	return "1 = 1", nil
}

const campaignCols = `id, name, template, channel, body, unit_code, groups, rate_per_min, status, recipients, queued,
	created_by_name, created_at, finished_at`

func scanCampaign(row interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	var groups string
	var created int64
	var finished sql.NullInt64
	if err := row.Scan(&c.ID, &c.Name, &c.Template, &c.Channel, &c.Body, &c.UnitCode, &groups, &c.RatePerMin, &c.Status,
		&c.Recipients, &c.Queued, &c.CreatedBy, &created, &finished); err != nil {
		return Campaign{}, err
	}
	c.Groups = strings.Split(groups, ",")
	c.CreatedAt = time.Unix(created, 0).UTC()
	if finished.Valid {
		t := time.Unix(finished.Int64, 0).UTC()
		c.FinishedAt = &t
	}
	return c, nil
}

// stats fills the delivery counts from the outbox. The join with notify's
// outbox table stays here on purpose (the one exception to table ownership
// in this package, listed in internal/store's ownership test): a campaign
// has up to a million deliveries, and counting them by status is one
// indexed join, where asking the outbox key by key would read every key
// into Go on each page view.
func (s *Service) stats(ctx context.Context, c *Campaign) error {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT o.status, count(*) FROM campaign_deliveries d JOIN outbox o ON o.dedup_key = d.dedup_key
		WHERE d.campaign_id = $1 GROUP BY o.status`, c.ID)
	if err != nil {
		return fmt.Errorf("campaign %d stats: %w", c.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return fmt.Errorf("campaign %d stats: %w", c.ID, err)
		}
		switch st {
		case "sent", "delivered":
			c.Sent += n
		case "failed":
			c.Failed += n
		default:
			c.Pending += n
		}
	}
	return rows.Err()
}

// List returns the campaigns within the caller's jurisdiction, newest first.
func (s *Service) List(ctx context.Context, p *auth.Principal) ([]Campaign, error) {
	if p == nil || !maySend(p) {
		return nil, fmt.Errorf("campaigns: %w", errs.ErrForbidden)
	}
	where, args := visible(p)
	rows, err := s.DB.R.QueryContext(ctx, "SELECT "+campaignCols+" FROM campaigns WHERE "+where+" ORDER BY id DESC LIMIT 100", args...)
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	out := []Campaign{}
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("campaigns: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	for i := range out {
		if err := s.stats(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Get returns a campaign with the newest lines of its delivery log.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id int64) (Campaign, []Delivery, error) {
	c, err := scanCampaign(s.DB.R.QueryRowContext(ctx, "SELECT "+campaignCols+" FROM campaigns WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, nil, fmt.Errorf("campaign %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Campaign{}, nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	if p == nil || !maySend(p) || !p.InJurisdiction(c.UnitCode) {
		return Campaign{}, nil, fmt.Errorf("campaign %d: %w", id, errs.ErrForbidden)
	}
	if err := s.stats(ctx, &c); err != nil {
		return Campaign{}, nil, err
	}
	// The same exception as stats: the newest lines with their outbox state.
	rows, err := s.DB.R.QueryContext(ctx, `SELECT d.recipient, d.queued_at, o.status, o.attempts, o.sent_at, o.last_error
		FROM campaign_deliveries d JOIN outbox o ON o.dedup_key = d.dedup_key WHERE d.campaign_id = $1 ORDER BY d.id DESC LIMIT 200`, id)
	if err != nil {
		return Campaign{}, nil, fmt.Errorf("campaign %d log: %w", id, err)
	}
	defer rows.Close()
	log := []Delivery{}
	for rows.Next() {
		var d Delivery
		var queued int64
		var sent sql.NullInt64
		if err := rows.Scan(&d.Recipient, &queued, &d.Status, &d.Attempts, &sent, &d.Error); err != nil {
			return Campaign{}, nil, fmt.Errorf("campaign %d log: %w", id, err)
		}
		d.QueuedAt = time.Unix(queued, 0).UTC()
		if sent.Valid {
			t := time.Unix(sent.Int64, 0).UTC()
			d.SentAt = &t
		}
		log = append(log, d)
	}
	return c, log, rows.Err()
}

// Cancel stops a campaign: nothing more is queued (what is queued is sent).
func (s *Service) Cancel(ctx context.Context, p *auth.Principal, id int64) error {
	if _, _, err := s.Get(ctx, p, id); err != nil {
		return err
	}
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE campaigns SET status = $1, finished_at = $2 WHERE id = $3 AND status = $4",
		Cancelled, s.now().Unix(), id, Sending); err != nil {
		return fmt.Errorf("cancel campaign %d: %w", id, err)
	}
	return nil
}

// Step queues, for each campaign being sent, as many messages as its rate
// allows since the last step. It returns how many were queued.
func (s *Service) Step(ctx context.Context) (int, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, channel, body, unit_code, groups, rate_per_min, cursor_person, cursor_venue
		FROM campaigns WHERE status = $1 ORDER BY id`, Sending)
	if err != nil {
		return 0, fmt.Errorf("campaign step: %w", err)
	}
	type active struct {
		id                  int64
		channel, body, unit string
		groups              []string
		rate                int
		cursorP, cursorV    int64
	}
	var list []active
	for rows.Next() {
		var a active
		var groups string
		if err := rows.Scan(&a.id, &a.channel, &a.body, &a.unit, &groups, &a.rate, &a.cursorP, &a.cursorV); err != nil {
			rows.Close()
			return 0, fmt.Errorf("campaign step: %w", err)
		}
		a.groups = strings.Split(groups, ",")
		list = append(list, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("campaign step: %w", err)
	}
	now := s.now()
	total := 0
	for _, a := range list {
		budget := s.budget(a.id, a.rate, now)
		if budget == 0 {
			continue
		}
		n, done, err := s.queue(ctx, a.id, a.channel, a.body, a.unit, a.groups, a.cursorP, a.cursorV, budget)
		total += n
		s.spend(a.id, n)
		if err != nil {
			return total, err
		}
		if done {
			if _, err := s.DB.W.ExecContext(ctx, "UPDATE campaigns SET status = $1, finished_at = $2 WHERE id = $3 AND status = $4",
				Done, now.Unix(), a.id, Sending); err != nil {
				return total, fmt.Errorf("campaign step: %w", err)
			}
		}
	}
	return total, nil
}

// budget is a token bucket per campaign: rate per minute, at most one
// minute's worth at once.
func (s *Service) budget(id int64, rate int, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastStep == nil {
		s.lastStep, s.credit = map[int64]time.Time{}, map[int64]float64{}
	}
	last, ok := s.lastStep[id]
	if !ok {
		last = now.Add(-time.Minute / 6) // a first step sends ten seconds' worth
	}
	s.lastStep[id] = now
	s.credit[id] = min(s.credit[id]+float64(rate)*now.Sub(last).Minutes(), float64(rate))
	return int(s.credit[id])
}

func (s *Service) spend(id int64, n int) {
	s.mu.Lock()
	s.credit[id] -= float64(n)
	s.mu.Unlock()
}

// queue enqueues up to budget messages after the cursors, group by group.
func (s *Service) queue(ctx context.Context, id int64, channel, body, unit string, groups []string, cursorP, cursorV int64, budget int) (int, bool, error) {
	u, _ := geo.Get(unit)
	// The sending unit's province: the delivery log's distribution key.
	prov, _ := geo.Ancestor(unit, "province")
	col := scope(u)
	queued := 0
	for _, g := range []string{Residents, VenueManagers} {
		if !slices.Contains(groups, g) {
			continue
		}
		cursor, kind := cursorP, "person"
		if g == VenueManagers {
			cursor, kind = cursorV, "venue"
		}
		for queued < budget {
			batch, err := s.recipients(ctx, g, col, u.Code, cursor, min(budget-queued, 500))
			if err != nil {
				return queued, false, fmt.Errorf("campaign %d recipients: %w", id, err)
			}
			if len(batch) == 0 {
				break
			}
			for _, r := range batch {
				phone, err := s.Vault.Open(r.Phone)
				if err != nil {
					return queued, false, fmt.Errorf("campaign %d recipient: %w", id, err)
				}
				if phone != "" {
					key := fmt.Sprintf("campaign:%d:%s", id, s.Vault.Hash(phone)[:32])
					ok, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: channel, Kind: notify.KindCampaign, To: phone, Body: body, DedupKey: key, Province: prov.Code})
					if err != nil {
						return queued, false, fmt.Errorf("campaign %d: %w", id, err)
					}
					if ok {
						// No conflict target: see store.KeyedDayTables.
						if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO campaign_deliveries (campaign_id, recipient, dedup_key, queued_at, province_code)
							VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, id, kind+":"+strconv.FormatInt(r.ID, 10), key, s.now().Unix(), prov.Code); err != nil {
							return queued, false, fmt.Errorf("campaign %d: %w", id, err)
						}
						queued++
					}
				}
				cursor = r.ID
			}
			curCol := "cursor_person"
			if g == VenueManagers {
				curCol = "cursor_venue"
			}
			if _, err := s.DB.W.ExecContext(ctx, "UPDATE campaigns SET "+curCol+" = $1 WHERE id = $2", cursor, id); err != nil {
				return queued, false, fmt.Errorf("campaign %d: %w", id, err)
			}
			if g == VenueManagers {
				cursorV = cursor
			} else {
				cursorP = cursor
			}
		}
		if queued >= budget {
			return queued, false, s.addQueued(ctx, id, queued)
		}
	}
	return queued, true, s.addQueued(ctx, id, queued)
}

// recipients returns the next residents (people) or venue managers (venues)
// of a unit after the cursor, with their phones sealed, from their owners.
func (s *Service) recipients(ctx context.Context, group, col, unit string, after int64, limit int) ([]people.SealedPhone, error) {
	if group != VenueManagers {
		return people.PhonesAfter(ctx, s.DB, col, unit, after, limit)
	}
	return venue.ContactsAfter(ctx, s.DB, col, unit, after, limit)
}

func (s *Service) addQueued(ctx context.Context, id int64, n int) error {
	if n == 0 {
		return nil
	}
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE campaigns SET queued = queued + $1 WHERE id = $2", n, id); err != nil {
		return fmt.Errorf("campaign %d: %w", id, err)
	}
	return nil
}

// Tick is one turn of the campaign job (internal/jobs runs it on one server
// at a time): a Step, logged. A turn cut short by a dead server is safe to
// run again: each message's dedup key queues it once.
func (s *Service) Tick(ctx context.Context) error {
	n, err := s.Step(ctx)
	if n > 0 {
		s.Log.Info("campaign messages queued", "count", n)
	}
	return err
}
