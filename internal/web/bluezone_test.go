package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/config"
	"anticovid/internal/exposure"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/venue"
)

// btEnv is the shared test server with the Bluetooth services wired in.
type btEnv struct {
	*env
	bz *bluezone.Service
	en *exposure.Service
}

func newBTEnv(t *testing.T, db *sqldb.DB) *btEnv {
	t.Helper()
	e := newEnv(t, db)
	ppl := people.NewService(db, e.vault)
	codes := exposure.NewCodes(otp.New(db, e.vault, nil), people.NewService(db, e.vault))
	bz, err := bluezone.NewService(db, e.vault, ppl, e.outbox, codes, t.TempDir(), 21*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bz.Index.Close() })
	en := exposure.NewService(db, e.vault, codes)
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10, LogLevel: "error", CheckinRate: 20}
	s := New(Deps{Config: cfg, DB: db, Auth: e.auth, People: ppl, Venues: &venue.Service{DB: db, Vault: e.vault, Signer: e.keys},
		Checkins: e.scans, Keys: e.keys, Outbox: e.outbox, OTP: e.otp, Cases: e.cases, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Bluezone: bz, Exposure: en, Adoption: adoption.NewService(db, bz), Declarations: e.decl})
	e.srv.Close()
	e.srv = httptest.NewServer(contract(t, s))
	t.Cleanup(e.srv.Close)
	return &btEnv{env: e, bz: bz, en: en}
}

// send makes a request with extra headers and returns status, headers, body.
func (e *btEnv) send(method, path, username string, body []byte, hdr map[string]string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if username != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[username])
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestBluetoothAPI drives registration, a contact-log upload and the tracer's
// view of it, the feed, EN and adoption through HTTP, with the refusals.
func TestBluetoothAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newBTEnv(t, db)
		ctx := context.Background()

		// A phone registers: SMS code, then the key.
		if code, body := e.do("POST", "/api/v1/bluezone/register/code", "", map[string]string{"phone": "0912 000 111"}); code != 202 {
			t.Fatalf("register code: %d %s", code, body)
		}
		e.outbox.Deliver(ctx)
		msgs := e.sms.Messages()
		otp := regexp.MustCompile(`\b\d{6}\b`).FindString(msgs[len(msgs)-1].Body)
		key := sha256.Sum256([]byte("phone key"))
		reg := map[string]any{"phone": "0912000111", "code": otp, "base_key": hex.EncodeToString(key[:]), "base_day": time.Now().In(hcm).Format(time.DateOnly),
			"commune_code": "27991", "platform": "ios", "name": "Lê Văn Tám", "birth_year": 1980}
		code, body := e.do("POST", "/api/v1/bluezone/devices", "", reg)
		if code != 201 {
			t.Fatalf("register: %d %s", code, body)
		}
		var regOut struct{ Token string }
		json.Unmarshal([]byte(body), &regOut)
		if c, _, b := e.send("GET", "/api/v1/bluezone/devices/self", "", nil, map[string]string{deviceHeader: regOut.Token}); c != 200 || !strings.Contains(b, `"platform":"ios"`) || strings.Contains(b, "base_key") {
			t.Errorf("self: %d %s", c, b)
		}
		if c, _, _ := e.send("GET", "/api/v1/bluezone/devices/self", "", nil, map[string]string{deviceHeader: "bzd_wrong"}); c != 401 {
			t.Errorf("wrong token: %d", c)
		}
		if c, body := e.do("POST", "/api/v1/bluezone/devices", "", reg); c != 400 || !strings.Contains(body, "already used") {
			t.Errorf("reused registration code: %d %s", c, body)
		}
		reg["base_key"] = "nothex"
		if c, body := e.do("POST", "/api/v1/bluezone/devices", "", reg); c != 400 || !strings.Contains(body, "base_key") {
			t.Errorf("bad key: %d %s", c, body)
		}

		// Simulated phones in Bến Lức; an F0 among them uploads a log.
		now := time.Now()
		phones := bluezone.SimPhones(3, 200, now, []string{"27991", "27994"})
		persons, err := bluezone.BulkRegister(ctx, db, e.vault, phones, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		syncSequences(t, db)
		rows, near := bluezone.SimLog(phones, bluezone.SimLogSpec{F0: 0, Days: 3, IDsPerDay: 30, RegisteredShare: 0.6, Seed: 9, Now: now})
		if c, body := e.do("POST", "/api/v1/bluetooth/codes", "communea", map[string]any{"person_id": persons[0], "purpose": "bz_log"}); c != 403 {
			t.Errorf("commune officer issues a code: %d %s", c, body)
		}
		c, body := e.do("POST", "/api/v1/bluetooth/codes", "tracera", map[string]any{"person_id": persons[0], "purpose": "bz_log"})
		var issued struct{ Code string }
		if json.Unmarshal([]byte(body), &issued); c != 201 || len(issued.Code) != handedDigits {
			t.Fatalf("issue: %d %s", c, body)
		}
		// Refusals first: oversize body, too many rows. Nothing stored.
		huge := bytes.Repeat([]byte(" "), bluezone.MaxLogBytes+1)
		if c, _, b := e.send("POST", "/api/v1/bluezone/contact-logs", "", huge, nil); c != 413 {
			t.Errorf("oversize body: %d %s", c, b)
		}
		many := bluezone.LogJSON(issued.Code, make([]bluezone.LogRow, bluezone.MaxLogRows+1))
		if c, _, b := e.send("POST", "/api/v1/bluezone/contact-logs", "", many[:min(len(many), bluezone.MaxLogBytes)], nil); c != 400 && c != 413 {
			t.Errorf("too many rows: %d %s", c, b)
		} else if c == 400 && !strings.Contains(b, "more than 100000 rows") {
			t.Errorf("too many rows message: %s", b)
		}
		var stored int
		db.R.QueryRow("SELECT count(*) FROM bz_uploads").Scan(&stored)
		if stored != 0 {
			t.Fatalf("refused uploads stored %d", stored)
		}
		c, _, body = e.send("POST", "/api/v1/bluezone/contact-logs", "", bluezone.LogJSON(issued.Code, rows), nil)
		var up bluezone.UploadResult
		if json.Unmarshal([]byte(body), &up); c != 201 || up.Candidates != len(near) {
			t.Fatalf("upload: %d %s (want %d candidates)", c, body, len(near))
		}
		// The tracer sees exactly the phones that were near; others may not.
		path := fmt.Sprintf("/api/v1/bluezone/people/%d/contacts", persons[0])
		c, body = e.do("GET", path, "tracera", nil)
		var got struct{ Contacts []bluezone.Contact }
		json.Unmarshal([]byte(body), &got)
		var ids, want []int64
		for _, ct := range got.Contacts {
			ids = append(ids, ct.PersonID)
		}
		for _, j := range near {
			want = append(want, persons[j])
		}
		slices.Sort(ids)
		slices.Sort(want)
		if c != 200 || !slices.Equal(ids, want) {
			t.Fatalf("contacts: %d %v, want %v", c, ids, want)
		}
		var audited int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE subject = 'bluezone_contacts'").Scan(&audited)
		if audited != 1 {
			t.Errorf("%d audit entries for the contacts, want 1", audited)
		}
		for user, wantCode := range map[string]int{"": 401, "communea": 403, "tanan": 403, "health": 200} {
			if c, _ := e.do("GET", path, user, nil); c != wantCode {
				t.Errorf("contacts as %q: %d, want %d", user, c, wantCode)
			}
		}
		// The tracer's page shows them by name (masked phone).
		browser := e.browser(t, "tracera")
		c, page := get(t, browser, fmt.Sprintf("%s/bluezone?person=%d", e.srv.URL, persons[0]))
		table := page[strings.Index(page, `id="contacts"`):]
		table = table[:strings.Index(table, "</table>")]
		if c != 200 || strings.Count(table, "Người thử nghiệm") != len(near) || strings.Contains(page, phones[near[0]].Phone) {
			t.Errorf("tracer page: %d, %d names for %d contacts", c, strings.Count(table, "Người thử nghiệm"), len(near))
		}
		if c, _ := get(t, e.browser(t, "communea"), e.srv.URL+"/bluezone"); c != 403 {
			t.Errorf("bluezone page as commune officer: %d", c)
		}

		// Feed: ETag and 304.
		c, hdr, _ := e.send("GET", "/api/v1/bluezone/feed", "", nil, nil)
		if c != 200 || hdr.Get("ETag") == "" || !strings.Contains(hdr.Get("Cache-Control"), "max-age") {
			t.Errorf("feed: %d %v", c, hdr)
		}
		if c, _, _ := e.send("GET", "/api/v1/bluezone/feed", "", nil, map[string]string{"If-None-Match": hdr.Get("ETag")}); c != 304 {
			t.Errorf("feed revalidation: %d", c)
		}

		// EN: code → certificate → keys; malformed base64 refused.
		_, body = e.do("POST", "/api/v1/bluetooth/codes", "tracera", map[string]any{"person_id": persons[0], "purpose": "en"})
		json.Unmarshal([]byte(body), &issued)
		c, body = e.do("POST", "/api/v1/en/verify", "", map[string]string{"code": issued.Code})
		var cert struct{ Certificate string }
		if json.Unmarshal([]byte(body), &cert); c != 200 || cert.Certificate == "" {
			t.Fatalf("verify: %d %s", c, body)
		}
		start := int32(exposure.ENIntervalNumber(now))/144*144 - 144
		bad := map[string]any{"certificate": cert.Certificate, "temporaryExposureKeys": []map[string]any{{"key": "!!", "rollingStartNumber": start, "rollingPeriod": 144}}}
		if c, body := e.do("POST", "/api/v1/en/publish", "", bad); c != 400 || !strings.Contains(body, "base64") {
			t.Errorf("bad base64: %d %s", c, body)
		}
		good := map[string]any{"certificate": cert.Certificate, "temporaryExposureKeys": []map[string]any{
			{"key": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16)), "rollingStartNumber": start, "rollingPeriod": 144, "transmissionRisk": 3}}}
		if c, body := e.do("POST", "/api/v1/en/publish", "", good); c != 200 || !strings.Contains(body, `"accepted":1`) {
			t.Errorf("publish: %d %s", c, body)
		}

		// The key is exported once its window has closed, and served as static files.
		e.en.Now = func() time.Time { return now.Add(2 * time.Hour) }
		files, err := e.en.ExportDue(ctx)
		if err != nil || len(files) != 1 {
			t.Fatalf("export: %v %v", files, err)
		}
		c, _, index := e.send("GET", "/en/export/VN/index.txt", "", nil, nil)
		if c != 200 || strings.TrimSpace(index) != files[0].Name {
			t.Errorf("index: %d %q", c, index)
		}
		c, hdr, zipBody := e.send("GET", "/en/export/"+files[0].Name, "", nil, nil)
		if c != 200 || hdr.Get("Content-Type") != "application/zip" || !strings.Contains(hdr.Get("Cache-Control"), "immutable") || !strings.HasPrefix(zipBody, "PK") {
			t.Errorf("export file: %d %v", c, hdr)
		}
		for _, bad := range []string{"/en/export/VN/..%2f..%2fdata.key", "/en/export/XX/index.txt", "/en/export/VN/export.zip"} {
			if c, _, _ := e.send("GET", bad, "", nil, nil); c != 404 {
				t.Errorf("%s: %d", bad, c)
			}
		}
		if c, body := e.do("GET", "/api/v1/en/signing-keys", "", nil); c != 200 || !strings.Contains(body, "BEGIN PUBLIC KEY") {
			t.Errorf("signing keys: %d %s", c, body)
		}

		// Adoption: a district imports its figures and reads them.
		csv := "commune_code,smartphone_users\n27991,500\n27994,400\n"
		if c, _, b := e.send("POST", "/api/v1/adoption/import?filename=bl.csv", "benluc", []byte(csv), map[string]string{"Content-Type": "text/csv"}); c != 200 || !strings.Contains(b, `"updated":2`) {
			t.Errorf("import: %d %s", c, b)
		}
		c, body = e.do("GET", "/api/v1/adoption?unit=803", "benluc", nil)
		var rep adoption.Report
		if json.Unmarshal([]byte(body), &rep); c != 200 || rep.Unit.Smartphones != 900 || rep.Unit.Registered != 201 || len(rep.Children) == 0 {
			t.Errorf("adoption: %d %+v", c, rep.Unit)
		}
		if c, _ := e.do("GET", "/api/v1/adoption?unit=794", "benluc", nil); c != 403 {
			t.Errorf("adoption outside: %d", c)
		}
		c, page = get(t, e.browser(t, "admin"), e.srv.URL+"/adoption?unit=803")
		if c != 200 || !strings.Contains(page, "Tỷ lệ cài đặt Bluezone") || !strings.Contains(page, `class="bar-fill`) {
			t.Errorf("adoption page: %d", c)
		}
		// Unregister erases.
		if c, _, _ := e.send("DELETE", "/api/v1/bluezone/devices/self", "", nil, map[string]string{deviceHeader: regOut.Token}); c != 204 {
			t.Errorf("delete: %d", c)
		}
		if c, _, _ := e.send("GET", "/api/v1/bluezone/devices/self", "", nil, map[string]string{deviceHeader: regOut.Token}); c != 401 {
			t.Errorf("after delete: %d", c)
		}
		_ = auth.ActionView
	})
}

// syncSequences moves PostgreSQL's id sequences past bulk-inserted rows.
func syncSequences(t *testing.T, db *sqldb.DB) {
	if db.Engine != sqldb.Postgres {
		return
	}
	for _, table := range []string{"people", "bz_devices"} {
		if _, err := db.W.Exec(fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), (SELECT max(id) FROM %[1]s) + 1, false)", table)); err != nil {
			t.Fatal(err)
		}
	}
}

// handedDigits is a tracer code's length (tests here name a variable otp).
const handedDigits = otp.HandedDigits

// A tracer names the F0 by what they know: a phone (however typed), an ID
// number, a scanned personal QR or chip ID card QR; never our internal id.
// Unknown, malformed and forged answers get a message on the field.
func TestBluezoneNamesTheF0(t *testing.T) {
	e := newBTEnv(t, storetest.SQLite(t))
	decl := provenDeclaration(t, e.env)
	card := "079085001234||Nguyễn Thị Hoa|15031985|Nữ|123 Hùng Vương, Phường 1, Tân An, Long An|01072021"
	ctx := context.Background()
	ps := people.NewService(e.db, e.vault)
	hoa, err := ps.FindOrCreate(ctx, people.Person{Name: "Nguyễn Thị Hoa", Phone: "0977000111", IDNumber: "079085001234", BirthYear: 1985, Commune: "27991"})
	if err != nil {
		t.Fatal(err)
	}
	issuedFor := func() int64 {
		var id int64
		e.db.R.QueryRow("SELECT person_id FROM otp_codes ORDER BY id DESC LIMIT 1").Scan(&id)
		return id
	}
	for _, c := range []struct {
		who  string
		want int64
	}{
		{"0911 222 333", decl.PersonID},
		{"+84911222333", decl.PersonID},
		{"091.122.2333", decl.PersonID},
		{decl.QRURL, decl.PersonID},
		{"079085001234", hoa},
		{card, hoa},
	} {
		code, body := e.do("POST", "/api/v1/bluetooth/codes", "tracera", map[string]any{"who": c.who, "purpose": "bz_log"})
		if code != 201 || issuedFor() != c.want {
			t.Errorf("%q: %d %s, issued for %d, want %d", c.who, code, body, issuedFor(), c.want)
		}
	}
	for _, c := range []struct{ who, want string }{
		{"0999888777", "Không tìm thấy"},
		{"abc", "số điện thoại"},
		{"12", "số điện thoại"},
		{e.srv.URL + "/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "mã QR"},
		{"079|Tên|x", "mã QR"},
	} {
		code, body := e.do("POST", "/api/v1/bluetooth/codes", "tracera", map[string]any{"who": c.who, "purpose": "bz_log"})
		if code != 400 || !strings.Contains(body, `"who"`) || !strings.Contains(body, c.want) {
			t.Errorf("%q: %d %s, want 400 on who saying %q", c.who, code, body, c.want)
		}
	}
	// The page: contacts by phone, and a clear message (not an error page)
	// for a phone nobody has.
	b := e.browser(t, "tracera")
	code, page := postForm(t, b, e.srv.URL+"/bluezone/contacts", url.Values{"who": {"0911222333"}})
	if code != 200 || !strings.Contains(page, "Đặng Văn Lâm") || !strings.Contains(page, `id="contacts"`) {
		t.Fatalf("contacts by phone: %d %s", code, page)
	}
	code, page = postForm(t, b, e.srv.URL+"/bluezone/contacts", url.Values{"who": {"0999888777"}})
	if code != 200 || !strings.Contains(page, "Không tìm thấy người này") || strings.Contains(page, `id="contacts"`) {
		t.Fatalf("contacts of nobody: %d %s", code, page)
	}
	if strings.Contains(page, `name="person_id"`) || strings.Contains(page, `name="person"`) {
		t.Fatal("the page still asks for an internal id")
	}
}
