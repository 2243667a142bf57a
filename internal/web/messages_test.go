package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// The failed-messages page and API: only the province's admin, recipients
// masked, no text; re-send audited; providers' delivery reports signed.
func TestMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		const secret = "report-secret-0123456789"
		e.outbox.Province = "80"
		e.outbox.CallbackSecrets = map[string]string{notify.SMS: secret}
		// The OTT provider refuses the number: the message fails.
		e.outbox.Senders[notify.OTT] = refusingSender{}
		e.outbox.Enqueue(ctx, notify.Message{Channel: notify.OTT, Kind: notify.KindOTP, To: "0987654321", Body: "Mã OTP 551234", DedupKey: "otp:77"})
		e.outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindF1, To: "0911111222", Body: "Bạn là F1", DedupKey: "f1:1:2"})
		if sent, failed, err := e.outbox.Deliver(ctx); err != nil || sent != 1 || failed != 1 {
			t.Fatalf("deliver: %d %d %v", sent, failed, err)
		}
		var id int64
		db.R.QueryRow("SELECT id FROM outbox WHERE dedup_key = 'otp:77'").Scan(&id)

		for _, c := range []struct {
			user string
			want int
		}{{"", 401}, {"hanoi", 403}, {"health", 403}, {"benluc", 403}, {"communea", 403}, {"tracera", 403}, {"managera", 403}, {"admin", 200}} {
			code, body := e.do("GET", "/api/v1/messages/failed", c.user, nil)
			if code != c.want {
				t.Errorf("%s: failed list %d, want %d: %s", c.user, code, c.want, body)
			}
			if c.want == 200 {
				continue
			}
			if code, _ := e.do("POST", fmt.Sprintf("/api/v1/messages/%d/resend", id), c.user, nil); code != c.want {
				t.Errorf("%s: re-send %d, want %d", c.user, code, c.want)
			}
		}
		code, body := e.do("GET", "/api/v1/messages/failed", "admin", nil)
		var got struct {
			Counts map[string]int `json:"counts"`
			Failed []notify.Entry `json:"failed"`
		}
		json.Unmarshal([]byte(body), &got)
		if code != 200 || len(got.Failed) != 1 || got.Failed[0].To != "*******321" || got.Counts["failed"] != 1 || got.Counts["sent"] != 1 {
			t.Fatalf("%d %s", code, body)
		}
		for _, secret := range []string{"0987654321", "551234", "Mã OTP"} {
			if strings.Contains(body, secret) {
				t.Fatalf("the API shows %q: %s", secret, body)
			}
		}

		// The page, and its re-send button.
		admin := e.browser(t, "admin")
		code, page := get(t, admin, e.srv.URL+"/messages")
		if code != 200 || !strings.Contains(page, "Tin nhắn gửi lỗi") || !strings.Contains(page, "*******321") || !strings.Contains(page, "refused") ||
			strings.Contains(page, "551234") || strings.Contains(page, "0987654321") {
			t.Fatalf("page %d:\n%s", code, page)
		}
		if code, page := get(t, e.browser(t, "communea"), e.srv.URL+"/messages"); code != 403 {
			t.Fatalf("commune officer sees the page: %d %s", code, page)
		}
		resp, err := admin.PostForm(fmt.Sprintf("%s/messages/%d/resend", e.srv.URL, id), url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Query().Get("resent") != "1" {
			t.Fatalf("re-send: %d %s", resp.StatusCode, resp.Request.URL)
		}
		if code, _ := e.do("POST", fmt.Sprintf("/api/v1/messages/%d/resend", id), "admin", nil); code != http.StatusConflict {
			t.Fatalf("second re-send %d", code)
		}
		var status string
		var audited int
		db.R.QueryRow("SELECT status FROM outbox WHERE id = $1", id).Scan(&status)
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE action = 'resend' AND subject = 'outbox' AND username = 'admin' AND record_ids = $1", fmt.Sprint(id)).Scan(&audited)
		if status != notify.Queued || audited != 1 {
			t.Fatalf("after re-send: %s, %d audit rows", status, audited)
		}

		// Delivery reports.
		var ref string
		db.R.QueryRow("SELECT provider_ref FROM outbox WHERE dedup_key = 'f1:1:2'").Scan(&ref)
		report := `{"id":"` + ref + `","status":"delivered"}`
		post := func(channel string, h http.Header, body string) int {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/message-reports/"+channel, strings.NewReader(body))
			req.Header = h
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		sig := func(b string) http.Header {
			return notify.SignedHeaders(secret, time.Now(), []byte(b))
		}
		for _, c := range []struct {
			name, channel string
			h             http.Header
			body          string
			want          int
		}{
			{"unsigned", "sms", http.Header{}, report, 401},
			{"badly signed", "sms", sig(report + " "), report, 401},
			{"wrong token", "sms", http.Header{notify.TokenHeader: {"nope"}}, report, 401},
			{"channel without reports", "ott", sig(report), report, 404},
			{"unknown id", "sms", sig(`{"id":"nope","status":"delivered"}`), `{"id":"nope","status":"delivered"}`, 404},
			{"signed long ago", "sms", notify.SignedHeaders(secret, time.Now().Add(-time.Hour), []byte(report)), report, 401},
			{"signed", "sms", sig(report), report, 204},
			{"replayed", "sms", sig(report), report, 204},
		} {
			if code := post(c.channel, c.h, c.body); code != c.want {
				t.Errorf("%s: %d, want %d", c.name, code, c.want)
			}
		}
		db.R.QueryRow("SELECT status FROM outbox WHERE dedup_key = 'f1:1:2'").Scan(&status)
		if status != notify.Delivered {
			t.Fatalf("after the report: %s", status)
		}
		_, doc := e.do("GET", "/api/v1/openapi.json", "", nil)
		for _, p := range []string{"/api/v1/messages/failed", "/api/v1/messages/{id}/resend", "/api/v1/message-reports/{channel}"} {
			if !strings.Contains(doc, p) {
				t.Errorf("openapi lacks %s", p)
			}
		}
	})
}

// refusingSender is a provider that refuses every message for good.
type refusingSender struct{}

func (refusingSender) Send(context.Context, notify.Message) error {
	return notify.Permanent(errors.New("the provider refused the number"))
}
