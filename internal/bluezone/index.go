package bluezone

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"
)

// The daily ID index answers "which registered phone broadcast this ID in this
// slot of this day?" with two small reads instead of hashing every phone's
// chain. One day of P phones is one immutable file (plus small delta files for
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
// phones; days kept × that on disk. The directory and device table are held in
// memory, so a lookup is one pread of one bucket (~32 entries, 128 bytes).
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

// indexFile is one open index file.
// The directory and the device table are held in memory (17 MB a day per
// million phones): a lookup then costs one read, of its bucket, which is what
// keeps resolution fast when the entries are not in the page cache.
type indexFile struct {
	path                   string
	f                      *os.File
	h                      indexHeader
	devOff, dirOff, entOff int64
	dir                    []uint32 // SlotsPerDay × (2^b + 1) bucket starts
	devices                []int64  // ordinal → device id (0 = erased)
	mu                     sync.RWMutex
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
	x := &indexFile{path: path, f: f, h: h, devOff: devOff, dirOff: dirOff, entOff: entOff}
	buf := make([]byte, entOff-devOff) // device table and directory, contiguous
	if _, err := f.ReadAt(buf, devOff); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x.devices = make([]int64, h.Phones)
	for i := range x.devices {
		x.devices[i] = int64(binary.LittleEndian.Uint64(buf[i*8:]))
	}
	d := buf[dirOff-devOff:]
	x.dir = make([]uint32, len(d)/4)
	for i := range x.dir {
		x.dir[i] = binary.LittleEndian.Uint32(d[i*4:])
	}
	adviseRandom(f)
	return x, nil
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
	lo, hi := int64(x.dir[at]), int64(x.dir[at+1])
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
		x.mu.RLock()
		dev := x.devices[ord]
		x.mu.RUnlock()
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
			i, ok := x.ordinalOf(id)
			if !ok {
				continue
			}
			if _, err := x.f.WriteAt(zero[:], x.devOff+int64(i)*8); err != nil {
				return fmt.Errorf("erase: %w", err)
			}
			x.mu.Lock()
			x.devices[i] = 0
			x.mu.Unlock()
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
func (x *indexFile) ordinalOf(id int64) (int, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	lo, hi := 0, len(x.devices)
	for lo < hi {
		m := (lo + hi) / 2
		j := m
		for j < hi && x.devices[j] == 0 {
			j++
		}
		switch {
		case j == hi:
			hi = m
		case x.devices[j] == id:
			return j, true
		case x.devices[j] < id:
			lo = j + 1
		default:
			hi = m
		}
	}
	return 0, false
}

// BuildStats describes one index file written.
type BuildStats struct {
	Day      int64
	Phones   int
	Bytes    int64
	Elapsed  time.Duration // everything: loading keys (when the service built it), hashing, writing
	Load     time.Duration // reading and unsealing the keys from the database
	Hash     time.Duration // deriving every phone's 144 IDs
	Write    time.Duration // sorting, writing and syncing the file
	Delta    bool
	PeakHeap uint64 // bytes of Go heap in use right after hashing (the build's peak)
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

// Preload opens the given days' files now (reading their directories and
// device tables), so the first upload of the day does not pay for it.
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

// MemoryBytes is what the open index holds in memory: every open file's
// directory and device table (the entries stay on disk and in the page cache).
func (ix *Index) MemoryBytes() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var n int64
	for _, files := range ix.days {
		for _, f := range files {
			n += int64(len(f.dir))*4 + int64(len(f.devices))*8
		}
	}
	return n
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

// Build writes the index of day for devs (ascending ids, each with KeyDay <=
// day) and installs it. fromID == 0 makes a base file covering every device
// up to watermark, replacing the day's files; fromID > 0 a delta for the
// devices in (fromID, watermark]. erased is the highest erasure already
// reflected in devs (erased devices are simply absent).
func (ix *Index) Build(day int64, devs []DeviceKey, watermark, fromID, erased int64) (BuildStats, error) {
	start := time.Now()
	st := BuildStats{Day: day, Phones: len(devs), Delta: fromID > 0}
	if uint64(len(devs)) >= 1<<32 {
		return st, fmt.Errorf("bluezone index: %d phones in one file", len(devs))
	}
	p := len(devs)
	h := indexHeader{Day: day, Phones: uint32(p), Watermark: watermark, FromID: fromID, BuiltAt: time.Now().Unix(), ErasedApplied: erased}
	h.OrdBits = uint32(max(1, bits.Len(uint(max(p-1, 0)))))
	h.EntryBytes, h.BucketBits = 8, uint32(min(maxBucketB, bits.Len(uint(p/bucketAim))))
	if !wideEntries(h.OrdBits) {
		h.EntryBytes, h.BucketBits = 4, uint32(min(maxBucketB, bits.Len(uint(p/narrowAim))))
	}
	devOff, dirOff, entOff, size := h.layout()

	// 1. Hash: every phone's 144 IDs, kept as their first 8 bytes, slot-major.
	prefixes := make([]uint64, SlotsPerDay*p)
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	chunk := (p + workers - 1) / max(workers, 1)
	for w := 0; w < workers && w*chunk < p; w++ {
		lo, hi := w*chunk, min(p, (w+1)*chunk)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				d := devs[i]
				n := day - d.KeyDay
				if n < 0 || n > MaxChainDays || (i > 0 && devs[i-1].ID >= d.ID) || d.ID <= 0 {
					errMu.Lock()
					firstErr = errors.Join(firstErr, fmt.Errorf("device %d: key day %d for day %d, or ids out of order", d.ID, d.KeyDay, day))
					errMu.Unlock()
					return
				}
				ids := DayIDs(DailyKey(d.Key, int(n)))
				for s := range SlotsPerDay {
					prefixes[s*p+i] = binary.BigEndian.Uint64(ids[s][:8])
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return st, fmt.Errorf("bluezone index %s: %w", DayDate(day), firstErr)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.PeakHeap = ms.HeapInuse
	st.Hash = time.Since(start)
	writeStart := time.Now()

	// 2. Write: header and device table, then each slot sorted, in parallel
	// at fixed offsets into a temporary file renamed into place at the end.
	if err := os.MkdirAll(ix.dayDir(day), 0o700); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	name := fmt.Sprintf("base-%d%s", watermark, indexSuffix)
	if fromID > 0 {
		name = fmt.Sprintf("delta-%d-%d%s", fromID, watermark, indexSuffix)
	}
	final := filepath.Join(ix.dayDir(day), name)
	tmp, err := os.CreateTemp(ix.dayDir(day), ".build-*")
	if err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Truncate(size); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	head := h.marshal()
	table := make([]byte, p*8)
	for i, d := range devs {
		binary.LittleEndian.PutUint64(table[i*8:], uint64(d.ID))
	}
	if _, err := tmp.WriteAt(head, 0); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	if _, err := tmp.WriteAt(table, devOff); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	slots := make(chan int)
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			nb := 1 << h.BucketBits
			counts := make([]uint32, nb+1)
			sorted := make([]uint64, p)
			out := make([]byte, p*int(h.EntryBytes))
			dir := make([]byte, (nb+1)*4)
			for s := range slots {
				writeSlot(prefixes[s*p:(s+1)*p], h, counts, sorted, out, dir)
				if _, err := tmp.WriteAt(dir, dirOff+int64(s)*int64(nb+1)*4); err != nil {
					errs <- err
					continue
				}
				if _, err := tmp.WriteAt(out, entOff+int64(s)*int64(p)*int64(h.EntryBytes)); err != nil {
					errs <- err
				}
			}
		})
	}
	for s := range SlotsPerDay {
		slots <- s
	}
	close(slots)
	wg.Wait()
	close(errs)
	for err := range errs {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	prefixes = nil
	if err := tmp.Sync(); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	x, err := openIndexFile(final)
	if err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	ix.mu.Lock()
	old, _ := ix.loadLocked(day)
	if fromID == 0 {
		for _, f := range old {
			if f.path != final {
				f.f.Close()
				os.Remove(f.path)
			}
		}
		ix.days[day] = []*indexFile{x}
	} else {
		ix.days[day] = append(old, x)
	}
	ix.mu.Unlock()
	st.Bytes, st.Elapsed, st.Write = size, time.Since(start), time.Since(writeStart)
	return st, nil
}

// writeSlot sorts one slot's prefixes into entries (counting sort by bucket,
// then a small sort inside each bucket) and encodes them and the directory.
func writeSlot(prefixes []uint64, h indexHeader, counts []uint32, sorted []uint64, out, dir []byte) {
	clear(counts)
	ob, bb := h.OrdBits, h.BucketBits
	bucketOf := func(v uint64) uint64 {
		if bb == 0 {
			return 0
		}
		return v >> (64 - bb)
	}
	for _, v := range prefixes {
		counts[bucketOf(v)+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	for i := range len(counts) {
		binary.LittleEndian.PutUint32(dir[i*4:], counts[i])
	}
	eb := int64(h.EntryBytes)
	for ord, v := range prefixes {
		b := bucketOf(v)
		sorted[counts[b]] = entryValue(v, bb, ob, eb, uint64(ord))
		counts[b]++
	}
	// counts[b] is now the end of bucket b, i.e. the start of bucket b+1.
	lo := uint32(0)
	for b := 0; b < len(counts)-1; b++ {
		hi := counts[b]
		if hi-lo > 1 {
			slices.Sort(sorted[lo:hi])
		}
		lo = hi
	}
	for i, v := range sorted {
		if eb == 4 {
			binary.LittleEndian.PutUint32(out[i*4:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(out[i*8:], v)
		}
	}
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
