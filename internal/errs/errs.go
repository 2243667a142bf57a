// Package errs holds the sentinel errors every domain returns and the one place
// that maps them to HTTP status codes and safe messages.
package errs

import (
	"errors"
	"net/http"
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
func HTTP(err error) (status int, code, msg string) {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, "invalid", "Dữ liệu không hợp lệ / Invalid input"
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized", "Cần đăng nhập / Login required"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden", "Không có quyền truy cập / Forbidden"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found", "Không tìm thấy / Not found"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict", "Xung đột dữ liệu / Conflict"
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large", "Dữ liệu gửi lên quá lớn / Request too large"
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited", "Quá nhiều yêu cầu, thử lại sau / Too many requests"
	}
	return http.StatusInternalServerError, "internal", "Lỗi hệ thống / Internal error"
}

// FieldsOf returns the per-field messages of an *Invalid in err's chain, or nil.
func FieldsOf(err error) map[string]string {
	var inv *Invalid
	if errors.As(err, &inv) {
		return inv.Fields
	}
	return nil
}
