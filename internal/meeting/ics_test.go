package meeting

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"anticovid/internal/notify"
	"anticovid/internal/notify/smtpsink"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// property is one parsed content line of an iCalendar file.
type property struct {
	params map[string]string
	value  string
}

// parseICS reads an iCalendar file back (RFC 5545): CRLF line ends, lines
// of at most 75 octets, continuations unfolded, TEXT values unescaped. It
// returns the VEVENT's properties and the calendar's.
func parseICS(t *testing.T, raw []byte) (event, cal map[string]property) {
	t.Helper()
	s := string(raw)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("not CRLF lines: %q", s)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line cut inside a character: %q", l)
		}
		if strings.HasPrefix(l, " ") {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	event, cal = map[string]property{}, map[string]property{}
	into := cal
	unescape := strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)
	for _, l := range lines {
		head, value, ok := strings.Cut(l, ":")
		if strings.HasPrefix(head, "ORGANIZER;") { // the quoted CN holds no colon
			_, rest, _ := strings.Cut(l, `":`)
			head, value = l[:len(l)-len(rest)-1], rest
		}
		if !ok {
			t.Fatalf("no colon: %q", l)
		}
		parts := strings.Split(head, ";")
		p := property{params: map[string]string{}, value: unescape.Replace(value)}
		for _, kv := range parts[1:] {
			k, v, _ := strings.Cut(kv, "=")
			p.params[k] = strings.Trim(v, `"`)
		}
		switch {
		case l == "BEGIN:VEVENT":
			into = event
		case l == "END:VEVENT":
			into = cal
		}
		if _, dup := into[parts[0]]; dup && parts[0] != "BEGIN" && parts[0] != "END" {
			t.Errorf("%s twice", parts[0])
		}
		into[parts[0]] = p
	}
	return event, cal
}

// The calendar file has every field a calendar needs, times in UTC, the
// personal link that opens the room, and survives commas, semicolons,
// new lines and long Vietnamese text.
func TestCalendarFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		start := f.clock.t.Add(24 * time.Hour)
		agenda := "1. Đánh giá tình hình; 2. Triển khai quét mã QR, khai báo y tế\n3. Kế hoạch tuần tới: tăng cường kiểm tra \\ giám sát các chợ đầu mối trên địa bàn toàn tỉnh"
		m, err := f.s.Schedule(ctx, f.users["admin"], Input{Title: "Họp BCĐ, tuần 32; trực tuyến", Agenda: agenda,
			Start: start, End: start.Add(90 * time.Minute), AllBelow: true})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := f.s.Calendar(ctx, f.users["benluc"], m.ID)
		if err != nil {
			t.Fatal(err)
		}
		ev, cal := parseICS(t, raw)
		if cal["VERSION"].value != "2.0" || cal["PRODID"].value == "" || cal["BEGIN"].value != "VCALENDAR" {
			t.Errorf("calendar %v", cal)
		}
		link := f.s.Link(m, f.users["benluc"].UserID)
		want := map[string]string{
			"UID":     fmt.Sprintf("meeting-%d@anticovid.longan.gov.vn", m.ID),
			"DTSTAMP": "20210809T010000Z", "DTSTART": "20210810T010000Z", "DTEND": "20210810T023000Z",
			"SUMMARY": "Họp BCĐ, tuần 32; trực tuyến", "URL": link, "ORGANIZER": "mailto:noreply@anticovid.longan.gov.vn",
		}
		for k, v := range want {
			if ev[k].value != v {
				t.Errorf("%s = %q, want %q", k, ev[k].value, v)
			}
		}
		if cn := ev["ORGANIZER"].params["CN"]; cn != "Tỉnh Long An" {
			t.Errorf("organiser %q", cn)
		}
		if d := ev["DESCRIPTION"].value; !strings.HasPrefix(d, agenda+"\n") || !strings.Contains(d, link) {
			t.Errorf("description %q", d)
		}
		for _, k := range []string{"DTSTART", "DTEND", "DTSTAMP"} {
			if _, err := time.Parse("20060102T150405Z", ev[k].value); err != nil {
				t.Errorf("%s: %v", k, err)
			}
		}
		f.clock.t = m.Start
		if u, err := f.s.Join(ctx, m.ID, token(ev["URL"].value)); err != nil || u == "" {
			t.Errorf("the file's link: %v", err)
		}
		// A supervisor who is not invited gets the page, not a link.
		other, err := f.s.Schedule(ctx, f.users["benluc"], Input{Title: "Họp huyện", Start: f.clock.t.Add(time.Hour), End: f.clock.t.Add(2 * time.Hour), Communes: []string{"27994"}})
		if err != nil {
			t.Fatal(err)
		}
		raw, err = f.s.Calendar(ctx, f.users["admin"], other.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev, _ := parseICS(t, raw); ev["URL"].value != fmt.Sprintf("https://anticovid.longan.gov.vn/meetings/%d", other.ID) {
			t.Errorf("supervisor's URL %q", ev["URL"].value)
		}
	})
}

// Folding never passes 75 octets nor splits a character, whatever the mix
// of one- to four-byte characters.
func TestFold(t *testing.T) {
	for _, s := range []string{strings.Repeat("a", 200), strings.Repeat("ệ", 100), strings.Repeat("a𝄞ệ", 50), "x"} {
		var b strings.Builder
		fold(&b, "SUMMARY:"+s)
		ev, _ := parseICS(t, []byte("BEGIN:VEVENT\r\n"+b.String()+"END:VEVENT\r\n"))
		if ev["SUMMARY"].value != s {
			t.Errorf("unfolded %q", ev["SUMMARY"].value)
		}
	}
}

// An invitation email sent through a real SMTP server carries the text
// with the link and the calendar file as a text/calendar attachment.
func TestInvitationEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		sink := smtpsink.Start(t, smtpsink.Options{Mode: smtpsink.Plain, User: "hop", Password: "mat-khau"})
		smtp, err := notify.ParseSMTPURL("smtp://hop:mat-khau@" + sink.Addr + "?from=bcd@longan.gov.vn&tls=none")
		if err != nil {
			t.Fatal(err)
		}
		f.s.From = smtp.From
		f.s.Outbox.Senders[notify.Email] = &InviteMailer{SMTP: smtp, Meetings: f.s}
		if _, err := f.s.SetContact(ctx, f.users["tanan"], Contact{Email: "tanan@longan.gov.vn"}); err != nil {
			t.Fatal(err)
		}
		m := f.schedule(t)
		if sent, failed, err := f.s.Outbox.Deliver(ctx); sent != 1 || failed != 0 || err != nil {
			t.Fatalf("sent %d failed %d: %v", sent, failed, err)
		}
		got := sink.Received()
		if len(got) != 1 || got[0].To[0] != "tanan@longan.gov.vn" {
			t.Fatalf("received %+v", got)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		r := multipart.NewReader(msg.Body, params["boundary"])
		var text string
		var cal []byte
		for {
			part, err := r.NextPart() // decodes quoted-printable; base64 below
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(part)
			ct := part.Header.Get("Content-Type")
			if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
				body, _ = decodeBase64(body)
			}
			switch {
			case strings.HasPrefix(ct, "text/calendar"):
				cal = body
				if part.FileName() != "cuoc-hop.ics" || !strings.Contains(ct, "method=PUBLISH") {
					t.Errorf("attachment %q %q", part.FileName(), ct)
				}
			case strings.HasPrefix(ct, "text/plain"):
				text = string(body)
			}
		}
		link := f.s.Link(m, f.users["tanan"].UserID)
		if !strings.Contains(text, link) || !strings.Contains(text, "Tỉnh Long An trân trọng kính mời") {
			t.Errorf("text %q", text)
		}
		ev, _ := parseICS(t, cal)
		if ev["URL"].value != link || ev["ORGANIZER"].value != "mailto:bcd@longan.gov.vn" {
			t.Errorf("calendar %v", ev)
		}
	})
}

func decodeBase64(b []byte) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
}
