// Package poster draws what a venue puts on its door: the check-in QR code as
// PNG or SVG, and printable A4 posters in Vietnamese (one venue, or a whole
// commune's batch in one PDF for the commune office to print and hand out).
package poster

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Level is the error correction of every code: medium (15 % of the symbol can
// be lost) survives the creases, glare and dirt of a poster taped to a door
// without making the modules as small as high correction would.
const Level = qrcode.Medium

// MaxPNGSize caps PNG's size in pixels; the size may come from a request.
const MaxPNGSize = 4096

// QuietZone is the white border, in modules, every code keeps around itself:
// the four the QR standard asks for, so scanners find the code even on a busy
// noticeboard.
const QuietZone = 4

// bitmap returns the code's modules, quiet zone included (true is dark).
func bitmap(url string) ([][]bool, error) {
	if url == "" {
		return nil, &errs.Invalid{Fields: map[string]string{"url": msg.Both("poster.missing_qr_content")}}
	}
	q, err := qrcode.New(url, Level)
	if err != nil {
		return nil, fmt.Errorf("qr: %v: %w", err, &errs.Invalid{Fields: map[string]string{"url": msg.Both("poster.too_long_qr_code")}})
	}
	return q.Bitmap(), nil // go-qrcode's default border is the 4-module quiet zone
}

// PNG returns the code as a size×size PNG. Every module is the same whole
// number of pixels (the remainder widens the white border): scaling by
// fractions, as go-qrcode's own PNG does, makes uneven modules that cheap
// phone cameras misread.
func PNG(url string, size int) ([]byte, error) {
	bm, err := bitmap(url)
	if err != nil {
		return nil, fmt.Errorf("qr png: %w", err)
	}
	n := len(bm)
	if size < n || size > MaxPNGSize {
		return nil, fmt.Errorf("qr png: size %d: %w", size, &errs.Invalid{Fields: map[string]string{
			"size": msg.Both("poster.size_pixels", n, MaxPNGSize),
		}})
	}
	img := render(bm, size)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr png: %w", err)
	}
	return buf.Bytes(), nil
}

// render paints bm into a two-colour image, which PNG stores at one bit a
// pixel.
func render(bm [][]bool, size int) *image.Paletted {
	n := len(bm)
	scale := size / n
	off := (size - n*scale) / 2
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y, row := range bm {
		for x, dark := range row {
			if !dark {
				continue
			}
			for py := off + y*scale; py < off+(y+1)*scale; py++ {
				line := img.Pix[py*img.Stride:]
				for px := off + x*scale; px < off+(x+1)*scale; px++ {
					line[px] = 1
				}
			}
		}
	}
	return img
}

// SVGModulePixels is the default on-screen size of one module in SVG output;
// the drawing scales freely, its viewBox counts modules.
const SVGModulePixels = 8

// SVG returns the code as a scalable image for web pages and print shops: a
// white square (so the quiet zone stays white on dark pages) and one path of
// dark modules in a viewBox measured in modules, quiet zone included. Runs of
// dark modules in a row are merged into one rectangle to keep the file small.
// Shapes say stroke="none": a renderer that strokes by default (ImageMagick,
// which zbarimg reads SVG with) would otherwise swell every module by a
// stroke one module wide.
func SVG(url string) ([]byte, error) {
	bm, err := bitmap(url)
	if err != nil {
		return nil, fmt.Errorf("qr svg: %w", err)
	}
	n := strconv.Itoa(len(bm))
	px := strconv.Itoa(len(bm) * SVGModulePixels)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 ` + n + ` ` + n +
		`" width="` + px + `" height="` + px + `" shape-rendering="crispEdges">` +
		`<rect width="` + n + `" height="` + n + `" fill="#fff" stroke="none"/><path fill="#000" stroke="none" d="`)
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>` + "\n")
	return b.Bytes(), nil
}
