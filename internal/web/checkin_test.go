package web

import (
	"fmt"
	"strings"
	"testing"

	"anticovid/internal/store/storetest"
)

func TestCheckinAPI(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	tok := e.keys.Sign(e.venues["Chợ Bến Lức"], 1)
	person := map[string]any{"name": "Võ Thị Sáu", "phone": "0901234567", "birth_year": 1990, "commune_code": "27991"}
	body := func(id string) map[string]any {
		return map[string]any{"id": id, "token": tok, "direction": "in", "person": person}
	}
	if code, b := e.do("POST", "/api/v1/checkins", "", body("dddddddd-0001")); code != 201 || !strings.Contains(b, `"venue_name":"Chợ Bến Lức"`) {
		t.Fatalf("new check-in: %d %s", code, b)
	}
	if code, b := e.do("POST", "/api/v1/checkins", "", body("dddddddd-0001")); code != 200 || !strings.Contains(b, `"created":false`) {
		t.Fatalf("repeat: %d %s", code, b)
	}
	bad := []struct {
		name   string
		body   any
		status int
		frag   string
	}{
		{"forged token", map[string]any{"id": "dddddddd-0002", "token": "AAAA" + tok[4:], "direction": "in", "person": person}, 400, `"token"`},
		{"unknown venue", map[string]any{"id": "dddddddd-0003", "token": e.keys.Sign(424242, 1), "direction": "in", "person": person}, 404, `"not_found"`},
		{"malformed JSON", `{"id": `, 400, `"body"`},
		{"oversize", `{"id":"` + strings.Repeat("x", 70<<10) + `"}`, 413, `"too_large"`},
		{"future", map[string]any{"id": "dddddddd-0004", "token": tok, "direction": "in", "at": "2099-01-01T00:00:00Z", "person": person}, 400, `"at"`},
	}
	for _, c := range bad {
		if code, b := e.do("POST", "/api/v1/checkins", "", c.body); code != c.status || !strings.Contains(b, c.frag) {
			t.Errorf("%s: %d %s", c.name, code, b)
		}
	}
	// A flood from one address is cut off with 429; what was refused is not stored.
	var ok, limited int
	for i := range 300 {
		switch code, _ := e.do("POST", "/api/v1/checkins", "", body(fmt.Sprintf("eeeeeeee-%04d", i))); code {
		case 201:
			ok++
		case 429:
			limited++
		default:
			t.Fatalf("flood: status %d", code)
		}
	}
	var stored int
	e.db.R.QueryRow("SELECT count(*) FROM visits WHERE id LIKE 'eeeeeeee-%'").Scan(&stored)
	if limited == 0 || ok != stored || ok > 200 {
		t.Fatalf("flood: %d accepted, %d limited, %d stored", ok, limited, stored)
	}
}
