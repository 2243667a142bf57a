package cases

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/xuri/excelize/v2"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/poster"
	"anticovid/internal/sheet"
)

// Export formats.
const (
	FormatXLSX = "xlsx"
	FormatPDF  = "pdf"
	// FormatCSV is UTF-8 with a byte order mark (Excel shows Vietnamese),
	// one header row then one row per contact, cells formula-safe.
	FormatCSV = "csv"
)

// outcomeNames are the call outcomes in Vietnamese, as printed.
var outcomeNames = map[string]string{
	"":                 msg.T("vi", "cases.not_called"),
	OutcomeReached:     msg.T("vi", "cases.reached"),
	OutcomeUnreachable: msg.T("vi", "cases.unreachable"),
	OutcomeHome:        msg.T("vi", "cases.quarantined_at_home"),
	OutcomeFacility:    msg.T("vi", "cases.sent_to_facility"),
	OutcomeTested:      msg.T("vi", "cases.tested"),
	"confirmed_f0":     msg.T("vi", "cases.became_f0"),
}

// ProofName names an evidence grade in lang: "Chưa xác minh" for an
// unproven contact, whom a person calls before anything is ordered.
func ProofName(lang string, proof int) string {
	return msg.T(lang, "cases.proof."+strconv.Itoa(min(max(proof, 0), 2)))
}

// OutcomeName returns an outcome's Vietnamese name.
func OutcomeName(o string) string {
	if n, ok := outcomeNames[o]; ok {
		return n
	}
	return o
}

func checkExport(format, purpose string) error {
	f := errs.Fields{}
	if format != FormatXLSX && format != FormatPDF && format != FormatCSV {
		f.Add("format", msg.Both("cases.format_xlsx_pdf_csv"))
	}
	if n := len([]rune(strings.TrimSpace(purpose))); n < 5 || n > 300 {
		f.Add("purpose", msg.Both("cases.state_purpose_export_5"))
	}
	return f.Err()
}

// ExportContacts writes a case's contacts within p's jurisdiction (traced
// afresh first) as XLSX, PDF or CSV, after recording the export and its purpose
// in the audit log. It returns the file name to offer.
func (s *Service) ExportContacts(ctx context.Context, p *auth.Principal, caseID int64, format, purpose string, w io.Writer) (string, error) {
	if err := checkExport(format, purpose); err != nil {
		return "", fmt.Errorf("export contacts: %w", err)
	}
	if !CanTrace(p) {
		return "", fmt.Errorf("export contacts: %w", errs.ErrForbidden)
	}
	c, acc, err := s.Open(ctx, p, caseID)
	if err != nil {
		return "", err
	}
	if !acc.Personal() {
		return "", fmt.Errorf("export contacts of case %d: %w", caseID, errs.ErrForbidden)
	}
	if c.Status == F0 {
		if err := s.Refresh(ctx, c); err != nil {
			return "", fmt.Errorf("export contacts: %w", err)
		}
	}
	// By standing: the contacts in p's jurisdiction; through a grant: those
	// in the case's province, the grant's reach.
	where, args, err := scopeWhere(p, "")
	if acc.Grant != nil {
		where, args, err = "province_code = $1", []any{acc.Grant.ProvinceCode}, nil
	}
	if err != nil {
		return "", fmt.Errorf("export contacts: %w", err)
	}
	items, err := s.workRows(ctx, where, args, WorkFilter{CaseID: caseID, State: "all", Limit: exportLimit})
	if err != nil {
		return "", err
	}
	if err := s.fillPersonal(ctx, p, items, auth.ActionExport, acc.Purpose(purpose)); err != nil {
		return "", err
	}
	title := msg.T("vi", "cases.contacts_case", c.ID, c.Status)
	name := fmt.Sprintf("tiep-xuc-ca-%d.%s", c.ID, format)
	return name, s.write(w, format, title, p, purpose, items)
}

// ExportWorklist writes a worklist (one commune, or p's jurisdiction, with
// f's state and search) as XLSX, PDF or CSV, after recording the export and
// its purpose in the audit log, and a search by person as a search.
func (s *Service) ExportWorklist(ctx context.Context, p *auth.Principal, f WorkFilter, format, purpose string, w io.Writer) (string, error) {
	if err := checkExport(format, purpose); err != nil {
		return "", fmt.Errorf("export worklist: %w", err)
	}
	items, err := s.exportItems(ctx, p, f, purpose)
	if err != nil {
		return "", err
	}
	unit := f.Commune
	if unit == "" {
		unit = p.Unit
	}
	u, _ := geo.Get(unit)
	title := msg.T("vi", "cases.f1_f2_follow_up") + strings.ToUpper(u.Name)
	return fmt.Sprintf("theo-doi-%s.%s", unit, format), s.write(w, format, title, p, purpose, items)
}

// exportLimit is the most rows one export holds.
const exportLimit = 5000

func (s *Service) exportItems(ctx context.Context, p *auth.Principal, f WorkFilter, purpose string) ([]WorkItem, error) {
	f.Limit = exportLimit
	// Read without personal data first, then audit as an export and decrypt.
	pg, err := s.workPage(ctx, p, f)
	if err != nil {
		return nil, err
	}
	if pg.Capped {
		// A name search over more contacts than it looks at: the file
		// would miss some without saying so.
		return nil, fmt.Errorf("worklist export: %w", &errs.Invalid{Fields: map[string]string{"q": msg.Both("cases.export_capped")}})
	}
	items := pg.Items
	if err := s.auditWorkSearch(ctx, p, f, pg, purpose); err != nil {
		return nil, err
	}
	if err := s.fillPersonal(ctx, p, items, auth.ActionExport, purpose); err != nil {
		return nil, err
	}
	return items, nil
}

// Refresh traces an F0 again and saves any new contacts (and messages new
// F1s), without returning them.
func (s *Service) Refresh(ctx context.Context, c Case) error {
	w, err := s.Window(c)
	if err != nil {
		return err
	}
	tr, err := s.trace(ctx, c.PersonID, w)
	if err != nil {
		return err
	}
	var added, proven []int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		added, proven, err = s.saveTrace(ctx, tx, c.ID, tr, s.Now().Unix())
		return err
	})
	if err != nil {
		return err
	}
	if len(added)+len(proven) > 0 {
		s.notifyNew(ctx, c)
	}
	return nil
}

var exportHeader = []string{"STT", msg.T("vi", "cases.full_name"), msg.T("vi", "cases.phone"), msg.T("vi", "cases.commune"), msg.T("vi", "cases.export.level"), msg.T("vi", "cases.export.proof"), msg.T("vi", "cases.place_contact"), msg.T("vi", "cases.export.minutes"), msg.T("vi", "cases.time_contact"),
	msg.T("vi", "cases.export.source"), msg.T("vi", "cases.last_call_outcome"), msg.T("vi", "cases.next_call_due"), msg.T("vi", "cases.source_case")}

func timeRange(a, b time.Time) string {
	a, b = a.In(hcm), b.In(hcm)
	if a.Format("02/01/2006") == b.Format("02/01/2006") {
		return a.Format("15:04") + "–" + b.Format("15:04 02/01/2006")
	}
	return a.Format("15:04 02/01") + "–" + b.Format("15:04 02/01/2006")
}

func exportRow(i int, it WorkItem) []string {
	u, _ := geo.Get(it.CommuneCode)
	due := it.DueAt.In(hcm).Format("15:04 02/01/2006")
	if it.Closed {
		due = msg.T("vi", "cases.closed")
	} else if it.Overdue {
		due += msg.T("vi", "cases.export.overdue")
	}
	src := strings.ReplaceAll(strings.ReplaceAll(it.Source, "qr", msg.T("vi", "cases.qr_code")), "bluetooth", "Bluetooth")
	return []string{strconv.Itoa(i + 1), it.Name, it.Phone, u.Name, it.Level, ProofName("vi", it.Proof), it.VenueName, strconv.FormatInt(it.OverlapMinutes, 10),
		timeRange(it.FirstShared, it.LastShared), src, OutcomeName(it.Outcome), due, "#" + strconv.FormatInt(it.CaseID, 10)}
}

func (s *Service) write(w io.Writer, format, title string, p *auth.Principal, purpose string, items []WorkItem) error {
	meta := msg.T("vi", "cases.exported_at_by_purpose", s.Now().In(hcm).Format("15:04 02/01/2006"), p.Username, purpose)
	switch format {
	case FormatXLSX:
		return writeXLSX(w, title, meta, items)
	case FormatCSV:
		return writeCSV(w, items)
	}
	return writePDF(w, title, meta, items)
}

// writeCSV writes data only, for other systems to read: the title and the
// export's purpose are in the audit log, as for every format.
func writeCSV(w io.Writer, items []WorkItem) error {
	rows := [][]string{exportHeader}
	for i, it := range items {
		rows = append(rows, exportRow(i, it))
	}
	return sheet.WriteCSV(w, rows)
}

func writeXLSX(w io.Writer, title, meta string, items []WorkItem) error {
	f := excelize.NewFile()
	defer f.Close()
	ws := msg.T("vi", "cases.export.list")
	f.SetSheetName("Sheet1", ws)
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}})
	head, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"}, Fill: excelize.Fill{Type: "pattern", Color: []string{"0B5CAD"}, Pattern: 1},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}})
	late, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Color: "B00020", Bold: true}})
	f.SetCellValue(ws, "A1", sheet.Cell(title))
	f.SetCellStyle(ws, "A1", "A1", bold)
	f.SetCellValue(ws, "A2", sheet.Cell(meta))
	for i, h := range exportHeader {
		cell, _ := excelize.CoordinatesToCellName(i+1, 4)
		f.SetCellValue(ws, cell, sheet.Cell(h))
	}
	last, _ := excelize.CoordinatesToCellName(len(exportHeader), 4)
	f.SetCellStyle(ws, "A4", last, head)
	for i, it := range items {
		for j, v := range exportRow(i, it) {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+5)
			if j == 0 || j == 7 {
				n, _ := strconv.Atoi(v)
				f.SetCellValue(ws, cell, n)
			} else {
				f.SetCellValue(ws, cell, sheet.Cell(v))
			}
		}
		if it.Overdue {
			cell, _ := excelize.CoordinatesToCellName(12, i+5)
			f.SetCellStyle(ws, cell, cell, late)
		}
	}
	for i, wd := range []float64{6, 26, 13, 26, 6, 16, 34, 9, 26, 10, 22, 24, 9} {
		col, _ := excelize.ColumnNumberToName(i + 1)
		f.SetColWidth(ws, col, col, wd)
	}
	f.SetPanes(ws, &excelize.Panes{Freeze: true, YSplit: 4, TopLeftCell: "A5", ActivePane: "bottomLeft"})
	if len(items) > 0 {
		lastCell, _ := excelize.CoordinatesToCellName(len(exportHeader), len(items)+4)
		f.AutoFilter(ws, "A4:"+lastCell, nil)
	}
	return f.Write(w)
}

const pdfFont = "DejaVu"

func writePDF(w io.Writer, title, meta string, items []WorkItem) error {
	doc := fpdf.New("L", "mm", "A4", "")
	regular, boldFont := poster.DejaVuSans()
	doc.AddUTF8FontFromBytes(pdfFont, "", regular)
	doc.AddUTF8FontFromBytes(pdfFont, "B", boldFont)
	doc.SetMargins(10, 10, 10)
	doc.SetAutoPageBreak(true, 12)
	widths := []float64{10, 32, 22, 32, 11, 16, 38, 12, 30, 14, 30, 30} // mm, the page's 277
	header := append([]string(nil), exportHeader[:len(widths)]...)
	header[11] = msg.T("vi", "cases.call_due")
	drawHeader := func() {
		doc.SetFont(pdfFont, "B", 7.5)
		doc.SetFillColor(11, 92, 173)
		doc.SetTextColor(255, 255, 255)
		wrapRow(doc, widths, header, 3.6, true, nil)
		doc.SetTextColor(25, 25, 25)
		doc.SetFont(pdfFont, "", 7.5)
	}
	doc.SetFooterFunc(func() {
		doc.SetY(-10)
		doc.SetFont(pdfFont, "", 7)
		doc.SetTextColor(95, 95, 95)
		doc.CellFormat(0, 5, msg.T("vi", "cases.page_personal_data_epidemic", doc.PageNo()), "", 0, "C", false, 0, "")
	})
	doc.SetHeaderFunc(func() {
		if doc.PageNo() > 1 {
			drawHeader()
		}
	})
	doc.AddPage()
	doc.SetFont(pdfFont, "B", 13)
	doc.MultiCell(0, 7, title, "", "L", false)
	doc.SetFont(pdfFont, "", 8.5)
	doc.MultiCell(0, 5, meta, "", "L", false)
	doc.Ln(2)
	drawHeader()
	if len(items) == 0 {
		doc.CellFormat(0, 7, msg.T("vi", "cases.no_contacts_in_jurisdiction"), "1", 1, "L", false, 0, "")
	}
	for i, it := range items {
		wrapRow(doc, widths, exportRow(i, it)[:len(widths)], 3.6, false, func(j int) {
			if j == 11 && it.Overdue {
				doc.SetTextColor(176, 0, 32)
			} else {
				doc.SetTextColor(25, 25, 25)
			}
		})
	}
	if err := doc.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return doc.Output(w)
}

// wrapRow draws one table row whose cells wrap their text onto as many
// lines as the longest needs, so nothing is cut (a call deadline keeps its
// date); a row that would cross the page's foot starts the next page. color,
// when set, chooses each cell's text colour.
func wrapRow(doc *fpdf.Fpdf, widths []float64, cells []string, lineH float64, fill bool, color func(j int)) {
	lines := make([][]string, len(cells))
	n := 1
	for j, v := range cells {
		lines[j] = doc.SplitText(v, widths[j]-2)
		n = max(n, len(lines[j]))
	}
	h := float64(n)*lineH + 2
	_, pageH := doc.GetPageSize()
	left, _, _, bottom := doc.GetMargins()
	if doc.GetY()+h > pageH-bottom {
		doc.AddPage()
	}
	style := "D"
	if fill {
		style = "FD"
	}
	x, y := left, doc.GetY()
	for j := range cells {
		doc.Rect(x, y, widths[j], h, style)
		if color != nil {
			color(j)
		}
		for k, l := range lines[j] {
			doc.SetXY(x+1, y+1+float64(k)*lineH)
			doc.CellFormat(widths[j]-2, lineH, l, "", 0, "L", false, 0, "")
		}
		x += widths[j]
	}
	doc.SetXY(left, y+h)
}
