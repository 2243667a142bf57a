package poster

import (
	"bytes"
	"fmt"
	"image/png"
	"io"

	"github.com/go-pdf/fpdf"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Card is one personal QR card: the declarant's name, the QR (URL is the
// personal QR's link, the same as on the person's own card), where they
// live and until when the code is good. Display text is printed as given.
type Card struct {
	URL     string
	Name    string
	Hamlet  string
	Expires string // dd/mm/yyyy
}

// Card geometry: eight cards to an A4 page, two across, four down, to cut
// along the frames.
const (
	cardCols, cardRows = 2, 4
	cardMargin         = 10.0
	cardW              = (pageW - 2*cardMargin) / cardCols
	cardH              = (pageH - 2*cardMargin) / cardRows
	cardQR             = 44.0
)

// Cards writes personal QR cards, eight to an A4 page.
func Cards(w io.Writer, cards []Card) error {
	if len(cards) == 0 {
		return fmt.Errorf("cards pdf: %w", &errs.Invalid{Fields: map[string]string{"ids": msg.Both("door.cards.none")}})
	}
	doc := fpdf.New("P", "mm", "A4", "")
	doc.SetAutoPageBreak(false, 0)
	doc.SetCellMargin(0)
	doc.AddUTF8FontFromBytes(font, "", fontRegular)
	doc.AddUTF8FontFromBytes(font, "B", fontBold)
	doc.SetTitle(msg.T("vi", "door.cards.title"), true)
	doc.SetLang("vi-VN")
	doc.SetCreator("anticovid", true)
	for i, c := range cards {
		if i%(cardCols*cardRows) == 0 {
			doc.AddPage()
		}
		bm, err := bitmap(c.URL)
		if err != nil {
			return fmt.Errorf("cards pdf: card %d: %w", i+1, err)
		}
		var img bytes.Buffer
		if err := png.Encode(&img, render(bm, len(bm)*qrPixels)); err != nil {
			return fmt.Errorf("cards pdf: card %d: %w", i+1, err)
		}
		name := fmt.Sprintf("card%d", i)
		doc.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, &img)
		slot := i % (cardCols * cardRows)
		x := cardMargin + float64(slot%cardCols)*cardW
		y := cardMargin + float64(slot/cardCols)*cardH
		setDraw(doc, light)
		doc.SetLineWidth(0.3)
		doc.Rect(x+1, y+1, cardW-2, cardH-2, "D")
		tx, tw := x+5, cardW-10
		setText(doc, blue)
		doc.SetFont(font, "B", 10)
		doc.SetXY(tx, y+4)
		doc.CellFormat(tw, 5, msg.T("vi", "door.cards.title"), "", 2, "L", false, 0, "")
		setText(doc, ink)
		doc.SetFont(font, "B", 12)
		doc.SetX(tx)
		doc.MultiCell(tw, 5.5, clean(c.Name), "", "L", false)
		qy := y + 21
		doc.ImageOptions(name, tx, qy, cardQR, cardQR, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		rx, rw := tx+cardQR+3, tw-cardQR-3
		doc.SetXY(rx, qy)
		setText(doc, grey)
		doc.SetFont(font, "", 8.5)
		doc.MultiCell(rw, 4.2, msg.T("vi", "door.hamlet"), "", "L", false)
		setText(doc, ink)
		doc.SetFont(font, "B", 9.5)
		doc.SetX(rx)
		doc.MultiCell(rw, 4.6, clean(c.Hamlet), "", "L", false)
		doc.SetX(rx)
		setText(doc, grey)
		doc.SetFont(font, "", 8.5)
		doc.MultiCell(rw, 4.2, msg.T("vi", "door.cards.expires"), "", "L", false)
		doc.SetX(rx)
		setText(doc, ink)
		doc.SetFont(font, "B", 9.5)
		doc.MultiCell(rw, 4.6, c.Expires, "", "L", false)
		doc.SetX(rx)
		setText(doc, grey)
		doc.SetFont(font, "", 8)
		doc.MultiCell(rw, 4, msg.T("vi", "door.cards.scan"), "", "L", false)
	}
	if err := doc.Output(w); err != nil {
		return fmt.Errorf("cards pdf: %w", err)
	}
	return nil
}
