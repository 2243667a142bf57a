package web

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"anticovid/internal/config"
	"anticovid/internal/declaration"
	"anticovid/internal/store/storetest"
	"anticovid/internal/venue"
)

// TestLogsHoldNoPersonalData serves personal QR pages (the token is in the
// path), a venue's check-in page and a health declaration (phone, ID number,
// name in the body) with the log at debug level, and fails if the log holds
// the token, the phone, the ID number or the name; it does hold the routes.
func TestLogsHoldNoPersonalData(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	var logs bytes.Buffer // read once the server has closed, so no request writes to it then
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10, LogLevel: "debug", CheckinRate: 20}
	s := New(Deps{Config: cfg, DB: e.db, Auth: e.auth, People: e.decl.People, Checkins: e.scans, Keys: e.keys,
		Venues: &venue.Service{DB: e.db, Vault: e.vault, Signer: e.keys, BaseURL: "http://anticovid.test"},
		Outbox: e.outbox, Declarations: e.decl, OTP: e.otp, Cases: e.cases,
		Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	srv := httptest.NewServer(contract(t, s))
	e.srv = srv
	tok := e.decl.Sign(declaration.Claims{PersonID: 1, DeclarationID: 1, Expires: time.Now().Add(time.Hour)})
	venueTok := e.keys.Sign(e.venues["Chợ Bến Lức"], 1)
	secrets := []string{tok, "0912345678", "84912345678", "079085001234", "Nguyễn Văn An"}
	for _, path := range []string{"/p/" + tok, "/p/" + tok + "/qr.png", "/p/" + tok + "/qr.svg", "/c/" + venueTok} {
		e.do("GET", path, "", nil)
	}
	if code, body := e.do("POST", "/api/v1/declarations", "", declBody("0912345678", "Nguyễn Văn An", "27991", nil, false)); code != 201 {
		t.Fatalf("declaration: %d %s", code, body)
	}
	e.do("POST", "/api/v1/declarations", "", `{"phone":"0912345678","id_number":"079085001234",`) // malformed: the error must not echo it
	srv.Close()                                                                                   // waits for every request's log line
	out := logs.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log holds %q:\n%s", s, out)
		}
	}
	for _, want := range []string{`"route":"GET /p/{token}"`, `"route":"POST /api/v1/declarations"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
