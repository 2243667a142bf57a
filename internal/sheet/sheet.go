// Package sheet reads uploaded spreadsheets (CSV and XLSX) within bounds and
// makes the spreadsheets the server writes safe to open. An upload is
// bounded by its size, by what its ZIP archive unpacks to (checked from the
// archive's directory before excelize sees it, so a zip bomb costs nothing),
// by rows, columns and reading time; a CSV must be UTF-8, because guessing
// between Windows-1258, TCVN3 and Latin-1 would silently garble names.
// Every cell written starting with = + - @ (or a tab or carriage return) is
// prefixed with a quote, so a name typed as a formula stays text.
package sheet

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Bounds on one upload. A province's largest legitimate file, every
// commune of the country or a laboratory's day of positives, is a few MB.
const (
	// MaxUpload is the most bytes an import request may carry.
	MaxUpload = 20 << 20
	// MaxUnzipped is the most an XLSX archive may unpack to, all entries together.
	MaxUnzipped = 200 << 20
	// MaxEntry is the most one entry of an XLSX archive may unpack to.
	MaxEntry = 100 << 20
	// MaxRatio is the highest compression ratio accepted for an entry larger
	// than ratioFloor: spreadsheet XML compresses 10 to 30 times, a bomb a thousand.
	MaxRatio = 200
	// MaxEntries bounds the files in an XLSX archive.
	MaxEntries = 2000
	// MaxCols bounds the columns of a row, after trailing empty cells.
	MaxCols = 200
	// MaxTime bounds reading one file.
	MaxTime = 20 * time.Second

	ratioFloor = 1 << 20
	// xmlInMemory is the largest sheet excelize keeps in memory; larger ones
	// go to a temporary file.
	xmlInMemory = 16 << 20
)

// Options say how to read one kind of import.
type Options struct {
	// MaxRows bounds the rows, header included.
	MaxRows int
	// Raw reads XLSX cells unformatted (a date as its serial number).
	Raw bool
}

// Refusal is an upload refused for its shape; it is an *errs.Invalid on
// the field "file" carrying a catalog message.
func refuse(key string, args ...any) error {
	return &errs.Invalid{Fields: map[string]string{"file": msg.Both(key, args...)}}
}

// ReadAll reads an upload of at most MaxUpload bytes.
func ReadAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxUpload+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("read upload: %w", refuse("sheet.too_large", MaxUpload>>20))
	}
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if len(data) > MaxUpload {
		return nil, fmt.Errorf("read upload: %w", refuse("sheet.too_large", MaxUpload>>20))
	}
	return data, nil
}

// IsXLSX tells an XLSX workbook (a ZIP archive) from a CSV by content.
func IsXLSX(data []byte) bool { return bytes.HasPrefix(data, []byte("PK\x03\x04")) }

// Read returns the rows of an upload: the first sheet of an XLSX workbook or
// a CSV file (comma, semicolon or tab; UTF-8 with or without a BOM). Text is
// in Unicode NFC, rows lose their trailing empty cells.
func Read(ctx context.Context, data []byte, o Options) ([][]string, error) {
	if len(data) > MaxUpload {
		return nil, refuse("sheet.too_large", MaxUpload>>20)
	}
	ctx, cancel := context.WithTimeout(ctx, MaxTime)
	defer cancel()
	if IsXLSX(data) {
		return readXLSX(ctx, data, o)
	}
	return readCSV(ctx, data, o)
}

// CheckZip refuses an archive whose directory announces more than the
// bounds. archive/zip (which excelize uses) stops reading an entry past
// its announced size, so the directory is a promise the reader enforces.
func CheckZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("xlsx: %v: %w", err, refuse("sheet.cannot_read"))
	}
	if len(zr.File) > MaxEntries {
		return fmt.Errorf("xlsx: %d entries: %w", len(zr.File), refuse("sheet.zip_bomb", MaxUnzipped>>20))
	}
	var total uint64
	for _, f := range zr.File {
		size := f.UncompressedSize64
		total += size
		ratio := size / max(f.CompressedSize64, 1)
		if size > MaxEntry || total > MaxUnzipped || (size > ratioFloor && ratio > MaxRatio) {
			return fmt.Errorf("xlsx: entry of %d bytes (ratio %d): %w", size, ratio, refuse("sheet.zip_bomb", MaxUnzipped>>20))
		}
	}
	return nil
}

func readXLSX(ctx context.Context, data []byte, o Options) ([][]string, error) {
	if err := CheckZip(data); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: o.Raw,
		UnzipSizeLimit: MaxUnzipped, UnzipXMLSizeLimit: xmlInMemory})
	if err != nil {
		return nil, fmt.Errorf("xlsx: %v: %w", err, refuse("sheet.cannot_read"))
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("xlsx: %w", refuse("sheet.no_sheet"))
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fmt.Errorf("xlsx: %v: %w", err, refuse("sheet.cannot_read"))
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		rec, err := rows.Columns(excelize.Options{RawCellValue: o.Raw})
		if err != nil {
			return nil, fmt.Errorf("xlsx: %v: %w", err, refuse("sheet.cannot_read"))
		}
		if out, err = appendRow(ctx, out, rec, o); err != nil {
			return nil, err
		}
	}
	if err := rows.Error(); err != nil {
		return nil, fmt.Errorf("xlsx: %v: %w", err, refuse("sheet.cannot_read"))
	}
	return out, nil
}

// appendRow adds a row in NFC without its trailing empty cells, checking
// the row, column and time bounds.
func appendRow(ctx context.Context, out [][]string, rec []string, o Options) ([][]string, error) {
	if len(out)%256 == 0 && ctx.Err() != nil {
		return nil, fmt.Errorf("read sheet: %w", refuse("sheet.too_slow", int(MaxTime.Seconds())))
	}
	if o.MaxRows > 0 && len(out) >= o.MaxRows {
		return nil, fmt.Errorf("read sheet: %w", refuse("sheet.too_many_rows", o.MaxRows))
	}
	n := len(rec)
	for n > 0 && rec[n-1] == "" {
		n--
	}
	if n > MaxCols {
		return nil, fmt.Errorf("read sheet: %w", refuse("sheet.too_many_cols", MaxCols))
	}
	rec = rec[:n:n]
	for i, c := range rec {
		if !norm.NFC.IsNormalString(c) {
			rec[i] = norm.NFC.String(c)
		}
	}
	return append(out, rec), nil
}

// Text returns a CSV upload as UTF-8 without its byte order mark, or
// refuses it: a file saved as UTF-16 or in a Vietnamese or Western code page
// cannot be read without guessing.
func Text(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) ||
		!utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("csv: %w", refuse("sheet.not_utf8"))
	}
	return data, nil
}

func readCSV(ctx context.Context, data []byte, o Options) ([][]string, error) {
	data, err := Text(data)
	if err != nil {
		return nil, err
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	switch commas := bytes.Count(first, []byte(",")); {
	case bytes.Count(first, []byte(";")) > commas:
		r.Comma = ';'
	case bytes.Count(first, []byte("\t")) > commas:
		r.Comma = '\t'
	}
	r.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, fmt.Errorf("csv: %v: %w", err, refuse("sheet.csv_syntax", line))
		}
		if out, err = appendRow(ctx, out, rec, o); err != nil {
			return nil, err
		}
	}
}

// Cell makes text safe to write into a spreadsheet cell: one starting with
// = + - @, a tab or a carriage return would be read as a formula by Excel or
// LibreOffice (here or after a CSV round trip), so it gets a leading quote.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Value is Cell for a value handed to excelize: text is made safe, numbers
// and times pass.
func Value(v any) any {
	if s, ok := v.(string); ok {
		return Cell(s)
	}
	return v
}

// Values applies Value to a row handed to excelize's SetSheetRow.
func Values(row []any) *[]any {
	out := make([]any, len(row))
	for i, v := range row {
		out[i] = Value(v)
	}
	return &out
}

// WriteCSV writes rows as CSV with a UTF-8 byte order mark (so Excel shows
// Vietnamese), every cell made safe by Cell.
func WriteCSV(w io.Writer, rows [][]string) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, c := range row {
			safe[i] = Cell(c)
		}
		if err := cw.Write(safe); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
