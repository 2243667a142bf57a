package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/config"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// fetch GETs a file as username (by bearer token) and fails unless it
// answers 200 with the content type ctype ("" accepts any).
func (e *env) fetch(t *testing.T, path, username, ctype string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[username])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s as %s: %d %s", path, username, resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); ctype != "" && got != ctype {
		t.Fatalf("GET %s: Content-Type %q, want %q", path, got, ctype)
	}
	return body
}

// zbarRead decodes every QR code in an image file with Debian's zbarimg.
func zbarRead(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command(testenv.Command(t, "zbarimg"), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v (no code found?)", path, err)
	}
	return strings.Fields(string(out))
}

func venueQRURL(t *testing.T, e *env, id int64, username string) string {
	t.Helper()
	var v struct {
		QRURL string `json:"qr_url"`
	}
	json.Unmarshal(e.fetch(t, fmt.Sprintf("/api/v1/venues/%d", id), username, ""), &v)
	if v.QRURL == "" {
		t.Fatal("no qr_url")
	}
	return v.QRURL
}

// The QR code in the PNG and in the PDF poster (rasterised as a printer
// would) reads back as the venue's qr_url exactly; the poster's text keeps
// its Vietnamese diacritics; other communes get 403; a reissued code makes
// the old posters fail at the door at once.
func TestVenuePosters(t *testing.T) {
	pdftoppm := testenv.Command(t, "pdftoppm")
	pdftotext := testenv.Command(t, "pdftotext")
	e := newEnv(t, storetest.SQLite(t))
	dir := t.TempDir()
	hospital := e.venues["Bệnh viện Đa khoa Bến Lức"]
	want := venueQRURL(t, e, hospital, "communea")
	code, body := e.do("POST", "/api/v1/venues", "managera", map[string]any{"name": "Tạp hóa Cô Ba", "category": "shop", "commune_code": "27991"})
	var pending struct{ ID int64 }
	if json.Unmarshal([]byte(body), &pending); code != 201 || pending.ID == 0 {
		t.Fatalf("pending venue: %d %s", code, body)
	}

	png := e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/qr.png?size=600", hospital), "communea", "image/png")
	os.WriteFile(filepath.Join(dir, "qr.png"), png, 0o644)
	if got := zbarRead(t, filepath.Join(dir, "qr.png")); len(got) != 1 || got[0] != want {
		t.Fatalf("PNG reads %q, want %q", got, want)
	}
	if svg := string(e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/qr.svg", hospital), "benluc", "image/svg+xml")); !strings.Contains(svg, "<svg") {
		t.Fatalf("SVG: %.100s", svg)
	}
	pdf := filepath.Join(dir, "poster.pdf")
	os.WriteFile(pdf, e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/poster.pdf", hospital), "communea", "application/pdf"), 0o644)
	text := pdfText(t, pdftotext, pdf)
	for _, frag := range []string{"Bệnh viện Đa khoa Bến Lức", "Bệnh viện", "Thị trấn Bến Lức, huyện Bến Lức", "MÃ QR ĐIỂM KIỂM SOÁT RA VÀO", "Quét mã này khi vào và khi ra"} {
		if !strings.Contains(text, frag) {
			t.Errorf("poster text lacks %q:\n%s", frag, text)
		}
	}
	pages := pdfPages(t, pdftoppm, pdf)
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	if got := zbarRead(t, pages[0]); len(got) != 1 || got[0] != want {
		t.Fatalf("poster reads %q, want %q", got, want)
	}
	keep(t, pages[0], "venue-poster.png")

	// Jurisdiction, and only approved venues.
	for _, c := range []struct {
		path, user string
		status     int
		fragment   string
	}{
		{fmt.Sprintf("/api/v1/venues/%d/poster.pdf", hospital), "communeb", 403, `"forbidden"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", hospital), "tanan", 403, `"forbidden"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.svg", hospital), "managera", 403, `"forbidden"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", hospital), "", 401, `"unauthorized"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png?size=5", hospital), "admin", 400, `"size"`},
		{fmt.Sprintf("/api/v1/venues/%d/poster.pdf", pending.ID), "managera", 400, "Chỉ địa điểm đã được duyệt mới có mã QR; địa điểm này: Chờ duyệt"},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", pending.ID), "communea", 400, `"status"`},
		{fmt.Sprintf("/api/v1/venues/%d/qr.png", e.venues["Chợ Hàng Da"]), "admin", 403, `"forbidden"`},
		{"/api/v1/venues/999999/poster.pdf", "admin", 404, `"not_found"`},
		{"/api/v1/units/27994/posters.pdf", "communea", 403, `"forbidden"`},
		{"/api/v1/units/00004/posters.pdf", "benluc", 403, `"forbidden"`},
		{"/api/v1/units/803/posters.pdf", "benluc", 400, "theo từng xã"},
		{"/api/v1/units/99999/posters.pdf", "admin", 404, `"not_found"`},
		{"/api/v1/units/27997/posters.pdf", "benluc", 400, "chưa có địa điểm nào"},
	} {
		if code, body := e.do("GET", c.path, c.user, nil); code != c.status || !strings.Contains(body, c.fragment) {
			t.Errorf("GET %s as %q: %d %.200s, want %d %s", c.path, c.user, code, body, c.status, c.fragment)
		}
	}

	// A commune's batch: every approved venue of the commune (not the
	// pending one), one page each.
	batch := filepath.Join(dir, "commune.pdf")
	os.WriteFile(batch, e.fetch(t, "/api/v1/units/27991/posters.pdf", "communea", "application/pdf"), 0o644)
	pages = pdfPages(t, pdftoppm, batch)
	text = pdfText(t, pdftotext, batch)
	if len(pages) != 2 || !strings.Contains(text, "Chợ Bến Lức") || !strings.Contains(text, "Bệnh viện Đa khoa Bến Lức") ||
		strings.Contains(text, "Thạnh Lợi") || strings.Contains(text, "Cô Ba") {
		t.Fatalf("commune batch: %d pages\n%s", len(pages), text)
	}
	wantURLs := map[string]bool{want: true, venueQRURL(t, e, e.venues["Chợ Bến Lức"], "communea"): true}
	for _, p := range pages {
		if got := zbarRead(t, p); len(got) != 1 || !wantURLs[got[0]] {
			t.Errorf("%s reads %q", filepath.Base(p), got)
		}
	}
	// Parts: with one poster a part, the first part names where the next begins.
	defer func(n int) { maxCommunePosters = n }(maxCommunePosters)
	maxCommunePosters = 1
	for i, part := range []struct{ query, next string }{{"", "1"}, {"?offset=1", ""}} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/units/27991/posters.pdf"+part.query, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["communea"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		partPDF := filepath.Join(dir, fmt.Sprintf("part%d.pdf", i))
		os.WriteFile(partPDF, b, 0o644)
		if n := len(pdfPages(t, pdftoppm, partPDF)); resp.StatusCode != 200 || n != 1 || resp.Header.Get("X-Next-Offset") != part.next {
			t.Fatalf("part %q: %d, %d pages, next %q", part.query, resp.StatusCode, n, resp.Header.Get("X-Next-Offset"))
		}
	}
	maxCommunePosters = 2000
	// A department officer's batch holds only their sector.
	os.WriteFile(batch, e.fetch(t, "/api/v1/units/27991/posters.pdf", "trade", "application/pdf"), 0o644)
	if text := pdfText(t, pdftotext, batch); !strings.Contains(text, "Chợ Bến Lức") || strings.Contains(text, "Bệnh viện") {
		t.Fatalf("trade's batch:\n%s", text)
	}

	// Reissue: the old token worked a moment ago and is refused at once after.
	old := strings.TrimPrefix(want, "http://anticovid.test/c/")
	scan := func(tok, id string) (int, string) {
		return e.do("POST", "/api/v1/checkins", "", map[string]any{"id": id, "token": tok, "direction": "in",
			"person": map[string]any{"name": "Trần Văn Bảy", "phone": "0987000111", "birth_year": 1980, "commune_code": "27991"}})
	}
	if code, body := scan(old, "8f0c1d9e-0000-4000-8000-000000000001"); code != 201 {
		t.Fatalf("check-in before reissue: %d %s", code, body)
	}
	if code, _ := e.do("POST", fmt.Sprintf("/api/v1/venues/%d/reissue", hospital), "communeb", nil); code != 403 {
		t.Fatalf("reissue by another commune: %d", code)
	}
	code, body = e.do("POST", fmt.Sprintf("/api/v1/venues/%d/reissue", hospital), "communea", nil)
	var re struct {
		QRURL        string `json:"qr_url"`
		ContactPhone string `json:"contact_phone"`
	}
	json.Unmarshal([]byte(body), &re)
	if code != 200 || re.QRURL == "" || re.QRURL == want || re.ContactPhone != "" {
		t.Fatalf("reissue: %d %s", code, body)
	}
	if code, body := scan(old, "8f0c1d9e-0000-4000-8000-000000000002"); code != 400 || !strings.Contains(body, "đã được thay bằng mã mới") {
		t.Fatalf("old poster after reissue: %d %s", code, body)
	}
	if code, body := scan(strings.TrimPrefix(re.QRURL, "http://anticovid.test/c/"), "8f0c1d9e-0000-4000-8000-000000000003"); code != 201 {
		t.Fatalf("new poster: %d %s", code, body)
	}
	os.WriteFile(filepath.Join(dir, "qr2.png"), e.fetch(t, fmt.Sprintf("/api/v1/venues/%d/qr.png", hospital), "communea", "image/png"), 0o644)
	if got := zbarRead(t, filepath.Join(dir, "qr2.png")); len(got) != 1 || got[0] != re.QRURL {
		t.Fatalf("PNG after reissue reads %q, want %q", got, re.QRURL)
	}
	// The page form does the same, redirecting back to the venue.
	officer := e.browser(t, "communea")
	code, page := post(t, officer, fmt.Sprintf("%s/venues/%d/reissue", e.srv.URL, hospital), nil)
	if code != 200 || !strings.Contains(page, "Bệnh viện Đa khoa Bến Lức") || venueQRURL(t, e, hospital, "communea") == re.QRURL {
		t.Fatalf("reissue form: %d", code)
	}
}

// keep copies a file to $ANTICOVID_SCREENSHOTS for people to look at.
func keep(t *testing.T, path, name string) {
	if dir := os.Getenv("ANTICOVID_SCREENSHOTS"); dir != "" {
		if b, err := os.ReadFile(path); err == nil {
			os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
	}
}

// pdfPages rasterises a PDF and returns the PNG of each page.
func pdfPages(t *testing.T, pdftoppm, pdf string) []string {
	t.Helper()
	out, err := exec.Command(pdftoppm, "-r", "120", "-png", pdf, strings.TrimSuffix(pdf, ".pdf")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(strings.TrimSuffix(pdf, ".pdf") + "-*.png")
	return pages
}

func pdfText(t *testing.T, pdftotext, pdf string) string {
	t.Helper()
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// BenchmarkCommunePosters serves one commune's batch of 300 A4 posters
// (a busy commune's approved venues) as one PDF, end to end over HTTP.
func BenchmarkCommunePosters(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	v, _ := vault.New(bytes.Repeat([]byte{42}, 32))
	keys, _ := token.NewKeyring()
	users := auth.NewService(db, time.Hour)
	officer, err := users.CreateUser(ctx, auth.NewUser{Username: "communea", Password: testPassword, Role: auth.CommuneOfficer, Unit: "27991"})
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := users.CreateToken(ctx, "communea", time.Hour)
	venues := &venue.Service{DB: db, Vault: v, Signer: keys, BaseURL: "https://qr.longan.gov.vn", Province: "80"}
	const n = 300
	var csv strings.Builder
	csv.WriteString("name,category,commune_code,address\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&csv, "Cửa hàng tạp hóa Bến Lức số %d,shop,27991,Số %d đường Nguyễn Hữu Thọ\n", i, i)
	}
	rows, _ := venue.ReadRows(strings.NewReader(csv.String()))
	if _, err := venues.Import(ctx, &officer.Principal, rows); err != nil {
		b.Fatal(err)
	}
	cfg := &config.Config{Province: "80", MaxBody: 1 << 20, SessionTTL: time.Hour, Retention: 21 * 24 * time.Hour}
	srv := httptest.NewServer(New(Deps{Config: cfg, DB: db, Auth: users, People: people.NewService(db, v), Venues: venues, Keys: keys,
		Outbox: &notify.Outbox{DB: db, Vault: v}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/units/27991/posters.pdf", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		size, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "posters/s")
	b.ReportMetric(float64(size)/n/1024, "KB/poster")
}
