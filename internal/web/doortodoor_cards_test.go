package web

import (
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"anticovid/internal/declaration"
	"anticovid/internal/doortodoor"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// assistedInput is a declaration as the volunteer's page fills it in.
func assistedInput(name, phone string) declaration.Input {
	no, doses := false, 2
	return declaration.Input{Kind: declaration.KindResident, Name: name, BirthYear: 1948, Sex: "male", Nationality: "Việt Nam",
		Phone: phone, CommuneCode: "27991", Street: "Số 1", ContactCase: &no, AnimalMarket: &no, VaccineDoses: &doses}
}

var cardIDRe = regexp.MustCompile(`name="id" value="([^"]+)"`)

// printDoorCards has a commune officer open the cards page, check the
// names are there, and print every card listed as one PDF; it returns the
// QR codes zbarimg reads in the PDF's pages, as a printer would print them.
func printDoorCards(t *testing.T, e *env, officer string, names ...string) []string {
	t.Helper()
	pdftoppm := testenv.Command(t, "pdftoppm")
	c := e.browser(t, officer)
	code, page := get(t, c, e.srv.URL+"/door-to-door/cards?unit=27991")
	if code != 200 {
		t.Fatalf("cards page: %d", code)
	}
	for _, n := range names {
		if !strings.Contains(page, n) {
			t.Fatalf("cards page lacks %s", n)
		}
	}
	var ids []string
	for _, m := range cardIDRe.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != len(names) {
		t.Fatalf("cards listed: %d, want %d", len(ids), len(names))
	}
	resp, err := c.PostForm(e.srv.URL+"/door-to-door/cards/print?unit=27991", url.Values{"id": ids})
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("print: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	file := filepath.Join(t.TempDir(), "cards.pdf")
	os.WriteFile(file, pdf, 0o644)
	var urls []string
	for _, p := range pdfPages(t, pdftoppm, file) {
		urls = append(urls, zbarRead(t, p)...)
	}
	// Printed: no longer listed.
	if _, page := get(t, c, e.srv.URL+"/door-to-door/cards?unit=27991"); !strings.Contains(page, `id="cards-none"`) {
		t.Fatal("printed cards still listed")
	}
	return urls
}

// checkDoorCards verifies each printed QR (declaration.Service.Verify) and
// that it names the person the declaration made; a staff scan of the
// first records that person at a market.
func checkDoorCards(t *testing.T, e *env, urls []string, phones map[string]bool) {
	t.Helper()
	if len(urls) != len(phones) {
		t.Fatalf("QR codes read: %d, want %d", len(urls), len(phones))
	}
	var first declaration.Claims
	for i, u := range urls {
		tok, ok := strings.CutPrefix(u, e.decl.BaseURL+"/p/")
		if !ok {
			t.Fatalf("QR %q is not a personal QR link", u)
		}
		c, err := e.decl.Verify(tok)
		if err != nil || c.Proof != declaration.Unproven {
			t.Fatalf("QR %d: %+v %v", i, c, err)
		}
		p, err := e.decl.People.Get(t.Context(), c.PersonID)
		if err != nil || !phones[p.Phone] {
			t.Fatalf("QR %d names person %d (%v)", i, c.PersonID, err)
		}
		if i == 0 {
			first = c
		}
	}
	market := e.venues["Chợ Bến Lức"]
	code, body := e.do("POST", "/api/v1/venues/"+itoa64(market)+"/scans", "managera", map[string]any{"id": "staff-door-0001", "direction": "in", "qr": urls[0]})
	if code != 201 {
		t.Fatalf("staff scan: %d %s", code, body)
	}
	var person int64
	e.db.R.QueryRow("SELECT person_id FROM visits WHERE venue_id = $1 ORDER BY id DESC LIMIT 1", market).Scan(&person)
	if person != first.PersonID {
		t.Fatalf("staff scan recorded person %d, want %d", person, first.PersonID)
	}
}

// Declarations filled in with help over HTTP: sealed to the key the link
// gives, synced once however often they are sent, refused when altered or
// from another team, counted in the coverage; the officer (not another
// commune's) lists the cards, the list read is audited, and the printed
// QR codes verify and scan.
func TestDoorToDoorAssistedCards(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	tok := doorSetup(t, e, "communea", "27991", "hamlet,address\nẤp 1,Số 1\n")
	_, body := doorAPI(t, e, "GET", "/api/v1/door/households", tok, nil)
	var list doorHouseholdsAnswer
	if json.Unmarshal([]byte(body), &list) != nil || list.PublicKey == "" {
		t.Fatalf("households: %s", body)
	}
	h := list.Households[0].ID
	var batch doortodoor.Batch
	for i, p := range []struct{ name, phone string }{{"Huỳnh Văn Mười Một", "0933000111"}, {"Ngô Thị Mười Hai", "0933000222"}} {
		plain, _ := json.Marshal(assistedInput(p.name, p.phone))
		d := doortodoor.SealedDeclaration{ID: "eeeeeeee-0000-4000-8000-00000000000" + itoa64(int64(i+1)), HouseholdID: h, MadeAt: time.Now().Add(-time.Minute).Unix()}
		if err := doortodoor.SealDeclaration(list.PublicKey, list.Team.ID, &d, plain); err != nil {
			t.Fatal(err)
		}
		batch.Declarations = append(batch.Declarations, d)
	}
	altered := batch
	altered.Declarations = []doortodoor.SealedDeclaration{batch.Declarations[0]}
	altered.Declarations[0].Data = testenv.Alter(altered.Declarations[0].Data, 0)
	if code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", tok, altered); code != 400 || !strings.Contains(body, "declarations[0]") {
		t.Fatalf("altered: %d %s", code, body)
	}
	tokB := doorSetup(t, e, "communeb", "27994", "hamlet,address\nẤp Bình,Số 9\n")
	if code, _ := doorAPI(t, e, "POST", "/api/v1/door/visits", tokB, batch); code != 403 {
		t.Fatalf("another commune's link: %d", code)
	}
	for i, want := range []string{"created", "duplicate"} {
		code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", tok, batch)
		var ans doortodoor.Synced
		if code != 200 || json.Unmarshal([]byte(body), &ans) != nil || ans.Declarations[0].Status != want || ans.Declarations[1].Status != want {
			t.Fatalf("send %d: %d %s", i, code, body)
		}
	}
	if n := count(t, db, "declarations"); n != 2 {
		t.Fatalf("declarations stored: %d", n)
	}
	if code, body := e.do("GET", "/api/v1/door-to-door/coverage", "communea", nil); code != 200 || !strings.Contains(body, `"assisted_declarations":2`) {
		t.Fatalf("coverage: %d %s", code, body)
	}
	for user, want := range map[string]int{"communeb": 403, "managera": 403, "benluc": 200} {
		if code, _ := e.do("GET", "/door-to-door/cards?unit=27991", user, nil); code != want {
			t.Errorf("cards as %s: %d, want %d", user, code, want)
		}
	}
	if code, _ := e.do("POST", "/door-to-door/cards/print?unit=27991", "communeb", nil); code != 403 && code != 400 {
		t.Errorf("print as communeb: %d", code)
	}
	urls := printDoorCards(t, e, "communea", "Huỳnh Văn Mười Một", "Ngô Thị Mười Hai")
	var views, exports int
	db.R.QueryRow("SELECT count(*) FROM audit_log WHERE username = 'communea' AND action = 'view' AND purpose = 'door-to-door cards'").Scan(&views)
	db.R.QueryRow("SELECT count(*) FROM audit_log WHERE username = 'communea' AND action = 'export' AND purpose = 'door-to-door cards print'").Scan(&exports)
	if views < 1 || exports != 1 { // the list, and the print as an export
		t.Fatalf("audit entries: %d views, %d exports", views, exports)
	}
	checkDoorCards(t, e, urls, map[string]bool{"0933000111": true, "0933000222": true})

	// The download was lost: the printed list has both cards, and printing
	// them again gives the same QR codes, audited as a reprint.
	c := e.browser(t, "communea")
	code, page := get(t, c, e.srv.URL+"/door-to-door/cards?unit=27991&printed=1")
	if code != 200 || !strings.Contains(page, "Huỳnh Văn Mười Một") || !strings.Contains(page, "In lại 2 thẻ") {
		t.Fatalf("printed cards page: %d", code)
	}
	var ids []string
	for _, m := range cardIDRe.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	resp, err := c.PostForm(e.srv.URL+"/door-to-door/cards/print?unit=27991", url.Values{"id": ids})
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(pdf), "%PDF") {
		t.Fatalf("reprint: %d", resp.StatusCode)
	}
	file := filepath.Join(t.TempDir(), "again.pdf")
	os.WriteFile(file, pdf, 0o644)
	var again []string
	for _, p := range pdfPages(t, testenv.Command(t, "pdftoppm"), file) {
		again = append(again, zbarRead(t, p)...)
	}
	if strings.Join(again, " ") != strings.Join(urls, " ") {
		t.Fatalf("reprinted QR codes differ:\n%v\n%v", again, urls)
	}
	db.R.QueryRow("SELECT count(*) FROM audit_log WHERE username = 'communea' AND action = 'export' AND purpose = 'door-to-door cards reprint'").Scan(&exports)
	if exports != 1 {
		t.Fatalf("reprint audit entries: %d", exports)
	}

	// A declaration typed with the first resident's phone but another name:
	// its card names the name declared, and its QR is not the phone owner's.
	plain, _ := json.Marshal(assistedInput("Kẻ Mạo Danh", "0933000111"))
	d := doortodoor.SealedDeclaration{ID: "eeeeeeee-0000-4000-8000-000000000009", HouseholdID: h, MadeAt: time.Now().Add(-time.Minute).Unix()}
	if err := doortodoor.SealDeclaration(list.PublicKey, list.Team.ID, &d, plain); err != nil {
		t.Fatal(err)
	}
	if code, body := doorAPI(t, e, "POST", "/api/v1/door/visits", tok, doortodoor.Batch{Declarations: []doortodoor.SealedDeclaration{d}}); code != 200 {
		t.Fatalf("stranger's phone: %d %s", code, body)
	}
	_, page = get(t, c, e.srv.URL+"/door-to-door/cards?unit=27991")
	if !strings.Contains(page, "Kẻ Mạo Danh") || strings.Contains(page, "Huỳnh Văn Mười Một") {
		t.Fatal("the card of a declaration with a stranger's phone does not name what was declared")
	}
	owner, err := e.decl.People.ByPhone(t.Context(), "0933000111")
	var person int64
	db.R.QueryRow("SELECT person_id FROM declarations ORDER BY id DESC LIMIT 1").Scan(&person)
	if err != nil || len(owner) != 1 || person == owner[0] {
		t.Fatalf("the stranger's declaration is person %d; the phone's owner %v (%v)", person, owner, err)
	}
}
