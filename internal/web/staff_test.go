package web

import (
	"context"
	"strings"
	"testing"

	"anticovid/internal/declaration"
	"anticovid/internal/store/storetest"
)

// newStaffEnv is a server, its market's id, a resident's declaration (its
// personal QR) and a chip ID card's QR, for staff scans.
func newStaffEnv(t *testing.T) (*env, string, declaration.Result, string) {
	t.Helper()
	e := newEnv(t, storetest.SQLite(t))
	return e, itoa64(e.venues["Chợ Bến Lức"]), provenDeclaration(t, e), "079085001234||Nguyễn Thị Hoa|15031985|Nữ|123 Hùng Vương, Phường 1, Tân An, Long An|01072021"
}

// provenDeclaration is Đặng Văn Lâm's declaration (phone 0911222333) made on
// a device that proved the phone: it has its personal QR.
func provenDeclaration(t *testing.T, e *env) declaration.Result {
	t.Helper()
	no := false
	unproven, err := e.decl.Submit(context.Background(), declaration.Input{Kind: declaration.KindResident, Name: "Đặng Văn Lâm", BirthYear: 1960, Sex: "male",
		Nationality: "VN", Phone: "0911222333", CommuneCode: "27991", Street: "12 Nguyễn Trung Trực", ContactCase: &no, AnimalMarket: &no, VaccineDoses: new(int)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	decl, err := e.decl.Prove(context.Background(), unproven.Pending, unproven.PersonID)
	if err != nil {
		t.Fatal(err)
	}
	return decl
}

func TestStaffScans(t *testing.T) {
	e, market, decl, card := newStaffEnv(t)
	cases := []struct {
		name, user string
		body       map[string]any
		status     int
		frag       string
	}{
		{"personal QR", "managera", map[string]any{"id": "staff-0001", "direction": "in", "qr": decl.QRURL}, 201, `"kind":"personal"`},
		{"repeat", "managera", map[string]any{"id": "staff-0001", "direction": "in", "qr": decl.QRURL}, 200, `"created":false`},
		{"ID card", "managera", map[string]any{"id": "staff-0002", "direction": "in", "qr": card}, 201, `"who":"Nguyễn Thị Hoa · CCCD ***234"`},
		{"ID card without old number", "communea", map[string]any{"id": "staff-0003", "direction": "out", "qr": "079085001234|Nguyễn Thị Hoa|15031985|Nữ|123 Hùng Vương|01072021"}, 201, `"kind":"id_card"`},
		{"known phone", "managera", map[string]any{"id": "staff-0004", "direction": "in", "phone": "0911 222 333"}, 201, `"who":"*******333"`},
		{"new phone without name", "managera", map[string]any{"id": "staff-0005", "direction": "in", "phone": "0999888777"}, 400, `"name"`},
		{"new phone with name", "managera", map[string]any{"id": "staff-0006", "direction": "in", "phone": "0999888777", "name": "Mai Văn Tư", "birth_year": 1950}, 201, `"kind":"phone"`},
		{"insurance card", "managera", map[string]any{"id": "staff-0007", "direction": "in", "qr": "HS4797923123456"}, 400, `"scan"`},
		{"venue QR", "managera", map[string]any{"id": "staff-0008", "direction": "in", "qr": "http://anticovid.test/c/" + e.keys.Sign(1, 1)}, 400, `"scan"`},
		{"nothing", "managera", map[string]any{"id": "staff-0009", "direction": "in"}, 400, `"qr"`},
		{"other commune officer", "communeb", map[string]any{"id": "staff-0010", "direction": "in", "phone": "0911222333"}, 403, `"forbidden"`},
		{"tracer may not scan", "tracera", map[string]any{"id": "staff-0011", "direction": "in", "phone": "0911222333"}, 403, `"forbidden"`},
	}
	for _, c := range cases {
		code, body := e.do("POST", "/api/v1/venues/"+market+"/scans", c.user, c.body)
		if code != c.status || !strings.Contains(body, c.frag) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
		if strings.Contains(body, "person_token\":\"A") {
			t.Errorf("%s: staff response carries a person token", c.name)
		}
	}
	var visits, stays int
	e.db.R.QueryRow("SELECT count(*), count(DISTINCT person_id) FROM visits WHERE venue_id = $1", e.venues["Chợ Bến Lức"]).Scan(&visits, &stays)
	if visits != 4 || stays != 3 { // the card's check-out closed its check-in
		t.Fatalf("visits %d, people %d; want 4, 3", visits, stays)
	}
	// The staff page itself.
	c := e.browser(t, "managera")
	if code, body := get(t, c, e.srv.URL+"/venues/"+market+"/staff"); code != 200 || !strings.Contains(body, "Mở camera để quét mã") {
		t.Fatalf("staff page: %d", code)
	}
}
