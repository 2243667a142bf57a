package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// routesHeldCheckins registers the review of check-ins held as implausible:
// the commune (and the district and province above it) sees them, and
// releases them into tracing or rejects them.
func (s *Server) routesHeldCheckins() {
	s.page("GET /checkins/held", true, s.heldPage)
	s.page("POST /checkins/held/{id}/{decision}", true, s.heldForm)
	s.api("GET", "/api/v1/checkins/held", s.apiHeld)
	s.api("POST", "/api/v1/checkins/held/{id}/release", s.apiHeldDecide(checkinRelease))
	s.api("POST", "/api/v1/checkins/held/{id}/reject", s.apiHeldDecide(checkinReject))
}

const (
	checkinRelease = "release"
	checkinReject  = "reject"
)

var heldPurpose = msg.Both("held.purpose")

func heldFilter(r *http.Request) (checkin.HeldFilter, error) {
	q := r.URL.Query()
	f := checkin.HeldFilter{Unit: q.Get("unit"), Status: q.Get("status")}
	var err error
	f.Limit, f.Offset, err = pageOf(r, 50)
	return f, err
}

func (s *Server) apiHeld(w http.ResponseWriter, r *http.Request) error {
	f, err := heldFilter(r)
	if err != nil {
		return err
	}
	list, err := s.Checkins.Held(r.Context(), auth.From(r.Context()), f, heldPurpose+" (API)")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, heldAnswer{Held: list})
	return nil
}

func (s *Server) decideHeld(r *http.Request, decision string) (int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, err
	}
	p := auth.From(r.Context())
	switch decision {
	case checkinRelease:
		return id, s.Checkins.Release(r.Context(), p, id)
	case checkinReject:
		return id, s.Checkins.Reject(r.Context(), p, id)
	}
	return 0, fmt.Errorf("held check-in decision %q: %w", decision, errs.ErrNotFound)
}

func (s *Server) apiHeldDecide(decision string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.decideHeld(r, decision)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, decisionAnswer{ID: id, Decision: decision})
		return nil
	}
}

// heldView is the review page.
type heldView struct {
	Items    []heldItem
	Filter   checkin.HeldFilter
	Units    []geo.Unit
	Statuses []option
	Back     string
	List     string // this list's path, the filter's action
	Done     string // the hold just decided
	Released bool   // and how
	Prev     string
	Next     string
}

// heldItem is a held check-in with its reason in the reader's language.
type heldItem struct {
	checkin.HeldScan
	Why string
}

// heldWhy explains a hold from its reason code and the figures kept with it.
func heldWhy(lang string, h checkin.HeldScan) string {
	d := map[string]string{}
	for _, kv := range strings.Fields(h.Details) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			d[k] = v
		}
	}
	switch {
	case h.Reason == checkin.ReasonSpeed && d["km"] != "":
		return msg.T(lang, "held.why.speed_km", d["km"], d["minutes"], d["from"], checkin.MaxSpeedKmh)
	case h.Reason == checkin.ReasonSpeed:
		return msg.T(lang, "held.why.speed_province", d["minutes"], d["from"])
	case h.Reason == checkin.ReasonDaily:
		return msg.T(lang, "held.why.daily", d["count"], checkin.DailyCap)
	case h.Reason == checkin.ReasonBurst:
		return msg.T(lang, "held.why.burst", d["count"], d["minutes"])
	}
	return h.Reason
}

func (s *Server) heldPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	f, err := heldFilter(r)
	if err != nil {
		return err
	}
	list, err := s.Checkins.Held(r.Context(), p, f, heldPurpose+" (page)")
	if err != nil {
		return err
	}
	lang := langOf(r)
	hv := heldView{Filter: f, List: "/checkins/held", Done: r.URL.Query().Get("done"), Released: r.URL.Query().Get("did") == checkinRelease,
		Statuses: []option{{checkin.HeldStatus, msg.T(lang, "held.status.held")}, {checkin.ReleasedStatus, msg.T(lang, "held.status.released")},
			{checkin.RejectedStatus, msg.T(lang, "held.status.rejected")}, {checkin.AllStatuses, msg.T(lang, "held.status.all")}}}
	if hv.Filter.Status == "" {
		hv.Filter.Status = checkin.HeldStatus
	}
	for _, h := range list {
		hv.Items = append(hv.Items, heldItem{h, heldWhy(lang, h)})
	}
	if u, ok := geo.Get(s.homeUnit(p)); ok && u.Level != "commune" {
		hv.Units = append([]geo.Unit{u}, geo.Children(u.Code)...)
	}
	back := r.URL.Query()
	back.Del("done")
	back.Del("did")
	hv.Back = back.Encode()
	page := func(offset int) string {
		q := r.URL.Query()
		q.Del("done")
		q.Del("did")
		q.Set("offset", strconv.Itoa(offset))
		return "/checkins/held?" + q.Encode()
	}
	if f.Offset > 0 {
		hv.Prev = page(max(f.Offset-f.Limit, 0))
	}
	if len(list) == f.Limit {
		hv.Next = page(f.Offset + f.Limit)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "held_checkins", hv)
	return nil
}

// heldForm releases or rejects from the page and returns to the same list.
func (s *Server) heldForm(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("held check-in form: %w", errs.ErrTooLarge)
	}
	decision := r.PathValue("decision")
	id, err := s.decideHeld(r, decision)
	if err != nil {
		return err
	}
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	back.Set("done", strconv.FormatInt(id, 10))
	back.Set("did", decision)
	http.Redirect(w, r, "/checkins/held?"+back.Encode(), http.StatusSeeOther)
	return nil
}
