package errs

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
)

// pgError stands for a driver's error carrying a SQLSTATE.
type pgError string

func (e pgError) Error() string    { return "pg " + string(e) }
func (e pgError) SQLState() string { return string(e) }

// retryable stands for a driver's error raised before the database saw the
// statement (pgx's "conn closed").
type retryable struct{}

func (retryable) Error() string     { return "conn closed" }
func (retryable) SafeToRetry() bool { return true }

// A database out of reach maps to 503, however the driver said it; a
// refused query does not.
func TestUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("check-in: %w", refused), http.StatusServiceUnavailable},
		{fmt.Errorf("write: %w", driver.ErrBadConn), http.StatusServiceUnavailable},
		{fmt.Errorf("write: %w", pgError("57P01")), http.StatusServiceUnavailable}, // admin shutdown
		{fmt.Errorf("write: %w", pgError("57P03")), http.StatusServiceUnavailable}, // starting up
		{fmt.Errorf("write: %w", pgError("08006")), http.StatusServiceUnavailable},
		{fmt.Errorf("write: %w", pgError("25006")), http.StatusServiceUnavailable}, // a standby
		{fmt.Errorf("x: %w", ErrUnavailable), http.StatusServiceUnavailable},
		{fmt.Errorf("begin: %w", retryable{}), http.StatusServiceUnavailable},
		{fmt.Errorf("write: %w", pgError("23505")), http.StatusInternalServerError},
		{errors.New("boom"), http.StatusInternalServerError},
	} {
		if got, code, _ := HTTP(c.err); got != c.want || (got == 503) != (code == "unavailable") {
			t.Errorf("%v: %d %s, want %d", c.err, got, code, c.want)
		}
	}
}
