package checkin

import (
	"context"
	"database/sql"
	"fmt"

	"anticovid/internal/sqldb"
)

// The visits table is this package's: the writer stores it, and contact
// tracing reads it only through the functions below, which keep its index
// shapes (0004_cases.sql) next to the queries that rely on them.

// PersonStay is one stay of a person, in Unix seconds; Out is nil when the
// person never checked out.
type PersonStay struct {
	VenueID int64
	In      int64
	Out     *int64
}

// staysOfSQL reads a person's stays from the index keyed by person.
const staysOfSQL = `SELECT venue_id, t_in, t_out FROM visits
		WHERE person_id = CAST($1 AS BIGINT) AND t_in >= CAST($2 AS BIGINT) AND t_in < CAST($3 AS BIGINT) ORDER BY t_in, venue_id`

func scanPersonStays(rows *sql.Rows, err error, personID int64) ([]PersonStay, error) {
	if err != nil {
		return nil, fmt.Errorf("stays of %d: %w", personID, err)
	}
	defer rows.Close()
	var out []PersonStay
	for rows.Next() {
		var v PersonStay
		var tOut sql.NullInt64
		if err := rows.Scan(&v.VenueID, &v.In, &tOut); err != nil {
			return nil, fmt.Errorf("stays of %d: %w", personID, err)
		}
		if tOut.Valid {
			v.Out = &tOut.Int64
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// LongStay is the stay, in seconds, beyond which a visit is also in the
// partial index visits_venue_long (0004_cases.sql; keep the two in step).
// Most stays are short: a probe reads every visit only as far back as a
// short stay reaches, and only the long stays further back from the far
// smaller partial index.
const LongStay = 3600

// probeSQL reads the covering index visits_venue_cover only. Stays that
// ended before $4 cannot matter to the caller: the index entry says so, and
// the row never reaches Go. The evidence grade is the index's last column
// (0012_evidence.sql), so tracing learns how sure each stay is for free.
const probeSQL = `SELECT person_id, t_in, t_out, proof FROM visits WHERE venue_id = CAST($1 AS BIGINT)
	AND t_in >= CAST($2 AS BIGINT) AND t_in <= CAST($3 AS BIGINT) AND (t_out IS NULL OR t_out >= $4)`

// longProbeSQL reads the partial index visits_venue_long only.
const longProbeSQL = `SELECT person_id, t_in, t_out, proof FROM visits WHERE venue_id = CAST($1 AS BIGINT)
	AND t_in >= CAST($2 AS BIGINT) AND t_in <= CAST($3 AS BIGINT) AND t_out - t_in > 3600 AND t_out >= $4`

// VenueProbe reads the stays at a venue by check-in time with its statements
// prepared once: one F0's trace probes every venue it visited, and the F1
// search is the hot path of contact tracing.
type VenueProbe struct {
	conn       *sql.Conn // nil: the statements are on the reader pool
	near, long *sql.Stmt
	person     *sql.Stmt // staysOfSQL; nil on a probe opened on one connection
}

// OpenVenueProbe prepares a probe on one reader connection. custom, when not
// empty, replaces the probe's SQL (for comparing indexes): it takes the same
// four parameters and returns person_id, t_in, t_out, proof; such a probe has no
// separate long-stay read. Close releases the connection.
func OpenVenueProbe(ctx context.Context, db *sqldb.DB, custom string) (*VenueProbe, error) {
	conn, err := db.R.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("venue probe: %w", err)
	}
	p := &VenueProbe{conn: conn}
	if err := p.prepare(ctx, conn, custom, false); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// PrepareVenueProbe prepares a probe, and StaysOf, on the reader pool, to be
// kept and shared by every trace (it is safe for concurrent use): the pool
// prepares each statement once per connection and reuses it, where a probe
// opened for each trace has SQLite parse and plan its statements again each
// time (8% of a province trace's CPU). A trace run alone gets the same
// connection back for each read (the pool hands out the one last returned),
// so it keeps that connection's page cache as OpenVenueProbe's did.
func PrepareVenueProbe(ctx context.Context, db *sqldb.DB, custom string) (*VenueProbe, error) {
	p := &VenueProbe{}
	if err := p.prepare(ctx, db.R, custom, true); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *VenueProbe) prepare(ctx context.Context, on interface {
	PrepareContext(context.Context, string) (*sql.Stmt, error)
}, custom string, person bool) error {
	near := probeSQL
	if custom != "" {
		near = custom
	}
	var err error
	if p.near, err = on.PrepareContext(ctx, near); err == nil && custom == "" {
		p.long, err = on.PrepareContext(ctx, longProbeSQL)
	}
	if err == nil && person {
		p.person, err = on.PrepareContext(ctx, staysOfSQL)
	}
	if err != nil {
		return fmt.Errorf("venue probe: %w", err)
	}
	return nil
}

// Close releases the statements and the connection.
func (p *VenueProbe) Close() {
	for _, s := range []*sql.Stmt{p.near, p.long, p.person} {
		if s != nil {
			s.Close()
		}
	}
	if p.conn != nil {
		p.conn.Close()
	}
}

// StaysOf returns the stays of personID checked in within [from, to),
// oldest first (then by venue), from the index keyed by person, on the
// probe's prepared statement; a probe opened on one connection has none
// and must not be asked.
func (p *VenueProbe) StaysOf(ctx context.Context, personID, from, to int64) ([]PersonStay, error) {
	rows, err := p.person.QueryContext(ctx, personID, from, to)
	return scanPersonStays(rows, err, personID)
}

// Split reports whether the probe reads long stays separately (LongStays):
// a custom probe reads the whole range itself.
func (p *VenueProbe) Split() bool { return p.long != nil }

// Stays calls fn for every stay at venueID checked in within [lo, hi] whose
// check-out is absent (hasOut false) or at least minOut, with the visit's
// evidence grade (Unproven, PhoneProven, StaffSeen).
func (p *VenueProbe) Stays(ctx context.Context, venueID, lo, hi, minOut int64, fn StayFunc) error {
	return scanStays(ctx, p.near, venueID, lo, hi, minOut, fn)
}

// LongStays is Stays restricted to stays longer than LongStay (with a
// check-out), read from the partial index.
func (p *VenueProbe) LongStays(ctx context.Context, venueID, lo, hi, minOut int64, fn StayFunc) error {
	return scanStays(ctx, p.long, venueID, lo, hi, minOut, fn)
}

// StayFunc receives one stay a probe read.
type StayFunc func(person, tIn, tOut int64, hasOut bool, proof int)

func scanStays(ctx context.Context, stmt *sql.Stmt, venueID, lo, hi, minOut int64, fn StayFunc) error {
	rows, err := stmt.QueryContext(ctx, venueID, lo, hi, minOut)
	if err != nil {
		return err
	}
	defer rows.Close()
	// Scanned into any and asserted: Scan into an int or a NullInt64 goes
	// through reflection, into an int even through strconv (10% of a
	// province trace's CPU), and a probe reads tens of thousands of rows.
	var person, tIn, tOut, proof any
	for rows.Next() {
		if err := rows.Scan(&person, &tIn, &tOut, &proof); err != nil {
			return err
		}
		out, hasOut := asInt(tOut)
		p, _ := asInt(proof)
		pid, ok1 := asInt(person)
		in, ok2 := asInt(tIn)
		if !ok1 || !ok2 {
			return fmt.Errorf("venue probe: person %T, check-in %T: want integers", person, tIn)
		}
		fn(pid, in, out, hasOut, int(p))
	}
	return rows.Err()
}

// asInt reads an integer column as the drivers return it (SQLite: int64,
// PostgreSQL: int64 or int32); false for NULL.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}
