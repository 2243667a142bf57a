package poster

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"

	"anticovid/internal/errs"
	"anticovid/internal/testenv"
)

// A venue URL as the web layer builds it: base URL, /c/, a 112-character token.
const venueURL = "https://qr.longan.gov.vn/c/AFBWIOIBDRSD4H2LCBGZMKGYIV5WQ6T3MZ7SNLM5TN3NJ7FRTMDDTDJUZGAONKHDCAJZCDBSA3Q4T5LCNX2YYL6BKOH6GVKRPHKNGAYFGXBQEAAA"

var venues = []Poster{
	{
		URL:      venueURL,
		Name:     "Chợ Bến Lức",
		Category: "Chợ truyền thống",
		Address:  "Quốc lộ 1A, khu phố 3",
		Commune:  "Thị trấn Bến Lức, huyện Bến Lức",
	},
	{
		URL:      "https://qr.longan.gov.vn/c/AFBWIOIBDRSD4H2LCBGZMKGYIV5WQ6T3MZ7SNLM5TN3NJ7FRTMDDTDJUZGAONKHDCAJZCDBSA3Q4T5LCNX2YYL6BKOH6GVKRPHKNGAYFGXBQEAAB",
		Name:     "Bệnh viện Đa khoa Long An",
		Category: "Bệnh viện, cơ sở y tế",
		Address:  "211 Nguyễn Thông",
		Commune:  "Phường 3, thành phố Tân An",
	},
}

// zbar decodes every QR code in an image file with Debian's zbarimg.
func zbar(t *testing.T, path string) []string {
	t.Helper()
	bin := testenv.Command(t, "zbarimg")
	out, err := exec.Command(bin, "-q", "--raw", path).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v (no code found?)", path, err)
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPNGDecodes(t *testing.T) {
	for _, tc := range []struct {
		url  string
		size int
	}{
		{venueURL, 512},
		{venueURL, 257}, // not a multiple of the module count
		{"https://qr.longan.gov.vn/c/X", 120},
	} {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			data, err := PNG(tc.url, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.size || b.Dy() != tc.size {
				t.Errorf("image is %v, want %d×%d", b, tc.size, tc.size)
			}
			if got := zbar(t, writeTemp(t, "qr.png", data)); len(got) != 1 || got[0] != tc.url {
				t.Errorf("zbarimg read %q, want %q", got, tc.url)
			}
		})
	}
}

func TestPNGQuietZone(t *testing.T) {
	data, err := PNG(venueURL, 570)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := png.Decode(bytes.NewReader(data))
	q, _ := qrcode.New(venueURL, Level)
	scale := 570 / len(q.Bitmap())
	border := QuietZone * scale
	for y := range 570 {
		for x := range 570 {
			inside := x >= border && x < 570-border && y >= border && y < 570-border
			if r, _, _, _ := img.At(x, y).RGBA(); !inside && r != 0xffff {
				t.Fatalf("pixel (%d,%d) inside the %d-pixel quiet zone is dark", x, y, border)
			}
		}
	}
}

func TestInvalidInput(t *testing.T) {
	for name, err := range map[string]error{
		"empty url":  func() error { _, err := PNG("", 300); return err }(),
		"too small":  func() error { _, err := PNG(venueURL, 20); return err }(),
		"too big":    func() error { _, err := PNG(venueURL, MaxPNGSize+1); return err }(),
		"too long":   func() error { _, err := SVG(strings.Repeat("x", 5000)); return err }(),
		"no posters": PDF(&bytes.Buffer{}, nil),
		"no url":     PDF(&bytes.Buffer{}, []Poster{{Name: "Chợ"}}),
	} {
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: %v, want errs.ErrInvalid", name, err)
		}
	}
}

// svgDoc is the part of the SVG the test reads back.
type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	ViewBox string   `xml:"viewBox,attr"`
	Width   string   `xml:"width,attr"`
	Height  string   `xml:"height,attr"`
	Paths   []struct {
		D    string `xml:"d,attr"`
		Fill string `xml:"fill,attr"`
	} `xml:"path"`
}

func TestSVG(t *testing.T) {
	data, err := SVG(venueURL)
	if err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("SVG is not XML: %v\n%s", err, data)
	}
	q, _ := qrcode.New(venueURL, Level)
	want := q.Bitmap()
	n := len(want)
	if n != 4*q.VersionNumber+17+2*QuietZone {
		t.Fatalf("bitmap is %d modules for version %d", n, q.VersionNumber)
	}
	if doc.ViewBox != fmt.Sprintf("0 0 %d %d", n, n) {
		t.Errorf("viewBox %q, want %d×%d modules", doc.ViewBox, n, n)
	}
	if px := strconv.Itoa(n * SVGModulePixels); doc.Width != px || doc.Height != px {
		t.Errorf("size %s×%s, want %s×%s", doc.Width, doc.Height, px, px)
	}
	if len(doc.Paths) != 1 || doc.Paths[0].Fill != "#000" {
		t.Fatalf("want one black path, got %+v", doc.Paths)
	}

	// Paint the path's rectangles back into modules: they must be the code's.
	got := make([][]bool, n)
	for i := range got {
		got[i] = make([]bool, n)
	}
	re := regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	for d := doc.Paths[0].D; d != ""; {
		m := re.FindStringSubmatch(d)
		if m == nil || m[3] != m[4] {
			t.Fatalf("unexpected path data at %.30q", d)
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		for i := x; i < x+w; i++ {
			if got[y][i] {
				t.Fatalf("module (%d,%d) drawn twice", i, y)
			}
			got[y][i] = true
		}
		d = d[len(m[0]):]
	}
	for y := range n {
		for x := range n {
			if got[y][x] != want[y][x] {
				t.Fatalf("module (%d,%d): SVG %v, code %v", x, y, got[y][x], want[y][x])
			}
		}
	}

	// And a scanner reads the redrawn modules.
	const scale = 8
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for y := range n * scale {
		for x := range n * scale {
			c := color.Gray{Y: 255}
			if got[y/scale][x/scale] {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	if got := zbar(t, writeTemp(t, "svg.png", buf.Bytes())); len(got) != 1 || got[0] != venueURL {
		t.Errorf("zbarimg read the SVG's modules as %q", got)
	}
	// The file itself, as a print shop or an integrator's tool renders it
	// at its own size, and at half of it.
	if got := zbar(t, writeTemp(t, "qr.svg", data)); len(got) != 1 || got[0] != venueURL {
		t.Errorf("zbarimg read the SVG file as %q", got)
	}
	half := bytes.ReplaceAll(data, []byte(`width="`+strconv.Itoa(n*SVGModulePixels)+`" height="`+strconv.Itoa(n*SVGModulePixels)+`"`),
		[]byte(`width="`+strconv.Itoa(n*SVGModulePixels/2)+`" height="`+strconv.Itoa(n*SVGModulePixels/2)+`"`))
	if got := zbar(t, writeTemp(t, "half.svg", half)); len(got) != 1 || got[0] != venueURL {
		t.Errorf("zbarimg read the SVG file at half size as %q", got)
	}
}

func TestPDF(t *testing.T) {
	pdftoppm := testenv.Command(t, "pdftoppm")
	pdftotext := testenv.Command(t, "pdftotext")
	var buf bytes.Buffer
	if err := PDF(&buf, venues); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdfPath := filepath.Join(dir, "posters.pdf")
	if err := os.WriteFile(pdfPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	text, err := exec.Command(pdftotext, "-enc", "UTF-8", pdfPath, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	pages := strings.Split(string(text), "\f")
	for i, v := range venues {
		for _, want := range []string{v.Name, v.Category, v.Address, "QUÉT MÃ", "MÃ QR ĐIỂM KIỂM SOÁT RA VÀO", "Khai báo y tế"} {
			if !strings.Contains(pages[i], want) {
				t.Errorf("page %d text lacks %q:\n%s", i+1, want, pages[i])
			}
		}
	}

	out, err := exec.Command(pdftoppm, "-r", "150", "-png", pdfPath, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	rasters, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if len(rasters) != len(venues) {
		t.Fatalf("%d pages rasterised, want %d", len(rasters), len(venues))
	}
	for i, path := range rasters {
		if got := zbar(t, path); len(got) != 1 || got[0] != venues[i].URL {
			t.Errorf("page %d: zbarimg read %q, want %q", i+1, got, venues[i].URL)
		}
		keepPage(t, path, fmt.Sprintf("poster-page-%d.png", i+1))
	}
}

// TestPDFHostileText: very long names, decomposed accents, emoji and control
// characters still give one clean page with a readable code.
func TestPDFHostileText(t *testing.T) {
	pdftoppm := testenv.Command(t, "pdftoppm")
	pdftotext := testenv.Command(t, "pdftotext")
	long := strings.Repeat("Công ty Trách nhiệm hữu hạn Sản xuất Thương mại Dịch vụ Xuất nhập khẩu ", 8)
	p := Poster{
		URL: venueURL,
		// "Bến Lức" typed with combining accents, an emoji, a tab and a newline.
		Name:     "Nhà hàng Be\u0302\u0301n Lu\u031b\u0301c 🍜\t" + long,
		Category: strings.Repeat("Ăn uống tại chỗ ", 20),
		Address:  strings.Repeat("Đường số 7, ", 40),
		Commune:  "Xã Long Hiệp,\nhuyện Bến Lức",
	}
	var buf bytes.Buffer
	if err := PDF(&buf, []Poster{p}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdfPath := filepath.Join(dir, "long.pdf")
	os.WriteFile(pdfPath, buf.Bytes(), 0o644)
	text, err := exec.Command(pdftotext, "-enc", "UTF-8", pdfPath, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "Nhà hàng Bến Lức") {
		t.Errorf("decomposed accents not composed:\n%s", text)
	}
	if !strings.Contains(string(text), "…") {
		t.Errorf("an over-long name was not cut short:\n%s", text)
	}
	out, err := exec.Command(pdftoppm, "-r", "100", "-png", pdfPath, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	rasters, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if len(rasters) != 1 {
		t.Fatalf("%d pages, want 1", len(rasters))
	}
	if got := zbar(t, rasters[0]); len(got) != 1 || got[0] != venueURL {
		t.Errorf("zbarimg read %q", got)
	}
	keepPage(t, rasters[0], "poster-page-long.png")
}

// keepPage copies a rasterised page to $POSTER_PAGES, for a person to look at
// the layout: POSTER_PAGES=/tmp go test -run PDF ./internal/poster/
func keepPage(t *testing.T, path, name string) {
	dir := os.Getenv("POSTER_PAGES")
	if dir == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	if err != nil {
		t.Error(err)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  Chợ   Bến Lức  ":        "Chợ Bến Lức",
		"Cho\u031b\u0300 ":         "Chờ",
		"Quán 🍜 phở\nBắc\tHải\x00": "Quán phở Bắc Hải",
		"":                         "",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkPDF(b *testing.B) {
	for b.Loop() {
		if err := PDF(io.Discard, venues); err != nil {
			b.Fatal(err)
		}
	}
}
