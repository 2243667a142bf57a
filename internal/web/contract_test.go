package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/klauspost/compress/zstd"
)

// The contract: every test server of this package is wrapped by contract,
// which checks each /api/v1 request and answer against the OpenAPI document
// with kin-openapi's openapi3filter. An answer the document does not
// describe (a status it does not list, a body its schema refuses, a media
// type it does not name) fails the test that made the request; so does a
// request the document calls invalid that the server accepts.

var contractDoc struct {
	once   sync.Once
	router routers.Router
	err    error
}

func contractRouter() (routers.Router, error) {
	contractDoc.once.Do(func() {
		// Files are checked as opaque bodies: their media type is the contract.
		for _, m := range append(files{mediaPDF, mediaXLSX, mediaCSV, mediaPNG, mediaSVG, mediaZIP, mediaSSE, mediaGeo}, pressFiles...) {
			openapi3filter.RegisterBodyDecoder(string(m), openapi3filter.FileBodyDecoder)
		}
		doc, err := openapi3.NewLoader().LoadFromData(everyService().openAPIDocument())
		if err != nil {
			contractDoc.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contractDoc.err = err
			return
		}
		contractDoc.router, contractDoc.err = legacy.NewRouter(doc)
	})
	return contractDoc.router, contractDoc.err
}

// contract wraps a test server's handler with the document's checks.
func contract(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	router, err := contractRouter()
	if err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		described := strings.HasPrefix(r.URL.Path, "/api/v1/") || strings.HasPrefix(r.URL.Path, "/en/export/")
		if !described || r.URL.Path == "/api/v1/openapi.json" {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		tee := &teeWriter{ResponseWriter: w}
		// The validator sees the URL as the document does: relative to the
		// server root, whatever host the test server has.
		vr := r.Clone(r.Context())
		vr.Body = io.NopCloser(bytes.NewReader(body))
		vr.URL.Scheme, vr.URL.Host, vr.Host = "", "", ""
		route, params, findErr := router.FindRoute(vr)
		h.ServeHTTP(tee, r)
		status := tee.code()
		where := fmt.Sprintf("%s %s → %d", r.Method, r.URL.RequestURI(), status)
		if findErr != nil {
			if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
				t.Errorf("contract: %s: the document has no such operation (%v), yet the server answered", where, findErr)
			}
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}}
		reqErr := openapi3filter.ValidateRequest(r.Context(), in)
		if reqErr != nil && status < 400 {
			t.Errorf("contract: %s: the document calls the request invalid, yet the server accepted it: %v", where, reqErr)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: w.Header(),
			Options: in.Options}
		answer := tee.body.Bytes()
		if tee.cut {
			out.Options = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, ExcludeResponseBody: true}
		}
		if enc := w.Header().Get("Content-Encoding"); !tee.cut && enc != "" && len(answer) > 0 {
			if answer, err = decompress(enc, answer); err != nil {
				t.Errorf("contract: %s: %s: %v", where, enc, err)
				return
			}
		}
		out.SetBodyBytes(answer)
		if err := openapi3filter.ValidateResponse(r.Context(), out); err != nil {
			t.Errorf("contract: %s: the answer is not what the document says: %v\nbody: %.600s", where, err, answer)
		}
	})
}

// decompress undoes the server's compression (gzip for most clients, zstd
// for Chromium).
func decompress(enc string, b []byte) ([]byte, error) {
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("unknown content encoding %q", enc)
}

// teeWriter passes an answer through as it is written (server-sent events
// stream) and keeps a copy for the check.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	cut    bool // longer than maxChecked, or the client left: only status and headers are checked
}

// maxChecked is the longest answer body the contract reads (a commune's
// posters are larger: files are opaque to the check anyway).
const maxChecked = 16 << 20

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(b) <= maxChecked {
		w.body.Write(b)
	} else {
		w.cut = true
	}
	n, err := w.ResponseWriter.Write(b)
	if err != nil { // the client went away: what it got was cut short
		w.cut = true
	}
	return n, err
}

func (w *teeWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack keeps the harness's dropped-network simulation working.
func (w *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("contract: not a hijacker")
}
