package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"time"

	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/poster"
)

// routesPersonalQR registers the personal QR a declaration gives, and its page.
func (s *Server) routesPersonalQR() {
	s.page("GET /p/{token}", false, s.declCardPage)
	s.page("GET /p/{token}/qr.png", false, s.declQRPNG)
	s.page("GET /p/{token}/qr.svg", false, s.declQRSVG)
}

// cardView is the result page and the page behind a personal QR.
type cardView struct {
	Result  *declaration.Result // set right after submitting
	Name    string              // the declarant's name, only on the submitter's own result page
	Token   string
	Expires time.Time
	QR      template.URL // inline SVG as a data: URL
	Error   string       // why the token was refused
	Expired bool
}

func (s *Server) renderDeclCard(w http.ResponseWriter, r *http.Request, status int, cv cardView) error {
	if cv.Error == "" {
		svg, err := poster.SVG(s.Declarations.URL(cv.Token))
		if err != nil {
			return err
		}
		cv.QR = template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg))
	}
	s.render(w, r, status, "declaration", cv)
	return nil
}

// cardPage is what opens when a phone's camera reads a personal QR: whether
// it is valid and until when. It shows no personal data: anyone holding the
// paper can open it.
func (s *Server) declCardPage(w http.ResponseWriter, r *http.Request) error {
	tok := r.PathValue("token")
	c, err := s.Declarations.Verify(tok)
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		return s.renderDeclCard(w, r, http.StatusBadRequest, cardView{Token: tok, Error: msg.Local(langOf(r), errs.FieldsOf(err)["token"]),
			Expired: errors.Is(err, declaration.ErrTokenExpired)})
	}
	return s.renderDeclCard(w, r, http.StatusOK, cardView{Token: tok, Expires: c.Expires})
}

// qrToken verifies the token of a QR image request: this is not an open QR
// generator.
func (s *Server) declQRToken(r *http.Request) (string, error) {
	tok := r.PathValue("token")
	if _, err := s.Declarations.Verify(tok); err != nil {
		return "", err
	}
	return tok, nil
}

func (s *Server) declQRPNG(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.declQRToken(r)
	if err != nil {
		return err
	}
	size, err := queryInt(r, "size", 512)
	if err != nil {
		return err
	}
	png, err := poster.PNG(s.Declarations.URL(tok), size)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	if r.URL.Query().Has("download") {
		w.Header().Set("Content-Disposition", `attachment; filename="ma-qr-khai-bao-y-te.png"`)
	}
	w.Write(png)
	return nil
}

func (s *Server) declQRSVG(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.declQRToken(r)
	if err != nil {
		return err
	}
	svg, err := poster.SVG(s.Declarations.URL(tok))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(svg)
	return nil
}
