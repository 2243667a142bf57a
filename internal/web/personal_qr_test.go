package web

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"anticovid/internal/declaration"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// TestPersonalQR: the PNG decodes (zbarimg) to the URL the API returned; the
// page behind it says whether it is valid, without personal data; altered
// and expired tokens are refused.
func TestPersonalQR(t *testing.T) {
	e, decl := declEnv(t, storetest.SQLite(t), 0)
	code, body := e.do("POST", "/api/v1/declarations", "", declBody("0912345678", "Nguyễn Văn An", "27991", nil, false))
	var res declaration.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil || code != 201 || res.Token != "" {
		t.Fatalf("declare: %d %s", code, body)
	}
	// The device proves the phone (the proof step), and gets the QR.
	res = proveDecl(t, decl, res)
	resp, err := http.Get(e.srv.URL + "/p/" + res.Token + "/qr.png?size=400")
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zbar := testenv.Command(t, "zbarimg")
	path := filepath.Join(t.TempDir(), "qr.png")
	os.WriteFile(path, png, 0o644)
	out, err := exec.Command(zbar, "--quiet", "--raw", path).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != res.QRURL {
		t.Fatalf("decoded %q, want %q", got, res.QRURL)
	}
	// What a staff scanner does with the decoded text.
	scan, err := decl.ParseScan(strings.TrimSpace(string(out)))
	if err != nil || scan.Kind != declaration.ScanPersonal || scan.Personal.DeclarationID != res.ID {
		t.Fatalf("ParseScan of the decoded QR: %+v %v", scan, err)
	}
	code, page := get(t, http.DefaultClient, res.QRURL)
	if code != 200 || !strings.Contains(page, "Mã QR khai báo y tế hợp lệ") || !strings.Contains(page, "Hiệu lực đến") || strings.Contains(page, "Nguyễn Văn An") || strings.Contains(page, "0912345678") {
		t.Errorf("QR page: %d (must be valid and show no personal data)", code)
	}
	if code, page := get(t, http.DefaultClient, res.QRURL+"/qr.svg"); code != 200 || !strings.HasPrefix(page, "<svg") {
		t.Errorf("qr.svg: %d", code)
	}
	flip := byte('A')
	if res.Token[5] == 'A' {
		flip = 'B'
	}
	altered := res.Token[:5] + string(flip) + res.Token[6:]
	for _, u := range []string{"/p/" + altered, "/p/" + altered + "/qr.png", "/p/nonsense/qr.svg"} {
		if code, page := get(t, http.DefaultClient, e.srv.URL+u); code != 400 || !strings.Contains(page, "không hợp lệ") {
			t.Errorf("%s: %d, want 400 with a reason", u, code)
		}
	}
	old := decl.Sign(declaration.Claims{PersonID: 1, DeclarationID: res.ID, Expires: time.Now().Add(-time.Hour)})
	if code, page := get(t, http.DefaultClient, e.srv.URL+"/p/"+old); code != 400 || !strings.Contains(page, "đã hết hạn") {
		t.Errorf("expired: %d", code)
	}
}
