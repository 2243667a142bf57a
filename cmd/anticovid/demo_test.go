package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"anticovid/internal/reports"
)

// TestDemoLooksLikeAProvince: serve --demo fills every screen with work at
// its every stage: F1 calls overdue and due, suspected and recovered cases,
// last week's reports on time, late and missing, a campaign with deliveries,
// Bluezone adoption per commune below its target, a commune's door-to-door
// drive under way, and a quarantine zone
// whose cameras answer with pictures.
func TestDemoLooksLikeAProvince(t *testing.T) {
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	dir, addr := t.TempDir(), freePort(t)
	var out lockedBuffer
	cmd := exec.Command(bin, "serve", "--demo", "--data", dir, "--addr", addr)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	for i := 0; i < 1200; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tok, err := exec.Command(bin, "token", "create", "--username", "admin", "--data", dir).Output()
	if err != nil {
		t.Fatalf("token: %v\n%s", err, out.String())
	}
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, v) != nil {
			t.Fatalf("%s: %d %.300s", path, resp.StatusCode, b)
		}
	}
	var tasks struct {
		Tasks []struct {
			Key   string
			Count int
		}
	}
	get("/api/v1/tasks", &tasks)
	count := map[string]int{}
	for _, tk := range tasks.Tasks {
		count[tk.Key] = tk.Count
	}
	if count["calls_overdue"] == 0 || count["calls_due"] == 0 {
		t.Errorf("tasks: %v", count)
	}
	var list struct {
		Cases []struct {
			Status    string
			Suspected bool
		}
	}
	get("/api/v1/cases?limit=200", &list)
	stages := map[string]int{}
	for _, c := range list.Cases {
		stages[c.Status+map[bool]string{true: " suspected"}[c.Suspected]]++
	}
	if stages["F0"] == 0 || stages["F0 suspected"] == 0 || stages["recovered"] == 0 {
		t.Errorf("case stages: %v", stages)
	}
	var board struct{ Counts map[string]int }
	get("/api/v1/reports/"+reports.Current(time.Now()).Prev().String()+"/status", &board)
	if board.Counts["on_time"] == 0 || board.Counts["late"] == 0 || board.Counts["missing"] == 0 {
		t.Errorf("last week's reports: %v", board.Counts)
	}
	var camps struct {
		Campaigns []struct{ Recipients, Sent int }
	}
	for i := 0; i < 100; i++ { // the campaign sends in the background
		get("/api/v1/campaigns", &camps)
		if len(camps.Campaigns) > 0 && camps.Campaigns[0].Sent > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(camps.Campaigns) == 0 || camps.Campaigns[0].Sent == 0 || camps.Campaigns[0].Sent > camps.Campaigns[0].Recipients {
		t.Errorf("campaigns: %+v", camps)
	}
	var ad struct {
		Unit struct {
			Registered int
			Percent    float64
			Current    struct{ Percent float64 }
		}
	}
	get("/api/v1/adoption?unit=80", &ad)
	if ad.Unit.Registered == 0 || ad.Unit.Percent >= ad.Unit.Current.Percent || ad.Unit.Percent < 20 {
		t.Errorf("adoption: %+v", ad.Unit)
	}
	var door struct {
		Total struct {
			Households, Visited, Installs int
			Assisted                      int `json:"assisted_declarations"`
		}
		Parts []struct{ Lat *float64 }
	}
	get("/api/v1/door-to-door/coverage?unit=80", &door)
	if door.Total.Households != 100 || door.Total.Visited == 0 || door.Total.Visited >= 100 || door.Total.Installs == 0 || door.Total.Assisted != 3 || len(door.Parts) != 1 {
		t.Errorf("door to door: %+v", door)
	}
	var ups struct{ Uploads []struct{ Candidates int } }
	get("/api/v1/bluezone/uploads", &ups)
	if len(ups.Uploads) == 0 || ups.Uploads[0].Candidates == 0 {
		t.Errorf("Bluezone contact logs: %+v", ups)
	}
	var zones struct {
		Zones []struct {
			Cameras []struct {
				SnapshotURL string `json:"snapshot_url"`
			}
		}
	}
	get("/api/v1/zones", &zones)
	if len(zones.Zones) == 0 || len(zones.Zones[0].Cameras) != 3 {
		t.Fatalf("zones: %+v", zones)
	}
	resp, err := http.Get(zones.Zones[0].Cameras[0].SnapshotURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("camera picture: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
