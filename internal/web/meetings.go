package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/meeting"
	"anticovid/internal/msg"
)

// routesMeetings registers the online meetings: the list with the schedule
// form, a meeting's page (attendance, minutes, calendar file), the personal
// join links, and the conferencing system's attendance reports.
func (s *Server) routesMeetings() {
	if s.Meetings == nil {
		return
	}
	s.page("GET /meetings", true, s.meetingsPage)
	s.page("POST /meetings", true, s.meetingSchedulePage)
	s.page("POST /meetings/contact", true, s.meetingContactPage)
	s.page("GET /meetings/{id}", true, s.meetingPage)
	s.page("POST /meetings/{id}/attendance", true, s.meetingAttendancePage)
	s.page("POST /meetings/{id}/minutes", true, s.meetingMinutesPage)
	s.page("GET /meetings/{id}/file", true, s.meetingFile)
	s.page("GET /meetings/{id}/calendar.ics", true, s.meetingCalendar)
	s.page("GET /meetings/{id}/join/{token}", false, s.meetingJoin)
	s.api("GET", "/api/v1/meetings", s.apiMeetings)
	s.api("POST", "/api/v1/meetings", s.apiScheduleMeeting)
	s.api("GET", "/api/v1/meetings/{id}", s.apiMeeting)
	s.api("PUT", "/api/v1/meetings/{id}/attendance/{user}", s.apiMeetingAttendance)
	s.api("PUT", "/api/v1/meetings/{id}/minutes", s.apiMeetingMinutes)
	s.api("PUT", "/api/v1/meetings/contact", s.apiMeetingContact)
	s.api("POST", "/api/v1/meetings/webhook", s.apiMeetingWebhook)
}

// communeGroup is a district's communes in the schedule form.
type communeGroup struct {
	District geo.Unit
	Communes []geo.Unit
}

func meetingCommunes(org string) []communeGroup {
	u, _ := geo.Get(org)
	if u.Level == "district" {
		return []communeGroup{{District: u, Communes: geo.Children(org)}}
	}
	var out []communeGroup
	for _, d := range geo.Children(org) {
		out = append(out, communeGroup{District: d, Communes: geo.Children(d.Code)})
	}
	return out
}

func (s *Server) renderMeetings(w http.ResponseWriter, r *http.Request, status int, in meeting.Input, fields map[string]string) error {
	p := auth.From(r.Context())
	list, err := s.Meetings.List(r.Context(), p)
	if err != nil {
		return err
	}
	var upcoming, past []meeting.Meeting
	now := time.Now()
	for _, m := range list {
		if m.End.Add(meeting.LinkGrace).After(now) {
			upcoming = append([]meeting.Meeting{m}, upcoming...) // soonest first
		} else {
			past = append(past, m)
		}
	}
	contacts, err := s.Meetings.Contacts(r.Context(), []int64{p.UserID})
	if err != nil {
		return err
	}
	l := lang(w, r)
	shown := map[string]string{}
	for k, v := range fields {
		shown[k] = msg.Local(l, v)
	}
	data := map[string]any{"Upcoming": upcoming, "Past": past, "Configured": s.Meetings.Provider != nil,
		"Contact": contacts[p.UserID], "Saved": r.URL.Query().Get("contact") == "1", "Errors": shown, "Form": in}
	if org, ok := s.Meetings.Organiser(p); ok {
		u, _ := geo.Get(org)
		data["Organiser"], data["Level"], data["Groups"] = u, u.Level, meetingCommunes(org)
		chosen := map[string]bool{}
		for _, c := range in.Communes {
			chosen[c] = true
		}
		data["Chosen"] = chosen
		if in.Start.IsZero() { // tomorrow 08:00–10:00
			y, mo, d := now.In(hcm).AddDate(0, 0, 1).Date()
			in.Start = time.Date(y, mo, d, 8, 0, 0, 0, hcm)
			in.End = in.Start.Add(2 * time.Hour)
		}
		data["Date"], data["From"], data["To"] = in.Start.In(hcm).Format("2006-01-02"), in.Start.In(hcm).Format("15:04"), in.End.In(hcm).Format("15:04")
	}
	s.render(w, r, status, "meetings", data)
	return nil
}

func (s *Server) meetingsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderMeetings(w, r, http.StatusOK, meeting.Input{AllBelow: true}, nil)
}

// meetingTimes reads the form's date and start and end times, in Vietnam.
func meetingTimes(r *http.Request) (start, end time.Time, fields map[string]string) {
	fields = map[string]string{}
	day, err := time.ParseInLocation("2006-01-02", r.PostFormValue("date"), hcm)
	if err != nil {
		fields["start"] = msg.Both("meeting.start_needed")
		return
	}
	clock := func(v string) (time.Duration, bool) {
		t, err := time.Parse("15:04", v)
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, err == nil
	}
	from, ok1 := clock(r.PostFormValue("from"))
	to, ok2 := clock(r.PostFormValue("to"))
	if !ok1 || !ok2 {
		fields["start"] = msg.Both("meeting.start_needed")
		return
	}
	return day.Add(from), day.Add(to), nil
}

func (s *Server) meetingSchedulePage(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("meeting form: %w", errs.ErrTooLarge)
	}
	in := meeting.Input{Title: r.PostFormValue("title"), Agenda: r.PostFormValue("agenda"), AllBelow: r.PostFormValue("all_below") == "1",
		Communes: r.PostForm["communes"]}
	var fields map[string]string
	in.Start, in.End, fields = meetingTimes(r)
	if fields == nil {
		m, err := s.Meetings.Schedule(r.Context(), auth.From(r.Context()), in)
		if err == nil {
			http.Redirect(w, r, fmt.Sprintf("/meetings/%d?created=1", m.ID), http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, errs.ErrInvalid) {
			return err
		}
		fields = errs.FieldsOf(err)
	}
	return s.renderMeetings(w, r, http.StatusBadRequest, in, fields)
}

func (s *Server) meetingContactPage(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("meeting contact: %w", errs.ErrTooLarge)
	}
	in := meeting.Contact{Email: r.PostFormValue("email"), Phone: r.PostFormValue("phone")}
	if _, err := s.Meetings.SetContact(r.Context(), auth.From(r.Context()), in); err != nil {
		return err
	}
	http.Redirect(w, r, "/meetings?contact=1", http.StatusSeeOther)
	return nil
}

func (s *Server) meetingPage(w http.ResponseWriter, r *http.Request) error {
	v, err := byID(r, s.Meetings.Get)
	if err != nil {
		return err
	}
	data := map[string]any{"M": v, "Configured": s.Meetings.Provider != nil, "Created": r.URL.Query().Get("created") == "1",
		"Saved": r.URL.Query().Get("saved") == "1", "Open": time.Now().Before(v.End.Add(meeting.LinkGrace))}
	if v.Me != nil {
		data["Join"] = s.Meetings.Link(v.Meeting, v.Me.UserID)
	}
	attended := 0
	for _, i := range v.Invitees {
		if i.Attended != nil && *i.Attended {
			attended++
		}
	}
	data["Attended"] = attended
	s.render(w, r, http.StatusOK, "meetings_detail", data)
	return nil
}

func (s *Server) meetingAttendancePage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("attendance form: %w", errs.ErrTooLarge)
	}
	user, _ := strconv.ParseInt(r.PostFormValue("user"), 10, 64)
	if err := s.Meetings.MarkAttendance(r.Context(), auth.From(r.Context()), id, user, r.PostFormValue("attended") == "1"); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/meetings/%d#attendance", id), http.StatusSeeOther)
	return nil
}

func (s *Server) meetingMinutesPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseMultipartForm(meeting.MaxFile); err != nil {
		return fmt.Errorf("minutes form: %w", errs.ErrTooLarge)
	}
	var file *meeting.File
	if f, h, err := r.FormFile("file"); err == nil {
		data, err := io.ReadAll(io.LimitReader(f, meeting.MaxFile+1))
		f.Close()
		if err != nil {
			return fmt.Errorf("minutes file: %w", errs.ErrTooLarge)
		}
		file = &meeting.File{Name: h.Filename, Data: data}
	}
	if err := s.Meetings.SetMinutes(r.Context(), auth.From(r.Context()), id, r.PostFormValue("minutes"), r.PostFormValue("decisions"), file); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/meetings/%d?saved=1#minutes", id), http.StatusSeeOther)
	return nil
}

func (s *Server) meetingFile(w http.ResponseWriter, r *http.Request) error {
	f, err := byID(r, s.Meetings.Attachment)
	if err != nil {
		return err
	}
	sendDownload(w, f.Type, "attachment", f.Name, f.Data)
	return nil
}

func (s *Server) meetingCalendar(w http.ResponseWriter, r *http.Request) error {
	cal, err := byID(r, s.Meetings.Calendar)
	if err != nil {
		return err
	}
	sendDownload(w, "text/calendar; charset=utf-8", "attachment", "cuoc-hop-"+r.PathValue("id")+".ics", cal)
	return nil
}

// meetingJoin follows a personal link to the conferencing system; a link
// that is forged, expired or early gets a page that says so.
func (s *Server) meetingJoin(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the path
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	target, err := s.Meetings.Join(r.Context(), id, r.PathValue("token"))
	if err == nil {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
	l := lang(w, r)
	var notOpen *meeting.NotOpen
	status, key, args := http.StatusForbidden, "meeting.link.bad", []any{}
	switch {
	case errors.Is(err, meeting.ErrLinkExpire):
		status, key = http.StatusGone, "meeting.link.expired"
	case errors.As(err, &notOpen):
		status, key, args = http.StatusConflict, "meeting.link.early", []any{localTimeOf(notOpen.Opens)}
	case errors.Is(err, meeting.ErrNoProvider):
		status, key = http.StatusServiceUnavailable, "meeting.none_configured"
	case !errors.Is(err, meeting.ErrBadLink):
		return err
	}
	s.render(w, r, status, "meetings_link", map[string]any{"Message": msg.T(l, key, args...), "Status": status})
	return nil
}

func localTimeOf(t time.Time) string { return t.In(hcm).Format("15:04 02/01/2006") }

func (s *Server) apiMeetings(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Meetings.List(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meetingsAnswer{Meetings: list, Configured: s.Meetings.Provider != nil})
	return nil
}

func (s *Server) apiScheduleMeeting(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusCreated, s.Meetings.Schedule)
}

func (s *Server) apiMeeting(w http.ResponseWriter, r *http.Request) error {
	v, err := byID(r, s.Meetings.Get)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) apiMeetingAttendance(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	user, err := pathID(r, "user")
	if err != nil {
		return err
	}
	var in attendanceInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Meetings.MarkAttendance(r.Context(), auth.From(r.Context()), id, user, in.Attended); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiMeetingMinutes(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in minutesInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Meetings.SetMinutes(r.Context(), auth.From(r.Context()), id, in.Minutes, in.Decisions, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiMeetingContact(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusOK, s.Meetings.SetContact)
}

func (s *Server) apiMeetingWebhook(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("meeting report: %w", errs.ErrTooLarge)
	}
	if err := s.Meetings.Apply(r.Context(), r.Header, body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
