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
