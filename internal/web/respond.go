package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// apiError is the one error shape of the JSON API.
type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeIdempotent answers a create that carries a client id: 201 when it made
// a record, 200 when the same id had been recorded before.
func writeIdempotent(w http.ResponseWriter, created bool, v any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

// fail answers with the JSON error under /api/, else with the error page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.apiFail(w, r, err)
		return
	}
	status, _, message := errs.HTTP(err)
	retryAfter(w, status)
	if status == http.StatusServiceUnavailable {
		s.log.WarnContext(r.Context(), "page failed: database unavailable", "err", err, "request_id", auth.RequestID(r.Context()))
	} else if status >= 500 {
		s.log.ErrorContext(r.Context(), "page failed", "err", err, "request_id", auth.RequestID(r.Context()))
	}
	// One language at a time: the safe messages are made in both, the page
	// shows the reader's.
	l := langOf(r)
	s.render(w, r, status, "error", map[string]any{"Status": status, "Message": msg.Local(l, message), "Fields": localFields(l, err)})
}

// retryAfter tells the client of a 503 (the database out of reach) when to
// send the request again: the check-in page's queue and API clients wait
// that long instead of giving up.
func retryAfter(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", errs.RetryAfter)
	}
}

// localFields are err's per-field messages in lang alone.
func localFields(lang string, err error) map[string]string {
	fields := map[string]string{}
	for k, v := range errs.FieldsOf(err) {
		fields[k] = msg.Local(lang, v)
	}
	return fields
}

// apiFail answers an API request with the error's status and safe message; the
// details go to the log only.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := errs.HTTP(err)
	retryAfter(w, status)
	if status == http.StatusServiceUnavailable {
		s.log.WarnContext(r.Context(), "request failed: database unavailable", "err", err, "request_id", auth.RequestID(r.Context()))
	} else if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", auth.RequestID(r.Context()))
	} else {
		s.log.DebugContext(r.Context(), "request refused", "err", err)
	}
	var body apiError
	body.Error.Code, body.Error.Message, body.Error.Fields = code, msg, errs.FieldsOf(err)
	writeJSON(w, status, body)
}

// decodeJSON reads one JSON object into v: a malformed body is ErrInvalid, an
// oversize one ErrTooLarge, trailing data is refused.
func decodeJSON(r *http.Request, v any) error { return decodeBody(r, v, false) }

// decodeStrict is decodeJSON for settings: an unknown field or a value of
// the wrong type is refused under that field's name, so a typo never
// passes as "not given".
func decodeStrict(r *http.Request, v any) error { return decodeBody(r, v, true) }

func decodeBody(r *http.Request, v any, strict bool) error {
	dec := json.NewDecoder(r.Body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		unknown, isUnknown := strings.CutPrefix(err.Error(), "json: unknown field ")
		switch {
		case errors.As(err, &tooBig):
			return fmt.Errorf("decode: %w", errs.ErrTooLarge)
		case strict && errors.As(err, &typeErr) && typeErr.Field != "":
			return fmt.Errorf("decode: %w", &errs.Invalid{Fields: map[string]string{typeErr.Field: msg.Both("web.field.type")}})
		case strict && isUnknown:
			return fmt.Errorf("decode: %w", &errs.Invalid{Fields: map[string]string{strings.Trim(unknown, `"`): msg.Both("web.field.unknown")}})
		}
		return fmt.Errorf("decode: %w", &errs.Invalid{Fields: map[string]string{"body": msg.Both("web.json.malformed", err.Error())}})
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("decode: %w", &errs.Invalid{Fields: map[string]string{"body": msg.Both("web.json.trailing")}})
	}
	return nil
}

// pathID parses a numeric path value.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("path %s: %w", name, errs.ErrNotFound)
	}
	return id, nil
}

// zoneID reads the {id} of a zone route, 0 on the "new" routes.
func optionalID(r *http.Request) (int64, error) {
	if r.PathValue("id") == "" {
		return 0, nil
	}
	return pathID(r, "id")
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &errs.Invalid{Fields: map[string]string{name: msg.Both("web.query.non_negative")}}
	}
	return n, nil
}

// pageOf reads ?limit= (def when absent) and ?offset= of a list.
func pageOf(r *http.Request, def int) (limit, offset int, err error) {
	if limit, err = queryInt(r, "limit", def); err != nil {
		return 0, 0, err
	}
	offset, err = queryInt(r, "offset", 0)
	return limit, offset, err
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// answerJSON is the shape of most API writes: decode the body into an In,
// hand it with the caller to a service method, answer its result with status.
func answerJSON[In, Out any](w http.ResponseWriter, r *http.Request, status int, call func(context.Context, *auth.Principal, In) (Out, error)) error {
	var in In
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := call(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		return err
	}
	writeJSON(w, status, out)
	return nil
}

// byID calls a service method that reads one record with the caller and
// the path's {id}.
func byID[T any](r *http.Request, get func(context.Context, *auth.Principal, int64) (T, error)) (T, error) {
	id, err := pathID(r, "id")
	if err != nil {
		var zero T
		return zero, err
	}
	return get(r.Context(), auth.From(r.Context()), id)
}

// withID binds the record id from the path to a service method for answerJSON.
func withID[In, Out any](id int64, call func(context.Context, *auth.Principal, int64, In) (Out, error)) func(context.Context, *auth.Principal, In) (Out, error) {
	return func(ctx context.Context, p *auth.Principal, in In) (Out, error) { return call(ctx, p, id, in) }
}

func sendDownload(w http.ResponseWriter, contentType, disposition, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// sendFile answers with an export built into a buffer first, so a failure
// never leaves half a file.
func sendFile(w http.ResponseWriter, name string, body []byte) {
	ct := "application/pdf"
	switch {
	case strings.HasSuffix(name, ".xlsx"):
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case strings.HasSuffix(name, ".csv"):
		ct = "text/csv; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
