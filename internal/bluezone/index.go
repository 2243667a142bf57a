package bluezone

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// The daily ID index answers "which registered phone broadcast this ID in this
// slot of this day?" with a few small reads instead of hashing every phone's
// chain. One day of P phones is one file, built in bounded memory (build.go) (plus small delta files for
// phones registered after it was built):
//
//	header     64 bytes (magic, day, P, bucket bits, ordinal bits, watermarks)
//	devices    P × uint64: ordinal → device id, ascending (0 = erased)
//	directory  144 × (2^b + 1) × uint32: per slot, where each bucket starts
//	entries    144 × P × uint32 or uint64 (see wideEntries), per slot sorted:
//	           bits of the ID with the low ordinal-bits replaced by the ordinal
//
// An entry keeps a truncated ID: with the bucket bits, 27 bits at a million
// phones (narrow entries) or 64−ordBits bits (wide). A lookup can therefore
// match a phone whose ID only shares those bits; the check is done by the
// resolver, which recomputes the full ID of every match from the phone's key
// before believing it.
//
// Size: 144 × P × 4 (or 8) bytes + 8·P + directory: ~0.6 GB a day per million
// phones; days kept × that on disk. Nothing is held in memory: a lookup is a
// pread of its bucket's bounds, one of the bucket (~32 entries, 128 bytes) and
// one per match of the device table.
const (
	indexMagic  = "BZIDX01\n"
	headerSize  = 64
	bucketAim   = 64 // entries per bucket the bucket count aims at (wide entries)
	narrowAim   = 32 // the same for narrow entries, whose fingerprint is shorter
	maxBucketB  = 24
	maxDeltas   = 8 // deltas per day before the day is rebuilt in one file
	indexSuffix = ".idx"
)

// DeviceKey is what the index builder needs of a registered phone: its id,
// its key and the Vietnamese day number that key belongs to.
type DeviceKey struct {
	ID     int64
	Key    [KeyLen]byte
	KeyDay int64
}

// indexHeader is the fixed start of an index file.
type indexHeader struct {
	Day           int64
	Phones        uint32
	BucketBits    uint32
	OrdBits       uint32
	EntryBytes    uint32 // 4 (narrow) or 8 (wide)
	Watermark     int64  // highest device id this file (with its base) covers
	FromID        int64  // a delta covers devices with id > FromID; 0 for a base
	BuiltAt       int64
	ErasedApplied int64 // highest bz_erased id applied to the device table
}

func (h indexHeader) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, indexMagic)
	le := binary.LittleEndian
	le.PutUint64(b[8:], uint64(h.Day))
	le.PutUint32(b[16:], h.Phones)
	le.PutUint32(b[20:], h.BucketBits)
	le.PutUint32(b[24:], h.OrdBits)
	le.PutUint32(b[28:], h.EntryBytes)
	le.PutUint64(b[32:], uint64(h.Watermark))
	le.PutUint64(b[40:], uint64(h.FromID))
	le.PutUint64(b[48:], uint64(h.BuiltAt))
	le.PutUint64(b[56:], uint64(h.ErasedApplied))
	return b
}

func unmarshalHeader(b []byte) (indexHeader, error) {
	if len(b) < headerSize || string(b[:8]) != indexMagic {
		return indexHeader{}, errors.New("not a Bluezone index file")
	}
	le := binary.LittleEndian
	h := indexHeader{
		Day: int64(le.Uint64(b[8:])), Phones: le.Uint32(b[16:]), BucketBits: le.Uint32(b[20:]), OrdBits: le.Uint32(b[24:]), EntryBytes: le.Uint32(b[28:]),
		Watermark: int64(le.Uint64(b[32:])), FromID: int64(le.Uint64(b[40:])), BuiltAt: int64(le.Uint64(b[48:])),
		ErasedApplied: int64(le.Uint64(b[56:])),
	}
	if h.BucketBits > maxBucketB || h.OrdBits < 1 || h.OrdBits > 32 || (h.EntryBytes != 4 && h.EntryBytes != 8) ||
		(h.EntryBytes == 4 && h.OrdBits > 24) {
		return indexHeader{}, fmt.Errorf("corrupt header (bucket bits %d, ordinal bits %d)", h.BucketBits, h.OrdBits)
	}
	return h, nil
}

// layout returns where each section starts and the file's total size.
func (h indexHeader) layout() (devOff, dirOff, entOff, size int64) {
	p := int64(h.Phones)
	nb := int64(1) << h.BucketBits
	devOff = headerSize
	dirOff = devOff + p*8
	entOff = dirOff + SlotsPerDay*(nb+1)*4
	size = entOff + SlotsPerDay*p*int64(h.EntryBytes)
	return
}

// indexFile is one open index file. Nothing of it is held in memory but its
// header: a lookup reads its bucket's bounds from the directory, the bucket,
// and the device of each match, each with one pread. The directory (19 MB a
// day per million phones) stays in the page cache when lookups are frequent,
// and the process's memory does not grow with the number of phones.
type indexFile struct {
	path                   string
	f                      *os.File
	h                      indexHeader
	devOff, dirOff, entOff int64
	mu                     sync.RWMutex // device-table reads against erasures
}

func openIndexFile(path string) (*indexFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	b := make([]byte, headerSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h, err := unmarshalHeader(b)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	devOff, dirOff, entOff, size := h.layout()
	if st, err := f.Stat(); err != nil || st.Size() != size {
		f.Close()
		return nil, fmt.Errorf("%s: truncated index file (want %d bytes)", path, size)
	}
	adviseRandom(f)
	return &indexFile{path: path, f: f, h: h, devOff: devOff, dirOff: dirOff, entOff: entOff}, nil
}

// device reads the device id of ordinal ord (0 = erased).
func (x *indexFile) device(ord int64) (int64, error) {
	var b [8]byte
	x.mu.RLock()
	_, err := x.f.ReadAt(b[:], x.devOff+ord*8)
	x.mu.RUnlock()
	if err != nil {
		return 0, fmt.Errorf("index %s: device table: %w", x.path, err)
	}
	return int64(binary.LittleEndian.Uint64(b[:])), nil
}

// lookup appends to out the device ids whose slot ID starts like id.
func (x *indexFile) lookup(slot int, id [IDLen]byte, out []int64) ([]int64, error) {
	if x.h.Phones == 0 {
		return out, nil
	}
	prefix := binary.BigEndian.Uint64(id[:8])
	ob, bb, eb := x.h.OrdBits, x.h.BucketBits, int64(x.h.EntryBytes)
	bucket := uint64(0)
	if bb > 0 {
		bucket = prefix >> (64 - bb)
	}
	nb := int64(1) << bb
	at := int64(slot)*(nb+1) + int64(bucket)
	var bounds [8]byte
	if _, err := x.f.ReadAt(bounds[:], x.dirOff+at*4); err != nil {
		return out, fmt.Errorf("index %s: directory: %w", x.path, err)
	}
	lo, hi := int64(binary.LittleEndian.Uint32(bounds[:])), int64(binary.LittleEndian.Uint32(bounds[4:]))
	if hi < lo || hi > int64(x.h.Phones) {
		return out, fmt.Errorf("index %s: corrupt directory", x.path)
	}
	if hi == lo {
		return out, nil
	}
	buf := make([]byte, (hi-lo)*eb)
	if _, err := x.f.ReadAt(buf, x.entOff+(int64(slot)*int64(x.h.Phones)+lo)*eb); err != nil {
		return out, fmt.Errorf("index entries: %w", err)
	}
	n := int(hi - lo)
	entry := func(i int) uint64 {
		if eb == 4 {
			return uint64(binary.LittleEndian.Uint32(buf[i*4:]))
		}
		return binary.LittleEndian.Uint64(buf[i*8:])
	}
	want := entryValue(prefix, bb, ob, eb, 0) >> ob
	i := sort.Search(n, func(i int) bool { return entry(i)>>ob >= want })
	mask := uint64(1)<<ob - 1
	for ; i < n; i++ {
		v := entry(i)
		if v>>ob != want {
			break
		}
		ord := int64(v & mask)
		if ord >= int64(x.h.Phones) {
			return out, fmt.Errorf("index %s: corrupt ordinal", x.path)
		}
		dev, err := x.device(ord)
		if err != nil {
			return out, err
		}
		if dev != 0 {
			out = append(out, dev)
		}
	}
	return out, nil
}

// erase zeroes the device-table entries of ids, cutting every ID of theirs in
// this file loose from the phone, and records upTo as applied.
func (x *indexFile) erase(ids []int64, upTo int64) error {
	if len(ids) > 0 && x.h.Phones > 0 {
		var zero [8]byte
		for _, id := range ids {
			// Ordinals follow device ids; erased entries (0) only ever replace
			// an id in place, so the search stays valid around them.
			i, ok, err := x.ordinalOf(id)
			if err != nil {
				return fmt.Errorf("erase: %w", err)
			}
			if !ok {
				continue
			}
			x.mu.Lock()
			_, err = x.f.WriteAt(zero[:], x.devOff+i*8)
			x.mu.Unlock()
			if err != nil {
				return fmt.Errorf("erase: %w", err)
			}
		}
	}
	if upTo > x.h.ErasedApplied {
		x.h.ErasedApplied = upTo
		if _, err := x.f.WriteAt(x.h.marshal(), 0); err != nil {
			return fmt.Errorf("erase: %w", err)
		}
	}
	return x.f.Sync()
}

// ordinalOf finds a device's ordinal by binary search on the id-ordered
// device table, stepping over erased (zeroed) entries.
func (x *indexFile) ordinalOf(id int64) (int64, bool, error) {
	lo, hi := int64(0), int64(x.h.Phones)
	for lo < hi {
		m := (lo + hi) / 2
		j := m
		var dev int64
		for ; j < hi; j++ {
			var err error
			if dev, err = x.device(j); err != nil {
				return 0, false, err
			}
			if dev != 0 {
				break
			}
		}
		switch {
		case j == hi:
			hi = m
		case dev == id:
			return j, true, nil
		case dev < id:
			lo = j + 1
		default:
			hi = m
		}
	}
	return 0, false, nil
}

// BuildStats describes one index file written.
type BuildStats struct {
	Day      int64
	Phones   int
	Bytes    int64
	Elapsed  time.Duration // everything: loading keys (when the service built it), hashing, writing
	Load     time.Duration // reading and unsealing the keys, where not overlapped with hashing
	Hash     time.Duration // deriving every phone's 144 IDs and writing them as sorted runs
	Write    time.Duration // merging the runs into the file, and syncing it
	Delta    bool
	PeakHeap uint64 // bytes of Go heap in use at the end of either pass (the build's peak)
}

// Index is the directory of daily ID index files: DIR/YYYY-MM-DD/*.idx.
// Lookups may run while files are built; a new base file replaces the old
// one (and its deltas) under a short write lock.
type Index struct {
	Dir string

	mu   sync.RWMutex
	days map[int64][]*indexFile // base first, then deltas by FromID
}

// OpenIndex returns the index kept in dir (created when missing).
func OpenIndex(dir string) (*Index, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bluezone index: %w", err)
	}
	return &Index{Dir: dir, days: map[int64][]*indexFile{}}, nil
}

// DayDate returns the Vietnamese calendar date of a day number.
func DayDate(day int64) string { return time.Unix(day*86400, 0).UTC().Format(time.DateOnly) }

func (ix *Index) dayDir(day int64) string { return filepath.Join(ix.Dir, DayDate(day)) }

// load returns the files of a day, opening them on first use. Callers hold mu.
func (ix *Index) loadLocked(day int64) ([]*indexFile, error) {
	if fs, ok := ix.days[day]; ok {
		return fs, nil
	}
	names, err := filepath.Glob(filepath.Join(ix.dayDir(day), "*"+indexSuffix))
	if err != nil {
		return nil, err
	}
	var base *indexFile
	var deltas []*indexFile
	for _, n := range names {
		x, err := openIndexFile(n)
		if err != nil {
			os.Remove(n) // a torn or foreign file: the index is derived, rebuild it
			continue
		}
		if x.h.Day != day {
			x.f.Close()
			continue
		}
		if x.h.FromID == 0 {
			if base == nil || x.h.Watermark > base.h.Watermark {
				if base != nil {
					base.f.Close()
				}
				base = x
				continue
			}
		} else {
			deltas = append(deltas, x)
			continue
		}
		x.f.Close()
	}
	var files []*indexFile
	if base != nil {
		files = append(files, base)
		slices.SortFunc(deltas, func(a, b *indexFile) int { return int(a.h.FromID - b.h.FromID) })
		for _, d := range deltas {
			if d.h.FromID >= base.h.Watermark {
				files = append(files, d)
			} else {
				d.f.Close()
				os.Remove(d.path)
			}
		}
	} else {
		for _, d := range deltas {
			d.f.Close()
			os.Remove(d.path)
		}
	}
	ix.days[day] = files
	return files, nil
}

// DayState reports a day's coverage: whether a base file exists, the highest
// device id covered, the number of delta files and the highest erasure applied
// to all of them.
func (ix *Index) DayState(day int64) (hasBase bool, watermark int64, deltas int, erased int64, err error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	files, err := ix.loadLocked(day)
	if err != nil || len(files) == 0 {
		return false, 0, 0, 0, err
	}
	erased = files[0].h.ErasedApplied
	for _, f := range files {
		watermark = max(watermark, f.h.Watermark)
		erased = min(erased, f.h.ErasedApplied)
	}
	return true, watermark, len(files) - 1, erased, nil
}

// Lookup returns the ids of the phones that broadcast an ID starting like id
// in slot of day: usually none or one; more only on a truncated-ID collision,
// which the caller's full check resolves.
func (ix *Index) Lookup(day int64, slot int, id [IDLen]byte) ([]int64, error) {
	if slot < 0 || slot >= SlotsPerDay {
		return nil, fmt.Errorf("bluezone lookup: slot %d", slot)
	}
	ix.mu.RLock()
	files, ok := ix.days[day]
	ix.mu.RUnlock()
	if !ok {
		ix.mu.Lock()
		var err error
		files, err = ix.loadLocked(day)
		ix.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []int64
	for _, f := range files {
		var err error
		if out, err = f.lookup(slot, id, out); err != nil {
			return nil, fmt.Errorf("bluezone lookup %s: %w", DayDate(day), err)
		}
	}
	return out, nil
}

// Erase cuts the given devices loose in every file of day, recording upTo
// (the highest bz_erased id handled).
func (ix *Index) Erase(day int64, ids []int64, upTo int64) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	files, err := ix.loadLocked(day)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.h.ErasedApplied >= upTo && len(ids) == 0 {
			continue
		}
		if err := f.erase(ids, upTo); err != nil {
			return fmt.Errorf("bluezone index %s: %w", DayDate(day), err)
		}
	}
	return nil
}

// Days returns the day numbers that have index files on disk, ascending.
func (ix *Index) Days() []int64 {
	entries, _ := os.ReadDir(ix.Dir)
	var days []int64
	for _, e := range entries {
		t, err := time.Parse(time.DateOnly, e.Name())
		if err == nil && e.IsDir() {
			days = append(days, t.Unix()/86400)
		}
	}
	slices.Sort(days)
	return days
}

// Expire removes every day before oldest, so IDs derived from keys never
// outlive the period tracing looks back over.
func (ix *Index) Expire(oldest int64) (removed int, err error) {
	for _, d := range ix.Days() {
		if d >= oldest {
			continue
		}
		ix.mu.Lock()
		for _, f := range ix.days[d] {
			f.f.Close()
		}
		delete(ix.days, d)
		err = errors.Join(err, os.RemoveAll(ix.dayDir(d)))
		ix.mu.Unlock()
		removed++
	}
	return removed, err
}

// Bytes returns the disk size of a day's files.
func (ix *Index) Bytes(day int64) int64 {
	var n int64
	names, _ := filepath.Glob(filepath.Join(ix.dayDir(day), "*"+indexSuffix))
	for _, name := range names {
		if st, err := os.Stat(name); err == nil {
			n += st.Size()
		}
	}
	return n
}

// Preload opens the given days' files now (checking their headers and
// sizes), so the first upload of the day does not pay for it.
func (ix *Index) Preload(days []int64) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, d := range days {
		if _, err := ix.loadLocked(d); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every open file.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for d, files := range ix.days {
		for _, f := range files {
			f.f.Close()
		}
		delete(ix.days, d)
	}
	return nil
}

// wideEntries decides the entry width from the ordinal bits. Narrow (4-byte)
// entries keep 32−ordBits bits of the ID after the bucket bits: 12 at a
// million phones, so with the 15 bucket bits a lookup matches 27 bits and
// finds a stranger's entry about once in 130 lookups; the full check throws
// those out, and the index is half the size (0.6 GB a day per million phones),
// which keeps more of it in the page cache. Past 2^20 phones a file, entries
// are wide (8 bytes), keeping 64−ordBits bits. A variable for tests.
var wideEntries = func(ordBits uint32) bool { return ordBits > 20 }

// entryValue is what an index entry holds for an ID whose first 8 bytes are
// prefix, given the file's bucket, ordinal and entry widths: the ID's bits
// (after the bucket bits for narrow entries), with the ordinal in the low
// ordBits bits. Entries of a bucket sort by it.
func entryValue(prefix uint64, bb, ob uint32, eb int64, ord uint64) uint64 {
	if eb == 4 {
		k := uint32((prefix << bb) >> 32)
		return uint64(k>>ob<<ob) | ord
	}
	return prefix>>ob<<ob | ord
}
