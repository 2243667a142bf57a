package press

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"

	"anticovid/internal/dashboard"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/poster"
)

// clean puts text in NFC (DejaVu has the precomposed Vietnamese glyphs) and
// drops control characters other than newlines, as the weekly reports do.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' {
			return -1
		}
		return r
	}, norm.NFC.String(s))
}

// TableHeads are the figures table's column titles in lang.
func TableHeads(lang string) []string {
	return []string{msg.T(lang, "press.col.unit"), msg.T(lang, "press.col.f0"), msg.T(lang, "press.col.checkins"), msg.T(lang, "press.col.declarations"),
		msg.T(lang, "press.col.venues"), msg.T(lang, "press.col.scanning"), "Bluezone"}
}

// Cells are a row's table cells, in the order of TableHeads.
func (r Row) Cells() []string {
	return []string{r.Name, Num(r.F0Days14), Num(r.Checkins), Num(r.Declarations), Num(r.VenuesRegistered), Num(r.VenuesScanning), Pct(r.BluezonePct)}
}

// PDF writes a published release on A4 portrait pages, in Vietnamese with
// DejaVu Sans embedded (as the posters and weekly reports).
func (r Release) PDF(w io.Writer, url string) error {
	regular, bold := poster.DejaVuSans()
	const font = "DejaVu"
	doc := fpdf.New("P", "mm", "A4", "")
	doc.SetMargins(15, 15, 15)
	doc.SetAutoPageBreak(true, 15)
	doc.AddUTF8FontFromBytes(font, "", regular)
	doc.AddUTF8FontFromBytes(font, "B", bold)
	doc.SetTitle(clean(r.Title), true)
	doc.SetLang("vi-VN")
	doc.SetCreator("anticovid", true)
	at := r.Figures.At.In(dashboard.HCM).Format("15:04 02/01/2006")
	doc.SetFooterFunc(func() {
		doc.SetY(-11)
		doc.SetFont(font, "", 8)
		doc.SetTextColor(110, 110, 110)
		doc.CellFormat(0, 5, clean(msg.T("vi", "press.pdf.footer", url, doc.PageNo())), "", 0, "C", false, 0, "")
	})
	doc.AddPage()
	doc.SetFont(font, "", 10)
	doc.SetTextColor(60, 60, 60)
	doc.CellFormat(0, 6, clean(msg.T("vi", "press.release.kicker", r.WeekLabel())), "", 1, "L", false, 0, "")
	doc.SetFont(font, "B", 15)
	doc.SetTextColor(11, 74, 140)
	doc.MultiCell(0, 7.5, clean(r.Title), "", "L", false)
	doc.Ln(2)
	doc.SetFont(font, "", 11)
	doc.SetTextColor(30, 30, 30)
	for _, p := range r.Paragraphs() {
		doc.MultiCell(0, 6, clean(p), "", "J", false)
		doc.Ln(2)
	}
	doc.Ln(2)
	doc.SetFont(font, "B", 11)
	doc.SetTextColor(11, 74, 140)
	doc.MultiCell(0, 6, clean(msg.T("vi", "press.release.table_title", at)), "", "L", false)
	doc.SetTextColor(30, 30, 30)
	widths := []float64{46, 20, 24, 24, 22, 22, 22}
	doc.SetFont(font, "B", 8)
	doc.SetFillColor(220, 230, 241)
	for i, h := range TableHeads("vi") {
		doc.CellFormat(widths[i], 9, clean(h), "1", 0, "C", true, 0, "")
	}
	doc.Ln(-1)
	line := func(row Row, b bool) {
		style := ""
		if b {
			style = "B"
		}
		doc.SetFont(font, style, 8.5)
		for i, c := range row.Cells() {
			align := "R"
			if i == 0 {
				align = "L"
			}
			doc.CellFormat(widths[i], 6, clean(c), "1", 0, align, false, 0, "")
		}
		doc.Ln(-1)
	}
	for _, d := range r.Figures.Districts {
		line(d, false)
	}
	line(r.Figures.Province, true)
	doc.Ln(2)
	doc.SetFont(font, "", 8.5)
	doc.SetTextColor(80, 80, 80)
	doc.MultiCell(0, 4.5, clean(msg.T("vi", "press.release.note", r.Figures.Threshold)), "", "L", false)
	if err := doc.Output(w); err != nil {
		return fmt.Errorf("release pdf: %w", err)
	}
	return nil
}

// Atom feed types (RFC 4287): just what a reader needs.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomEntry struct {
	ID        string     `xml:"id"`
	Title     string     `xml:"title"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Links     []atomLink `xml:"link"`
	Summary   atomText   `xml:"summary"`
	Content   atomText   `xml:"content"`
}

// Feed writes the Atom feed of the published releases; base is the
// server's public URL.
func (s *Service) Feed(list []Release, base string) ([]byte, error) {
	prov, _ := geo.Get(s.Province)
	f := atomFeed{ID: base + "/bao-chi/", Title: clean(msg.T("vi", "press.feed_title", prov.Name)),
		Author:  atomPerson{Name: clean(msg.T("vi", "press.feed_author", prov.Name))},
		Links:   []atomLink{{Rel: "self", Type: "application/atom+xml", Href: base + "/bao-chi/atom.xml"}, {Rel: "alternate", Type: "text/html", Href: base + "/bao-chi/"}},
		Updated: time.Unix(0, 0).UTC().Format(time.RFC3339)}
	for i, r := range list {
		stamp := r.PublishedAt.UTC().Format(time.RFC3339)
		if i == 0 {
			f.Updated = stamp
		}
		paras := r.Paragraphs()
		summary := ""
		if len(paras) > 0 {
			summary = paras[0]
		}
		url := base + "/bao-chi/" + r.Week
		f.Entries = append(f.Entries, atomEntry{ID: url, Title: clean(r.Title), Updated: stamp, Published: stamp,
			Links:   []atomLink{{Rel: "alternate", Type: "text/html", Href: url}, {Rel: "enclosure", Type: "application/pdf", Href: url + ".pdf"}},
			Summary: atomText{Type: "text", Text: clean(summary)}, Content: atomText{Type: "text", Text: clean(r.Body)}})
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}
