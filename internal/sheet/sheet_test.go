package sheet_test

import (
	"archive/zip"
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/errs"
	"anticovid/internal/sheet"
	"anticovid/internal/sheet/sheettest"
)

var bomb = sync.OnceValue(func() []byte { return sheettest.Bomb(1 << 30) })

// lying is a workbook whose directory announces a small sheet that really
// unpacks to 64 MB: the reader must stop at the announced size.
var lying = sync.OnceValue(func() []byte {
	var deflated bytes.Buffer
	var real bytes.Buffer
	zw := zip.NewWriter(&real)
	w, _ := zw.Create("x")
	io.Copy(w, sheettest.Zeros(64<<20))
	zw.Close()
	zr, _ := zip.NewReader(bytes.NewReader(real.Bytes()), int64(real.Len()))
	raw, _ := zr.File[0].OpenRaw()
	io.Copy(&deflated, raw)
	var out bytes.Buffer
	zw = zip.NewWriter(&out)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml"} {
		w, _ := zw.Create(name)
		io.WriteString(w, "<x/>")
	}
	rw, _ := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate,
		CompressedSize64: uint64(deflated.Len()), UncompressedSize64: 1000, CRC32: crc32.ChecksumIEEE(nil)})
	rw.Write(deflated.Bytes())
	zw.Close()
	return out.Bytes()
})

// refusedFast reads data and expects a refusal on the field "file" within a
// second, allocating little.
func refusedFast(t *testing.T, data []byte, want string) {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := sheet.Read(context.Background(), data, sheet.Options{MaxRows: 1000})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("refused in %v, heap grew %d KB, allocated %d KB: %v", took, grew/1024, allocated/1024, err)
	if msg := errs.FieldsOf(err)["file"]; !strings.Contains(msg, want) {
		t.Fatalf("got %v, want a file error with %q", err, want)
	}
	if took > time.Second {
		t.Errorf("refusal took %v", took)
	}
	if grew > 16<<20 || allocated > 64<<20 {
		t.Errorf("heap grew %d bytes, %d allocated", grew, allocated)
	}
}

func TestZipBombRefused(t *testing.T) {
	b := bomb()
	t.Logf("bomb: %d bytes compressed, 1 GB unpacked", len(b))
	refusedFast(t, b, "Tệp Excel bung ra quá lớn")
}

// TestZipBombShapes: many entries just under the entry limit, a high
// ratio on a mid-sized entry, too many entries, and a directory that lies.
func TestZipBombShapes(t *testing.T) {
	build := func(entries int, size int64) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range entries {
			w, _ := zw.Create("xl/worksheets/sheet" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".xml")
			io.Copy(w, sheettest.Zeros(size))
		}
		zw.Close()
		return buf.Bytes()
	}
	t.Run("total", func(t *testing.T) { refusedFast(t, build(3, 90<<20), "bung ra quá lớn") })
	t.Run("ratio", func(t *testing.T) { refusedFast(t, build(1, 20<<20), "bung ra quá lớn") })
	t.Run("entries", func(t *testing.T) { refusedFast(t, build(sheet.MaxEntries+1, 1), "bung ra quá lớn") })
	t.Run("lying directory", func(t *testing.T) { refusedFast(t, lying(), "Không đọc được tệp Excel") })
}

// TestNotUTF8Refused: Windows-1258 (Vietnamese, with a combining tone
// mark), Latin-1, TCVN3 and UTF-16 must not come out garbled.
func TestNotUTF8Refused(t *testing.T) {
	for name, in := range map[string]string{
		"windows-1258":  "name,commune\nNguy\xea\xf2n V\xe3n A,27991\n", // ê + combining grave (0xF2? no: 0xCC) in cp1258
		"cp1258 tone":   "name\nH\xe0 N\xf4\xde i\n",                    // à, ô + combining tilde
		"latin-1":       "name,city\nJos\xe9 M\xfcller,Hu\xe9\n",        // é ü
		"tcvn3":         "name\nNguy\xd5n V\xa8n A\n",                   // TCVN3 bytes
		"utf-16le":      "\xff\xfen\x00a\x00m\x00e\x00\n\x00",           // Excel's "Unicode text"
		"utf-16be":      "\xfe\xff\x00n\x00a\x00m\x00e\x00\n",           // with its BOM
		"nul":           "name\nA\x00B\n",                               // binary, not text
		"bom then 1258": "\xef\xbb\xbfname\nTr\xe2\xd2n\n",              // a BOM does not make it UTF-8
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sheet.Read(context.Background(), []byte(in), sheet.Options{})
			if msg := errs.FieldsOf(err)["file"]; !strings.Contains(msg, "không phải mã UTF-8") || !strings.Contains(msg, "CSV UTF-8") {
				t.Fatalf("got %v, want the save-as-UTF-8 message", err)
			}
		})
	}
}

// TestReadCSV: separators, BOM, decomposed Vietnamese made NFC, trailing
// empty cells dropped, and the row, column and syntax bounds.
func TestReadCSV(t *testing.T) {
	rows, err := sheet.Read(context.Background(), []byte("\ufeffa;b;c\nHa\u0300 No\u0323\u0302i;2;\n"), sheet.Options{})
	if err != nil || len(rows) != 2 || rows[1][0] != "Hà Nội" || len(rows[1]) != 2 {
		t.Fatalf("semicolon, NFD: %q %v", rows, err)
	}
	rows, err = sheet.Read(context.Background(), []byte("a\tb\n1\t2\n"), sheet.Options{})
	if err != nil || len(rows[1]) != 2 {
		t.Fatalf("tab: %q %v", rows, err)
	}
	for name, tc := range map[string]struct {
		in   string
		o    sheet.Options
		want string
	}{
		"rows":    {strings.Repeat("a\n", 11), sheet.Options{MaxRows: 10}, "Tối đa 10 dòng"},
		"columns": {strings.Repeat("a,", sheet.MaxCols) + "a\n", sheet.Options{}, "cột"},
		"quotes":  {"a,b\n\"x,y\n", sheet.Options{}, "sai cú pháp"},
		"size":    {strings.Repeat("a", sheet.MaxUpload+1), sheet.Options{}, "quá lớn"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sheet.Read(context.Background(), []byte(tc.in), tc.o)
			if msg := errs.FieldsOf(err)["file"]; !strings.Contains(msg, tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReadXLSXWideAndTall: a cell in the last column, and a row far down,
// are bounded by columns and rows instead of filling memory.
func TestReadXLSXWideAndTall(t *testing.T) {
	book := func(cell string) []byte {
		f := excelize.NewFile()
		f.SetCellStr("Sheet1", "A1", "name")
		f.SetCellStr("Sheet1", cell, "x")
		var b bytes.Buffer
		f.Write(&b)
		return b.Bytes()
	}
	if _, err := sheet.Read(context.Background(), book("XFD2"), sheet.Options{MaxRows: 100}); !strings.Contains(errs.FieldsOf(err)["file"], "cột") {
		t.Fatalf("wide: %v", err)
	}
	tall := book("A1048576")
	start := time.Now()
	if _, err := sheet.Read(context.Background(), tall, sheet.Options{MaxRows: 100}); !strings.Contains(errs.FieldsOf(err)["file"], "Tối đa 100 dòng") {
		t.Fatalf("tall: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("tall sheet took %v", time.Since(start))
	}
	rows, err := sheet.Read(context.Background(), book("B2"), sheet.Options{MaxRows: 100})
	if err != nil || len(rows) != 2 || rows[1][1] != "x" {
		t.Fatalf("plain: %q %v", rows, err)
	}
}

// TestCellNeutralisesFormulas covers every character a spreadsheet reads
// as the start of a formula, and leaves other text and numbers alone.
func TestCellNeutralisesFormulas(t *testing.T) {
	for _, in := range []string{"=1+1", "+84912345678", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd", `=HYPERLINK("http://evil","x")`} {
		if got := sheet.Cell(in); got != "'"+in {
			t.Errorf("Cell(%q) = %q", in, got)
		}
	}
	for _, in := range []string{"", "Nguyễn Văn A", "0912345678", "a=b", " =x"} {
		if got := sheet.Cell(in); got != in {
			t.Errorf("Cell(%q) = %q", in, got)
		}
	}
	if v := sheet.Value(-5); v != -5 {
		t.Errorf("Value(-5) = %v", v)
	}
	var b strings.Builder
	sheet.WriteCSV(&b, [][]string{{"=1+1", "ok", "@x"}})
	if b.String() != "\ufeff'=1+1,ok,'@x\n" {
		t.Errorf("WriteCSV: %q", b.String())
	}
}

// FuzzReadCSV: any bytes either read or are refused with a file message;
// never a panic, never an unbounded result.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\ufeffa;b\n\"x;y\";z\n", "a\tb\n", "\"", "a\n\xff\n", "a,\"b\"\"c\"\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRead(t, data)
	})
}

// FuzzReadXLSX mutates small workbooks.
func FuzzReadXLSX(f *testing.F) {
	for _, cells := range [][]string{{"A1", "name"}, {"B2", "=1+1"}, {"C3", "Hà Nội"}} {
		x := excelize.NewFile()
		x.SetCellStr("Sheet1", cells[0], cells[1])
		var b bytes.Buffer
		x.Write(&b)
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !sheet.IsXLSX(data) {
			return
		}
		checkRead(t, data)
	})
}

func checkRead(t *testing.T, data []byte) {
	rows, err := sheet.Read(context.Background(), data, sheet.Options{MaxRows: 50})
	if err != nil {
		if errs.FieldsOf(err)["file"] == "" {
			t.Fatalf("refusal without a file message: %v", err)
		}
		return
	}
	if len(rows) > 50 {
		t.Fatalf("%d rows past the bound", len(rows))
	}
	for _, r := range rows {
		if len(r) > sheet.MaxCols {
			t.Fatalf("%d columns past the bound", len(r))
		}
	}
}
