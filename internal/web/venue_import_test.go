package web

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/sheet/sheettest"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// multipartFile builds a multipart body with one file field.
func multipartFile(t *testing.T, name string, data []byte) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	return w.FormDataContentType(), &b
}

// doRaw sends a body with a content type as username.
func (e *env) doRaw(t *testing.T, method, path, username, ctype string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	req.Header.Set("Content-Type", ctype)
	if username != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[username])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Bulk import over the API and the page: one bad row stores nothing and is
// reported by its line; an XLSX file imports; only officers may import.
func TestVenueImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		before := count(t, db, "venues")
		csv := "\ufeffname,category,commune_code,address,contact_phone,capacity\n" +
			"Nhà văn hóa khu phố 1,meeting,27991,Khu phố 1,,\n" + // an event without start and end
			"Quán cơm Bà Tư,restaurant,27991,Chợ cũ,0912 000 111,40\n" +
			"Tiệm vàng Kim Hưng,shop,27994,Quốc lộ 1A,,\n" + // another commune than communea's
			"Tạp hóa Út Em,shop,27991,Ấp 2,12ab,\n"
		code, body := e.doRaw(t, "POST", "/api/v1/venues/import", "communea", "text/csv", strings.NewReader(csv))
		var rep struct {
			Errors []struct {
				Row    int               `json:"row"`
				Fields map[string]string `json:"fields"`
			} `json:"errors"`
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal([]byte(body), &rep)
		if code != 400 || rep.Error.Code != "invalid" || len(rep.Errors) != 3 || rep.Errors[0].Row != 2 || rep.Errors[0].Fields["ends_at"] == "" ||
			rep.Errors[1].Row != 4 || !strings.Contains(rep.Errors[1].Fields["commune_code"], "ngoài địa bàn") ||
			rep.Errors[2].Row != 5 || rep.Errors[2].Fields["contact_phone"] == "" {
			t.Fatalf("report: %d %s", code, body)
		}
		if n := count(t, db, "venues"); n != before {
			t.Fatalf("a refused file stored %d venues", n-before)
		}

		// The same rows fixed, as XLSX through a multipart upload.
		f := excelize.NewFile()
		f.SetSheetRow("Sheet1", "A1", &[]any{"name", "category", "commune_code", "starts_at", "ends_at", "plate", "route"})
		f.SetSheetRow("Sheet1", "A2", &[]any{"Hội nghị khu phố 1", "meeting", "27991", "2021-08-05 08:00", "2021-08-05 11:00"})
		f.SetSheetRow("Sheet1", "A3", &[]any{"Xe buýt Tân An – Bến Lức", "Xe buýt", 27991, "", "", "62B-000.01", "Tân An – Bến Lức"})
		var x bytes.Buffer
		f.Write(&x)
		ctype, mp := multipartFile(t, "dia-diem.xlsx", x.Bytes())
		code, body = e.doRaw(t, "POST", "/api/v1/venues/import", "communea", ctype, mp)
		if code != 201 || strings.TrimSpace(body) != `{"created":2}` {
			t.Fatalf("xlsx import: %d %s", code, body)
		}
		var status, plate string
		db.R.QueryRow("SELECT status, plate FROM venues WHERE name = $1", "Xe buýt Tân An – Bến Lức").Scan(&status, &plate)
		if status != "approved" || plate != "62B-000.01" || count(t, db, "venues") != before+2 {
			t.Fatalf("stored: %q %q", status, plate)
		}

		for _, c := range []struct {
			user   string
			status int
		}{{"managera", 403}, {"tracera", 403}, {"", 401}} {
			if code, _ := e.doRaw(t, "POST", "/api/v1/venues/import", c.user, "text/csv", strings.NewReader(csv)); code != c.status {
				t.Errorf("import as %q: %d, want %d", c.user, code, c.status)
			}
		}
		if code, body := e.doRaw(t, "POST", "/api/v1/venues/import", "admin", "text/csv", strings.NewReader("ten,loai\nA,B\n")); code != 400 || !strings.Contains(body, "Cột không rõ") {
			t.Errorf("bad header: %d %s", code, body)
		}

		// The page: templates to download, the same report as a table.
		officer := e.browser(t, "communea")
		code, page := get(t, officer, e.srv.URL+"/venues/import")
		if code != 200 || !strings.Contains(page, "mau-dia-diem.xlsx") || !strings.Contains(page, `enctype="multipart/form-data"`) {
			t.Fatalf("import page: %d", code)
		}
		code, tmpl := get(t, officer, e.srv.URL+"/venues/import/mau-dia-diem.csv")
		if code != 200 || !strings.HasPrefix(tmpl, "\ufeffname,category,commune_code,") {
			t.Fatalf("CSV template: %d %q", code, tmpl)
		}
		code, tmpl = get(t, officer, e.srv.URL+"/venues/import/mau-dia-diem.xlsx")
		if code != 200 || !strings.HasPrefix(tmpl, "PK") {
			t.Fatalf("XLSX template: %d", code)
		}
		ctype, mp = multipartFile(t, "dia-diem.csv", []byte(csv))
		resp, err := officer.Post(e.srv.URL+"/venues/import", ctype, mp)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "Chưa nhập dòng nào vì có dòng sai") ||
			!strings.Contains(string(b), `data-label="Dòng">4</td><td data-label="Cột"><code>commune_code</code>`) {
			t.Fatalf("page report: %d\n%s", resp.StatusCode, b)
		}
		if code, _ := get(t, e.browser(t, "managera"), e.srv.URL+"/venues/import"); code != 403 {
			t.Fatalf("manager import page: %d", code)
		}
		if n := count(t, db, "venues"); n != before+2 {
			t.Fatalf("venues %d, want %d", n, before+2)
		}
	})
}

// TestImportsRefuseZipBomb posts a workbook that unpacks to 1 GB to every
// spreadsheet import, as a raw body and as a form: each answers 400 with
// the Vietnamese message within a second.
func TestImportsRefuseZipBomb(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	bomb := sheettest.Bomb(1 << 30)
	for _, path := range []string{"/api/v1/venues/import", "/api/v1/case-imports?filename=a.xlsx"} {
		start := time.Now()
		code, body := e.doRaw(t, "POST", path, "admin", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(bomb))
		if took := time.Since(start); code != 400 || !strings.Contains(body, "Tệp Excel bung ra quá lớn") || took > time.Second {
			t.Errorf("%s: %d in %v: %s", path, code, took, body)
		}
	}
	ctype, form := multipartFile(t, "bom.xlsx", bomb)
	code, body := e.doRaw(t, "POST", "/api/v1/venues/import", "admin", ctype, form)
	if code != 400 || !strings.Contains(body, "bung ra quá lớn") {
		t.Errorf("form: %d %s", code, body)
	}
}
