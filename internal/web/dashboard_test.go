package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
	"anticovid/internal/store/storetest"
)

// TestDashboardStream reads the server-sent events: the figures at once,
// then new figures after new check-ins are counted.
func TestDashboardStream(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/dashboard/stream?unit=803", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["benluc"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	rd := bufio.NewReader(resp.Body)
	next := func() dashboard.Figures {
		t.Helper()
		var f dashboard.Figures
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				if err := json.Unmarshal([]byte(data), &f); err != nil {
					t.Fatal(err)
				}
				return f
			}
		}
	}
	first := next()
	if first.Unit.Code != "803" || first.CheckinsToday == 0 {
		t.Fatalf("first event: %+v", first)
	}
	if _, err := e.db.W.Exec("INSERT INTO visits (id, venue_id, person_id, t_in) VALUES ('sse-1', $1, 1, $2), ('sse-2', $1, 1, $2)",
		e.venues["Chợ Bến Lức"], time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	if err := e.ops.Dashboard.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := next()
	if second.CheckinsToday != first.CheckinsToday+2 || second.Version <= first.Version {
		t.Errorf("after two check-ins: %d → %d (version %d → %d)", first.CheckinsToday, second.CheckinsToday, first.Version, second.Version)
	}
}

// TestDashboardTargetFromAdoption: the dashboard page's Bluezone target is
// the province's editable target, not a number of its own.
func TestDashboardTargetFromAdoption(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	admin := &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
	due := time.Now().In(hcm).AddDate(0, 1, 0).Format(time.DateOnly)
	if err := adoption.NewService(e.db, nil).SetTargets(t.Context(), admin, []adoption.Target{{Due: due, Percent: 55}, {Due: "2099-12-31", Percent: 85}}); err != nil {
		t.Fatal(err)
	}
	e.ops.Dashboard.Invalidate()
	_, page := get(t, e.browser(t, "benluc"), e.srv.URL+"/dashboard")
	if !strings.Contains(page, "Chỉ tiêu 55%") { // Bluezone gauges are not wired here: the "not connected" line still states the target
		t.Errorf("dashboard target: %s", regexp.MustCompile(`(?s)<h2>Bluezone.{0,700}`).FindString(page))
	}
	_, body := e.do("GET", "/api/v1/dashboard", "benluc", nil)
	if !strings.Contains(body, `"bluezone_target_pct":55`) {
		t.Errorf("API target: %.200s", body)
	}
}
