package meeting

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
)

// hcm is Vietnam's time, in which invitations state the meeting's time.
var hcm = time.FixedZone("ICT", 7*3600)

func localTime(t time.Time) string { return t.In(hcm).Format("15:04 02/01/2006") }

func unitName(code string) string {
	if u, ok := geo.Get(code); ok {
		return u.Name
	}
	return code
}

// invite queues each invitee's invitation: an email (the calendar file is
// attached when it is sent, see InviteMailer) and an SMS to the addresses
// the official gave. The dedup key names meeting, user and channel, so a
// retry queues nothing twice. Invitees without an address see the meeting
// on the site.
func (s *Service) invite(ctx context.Context, m Meeting) (int, error) {
	if s.Outbox == nil {
		return 0, nil
	}
	_, inv, err := s.load(ctx, m.ID)
	if err != nil {
		return 0, err
	}
	ids := make([]int64, len(inv))
	for k, i := range inv {
		ids[k] = i.UserID
	}
	contacts, err := s.Contacts(ctx, ids)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, i := range inv {
		c := contacts[i.UserID]
		link := s.Link(m, i.UserID)
		for _, mm := range []notify.Message{
			{Channel: notify.Email, To: c.Email, Kind: notify.KindMeeting, Subject: msg.T("vi", "meeting.invite.subject", m.Title, localTime(m.Start)),
				Body: msg.T("vi", "meeting.invite.email", unitName(m.Unit), m.Title, localTime(m.Start), localTime(m.End), m.Agenda, link,
					fmt.Sprintf("%s/meetings/%d", s.BaseURL, m.ID), localTime(m.End.Add(LinkGrace)))},
			{Channel: notify.SMS, To: c.Phone, Kind: notify.KindMeeting, Body: msg.T("vi", "meeting.invite.sms", unitName(m.Unit), localTime(m.Start), link)},
		} {
			if mm.To == "" {
				continue
			}
			mm.DedupKey = fmt.Sprintf("meeting:%d:%d:%s", m.ID, i.UserID, mm.Channel)
			ok, err := s.Outbox.Enqueue(ctx, mm)
			if err != nil {
				return queued, fmt.Errorf("meeting invitation: %w", err)
			}
			if ok {
				queued++
			}
		}
	}
	return queued, nil
}

// Calendar is an invitee's calendar file of a meeting (the personal link in
// it), for whoever may see the meeting; a supervisor who is not invited
// gets the meeting's page instead of a link.
func (s *Service) Calendar(ctx context.Context, p *auth.Principal, id int64) ([]byte, error) {
	v, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.ics(v.Meeting, v.Me), nil
}

// calendarFor is the calendar file an invitation email carries.
func (s *Service) calendarFor(ctx context.Context, id, userID int64) ([]byte, error) {
	m, inv, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	for k := range inv {
		if inv[k].UserID == userID {
			return s.ics(m, &inv[k]), nil
		}
	}
	return nil, fmt.Errorf("meeting calendar: not invited: %w", errs.ErrNotFound)
}

// ics writes an iCalendar file (RFC 5545) with the meeting as one VEVENT:
// times in UTC, the personal link in DESCRIPTION and URL, lines folded at
// 75 octets.
func (s *Service) ics(m Meeting, me *Invitee) []byte {
	host := "anticovid"
	if u, err := url.Parse(s.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	page := fmt.Sprintf("%s/meetings/%d", s.BaseURL, m.ID)
	link := page
	if me != nil {
		link = s.Link(m, me.UserID)
	}
	desc := msg.T("vi", "meeting.ics.description", m.Agenda, link, page)
	from := s.From
	if from == "" {
		from = "noreply@" + host
	}
	const stamp = "20060102T150405Z"
	var b strings.Builder
	line := func(name, value string) { fold(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//anticovid//meetings//VI")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("BEGIN", "VEVENT")
	line("UID", "meeting-"+strconv.FormatInt(m.ID, 10)+"@"+host)
	line("DTSTAMP", m.CreatedAt.UTC().Format(stamp))
	line("DTSTART", m.Start.UTC().Format(stamp))
	line("DTEND", m.End.UTC().Format(stamp))
	line("SUMMARY", escapeText(m.Title))
	line("DESCRIPTION", escapeText(desc))
	line("URL", link)
	line("LOCATION", escapeText(msg.T("vi", "meeting.ics.location")))
	fold(&b, `ORGANIZER;CN="`+strings.ReplaceAll(unitName(m.Unit), `"`, "")+`":mailto:`+from)
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// escapeText escapes an iCalendar TEXT value (RFC 5545 3.3.11).
func escapeText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// fold writes one content line, folded so no line passes 75 octets
// (continuations start with a space), never inside a UTF-8 character.
func fold(b *strings.Builder, l string) {
	limit := 75
	for len(l) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		b.WriteString(l[:cut])
		b.WriteString("\r\n ")
		l = l[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(l)
	b.WriteString("\r\n")
}

// InviteMailer is the outbox's email sender: a meeting invitation goes out
// with its calendar file attached (made when it is sent, from the stored
// meeting), any other email as it is.
type InviteMailer struct {
	SMTP     *notify.SMTP
	Meetings *Service
}

// Send implements notify.Sender.
func (im *InviteMailer) Send(ctx context.Context, m notify.Message) error {
	if m.Kind != notify.KindMeeting || m.Channel != notify.Email {
		return im.SMTP.Send(ctx, m)
	}
	parts := strings.Split(m.DedupKey, ":")
	var id, user int64
	var err1, err2 error
	if len(parts) == 4 {
		id, err1 = strconv.ParseInt(parts[1], 10, 64)
		user, err2 = strconv.ParseInt(parts[2], 10, 64)
	}
	if len(parts) != 4 || err1 != nil || err2 != nil {
		return notify.Permanent(fmt.Errorf("meeting invitation: bad key"))
	}
	cal, err := im.Meetings.calendarFor(ctx, id, user)
	if err != nil {
		return notify.Permanent(err)
	}
	return im.SMTP.SendAttachments(ctx, m.To, m.Subject, m.Body, []notify.Attachment{
		{Name: "cuoc-hop.ics", ContentType: "text/calendar; charset=utf-8; method=PUBLISH", Data: cal}})
}
