// Package errs holds the sentinel errors every domain returns and the one place
// that maps them to HTTP status codes and safe messages.
package errs

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"anticovid/internal/msg"
)

// Sentinel errors. Domains wrap them with %w so callers can test with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrForbidden    = errors.New("forbidden")
	ErrUnauthorized = errors.New("unauthorized")
	ErrConflict     = errors.New("conflict")
	ErrTooLarge     = errors.New("request too large")
	ErrRateLimited  = errors.New("too many requests")
	ErrInvalid      = errors.New("invalid input")
	// ErrUnavailable: the database cannot be reached just now (restarting,
	// failing over). The request may be sent again unchanged.
	ErrUnavailable = errors.New("service unavailable")
)

// RetryAfter is the Retry-After (seconds) of a 503: about how long a
// PostgreSQL restart or a standby's promotion takes.
const RetryAfter = "5"

// Unavailable reports whether err means the database could not be reached,
// rather than that the request was wrong: ErrUnavailable itself, a
// connection refused, reset or timed out (any net.Error), a connection the
// driver found broken or closed (a driver error whose SafeToRetry says the
// database never saw the statement, as pgx's "conn closed"), or PostgreSQL's own answers while it starts, shuts
// down, is out of connections or is a standby refusing writes (SQLSTATE
// class 08 and 57P01-57P03, 53300, 25006). Drivers' errors are matched by
// their SafeToRetry and SQLState methods, so this package needs no driver.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if ne := net.Error(nil); errors.As(err, &ne) {
		return true
	}
	if r := (interface{ SafeToRetry() bool })(nil); errors.As(err, &r) && r.SafeToRetry() {
		return true
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		switch c := st.SQLState(); {
		case strings.HasPrefix(c, "08"), c == "57P01", c == "57P02", c == "57P03", c == "53300", c == "25006":
			return true
		}
	}
	return false
}

// Invalid reports bad input field by field. It matches ErrInvalid with errors.Is.
type Invalid struct {
	Fields map[string]string // field name → message, Vietnamese first
}

func (e *Invalid) Error() string {
	s := "invalid input"
	for k, v := range e.Fields {
		s += "; " + k + ": " + v
	}
	return s
}

// Is lets errors.Is(err, ErrInvalid) match an *Invalid.
func (e *Invalid) Is(target error) bool { return target == ErrInvalid }

// Fields collects per-field problems while validating; Err turns them into an error.
type Fields map[string]string

// Add records a problem with a field.
func (f Fields) Add(field, msg string) { f[field] = msg }

// Err returns nil when no field has a problem, else an *Invalid.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Invalid{Fields: f}
}

// HTTP maps an error to a status, a stable code and a message safe to show anyone.
// A database out of reach is 503 (answer it with Retry-After). Anything unknown is an internal error whose details stay in the log.
func HTTP(err error) (status int, code, message string) {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, "invalid", msg.Both("errs.invalid_input")
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized", msg.Both("errs.login_required")
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden", msg.Both("errs.forbidden")
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found", msg.Both("errs.not_found")
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict", msg.Both("errs.conflict")
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large", msg.Both("errs.request_too_large")
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited", msg.Both("errs.too_many_requests")
	case Unavailable(err):
		return http.StatusServiceUnavailable, "unavailable", msg.Both("errs.unavailable")
	}
	return http.StatusInternalServerError, "internal", msg.Both("errs.internal_error")
}

// FieldsOf returns the per-field messages of an *Invalid in err's chain, or nil.
func FieldsOf(err error) map[string]string {
	var inv *Invalid
	if errors.As(err, &inv) {
		return inv.Fields
	}
	return nil
}
