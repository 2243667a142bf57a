package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"anticovid/internal/sqldb"
)

// AttachReplica gives a PostgreSQL db a read replica (a streaming standby at
// replicaURL): db.Reader() then reads from it while it answers and its data
// is at most maxLag behind, and from the primary otherwise. A check every
// second measures the lag; when it crosses maxLag, or the replica stops
// answering, the reader's connections to it are dropped as they come back
// to the pool and new ones go to the primary, and back once it is well
// again. The replica need not be up when the server starts.
func AttachReplica(db *sqldb.DB, primaryURL, replicaURL string, maxLag time.Duration, log *slog.Logger) error {
	if db.Engine != sqldb.Postgres {
		return fmt.Errorf("store: --db-replica needs a PostgreSQL --db")
	}
	if !strings.HasPrefix(replicaURL, "postgres://") && !strings.HasPrefix(replicaURL, "postgresql://") {
		return fmt.Errorf("store: --db-replica: want a postgres:// URL")
	}
	pc, err := pgx.ParseConfig(replicaURL)
	if err != nil {
		return fmt.Errorf("store: --db-replica: %w", err)
	}
	wc, err := pgx.ParseConfig(primaryURL)
	if err != nil {
		return fmt.Errorf("store: --db: %w", err)
	}
	r := &router{primary: connector{stdlib.GetConnector(*wc)}, replica: connector{stdlib.GetConnector(*pc)}, maxLag: maxLag.Seconds(), log: log}
	r.lag.Store(math.Float64bits(-1))
	probe := sql.OpenDB(r.replica)
	probe.SetMaxOpenConns(1)
	pool := sql.OpenDB(r)
	pool.SetMaxOpenConns(16)
	pool.SetMaxIdleConns(16)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	r.check(probe)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r.check(probe)
			}
		}
	}()
	db.SetReplica(pool, r.status)
	db.OnClose = append(db.OnClose, func() { close(stop); <-done; probe.Close() })
	return nil
}

// router is the reader pool's connector: a new connection goes to the
// replica while it is usable, else to the primary. Connections remember
// where they go, and one that no longer goes where reads should is dropped
// when it comes back to the pool (ResetSession, IsValid).
type router struct {
	primary, replica driver.Connector
	maxLag           float64 // seconds
	log              *slog.Logger

	use atomic.Bool   // reads go to the replica
	up  atomic.Bool   // it answered its last check
	lag atomic.Uint64 // float64 bits: seconds behind, -1 unknown
}

func (r *router) Driver() driver.Driver { return r.primary.Driver() }

func (r *router) Connect(ctx context.Context) (driver.Conn, error) {
	if r.use.Load() {
		c, err := r.replica.Connect(ctx)
		if err == nil {
			return &routedConn{Conn: c.(*stdlib.Conn), r: r, replica: true}, nil
		}
		r.set(false, -1) // the next check may take it back
	}
	c, err := r.primary.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &routedConn{Conn: c.(*stdlib.Conn), r: r}, nil
}

// replicaLag measures how far the replica is behind: 0 when it has replayed
// everything it received while streaming (a quiet primary sends nothing, so
// the time since the last replayed commit says nothing then); otherwise
// the time since the last commit it replayed. A server that is not in
// recovery (a promoted standby) is not behind.
const replicaLag = `SELECT CASE
	WHEN NOT pg_is_in_recovery() THEN 0
	WHEN COALESCE((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false)
		AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
	ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END::float8`

// check measures the replica's lag and decides where reads go.
func (r *router) check(probe *sql.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var lag float64
	if err := probe.QueryRowContext(ctx, replicaLag).Scan(&lag); err != nil {
		if r.up.Load() || r.use.Load() {
			r.log.Warn("read replica unreachable; reads go to the primary", "err", err.Error())
		}
		r.set(false, -1)
		return
	}
	r.up.Store(true)
	use := lag <= r.maxLag
	if use != r.use.Load() {
		if use {
			r.log.Info("read replica in use", "lag_seconds", lag)
		} else {
			r.log.Warn("read replica behind; reads go to the primary", "lag_seconds", lag, "max_lag_seconds", r.maxLag)
		}
	}
	r.lag.Store(math.Float64bits(lag))
	r.use.Store(use)
}

// set records a replica that did not answer.
func (r *router) set(use bool, lag float64) {
	r.use.Store(use)
	r.up.Store(false)
	r.lag.Store(math.Float64bits(lag))
}

func (r *router) status() sqldb.ReplicaStatus {
	return sqldb.ReplicaStatus{Up: r.up.Load(), Lag: math.Float64frombits(r.lag.Load()), InUse: r.use.Load()}
}

// routedConn is a pgx connection of the reader pool that knows whether it
// goes to the replica.
type routedConn struct {
	*stdlib.Conn
	r       *router
	replica bool
}

// ResetSession drops a connection that no longer goes where reads should
// before it is reused.
func (c *routedConn) ResetSession(ctx context.Context) error {
	if c.replica != c.r.use.Load() {
		return driver.ErrBadConn
	}
	return c.Conn.ResetSession(ctx)
}

// IsValid keeps such a connection out of the pool once used.
func (c *routedConn) IsValid() bool { return c.replica == c.r.use.Load() && !c.Conn.Conn().IsClosed() }
