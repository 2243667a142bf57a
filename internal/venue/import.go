package venue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/sheet"
)

// ImportColumns are the columns of a bulk import file, in the template's
// order. The header row names them; their order in a file does not matter.
var ImportColumns = []string{"name", "category", "commune_code", "address", "lat", "lon", "contact_name",
	"contact_phone", "capacity", "opening_hours", "starts_at", "ends_at", "plate", "route"}

// requiredColumns must be in every import file's header.
var requiredColumns = []string{"name", "category", "commune_code"}

// MaxImportRows caps one file: a commune's or a department's list fits many
// times over, and the all-or-nothing transaction stays short.
const MaxImportRows = 10000

// Row is one data row of an import file: its line number as a spreadsheet
// shows it (the header is line 1) and its cells by column name.
type Row struct {
	Line  int
	Cells map[string]string
}

// RowError is what is wrong with one row, field by field.
type RowError struct {
	Row    int               `json:"row"`
	Fields map[string]string `json:"fields"`
}

// ImportError reports every bad row of a file that was refused as a whole.
// It matches errs.ErrInvalid.
type ImportError struct {
	Rows []RowError
}

// Error summarises the report; the rows themselves are in Rows.
func (e *ImportError) Error() string {
	return fmt.Sprintf("import: %d bad rows (first: row %d)", len(e.Rows), e.Rows[0].Row)
}

// Is lets errors.Is(err, errs.ErrInvalid) match.
func (e *ImportError) Is(target error) bool { return target == errs.ErrInvalid }

func fileError(msg string) error {
	return &errs.Invalid{Fields: map[string]string{"file": msg}}
}

// ReadRows reads an import file, XLSX or CSV (told apart by content, not by
// name: XLSX is a ZIP archive), within the bounds of package sheet. XLSX
// cells are read raw, so a date typed into a date cell arrives as its serial
// number and is converted here, whatever the display format.
func ReadRows(r io.Reader) ([]Row, error) {
	data, err := sheet.ReadAll(r)
	if err != nil {
		return nil, err
	}
	records, err := sheet.Read(context.Background(), data, sheet.Options{MaxRows: MaxImportRows + 1, Raw: true})
	if err != nil {
		return nil, fmt.Errorf("read import: %w", err)
	}
	if sheet.IsXLSX(data) {
		return rowsOf(records, excelTime)
	}
	return rowsOf(records, nil)
}

// excelTime turns a date cell's serial number into wall-clock time.
func excelTime(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f > 2958465 {
		return time.Time{}, false
	}
	t, err := excelize.ExcelDateToTime(f, false)
	if err != nil {
		return time.Time{}, false
	}
	t = t.Round(time.Minute) // serials carry float noise
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, vnTime), true
}

// rowsOf checks the header and turns the records into rows, dropping blank
// lines. serial, when set, converts spreadsheet date cells.
func rowsOf(records [][]string, serial func(string) (time.Time, bool)) ([]Row, error) {
	if len(records) == 0 {
		return nil, fileError(msg.Both("venue.file_empty"))
	}
	known := map[string]bool{}
	for _, c := range ImportColumns {
		known[c] = true
	}
	header := make([]string, len(records[0]))
	seen := map[string]bool{}
	for i, h := range records[0] {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case h == "":
			continue
		case !known[h]:
			return nil, fileError(msg.Both("venue.unknown_column_valid_columns", h, strings.Join(ImportColumns, ", ")))
		case seen[h]:
			return nil, fileError(msg.Both("venue.column_appears_twice", h))
		}
		seen[h] = true
		header[i] = h
	}
	for _, c := range requiredColumns {
		if !seen[c] {
			return nil, fileError(msg.Both("venue.header_lacks_required_column", c))
		}
	}
	var out []Row
	for i, rec := range records[1:] {
		row := Row{Line: i + 2, Cells: map[string]string{}}
		blank := true
		for j, v := range rec {
			if j >= len(header) || header[j] == "" {
				if strings.TrimSpace(v) != "" {
					return nil, fileError(msg.Both("venue.row_has_data_in", row.Line))
				}
				continue
			}
			v = strings.TrimSpace(v)
			if serial != nil && (header[j] == "starts_at" || header[j] == "ends_at") {
				if t, ok := serial(v); ok {
					v = t.Format("2006-01-02 15:04")
				}
			}
			if v != "" {
				blank = false
			}
			row.Cells[header[j]] = v
		}
		if !blank {
			out = append(out, row)
		}
	}
	if len(out) == 0 {
		return nil, fileError(msg.Both("venue.no_data_rows_under"))
	}
	return out, nil
}

var vnTime = time.FixedZone("ICT", 7*3600) // Asia/Ho_Chi_Minh has had no DST since 1975

// timeLayouts are the ways a time may be written in an import file; those
// without a zone are Vietnam's time.
var timeLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05",
	"02/01/2006 15:04", "2/1/2006 15:04", "02/01/2006 15:04:05", "02-01-2006 15:04"}

// ParseLocalTime reads a time as people type it into a form or spreadsheet:
// RFC 3339, or a Vietnamese-time "2021-08-01 18:00" / "01/08/2021 18:00".
func ParseLocalTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, vnTime); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// categoryByName finds a category by code, or by its Vietnamese or English
// name typed by a person (case and accent composition ignored).
func categoryByName(s string) (string, bool) {
	if _, ok := CategoryOf(s); ok {
		return s, true
	}
	key := strings.ToLower(norm.NFC.String(strings.Join(strings.Fields(s), " ")))
	for _, c := range Categories {
		if key == strings.ToLower(c.Code) || key == strings.ToLower(c.Name) || key == strings.ToLower(c.NameEN) {
			return c.Code, true
		}
	}
	return "", false
}

var (
	digitsRE   = regexp.MustCompile(`^\d+$`)
	thousandRE = regexp.MustCompile(`^\d{1,3}(\.\d{3})+$`)
)

// ParseRow turns one row into a venue, reporting what cannot be parsed.
// Validation proper (Venue.Validate, jurisdiction) comes after.
func ParseRow(r Row) (Venue, errs.Fields) {
	f := errs.Fields{}
	c := r.Cells
	v := Venue{Name: c["name"], Address: c["address"], ContactName: c["contact_name"], OpeningHours: c["opening_hours"],
		Plate: c["plate"], Route: c["route"]}
	v.Category = c["category"]
	if code, ok := categoryByName(c["category"]); ok {
		v.Category = code
	}
	v.CommuneCode = c["commune_code"]
	if digitsRE.MatchString(v.CommuneCode) && len(v.CommuneCode) < 5 {
		v.CommuneCode = strings.Repeat("0", 5-len(v.CommuneCode)) + v.CommuneCode // a spreadsheet dropped the leading zeros
	}
	if c["lat"] != "" || c["lon"] != "" {
		lat, e1 := parseFloat(c["lat"])
		lon, e2 := parseFloat(c["lon"])
		if e1 != nil || e2 != nil {
			f.Add("lat", msg.Both("venue.coordinates_need_both_lat"))
		} else {
			v.Lat, v.Lon = &lat, &lon
		}
	}
	if p := c["contact_phone"]; p != "" {
		if digitsRE.MatchString(p) && len(p) == 9 && p[0] != '0' {
			p = "0" + p // a spreadsheet dropped the leading zero
		}
		if ph, err := people.NormalizePhone(p); err == nil {
			v.ContactPhone = ph
		} else {
			f.Add("contact_phone", msg.Both("venue.invalid_phone_number_10"))
		}
	}
	if s := strings.ReplaceAll(c["capacity"], " ", ""); s != "" {
		if thousandRE.MatchString(s) {
			s = strings.ReplaceAll(s, ".", "")
		}
		if n, err := strconv.Atoi(s); err == nil {
			v.Capacity = n
		} else {
			f.Add("capacity", msg.Both("venue.capacity_whole_number"))
		}
	}
	for _, t := range []struct {
		col string
		dst **time.Time
	}{{"starts_at", &v.StartsAt}, {"ends_at", &v.EndsAt}} {
		if s := c[t.col]; s != "" {
			tt, ok := ParseLocalTime(s)
			if !ok {
				f.Add(t.col, msg.Both("venue.time_as_2021_08"))
				continue
			}
			*t.dst = &tt
		}
	}
	v.KeepKindFields()
	return v, f
}

// KeepKindFields drops the fields that do not belong to the venue's kind:
// only events keep a start and an end, only vehicles a plate and a route.
func (v *Venue) KeepKindFields() {
	cat, _ := CategoryOf(v.Category)
	if cat.Kind != KindEvent {
		v.StartsAt, v.EndsAt = nil, nil
	}
	if cat.Kind != KindVehicle {
		v.Plate, v.Route = "", ""
	}
}

func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", "."), 64)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, errors.New("not a number")
	}
	return f, err
}

// importers are the roles that may load venue lists: officers, for the venues
// of their own unit and sector.
var importers = []auth.Role{auth.ProvinceAdmin, auth.DepartmentOfficer, auth.DistrictOfficer, auth.CommuneOfficer}

// Import registers every row as an approved venue in one transaction, or
// none: when any row is bad, nothing is stored and the *ImportError lists
// every bad row with its fields. Rows must lie within the caller's
// jurisdiction (and sector, for a department officer).
func (s *Service) Import(ctx context.Context, p *auth.Principal, rows []Row) (int, error) {
	if !p.Can(importers...) {
		return 0, fmt.Errorf("import venues: %w", errs.ErrForbidden)
	}
	if len(rows) > MaxImportRows {
		return 0, fmt.Errorf("import venues: %w", fileError(msg.Both("sheet.too_many_rows", MaxImportRows)))
	}
	venues := make([]Venue, 0, len(rows))
	var bad []RowError
	for _, r := range rows {
		v, f := ParseRow(r)
		if err := v.Validate(); err != nil {
			for k, msg := range errs.FieldsOf(err) {
				if _, seen := f[k]; !seen {
					f.Add(k, msg)
				}
			}
		}
		if _, ok := f["commune_code"]; !ok {
			switch {
			case s.Province != "" && !geo.Contains(s.Province, v.CommuneCode):
				f.Add("commune_code", msg.Both("venue.commune_outside_deployment_province"))
			case !p.InJurisdiction(v.CommuneCode):
				f.Add("commune_code", msg.Both("venue.commune_outside_jurisdiction"))
			}
		}
		if _, ok := f["category"]; !ok && !p.SeesSector(categoryDept(v.Category)) {
			f.Add("category", msg.Both("venue.category_outside_department_sector"))
		}
		if len(f) > 0 {
			bad = append(bad, RowError{Row: r.Line, Fields: f})
			continue
		}
		venues = append(venues, v)
	}
	if len(bad) > 0 {
		return 0, fmt.Errorf("import venues: %w", &ImportError{Rows: bad})
	}
	now := time.Now().UTC().Unix()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO venues (name, category, commune_code, district_code, province_code, address,
			lat, lon, contact_name, contact_phone_enc, capacity, opening_hours, starts_at, ends_at, plate, route, status, qr_gen, created_at,
			search_key, contact_phone_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $19, $20) RETURNING id`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		keys := make(map[int64]string, len(venues))
		for _, v := range venues {
			var id int64
			if err := stmt.QueryRowContext(ctx, v.Name, v.Category, v.CommuneCode, v.DistrictCode, v.ProvinceCode, v.Address,
				v.Lat, v.Lon, v.ContactName, s.Vault.Seal(v.ContactPhone), v.Capacity, v.OpeningHours, unixOrNil(v.StartsAt),
				unixOrNil(v.EndsAt), v.Plate, v.Route, StatusApproved, now, searchKey(v), s.phoneHash(v.ContactPhone)).Scan(&id); err != nil {
				return err
			}
			keys[id] = searchKey(v)
		}
		return indexWords(ctx, tx, keys)
	})
	if err != nil {
		return 0, fmt.Errorf("import venues: %w", err)
	}
	return len(venues), nil
}

// columnHelp explains each import column, Vietnamese then English, for the
// template's instructions sheet.
var columnHelp = map[string][2]string{
	"name":          {msg.T("vi", "venue.venue_name_required_2"), "Venue name (required)"},
	"category":      {msg.T("vi", "venue.category_code_required_see"), "Category code (required) — see the categories sheet; the name works too"},
	"commune_code":  {msg.T("vi", "venue.commune_5_digit_gso"), "GSO commune code, 5 digits (required)"},
	"address":       {msg.T("vi", "venue.house_number_street_hamlet"), "Street address"},
	"lat":           {msg.T("vi", "venue.gps_latitude_optional_e"), "GPS latitude (optional)"},
	"lon":           {msg.T("vi", "venue.gps_longitude_optional_e"), "GPS longitude (optional)"},
	"contact_name":  {msg.T("vi", "venue.contact_person"), "Contact person"},
	"contact_phone": {msg.T("vi", "venue.contact_phone_10_digits"), "Contact phone, 10 digits starting with 0"},
	"capacity":      {msg.T("vi", "venue.capacity_most_people_at"), "Capacity (people)"},
	"opening_hours": {msg.T("vi", "venue.opening_hours_e_g"), "Opening hours"},
	"starts_at":     {msg.T("vi", "venue.events_only_meetings_weddings"), "Events only: start, Vietnam time"},
	"ends_at":       {msg.T("vi", "venue.events_only_end_after"), "Events only: end, after the start"},
	"plate":         {msg.T("vi", "venue.vehicles_only_buses_coaches"), "Vehicles only: plate number (required for vehicles)"},
	"route":         {msg.T("vi", "venue.vehicles_only_route_e"), "Vehicles only: route"},
}

// WriteTemplateCSV writes an empty import file: the header row, with the byte
// order mark Excel needs to show Vietnamese.
func WriteTemplateCSV(w io.Writer) error {
	return sheet.WriteCSV(w, [][]string{ImportColumns})
}

// WriteTemplateXLSX writes an import workbook: the sheet to fill (first, with
// drop-down lists for category and commune), then instructions, the
// categories and the communes of the province.
func WriteTemplateXLSX(w io.Writer, province string) error {
	f := excelize.NewFile()
	defer f.Close()
	data, help, cats, communes := msg.T("vi", "venue.venues"), msg.T("vi", "venue.guide"), msg.T("vi", "venue.categories"), msg.T("vi", "venue.communes")
	if err := f.SetSheetName("Sheet1", data); err != nil {
		return err
	}
	for _, s := range []string{help, cats, communes} {
		if _, err := f.NewSheet(s); err != nil {
			return err
		}
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	text, _ := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": codes and phones keep their leading zeros
	for i, c := range ImportColumns {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellStr(data, cell, sheet.Cell(c))
		col, _ := excelize.ColumnNumberToName(i + 1)
		f.SetColWidth(data, col, col, 18)
		if c == "commune_code" || c == "contact_phone" || c == "starts_at" || c == "ends_at" {
			f.SetColStyle(data, col, text)
		}
	}
	f.SetColWidth(data, "A", "A", 34)
	f.SetRowStyle(data, 1, 1, bold)
	f.SetPanes(data, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})

	f.SetSheetRow(help, "A1", sheet.Values([]any{msg.Both("venue.column"), msg.T("vi", "venue.meaning"), "Meaning"}))
	for i, c := range ImportColumns {
		f.SetSheetRow(help, fmt.Sprintf("A%d", i+2), sheet.Values([]any{c, columnHelp[c][0], columnHelp[c][1]}))
	}
	n := len(ImportColumns) + 3
	f.SetCellStr(help, fmt.Sprintf("A%d", n), sheet.Cell(msg.T("vi", "venue.fill_in_i_m")))
	f.SetCellStr(help, fmt.Sprintf("A%d", n+1), sheet.Cell("Fill in the first sheet and keep its header row. If any row is wrong, nothing is imported and every bad row is reported."))
	f.SetColWidth(help, "A", "A", 16)
	f.SetColWidth(help, "B", "C", 70)
	f.SetRowStyle(help, 1, 1, bold)

	f.SetSheetRow(cats, "A1", sheet.Values([]any{"category", msg.T("vi", "venue.category_name"), "Name"}))
	for i, c := range Categories {
		f.SetSheetRow(cats, fmt.Sprintf("A%d", i+2), sheet.Values([]any{c.Code, c.Name, c.NameEN}))
	}
	f.SetColWidth(cats, "A", "A", 22)
	f.SetColWidth(cats, "B", "C", 45)
	f.SetRowStyle(cats, 1, 1, bold)

	f.SetSheetRow(communes, "A1", sheet.Values([]any{"commune_code", msg.T("vi", "venue.commune"), msg.T("vi", "venue.district")}))
	list := geo.Communes(province)
	f.SetColStyle(communes, "A", text)
	for i, u := range list {
		d, _ := geo.Ancestor(u.Code, "district")
		f.SetSheetRow(communes, fmt.Sprintf("A%d", i+2), sheet.Values([]any{u.Code, u.Name, d.Name}))
	}
	f.SetColWidth(communes, "A", "A", 14)
	f.SetColWidth(communes, "B", "C", 34)
	f.SetRowStyle(communes, 1, 1, bold)

	dv := excelize.NewDataValidation(true)
	dv.Sqref = fmt.Sprintf("B2:B%d", MaxImportRows+1)
	dv.SetSqrefDropList(fmt.Sprintf("'%s'!$A$2:$A$%d", cats, len(Categories)+1))
	if err := f.AddDataValidation(data, dv); err != nil {
		return err
	}
	if len(list) > 0 && len(list) < 32768 {
		dv := excelize.NewDataValidation(true)
		dv.Sqref = fmt.Sprintf("C2:C%d", MaxImportRows+1)
		dv.SetSqrefDropList(fmt.Sprintf("'%s'!$A$2:$A$%d", communes, len(list)+1))
		if err := f.AddDataValidation(data, dv); err != nil {
			return err
		}
	}
	f.SetActiveSheet(0)
	return f.Write(w)
}
