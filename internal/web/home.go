package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/reports"
)

// routesHome registers the home page and the caller and administrative unit look-ups.
func (s *Server) routesHome() {
	s.page("GET /{$}", true, s.home)
	s.api("GET", "/api/v1/tasks", s.apiTasks)
	s.api("GET", "/api/v1/me", s.apiMe)
	s.api("GET", "/api/v1/units/{code}", s.apiUnit)
	s.api("GET", "/api/v1/units/{code}/children", s.apiUnitChildren)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	tasks := s.tasks(r.Context(), p)
	children := geo.Children(s.homeUnit(p))
	s.render(w, r, http.StatusOK, "home", map[string]any{"Children": children, "Department": auth.Departments[p.Department], "Tasks": tasks})
	return nil
}

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, tasksAnswer{Tasks: s.tasks(r.Context(), auth.From(r.Context()))})
	return nil
}

// tasksAnswer is GET /api/v1/tasks.
type tasksAnswer struct {
	Tasks []task `json:"tasks"`
}

// task is one line of an official's task list: how much of one kind of work
// waits, and the page where it is done.
type task struct {
	Key   string     `json:"key"` // what the work is: its label's catalog key (task.KEY)
	Count int        `json:"count"`
	Late  bool       `json:"late"`          // overdue work, shown first
	Due   *time.Time `json:"due,omitempty"` // a deadline, when the work has one
	Href  string     `json:"href"`
	// Mark replaces the count on the page for a single piece of work
	// (the unit's own report): "!" to do, "✓" done.
	Mark string `json:"-"`
}

// tasks is the caller's task list: every kind of work the caller's role does,
// counted over its jurisdiction without reading anyone's details, overdue
// work first. A kind the role does not do (ErrForbidden) or a feature this
// server does not run is left out; so is a count that fails (logged): the
// rest of the list still reaches the official.
func (s *Server) tasks(ctx context.Context, p *auth.Principal) []task {
	var late, rest []task
	add := func(t task) {
		if t.Late && t.Count > 0 {
			late = append(late, t)
		} else {
			rest = append(rest, t)
		}
	}
	leaveOut := func(err error) {
		if !errors.Is(err, errs.ErrForbidden) {
			s.log.ErrorContext(ctx, "task count", "err", err)
		}
	}
	if s.Cases != nil {
		f, err := s.Cases.FollowUpCounts(ctx, p)
		if err == nil {
			add(task{Key: "calls_overdue", Count: f.Overdue, Late: true, Href: "/tracing/worklist?state=overdue"})
			add(task{Key: "calls_due", Count: f.Due, Href: "/tracing/worklist"})
			add(task{Key: "quarantine_ending", Count: f.QuarantineEnding, Href: "/tracing/worklist"})
		} else {
			leaveOut(err)
		}
		if grants, err := s.Cases.GrantsToDecide(ctx, p); err == nil {
			n := 0
			for _, g := range grants {
				n += boolCount(g.Status == cases.GrantPending)
			}
			add(task{Key: "grants", Count: n, Href: "/access/requests"})
		} else {
			leaveOut(err)
		}
		if out, in, err := s.Cases.HandoffCounts(ctx, p); err == nil {
			add(task{Key: "handoffs_out", Count: out, Href: "/tracing/handoffs"})
			add(task{Key: "handoffs_in", Count: in, Href: "/tracing/handoffs"})
		} else {
			leaveOut(err)
		}
	}
	type count struct {
		key, href string
		count     func(context.Context, *auth.Principal) (int, error)
	}
	var counts []count // the features this server runs
	if s.Declarations != nil {
		counts = append(counts, count{"declarations", "/declarations/worklist", s.Declarations.OpenCount})
	}
	if s.Checkins != nil {
		counts = append(counts, count{"held", "/checkins/held", s.Checkins.HeldCount})
	}
	if s.Venues != nil {
		counts = append(counts, count{"venues_pending", "/venues?status=pending", s.Venues.PendingCount})
	}
	if s.Ops != nil && s.Ops.Cameras != nil {
		counts = append(counts, count{"cameras_down", "/cameras", s.Ops.Cameras.OfflineCount})
	}
	for _, c := range counts {
		n, err := c.count(ctx, p)
		if err != nil {
			leaveOut(err)
			continue
		}
		add(task{Key: c.key, Count: n, Late: c.key == "cameras_down", Href: c.href})
	}
	if s.Ops != nil && s.Ops.Reports != nil {
		t, err := s.Ops.Reports.Task(ctx, p)
		if err != nil {
			leaveOut(err)
		}
		if err == nil && t.UnitKey != "" {
			open := t.State == reports.Pending || t.State == reports.Missing
			mark := map[bool]string{true: "!", false: "✓"}[open]
			add(task{Key: "report_" + t.State, Count: boolCount(open), Late: t.State == reports.Missing, Due: &t.Deadline,
				Href: "/reports/" + t.Week + "/" + t.UnitKey, Mark: mark})
		}
		if err == nil && s.Ops.Reports.Gatherer(p) {
			add(task{Key: "reports_outstanding", Count: t.Outstanding, Late: t.Late, Due: &t.Deadline, Href: "/reports"})
		}
	}
	return append(late, rest...)
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, auth.From(r.Context()))
	return nil
}

func (s *Server) unit(r *http.Request) (geo.Unit, error) {
	u, ok := geo.Get(r.PathValue("code"))
	if !ok {
		return geo.Unit{}, fmt.Errorf("unit %q: %w", r.PathValue("code"), errs.ErrNotFound)
	}
	return u, nil
}

func (s *Server) apiUnit(w http.ResponseWriter, r *http.Request) error {
	u, err := s.unit(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) apiUnitChildren(w http.ResponseWriter, r *http.Request) error {
	u, err := s.unit(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, unitChildrenAnswer{Unit: u, Children: geo.Children(u.Code)})
	return nil
}
