package tracing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/venue"
)

// RuleSettings are the tracing rules as people set them, in minutes.
type RuleSettings struct {
	MinOverlapMinutes  int            `json:"min_overlap_minutes"`
	WithinHour         bool           `json:"within_hour"`
	HourWindowMinutes  int            `json:"hour_window_minutes"`
	StayCapMinutes     int            `json:"stay_cap_minutes"`
	DefaultStayMinutes map[string]int `json:"default_stay_minutes"` // by category; absent: the category's own
	UpdatedBy          string         `json:"updated_by,omitempty"`
	UpdatedAt          *time.Time     `json:"updated_at,omitempty"`
}

// Rules converts settings to the engine's rules.
func (rs RuleSettings) Rules() Rules {
	r := DefaultRules()
	r.MinOverlap = time.Duration(rs.MinOverlapMinutes) * time.Minute
	r.WithinHour = rs.WithinHour
	if rs.HourWindowMinutes > 0 {
		r.HourWindow = time.Duration(rs.HourWindowMinutes) * time.Minute
	}
	if rs.StayCapMinutes > 0 {
		r.StayCap = time.Duration(rs.StayCapMinutes) * time.Minute
	}
	if len(rs.DefaultStayMinutes) > 0 {
		r.DefaultStay = map[string]time.Duration{}
		for code, m := range rs.DefaultStayMinutes {
			r.DefaultStay[code] = time.Duration(m) * time.Minute
		}
	}
	return r
}

// SettingsOf converts rules to settings.
func SettingsOf(r Rules) RuleSettings {
	rs := RuleSettings{MinOverlapMinutes: int(r.MinOverlap / time.Minute), WithinHour: r.WithinHour,
		HourWindowMinutes: int(r.HourWindow / time.Minute), StayCapMinutes: int(r.StayCap / time.Minute)}
	if len(r.DefaultStay) > 0 {
		rs.DefaultStayMinutes = map[string]int{}
		for code, d := range r.DefaultStay {
			rs.DefaultStayMinutes[code] = int(d / time.Minute)
		}
	}
	return rs
}

// Validate checks every field in minutes, before any is turned into a
// duration (a huge number must not wrap around into a valid one), and names
// each bad field as the JSON and the form call it. Nothing is defaulted: a
// zero is refused, not replaced.
func (rs RuleSettings) Validate() error {
	f := errs.Fields{}
	if rs.MinOverlapMinutes < 0 || rs.MinOverlapMinutes > 24*60 {
		f.Add("min_overlap_minutes", msg.Both("tracing.minimum_overlap_0_to"))
	}
	if rs.HourWindowMinutes < 1 || rs.HourWindowMinutes > 6*60 {
		f.Add("hour_window_minutes", msg.Both("tracing.within_hour_window_1"))
	}
	if rs.StayCapMinutes < 1 || rs.StayCapMinutes > 48*60 {
		f.Add("stay_cap_minutes", msg.Both("tracing.stay_cap_1_minute"))
	}
	for code, m := range rs.DefaultStayMinutes {
		if _, ok := venue.CategoryOf(code); !ok {
			f.Add("default_stay_minutes."+code, msg.Both("tracing.unknown_category"))
		} else if m < 1 || m > 48*60 {
			f.Add("default_stay_minutes."+code, msg.Both("tracing.default_stay_range", code))
		}
	}
	return f.Err()
}

// CanSetRules reports whether p may change the province's tracing rules:
// province administrators and the Department of Health.
func CanSetRules(p *auth.Principal) bool {
	return p.Can(auth.ProvinceAdmin) || (p.Can(auth.DepartmentOfficer) && p.Department == "health")
}

// Settings keeps the province's tracing rules (the trace_settings table)
// and applies them to an engine's QR source. Callers check who may read or
// change them.
type Settings struct {
	DB     *sqldb.DB
	Engine *Engine

	once sync.Once
	err  error
	mu   sync.Mutex
	by   string
	at   *time.Time
}

// NewSettings returns the settings of e's rules stored in db.
func NewSettings(db *sqldb.DB, e *Engine) *Settings {
	return &Settings{DB: db, Engine: e}
}

// Load applies the stored settings once, before the first trace.
func (s *Settings) Load(ctx context.Context) error {
	s.once.Do(func() {
		var text, by string
		var at int64
		err := s.DB.R.QueryRowContext(ctx, "SELECT rules, updated_by, updated_at FROM trace_settings WHERE id = 1").Scan(&text, &by, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return
		}
		if err != nil {
			s.err = err
			return
		}
		var rs RuleSettings
		if err := json.Unmarshal([]byte(text), &rs); err != nil {
			s.err = err
			return
		}
		if q := s.Engine.QR(); q != nil {
			s.err = q.SetRules(rs.Rules())
		}
		t := time.Unix(at, 0).UTC()
		s.mu.Lock()
		s.by, s.at = by, &t
		s.mu.Unlock()
	})
	if s.err != nil {
		return fmt.Errorf("tracing settings: %w", s.err)
	}
	return nil
}

// Current returns the rules in force, with every category's effective
// default stay.
func (s *Settings) Current(ctx context.Context) (RuleSettings, error) {
	if err := s.Load(ctx); err != nil {
		return RuleSettings{}, err
	}
	q := s.Engine.QR()
	if q == nil {
		return RuleSettings{}, fmt.Errorf("tracing settings: no QR source")
	}
	r := q.Rules()
	rs := SettingsOf(r)
	rs.DefaultStayMinutes = map[string]int{}
	for _, c := range venue.Categories {
		rs.DefaultStayMinutes[c.Code] = int(r.Stay(c.Code) / time.Minute)
	}
	s.mu.Lock()
	rs.UpdatedBy, rs.UpdatedAt = s.by, s.at
	s.mu.Unlock()
	return rs, nil
}

// Save validates, stores and applies new rules, set by username at now:
// every trace started afterwards uses them. rs is complete: callers that
// change some fields start from Current (a partial form resets nothing).
func (s *Settings) Save(ctx context.Context, username string, now time.Time, rs RuleSettings) (RuleSettings, error) {
	if err := s.Load(ctx); err != nil {
		return RuleSettings{}, err
	}
	if err := rs.Validate(); err != nil {
		return RuleSettings{}, fmt.Errorf("tracing settings: %w", err)
	}
	// Only what differs from the categories' own stays is kept.
	for code, m := range rs.DefaultStayMinutes {
		if c, _ := venue.CategoryOf(code); int(c.DefaultStay/time.Minute) == m {
			delete(rs.DefaultStayMinutes, code)
		}
	}
	rs.UpdatedBy, rs.UpdatedAt = "", nil
	text, _ := json.Marshal(rs)
	now = now.UTC().Truncate(time.Second)
	if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO trace_settings (id, rules, updated_by, updated_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		string(text), username, now.Unix()); err != nil {
		return RuleSettings{}, fmt.Errorf("tracing settings: %w", err)
	}
	if err := s.Engine.QR().SetRules(rs.Rules()); err != nil {
		return RuleSettings{}, err
	}
	s.mu.Lock()
	s.by, s.at = username, &now
	s.mu.Unlock()
	return s.Current(ctx)
}
