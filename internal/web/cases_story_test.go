package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestCaseTellsOneStory builds the case the walk-through found: an F0 who
// scanned in and out of a market within one minute, and a neighbour who
// scanned in ten minutes earlier and never out, with the national app's
// within-an-hour rule on. Every figure on the case's page and in the API
// must come from the same times: each contact's evidence names one of the
// F0's shown stays with its shown times, the overlap is what those times
// share (one minute, not the default stay's 59), and the window asks for
// the isolation date instead of running to now; once entered, it ends there.
func TestCaseTellsOneStory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) { caseTellsOneStory(t, db) })
}

func caseTellsOneStory(t *testing.T, db *sqldb.DB) {
	e := newEnv(t, db)
	f := newTraceFixture(t, e)
	f.visit(t, "t-f0-quick", "0911000001", "Chợ Bến Lức", 3, 1)
	f.visit(t, "t-hanh-before", "0911000002", "Chợ Bến Lức", 3+10.0/60, -1)
	f.visit(t, "t-f0-no-out", "0911000001", "Trường THCS Thạnh Lợi", 30, -1)
	f.visit(t, "t-f0-late", "0911000001", "Chợ Bến Lức", 0.1, 5)
	f.visit(t, "t-yen-late", "0911000004", "Chợ Bến Lức", 0.1, 20)
	if code, body := e.do("PUT", "/api/v1/tracing/rules", "admin", map[string]any{"min_overlap_minutes": 5, "within_hour": true}); code != 200 {
		t.Fatalf("rules: %d %s", code, body)
	}
	code, body := e.do("POST", "/api/v1/cases", "tracera", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0",
		"sample_date": day(f.now, 1), "onset_date": day(f.now, 2)})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var c struct{ ID int64 }
	json.Unmarshal([]byte(body), &c)

	type stay struct {
		VenueID   int64     `json:"venue_id"`
		In        time.Time `json:"in"`
		Out       time.Time `json:"out"`
		Estimated bool      `json:"estimated"`
	}
	var detail struct {
		Story struct {
			Window  struct{ From, To time.Time } `json:"infectious_window"`
			OpenEnd bool                         `json:"window_open_end"`
			Stays   []stay                       `json:"stays"`
		} `json:"story"`
	}
	read := func() {
		t.Helper()
		code, body := e.do("GET", fmt.Sprintf("/api/v1/cases/%d", c.ID), "tracera", nil)
		if code != 200 {
			t.Fatalf("case: %d %s", code, body)
		}
		detail.Story.Stays, detail.Story.OpenEnd = nil, false
		if err := json.Unmarshal([]byte(body), &detail); err != nil {
			t.Fatal(err)
		}
	}
	read()
	onset, _ := time.ParseInLocation("2006-01-02", day(f.now, 2), hcm)
	if st := detail.Story; !st.Window.From.Equal(onset.Add(-48*time.Hour)) || !st.OpenEnd || len(st.Stays) != 5 {
		t.Fatalf("story: %+v", st)
	}
	var quick stay
	for _, s := range detail.Story.Stays {
		if s.In.Equal(f.now.Add(-3 * time.Hour)) {
			quick = s
		}
	}
	if quick.Out.Sub(quick.In) != time.Minute || quick.Estimated {
		t.Fatalf("the one-minute visit: %+v", quick)
	}

	// Each contact's evidence is one of the shown stays, and its overlap
	// is the sum of what the evidence shares.
	code, body = e.do("GET", fmt.Sprintf("/api/v1/cases/%d/contacts?evidence=1", c.ID), "tracera", nil)
	if code != 200 {
		t.Fatalf("contacts: %d %s", code, body)
	}
	var contacts struct {
		Contacts []struct {
			Phone          *string `json:"phone"`
			OverlapMinutes int64   `json:"overlap_minutes"`
			Evidence       []struct {
				VenueID    int64     `json:"venue_id"`
				IndexIn    time.Time `json:"index_in"`
				IndexOut   time.Time `json:"index_out"`
				IndexNoOut bool      `json:"index_no_checkout"`
				From       time.Time `json:"shared_from"`
				To         time.Time `json:"shared_to"`
			} `json:"evidence"`
		} `json:"contacts"`
	}
	json.Unmarshal([]byte(body), &contacts)
	hanh := -1
	for i, ct := range contacts.Contacts {
		var shared time.Duration
		for _, ev := range ct.Evidence {
			found := false
			for _, s := range detail.Story.Stays {
				if s.VenueID == ev.VenueID && s.In.Equal(ev.IndexIn) && s.Out.Equal(ev.IndexOut) && s.Estimated == ev.IndexNoOut {
					found = true
				}
			}
			if !found {
				t.Errorf("evidence %+v is none of the shown stays %+v", ev, detail.Story.Stays)
			}
			if ev.From.Before(ev.IndexIn) || ev.To.After(ev.IndexOut) {
				t.Errorf("shared time %v–%v outside the F0's stay %v–%v", ev.From, ev.To, ev.IndexIn, ev.IndexOut)
			}
			shared += ev.To.Sub(ev.From)
		}
		if int64(shared/time.Minute) != ct.OverlapMinutes {
			t.Errorf("contact overlap %d min, evidence shares %v", ct.OverlapMinutes, shared)
		}
		if ct.Phone != nil && *ct.Phone == "0911000002" {
			hanh = i
		}
	}
	if hanh < 0 {
		t.Fatalf("Hạnh is not a contact: %s", body)
	}
	// Hạnh: 45 minutes at the market the day before, and one minute (not
	// the 59 of the default stay) with the quick visit.
	if got := contacts.Contacts[hanh].OverlapMinutes; got != 46 {
		t.Errorf("Hạnh's overlap: %d minutes, want 45 + 1", got)
	}

	// The page shows those same figures, and asks for the isolation date.
	tracer := e.browser(t, "tracera")
	caseURL := fmt.Sprintf("%s/cases/%d", e.srv.URL, c.ID)
	_, page := get(t, tracer, caseURL)
	for _, want := range []string{`id="window-open"`, `id="isolation"`, "Các lần đến địa điểm", "(ước tính)", "46 phút"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	rows := regexp.MustCompile(`data-in="(\d+)" data-out="(\d+)">\s*<td>[^<]*</td><td>[^<]*</td><td>[^<]*(?:<span[^>]*>[^<]*</span>)?</td><td>(\d+)</td>`).FindAllStringSubmatch(page, -1)
	if len(rows) != len(detail.Story.Stays) {
		t.Fatalf("page shows %d stays, the API %d", len(rows), len(detail.Story.Stays))
	}
	for _, m := range rows {
		in, _ := strconv.ParseInt(m[1], 10, 64)
		out, _ := strconv.ParseInt(m[2], 10, 64)
		if mins, _ := strconv.ParseInt(m[3], 10, 64); mins != (out-in)/60 {
			t.Errorf("a stay of %d s shown as %d minutes", out-in, mins)
		}
	}

	// Entering the isolation date closes the window there; contacts met
	// only after it leave the follow-up, saying why; the history says who.
	iso := day(f.now, 0)
	isoDay, _ := time.ParseInLocation("2006-01-02", iso, hcm)
	var after int
	e.db.R.QueryRow("SELECT count(*) FROM contacts WHERE case_id = $1 AND closed = 0 AND first_shared >= $2", c.ID, isoDay.Unix()).Scan(&after)
	if f.now.Sub(isoDay) > 10*time.Minute && after == 0 {
		t.Fatal("no contact met after today's midnight to test with")
	}
	resp, err := tracer.PostForm(caseURL+"/isolation", url.Values{"isolation_start": {iso}, "isolation_kind": {"home"}})
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.RawQuery, "msg=isolation") {
		t.Fatalf("isolation: %v %v", err, resp)
	}
	resp.Body.Close()
	read()
	isoStart, _ := time.ParseInLocation("2006-01-02", iso, hcm)
	if st := detail.Story; st.OpenEnd || !st.Window.To.Equal(isoStart) {
		t.Errorf("after the isolation date: %+v", st)
	}
	for _, s := range detail.Story.Stays {
		if !s.In.Before(isoStart) {
			t.Errorf("a stay after isolation is in the story: %+v", s)
		}
	}
	if _, page = get(t, tracer, caseURL); strings.Contains(page, `id="isolation"`) || strings.Contains(page, `id="window-open"`) || !strings.Contains(page, "Ngày bắt đầu cách ly: "+isoDay.Format("02/01/2006")) {
		t.Error("the page still asks for the isolation date, or its history does not say it was set")
	}
	var open, outside int
	e.db.R.QueryRow("SELECT count(*) FROM contacts WHERE case_id = $1 AND closed = 0 AND first_shared >= $2", c.ID, isoDay.Unix()).Scan(&open)
	e.db.R.QueryRow("SELECT count(*) FROM contacts WHERE case_id = $1 AND outcome = 'out_of_window'", c.ID).Scan(&outside)
	if open != 0 || outside != after {
		t.Errorf("after isolation: %d contacts still followed past it, %d closed as outside the window (of %d)", open, outside, after)
	}
	// A second entry with the date alone keeps the kind recorded.
	if code, body := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/isolation", c.ID), "tracera", map[string]any{"isolation_start": iso}); code != 200 || !strings.Contains(body, `"isolation_kind":"home"`) {
		t.Errorf("date alone: %d %s", code, body)
	}
	// Officers of another commune, Police and venue managers may not set it.
	for _, u := range []string{"communeb", "managera", "tanan"} {
		if code, _ := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/isolation", c.ID), u, map[string]any{"isolation_start": iso}); code != 403 {
			t.Errorf("%s set the isolation date: %d", u, code)
		}
	}

	// A bad date is a clear error; another commune's officer cannot set it.
	if code, body := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/isolation", c.ID), "tracera", map[string]any{"isolation_start": "2020-13-40"}); code != 400 || !strings.Contains(body, `"isolation_start"`) {
		t.Errorf("bad date: %d %s", code, body)
	}
	if code, body := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/isolation", c.ID), "tracera", map[string]any{"isolation_start": day(f.now, 10)}); code != 400 || !strings.Contains(body, `"isolation_start"`) {
		t.Errorf("isolation before the window: %d %s", code, body)
	}
}
