package checkin

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/people"
	"anticovid/internal/store/storetest"
)

func TestJournalFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	sp := &people.Sealed{Column: "phone_hash", Hash: "h", Name: []byte{1, 2}, Phone: []byte{3}, PhoneHash: "h", BirthYear: 1988,
		Commune: "27685", District: "794", Province: "80"}
	a := []item{{id: "aaaaaaaa-1", venueID: 7, dir: In, at: 1_700_000_000, stay: 3600, personID: 42, person: sp},
		{id: "aaaaaaaa-2", venueID: 7, dir: Out, at: 1_700_000_900, stay: 3600, personID: 43}}
	b := []item{{id: "bbbbbbbb-1", venueID: 9, dir: In, at: 1_700_001_000, stay: 1800, personID: 44}}
	reopen := func() []item {
		t.Helper()
		f, err := os.Open(path) // as a restarted server reads it
		if err != nil {
			t.Fatal(err)
		}
		j2 := &journal{f: f}
		defer j2.close()
		items, err := j2.items()
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	if _, err := openJournal(path); err == nil {
		t.Fatal("a second server opened the journal in use")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v, %v; want owner only", fi.Mode(), err)
	}
	if _, err := j.items(); err != nil { // a journal just opened takes up the epoch after the file's
		t.Fatal(err)
	}
	for _, items := range [][]item{a, b} {
		if err := j.append(items); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := reopen(), append(append([]item{}, a...), b...); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v\nwant %+v", got, want)
	}

	// A commit starts a new epoch over the old frames: they are not read again.
	j.restart()
	if err := j.append(b); err != nil {
		t.Fatal(err)
	}
	if got := reopen(); !reflect.DeepEqual(got, b) {
		t.Fatalf("after a new epoch read %+v, want only %+v", got, b)
	}

	// A frame torn by a crash (never acknowledged) ends the epoch.
	if err := j.append(a); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	if got := reopen(); !reflect.DeepEqual(got, b) {
		t.Fatalf("with a torn frame read %+v, want %+v", got, b)
	}
	raw, _ := os.ReadFile(path)
	raw[frameHeader+2] ^= 0xff // a corrupt first frame: nothing is read
	os.WriteFile(path, raw, 0o600)
	if got := reopen(); len(got) != 0 {
		t.Fatalf("with a corrupt frame read %+v", got)
	}
	j.close()
}

// A journal an older server left after a crash (format 1: no stay cap,
// grade or queued flag, a checksum without a format byte) is still read.
func TestJournalFormat1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	var p []byte
	for _, it := range []item{{id: "old00000-1", venueID: 7, dir: In, at: 1_700_000_000, stay: 3600, personID: 42},
		{id: "old00000-2", venueID: 7, dir: Out, at: 1_700_000_900, stay: 3600, personID: 42}} {
		p = appendBytes(p, []byte(it.id))
		for _, v := range []int64{it.venueID, it.at, it.stay, it.personID} {
			p = binary.AppendVarint(p, v)
		}
		p = append(appendBytes(p, []byte(it.dir)), 0)
	}
	frame := make([]byte, frameHeader, frameHeader+len(p))
	binary.LittleEndian.PutUint32(frame, uint32(len(p)))
	binary.LittleEndian.PutUint64(frame[8:], 5)
	frame = append(frame, p...)
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(frame[8:], castagnoli))
	if err := os.WriteFile(path, frame, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	items, err := j.items()
	if err != nil || len(items) != 2 {
		t.Fatalf("%+v %v", items, err)
	}
	want := item{id: "old00000-2", venueID: 7, dir: Out, at: 1_700_000_900, stay: 3600, maxStay: 12 * 3600, personID: 42}
	if items[1] != want || items[0].proof != Unproven || items[0].queued {
		t.Fatalf("read %+v, want %+v", items, want)
	}
}

// Scans acknowledged from the journal but not yet committed are stored when
// the service starts again, people with the ids their phones were given.
func TestJournalRestoredOnStart(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	ctx := context.Background()
	p := people.Person{Name: "Lê Văn Tám", Phone: "0912345678", BirthYear: 1980, Commune: "27685"}
	sp := f.s.People.Seal(p)
	items := []item{{id: "dddddddd-1", venueID: f.id, dir: In, at: 1_700_000_000, stay: 3600, maxStay: 4 * 3600, personID: 500, person: &sp},
		{id: "dddddddd-2", venueID: f.id, dir: Out, at: 1_700_001_800, stay: 3600, maxStay: 4 * 3600, personID: 500, proof: StaffSeen, queued: true}}
	f.s.Close()
	// What a crash leaves: frames in the journal, nothing in the database.
	j, err := openJournal(db.Path + "-checkins")
	if err != nil {
		t.Fatal(err)
	}
	j.epoch = 77
	if err := j.append(items); err != nil {
		t.Fatal(err)
	}
	j.close()
	for range 2 { // applying the journal twice changes nothing
		s, err := NewService(ctx, db, f.s.People, f.s.Vault, f.keys, f.s.Retention)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if fi, err := os.Stat(db.Path + "-checkins"); err != nil || fi.Size() != 0 {
		t.Errorf("journal after it was applied: %v, %v; want empty", fi, err)
	}
	var n, tOut int64
	if err := db.R.QueryRow("SELECT count(*), max(t_out) FROM visits WHERE person_id = 500").Scan(&n, &tOut); err != nil {
		t.Fatal(err)
	}
	if n != 1 || tOut != 1_700_001_800 {
		t.Fatalf("restored %d visits ending %d; want the stay closed by the check-out", n, tOut)
	}
	// The check-out's grade came through the journal.
	var proof int
	if db.R.QueryRow("SELECT proof FROM visits WHERE person_id = 500").Scan(&proof); proof != StaffSeen {
		t.Fatalf("restored proof %d, want %d", proof, StaffSeen)
	}
	got, err := f.s.People.Get(ctx, 500)
	if err != nil || got.Phone != p.Phone {
		t.Fatalf("person 500: %+v, %v", got, err)
	}
}

// A scan on SQLite is answered only once its journal frame is synced: an
// answer given before would be a check-in a crash can lose. A sync that
// fails answers an error.
func TestAnswerWaitsForJournalSync(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := context.Background()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var fail atomic.Bool
	syncFile = func(file *os.File) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		if fail.Load() {
			return errors.New("disk gone")
		}
		return file.Sync()
	}
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	type answer struct {
		r   Result
		err error
	}
	scan := func(id string) chan answer {
		c := make(chan answer, 1)
		go func() {
			r, err := f.s.Ingest(ctx, Request{ID: id, Token: f.tok, Direction: In, Person: an})
			c <- answer{r, err}
		}()
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the journal was never synced")
		}
		select {
		case a := <-c:
			t.Fatalf("answered %+v, %v while its frame was being synced", a.r, a.err)
		case <-time.After(100 * time.Millisecond):
		}
		return c
	}
	c := scan("eeeeeeee-0000-4000-8000-000000000001")
	release <- struct{}{}
	if a := <-c; a.err != nil || !a.r.Created {
		t.Fatalf("after the sync: %+v, %v", a.r, a.err)
	}
	fail.Store(true)
	c = scan("eeeeeeee-0000-4000-8000-000000000002")
	release <- struct{}{}
	if a := <-c; a.err == nil {
		t.Fatalf("a failed sync answered %+v; want an error", a.r)
	}
	close(release)
}
