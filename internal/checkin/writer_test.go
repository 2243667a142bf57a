package checkin

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// A batch's check-ins are sent together (one round trip on PostgreSQL), but
// the scans keep their order: a check-out is written after the check-ins
// before it and before the ones after it, a repeat and a new phone in the
// same batch are answered as when sent one by one.
func TestWriteKeepsOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		if _, err := f.s.Ingest(ctx, Request{ID: "bbbbbbbb-0000-4000-8000-000000000001", Token: f.tok, Direction: Out, Person: an}); err != nil { // a closed stay
			t.Fatal(err)
		}
		var pid int64
		if err := db.R.QueryRow("SELECT person_id FROM visits").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		f.s.Close() // the writer's goroutines stop; its statements stay prepared
		w := f.s.writer
		t0 := time.Now().Add(-3 * time.Hour).Unix()
		sealed := f.s.People.Seal(people.Person{Name: "Trần Thị Bình", Phone: "0987654321", BirthYear: 1990, Commune: "27991"})
		scan := func(id, dir string, at int64) item {
			return item{id: "bbbbbbbb-0000-4000-8000-" + id, venueID: f.id, dir: dir, at: at, stay: 3600, maxStay: 4 * 3600, personID: pid, province: "80"}
		}
		items := []item{
			scan("000000000002", In, t0),       // a stay
			scan("000000000003", Out, t0+600),  // closes it
			scan("000000000004", Out, t0+1200), // no open stay: a stay ending here
			scan("000000000005", In, t0+1800),  // after that check-out: had it gone first, the check-out would be refused
			scan("000000000002", In, t0+60),    // a repeat
			scan("000000000006", Out, t0+1700), // before 005's entry: refused, the batch goes on
			scan("000000000007", In, t0+1900),  // a new phone
		}
		items[6].personID, items[6].person = 0, &sealed
		batch := make([]job, len(items))
		for i, it := range items {
			batch[i] = job{it, make(chan outcome, 1)}
		}
		outs := writeBatch(w, batch)
		for i, want := range []bool{true, true, true, true, false, false, true} {
			if outs[i].created != want || (i != 5) != (outs[i].err == nil) {
				t.Errorf("scan %d (%s): created %v, error %v", i, items[i].id, outs[i].created, outs[i].err)
			}
		}
		if outs[6].personID == 0 || outs[6].personID == pid {
			t.Errorf("the new phone's person: %d", outs[6].personID)
		}
		var got []string
		rows, err := db.R.Query("SELECT id || ':' || t_in || '-' || COALESCE(t_out, 0) FROM visits WHERE id <> 'bbbbbbbb-0000-4000-8000-000000000001' ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			rows.Scan(&s)
			got = append(got, s)
		}
		want := []string{
			fmtStay("000000000002", t0, t0+600),
			fmtStay("000000000004", t0+1200-3600, t0+1200),
			fmtStay("000000000005", t0+1800, 0),
			fmtStay("000000000007", t0+1900, 0),
		}
		if len(got) != len(want) {
			t.Fatalf("visits %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("visit %s, want %s", got[i], want[i])
			}
		}
	})
}

// writeBatch writes batch as the engine's writer does (PostgreSQL: commit's
// pipelined transaction, ids locked; SQLite: write in a transaction) and
// returns its outcomes.
func writeBatch(w *writer, batch []job) []outcome {
	if w.db.Engine == sqldb.Postgres {
		w.commit(batch)
		outs := make([]outcome, len(batch))
		for i, j := range batch {
			outs[i] = <-j.done
		}
		return outs
	}
	return w.each(batch, func(batch []job, outs []outcome) error {
		return w.db.Tx(context.Background(), func(tx *sql.Tx) error { return w.write(tx, sqldb.TxPipe(tx, w.stmts), batch, outs) })
	})
}

func fmtStay(id string, in, out int64) string {
	return "bbbbbbbb-0000-4000-8000-" + id + ":" + strconv.FormatInt(in, 10) + "-" + strconv.FormatInt(out, 10)
}

// While another server's writer holds a scan's id (its transaction has
// locked the id and written the scan, with its own receive time, but not
// committed), this server's copy of the scan waits, then answers a repeat:
// one row, for a check-in and for a check-out alone in its batch. No
// unique index can say so on PostgreSQL (the day is in every key), only
// the lock.
func TestScanIDLockedAcrossServers(t *testing.T) {
	db := storetest.Postgres(t)
	f := newFixture(t, db)
	ctx := context.Background()
	first, err := f.s.Ingest(ctx, Request{ID: "cccccccc-0000-4000-8000-000000000000", Token: f.tok, Direction: Out, Person: an})
	if err != nil {
		t.Fatal(err)
	}
	var pid int64
	if err := db.R.QueryRow("SELECT person_id FROM visits").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	for k, dir := range []string{In, Out} {
		id := "cccccccc-0000-4000-8000-00000000000" + strconv.Itoa(k+1)
		other, err := db.W.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		lock := lockIDs([]job{{it: item{id: id}}})
		if _, err := other.ExecContext(ctx, lock.SQL, lock.Args...); err != nil {
			t.Fatal(err)
		}
		if dir == In {
			_, err = other.ExecContext(ctx, insertIn, id, f.id, pid, now+1, 0, 0, "80")
		} else {
			_, err = other.ExecContext(ctx, insertOut, id, f.id, pid, now-7200, now+1, 0, 0, "80")
		}
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan Result, 1)
		go func() {
			r, err := f.s.Ingest(ctx, Request{ID: id, Token: f.tok, Direction: dir, PersonToken: first.PersonToken})
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		select {
		case r := <-done:
			t.Fatalf("%s: answered (created %v) while the other server held the id", dir, r.Created)
		case <-time.After(500 * time.Millisecond):
		}
		if err := other.Commit(); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.Created {
			t.Errorf("%s: stored again after the other server's commit", dir)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM visits WHERE id = $1 OR out_id = $1", id).Scan(&n)
		if n != 1 {
			t.Errorf("%s: %d rows for the scan", dir, n)
		}
	}
}

// A batch's new phones are stored in the order of their keys, whatever
// their order in the batch: person ids rise with the phone's hash (what
// keeps two PostgreSQL writers from deadlocking, TestNewPeopleInKeyOrder).
func TestNewPeopleStoredInKeyOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.s.Close() // the writer's goroutines stop; its statements stay prepared
		w := f.s.writer
		var sealed []people.Sealed
		for k := range 12 {
			sealed = append(sealed, f.s.People.Seal(people.Person{Name: "Đỗ Thị Thứ Tự", Phone: "09" + strconv.Itoa(20_000_000+k), BirthYear: 1990, Commune: "27991"}))
		}
		slices.SortFunc(sealed, func(a, b people.Sealed) int { return strings.Compare(b.Hash, a.Hash) }) // the batch in reverse key order
		var batch []job
		for k := range sealed {
			batch = append(batch, job{item{id: "eeeeeeee-0000-4000-8000-" + strconv.Itoa(100_000_000_000+k), venueID: f.id, dir: In,
				at: time.Now().Unix(), province: "80", person: &sealed[k]}, make(chan outcome, 1)})
		}
		outs := writeBatch(w, batch)
		for i := range outs {
			if outs[i].err != nil || !outs[i].created {
				t.Fatalf("scan %d: %+v", i, outs[i])
			}
			if i > 0 && outs[i].personID >= outs[i-1].personID {
				t.Fatalf("scan %d's person is %d, scan %d's %d: the smaller key was stored later", i-1, outs[i-1].personID, i, outs[i].personID)
			}
		}
	})
}

// Two writers whose batches bring the same new phones in opposite orders
// store each person once and never wait for each other: both store the
// batch's new people in the order of their keys (PostgreSQL; a deadlock
// would fail one batch, whose scans are then written one by one).
func TestNewPeopleInKeyOrder(t *testing.T) {
	db := storetest.Postgres(t)
	f := newFixture(t, db)
	f.s.Close() // the writer's goroutines stop; its statements stay prepared
	w := f.s.writer
	now := time.Now().Unix()
	for round := range 10 {
		var sealed []people.Sealed
		for k := range 20 {
			s := f.s.People.Seal(people.Person{Name: "Lê Văn Mới", Phone: "09" + strconv.Itoa(10_000_000+round*100+k), BirthYear: 1990, Commune: "27991"})
			sealed = append(sealed, s)
		}
		batches := make([][]job, 2)
		for b := range batches {
			for k := range sealed {
				p := &sealed[k]
				if b == 1 {
					p = &sealed[len(sealed)-1-k]
				}
				id := "dddddddd-0000-4000-8000-" + strconv.Itoa(100_000_000_000+round*1000+b*100+k)
				batches[b] = append(batches[b], job{item{id: id, venueID: f.id, dir: In, at: now, province: "80", person: p}, make(chan outcome, 1)})
			}
		}
		commits := w.commits.Load()
		var wg sync.WaitGroup
		for _, b := range batches {
			wg.Go(func() { w.commit(b) })
		}
		wg.Wait()
		persons := map[string]int64{}
		for _, b := range batches {
			for _, j := range b {
				o := <-j.done
				if o.err != nil || !o.created {
					t.Fatalf("round %d: %+v", round, o)
				}
				if id, ok := persons[j.it.person.Hash]; ok && id != o.personID {
					t.Fatalf("round %d: one phone stored as persons %d and %d", round, id, o.personID)
				}
				persons[j.it.person.Hash] = o.personID
			}
		}
		if n := w.commits.Load() - commits; n != 2 {
			t.Fatalf("round %d: %d commits for two batches: one failed (a deadlock) and its scans were written one by one", round, n)
		}
	}
}
