package press

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"anticovid/internal/dashboard"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// event is n events of a metric in a commune at a time.
type event struct {
	commune, metric string
	at              time.Time
	n               int64
}

type fakeHourly []event

func (fakeHourly) Metrics() []string {
	return []string{dashboard.Checkins, dashboard.Declarations, dashboard.F0}
}

func (f fakeHourly) CountRange(_ context.Context, from, to time.Time) ([]dashboard.Count, error) {
	var out []dashboard.Count
	for _, e := range f {
		if !e.at.Before(from) && e.at.Before(to) {
			out = append(out, dashboard.Count{Commune: e.commune, Metric: e.metric, N: e.n})
		}
	}
	return out, nil
}

type fakeGauges []dashboard.Count

func (fakeGauges) Metrics() []string {
	return []string{dashboard.BluezoneInstalls, dashboard.SmartphoneUsers}
}

func (f fakeGauges) Gauges(context.Context, time.Time) ([]dashboard.Count, error) { return f, nil }

// releaseFixture is a press service over a dashboard counted from known
// events: Bến Lức (803) busy, Tân An (794) with one declaration and one
// case, counts the public map hides.
func releaseFixture(t *testing.T, db *sqldb.DB) (*Service, *dashboard.Service) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	log := slog.New(slog.DiscardHandler)
	d := dashboard.New(db, "80", log)
	d.Threshold = 3
	d.Now = func() time.Time { return now }
	h := func(ago time.Duration) time.Time { return now.Add(-ago) }
	d.Hourly = []dashboard.HourlySource{fakeHourly{
		{"27991", dashboard.Checkins, h(2 * time.Hour), 40}, {"27994", dashboard.Checkins, h(30 * time.Hour), 2},
		{"27685", dashboard.Checkins, h(3 * time.Hour), 10}, {"27991", dashboard.Checkins, h(9 * 24 * time.Hour), 1000}, // before the week
		{"27991", dashboard.Declarations, h(5 * time.Hour), 5}, {"27685", dashboard.Declarations, h(5 * time.Hour), 1},
		{"27991", dashboard.F0, h(2 * time.Hour), 4}, {"27991", dashboard.F0, h(50 * time.Hour), 3}, {"27685", dashboard.F0, h(3 * time.Hour), 1},
	}}
	d.Gauges = append(d.Gauges, fakeGauges{{Commune: "27991", Metric: dashboard.BluezoneInstalls, N: 600}, {Commune: "27991", Metric: dashboard.SmartphoneUsers, N: 1000},
		{Commune: "27685", Metric: dashboard.BluezoneInstalls, N: 250}, {Commune: "27685", Metric: dashboard.SmartphoneUsers, N: 1000}})
	if err := d.Backfill(ctx, 14); err != nil {
		t.Fatal(err)
	}
	if err := d.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := newService(db)
	s.Dash, s.Now = d, d.Now
	return s, d
}

// The draft's figures are the dashboard's, with every small count hidden
// exactly where dashboard.PublicCounts and the public map hide it; the
// snapshot holds no hidden number.
func TestReleaseFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, d := releaseFixture(t, db)
		r, err := s.Draft(ctx, who["admin"], false)
		if err != nil {
			t.Fatal(err)
		}
		f := r.Figures
		row := map[string]Row{"80": f.Province}
		for _, x := range f.Districts {
			row[x.Code] = x
		}
		if len(f.Districts) != 15 {
			t.Fatalf("%d districts", len(f.Districts))
		}
		eq := func(what string, got *int64, want int64) {
			t.Helper()
			if got == nil || *got != want {
				t.Errorf("%s = %s, want %d", what, Num(got), want)
			}
		}
		hidden := func(what string, got *int64) {
			t.Helper()
			if got != nil {
				t.Errorf("%s = %d, want hidden", what, *got)
			}
		}
		eq("province check-ins", f.Province.Checkins, 52)
		eq("Bến Lức check-ins", row["803"].Checkins, 42)
		eq("Tân An check-ins", row["794"].Checkins, 10)
		eq("province declarations", f.Province.Declarations, 6)
		hidden("Tân An declarations (1)", row["794"].Declarations)
		hidden("Bến Lức declarations (its complement)", row["803"].Declarations)
		eq("province installs", f.Province.BluezoneInstalls, 850)
		if p := Pct(row["803"].BluezonePct); p != "60,0%" {
			t.Errorf("Bến Lức Bluezone %s", p)
		}
		eq("province F0 14 days", f.Province.F0Days14, 8)
		hidden("Tân An F0 (1)", row["794"].F0Days14)
		// the same cells as the dashboard's own suppression and map
		decl := d.PublicCounts(map[string]int64{"80": 6, "803": 5, "794": 1})
		pm, err := d.BuildPublic(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range pm.Districts {
			if (row[u.Code].F0Days14 == nil) != u.F0Days14.Hidden {
				t.Errorf("%s F0: release %s, map hidden %v", u.Code, Num(row[u.Code].F0Days14), u.F0Days14.Hidden)
			}
			if (row[u.Code].Declarations == nil) != (decl[u.Code].Hidden) && decl[u.Code].N > 0 {
				t.Errorf("%s declarations: release %s, PublicCounts %+v", u.Code, Num(row[u.Code].Declarations), decl[u.Code])
			}
		}
		var stored string
		db.R.QueryRow(`SELECT figures FROM press_releases WHERE week = $1`, r.Week).Scan(&stored)
		if !strings.Contains(stored, `"declarations_7d":null`) {
			t.Errorf("snapshot: %.300s", stored)
		}
		for _, want := range []string{"Thông cáo báo chí tuần", "trên địa bàn tỉnh Long An", "52 lượt", "Bluezone đã được cài đặt trên 850 điện thoại, đạt 42,5%"} {
			if !strings.Contains(r.Title+"\n"+r.Body, want) {
				t.Errorf("draft lacks %q:\n%s\n%s", want, r.Title, r.Body)
			}
		}
	})
}

// Drafts are private until a province role approves them; a published
// release is final; the PDF carries the Vietnamese text; the feed is
// valid Atom with the published releases only.
func TestReleaseLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := releaseFixture(t, db)
		for _, u := range []string{"health", "benluc", "communea", "hanoi"} {
			if _, err := s.Draft(ctx, who[u], false); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s drafts: %v", u, err)
			}
		}
		r, err := s.Draft(ctx, who["ict"], false)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"", "communea", "health"} {
			if _, err := s.Release(ctx, who[u], r.Week); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("%q reads the draft: %v", u, err)
			}
		}
		if list, _ := s.Published(ctx, 10); len(list) != 0 {
			t.Errorf("published before approval: %+v", list)
		}
		if _, err := s.Update(ctx, who["communea"], r.Week, Edit{Title: "Tiêu đề sửa", Body: strings.Repeat("nội dung ", 5)}); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("commune edits: %v", err)
		}
		if _, err := s.Update(ctx, who["admin"], r.Week, Edit{Title: "x", Body: "ngắn"}); errs.FieldsOf(err)["title"] == "" || errs.FieldsOf(err)["body"] == "" {
			t.Errorf("short edit: %v", err)
		}
		// an edited draft redrafted with fresh figures loses the edit, keeps its week
		if _, err := s.Update(ctx, who["admin"], r.Week, Edit{Title: "Một tiêu đề tạm", Body: strings.Repeat("nội dung tạm ", 5)}); err != nil {
			t.Fatal(err)
		}
		again, err := s.Draft(ctx, who["admin"], true)
		if err != nil || again.ID != r.ID || again.Title != r.Title || again.EditedAt != nil {
			t.Fatalf("redraft: %+v %v", again, err)
		}
		body := r.Body + "\n\nSở Thông tin và Truyền thông đề nghị các cơ quan báo chí đưa tin về việc quét mã QR."
		if r, err = s.Update(ctx, who["admin"], r.Week, Edit{Title: "Long An: hơn 50 lượt quét mã QR trong tuần", Body: body}); err != nil || r.EditedAt == nil {
			t.Fatalf("edit: %v", err)
		}
		if _, err := s.Publish(ctx, who["health"], r.Week); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("health publishes: %v", err)
		}
		if r, err = s.Publish(ctx, who["admin"], r.Week); err != nil || !r.Published() {
			t.Fatalf("publish: %v", err)
		}
		if _, err := s.Publish(ctx, who["admin"], r.Week); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("publish again: %v", err)
		}
		if _, err := s.Update(ctx, who["admin"], r.Week, Edit{Title: "Tiêu đề khác hẳn", Body: body}); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("edit after publication: %v", err)
		}
		if _, err := s.Draft(ctx, who["admin"], true); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("redraft after publication: %v", err)
		}
		if _, err := s.Release(ctx, nil, "2021-W99"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("bad week: %v", err)
		}
		pub, err := s.Release(ctx, nil, r.Week)
		if err != nil || pub.Title != "Long An: hơn 50 lượt quét mã QR trong tuần" {
			t.Fatalf("public read: %+v %v", pub, err)
		}

		var pdf bytes.Buffer
		if err := pub.PDF(&pdf, "https://anticovid.longan.test/bao-chi/"+pub.Week); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "release.pdf")
		os.WriteFile(path, pdf.Bytes(), 0o600)
		out, err := exec.Command(testenv.Command(t, "pdftotext"), "-raw", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(out)), " ")
		for _, want := range []string{"THÔNG CÁO BÁO CHÍ – TUẦN", "Long An: hơn 50 lượt quét mã QR trong tuần", "Sở Thông tin và Truyền thông đề nghị",
			"Huyện Bến Lức", "Thành phố Tân An", "Lượt quét mã", "Khai báo y tế", "Tỉnh Long An", "bản đồ công khai"} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q:\n%.1500s", want, text)
			}
		}

		list, err := s.Published(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := s.Feed(list, "https://anticovid.longan.test")
		if err != nil {
			t.Fatal(err)
		}
		var parsed struct {
			XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
			ID      string   `xml:"id"`
			Title   string   `xml:"title"`
			Updated string   `xml:"updated"`
			Entries []struct {
				ID      string `xml:"id"`
				Title   string `xml:"title"`
				Updated string `xml:"updated"`
				Links   []struct {
					Rel  string `xml:"rel,attr"`
					Href string `xml:"href,attr"`
				} `xml:"link"`
				Content string `xml:"content"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(feed, &parsed); err != nil {
			t.Fatalf("feed does not parse: %v\n%s", err, feed)
		}
		if len(parsed.Entries) != 1 || parsed.Entries[0].Title != pub.Title || parsed.Entries[0].Links[0].Href != "https://anticovid.longan.test/bao-chi/"+pub.Week ||
			!strings.Contains(parsed.Entries[0].Content, "Sở Thông tin và Truyền thông") || parsed.Updated != parsed.Entries[0].Updated {
			t.Errorf("feed: %+v", parsed)
		}
		if _, err := time.Parse(time.RFC3339, parsed.Updated); err != nil {
			t.Errorf("updated %q: %v", parsed.Updated, err)
		}
	})
}
