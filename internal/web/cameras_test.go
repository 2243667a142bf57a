package web

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// manageFieldError returns the error shown inside the <label> holding the input
// named name, or "".
func manageFieldError(page, name string) string {
	re := regexp.MustCompile(`(?s)<label>[^<]*<(?:input|select|textarea) name="` + regexp.QuoteMeta(name) + `".*?</label>`)
	label := re.FindString(page)
	m := regexp.MustCompile(`<span class="field-error">([^<]*)</span>`).FindStringSubmatch(label)
	if m == nil {
		return ""
	}
	return m[1]
}

func auditCount(t *testing.T, db *sqldb.DB, user, action, subject string) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow("SELECT count(*) FROM audit_log WHERE username = $1 AND action = $2 AND subject = $3", user, action, subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestZoneAndCameraPages drives the zone and camera forms as a browser
// without JavaScript does: errors beside their fields, 403 outside the
// jurisdiction, passwords never sent back, changes audited.
func TestZoneAndCameraPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newOpsEnv(t, db)
		benluc := e.browser(t, "benluc")
		base := e.srv.URL

		code, page := get(t, benluc, base+"/cameras/manage")
		if code != 200 || !strings.Contains(page, "Khu cách ly tập trung Trường Quân sự tỉnh") || !strings.Contains(page, "Thêm khu cách ly") {
			t.Fatalf("zone list: %d %.400s", code, page)
		}
		if _, page = get(t, benluc, base+"/cameras"); !strings.Contains(page, `href="/cameras/manage"`) {
			t.Error("the camera wall does not link to the management page")
		}
		// The unit list holds the district's communes only.
		_, page = get(t, benluc, base+"/cameras/manage/zones/new")
		if !strings.Contains(page, `value="27991"`) || strings.Contains(page, `value="27685"`) {
			t.Error("zone form: the commune list is not the district's")
		}

		// Bad input: each message beside its field, in Vietnamese.
		code, page = postForm(t, benluc, base+"/cameras/manage/zones", url.Values{"name": {" "}, "commune_code": {"27991"}, "capacity": {"nhiều"}, "held": {"5"}})
		if code != 400 || !strings.Contains(manageFieldError(page, "capacity"), "Phải là số nguyên") {
			t.Errorf("capacity not a number: %d %q", code, manageFieldError(page, "capacity"))
		}
		code, page = postForm(t, benluc, base+"/cameras/manage/zones", url.Values{"name": {"K"}, "commune_code": {""}, "capacity": {"100"}, "held": {"150"}})
		if code != 400 || !strings.Contains(manageFieldError(page, "name"), "Tên khu cách ly từ 2 đến 200 ký tự") ||
			!strings.Contains(manageFieldError(page, "commune_code"), "Mã xã/phường không hợp lệ") || !strings.Contains(manageFieldError(page, "held"), "vượt sức chứa") {
			t.Errorf("bad zone: %d name %q commune %q held %q", code, manageFieldError(page, "name"), manageFieldError(page, "commune_code"), manageFieldError(page, "held"))
		}
		if !strings.Contains(page, `value="K"`) {
			t.Error("the form lost what was typed")
		}
		// Outside the jurisdiction (a Tân An commune): 403.
		if code, _ = postForm(t, benluc, base+"/cameras/manage/zones", url.Values{"name": {"Khu cách ly Tân An"}, "commune_code": {"27685"}, "capacity": {"10"}}); code != 403 {
			t.Errorf("zone in another district: %d", code)
		}
		code, page = postForm(t, benluc, base+"/cameras/manage/zones", url.Values{"name": {"Khu cách ly Trường THPT Bến Lức"}, "address": {"Quốc lộ 1A, thị trấn Bến Lức"},
			"commune_code": {"27994"}, "capacity": {"1.200"}, "held": {"85"}, "public": {"1"}})
		if code != 200 || !strings.Contains(page, "Đã lưu.") {
			t.Fatalf("create zone: %d %.300s", code, page)
		}
		var zoneID int64
		var capacity, held int
		db.R.QueryRow("SELECT max(id) FROM quarantine_zones").Scan(&zoneID)
		db.R.QueryRow("SELECT capacity, held FROM quarantine_zones WHERE id = $1", zoneID).Scan(&capacity, &held)
		if capacity != 1200 || held != 85 {
			t.Errorf("stored capacity %d held %d", capacity, held)
		}
		zonePath := fmt.Sprintf("%s/cameras/manage/zones/%d", base, zoneID)

		// Who may not: another district, a commune officer, a department other than Health.
		for _, user := range []string{"tanan", "communea", "trade"} {
			c := e.browser(t, user)
			if code, _ := get(t, c, zonePath); code != 403 {
				t.Errorf("%s opens the zone: %d", user, code)
			}
			if code, _ := postForm(t, c, zonePath, url.Values{"name": {"Đổi tên"}, "commune_code": {"27994"}}); code != 403 {
				t.Errorf("%s changes the zone: %d", user, code)
			}
			if code, _ := postForm(t, c, zonePath+"/cameras", url.Values{"name": {"x"}, "stream_kind": {"rtsp"}, "stream_url": {"rtsp://10.1.1.1/"}}); code != 403 {
				t.Errorf("%s adds a camera: %d", user, code)
			}
		}
		if code, _ := get(t, e.browser(t, "communea"), base+"/cameras/manage"); code != 403 {
			t.Errorf("commune officer on the management page: %d", code)
		}
		if code, _ := e.do("PUT", fmt.Sprintf("/api/v1/zones/%d", zoneID), "tanan", map[string]any{"name": "x", "commune_code": "27994"}); code != 403 {
			t.Errorf("PUT zone from another district: %d", code)
		}
		// Health edits it (province-wide), through the form.
		health := e.browser(t, "health")
		code, page = postForm(t, health, zonePath, url.Values{"name": {"Khu cách ly Trường THPT Bến Lức"}, "address": {"Quốc lộ 1A"},
			"commune_code": {"27994"}, "capacity": {"1200"}, "held": {"90"}})
		if code != 200 || !strings.Contains(page, `value="90"`) {
			t.Errorf("health edits the zone: %d", code)
		}

		// Cameras: a refused address comes back beside its field.
		code, page = postForm(t, benluc, zonePath+"/cameras", url.Values{"name": {"Cổng"}, "stream_kind": {"mjpeg"}, "snapshot_url": {"http://169.254.169.254/latest/meta-data/"},
			"username": {"admin"}, "password": {"Cam@2021"}})
		if code != 400 || !strings.Contains(manageFieldError(page, "snapshot_url"), "dịch vụ metadata") || strings.Contains(page, "Cam@2021") {
			t.Errorf("link-local camera: %d %q", code, manageFieldError(page, "snapshot_url"))
		}
		code, page = postForm(t, benluc, zonePath+"/cameras", url.Values{"name": {""}, "stream_kind": {"rtsp"}, "stream_url": {"ftp://10.1.1.1/"}})
		if code != 400 || manageFieldError(page, "name") == "" || !strings.Contains(manageFieldError(page, "stream_url"), "Chỉ chấp nhận rtsp") {
			t.Errorf("bad camera: %d name %q stream %q", code, manageFieldError(page, "name"), manageFieldError(page, "stream_url"))
		}
		snapURL := e.cam.URL + "/ISAPI/Streaming/channels/101/picture"
		code, page = postForm(t, benluc, zonePath+"/cameras", url.Values{"name": {"Cổng chính THPT"}, "stream_kind": {"mjpeg"}, "snapshot_url": {snapURL},
			"username": {"admin"}, "password": {"Cam@2021"}})
		if code != 200 || !strings.Contains(page, "Cổng chính THPT") {
			t.Fatalf("add camera: %d %.300s", code, page)
		}
		var camID int64
		db.R.QueryRow("SELECT max(id) FROM cameras").Scan(&camID)
		camPath := fmt.Sprintf("%s/cameras/manage/cameras/%d", base, camID)
		// The edit form never holds the password (nor the user name).
		_, page = get(t, benluc, camPath)
		if strings.Contains(page, "Cam@2021") || !strings.Contains(page, `name="password" type="password" value=""`) || strings.Contains(page, `name="username" value="admin"`) ||
			!strings.Contains(page, "Để trống để giữ nguyên") {
			t.Errorf("camera edit form shows credentials: %.2000s", page)
		}
		snapshot := func(want int) {
			t.Helper()
			code, body := get(t, benluc, fmt.Sprintf("%s/cameras/%d/snapshot", base, camID))
			if code != want || (want == 200 && body != string(testPNG)) {
				t.Errorf("snapshot: %d (want %d)", code, want)
			}
		}
		snapshot(200)
		// A new name with the password left blank keeps the credentials.
		if code, _ = postForm(t, benluc, camPath, url.Values{"name": {"Cổng chính (đã đổi)"}, "stream_kind": {"mjpeg"}, "snapshot_url": {snapURL}, "password": {""}}); code != 200 {
			t.Errorf("rename camera: %d", code)
		}
		snapshot(200)
		// Removing the credentials: the camera refuses, the wall shows it offline.
		if code, _ = postForm(t, benluc, camPath, url.Values{"name": {"Cổng chính (đã đổi)"}, "stream_kind": {"mjpeg"}, "snapshot_url": {snapURL}, "clear_credentials": {"1"}}); code != 200 {
			t.Errorf("clear credentials: %d", code)
		}
		snapshot(503)
		// A new user name and password are sealed again.
		if code, _ = postForm(t, benluc, camPath, url.Values{"name": {"Cổng chính (đã đổi)"}, "stream_kind": {"mjpeg"}, "snapshot_url": {snapURL}, "username": {"admin"}, "password": {"Cam@2021"}}); code != 200 {
			t.Errorf("set credentials: %d", code)
		}
		snapshot(200)
		if code, _ := e.do("PUT", fmt.Sprintf("/api/v1/cameras/%d", camID), "tanan", map[string]any{"name": "x", "stream_kind": "rtsp", "stream_url": "rtsp://10.0.0.1/"}); code != 403 {
			t.Errorf("PUT camera from another district: %d", code)
		}
		if code, _ := postForm(t, e.browser(t, "tanan"), camPath+"/delete", nil); code != 403 {
			t.Errorf("another district removes the camera: %d", code)
		}
		var stored string
		db.R.QueryRow("SELECT name FROM cameras WHERE id = $1", camID).Scan(&stored)
		if stored != "Cổng chính (đã đổi)" {
			t.Errorf("camera name %q", stored)
		}
		// Every change is on the audit log under the person who made it.
		for _, c := range []struct {
			user, action, subject string
			n                     int
		}{ // newOpsEnv's zone and three cameras were made by benluc too
			{"benluc", "create", "quarantine_zone", 1 + 1}, {"health", "update", "quarantine_zone", 1}, {"benluc", "create", "camera", 3 + 1}, {"benluc", "update", "camera", 3}} {
			if got := auditCount(t, db, c.user, c.action, c.subject); got != c.n {
				t.Errorf("audit %s %s %s: %d, want %d", c.user, c.action, c.subject, got, c.n)
			}
		}
		if code, _ = postForm(t, benluc, camPath+"/delete", nil); code != 200 || auditCount(t, db, "benluc", "delete", "camera") != 1 {
			t.Errorf("remove camera: %d", code)
		}
		// English on request.
		if _, page = get(t, benluc, base+"/cameras/manage/zones/new?lang=en"); !strings.Contains(page, "Add a quarantine zone") || !strings.Contains(page, "People held") {
			t.Error("English zone form")
		}
	})
}

// TestBrowserManageZones: a district officer on a phone adds a zone and a
// camera through the forms and sees the camera's picture on the wall.
func TestBrowserManageZones(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 390, 844)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "benluc"), chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`), chromedp.WaitNotPresent(`input[name=password]`)); err != nil {
		t.Fatal(err)
	}
	// From the wall to the management page, then the new zone's form.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/cameras"), chromedp.Click(`#manage`), chromedp.WaitVisible(`#newzone`),
		chromedp.Click(`#newzone`), chromedp.WaitVisible(`#zoneform`)); err != nil {
		t.Fatal(err)
	}
	// Submitted half filled: the errors stand beside their fields.
	if err := chromedp.Do(ctx, chromedp.SendKeys(`input[name=name]`, "K"), chromedp.SetValue(`input[name=capacity]`, "50"),
		chromedp.SetValue(`input[name=held]`, "80"), chromedp.Click(`#zoneform button[type=submit]`), chromedp.WaitVisible(`.field-error`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "manage-zone-errors-phone")
	if body := text(t, ctx, "#zoneform"); !strings.Contains(body, "Tên khu cách ly từ 2 đến 200 ký tự") || !strings.Contains(body, "vượt sức chứa") {
		t.Errorf("zone form errors: %s", body)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(`input[name=name]`, "Khu cách ly Trung tâm Y tế huyện Bến Lức"),
		chromedp.SendKeys(`input[name=address]`, "Số 2 Nguyễn Hữu Thọ, thị trấn Bến Lức"),
		chromedp.SetValue(`select[name=commune_code]`, "27991"), chromedp.SetValue(`input[name=capacity]`, "120"),
		chromedp.SetValue(`input[name=held]`, "46"), chromedp.Click(`#zoneform button[type=submit]`), chromedp.WaitVisible(`#newcamera`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "manage-zone-saved-phone")
	if err := chromedp.Do(ctx, chromedp.Click(`#newcamera`), chromedp.WaitVisible(`#cameraform`),
		chromedp.SendKeys(`input[name=name]`, "Cổng tiếp nhận"), chromedp.SetValue(`select[name=stream_kind]`, "mjpeg"),
		chromedp.SendKeys(`input[name=snapshot_url]`, e.cam.URL+"/ISAPI/Streaming/channels/101/picture"),
		chromedp.SendKeys(`input[name=username]`, "admin"), chromedp.SendKeys(`input[name=password]`, "Cam@2021")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "manage-camera-form-phone")
	if err := chromedp.Do(ctx, chromedp.Click(`#cameraform button[type=submit]`), chromedp.WaitVisible(`table.cams`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "table.cams"); !strings.Contains(body, "Cổng tiếp nhận") || !strings.Contains(body, "đã lưu") {
		t.Errorf("zone's cameras: %s", body)
	}
	// The wall shows the new zone and the camera's picture through the proxy.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/cameras"), chromedp.WaitVisible(`.wall img[alt="Cổng tiếp nhận"]`), chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "manage-camera-wall-phone")
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector('.wall img[alt="Cổng tiếp nhận"]'); return i.complete && i.naturalWidth === 16 })()`))
	if err != nil || !loaded {
		t.Errorf("the new camera's snapshot is not shown: %v %v", loaded, err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "Khu cách ly Trung tâm Y tế huyện Bến Lức") || !strings.Contains(body, "46 / 120") {
		t.Errorf("wall: %.600s", body)
	}
	// The page fits the phone: nothing wider than the screen.
	for _, path := range []string{"/cameras/manage", "/map/areas/new"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(`main`)); err != nil {
			t.Fatal(err)
		}
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil || wide > 390 {
			t.Errorf("%s is %d px wide on a 390 px phone (%v)", path, wide, err)
		}
		screenshot(t, ctx, "manage"+strings.ReplaceAll(path, "/", "-")+"-phone")
	}
	// A lockdown declared through the form is listed and reaches the public map.
	if err := chromedp.Do(ctx, chromedp.SendKeys(`input[name=label]`, "Ấp Phước Lợi, xã Phước Lợi"), chromedp.SetValue(`select[name=unit_code]`, "803"),
		chromedp.SendKeys(`textarea[name=note]`, "Quyết định 1234/QĐ-UBND"), chromedp.Click(`#areaform button[type=submit]`), chromedp.WaitVisible(`section.area`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "manage-map-areas-phone")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Phong tỏa") || !strings.Contains(body, "Ấp Phước Lợi, xã Phước Lợi") || !strings.Contains(body, "Huyện Bến Lức") {
		t.Errorf("areas list: %.500s", body)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/map"), chromedp.WaitVisible(`#areas li`)); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "#areas"); !strings.Contains(body, "Ấp Phước Lợi") || strings.Contains(body, "1234/QĐ") {
		t.Errorf("public map areas: %q", body)
	}
}
