package web

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"anticovid/internal/config"
	"anticovid/internal/press"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// pressMaxUpload is the test servers' --press-max-upload.
const pressMaxUpload = 256 << 10

// pressEnv is the operations environment (dashboard counted from visits
// and cases) with communication and the press wired in.
type pressEnv struct {
	*opsEnv
	svc *press.Service
}

func newPressEnv(t testing.TB, db *sqldb.DB) *pressEnv {
	t.Helper()
	oe := newOpsEnv(t, db)
	log := slog.New(slog.DiscardHandler)
	svc := &press.Service{DB: db, Dash: oe.ops.Dashboard, Province: "80", MaxUpload: pressMaxUpload, Log: log}
	cfg := &config.Config{Addr: "127.0.0.1:0", Province: "80", Retention: 21 * 24 * time.Hour, SessionTTL: time.Hour, MaxBody: 64 << 10, LogLevel: "error", CheckinRate: 20}
	s := New(Deps{Config: cfg, DB: db, Auth: oe.auth, Outbox: oe.outbox, Log: log, Ops: oe.ops, Press: svc})
	oe.srv.Close()
	oe.srv = httptest.NewServer(contract(t, s))
	t.Cleanup(oe.srv.Close)
	svc.BaseURL = oe.srv.URL
	return &pressEnv{opsEnv: oe, svc: svc}
}

// multipartBody is a material's form: fields in order, then the file.
func multipartBody(fields [][2]string, name string, file []byte) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	if name != "" {
		fw, _ := w.CreateFormFile("file", name)
		fw.Write(file)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// upload posts a material through the API as username.
func (e *pressEnv) upload(t *testing.T, username, name string, file []byte) (int, string) {
	t.Helper()
	ct, body := multipartBody([][2]string{{"title", "Áp phích hướng dẫn quét mã QR"}, {"kind", "poster"}, {"description", "Khổ A3, in màu"}}, name, file)
	return e.send(t, "POST", "/api/v1/press/materials", username, ct, bytes.NewReader(body))
}

func (e *pressEnv) send(t *testing.T, method, path, username, ct string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if username != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[username])
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var testPDF = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

// Uploading: only the province's editors; a file over --press-max-upload,
// of a type off the list, or whose content is not its extension's, is
// refused with the field named, and nothing is stored.
func TestPressUploadRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newPressEnv(t, db)
		for _, c := range []struct {
			user, name string
			file       []byte
			status     int
			fragment   string
		}{
			{"", "a.pdf", testPDF, 401, "unauthorized"},
			{"communea", "a.pdf", testPDF, 403, "forbidden"},
			{"benluc", "a.pdf", testPDF, 403, "forbidden"},
			{"health", "a.pdf", testPDF, 403, "forbidden"},
			{"hanoi", "a.pdf", testPDF, 403, "forbidden"},
			{"managera", "a.pdf", testPDF, 403, "forbidden"},
			{"admin", "poster.pdf", testPNG, 400, `"file":"Loại tệp không được chấp nhận`},
			{"admin", "page.html", []byte("<html><script>alert(1)</script></html>"), 400, `"file"`},
			{"admin", "image.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 400, `"file"`},
			{"admin", "script.txt", []byte("<!DOCTYPE html><script>alert(1)</script>"), 400, `"file"`},
			{"admin", "", nil, 400, `"file":"Chọn tệp cần tải lên.`},
			{"admin", "huge.pdf", append(append([]byte{}, testPDF...), make([]byte, pressMaxUpload+1)...), 413, "too_large"},
		} {
			st, body := e.upload(t, c.user, c.name, c.file)
			if st != c.status || !strings.Contains(body, c.fragment) {
				t.Errorf("%s uploads %q: %d %.300s", c.user, c.name, st, body)
			}
		}
		// A body with no length announced is cut at the limit all the same.
		ct, body := multipartBody([][2]string{{"title", "Video ngắn"}, {"kind", "video"}}, "big.mp4",
			append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 2*pressMaxUpload)...))
		if st, resp := e.send(t, "POST", "/api/v1/press/materials", "admin", ct, io.MultiReader(bytes.NewReader(body))); st != 413 {
			t.Errorf("chunked huge upload: %d %.200s", st, resp)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM press_blobs").Scan(&n)
		if n != 0 {
			t.Errorf("%d chunks stored by refused uploads", n)
		}
		if st, body := e.do("GET", "/api/v1/press/materials", "communea", nil); st != 200 || !strings.Contains(body, `"materials":[]`) {
			t.Errorf("list after refusals: %d %s", st, body)
		}
	})
}

// A commune downloads the file as an attachment of its allow-listed type
// with nosniff; marks are the commune's own; the province sees use per
// commune, those that have not used it first.
func TestPressMaterialFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newPressEnv(t, db)
		st, body := e.upload(t, "admin", `..\Áp phích "QR".PDF`, testPDF)
		if st != 201 {
			t.Fatalf("upload: %d %s", st, body)
		}
		var m press.Material
		json.Unmarshal([]byte(body), &m)
		if m.FileName != "Áp phích _QR.pdf" || m.ContentType != "application/pdf" {
			t.Errorf("stored %+v", m)
		}
		file := fmt.Sprintf("/api/v1/press/materials/%d/file", m.ID)
		for _, c := range []struct {
			user   string
			status int
		}{{"", 401}, {"managera", 403}, {"hanoi", 403}, {"communea", 200}, {"benluc", 200}} {
			req, _ := http.NewRequest("GET", e.srv.URL+file, nil)
			if c.user != "" {
				req.Header.Set("Authorization", "Bearer "+e.tokens[c.user])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("%s downloads: %d", c.user, resp.StatusCode)
				continue
			}
			if c.status != 200 {
				continue
			}
			h := resp.Header
			disp, params, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
			if !bytes.Equal(got, testPDF) || h.Get("Content-Type") != "application/pdf" || disp != "attachment" || params["filename"] != "Áp phích _QR.pdf" ||
				h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
				t.Errorf("download: %q %v", got, h)
			}
		}
		uses := fmt.Sprintf("/api/v1/press/materials/%d/uses", m.ID)
		today := time.Now().In(hcm).Format("2006-01-02")
		for _, u := range []string{"admin", "benluc", "health", "managera"} {
			if st, body := e.do("POST", uses, u, map[string]any{"kind": "printed", "count": 10, "day": today}); st != 403 {
				t.Errorf("%s marks: %d %s", u, st, body)
			}
		}
		if st, body := e.do("POST", uses, "communea", map[string]any{"kind": "printed", "count": 0, "day": "2099-01-01"}); st != 400 ||
			!strings.Contains(body, `"count"`) || !strings.Contains(body, `"day"`) {
			t.Errorf("bad mark: %d %s", st, body)
		}
		st, body = e.do("POST", uses, "communea", map[string]any{"kind": "printed", "count": 300, "day": today})
		if st != 201 {
			t.Fatalf("mark: %d %s", st, body)
		}
		var a press.Use
		json.Unmarshal([]byte(body), &a)
		if st, body := e.do("POST", uses, "communeb", map[string]any{"kind": "broadcast", "count": 2, "day": today}); st != 201 {
			t.Fatalf("mark b: %d %s", st, body)
		}
		// commune b sees only its own marks and cannot delete a's
		st, body = e.do("GET", fmt.Sprintf("/api/v1/press/materials/%d", m.ID), "communeb", nil)
		if st != 200 || strings.Contains(body, `"commune_code":"27991"`) || !strings.Contains(body, `"commune_code":"27994"`) || strings.Contains(body, `"coverage"`) {
			t.Errorf("commune b's view: %d %.600s", st, body)
		}
		if st, _ := e.do("DELETE", fmt.Sprintf("%s/%d", uses, a.ID), "communeb", nil); st != 403 {
			t.Errorf("commune b deletes a's mark: %d", st)
		}
		if st, _ := e.do("DELETE", fmt.Sprintf("%s/%d", uses, a.ID), "admin", nil); st != 403 {
			t.Errorf("admin deletes a's mark: %d", st)
		}
		// the province sees every commune, the two that used it last
		st, body = e.do("GET", fmt.Sprintf("/api/v1/press/materials/%d", m.ID), "admin", nil)
		var view struct {
			Coverage []press.CommuneUse `json:"coverage"`
		}
		json.Unmarshal([]byte(body), &view)
		n := len(view.Coverage)
		if st != 200 || n != 192 || view.Coverage[n-2].Commune.Code != "27991" || view.Coverage[n-2].Printed != 300 || view.Coverage[n-1].Broadcast != 2 || view.Coverage[0].Used() {
			t.Errorf("province coverage: %d, %d communes", st, n)
		}
		// the page names the communes that have not used it
		c := e.browser(t, "admin")
		resp, err := c.Get(e.srv.URL + fmt.Sprintf("/press/materials/%d", m.ID))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), "190 xã chưa sử dụng tài liệu này") || !strings.Contains(string(page), "Phường 5") {
			t.Errorf("coverage page: %.2000s", page)
		}
		if st, _ := e.do("DELETE", fmt.Sprintf("%s/%d", uses, a.ID), "communea", nil); st != 204 {
			t.Errorf("commune a deletes its mark: %d", st)
		}
		if st, _ := e.do("DELETE", fmt.Sprintf("/api/v1/press/materials/%d", m.ID), "communea", nil); st != 403 {
			t.Errorf("commune removes the material: %d", st)
		}
	})
}

// The upload form: a wrong type comes back as the page with the message
// in Vietnamese and what was typed; a good one lands on the material.
func TestPressUploadForm(t *testing.T) {
	e := newPressEnv(t, storetest.SQLite(t))
	c := e.browser(t, "admin")
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	post := func(name string, file []byte) (*http.Response, string) {
		ct, body := multipartBody([][2]string{{"title", "Tờ rơi 5K"}, {"kind", "leaflet"}}, name, file)
		resp, err := c.Post(e.srv.URL+"/press/materials", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, body := post("to-roi.pdf", testPNG)
	if resp.StatusCode != 400 || !strings.Contains(body, "Loại tệp không được chấp nhận") || !strings.Contains(body, `value="Tờ rơi 5K"`) {
		t.Errorf("wrong type: %d %.1500s", resp.StatusCode, body)
	}
	resp, _ = post("to-roi.pdf", testPDF)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/press/materials/") {
		t.Errorf("upload: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cb := e.browser(t, "communea")
	for _, path := range []string{"/press/releases", "/press/releases/" + e.svc.CurrentWeek()} {
		resp, err := cb.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("commune opens %s: %d", path, resp.StatusCode)
		}
	}
}

// A release is drafted from the live figures, private until approved, then
// public at /bao-chi/{week} (HTML and PDF) and in the Atom feed.
func TestPressReleaseHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newPressEnv(t, db)
		for _, u := range []string{"communea", "benluc", "health"} {
			if st, _ := e.do("POST", "/api/v1/press/releases", u, map[string]any{}); st != 403 {
				t.Errorf("%s drafts: %d", u, st)
			}
		}
		st, body := e.do("POST", "/api/v1/press/releases", "admin", map[string]any{})
		if st != 200 {
			t.Fatalf("draft: %d %s", st, body)
		}
		var r press.Release
		json.Unmarshal([]byte(body), &r)
		// Tân An's one case and Bến Lức's five are the map's: Tân An's hidden
		row := map[string]press.Row{}
		for _, d := range r.Figures.Districts {
			row[d.Code] = d
		}
		if row["794"].F0Days14 != nil || r.Figures.Province.Checkins == nil || *r.Figures.Province.Checkins != 25 {
			t.Errorf("figures: F0 Tân An %s, check-ins %s", press.Num(row["794"].F0Days14), press.Num(r.Figures.Province.Checkins))
		}
		pub := "/bao-chi/" + r.Week
		for _, path := range []string{pub, pub + ".pdf", "/api/v1/press/releases/" + r.Week} {
			if st, body := e.do("GET", path, "", nil); st != 404 {
				t.Errorf("draft at %s: %d %.200s", path, st, body)
			}
			if st, _ := e.do("GET", path, "communea", nil); st != 404 {
				t.Errorf("draft at %s to a commune: %d", path, st)
			}
		}
		if _, body := e.do("GET", "/bao-chi/atom.xml", "", nil); strings.Contains(body, "<entry>") {
			t.Errorf("feed lists a draft: %s", body)
		}
		edit := map[string]any{"title": "Long An: người dân tích cực quét mã QR", "body": r.Body + "\n\nĐề nghị các cơ quan báo chí đưa tin."}
		if st, _ := e.do("PUT", "/api/v1/press/releases/"+r.Week, "communea", edit); st != 403 {
			t.Errorf("commune edits: %d", st)
		}
		if st, body := e.do("PUT", "/api/v1/press/releases/"+r.Week, "admin", map[string]any{"title": "x", "body": ""}); st != 400 || !strings.Contains(body, `"title"`) {
			t.Errorf("empty edit: %d %s", st, body)
		}
		if st, body := e.do("PUT", "/api/v1/press/releases/"+r.Week, "admin", edit); st != 200 {
			t.Fatalf("edit: %d %s", st, body)
		}
		if st, _ := e.do("POST", "/api/v1/press/releases/"+r.Week+"/publish", "health", nil); st != 403 {
			t.Errorf("health publishes: %d", st)
		}
		if st, body := e.do("POST", "/api/v1/press/releases/"+r.Week+"/publish", "admin", nil); st != 200 {
			t.Fatalf("publish: %d %s", st, body)
		}
		if st, _ := e.do("PUT", "/api/v1/press/releases/"+r.Week, "admin", edit); st != 409 {
			t.Errorf("edit after publication: %d", st)
		}
		st, body = e.do("GET", pub, "", nil)
		if st != 200 || !strings.Contains(body, "Long An: người dân tích cực quét mã QR") || !strings.Contains(body, "Đề nghị các cơ quan báo chí đưa tin.") ||
			!strings.Contains(body, "Thành phố Tân An") || !strings.Contains(body, `application/atom+xml`) {
			t.Errorf("public page: %d %.2000s", st, body)
		}
		resp, err := http.Get(e.srv.URL + pub + ".pdf")
		if err != nil {
			t.Fatal(err)
		}
		pdf, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF")) {
			t.Errorf("pdf: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		path := filepath.Join(t.TempDir(), "release.pdf")
		os.WriteFile(path, pdf, 0o600)
		if text := strings.Join(strings.Fields(pdfText(t, testenv.Command(t, "pdftotext"), path)), " "); !strings.Contains(text, "Long An: người dân tích cực quét mã QR") || !strings.Contains(text, "Huyện Bến Lức") {
			t.Errorf("pdf text: %.1000s", text)
		}
		resp, err = http.Get(e.srv.URL + "/bao-chi/atom.xml")
		if err != nil {
			t.Fatal(err)
		}
		feed, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var parsed struct {
			XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
			Entries []struct {
				ID    string `xml:"id"`
				Title string `xml:"title"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(feed, &parsed); err != nil || resp.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
			t.Fatalf("feed: %v %s", err, resp.Header.Get("Content-Type"))
		}
		if len(parsed.Entries) != 1 || parsed.Entries[0].ID != e.srv.URL+pub || parsed.Entries[0].Title != "Long An: người dân tích cực quét mã QR" {
			t.Errorf("feed entries: %+v", parsed.Entries)
		}
		if st, body := e.do("GET", "/bao-chi/", "", nil); st != 200 || !strings.Contains(body, url.PathEscape(r.Week)) {
			t.Errorf("index: %d %.500s", st, body)
		}
		if st, _ := e.do("GET", "/bao-chi/2021-W99", "", nil); st != 404 {
			t.Errorf("a week that is not: %d", st)
		}
	})
}
