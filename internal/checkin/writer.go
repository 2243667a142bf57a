package checkin

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
)

// item is one validated scan handed to the writer.
type item struct {
	id       string
	venueID  int64
	dir      string
	at       int64
	stay     int64          // the category's default stay, seconds
	maxStay  int64          // the category's cap on a stay, seconds
	personID int64          // 0: resolve person inside the batch
	person   *people.Sealed // when personID is 0
	proven   int64          // the person the device's proof cookie names; 0: none
	proof    int            // the grade a staff scan saw
	queued   bool           // the phone's own time, from its offline queue
	province string         // the venue's province: visits' distribution key ('' from a journal restore)
}

// grade is the scan's evidence grade once its person is known: a device's
// proof counts only for the person it proved.
func (it item) grade(personID int64) int {
	if it.proven != 0 && it.proven == personID && it.proof < PhoneProven {
		return PhoneProven
	}
	return it.proof
}

type outcome struct {
	created  bool
	personID int64
	proof    int
	err      error
}

type job struct {
	it   item
	done chan outcome
}

// writer is the group commit: one goroutine takes every scan waiting in its
// queue and writes them as one batch, so a burst costs one fsync per batch,
// not per scan, and batches grow with load. A batch smaller than minBatch
// waits up to linger for more: an fsync costs ~120 µs of CPU on the
// development machine, and syncing every few scans spent much of a core on
// them (bench ingest: batches of 9 without the wait, 21 with it).
//
// On PostgreSQL each batch is a transaction and pgWriters writers commit in
// parallel. A batch's check-ins are one statement each, sent together with
// the lock on their ids in one round trip (sqldb.PipeTx, pipeline mode): the
// database then wakes once for them, not once a scan (two servers, bench
// ingest: see SCALING.md). (The batch's check-ins in one INSERT … SELECT
// FROM unnest(…) measured no faster, 3,594 and 5,144/s against 3,606 and
// 6,028/s, alternating, so it was not kept.)
//
// On SQLite (one writer) a transaction stays open across batches for up to
// commitEvery, and each batch is made durable by its frame in the journal
// (journal.go) before it is answered. A commit writes every page the
// transaction touched to the WAL, and the visits indexes are keyed by person
// and venue, so each scan touched pages of its own: committing every batch
// of ~20 scans wrote ~45 pages and spent ~70% of the writer in Commit. With
// the journal the writer spends ~29 µs per scan instead of ~45 µs. Readers
// see a busy server's scans when they commit (within commitEvery); a lone
// scan commits at once, and an idle writer commits after idleCommit. The
// journal's fsync runs beside the writer (syncJournal).
type writer struct {
	db       *sqldb.DB
	people   *people.Service
	persons  *people.Writer
	stmts    map[string]*sql.Stmt // prepared once on the writer connection
	insertIn string               // the engine's check-in insert
	journal  *journal             // SQLite only
	in       chan job
	stop     chan struct{}
	// submit holds gate to queue a scan and close takes it to stop, so no
	// scan is queued after the writers have drained the queue and gone.
	gate    sync.RWMutex
	closed  bool
	closing sync.Once
	done    sync.WaitGroup

	batches, scans, commits atomic.Int64 // so far, for the benchmark

	storeless bool         // NewStoreless: answer without writing
	made      atomic.Int64 // the last person id a storeless writer made up
}

const (
	maxBatch    = 2000
	minBatch    = 16
	linger      = time.Millisecond
	commitEvery = 100 * time.Millisecond
	idleCommit  = 5 * time.Millisecond
	quietBatch  = 2 // a batch this small after the wait commits at once
	// pgWriters write in parallel on PostgreSQL. With pipelined batches two
	// do better than four: their batches are twice as large (bench ingest,
	// two servers, alternating: 9,591, 9,717 and 9,633/s against 8,347,
	// 7,746 and 9,462/s).
	pgWriters = 2
)

// The writer's statements.
const (
	// A check-in id is unique per person within a day either side of the
	// scan. On PostgreSQL the unique index also holds the day partition's
	// key (person_id, id, t_in), so a retry sent without a time (a new t_in)
	// would pass it: NOT EXISTS makes that retry a repeat (one more probe of
	// the same index). SQLite's unique index is (person_id, id) and says so
	// alone (insertInSQLite).
	insertIn = `INSERT INTO visits (id, venue_id, person_id, t_in, proof, queued, province_code)
		SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS INTEGER), CAST($6 AS INTEGER), CAST($7 AS TEXT)
		WHERE NOT EXISTS (SELECT 1 FROM visits WHERE person_id = CAST($3 AS BIGINT) AND id = CAST($1 AS TEXT)
			AND t_in > CAST($4 AS BIGINT) - 86400 AND t_in < CAST($4 AS BIGINT) + 86400)
		ON CONFLICT DO NOTHING`
	insertInSQLite = `INSERT INTO visits (id, venue_id, person_id, t_in, proof, queued, province_code)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`
	seenOut = "SELECT count(*) FROM visits WHERE out_id = $1"
	// A check-out keeps the better of the two scans' grades: the stay was
	// seen at least that well at one end.
	closeOpen = `UPDATE visits SET t_out = $1, out_id = $2, proof = CASE WHEN proof < $6 THEN $6 ELSE proof END
		WHERE person_id = $3 AND id = (
		SELECT id FROM visits WHERE person_id = $3 AND venue_id = $4 AND t_out IS NULL AND t_in <= $1 AND t_in >= $5
		ORDER BY t_in DESC LIMIT 1)`
	// laterOpen finds an open stay that began after a check-out's time: the
	// check-out would come before its check-in.
	laterOpen = "SELECT count(*) FROM visits WHERE person_id = $1 AND venue_id = $2 AND t_out IS NULL AND t_in > $3"
	insertOut = `INSERT INTO visits (id, venue_id, person_id, t_in, t_out, out_id, proof, queued, province_code) VALUES ($1, $2, $3, $4, $5, $1, $6, $7, $8)
		ON CONFLICT DO NOTHING`
)

func newWriter(ctx context.Context, db *sqldb.DB, p *people.Service) (*writer, error) {
	w := &writer{db: db, people: p, stmts: map[string]*sql.Stmt{}, in: make(chan job, 4*maxBatch), stop: make(chan struct{})}
	var err error
	if w.persons, err = people.NewWriter(ctx, db); err != nil {
		return nil, err
	}
	w.insertIn = insertIn
	if db.Engine == sqldb.SQLite {
		w.insertIn = insertInSQLite
	}
	for _, q := range []string{w.insertIn, seenOut, closeOpen, laterOpen, insertOut} {
		if w.stmts[q], err = db.W.PrepareContext(ctx, q); err != nil {
			return nil, fmt.Errorf("check-in writer: %w", err)
		}
	}
	if db.Engine == sqldb.SQLite {
		if w.journal, err = openJournal(JournalPath(db.Path)); err != nil {
			return nil, err
		}
		// Scans acknowledged before a crash: written again before any new one.
		tx, err := w.begin(ctx, true)
		if err == nil {
			err = tx.Commit()
		}
		if err != nil {
			w.journal.close()
			return nil, fmt.Errorf("check-in journal: %w", err)
		}
		w.journal.restart()
		w.journal.empty()
		w.done.Add(1)
		go w.runJournaled()
		return w, nil
	}
	for range pgWriters {
		w.done.Add(1)
		go w.run()
	}
	return w, nil
}

var errClosed = errors.New("check-in writer closed")

func (w *writer) submit(ctx context.Context, it item) (outcome, error) {
	if w.storeless {
		if it.personID == 0 {
			it.personID = w.made.Add(1)
		}
		return outcome{created: true, personID: it.personID, proof: it.grade(it.personID)}, nil
	}
	j := job{it, make(chan outcome, 1)}
	w.gate.RLock()
	if w.closed {
		w.gate.RUnlock()
		return outcome{}, errClosed
	}
	select {
	case w.in <- j:
	case <-ctx.Done():
		w.gate.RUnlock()
		return outcome{}, ctx.Err()
	}
	w.gate.RUnlock()
	// Once queued the scan will be written: wait for it even if the client
	// has gone, so the answer it missed was at least true.
	o := <-j.done
	return o, o.err
}

func (w *writer) close() {
	w.closing.Do(func() {
		w.gate.Lock()
		w.closed = true
		w.gate.Unlock()
		close(w.stop)
		w.done.Wait()
		if w.journal != nil {
			w.journal.close()
		}
	})
}

// gather adds what waits in the queue to batch, up to maxBatch.
func (w *writer) gather(batch []job) []job {
	for len(batch) < maxBatch {
		select {
		case j := <-w.in:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// fill adds what waits in the queue to batch and, while it is smaller than
// minBatch, waits up to linger for more.
func (w *writer) fill(batch []job) []job {
	if batch = w.gather(batch); len(batch) >= minBatch {
		return batch
	}
	t := time.NewTimer(linger)
	defer t.Stop()
	for len(batch) < minBatch {
		select {
		case j := <-w.in:
			batch = append(batch, j)
		case <-t.C:
			return batch
		}
	}
	return batch
}

// run is a PostgreSQL writer: one transaction per batch.
func (w *writer) run() {
	defer w.done.Done()
	batch := make([]job, 0, maxBatch)
	for {
		select {
		case j := <-w.in:
			batch = append(batch[:0], j)
		case <-w.stop:
			// Drain what was queued before stopping.
			for {
				select {
				case j := <-w.in:
					w.commit([]job{j})
				default:
					return
				}
			}
		}
		batch = w.fill(batch)
		w.commit(batch)
		w.batches.Add(1)
		w.scans.Add(int64(len(batch)))
	}
}

// begin opens the SQLite writer's transaction and, when restore is set,
// applies the journal's current epoch in it first.
func (w *writer) begin(ctx context.Context, restore bool) (*sql.Tx, error) {
	tx, err := w.db.W.BeginTx(ctx, nil)
	if err != nil || !restore {
		return tx, err
	}
	items, err := w.journal.items()
	if err == nil {
		err = w.restore(ctx, tx, items)
	}
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

func (w *writer) restore(ctx context.Context, tx *sql.Tx, items []item) error {
	batch := make([]job, len(items))
	for i, it := range items {
		if it.person != nil {
			if err := w.persons.Restore(ctx, tx, it.personID, *it.person); err != nil {
				return err
			}
			items[i].person = nil
		}
		batch[i] = job{it: items[i]}
	}
	return w.write(tx, sqldb.TxPipe(tx, w.stmts), batch, make([]outcome, len(batch)))
}

// runJournaled is the SQLite writer (see writer). It applies a batch and
// writes its frame, then hands it to syncJournal and goes on with the next
// one while the frame is synced: the fsync (~150 µs on the development
// machine) no longer idles the writer, and every frame written while one
// fsync runs is made durable by the next.
func (w *writer) runJournaled() {
	defer w.done.Done()
	ctx := context.Background()
	synced := make(chan written, 64)
	var syncer sync.WaitGroup
	syncer.Add(1)
	go func() {
		defer syncer.Done()
		w.syncJournal(synced)
	}()
	defer func() {
		close(synced)
		syncer.Wait()
	}()
	var (
		tx      *sql.Tx
		began   time.Time
		restore bool // a commit failed: the journal's scans go into the next transaction first
	)
	commit := func() error {
		err := tx.Commit()
		tx = nil
		if restore = err != nil; !restore {
			w.commits.Add(1)
			w.journal.restart()
		}
		return err
	}
	for {
		var idle <-chan time.Time
		if tx != nil {
			idle = time.After(idleCommit)
		}
		batch := make([]job, 0, 64)
		select {
		case <-idle: // let readers see what was answered
			if commit() == nil {
				w.journal.empty()
			}
			continue
		case j := <-w.in:
			batch = append(batch, j)
		case <-w.stop:
			if batch = w.gather(batch); len(batch) == 0 {
				if tx != nil {
					commit()
				}
				if !restore {
					w.journal.empty()
				}
				return
			}
		}
		batch = w.fill(batch)
		if tx == nil {
			var err error
			if tx, err = w.begin(ctx, restore); err != nil {
				for _, j := range batch {
					j.done <- outcome{err: fmt.Errorf("write: %w", err)}
				}
				continue
			}
			began = time.Now()
		}
		outs := w.apply(ctx, tx, batch)
		// A scan that found no company is a quiet server's: it commits at
		// once (readers see it as soon as it is answered). A commit that
		// fails leaves the scans in the journal, whose sync then answers.
		if len(batch) < quietBatch || time.Since(began) >= commitEvery {
			commit()
		}
		synced <- written{batch, outs}
		w.batches.Add(1)
		w.scans.Add(int64(len(batch)))
	}
}

// written is a batch whose frame is in the journal, waiting for its sync.
type written struct {
	batch []job
	outs  []outcome
}

// syncJournal answers written batches once the journal is synced: one
// fsync for every batch that waits when it begins.
func (w *writer) syncJournal(in <-chan written) {
	for first := range in {
		group := []written{first}
	more:
		for {
			select {
			case b, ok := <-in:
				if !ok {
					break more
				}
				group = append(group, b)
			default:
				break more
			}
		}
		err := w.journal.sync()
		for _, g := range group {
			for i, j := range g.batch {
				if err != nil && g.outs[i].err == nil {
					g.outs[i].err = fmt.Errorf("write: %w", err)
				}
				j.done <- g.outs[i]
			}
		}
	}
}

// apply writes a batch in the open transaction and in the journal.
func (w *writer) apply(ctx context.Context, tx *sql.Tx, batch []job) []outcome {
	return w.each(batch, func(batch []job, outs []outcome) error {
		return savepoint(ctx, tx, func() error {
			if err := w.write(tx, sqldb.TxPipe(tx, w.stmts), batch, outs); err != nil {
				return err
			}
			items := make([]item, len(batch))
			for i, j := range batch {
				items[i] = j.it
				items[i].personID, items[i].proof, items[i].proven = outs[i].personID, outs[i].proof, 0
			}
			return w.journal.append(items)
		})
	})
}

// savepoint runs fn inside a savepoint of tx, undoing what it wrote if it fails.
func savepoint(ctx context.Context, tx *sql.Tx, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT batch"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		tx.ExecContext(ctx, "ROLLBACK TO batch")
		tx.ExecContext(ctx, "RELEASE batch")
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE batch")
	return err
}

// commit writes a batch in one transaction and answers it (PostgreSQL):
// the batch's ids locked and its check-ins written in one round trip.
func (w *writer) commit(batch []job) {
	outs := w.each(batch, func(batch []job, outs []outcome) error {
		err := w.db.PipeTx(context.Background(), func(tx *sql.Tx, pipe sqldb.Pipe) error {
			return w.write(tx, pipe, batch, outs, lockIDs(batch))
		})
		if err == nil {
			w.commits.Add(1)
		}
		return err
	})
	for i, j := range batch {
		j.done <- outs[i]
	}
}

// lockIDs takes a transaction lock on each scan id of a batch, in one
// order (PostgreSQL). Day partitions put the day in every unique key, so no
// index can say a scan id is written once; the lock does: the same scan sent
// twice at once, to two writers or two servers, is written by the first, and
// the second, waiting, then finds it and answers a repeat.
func lockIDs(batch []job) sqldb.Stmt {
	ids := make([]string, len(batch))
	for i, j := range batch {
		ids[i] = j.it.id
	}
	return sqldb.Stmt{SQL: `SELECT pg_advisory_xact_lock(k) FROM
		(SELECT DISTINCT hashtextextended(id, 0) AS k FROM unnest(CAST($1 AS TEXT[])) AS id ORDER BY 1) AS ids`, Args: []any{ids}}
}

// each writes a batch with try (a transaction or a savepoint that undoes
// what it wrote if it fails) and returns every scan's outcome. If the batch
// fails as a whole, each scan is tried alone so one bad record cannot sink
// the others; not when the database is out of reach, which would fail each
// alone too: every scan is then answered 503 and its phone sends it again
// with the same id, which a commit that did succeed makes a repeat.
func (w *writer) each(batch []job, try func([]job, []outcome) error) []outcome {
	outs := make([]outcome, len(batch))
	err := try(batch, outs)
	if err != nil && len(batch) > 1 && !errs.Unavailable(err) {
		for i := range batch {
			outs[i] = w.each(batch[i:i+1], try)[0]
		}
		return outs
	}
	for i, j := range batch {
		if err != nil {
			outs[i] = outcome{err: fmt.Errorf("write: %w", err)}
		} else if j.it.person != nil {
			w.people.Remember(j.it.person.Hash, outs[i].personID)
		}
	}
	return outs
}

// write writes a batch in tx. Consecutive check-ins go to the database
// through pipe together (one round trip on PostgreSQL), after lead, which the
// first of them carries; a check-out, which reads before it writes, first
// sends what waits, so the scans keep their order.
func (w *writer) write(tx *sql.Tx, pipe sqldb.Pipe, batch []job, outs []outcome, lead ...sqldb.Stmt) error {
	ctx := context.Background()
	stmt := func(q string) *sql.Stmt { return tx.StmtContext(ctx, w.stmts[q]) }
	waiting := lead
	var at []int // the scan each waiting check-in is (after lead)
	send := func() error {
		if len(waiting) == 0 {
			return nil
		}
		n, err := pipe(ctx, waiting)
		if err != nil {
			return err
		}
		for k, i := range at {
			outs[i].created = n[len(waiting)-len(at)+k] == 1
		}
		waiting, at = nil, at[:0]
		return nil
	}
	// Every new phone's person first, in the order of their keys: a
	// transaction that waits for another's new person then holds no lock on
	// scan ids (lead) nor on a person the other still has to store, so two
	// writers cannot wait for each other.
	var news []int
	for i, j := range batch {
		if outs[i].personID = j.it.personID; outs[i].personID == 0 {
			news = append(news, i)
		}
	}
	slices.SortFunc(news, func(a, b int) int {
		pa, pb := batch[a].it.person, batch[b].it.person
		return cmp.Or(cmp.Compare(pa.Column, pb.Column), cmp.Compare(pa.Hash, pb.Hash))
	})
	for _, i := range news {
		id, err := w.persons.FindOrCreate(ctx, tx, *batch[i].it.person)
		if err != nil {
			return err
		}
		outs[i].personID = id
	}
	for i, j := range batch {
		it := j.it
		it.personID = outs[i].personID
		outs[i].proof = it.grade(it.personID)
		if it.dir == In {
			waiting = append(waiting, sqldb.Stmt{SQL: w.insertIn, Args: []any{it.id, it.venueID, it.personID, it.at, outs[i].proof, flag(it.queued), it.province}})
			at = append(at, i)
			continue
		}
		if err := send(); err != nil {
			return err
		}
		created, err := checkOut(ctx, stmt, it, outs[i].proof)
		if errors.Is(err, errOutBeforeIn) {
			outs[i].err = &errs.Invalid{Fields: map[string]string{"at": msg.Both("checkin.out_before_in")}}
		} else if err != nil {
			return err
		}
		outs[i].created = created
	}
	return send()
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errOutBeforeIn refuses one check-out without failing its batch.
var errOutBeforeIn = errors.New("check-out before its check-in")

// checkOut closes the person's latest open stay at the venue that began
// within the category's cap before the scan or, when there is none (the
// entry was never scanned, or was so long ago that closing it would stretch
// the stay past the cap), records a stay ending at the scan that began one
// default stay earlier: the best estimate for tracing. A check-out before
// an open stay's check-in is refused (errOutBeforeIn): a queued or forged
// time cannot invent a stay before the one the person is in.
func checkOut(ctx context.Context, stmt func(string) *sql.Stmt, it item, proof int) (bool, error) {
	var n int
	if err := stmt(seenOut).QueryRowContext(ctx, it.id).Scan(&n); err != nil || n > 0 {
		return false, err
	}
	res, err := stmt(closeOpen).ExecContext(ctx, it.at, it.id, it.personID, it.venueID, it.at-it.maxStay, proof)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	if err := stmt(laterOpen).QueryRowContext(ctx, it.personID, it.venueID, it.at).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, errOutBeforeIn
	}
	res, err = stmt(insertOut).ExecContext(ctx, it.id, it.venueID, it.personID, it.at-it.stay, it.at, proof, flag(it.queued), it.province)
	if err != nil {
		return false, err
	}
	m, _ := res.RowsAffected()
	return m == 1, nil
}
