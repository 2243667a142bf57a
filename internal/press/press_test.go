package press

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

// Bến Lức (803) holds communes 27991 and 27994; Tân An (794) holds 27685.
var who = map[string]*auth.Principal{
	"admin":    {UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"},
	"ict":      {UserID: 2, Username: "ict", Role: auth.DepartmentOfficer, Unit: "80", Department: "ict"},
	"health":   {UserID: 3, Username: "health", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"},
	"hanoi":    {UserID: 4, Username: "hanoi", Role: auth.ProvinceAdmin, Unit: "01"},
	"benluc":   {UserID: 5, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"},
	"communea": {UserID: 6, Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"},
	"communeb": {UserID: 7, Username: "communeb", Role: auth.CommuneOfficer, Unit: "27994"},
	"managera": {UserID: 8, Username: "managera", Role: auth.VenueManager, Unit: "27991"},
}

// Files of each accepted type, as small as their signatures allow.
var (
	pdfFile  = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	pngFile  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")
	jpegFile = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	mp3File  = []byte("ID3\x03\x00\x00\x00\x00\x00\x0f" + strings.Repeat("\x00", 20))
	mp4File  = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + strings.Repeat("\x00", 16))
	m4aFile  = []byte("\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A mp42isom" + strings.Repeat("\x00", 16))
	txtFile  = []byte("Bài phát thanh: Bà con hãy cài đặt Bluezone, khai báo y tế và quét mã QR.\n")
)

func docxFile(t testing.TB) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, _ := z.Create(name)
		io.WriteString(w, "<?xml version=\"1.0\"?><x/>")
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCleanName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Áp phích Bluezone.PDF", "Áp phích Bluezone.pdf"},
		{"../../etc/passwd.txt", "passwd.txt"},
		{`C:\Users\lan\Tờ rơi "5K".pdf`, "Tờ rơi _5K.pdf"},
		{"a\r\nContent-Type: text/html.txt", "html.txt"},
		{"a\r\nContent-Type: text.txt", "a__Content-Type_ text.txt"},
		{"...pdf", "tai-lieu.pdf"},
		{"<script>.png", "script.png"},
		{"video;rm -rf.mp4", "video_rm -rf.mp4"},
		{"  space   .  dots...mp3", "space . dots.mp3"},
		// decomposed tone marks (macOS) are composed
		{"Ba\u0300i loa.txt", "Bài loa.txt"},
		{strings.Repeat("x", 300) + ".pdf", strings.Repeat("x", 80) + ".pdf"},
	} {
		if got, _ := CleanName(c.in); got != c.want {
			t.Errorf("CleanName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSniff(t *testing.T) {
	docx := docxFile(t)
	plainZip := func() []byte {
		var b bytes.Buffer
		z := zip.NewWriter(&b)
		w, _ := z.Create("evil.exe")
		w.Write([]byte("MZ"))
		z.Close()
		return b.Bytes()
	}()
	for _, c := range []struct {
		ext  string
		head []byte
		want string // "" refused
	}{
		{".pdf", pdfFile, "application/pdf"},
		{".png", pngFile, "image/png"},
		{".jpg", jpegFile, "image/jpeg"},
		{".jpeg", jpegFile, "image/jpeg"},
		{".mp3", mp3File, "audio/mpeg"},
		{".mp3", []byte("\xff\xfb\x90\x44\x00\x00\x00\x00"), "audio/mpeg"},
		{".mp4", mp4File, "video/mp4"},
		{".m4a", m4aFile, "audio/mp4"},
		{".docx", docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{".txt", txtFile, "text/plain; charset=utf-8"},
		// wrong content for the extension
		{".pdf", pngFile, ""},
		{".png", []byte("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"), ""},
		{".jpg", pdfFile, ""},
		{".txt", []byte("<!DOCTYPE html><html><script>alert(1)</script>"), ""},
		{".txt", []byte("\xff\xfeB\x00"), ""}, // UTF-16
		{".txt", []byte("abc\xc3\x28 invalid"), ""},
		{".docx", plainZip, ""},
		{".mp4", pdfFile, ""},
		{".mp3", txtFile, ""},
		// extensions not on the list
		{".html", []byte("<html>"), ""},
		{".svg", []byte("<svg/>"), ""},
		{".exe", []byte("MZ\x90\x00"), ""},
		{"", pdfFile, ""},
	} {
		got, ok := Sniff(c.ext, c.head)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Sniff(%s, %.12q) = %q %v, want %q", c.ext, c.head, got, ok, c.want)
		}
	}
}

func newService(db *sqldb.DB) *Service {
	return &Service{DB: db, Province: "80", BaseURL: "https://anticovid.longan.test", Log: slog.New(slog.DiscardHandler)}
}

// A file larger than a chunk goes in and comes back byte for byte, read in
// small pieces; deleting it leaves nothing to open.
func TestDBStorage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := DBStorage{DB: db}
		data := bytes.Repeat([]byte("0123456789abcdef"), (2*chunkSize+12345)/16)
		n, err := st.Put(ctx, "k1", bytes.NewReader(data))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("put: %d %v", n, err)
		}
		rc, err := st.Get(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		buf := make([]byte, 7777)
		if _, err := io.CopyBuffer(&got, struct{ io.Reader }{rc}, buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("read %d bytes, want %d identical", got.Len(), len(data))
		}
		if err := st.Delete(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, "k1"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		// A failing reader leaves no chunk behind.
		_, err = st.Put(ctx, "k2", io.MultiReader(bytes.NewReader(data[:chunkSize+10]), failing{}))
		if err == nil {
			t.Fatal("put of a failing reader succeeded")
		}
		if _, err := st.Get(ctx, "k2"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("after a failed put: %v", err)
		}
	})
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func upload(s *Service, p *auth.Principal, name string, body []byte) (Material, error) {
	return s.Add(context.Background(), p, Upload{Title: "Áp phích quét mã QR", Kind: "poster", FileName: name, Body: bytes.NewReader(body)})
}

// The library: who may upload, what is refused, what comes back.
func TestMaterials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db)
		s.MaxUpload = 64 << 10
		for _, u := range []string{"health", "hanoi", "benluc", "communea", "managera"} {
			if _, err := upload(s, who[u], "a.pdf", pdfFile); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s uploads: %v", u, err)
			}
		}
		invalid := func(err error, field string) {
			t.Helper()
			if f := errs.FieldsOf(err); f[field] == "" {
				t.Errorf("want a message on %s, got %v", field, err)
			}
		}
		_, err := upload(s, who["admin"], "poster.pdf", pngFile)
		invalid(err, "file")
		_, err = upload(s, who["admin"], "page.html", []byte("<html><script>alert(1)</script>"))
		invalid(err, "file")
		_, err = upload(s, who["admin"], "empty.pdf", nil)
		invalid(err, "file")
		_, err = s.Add(ctx, who["admin"], Upload{Title: "x", Kind: "meme", FileName: "a.pdf", Body: bytes.NewReader(pdfFile)})
		invalid(err, "title")
		invalid(err, "kind")
		huge := append(append([]byte{}, pdfFile...), make([]byte, 64<<10)...)
		if _, err := upload(s, who["admin"], "huge.pdf", huge); !errors.Is(err, errs.ErrTooLarge) {
			t.Errorf("huge upload: %v", err)
		}
		var blobs int
		db.R.QueryRow(`SELECT count(*) FROM press_blobs`).Scan(&blobs)
		if blobs != 0 {
			t.Errorf("%d chunks left by refused uploads", blobs)
		}

		m, err := s.Add(ctx, who["ict"], Upload{Title: "Bài phát thanh loa tuần 32", Kind: "script", FileName: "../Bài loa.TXT", Body: bytes.NewReader(txtFile)})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(txtFile)
		if m.FileName != "Bài loa.txt" || m.ContentType != "text/plain; charset=utf-8" || m.Size != int64(len(txtFile)) || m.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("stored %+v", m)
		}
		for _, u := range []string{"communea", "benluc", "health", "admin"} {
			got, rc, err := s.Open(ctx, who[u], m.ID)
			if err != nil {
				t.Fatalf("%s opens: %v", u, err)
			}
			b, _ := io.ReadAll(rc)
			if !bytes.Equal(b, txtFile) || got.Title != m.Title {
				t.Errorf("%s read %q", u, b)
			}
		}
		for _, u := range []string{"managera", "hanoi"} {
			if _, _, err := s.Open(ctx, who[u], m.ID); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s opens: %v", u, err)
			}
		}
		if err := s.Remove(ctx, who["communea"], m.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("commune removes: %v", err)
		}
		if err := s.Remove(ctx, who["admin"], m.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Open(ctx, who["communea"], m.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("removed material opens: %v", err)
		}
	})
}

// Communes mark use; each sees and deletes only its own marks; the
// province and the district see use per commune, unused first.
func TestMarks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db)
		now := time.Date(2021, 8, 12, 3, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		m, err := upload(s, who["admin"], "poster.png", pngFile)
		if err != nil {
			t.Fatal(err)
		}
		mark := func(u, kind string, n int64, day string) (Use, error) {
			return s.Mark(ctx, who[u], m.ID, UseInput{Kind: kind, Copies: n, Day: day})
		}
		for _, u := range []string{"admin", "benluc", "managera", "health"} {
			if _, err := mark(u, Printed, 10, "2021-08-12"); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s marks: %v", u, err)
			}
		}
		for _, c := range []struct {
			kind  string
			n     int64
			day   string
			field string
		}{{"sold", 1, "2021-08-12", "kind"}, {Printed, 0, "2021-08-12", "count"}, {Printed, 2_000_000, "2021-08-12", "count"},
			{Printed, 5, "2021-08-13", "day"}, {Printed, 5, "12/08/2021", "day"}, {Printed, 5, "2020-01-01", "day"}} {
			_, err := mark("communea", c.kind, c.n, c.day)
			if errs.FieldsOf(err)[c.field] == "" {
				t.Errorf("mark %+v: %v", c, err)
			}
		}
		a1, err := mark("communea", Printed, 200, "2021-08-10")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mark("communea", Broadcast, 3, "2021-08-11"); err != nil {
			t.Fatal(err)
		}
		b1, err := mark("communeb", Broadcast, 1, "2021-08-12")
		if err != nil {
			t.Fatal(err)
		}
		uses, err := s.Uses(ctx, who["communeb"], m.ID)
		if err != nil || len(uses) != 1 || uses[0].ID != b1.ID {
			t.Fatalf("commune b sees %+v %v", uses, err)
		}
		if err := s.Unmark(ctx, who["communeb"], m.ID, a1.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("commune b deletes a's mark: %v", err)
		}
		if err := s.Unmark(ctx, who["admin"], m.ID, a1.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("admin deletes a's mark: %v", err)
		}
		list, err := s.Materials(ctx, who["communea"])
		if err != nil || len(list) != 1 || list[0].Printed != 200 || list[0].Broadcast != 3 {
			t.Fatalf("commune a's list %+v %v", list, err)
		}
		cov, err := s.Coverage(ctx, who["benluc"], m.ID)
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]CommuneUse{}
		for i, c := range cov {
			if c.Used() {
				used[c.Commune.Code] = c
			} else if len(used) > 0 {
				t.Errorf("unused commune %s at %d after used ones", c.Commune.Name, i)
			}
		}
		if len(cov) != 15 || len(used) != 2 || used["27991"].Printed != 200 || used["27991"].LastDay != "2021-08-11" || used["27994"].Broadcast != 1 {
			t.Errorf("Bến Lức's coverage: %d communes, used %+v", len(cov), used)
		}
		all, err := s.Coverage(ctx, who["admin"], m.ID)
		if err != nil || len(all) != 192 {
			t.Errorf("province coverage: %d communes %v", len(all), err)
		}
		if err := s.Unmark(ctx, who["communea"], m.ID, a1.ID); err != nil {
			t.Fatal(err)
		}
		list, _ = s.Materials(ctx, who["admin"])
		if list[0].UsedBy != 2 || list[0].Communes != 192 {
			t.Errorf("admin's list: used by %d of %d", list[0].UsedBy, list[0].Communes)
		}
	})
}

// Two servers on one PostgreSQL database (their own connection pools): a
// material uploaded through one is listed, downloaded and removed through
// the other, as behind a load balancer.
func TestMaterialsAcrossServers(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresURL(t)
	var servers [2]*Service
	for i := range servers {
		db, err := store.OpenMigrated(ctx, u, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		servers[i] = newService(db)
	}
	data := bytes.Repeat([]byte("\x00\x00\x00\x18ftypmp42"), (chunkSize+100)/12)
	m, err := servers[0].Add(ctx, who["admin"], Upload{Title: "Video ngắn: quét mã QR", Kind: "video", FileName: "video.mp4", Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	_, rc, err := servers[1].Open(ctx, who["communea"], m.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, data) {
		t.Errorf("the other server sends %d bytes, want the %d uploaded", len(got), len(data))
	}
	if err := servers[1].Remove(ctx, who["admin"], m.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := servers[0].Open(ctx, who["communea"], m.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("removed on one, opened on the other: %v", err)
	}
}
