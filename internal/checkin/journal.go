package checkin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"syscall"
	"time"

	"anticovid/internal/people"
)

// journal makes acknowledged check-ins durable between the SQLite writer's
// commits. The writer keeps one transaction open for up to commitEvery and
// writes each batch it applies there as one frame here; a batch is answered
// once its frame is synced. A commit makes everything before it durable in
// the database and starts a new epoch: frames are written from the start of
// the file again, so it stays as small as one commit interval's scans. After
// a crash the frames of the current epoch are applied again on start
// (applying a scan twice changes nothing: check-in ids are unique per person
// and a person keeps the id the phone was given).
//
// A frame is its payload's length (4 bytes), a CRC-32C of the format, the
// epoch and the payload (4), the epoch (8) and the payload: the batch's
// scans. A torn or stale frame ends the epoch. Format 1 frames (before the
// evidence grade, whose CRC did not cover a format byte) are still read, so
// scans acknowledged by a server that crashed before an upgrade are kept. The file holds sealed person details only
// (encrypted, as in the database) and is the owner's alone.
type journal struct {
	f     *os.File
	off   int64
	epoch uint64
	buf   []byte
}

const frameHeader = 16

// journalFormat is the layout of the scans in a frame: 2 added the stay
// cap, the evidence grade and the queued flag to format 1.
const journalFormat = 2

// frameSum is a frame's checksum in a format; format 1 did not cover one.
func frameSum(format byte, b []byte) uint32 {
	if format == 1 {
		return crc32.Checksum(b, castagnoli)
	}
	return crc32.Update(crc32.Checksum([]byte{format}, castagnoli), castagnoli, b)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// JournalPath is where the journal of the SQLite database at dbPath lives.
func JournalPath(dbPath string) string { return dbPath + "-checkins" }

// JournalInUse reports whether a server holds the journal of the SQLite
// database at dbPath: a server is running on it.
func JournalInUse(dbPath string) bool {
	f, err := os.Open(JournalPath(dbPath))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("check-in journal: %w", err)
	}
	// One server per SQLite database: a second would apply and overwrite
	// the first one's journal.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("check-in journal %s: another server is using this database: %w", path, err)
	}
	return &journal{f: f}, nil
}

// append writes one frame holding items; sync makes it durable.
func (j *journal) append(items []item) error {
	b := append(j.buf[:0], make([]byte, frameHeader)...)
	for _, it := range items {
		b = it.appendTo(b)
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)-frameHeader))
	binary.LittleEndian.PutUint64(b[8:], j.epoch)
	binary.LittleEndian.PutUint32(b[4:], frameSum(journalFormat, b[8:]))
	j.buf = b
	if _, err := j.f.WriteAt(b, j.off); err != nil {
		return fmt.Errorf("check-in journal: %w", err)
	}
	j.off += int64(len(b))
	return nil
}

func (j *journal) sync() error { return syncFile(j.f) }

// syncFile makes a journal durable; a test holds it to see that no scan is
// answered before its frame is synced.
var syncFile = (*os.File).Sync

// restart begins a new epoch after a commit.
func (j *journal) restart() {
	j.epoch++
	j.off = 0
}

// items reads back the current epoch's scans. A journal just opened takes
// its epoch from the first frame, and goes on from the next one.
func (j *journal) items() ([]item, error) {
	var items []item
	fresh := j.off == 0 && j.epoch == 0
	var off int64
	for {
		h := make([]byte, frameHeader)
		if _, err := j.f.ReadAt(h, off); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("check-in journal: %w", err)
		}
		n := int64(binary.LittleEndian.Uint32(h))
		epoch := binary.LittleEndian.Uint64(h[8:])
		if fresh && off == 0 {
			j.epoch = epoch
		}
		if epoch != j.epoch || n > 64<<20 {
			break
		}
		b := make([]byte, 8+n)
		copy(b, h[8:])
		if _, err := j.f.ReadAt(b[8:], off+frameHeader); err != nil {
			break // torn: never acknowledged
		}
		var format byte = journalFormat
		if sum := binary.LittleEndian.Uint32(h[4:]); sum != frameSum(format, b) {
			if format = 1; sum != frameSum(format, b) {
				break // torn: never acknowledged
			}
		}
		for r := (reader{b: b[8:], format: format}); len(r.b) > 0 && r.err == nil; {
			items = append(items, r.item())
			if r.err != nil {
				return nil, fmt.Errorf("check-in journal: frame at %d: %w", off, r.err)
			}
		}
		off += frameHeader + n
	}
	if fresh {
		j.epoch++ // what follows must not read as this epoch's frames
	}
	return items, nil
}

// empty drops frames already committed, so the scans in them do not stay
// on disk past their retention (the writer calls it when idle).
func (j *journal) empty() {
	if j.off == 0 {
		j.f.Truncate(0)
	}
}

func (j *journal) close() error { return j.f.Close() }

// appendTo encodes a scan whose person and grade are resolved (personID
// and proof set, proven no longer needed); a person
// stored with it carries its sealed details.
func (it item) appendTo(b []byte) []byte {
	b = appendBytes(b, []byte(it.id))
	for _, v := range []int64{it.venueID, it.at, it.stay, it.maxStay, it.personID, int64(it.proof), int64(flag(it.queued))} {
		b = binary.AppendVarint(b, v)
	}
	b = appendBytes(b, []byte(it.dir))
	if it.person == nil {
		return append(b, 0)
	}
	p := it.person
	b = append(b, 1)
	for _, s := range [][]byte{[]byte(p.Column), []byte(p.Hash), p.Name, p.Phone, p.IDNumber, []byte(p.PhoneHash),
		[]byte(p.IDNumberHash), []byte(p.Commune), []byte(p.District), []byte(p.Province)} {
		b = appendBytes(b, s)
	}
	return binary.AppendVarint(b, int64(p.BirthYear))
}

func appendBytes(b, s []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader decodes what appendTo wrote.
type reader struct {
	b      []byte
	format byte // journalFormat, or 1 for a frame an older server wrote
	err    error
}

var errShort = errors.New("truncated record")

func (r *reader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err, r.b = errShort, nil
		return nil
	}
	s := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	if n == 0 {
		return nil // as the vault seals an empty field
	}
	return s
}

func (r *reader) int() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err, r.b = errShort, nil
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) item() item {
	var it item
	if r.format == 1 { // no stay cap (take the longest), grade or queued flag
		it = item{id: string(r.bytes()), venueID: r.int(), at: r.int(), stay: r.int(), maxStay: int64((12 * time.Hour).Seconds()), personID: r.int(),
			dir: string(r.bytes())}
	} else {
		it = item{id: string(r.bytes()), venueID: r.int(), at: r.int(), stay: r.int(), maxStay: r.int(), personID: r.int(),
			proof: int(r.int()), queued: r.int() == 1, dir: string(r.bytes())}
	}
	if len(r.b) == 0 {
		r.err = errShort
		return it
	}
	has := r.b[0]
	r.b = r.b[1:]
	if has == 1 {
		str := func() string { return string(r.bytes()) }
		it.person = &people.Sealed{Column: str(), Hash: str(), Name: r.bytes(), Phone: r.bytes(), IDNumber: r.bytes(),
			PhoneHash: str(), IDNumberHash: str(), Commune: str(), District: str(), Province: str()}
		it.person.BirthYear = int(r.int())
	}
	return it
}
