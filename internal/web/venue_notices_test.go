package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestVenueNotices: a venue's manager learns by SMS, at the phone the venue
// registered with, what officials did to it (approved, refused, poster
// reissued) and that an F0 was there with what to do, never who; their own
// acts and repeats send nothing.
func TestVenueNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		sms := func() []notify.Message {
			t.Helper()
			e.outbox.Deliver(ctx)
			var out []notify.Message
			for _, m := range e.sms.Messages() {
				if m.Kind == notify.KindVenue {
					out = append(out, m)
				}
			}
			return out
		}
		register := func(name string) int64 {
			t.Helper()
			code, body := e.do("POST", "/api/v1/venues", "managera", map[string]any{"name": name, "category": "restaurant", "commune_code": "27991",
				"address": "5 Nguyễn Hữu Thọ", "contact_name": "Bà Tư", "contact_phone": "0912345670"})
			var v struct{ ID int64 }
			if json.Unmarshal([]byte(body), &v); code != 201 || v.ID == 0 {
				t.Fatalf("register %s: %d %s", name, code, body)
			}
			return v.ID
		}
		id := register("Quán cơm Bà Tư")
		status := func(user string, id int64, st string) {
			t.Helper()
			if code, body := e.do("POST", fmt.Sprintf("/api/v1/venues/%d/status", id), user, map[string]string{"status": st}); code != 200 {
				t.Fatalf("%s %s: %d %s", user, st, code, body)
			}
		}
		status("communea", id, "approved")
		status("communea", id, "approved") // a repeat
		got := sms()
		if len(got) != 1 || got[0].To != "0912345670" || !strings.Contains(got[0].Body, "Quán cơm Bà Tư đã được duyệt") ||
			!strings.Contains(got[0].Body, fmt.Sprintf("http://anticovid.test/venues/%d", id)) {
			t.Fatalf("approval SMS: %+v", got)
		}
		if code, body := e.do("POST", fmt.Sprintf("/api/v1/venues/%d/reissue", id), "communea", nil); code != 200 {
			t.Fatalf("reissue: %d %s", code, body)
		}
		if code, body := e.do("POST", fmt.Sprintf("/api/v1/venues/%d/reissue", id), "managera", nil); code != 200 {
			t.Fatalf("own reissue: %d %s", code, body)
		}
		if got = sms(); len(got) != 2 || !strings.Contains(got[1].Body, "đã được cấp lại") {
			t.Fatalf("reissue SMS (the manager's own sends none): %+v", got)
		}
		refused := register("Karaoke Ánh Dương")
		status("communea", refused, "closed")
		if got = sms(); len(got) != 3 || !strings.Contains(got[2].Body, "Karaoke Ánh Dương không được duyệt") {
			t.Fatalf("refusal SMS: %+v", got)
		}
		status("managera", id, "closed") // the manager closes their own: no SMS
		if got = sms(); len(got) != 3 {
			t.Fatalf("own close told: %+v", got)
		}

		// An F0 was at Chợ Bến Lức: its contact phone is told what to do.
		f := newTraceFixture(t, e)
		code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911 000 001"}, "status": "F0", "sample_date": day(f.now, 1)})
		var c struct{ ID int64 }
		if json.Unmarshal([]byte(body), &c); code != 201 {
			t.Fatalf("case: %d %s", code, body)
		}
		for range 2 {
			if code, body := e.do("POST", fmt.Sprintf("/api/v1/cases/%d/exposure-venues/notify", c.ID), "admin", nil); code != 200 {
				t.Fatalf("notify: %d %s", code, body)
			}
		}
		got = sms()
		var market []notify.Message
		for _, m := range got[3:] {
			if strings.Contains(m.Body, "Chợ Bến Lức") {
				market = append(market, m)
			}
		}
		if len(market) != 1 || market[0].To != "0912345678" || !strings.Contains(market[0].Body, "Hãy khử khuẩn địa điểm, lập danh sách nhân viên") {
			t.Fatalf("F0 notice to the market: %+v", got[3:])
		}
		for _, secret := range []string{"Nguyễn Văn Tâm", "0911000001", "0911 000 001"} {
			if strings.Contains(market[0].Body, secret) {
				t.Fatalf("the F0 named in %q", market[0].Body)
			}
		}
	})
}
