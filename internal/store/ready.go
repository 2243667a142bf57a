package store

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"anticovid/internal/sqldb"
)

// Current reports whether every embedded migration is applied, in one
// query: a server is ready only on the schema it was built for.
func Current(ctx context.Context, db *sqldb.DB) error {
	rows, err := db.R.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	for _, name := range names {
		if num, _ := migrationNumber(name); !applied[num] {
			return fmt.Errorf("schema: migration %d not applied", num)
		}
	}
	return nil
}

// migrationNumber is the number a migration file's name starts with.
func migrationNumber(name string) (int, error) {
	return strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
}

// AppName is the PostgreSQL application_name of this release's
// connections: "anticovid/s" and the newest migration it knows.
func AppName() string {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	n, _ := migrationNumber(names[len(names)-1])
	return fmt.Sprintf("%s%d", appPrefix, n)
}

const appPrefix = "anticovid/s"

// OlderServers lists the other connections to this PostgreSQL database
// that may be servers of a release before schema version since: named by
// an older anticovid, or not named at all (releases before this one set
// no application_name). Another tool's named connection (psql, pg_dump)
// is not one. migrate --finish refuses to run while any is listed.
func OlderServers(ctx context.Context, db *sqldb.DB, since int) ([]string, error) {
	if db.Engine != sqldb.Postgres {
		return nil, nil
	}
	rows, err := db.W.QueryContext(ctx, `SELECT pid, application_name, COALESCE(host(client_addr), 'local') FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	defer rows.Close()
	var older []string
	for rows.Next() {
		var pid int
		var app, addr string
		if err := rows.Scan(&pid, &app, &addr); err != nil {
			return nil, err
		}
		v, err := strconv.Atoi(strings.TrimPrefix(app, appPrefix))
		if app == "" || (strings.HasPrefix(app, appPrefix) && (err != nil || v < since)) {
			older = append(older, fmt.Sprintf("pid %d from %s (application_name %q)", pid, addr, app))
		}
	}
	return older, rows.Err()
}
