package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
)

// OpenWaiting is OpenMigrated for a server that may start before its
// database (a host booting, PostgreSQL restarting or failing over): while
// the database cannot be reached it logs so, with the URL's password hidden,
// and tries again after 1 s, doubling up to 30 s, until wait has passed or
// ctx ends, instead of exiting for a supervisor to start it again and
// again. Errors waiting cannot mend (a wrong password, a database that does
// not exist, a failed migration) end it at once; so does wait 0.
func OpenWaiting(ctx context.Context, dbURL, dataDir string, wait time.Duration, log *slog.Logger) (*sqldb.DB, error) {
	deadline := time.Now().Add(wait)
	delay := time.Second
	for attempt := 1; ; attempt++ {
		db, err := Open(ctx, dbURL, dataDir)
		if err == nil {
			// Servers starting together migrate one at a time (an advisory
			// lock on PostgreSQL); each logs what it applied, so a rolling
			// upgrade shows which server did.
			var applied []int
			if applied, err = Migrate(ctx, db); err != nil {
				db.Close()
			} else if len(applied) > 0 {
				log.Info("schema migrated", "versions", applied)
			}
		}
		if err == nil {
			if attempt > 1 {
				log.Info("database reachable", "db", Redact(dbURL), "attempts", attempt)
			}
			return db, nil
		}
		if !errs.Unavailable(err) || ctx.Err() != nil {
			return nil, err
		}
		if !time.Now().Add(delay).Before(deadline) {
			return nil, fmt.Errorf("database %s still unreachable after %v (--db-wait): %w", Redact(dbURL), wait, err)
		}
		log.Warn("database unreachable; retrying", "db", Redact(dbURL), "attempt", attempt, "retry_in", delay.String(), "err", err.Error())
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the database: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// Redact is a database URL fit for a log: without its password, whether in
// the user part or as a password= parameter.
func Redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(unparsable database URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// connector opens PostgreSQL connections and marks a failure to open one as
// errs.ErrUnavailable (503, try again), whatever the cause: refused,
// timed out, the server starting or shutting down, or no host of a
// multi-host URL taking writes yet (target_session_attrs=read-write while a
// standby is being promoted). Not a refusal waiting cannot mend: a wrong
// password or role (SQLSTATE class 28) or a database that does not exist
// (3D000) stays what it is.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err == nil {
		return conn, nil
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) && (strings.HasPrefix(st.SQLState(), "28") || st.SQLState() == "3D000") {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", errs.ErrUnavailable, err)
}
