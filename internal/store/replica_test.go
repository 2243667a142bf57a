package store

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"anticovid/internal/testenv"
)

// A read replica on a real streaming standby made with pg_basebackup:
// Reader reads from it while it is within the allowed lag, from the primary
// while its replay is paused past that lag or while it is down, and from
// it again once it has caught up; the primary's own pools never move.
func TestReadReplica(t *testing.T) {
	primary := testenv.NewCluster(t)
	standby := primary.Standby(t)
	ctx := context.Background()
	db, err := Open(ctx, primary.URL(""), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok := db.Replica(); ok || db.Reader() != db {
		t.Fatal("a replica before one was attached")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := AttachReplica(db, primary.URL(""), standby.URL(""), 2*time.Second, log); err != nil {
		t.Fatal(err)
	}
	recovering := func(pool *sql.DB) bool {
		var r bool
		if err := pool.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// onReplica waits until reads land where want says.
	onReplica := func(want bool, why string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for recovering(db.Reader().R) != want {
			if time.Now().After(deadline) {
				st, _ := db.Replica()
				t.Fatalf("%s: reads on the replica %v, want %v (%+v)", why, !want, want, st)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if recovering(db.R) || recovering(db.W) || db.Reader().W != db.W {
			t.Fatalf("%s: the primary's pools moved", why)
		}
	}
	onReplica(true, "a replica streaming")
	if st, _ := db.Replica(); !st.Up || !st.InUse || st.Lag > 1 {
		t.Fatalf("a replica streaming: %+v", st)
	}

	// Replay paused while the primary commits: the lag grows past 2 s.
	sb, err := sql.Open("pgx", standby.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if _, err := sb.Exec("SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	stopWrites := make(chan struct{})
	defer close(stopWrites)
	go func() {
		db.W.Exec("CREATE TABLE IF NOT EXISTS replica_ticks (at BIGINT)")
		for {
			select {
			case <-stopWrites:
				return
			case <-time.After(100 * time.Millisecond):
				db.W.Exec("INSERT INTO replica_ticks VALUES ($1)", time.Now().UnixNano())
			}
		}
	}()
	onReplica(false, "replay paused")
	if st, _ := db.Replica(); !st.Up || st.InUse || st.Lag <= 2 {
		t.Fatalf("replay paused: %+v", st)
	}
	if _, err := sb.Exec("SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	onReplica(true, "replay resumed")

	// The replica down: reads go to the primary, and back when it returns.
	standby.Stop(t, "fast")
	onReplica(false, "the replica down")
	if st, _ := db.Replica(); st.Up || st.InUse || st.Lag != -1 {
		t.Fatalf("the replica down: %+v", st)
	}
	standby.Start(t)
	onReplica(true, "the replica back")
}
