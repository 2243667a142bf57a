package reports

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/poster"
	"anticovid/internal/sheet"
)

// Consolidated is the province's report for a week: every district and
// department, their state and figures, and the province's total (the sum of
// the districts; departments overlap the districts, so they are listed, not
// added).
type Consolidated struct {
	Week         string    `json:"week"`
	ProvinceName string    `json:"province_name"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Deadline     time.Time `json:"deadline"`
	GeneratedAt  time.Time `json:"generated_at"`
	Board        Board     `json:"board"`
	Departments  []Report  `json:"departments"`
	Districts    []Report  `json:"districts"`
	Total        Figures   `json:"total"`
	LastSent     time.Time `json:"last_sent,omitzero"`
	// Meetings are the week's meetings with minutes, linked.
	Meetings []MeetingLink `json:"meetings"`
}

// Consolidate gathers a week's reports (gatherers only). Units that have not
// reported appear with their live figures and their state.
func (s *Service) Consolidate(ctx context.Context, p *auth.Principal, w Week) (Consolidated, error) {
	if !s.Gatherer(p) {
		return Consolidated{}, fmt.Errorf("consolidated report: %w", errs.ErrForbidden)
	}
	return s.consolidate(ctx, w)
}

func (s *Service) consolidate(ctx context.Context, w Week) (Consolidated, error) {
	board, err := s.status(ctx, w)
	if err != nil {
		return Consolidated{}, err
	}
	pu, _ := geo.Get(s.Province)
	from, to := w.Period()
	c := Consolidated{Week: w.String(), ProvinceName: pu.Name, From: from.UTC(), To: to.UTC(), Deadline: w.Deadline().UTC(),
		GeneratedAt: s.now().UTC().Truncate(time.Second), Board: board}
	for _, u := range Units(s.Province) {
		r, err := s.get(ctx, w, u)
		if err != nil {
			return Consolidated{}, err
		}
		if u.Kind == KindDistrict {
			c.Districts = append(c.Districts, r)
			c.Total = c.Total.Add(r.Figures)
		} else {
			c.Departments = append(c.Departments, r)
		}
	}
	if at, ok, err := s.lastSend(ctx, w); err != nil {
		return Consolidated{}, err
	} else if ok {
		c.LastSent = at
	}
	if c.Meetings, err = s.meetings(ctx, w); err != nil {
		return Consolidated{}, err
	}
	return c, nil
}

// StateName is a report state in Vietnamese.
var StateName = map[string]string{OnTime: msg.T("vi", "reports.on_time"), Late: msg.T("vi", "reports.late"), Pending: msg.T("vi", "reports.not_yet_before_deadline"), Missing: msg.T("vi", "reports.missing")}

func localStamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(HCM).Format("15:04 02/01/2006")
}

var xlsxHeader = []string{"STT", msg.T("vi", "reports.unit"), msg.T("vi", "reports.state"), msg.T("vi", "reports.venues_registered"), msg.T("vi", "reports.venues_scanning_7_days"), msg.T("vi", "reports.scanning_share"),
	msg.T("vi", "reports.check_ins"), msg.T("vi", "reports.health_declarations"), msg.T("vi", "reports.bluezone_installs"), msg.T("vi", "reports.smartphone_users"), msg.T("vi", "reports.bluezone_share"), msg.T("vi", "reports.submitted")}

func figureRow(f Figures) []any {
	return []any{f.VenuesRegistered, f.VenuesScanning, f.ScanningPct(), f.Checkins, f.Declarations, f.BluezoneInstalls, f.SmartphoneUsers, f.BluezonePct()}
}

// XLSX writes the consolidated report as a workbook: the districts with the
// province's total, the departments, the communes behind each district, and
// every unit's text.
func (c Consolidated) XLSX(w io.Writer) error {
	x := excelize.NewFile()
	defer x.Close()
	title, _ := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	head, _ := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"DCE6F1"}, Pattern: 1},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}})
	bold, _ := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, NumFmt: 3})
	num, _ := x.NewStyle(&excelize.Style{NumFmt: 3})
	pctFmt := "0.0"
	pctStyle, _ := x.NewStyle(&excelize.Style{CustomNumFmt: &pctFmt})
	pctBold, _ := x.NewStyle(&excelize.Style{CustomNumFmt: &pctFmt, Font: &excelize.Font{Bold: true}})
	wrap, _ := x.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})

	period := msg.T("vi", "reports.period_due_13_00", c.From.In(HCM).Format("15:04 02/01/2006"), c.To.In(HCM).Format("15:04 02/01/2006"), c.Deadline.In(HCM).Format("02/01/2006"))
	table := func(ws, heading string, reports []Report, total *Figures) error {
		set := func(cell string, v any) {
			x.SetCellValue(ws, cell, sheet.Value(v))
		}
		set("A1", heading)
		x.SetCellStyle(ws, "A1", "A1", title)
		set("A2", period)
		for i, h := range xlsxHeader {
			cell, _ := excelize.CoordinatesToCellName(i+1, 4)
			set(cell, h)
		}
		x.SetCellStyle(ws, "A4", "L4", head)
		x.SetRowHeight(ws, 4, 45)
		row := 5
		for i, r := range reports {
			vals := append([]any{i + 1, r.Unit.Name, StateName[r.State]}, figureRow(r.Figures)...)
			vals = append(vals, localStamp(r.FirstSubmittedAt))
			cell, _ := excelize.CoordinatesToCellName(1, row)
			if err := x.SetSheetRow(ws, cell, sheet.Values(vals)); err != nil {
				return err
			}
			x.SetCellStyle(ws, fmt.Sprintf("D%d", row), fmt.Sprintf("K%d", row), num)
			x.SetCellStyle(ws, fmt.Sprintf("F%d", row), fmt.Sprintf("F%d", row), pctStyle)
			x.SetCellStyle(ws, fmt.Sprintf("K%d", row), fmt.Sprintf("K%d", row), pctStyle)
			row++
		}
		if total != nil {
			vals := append([]any{"", msg.T("vi", "reports.total"), ""}, figureRow(*total)...)
			cell, _ := excelize.CoordinatesToCellName(1, row)
			if err := x.SetSheetRow(ws, cell, sheet.Values(vals)); err != nil {
				return err
			}
			x.SetCellStyle(ws, fmt.Sprintf("A%d", row), fmt.Sprintf("K%d", row), bold)
			x.SetCellStyle(ws, fmt.Sprintf("F%d", row), fmt.Sprintf("F%d", row), pctBold)
			x.SetCellStyle(ws, fmt.Sprintf("K%d", row), fmt.Sprintf("K%d", row), pctBold)
		}
		x.SetColWidth(ws, "A", "A", 5)
		x.SetColWidth(ws, "B", "B", 34)
		x.SetColWidth(ws, "C", "C", 18)
		x.SetColWidth(ws, "D", "K", 14)
		x.SetColWidth(ws, "L", "L", 18)
		x.SetPanes(ws, &excelize.Panes{Freeze: true, XSplit: 2, YSplit: 4, TopLeftCell: "C5", ActivePane: "bottomRight"})
		return nil
	}
	sDistricts, sDepts, sCommunes, sText := msg.T("vi", "reports.summary"), msg.T("vi", "reports.departments"), msg.T("vi", "reports.communes"), msg.T("vi", "reports.narratives")
	x.SetSheetName("Sheet1", sDistricts)
	for _, n := range []string{sDepts, sCommunes, sText} {
		if _, err := x.NewSheet(n); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	up := strings.ToUpper(c.ProvinceName)
	if err := table(sDistricts, msg.T("vi", "reports.consolidated_report_week_districts", c.Week, up), c.Districts, &c.Total); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := table(sDepts, msg.T("vi", "reports.weekly_report_departments", c.Week), c.Departments, nil); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	// Communes, grouped by district.
	x.SetCellValue(sCommunes, "A1", sheet.Cell(msg.T("vi", "reports.commune_figures_added_into")))
	x.SetCellStyle(sCommunes, "A1", "A1", title)
	hdr := append([]any{msg.T("vi", "reports.district"), msg.T("vi", "reports.commune_ward_or_township"), msg.T("vi", "reports.state")}, anySlice(xlsxHeader[3:11])...)
	x.SetSheetRow(sCommunes, "A3", sheet.Values(hdr))
	x.SetCellStyle(sCommunes, "A3", "K3", head)
	row := 4
	for _, d := range c.Districts {
		for _, p := range d.Parts {
			vals := append([]any{d.Unit.Name, p.Unit.Name, StateName[p.State]}, figureRow(p.Figures)...)
			x.SetSheetRow(sCommunes, fmt.Sprintf("A%d", row), sheet.Values(vals))
			row++
		}
	}
	x.SetColWidth(sCommunes, "A", "B", 28)
	x.SetColWidth(sCommunes, "C", "K", 14)
	// Texts.
	x.SetCellValue(sText, "A1", sheet.Cell(msg.T("vi", "reports.results_difficulties_and_proposals")))
	x.SetCellStyle(sText, "A1", "A1", title)
	th := []any{msg.T("vi", "reports.unit"), msg.T("vi", "reports.state"), msg.T("vi", "reports.results"), msg.T("vi", "reports.difficulties"), msg.T("vi", "reports.proposals"), msg.T("vi", "reports.submitted_by")}
	x.SetSheetRow(sText, "A3", sheet.Values(th))
	x.SetCellStyle(sText, "A3", "F3", head)
	row = 4
	for _, r := range append(append([]Report{}, c.Departments...), c.Districts...) {
		vals := []any{r.Unit.Name, StateName[r.State], r.WorkDone, r.Difficulties, r.Proposals, r.SubmittedBy}
		x.SetSheetRow(sText, fmt.Sprintf("A%d", row), sheet.Values(vals))
		x.SetCellStyle(sText, fmt.Sprintf("A%d", row), fmt.Sprintf("F%d", row), wrap)
		row++
	}
	x.SetColWidth(sText, "A", "B", 24)
	x.SetColWidth(sText, "C", "E", 48)
	x.SetColWidth(sText, "F", "F", 16)
	x.SetActiveSheet(0)
	x.SetDocProps(&excelize.DocProperties{Title: msg.T("vi", "reports.weekly_report") + c.Week, Creator: "anticovid", Language: "vi-VN"})
	if err := x.Write(w); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// clean puts text in NFC (DejaVu has precomposed Vietnamese glyphs; a
// decomposed tone mark would print beside its letter) and drops control
// characters other than newlines.
func clean(s string) string {
	s = norm.NFC.String(s)
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' {
			return -1
		}
		return r
	}, s)
}

// PDF writes the consolidated report on A4 landscape pages in Vietnamese.
func (c Consolidated) PDF(w io.Writer) error {
	regular, boldFont := poster.DejaVuSans()
	const font = "DejaVu"
	doc := fpdf.New("L", "mm", "A4", "")
	doc.SetMargins(12, 12, 12)
	doc.SetAutoPageBreak(true, 12)
	doc.AddUTF8FontFromBytes(font, "", regular)
	doc.AddUTF8FontFromBytes(font, "B", boldFont)
	doc.SetTitle(msg.T("vi", "reports.weekly_report")+c.Week, true)
	doc.SetLang("vi-VN")
	doc.SetCreator("anticovid", true)
	doc.AliasNbPages("")
	doc.SetFooterFunc(func() {
		doc.SetY(-10)
		doc.SetFont(font, "", 8)
		doc.SetTextColor(110, 110, 110)
		doc.CellFormat(0, 5, msg.T("vi", "reports.weekly_report_made_page", c.Week, c.GeneratedAt.In(HCM).Format("15:04 02/01/2006"), doc.PageNo()), "", 0, "C", false, 0, "")
	})
	doc.AddPage()
	doc.SetFont(font, "B", 15)
	doc.SetTextColor(11, 74, 140)
	doc.CellFormat(0, 8, clean(msg.T("vi", "reports.consolidated_weekly_report")+c.Week+" – "+strings.ToUpper(c.ProvinceName)), "", 1, "C", false, 0, "")
	doc.SetFont(font, "", 10)
	doc.SetTextColor(40, 40, 40)
	doc.CellFormat(0, 6, clean(msg.T("vi", "reports.roll_out_entry_qr")), "", 1, "C", false, 0, "")
	doc.CellFormat(0, 6, clean(msg.T("vi", "reports.period_due_13_00_2", c.From.In(HCM).Format("15:04 02/01/2006"), c.To.In(HCM).Format("15:04 02/01/2006"), c.Deadline.In(HCM).Format("02/01/2006"))), "", 1, "C", false, 0, "")
	doc.CellFormat(0, 7, clean(msg.T("vi", "reports.on_time_late_not", c.Board.Counts[OnTime], c.Board.Counts[Late], c.Board.Counts[Pending], c.Board.Counts[Missing])), "", 1, "C", false, 0, "")
	doc.Ln(2)

	widths := []float64{8, 58, 32, 22, 22, 16, 26, 22, 22, 24, 18}
	heads := []string{"STT", msg.T("vi", "reports.unit"), msg.T("vi", "reports.state"), msg.T("vi", "reports.venues"), msg.T("vi", "reports.scanning"), msg.T("vi", "reports.share"), msg.T("vi", "reports.check_ins_2"), msg.T("vi", "reports.declarations"), "Bluezone", "Smartphone", msg.T("vi", "reports.share")}
	header := func() {
		doc.SetFont(font, "B", 8.5)
		doc.SetFillColor(220, 230, 241)
		for i, h := range heads {
			doc.CellFormat(widths[i], 7, h, "1", 0, "C", true, 0, "")
		}
		doc.Ln(-1)
		doc.SetFont(font, "", 8.5)
	}
	line := func(n, name, st string, f Figures, bold bool) {
		if doc.GetY() > 185 {
			doc.AddPage()
			header()
		}
		if bold {
			doc.SetFont(font, "B", 8.5)
		}
		cells := []string{n, clean(name), st, vn(f.VenuesRegistered), vn(f.VenuesScanning), vnPct(f.ScanningPct()), vn(f.Checkins),
			vn(f.Declarations), vn(f.BluezoneInstalls), vn(f.SmartphoneUsers), vnPct(f.BluezonePct())}
		for i, v := range cells {
			align := "R"
			if i == 1 || i == 2 {
				align = "L"
			}
			doc.CellFormat(widths[i], 6, v, "1", 0, align, false, 0, "")
		}
		doc.Ln(-1)
		doc.SetFont(font, "", 8.5)
	}
	section := func(t string) {
		doc.SetFont(font, "B", 11)
		doc.SetTextColor(11, 74, 140)
		doc.CellFormat(0, 8, clean(t), "", 1, "L", false, 0, "")
		doc.SetTextColor(30, 30, 30)
	}
	section(msg.T("vi", "reports.i_districts_towns_and"))
	header()
	for i, r := range c.Districts {
		line(fmt.Sprint(i+1), r.Unit.Name, StateName[r.State], r.Figures, false)
	}
	line("", msg.T("vi", "reports.total"), "", c.Total, true)
	doc.Ln(4)
	section(msg.T("vi", "reports.ii_departments_by_sector"))
	header()
	for i, r := range c.Departments {
		line(fmt.Sprint(i+1), r.Unit.Name, StateName[r.State], r.Figures, false)
	}
	doc.AddPage()
	section(msg.T("vi", "reports.iii_results_difficulties_and"))
	for _, r := range append(append([]Report{}, c.Departments...), c.Districts...) {
		if !r.Submitted {
			continue
		}
		doc.SetFont(font, "B", 10)
		doc.MultiCell(0, 6, clean(fmt.Sprintf("%s (%s, %s)", r.Unit.Name, StateName[r.State], localStamp(r.FirstSubmittedAt))), "", "L", false)
		for _, part := range [][2]string{{msg.T("vi", "reports.results"), r.WorkDone}, {msg.T("vi", "reports.difficulties"), r.Difficulties}, {msg.T("vi", "reports.proposals"), r.Proposals}} {
			if strings.TrimSpace(part[1]) == "" {
				continue
			}
			doc.SetFont(font, "B", 9)
			doc.MultiCell(0, 5, clean(part[0]+":"), "", "L", false)
			doc.SetFont(font, "", 9)
			doc.MultiCell(0, 5, clean(part[1]), "", "L", false)
		}
		doc.Ln(2)
	}
	if door := c.doorLines(); len(door) > 0 {
		doc.Ln(2)
		section(msg.T("vi", "door.report"))
		doc.SetFont(font, "", 9)
		for _, l := range door {
			doc.MultiCell(0, 5, clean(l), "", "L", false)
		}
	}
	if len(c.Meetings) > 0 {
		doc.Ln(2)
		section(msg.T("vi", "meeting.report_section"))
		for _, m := range c.Meetings {
			doc.SetFont(font, "", 9)
			doc.MultiCell(0, 5, clean(fmt.Sprintf("%s – %s (%s)", m.Start.In(HCM).Format("15:04 02/01/2006"), m.Title, unitNameOf(m.Unit))), "", "L", false)
			doc.SetTextColor(11, 74, 140)
			doc.WriteLinkString(5, m.URL, m.URL)
			doc.SetTextColor(30, 30, 30)
			doc.Ln(6)
		}
	}
	if err := doc.Output(w); err != nil {
		return fmt.Errorf("report pdf: %w", err)
	}
	return nil
}

// vn writes an integer the Vietnamese way: 1.234.567.
// doorLines are the districts' door-to-door weeks, one line each, for
// those whose communes listed households.
func (c Consolidated) doorLines() []string {
	var out []string
	for _, r := range c.Districts {
		if f := r.DoorToDoor; f != nil && f.Households > 0 {
			out = append(out, msg.T("vi", "door.report.line", r.Unit.Name, vn(f.Visited), vn(f.Households), vn(f.Installs), vn(f.Declarations)))
		}
	}
	return out
}

func vn(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// vnPct writes a percentage with a decimal comma: 42,5.
func vnPct(p float64) string { return strings.Replace(fmt.Sprintf("%.1f", p), ".", ",", 1) }

// SendConsolidated emails the week's consolidated report, XLSX and PDF
// attached, to the province's address (gatherers only).
func (s *Service) SendConsolidated(ctx context.Context, p *auth.Principal, w Week) (string, error) {
	if !s.Gatherer(p) {
		return "", fmt.Errorf("send report: %w", errs.ErrForbidden)
	}
	if s.Mailer == nil || s.ProvinceEmail == "" {
		return "", fmt.Errorf("send report: %w", &errs.Invalid{Fields: map[string]string{"smtp": smtpMissing()}})
	}
	c, err := s.consolidate(ctx, w)
	if err != nil {
		return "", err
	}
	var xb, pb bytes.Buffer
	if err := c.XLSX(&xb); err != nil {
		return "", err
	}
	if err := c.PDF(&pb); err != nil {
		return "", err
	}
	body := fmt.Sprintf(msg.T("vi", "reports.dear_department_information_and")+
		msg.T("vi", "reports.on_time_late_missing")+
		msg.T("vi", "reports.attached_spreadsheet_xlsx_and"),
		msg.T("vi", "reports.people_committee")+c.ProvinceName, c.Week, c.Board.Counts[OnTime], c.Board.Counts[Late], c.Board.Counts[Pending]+c.Board.Counts[Missing],
		vn(c.Total.Checkins), vn(c.Total.Declarations), vn(c.Total.BluezoneInstalls), vnPct(c.Total.BluezonePct()))
	name := "bao-cao-tuan-" + c.Week
	err = s.Mailer.SendAttachments(ctx, s.ProvinceEmail, msg.T("vi", "reports.consolidated_report_week")+c.Week+" – "+c.ProvinceName, body, []Attachment{
		{Name: name + ".xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: xb.Bytes()},
		{Name: name + ".pdf", ContentType: "application/pdf", Data: pb.Bytes()},
	})
	if err != nil {
		return "", fmt.Errorf("send report: %w", err)
	}
	if _, err := s.DB.W.ExecContext(ctx, "INSERT INTO report_sends (week, to_addr, sent_by, sent_at) VALUES ($1, $2, $3, $4)",
		w.String(), s.ProvinceEmail, p.Username, s.now().Unix()); err != nil {
		return "", fmt.Errorf("send report: %w", err)
	}
	return s.ProvinceEmail, nil
}

// smtpMissing says the mail settings are missing, naming the flags and
// environment variables (which are not translated) in the Vietnamese part.
func smtpMissing() string {
	settings := []string{
		strings.Join([]string{"--smtp-url", "ANTICOVID_SMTP_URL"}, " / "),
		strings.Join([]string{"--report-email", "ANTICOVID_REPORT_EMAIL"}, " / "),
	}
	return msg.T("vi", "reports.smtp_missing") + " (" + strings.Join(settings, ", ") + ")" + " / " + msg.T("en", "reports.smtp_missing")
}
