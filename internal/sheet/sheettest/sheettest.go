// Package sheettest checks, in tests, that a workbook the server wrote
// holds no cell a spreadsheet application would run as a formula.
package sheettest

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// NoFormulas fails t for every cell of every sheet of the XLSX data that
// starts with = + - @, a tab or a carriage return, or holds a formula; it
// returns the number of text cells it read, so a caller can tell it read
// something.
func NoFormulas(t testing.TB, data []byte) int {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open workbook: %v", err)
	}
	defer x.Close()
	n := 0
	for _, name := range x.GetSheetList() {
		rows, err := x.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatalf("sheet %s: %v", name, err)
		}
		for r, row := range rows {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if f, _ := x.GetCellFormula(name, cell); f != "" {
					t.Errorf("sheet %s cell %s holds formula %q", name, cell, f)
				}
				if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
					t.Errorf("sheet %s cell %s starts like a formula: %q", name, cell, v)
				}
				n++
			}
		}
	}
	return n
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Bomb returns a workbook whose sheet1.xml unpacks to size zero bytes:
// about a thousandth of size on the wire.
func Bomb(size int64) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml"} {
		w, _ := zw.Create(name)
		io.WriteString(w, "<x/>")
	}
	w, _ := zw.Create("xl/worksheets/sheet1.xml")
	io.CopyN(w, zeros{}, size)
	zw.Close()
	return buf.Bytes()
}

// Zeros returns a reader of n zero bytes.
func Zeros(n int64) io.Reader { return io.LimitReader(zeros{}, n) }
