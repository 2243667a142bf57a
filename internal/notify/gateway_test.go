package notify

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"anticovid/internal/config"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// A brand-name SMS gateway in the shape of Vietnamese providers: a JSON
// body with the key in it or in a header, CodeResult "100" on success and
// the gateway's SMSID for its delivery reports.
func TestGatewaySMS(t *testing.T) {
	const body = `{"ApiKey":"k","Phone":{{json .To}},"Content":{{json .Text}},"Brandname":{{json .Brand}},"SmsType":"2","RequestId":{{json .ID}}}`
	ctx := context.Background()
	var answer string
	var statusCode int
	var delay time.Duration
	provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) {
		time.Sleep(delay)
		w.WriteHeader(statusCode)
		w.Write([]byte(answer))
	})
	gw := mustGateway(t, SMS, config.Gateway{URL: provider.srv.URL + "/MainService.svc/json/SendMultipleMessage_V4_post_json/", Body: body,
		Auth: "X-Api-Secret: s3cret", Brand: "SYT_LONGAN", Success: "CodeResult=100", IDField: "SMSID"})
	gw.Client = &http.Client{Timeout: 300 * time.Millisecond}
	m := Message{Channel: SMS, To: phone, Body: text + "\n\"trích dẫn\" & <b>", Ref: "42"}
	for _, c := range []struct {
		name      string
		status    int
		answer    string
		delay     time.Duration
		wantID    string
		wantErr   string
		permanent bool
	}{
		{"accepted", 200, `{"CodeResult":"100","CountRegenerate":0,"SMSID":"c1a2b3"}`, 0, "c1a2b3", "", false},
		{"refused by rule", 200, `{"CodeResult":"104","ErrorMessage":"Brandname chưa đăng ký"}`, 0, "", `CodeResult="104"`, false},
		{"not JSON", 200, `OK`, 0, "", "without JSON", false},
		{"server error", 503, `{}`, 0, "", "503", false},
		{"bad request", 400, `{"error":"` + phone + `"}`, 0, "", "400", true},
		{"too many", 429, `{}`, 0, "", "429", false},
		{"timeout", 200, `{"CodeResult":"100"}`, time.Second, "", "no answer in time", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			statusCode, answer, delay = c.status, c.answer, c.delay
			n := len(provider.requests())
			id, err := gw.SendRef(ctx, m)
			if c.wantErr == "" {
				if err != nil || id != c.wantID {
					t.Fatalf("id %q err %v", id, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.wantErr) || IsPermanent(err) != c.permanent {
				t.Fatalf("err %v (permanent %v), want %q (permanent %v)", err, IsPermanent(err), c.wantErr, c.permanent)
			}
			if err != nil && (strings.Contains(err.Error(), phone) || strings.Contains(err.Error(), "s3cret")) {
				t.Fatalf("error quotes personal data or the key: %v", err)
			}
			reqs := provider.requests()
			if len(reqs) != n+1 {
				t.Fatalf("%d requests", len(reqs)-n)
			}
			r := reqs[n]
			if r.header.Get("X-Api-Secret") != "s3cret" || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("headers %v", r.header)
			}
			want := map[string]any{"ApiKey": "k", "Phone": phone, "Content": m.Body, "Brandname": "SYT_LONGAN", "SmsType": "2", "RequestId": "42"}
			if len(r.json) != len(want) {
				t.Fatalf("body %s", r.body)
			}
			for k, v := range want {
				if r.json[k] != v {
					t.Fatalf("body %s: %s = %v, want %v", r.body, k, r.json[k], v)
				}
			}
		})
	}
}

// A form body, as older gateways take it.
func TestGatewayForm(t *testing.T) {
	provider := newGateway(t, nil)
	gw := mustGateway(t, SMS, config.Gateway{URL: provider.srv.URL, Body: `u=longan&to={{query .To}}&msg={{query .Text}}&from={{query .Brand}}&ref={{query .ID}}`, Brand: "SYT LA"})
	m := Message{Channel: SMS, To: phone, Body: "a&b=c ✓", Ref: "7-r1"}
	if err := gw.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := provider.requests()[0]
	q, err := url.ParseQuery(string(r.body))
	if err != nil || r.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("%s %v %v", r.body, r.header, err)
	}
	if q.Get("to") != phone || q.Get("msg") != m.Body || q.Get("from") != "SYT LA" || q.Get("ref") != "7-r1" || q.Get("u") != "longan" || len(q) != 5 {
		t.Fatalf("form %v", q)
	}
}

// Templates that would let a message's text break out of its field are
// refused when the server starts.
func TestGatewayTemplateChecked(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"to":"{{.To}}","text":"{{.Text}}"}`, "json"},
		{`{"to":{{.To}}}`, "json"},
		{`to={{.To}}&text={{.Text}}`, "query"},
		{`{"to":{{json .Nope}}}`, "Nope"},
		{`{"to":{{json .To}`, "template:"},
		{`{"to":{{json .To}}{{end}}`, "template:"},
		{`{"to":{{json .To.Nope}}}`, "Nope"},
		{`{"name":{{json .Params.name.first}}}`, "first"},
		{`{"n":{{json (index .Nope "name")}}}`, "Nope"},
		// A parameter placed without escaping, however it is named.
		{`{"name":"{{.Params.name}}"}`, "json"},
		{`{"name":{{index .Params "name"}}}`, "json"},
		{`{"d":{ {{- with .Params}}"n":"{{.name}}"{{end -}} }}`, "json"},
		{`{{$p := .Params}}{"n":"{{$p.name}}"}`, "json"},
		{`to={{query .To}}&name={{.Params.name}}`, "query"},
		{`to={{query .To}}{{range $k, $v := .Params}}&{{$k}}={{$v}}{{end}}`, "query"},
	} {
		_, err := NewGateway(SMS, config.Gateway{URL: "http://x", Body: c.body})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--sms-body") {
			t.Errorf("%s: %v, want an error naming --sms-body and %q", c.body, err, c.want)
		}
	}
	// Every template that works for a message carrying the parameters it
	// names is taken, whichever names they are.
	for _, body := range []string{config.DefaultSMSBody, config.DefaultOTTBody,
		`{"phone":{{json .To}},"template_data":{"name":{{json .Params.name}}}}`,
		`{"phone":{{json .To}},"data":{"name":{{json (index .Params "customer_name")}},"otp":{{json .Params.otp}}}}`,
		`{"d":{ {{- with .Params}}"n":{{json .name}}{{end -}} }}`,
		`{{$p := .Params}}{"n":{{json $p.name}},"t":{{json $p.text}}}`,
		`to={{query .To}}{{range $k, $v := .Params}}&{{query $k}}={{query $v}}{{end}}`,
		`to={{query (intl .To)}}&code={{query .Params.otp}}{{if .Params.name}}&name={{query .Params.name}}{{end}}`,
	} {
		if _, err := NewGateway(OTT, config.Gateway{URL: "http://x", Body: body}); err != nil {
			t.Errorf("%s refused: %v", body, err)
		}
	}
}

// A body naming a parameter sends the one the message carries; a message
// without it fails at once, naming the parameter, and nothing is posted.
func TestGatewayNamedParams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) { w.Write([]byte(`{}`)) })
		gw := mustGateway(t, OTT, config.Gateway{URL: provider.srv.URL, Body: `{"phone":{{json .To}},"name":{{json .Params.name}}}`})
		o := &Outbox{DB: db, Vault: testVault(t), Senders: map[string]Sender{OTT: gw}}
		o.Enqueue(ctx, Message{Channel: OTT, Kind: KindCampaign, To: phone, Body: "x", DedupKey: "with", Params: map[string]string{"name": "Lê Thị \"Hoa\""}})
		o.Enqueue(ctx, Message{Channel: OTT, Kind: KindCampaign, To: phone, Body: "x", DedupKey: "without"})
		if sent, failed, err := o.Deliver(ctx); sent != 1 || failed != 1 || err != nil {
			t.Fatalf("sent %d failed %d %v", sent, failed, err)
		}
		if r := provider.requests(); len(r) != 1 || r[0].json["name"] != `Lê Thị "Hoa"` {
			t.Fatalf("requests %v", r)
		}
		if st, why, _, _ := status(t, db, "without"); st != Failed || !strings.Contains(why, "name") {
			t.Fatalf("without the parameter: %s %q", st, why)
		}
	})
}

// The OTT adapter sends an approved template's id and parameters, as
// Zalo's notification service (ZNS) wants, and reads its message id.
func TestOTT(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, _ := newLog(t)
		provider := newGateway(t, func(w http.ResponseWriter, r gotRequest) {
			w.Write([]byte(`{"error":0,"message":"Success","data":{"msg_id":"zns-991","sent_time":"1626335000000"}}`))
		})
		cfg := &config.Config{Province: "80", EmailRate: 1, OTT: config.Gateway{URL: provider.srv.URL + "/message/template", Body: config.DefaultOTTBody,
			Auth: "access_token: zalo-oa-token", Success: "error=0", IDField: "data.msg_id", Templates: "otp=231077,f1=231078", Rate: 10}}
		o := &Outbox{DB: db, Vault: testVault(t), Log: log}
		if err := Configure(o, cfg, log); err != nil {
			t.Fatal(err)
		}
		o.Enqueue(ctx, Message{Channel: OTT, Kind: KindOTP, To: phone, Body: text, DedupKey: "otp:5", Params: map[string]string{"otp": code}})
		o.Enqueue(ctx, Message{Channel: OTT, Kind: KindF1, To: phone, Body: "Bạn là F1", DedupKey: "f1:case2:person3"})
		o.Enqueue(ctx, Message{Channel: OTT, Kind: KindCampaign, To: phone, Body: "x", DedupKey: "campaign:9:1"})
		sent, failed, err := o.Deliver(ctx)
		if err != nil || sent != 2 || failed != 1 {
			t.Fatalf("sent %d failed %d %v", sent, failed, err)
		}
		reqs := provider.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests", len(reqs))
		}
		for i, want := range []struct {
			template string
			data     map[string]any
		}{{"231077", map[string]any{"otp": code}}, {"231078", map[string]any{"text": "Bạn là F1"}}} {
			r := reqs[i]
			data, _ := r.json["template_data"].(map[string]any)
			if r.header.Get("access_token") != "zalo-oa-token" || r.json["phone"] != "84912345678" || r.json["template_id"] != want.template ||
				len(data) != len(want.data) || r.json["tracking_id"] == "" {
				t.Fatalf("request %d: %s %v", i, r.body, r.header)
			}
			for k, v := range want.data {
				if data[k] != v {
					t.Fatalf("request %d: template_data %v", i, data)
				}
			}
		}
		if st, _, ref, _ := status(t, db, "otp:5"); st != Sent || ref != "zns-991" {
			t.Fatalf("otp: %s ref %q", st, ref)
		}
		if st, why, _, _ := status(t, db, "campaign:9:1"); st != Failed || !strings.Contains(why, `kind "campaign"`) {
			t.Fatalf("no template: %s %q", st, why)
		}
	})
}

// Without a provider and without --demo or --dev-messages, a channel says
// so loudly at start and sends nothing: its messages stay queued, untried,
// and go out once a provider is set. With --dev-messages they go to a file,
// never to the log.
func TestConfigureWithoutProvider(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, out := newLog(t)
		cfg := &config.Config{Province: "80", DataDir: t.TempDir(), EmailRate: 1}
		o := &Outbox{DB: db, Vault: testVault(t), Log: log}
		if err := Configure(o, cfg, log); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []string{SMS, OTT, Email} {
			if !strings.Contains(out.String(), `"level":"ERROR","msg":"NO PROVIDER`) || !strings.Contains(out.String(), `"channel":"`+ch+`"`) {
				t.Fatalf("no warning for %s:\n%s", ch, out)
			}
		}
		for _, ch := range []string{SMS, OTT, Email} {
			o.Enqueue(ctx, Message{Channel: ch, Kind: KindOTP, To: phone, Body: text, DedupKey: "otp:1:" + ch})
		}
		for range 3 {
			if sent, failed, err := o.Deliver(ctx); err != nil || sent != 0 || failed != 0 {
				t.Fatalf("sent %d failed %d %v", sent, failed, err)
			}
		}
		for _, ch := range []string{SMS, OTT, Email} {
			if st, why, _, attempts := status(t, db, "otp:1:"+ch); st != Queued || why != "" || attempts != 0 {
				t.Fatalf("%s without a provider: %s %q after %d attempts", ch, st, why, attempts)
			}
		}

		// A server with a provider for SMS only sends the SMS.
		other := &Outbox{DB: db, Vault: o.Vault, Senders: map[string]Sender{SMS: &Recorder{}}}
		if sent, failed, err := other.Deliver(ctx); err != nil || sent != 1 || failed != 0 {
			t.Fatalf("sms server: sent %d failed %d %v", sent, failed, err)
		}

		cfg.DevMessages = true
		if err := Configure(o, cfg, log); err != nil {
			t.Fatal(err)
		}
		o.Enqueue(ctx, Message{Channel: SMS, Kind: KindOTP, To: phone, Body: text, DedupKey: "otp:2"})
		if sent, _, err := o.Deliver(ctx); err != nil || sent != 3 { // the two left queued, and the new one
			t.Fatalf("dev: sent %d %v", sent, err)
		}
		rec := o.Senders[SMS].(*Recorder)
		if len(rec.Messages()) != 3 || rec.Messages()[2].Body != text {
			t.Fatalf("recorded %v", rec.Messages())
		}
		b, err := readFile(rec.File)
		if err != nil || !strings.Contains(b, phone) || !strings.Contains(b, code) {
			t.Fatalf("dev file: %q %v", b, err)
		}
	})
}

// Bad settings stop the start with the flag's name.
func TestConfigureRefuses(t *testing.T) {
	log, _ := newLog(t)
	cfg := &config.Config{Province: "80", EmailRate: 1, SMS: config.Gateway{URL: "http://gw", Body: `{"to":"{{.To}}"}`, Rate: 1}}
	err := Configure(&Outbox{}, cfg, log)
	if err == nil || !strings.Contains(err.Error(), "--sms-body") {
		t.Fatalf("%v", err)
	}
	cfg = &config.Config{Province: "80", EmailRate: 1, SMTPURL: "smtp://u:p@/x"}
	if err := Configure(&Outbox{}, cfg, log); err == nil || !strings.Contains(err.Error(), "--smtp-url") {
		t.Fatalf("%v", err)
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
