package reports

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// stubMeetings answers with one meeting, and records the period asked.
type stubMeetings struct{ from, to time.Time }

func (m *stubMeetings) MinutesLinks(_ context.Context, from, to time.Time) ([]MeetingLink, error) {
	m.from, m.to = from, to
	return []MeetingLink{{Title: "Họp Ban Chỉ đạo tỉnh", Start: from.Add(time.Hour), Unit: "80", URL: "https://anticovid.longan.gov.vn/meetings/7"}}, nil
}

// The consolidated report carries the week's meetings with minutes, asked
// for the report's own period, and its PDF prints their links.
func TestConsolidatedMeetings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, &clock{t: week30.Deadline()})
		stub := &stubMeetings{}
		s.Meetings = stub
		cons, err := s.Consolidate(context.Background(), admin, week30)
		if err != nil {
			t.Fatal(err)
		}
		from, to := week30.Period()
		if len(cons.Meetings) != 1 || !stub.from.Equal(from) || !stub.to.Equal(to) {
			t.Fatalf("meetings %+v asked %v–%v", cons.Meetings, stub.from, stub.to)
		}
		var pdf bytes.Buffer
		if err := cons.PDF(&pdf); err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath("pdftotext"); err != nil {
			testenv.Skip(t, "pdftotext is not installed")
		}
		cmd := exec.Command("pdftotext", "-layout", "-", "-")
		cmd.Stdin = &pdf
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if text := string(out); !strings.Contains(text, "IV. Các cuộc họp trực tuyến") || !strings.Contains(text, "https://anticovid.longan.gov.vn/meetings/7") ||
			!strings.Contains(text, "Họp Ban Chỉ đạo tỉnh") {
			t.Errorf("pdf: %s", text[max(0, len(text)-600):])
		}
	})
}
