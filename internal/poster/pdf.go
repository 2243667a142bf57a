package poster

import (
	"bytes"
	_ "embed"
	"fmt"
	"image/png"
	"io"
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// DejaVu Sans is embedded because Go's own fonts and the PDF standard fonts
// lack Vietnamese glyphs; see fonts/LICENSE.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

// Poster is what one A4 page shows about a venue. URL is the content of the
// QR code (the venue's signed check-in link); the other fields are display
// text, Vietnamese, printed as given.
type Poster struct {
	URL      string
	Name     string
	Category string // e.g. "Chợ truyền thống"
	Address  string // street address, without the commune
	Commune  string // e.g. "Thị trấn Bến Lức, huyện Bến Lức"
}

// Page geometry in millimetres (A4 portrait). The margins stay clear of the
// 4–6 mm most office printers cannot print.
const (
	pageW, pageH = 210.0, 297.0
	margin       = 15.0
	top          = 12.0
	bottom       = 10.0
	contentW     = pageW - 2*margin
	maxQR        = 150.0 // larger gains nothing at arm's length and crowds the text
	qrPixels     = 20    // pixels a module in the embedded PNG: crisp at any print resolution
)

const font = "DejaVu"

var (
	blue   = rgb{11, 74, 140}
	yellow = rgb{255, 214, 64}
	ink    = rgb{25, 25, 25}
	grey   = rgb{95, 95, 95}
	light  = rgb{200, 205, 212}
	tint   = rgb{238, 244, 251}
)

type rgb struct{ r, g, b int }

// steps are the instructions, Vietnamese with the English under each.
var steps = [][2]string{
	{msg.T("vi", "poster.1_open_phone_camera"), "Open your phone's camera or a QR scanner app."},
	{msg.T("vi", "poster.2_scan_code_when"), "Scan this code when you enter and when you leave."},
	{msg.T("vi", "poster.3_make_health_declaration"), "Fill in the health declaration if asked."},
}

// PDF writes one A4 page per poster: heading, venue name, category and
// address, a large QR code, instructions and the link in small print. A
// commune's batch is simply many posters. Long names wrap, then shrink, and
// are cut short only when they would not fit on the page at all.
func PDF(w io.Writer, posters []Poster) error {
	if len(posters) == 0 {
		return fmt.Errorf("poster pdf: %w", &errs.Invalid{Fields: map[string]string{"posters": msg.Both("poster.no_venue_selected")}})
	}
	doc := fpdf.New("P", "mm", "A4", "")
	doc.SetMargins(margin, top, margin)
	doc.SetAutoPageBreak(false, 0) // the layout below is computed; a break would split a poster
	doc.SetCellMargin(0)
	doc.AddUTF8FontFromBytes(font, "", fontRegular)
	doc.AddUTF8FontFromBytes(font, "B", fontBold)
	doc.SetTitle(msg.T("vi", "poster.entry_and_exit_qr"), true)
	doc.SetLang("vi-VN")
	doc.SetCreator("anticovid", true)
	if len(posters) == 1 {
		doc.SetSubject(clean(posters[0].Name), true)
	}
	for i, p := range posters {
		if err := page(doc, i, p); err != nil {
			return fmt.Errorf("poster pdf: poster %d (%q): %w", i+1, p.Name, err)
		}
	}
	if err := doc.Output(w); err != nil {
		return fmt.Errorf("poster pdf: %w", err)
	}
	return nil
}

func page(doc *fpdf.Fpdf, i int, p Poster) error {
	bm, err := bitmap(p.URL)
	if err != nil {
		return err
	}
	var img bytes.Buffer
	if err := png.Encode(&img, render(bm, len(bm)*qrPixels)); err != nil {
		return err
	}
	imgName := fmt.Sprintf("qr%d", i)
	doc.RegisterImageOptionsReader(imgName, fpdf.ImageOptions{ImageType: "PNG"}, &img)

	doc.AddPage()

	// Heading band.
	const bandH = 30.0
	setFill(doc, blue)
	doc.RoundedRect(margin, top, contentW, bandH, 3, "1234", "F")
	setText(doc, rgb{255, 255, 255})
	doc.SetFont(font, "B", 22)
	doc.SetXY(margin, top+4)
	doc.CellFormat(contentW, 11, msg.T("vi", "poster.entry_and_exit_qr_2"), "", 2, "C", false, 0, "")
	setText(doc, yellow)
	doc.SetFont(font, "B", 17)
	doc.CellFormat(contentW, 10, msg.T("vi", "poster.scan_when_you_come"), "", 2, "C", false, 0, "")
	setText(doc, grey)
	doc.SetFont(font, "", 10)
	doc.SetXY(margin, top+bandH+1.5)
	doc.CellFormat(contentW, 6, "Check-in QR code · Scan when you enter and when you leave", "", 2, "C", false, 0, "")

	// Venue: name, category, address.
	y := top + bandH + 11
	setText(doc, ink)
	y = block(doc, y, clean(p.Name), "B", 22, 14, 3, 1.25)
	if c := clean(p.Category); c != "" {
		setText(doc, blue)
		y = block(doc, y+1, c, "", 13, 10, 1, 1.3)
	}
	if a := joinNonEmpty(", ", clean(p.Address), clean(p.Commune)); a != "" {
		setText(doc, grey)
		y = block(doc, y+0.5, msg.T("vi", "poster.address")+a, "", 11, 9, 2, 1.3)
	}

	// Bottom up: the link (for anyone whose scanner shows it before opening
	// it; the QR holds it whole even if the print is cut short), then the
	// instructions box.
	urlLines, urlSize := fit(doc, clean(p.URL), "", 7, 5.5, 1)
	if strings.HasSuffix(urlLines[0], "…") { // too long for one line: two, larger
		urlLines, urlSize = fit(doc, clean(p.URL), "", 7, 6, 2)
	}
	urlLH := urlSize * ptMM * 1.25
	urlY := pageH - bottom - float64(len(urlLines))*urlLH
	const (
		pad     = 4.5
		titleH  = 8.0
		viH     = 6.2
		enH     = 5.0
		stepGap = 1.2
	)
	boxH := pad + titleH + float64(len(steps))*(viH+enH) + float64(len(steps)-1)*stepGap + pad - 1
	boxY := urlY - 3 - boxH

	// The QR takes the room left between the text and the instructions.
	const gap = 7.0 // between the text and the QR's frame, and the frame and the box
	room := boxY - gap - (y + gap)
	side := min(maxQR, room)
	if side < 60 { // cannot happen with the caps on text above; guards future edits
		return fmt.Errorf("layout: only %.0f mm left for the QR code", side)
	}
	qy := y + gap + (room-side)/2
	qx := (pageW - side) / 2
	setDraw(doc, light)
	doc.SetLineWidth(0.4)
	doc.RoundedRect(qx-2, qy-2, side+4, side+4, 3, "1234", "D")
	doc.ImageOptions(imgName, qx, qy, side, side, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")

	// Instructions.
	setFill(doc, tint)
	setDraw(doc, blue)
	doc.SetLineWidth(0.5)
	doc.RoundedRect(margin, boxY, contentW, boxH, 3, "1234", "FD")
	tx := margin + pad + 2
	tw := contentW - 2*(pad+2)
	doc.SetXY(tx, boxY+pad)
	setText(doc, blue)
	doc.SetFont(font, "B", 13)
	doc.CellFormat(tw, titleH, msg.T("vi", "poster.how_to_check_in"), "", 2, "L", false, 0, "")
	for i, s := range steps {
		if i > 0 {
			doc.SetXY(tx, doc.GetY()+stepGap)
		}
		setText(doc, ink)
		doc.SetFont(font, "B", 12.5)
		doc.SetX(tx)
		doc.CellFormat(tw, viH, s[0], "", 2, "L", false, 0, "")
		setText(doc, grey)
		doc.SetFont(font, "", 10)
		doc.SetX(tx + 5)
		doc.CellFormat(tw-5, enH, s[1], "", 2, "L", false, 0, "")
	}

	// The link.
	setText(doc, grey)
	doc.SetFont(font, "", urlSize)
	drawLines(doc, urlY, urlLines, urlLH)

	return doc.Error()
}

// block writes text centred across the page at y (see fit) and returns the
// y below it.
func block(doc *fpdf.Fpdf, y float64, text, style string, size, minSize float64, maxLines int, leading float64) float64 {
	lines, size := fit(doc, text, style, size, minSize, maxLines)
	return drawLines(doc, y, lines, size*ptMM*leading)
}

// ptMM is one typographic point in millimetres.
const ptMM = 25.4 / 72

// fit tries font sizes from size down to minSize until text fits the content
// width in maxLines lines; at minSize the last line is cut short with an
// ellipsis. It leaves the font chosen set.
func fit(doc *fpdf.Fpdf, text, style string, size, minSize float64, maxLines int) ([]string, float64) {
	var lines []string
	for ; ; size -= 0.5 {
		doc.SetFont(font, style, size)
		lines = doc.SplitText(text, contentW)
		if len(lines) <= maxLines || size <= minSize {
			break
		}
	}
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		last := []rune(strings.TrimSpace(lines[maxLines-1]))
		for len(last) > 0 && doc.GetStringWidth(string(last)+" …") > contentW {
			last = last[:len(last)-1]
		}
		lines[maxLines-1] = strings.TrimSpace(string(last)) + " …"
	}
	return lines, size
}

func drawLines(doc *fpdf.Fpdf, y float64, lines []string, lh float64) float64 {
	for _, l := range lines {
		doc.SetXY(margin, y)
		doc.CellFormat(contentW, lh, strings.TrimSpace(l), "", 0, "C", false, 0, "")
		y += lh
	}
	return y
}

// clean prepares typed-in text for the PDF. Vietnamese typed with combining
// accents (as some keyboards and systems send it) is composed, because the
// PDF places a combining mark beside its letter rather than over it; runes
// beyond the Basic Multilingual Plane (emoji) are dropped, since the PDF
// library's width tables stop there and would fail the whole batch; control
// characters become spaces.
func clean(s string) string {
	s = norm.NFC.String(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case r > 0xFFFF:
			return -1
		case unicode.IsControl(r) || unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

func setFill(doc *fpdf.Fpdf, c rgb) { doc.SetFillColor(c.r, c.g, c.b) }
func setDraw(doc *fpdf.Fpdf, c rgb) { doc.SetDrawColor(c.r, c.g, c.b) }
func setText(doc *fpdf.Fpdf, c rgb) { doc.SetTextColor(c.r, c.g, c.b) }
