// Package errs holds the sentinel errors every domain returns and the one place
// that maps them to HTTP status codes and safe messages.
package errs

import (
	"errors"
	"net/http"

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
)

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
// Anything unknown is an internal error whose details stay in the log.
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
