package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"anticovid/internal/declaration"
	"anticovid/internal/people"
	"anticovid/internal/store/storetest"
)

// postJSON sends body with cookies and returns the status, the body and the
// cookies set.
func (e *env) postJSON(path string, body any, cookies ...*http.Cookie) (int, string, []*http.Cookie) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Cookies()
}

// scanAnswer is the part of a check-in answer these tests read.
type scanAnswer struct {
	PersonToken string `json:"person_token"`
	Proof       int    `json:"proof"`
}

// The proof flow: a code goes to the phone stored for the device's person,
// the right code sets a signed cookie, and only that cookie, for that
// person, makes a check-in proven.
func TestPhoneProof(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := context.Background()
	tok := e.keys.Sign(e.venues["Chợ Bến Lức"], 1)
	n := 0
	checkin := func(person map[string]any, personToken string, cookies ...*http.Cookie) scanAnswer {
		t.Helper()
		n++
		body := map[string]any{"id": "proof-" + strings.Repeat("0", 8) + itoa64(int64(n)), "token": tok, "direction": "in"}
		if personToken != "" {
			body["person_token"] = personToken
		} else {
			body["person"] = person
		}
		code, b, _ := e.postJSON("/api/v1/checkins", body, cookies...)
		var a scanAnswer
		if json.Unmarshal([]byte(b), &a); code != 201 {
			t.Fatalf("check-in: %d %s", code, b)
		}
		var stored int
		e.db.R.QueryRow("SELECT proof FROM visits WHERE id = $1", body["id"]).Scan(&stored)
		if stored != a.Proof {
			t.Fatalf("answered proof %d, stored %d", a.Proof, stored)
		}
		return a
	}
	an := map[string]any{"name": "Võ Thị Sáu", "phone": "0901 111 222", "birth_year": 1990, "commune_code": "27991"}
	bich := map[string]any{"name": "Phạm Ngọc Bích", "phone": "0903 333 444", "birth_year": 1992, "commune_code": "27991"}
	first := checkin(an, "")
	if first.Proof != 0 {
		t.Fatalf("typed details proven: %+v", first)
	}

	// Asking for a code: only for a person the device holds a token for,
	// and it goes to that person's stored phone, whatever else is sent.
	if code, b, _ := e.postJSON("/api/v1/proof/code", map[string]any{"person_token": "AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAA"}); code != 400 || !strings.Contains(b, `"person_token"`) {
		t.Fatalf("forged person token: %d %s", code, b)
	}
	code, b, _ := e.postJSON("/api/v1/proof/code", map[string]any{"person_token": first.PersonToken, "phone": "0999999999"})
	if code != 200 || !strings.Contains(b, `"phone":"*******222"`) || strings.Contains(b, `"code"`) {
		t.Fatalf("code: %d %s", code, b)
	}
	e.outbox.Deliver(ctx)
	msgs := e.sms.Messages()
	if len(msgs) != 1 || msgs[0].To != "0901111222" {
		t.Fatalf("SMS %+v, want one to the stored phone", msgs)
	}
	sent := regexp.MustCompile(`\b\d{6}\b`).FindString(msgs[0].Body)

	// A wrong code sets nothing; the right one sets the cookie.
	wrong := "000000"
	if sent == wrong {
		wrong = "111111"
	}
	if code, b, cs := e.postJSON("/api/v1/proof", map[string]any{"person_token": first.PersonToken, "code": wrong}); code != 400 || !strings.Contains(b, `"code"`) || len(cs) != 0 {
		t.Fatalf("wrong code: %d %s %v", code, b, cs)
	}
	code, b, cs := e.postJSON("/api/v1/proof", map[string]any{"person_token": first.PersonToken, "code": sent})
	if code != 200 || len(cs) != 1 || cs[0].Name != people.ProofCookie || !cs[0].HttpOnly || cs[0].Path != "/" || cs[0].MaxAge < 300*24*3600 {
		t.Fatalf("right code: %d %s %+v", code, b, cs)
	}
	proof := cs[0]
	if code, b, _ := e.postJSON("/api/v1/proof", map[string]any{"person_token": first.PersonToken, "code": sent}); code != 400 {
		t.Fatalf("code used twice: %d %s", code, b)
	}

	// With the cookie, the proven person's scans are proven, by token or details.
	if a := checkin(nil, first.PersonToken, proof); a.Proof != 1 {
		t.Errorf("proven device, own token: %+v", a)
	}
	if a := checkin(an, "", proof); a.Proof != 1 {
		t.Errorf("proven device, own details: %+v", a)
	}
	// Everything else is unproven.
	other := checkin(bich, "")
	ppl := people.NewService(e.db, e.vault)
	anID, _ := e.scans.PersonOf(first.PersonToken)
	bichID, _ := e.scans.PersonOf(other.PersonToken)
	altered := *proof
	altered.Value = altered.Value[:10] + map[bool]string{true: "B", false: "A"}[altered.Value[10] == 'A'] + altered.Value[11:]
	for name, c := range map[string]struct {
		person map[string]any
		token  string
		cookie *http.Cookie
	}{
		"another phone types the proven person's details": {an, "", nil},
		"a token from typed details of the proven person": {nil, checkin(an, "").PersonToken, nil},
		"forged cookie":            {nil, first.PersonToken, &http.Cookie{Name: people.ProofCookie, Value: "AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		"altered cookie":           {nil, first.PersonToken, &altered},
		"expired cookie":           {nil, first.PersonToken, &http.Cookie{Name: people.ProofCookie, Value: ppl.ProofToken(anID, time.Now().Add(-people.ProofTTL-time.Hour))}},
		"cookie of another person": {nil, first.PersonToken, &http.Cookie{Name: people.ProofCookie, Value: ppl.ProofToken(bichID, time.Now())}},
		"the proven device scanning another person's details":   {bich, "", proof},
		"the proven device scanning another person's token":     {nil, other.PersonToken, proof},
		"a person token from typed details with a stolen proof": {nil, checkin(bich, "").PersonToken, proof},
	} {
		var cookies []*http.Cookie
		if c.cookie != nil {
			cookies = append(cookies, c.cookie)
		}
		if a := checkin(c.person, c.token, cookies...); a.Proof != 0 {
			t.Errorf("%s: proven %+v", name, a)
		}
	}

	// The form without JavaScript reads the same cookie.
	form := url.Values{"id": {"proof-form-00000001"}, "direction": {"in"}, "name": {"Võ Thị Sáu"}, "phone": {"0901111222"}, "birth_year": {"1990"}, "commune_code": {"27991"}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/c/"+tok, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(proof)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("form: %v %v", resp, err)
	}
	var stored int
	e.db.R.QueryRow("SELECT proof FROM visits WHERE id = 'proof-form-00000001'").Scan(&stored)
	if stored != 1 {
		t.Fatalf("form check-in with the proof cookie: proof %d", stored)
	}

	// In a demo the code is handed back to be shown.
	e.otp.Reveal = true
	e.otp.Now = func() time.Time { return time.Now().Add(2 * time.Minute) } // past the resend gap
	if code, b, _ := e.postJSON("/api/v1/proof/code", map[string]any{"person_token": other.PersonToken}); code != 200 || !regexp.MustCompile(`"code":"\d{6}"`).MatchString(b) {
		t.Fatalf("demo code: %d %s", code, b)
	}
}

// Staff scans: a chip ID card, or the personal QR of a proven declaration,
// is seen by staff (grade 2); a personal QR issued without proof (before
// proofs existed), or a phone typed in, is not.
func TestStaffScanEvidence(t *testing.T) {
	e, market, decl, card := newStaffEnv(t)
	unprovenQR := e.decl.Sign(declaration.Claims{PersonID: decl.PersonID, DeclarationID: decl.ID, Expires: time.Now().Add(time.Hour)})
	for _, c := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"proven person's personal QR", map[string]any{"id": "staff-ev-01", "direction": "in", "qr": decl.QRURL}, 2},
		{"personal QR issued without proof", map[string]any{"id": "staff-ev-05", "direction": "in", "qr": unprovenQR}, 0},
		{"chip ID card", map[string]any{"id": "staff-ev-02", "direction": "in", "qr": card}, 2},
		{"known phone typed", map[string]any{"id": "staff-ev-03", "direction": "in", "phone": "0911222333"}, 0},
		{"new phone typed", map[string]any{"id": "staff-ev-04", "direction": "in", "phone": "0999888777", "name": "Mai Văn Tư", "birth_year": 1950}, 0},
	} {
		code, body := e.do("POST", "/api/v1/venues/"+market+"/scans", "managera", c.body)
		var stored int
		e.db.R.QueryRow("SELECT proof FROM visits WHERE id = $1", c.body["id"]).Scan(&stored)
		if code != 201 || stored != c.want {
			t.Errorf("%s: %d %s, stored proof %d, want %d", c.name, code, body, stored, c.want)
		}
	}
}

// The venue registration page shows the code it sent only in a demo.
func TestVenueRegistrationDemoCode(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	c := &http.Client{}
	code, body := post(t, c, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {"0909 123 456"}})
	if code != 200 || strings.Contains(body, `id="demo-code"`) {
		t.Fatalf("without a demo: %d, code shown %v", code, strings.Contains(body, `id="demo-code"`))
	}
	e.otp.Reveal = true
	code, body = post(t, c, e.srv.URL+"/dang-ky-dia-diem/ma", url.Values{"phone": {"0909 777 888"}})
	if code != 200 || !regexp.MustCompile(`id="demo-code">[^<]*<strong>\d{6}</strong>`).MatchString(body) {
		t.Fatalf("demo: %d %s", code, body)
	}
}
