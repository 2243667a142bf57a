package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestMapAreaPages: a commune declares, changes and lifts an area through
// the forms; the public map follows; another district gets 403.
func TestMapAreaPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newOpsEnv(t, db)
		base := e.srv.URL
		commune := e.browser(t, "communea")
		if _, page := get(t, commune, base+"/map"); !strings.Contains(page, `href="/map/areas"`) {
			t.Error("the map does not link officials to its areas")
		}
		if _, page := get(t, http.DefaultClient, base+"/map"); strings.Contains(page, `href="/map/areas"`) {
			t.Error("the public sees the area management link")
		}
		code, page := postForm(t, commune, base+"/map/areas", url.Values{"kind": {"closed"}, "label": {"x"}, "unit_code": {"27991"},
			"starts_at": {"2021-08-10T08:00"}, "ends_at": {"2021-08-01T08:00"}})
		if code != 400 || manageFieldError(page, "label") == "" || !strings.Contains(page, "Loại khu vực phải là phong tỏa hoặc cách ly") ||
			!strings.Contains(manageFieldError(page, "ends_at"), "Thời điểm kết thúc phải sau khi bắt đầu") {
			t.Errorf("bad area: %d label %q ends %q", code, manageFieldError(page, "label"), manageFieldError(page, "ends_at"))
		}
		if code, _ = postForm(t, commune, base+"/map/areas", url.Values{"kind": {"lockdown"}, "label": {"Ấp 2, xã Thạnh Lợi"}, "unit_code": {"27994"}}); code != 403 {
			t.Errorf("area in another commune: %d", code)
		}
		start := time.Now().In(hcm).Add(-time.Hour).Format(localInput)
		code, page = postForm(t, commune, base+"/map/areas", url.Values{"kind": {"lockdown"}, "label": {"Khu phố 3, thị trấn Bến Lức"}, "unit_code": {"27991"},
			"starts_at": {start}, "note": {"Theo quyết định số 15/QĐ-UBND"}})
		if code != 200 || !strings.Contains(page, "Khu phố 3, thị trấn Bến Lức") || !strings.Contains(page, "Đã lưu.") {
			t.Fatalf("declare area: %d %.300s", code, page)
		}
		var id int64
		db.R.QueryRow("SELECT max(id) FROM map_areas").Scan(&id)
		_, pub := e.do("GET", "/api/v1/public/map", "", nil)
		if !strings.Contains(pub, "Khu phố 3, thị trấn Bến Lức") || strings.Contains(pub, "15/QĐ-UBND") {
			t.Errorf("public map after declaring: %.500s", pub)
		}
		areaPath := fmt.Sprintf("%s/map/areas/%d", base, id)
		tanan := e.browser(t, "tanan")
		if code, _ := get(t, tanan, areaPath); code != 403 {
			t.Errorf("another district opens the area: %d", code)
		}
		if code, _ := postForm(t, tanan, areaPath+"/end", nil); code != 403 {
			t.Errorf("another district lifts the area: %d", code)
		}
		if code, _ := e.do("PUT", fmt.Sprintf("/api/v1/map-areas/%d", id), "tanan", map[string]any{"kind": "lockdown", "label": "x y", "unit_code": "27991"}); code != 403 {
			t.Errorf("PUT area from another district: %d", code)
		}
		_, page = get(t, commune, areaPath)
		if !strings.Contains(page, `value="`+start+`"`) || !strings.Contains(page, "15/QĐ-UBND") {
			t.Errorf("area edit form: %.1500s", page)
		}
		if code, _ = postForm(t, commune, areaPath, url.Values{"kind": {"quarantine"}, "label": {"Khu phố 3 (đã thu hẹp)"}, "unit_code": {"27991"}, "starts_at": {start}}); code != 200 {
			t.Errorf("edit area: %d", code)
		}
		_, pub = e.do("GET", "/api/v1/public/map", "", nil)
		if !strings.Contains(pub, "Khu phố 3 (đã thu hẹp)") || !strings.Contains(pub, `"kind":"quarantine"`) {
			t.Errorf("public map after editing: %.500s", pub)
		}
		if code, _ = postForm(t, commune, areaPath+"/end", nil); code != 200 {
			t.Errorf("lift area: %d", code)
		}
		_, pub = e.do("GET", "/api/v1/public/map", "", nil)
		if strings.Contains(pub, "Khu phố 3") {
			t.Error("a lifted area is still on the public map")
		}
		for _, action := range []string{"create", "update", "end"} {
			if n := auditCount(t, db, "communea", action, "map_area"); n != 1 {
				t.Errorf("audit %s map_area: %d", action, n)
			}
		}
		if code, _ := get(t, e.browser(t, "trade"), base+"/map/areas"); code != 403 {
			t.Errorf("industry and trade on the areas page: %d", code)
		}
	})
}
