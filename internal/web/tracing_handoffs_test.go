package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/geo"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestHandoffs: an F1 of a Long An case who lives in another province is
// on Long An's hand-off list (not lost off every worklist), is handed in the
// system to Hà Nội, which has officials here and confirms it, or as a file to
// Hồ Chí Minh City, which has none; only the two provinces' administrators
// act, each only on their side, and repeats change nothing.
func TestHandoffs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		f := newTraceFixture(t, e)
		hcmc := geo.Communes("79")[0]
		id, err := people.NewService(db, e.vault).FindOrCreate(context.Background(), people.Person{Name: "Đặng Thị Mai", Phone: "0911000006", BirthYear: 1995, Commune: hcmc.Code})
		if err != nil {
			t.Fatal(err)
		}
		f.people["0911000006"] = id
		f.visit(t, "t-long-market", "0911000005", "Chợ Bến Lức", 25.9, 30) // lives in Hà Nội
		f.visit(t, "t-mai-market", "0911000006", "Chợ Bến Lức", 25.5, 20)  // lives in Hồ Chí Minh City
		if code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911 000 001"}, "status": "F0", "sample_date": day(f.now, 1)}); code != 201 {
			t.Fatalf("case: %d %s", code, body)
		}
		type handoff struct {
			ContactID  int64  `json:"contact_id"`
			PersonID   int64  `json:"person_id"`
			Phone      string `json:"phone"`
			ToProvince string `json:"to_province"`
			Method     string `json:"method"`
			HandedBy   string `json:"handed_by"`
			ReceivedBy string `json:"received_by"`
		}
		list := func(user, dir string) map[string]handoff {
			t.Helper()
			code, body := e.do("GET", "/api/v1/handoffs?direction="+dir, user, nil)
			if code != 200 {
				t.Fatalf("%s %s: %d %s", user, dir, code, body)
			}
			var got struct{ Contacts []handoff }
			json.Unmarshal([]byte(body), &got)
			out := map[string]handoff{}
			for _, h := range got.Contacts {
				out[h.Phone] = h
			}
			return out
		}
		out := list("admin", "out")
		long, mai := out["0911000005"], out["0911000006"]
		if len(out) != 2 || long.ToProvince != "01" || mai.ToProvince != "79" || long.Method != "" {
			t.Fatalf("Long An's outgoing: %+v", out)
		}
		if in := list("hanoi", "in"); len(in) != 1 || in["0911000005"].ContactID != long.ContactID {
			t.Fatalf("Hà Nội's incoming: %+v", in)
		}
		for _, u := range []string{"communea", "benluc", "tracera", "health"} {
			if code, _ := e.do("GET", "/api/v1/handoffs", u, nil); code != 403 {
				t.Errorf("%s reads the hand-offs: %d", u, code)
			}
		}
		want := func(user, key string, n int) {
			t.Helper()
			code, body := e.do("GET", "/api/v1/tasks", user, nil)
			if code != 200 || !strings.Contains(body, fmt.Sprintf(`{"key":"%s","count":%d,`, key, n)) {
				t.Fatalf("%s %s ≠ %d: %s", user, key, n, body)
			}
		}
		want("admin", "handoffs_out", 2)
		want("hanoi", "handoffs_in", 0)

		// In the system, to Hà Nội: only Long An hands over its own.
		if code, body := e.do("POST", "/api/v1/handoffs", "hanoi", map[string]any{"contact_ids": []int64{long.ContactID}}); code != 404 {
			t.Fatalf("Hà Nội hands Long An's contact: %d %s", code, body)
		}
		var hanhID int64
		db.R.QueryRow("SELECT id FROM contacts WHERE person_id = $1", f.people["0911000002"]).Scan(&hanhID)
		if code, body := e.do("POST", "/api/v1/handoffs", "admin", map[string]any{"contact_ids": []int64{hanhID}}); code != 404 {
			t.Fatalf("a Long An resident handed off: %d %s", code, body)
		}
		for i, want := range []string{`{"handed":1}`, `{"handed":0}`} {
			if code, body := e.do("POST", "/api/v1/handoffs", "admin", map[string]any{"contact_ids": []int64{long.ContactID}}); code != 200 || body != want+"\n" && body != want {
				t.Fatalf("hand-off %d: %d %q", i, code, body)
			}
		}
		want("admin", "handoffs_out", 1)
		want("hanoi", "handoffs_in", 1)
		receive := fmt.Sprintf("/api/v1/handoffs/%d/receive", long.ContactID)
		if code, _ := e.do("POST", receive, "admin", nil); code != 404 {
			t.Fatalf("Long An confirms its own hand-off: %d", code)
		}
		for range 2 {
			if code, body := e.do("POST", receive, "hanoi", nil); code != 204 {
				t.Fatalf("receive: %d %s", code, body)
			}
		}
		want("hanoi", "handoffs_in", 0)
		if got := list("admin", "out")["0911000005"]; got.Method != "system" || got.HandedBy != "admin" || got.ReceivedBy != "hanoi" {
			t.Fatalf("after hand-off: %+v", got)
		}

		// As a file, to Hồ Chí Minh City, which has no official here: the
		// page offers the file only; the file holds Mai; she is then handed.
		b := e.browser(t, "admin")
		code, page := get(t, b, e.srv.URL+"/tracing/handoffs")
		hcm, hn := strings.Index(page, "Thành phố Hồ Chí Minh"), strings.Index(page, "Thành phố Hà Nội")
		if code != 200 || hcm < 0 || hn < 0 || strings.Count(page, `/system"`) != 0 || !strings.Contains(page, `action="/tracing/handoffs/79/export"`) ||
			!strings.Contains(page, "Tỉnh nhận đã tiếp nhận bởi hanoi") {
			t.Fatalf("page: %d %s", code, page)
		}
		// In the system to a province with nobody here: refused (the page
		// offers only the file); an unknown province: not found.
		if c, body := e.do("POST", "/api/v1/handoffs", "admin", map[string]any{"contact_ids": []int64{mai.ContactID}}); c != 400 || !strings.Contains(body, "contact_ids") {
			t.Fatalf("in the system to Hồ Chí Minh City: %d %s", c, body)
		}
		for _, path := range []string{"/tracing/handoffs/79/system", "/tracing/handoffs/99/system", "/tracing/handoffs/01/system"} {
			if resp, _ := b.PostForm(e.srv.URL+path, nil); resp.StatusCode == 200 && path != "/tracing/handoffs/01/system" {
				t.Errorf("%s: %d", path, resp.StatusCode)
			}
		}
		resp, err := b.PostForm(e.srv.URL+"/tracing/handoffs/79/export", url.Values{"purpose": {"Gửi Sở Y tế TP. Hồ Chí Minh"}, "format": {"xlsx"}})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "ban-giao-f1-79.xlsx") {
			t.Fatalf("file: %d %q", resp.StatusCode, resp.Header)
		}
		x, err := excelize.OpenReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := x.GetRows(x.GetSheetList()[0])
		flat := fmt.Sprint(rows)
		if !strings.Contains(flat, "Đặng Thị Mai") || !strings.Contains(flat, "0911000006") || strings.Contains(flat, "Bùi Văn Long") || !strings.Contains(flat, "BÀN GIAO CHO THÀNH PHỐ HỒ CHÍ MINH") {
			t.Fatalf("file rows: %s", flat)
		}
		if got := list("admin", "out")["0911000006"]; got.Method != "file" {
			t.Fatalf("Mai after the file: %+v", got)
		}
		want("admin", "handoffs_out", 0)
		var audited int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE username = 'admin' AND action = 'export' AND purpose = 'Gửi Sở Y tế TP. Hồ Chí Minh'").Scan(&audited)
		if audited != 1 {
			t.Fatalf("file export audited %d times", audited)
		}
		if resp, _ := b.PostForm(e.srv.URL+"/tracing/handoffs/80/export", url.Values{"purpose": {"Gửi chính mình"}, "format": {"xlsx"}}); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("file to its own province: %d", resp.StatusCode)
		}
	})
}
