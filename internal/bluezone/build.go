package bluezone

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Building a day's index in bounded memory. Holding every phone's 144 IDs at
// once costs 1.2 GB per million phones (40 GB for the country's 30 million),
// so the builder is an external sort in two passes over a scratch file:
//
//  1. Phones arrive in id order in chunks of chunkPhones. Each chunk is hashed,
//     its ordinals written to the device table, and each slot's sort keys
//     grouped by the top coarse bits of their bucket and appended to the
//     scratch file as one run.
//  2. Each slot is then sorted range by range: a range is a contiguous span of
//     coarse groups (so of buckets) holding about rangeEntries entries, read
//     from every run's part of the slot in order, counting-sorted by bucket and
//     written at its final place with its part of the directory.
//
// Memory is the chunk's keys (144 × chunkPhones × 8 bytes), and per worker one
// range and a read buffer per run (at most 8 MB), whatever the number of
// phones; time is linear in it. The scratch file is as large as the index
// with wide entries and is unlinked as soon as it is created, so a crash
// leaves nothing behind.
const (
	coarseBits   = 12 // bucket bits runs are grouped by, so ranges can be read in order
	runReadBytes = 32 << 10
	staleBuild   = time.Hour // a temporary file this old belongs to a build that died
)

// Sizes of the two passes; variables so tests can force many runs and ranges.
var (
	chunkPhones  = 1 << 14 // phones hashed together in pass 1 (19 MB of keys)
	rangeEntries = 1 << 18 // entries of one slot sorted together in pass 2 (2 MB)
)

// sortKey is what runs hold and sort by: the entry, preceded for narrow
// entries by its bucket (wide entries start with it already).
func (h indexHeader) sortKey(prefix, ord uint64) uint64 {
	e := entryValue(prefix, h.BucketBits, h.OrdBits, int64(h.EntryBytes), ord)
	if h.EntryBytes == 4 {
		b := uint64(0)
		if h.BucketBits > 0 {
			b = prefix >> (64 - h.BucketBits)
		}
		return b<<32 | e
	}
	return e
}

// bucketOfKey returns the bucket of a sort key.
func (h indexHeader) bucketOfKey(k uint64) uint64 {
	switch {
	case h.EntryBytes == 4:
		return k >> 32
	case h.BucketBits == 0:
		return 0
	}
	return k >> (64 - h.BucketBits)
}

// coarse is how many bucket bits runs are grouped by.
func (h indexHeader) coarse() uint32 { return min(h.BucketBits, coarseBits) }

// ranges returns how many ranges a slot is sorted in: a power of two no
// larger than the number of coarse groups.
func (h indexHeader) ranges() int {
	r := 1
	for r*rangeEntries < int(h.Phones) && r < 1<<h.coarse() {
		r *= 2
	}
	return r
}

// newHeader chooses the widths of a file of p phones.
func newHeader(day int64, p int, watermark, fromID, erased int64) indexHeader {
	h := indexHeader{Day: day, Phones: uint32(p), Watermark: watermark, FromID: fromID, BuiltAt: time.Now().Unix(), ErasedApplied: erased}
	h.OrdBits = uint32(max(1, bits.Len(uint(max(p-1, 0)))))
	h.EntryBytes, h.BucketBits = 8, uint32(min(maxBucketB, bits.Len(uint(p/bucketAim))))
	if !wideEntries(h.OrdBits) {
		h.EntryBytes, h.BucketBits = 4, uint32(min(maxBucketB, bits.Len(uint(p/narrowAim))))
	}
	return h
}

// Build writes the index of day for devs (ascending ids, each with KeyDay <=
// day) and installs it; see BuildFrom.
func (ix *Index) Build(day int64, devs []DeviceKey, watermark, fromID, erased int64) (BuildStats, error) {
	return ix.BuildFrom(day, len(devs), func(yield func(DeviceKey, error) bool) {
		for _, d := range devs {
			if !yield(d, nil) {
				return
			}
		}
	}, watermark, fromID, erased)
}

// BuildFrom writes the index of day for the phones devs yields (exactly
// phones of them, ascending ids, each with KeyDay <= day), in bounded memory,
// and installs it. fromID == 0 makes a base file covering every device up to
// watermark, replacing the day's files; fromID > 0 a delta for the devices in
// (fromID, watermark]. erased is the highest erasure already reflected in devs
// (erased devices are simply absent). The day's current files answer lookups
// until the new one is complete: a failed or interrupted build changes nothing.
func (ix *Index) BuildFrom(day int64, phones int, devs iter.Seq2[DeviceKey, error], watermark, fromID, erased int64) (BuildStats, error) {
	start := time.Now()
	st := BuildStats{Day: day, Phones: phones, Delta: fromID > 0}
	if phones < 0 || uint64(phones) >= 1<<32 {
		return st, fmt.Errorf("bluezone index: %d phones in one file", phones)
	}
	dir := ix.dayDir(day)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	removeStale(dir)
	b := &builder{h: newHeader(day, phones, watermark, fromID, erased), day: day, workers: max(1, runtime.GOMAXPROCS(0))}
	b.devOff, b.dirOff, b.entOff, st.Bytes = b.h.layout()
	name := fmt.Sprintf("base-%d%s", watermark, indexSuffix)
	if fromID > 0 {
		name = fmt.Sprintf("delta-%d-%d%s", fromID, watermark, indexSuffix)
	}
	final := filepath.Join(dir, name)
	err := b.write(dir, devs, &st)
	if err == nil {
		err = os.Rename(b.out.Name(), final)
	}
	if b.out != nil {
		os.Remove(b.out.Name()) // gone already when renamed
	}
	if err != nil {
		return st, fmt.Errorf("bluezone index %s: %w", DayDate(day), err)
	}
	x, err := openIndexFile(final)
	if err != nil {
		return st, fmt.Errorf("bluezone index: %w", err)
	}
	ix.install(day, x)
	st.Elapsed = time.Since(start)
	return st, nil
}

// install makes x the day's base (closing and removing the files it
// replaces) or adds it as a delta.
func (ix *Index) install(day int64, x *indexFile) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old, _ := ix.loadLocked(day)
	if x.h.FromID != 0 {
		ix.days[day] = append(old, x)
		return
	}
	for _, f := range old {
		if f.path != x.path {
			f.f.Close()
			os.Remove(f.path)
		}
	}
	ix.days[day] = []*indexFile{x}
}

// removeStale deletes temporary files left in dir by builds that died (a
// crash or kill -9 mid-build); a live build touches its file continually.
func removeStale(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, ".build-*"))
	for _, n := range names {
		if st, err := os.Stat(n); err == nil && time.Since(st.ModTime()) > staleBuild {
			os.Remove(n)
		}
	}
}

// builder is one index file being written.
type builder struct {
	h                      indexHeader
	day                    int64
	workers                int
	devOff, dirOff, entOff int64
	out                    *os.File // the new index file, under a temporary name
	runs                   *os.File // the scratch file of pass 1 (unlinked)
	runLens                []int    // phones in each run
	runOffs                []int64  // where each run starts in runs
	scratch                []runScratch
}

// runScratch is one pass-1 worker's memory, kept from chunk to chunk.
type runScratch struct {
	sorted []uint64
	raw    []byte
	counts []int
}

// write runs both passes into a temporary file in dir, synced and closed.
func (b *builder) write(dir string, devs iter.Seq2[DeviceKey, error], st *BuildStats) (err error) {
	if b.out, err = os.CreateTemp(dir, ".build-*"); err != nil {
		return err
	}
	defer func() {
		if b.out != nil && err != nil {
			b.out.Close()
		}
	}()
	_, _, _, size := b.h.layout()
	if err := b.out.Truncate(size); err != nil {
		return err
	}
	if _, err := b.out.WriteAt(b.h.marshal(), 0); err != nil {
		return err
	}
	if b.runs, err = os.CreateTemp(dir, ".build-runs-*"); err != nil {
		return err
	}
	// Unlinked now on Linux, the scratch space is freed by the kernel however
	// the process ends; elsewhere it goes when the build returns.
	removeErr := os.Remove(b.runs.Name())
	defer func() {
		b.runs.Close()
		if removeErr != nil {
			os.Remove(b.runs.Name())
		}
	}()
	if err := b.pass1(devs, st); err != nil {
		return err
	}
	st.PeakHeap = heapInUse()
	sortStart := time.Now()
	if err := b.pass2(); err != nil {
		return err
	}
	st.PeakHeap = max(st.PeakHeap, heapInUse())
	if err := b.out.Sync(); err != nil {
		return err
	}
	err = b.out.Close()
	st.Write = time.Since(sortStart)
	return err
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// pass1 reads the phones in chunks and writes one run per chunk. Reading the
// next chunk (database rows, unsealing) overlaps with hashing this one.
func (b *builder) pass1(devs iter.Seq2[DeviceKey, error], st *BuildStats) error {
	chunks := make(chan []DeviceKey, 1)
	free := make(chan []DeviceKey, 2)
	stride := max(1, min(chunkPhones, int(b.h.Phones))) // a small delta needs no more
	free <- make([]DeviceKey, 0, stride)
	free <- make([]DeviceKey, 0, stride)
	done := make(chan error, 1)
	go func() {
		keys := make([]uint64, SlotsPerDay*stride)
		var err error
		ord, last := 0, int64(0)
		for c := range chunks {
			if err == nil {
				t := time.Now()
				err = b.run(c, ord, last, keys, stride)
				st.Hash += time.Since(t)
				ord, last = ord+len(c), c[len(c)-1].ID
			}
			clear(c) // unsealed keys live no longer than their chunk
			free <- c[:0]
		}
		done <- err
	}()
	n := 0
	var readErr error
	c := <-free
	loadStart := time.Now()
	for d, err := range devs {
		if err != nil {
			readErr = err
			break
		}
		if n++; n > int(b.h.Phones) {
			readErr = fmt.Errorf("more than the %d phones counted", b.h.Phones)
			break
		}
		if c = append(c, d); len(c) == stride {
			chunks <- c
			c = <-free
		}
	}
	if len(c) > 0 && readErr == nil {
		chunks <- c
	}
	close(chunks)
	err := <-done
	st.Load = max(0, time.Since(loadStart)-st.Hash)
	switch {
	case readErr != nil:
		return readErr
	case err != nil:
		return err
	case n != int(b.h.Phones):
		return fmt.Errorf("%d phones read, %d counted", n, b.h.Phones)
	}
	return nil
}

// run hashes one chunk whose first phone has ordinal ord (the phone before
// it having id last), writes its ids to the device table and appends its
// run: each slot's sort keys, grouped by coarse bucket bits. Slot s's keys
// are kept at keys[s*stride:].
func (b *builder) run(devs []DeviceKey, ord int, last int64, keys []uint64, stride int) error {
	n, h := len(devs), b.h
	var wg sync.WaitGroup
	errs := make([]error, b.workers)
	per := (n + b.workers - 1) / b.workers
	for w := range b.workers {
		lo, hi := w*per, min(n, (w+1)*per)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				d := devs[i]
				prev := last
				if i > 0 {
					prev = devs[i-1].ID
				}
				step := b.day - d.KeyDay
				if step < 0 || step > MaxChainDays || d.ID <= prev || d.ID <= 0 {
					errs[w] = fmt.Errorf("device %d: key day %d for day %d, or ids out of order", d.ID, d.KeyDay, b.day)
					return
				}
				ids := DayIDs(DailyKey(d.Key, int(step)))
				for s := range SlotsPerDay {
					keys[s*stride+i] = h.sortKey(binary.BigEndian.Uint64(ids[s][:8]), uint64(ord+i))
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	table := make([]byte, n*8)
	for i, d := range devs {
		binary.LittleEndian.PutUint64(table[i*8:], uint64(d.ID))
	}
	if _, err := b.out.WriteAt(table, b.devOff+int64(ord)*8); err != nil {
		return err
	}
	var runOff int64
	if k := len(b.runOffs); k > 0 {
		runOff = b.runOffs[k-1] + int64(SlotsPerDay*b.runLens[k-1]*8)
	}
	if len(b.scratch) < b.workers {
		b.scratch = make([]runScratch, b.workers)
	}
	slots := make(chan int)
	for w := range b.workers {
		wg.Go(func() {
			sc := &b.scratch[w]
			if cap(sc.sorted) < n {
				sc.sorted, sc.raw, sc.counts = make([]uint64, n), make([]byte, n*8), make([]int, 1<<h.coarse()+1)
			}
			sorted, raw, counts := sc.sorted[:n], sc.raw[:n*8], sc.counts
			for s := range slots {
				seg := keys[s*stride : s*stride+n]
				if h.ranges() > 1 { // one range reads runs whole: no grouping needed
					shift := h.BucketBits - h.coarse()
					countingSort(seg, sorted, counts, func(k uint64) int { return int(h.bucketOfKey(k) >> shift) })
					seg = sorted
				}
				for i, k := range seg {
					binary.LittleEndian.PutUint64(raw[i*8:], k)
				}
				if _, err := b.runs.WriteAt(raw, runOff+int64(s*n*8)); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		})
	}
	for s := range SlotsPerDay {
		slots <- s
	}
	close(slots)
	wg.Wait()
	b.runOffs, b.runLens = append(b.runOffs, runOff), append(b.runLens, n)
	return errors.Join(errs...)
}

// countingSort stably orders src into dst by group (0 ≤ group < len(counts)-1),
// leaving in counts[g] the end of group g.
func countingSort(src, dst []uint64, counts []int, group func(uint64) int) {
	clear(counts)
	for _, k := range src {
		counts[group(k)+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	for _, k := range src {
		g := group(k)
		dst[counts[g]] = k
		counts[g]++
	}
}

// runCursor reads one run's part of a slot in order.
type runCursor struct {
	f    *os.File
	off  int64 // next byte to read
	left int   // keys not yet read from the file
	buf  []byte
	have []byte // read and not yet taken
}

func (c *runCursor) reset(f *os.File, off int64, n int) {
	c.f, c.off, c.left, c.have = f, off, n, nil
}

// peek returns the next key, reading more of the run when needed.
func (c *runCursor) peek() (uint64, bool, error) {
	if len(c.have) == 0 {
		if c.left == 0 {
			return 0, false, nil
		}
		n := min(c.left, len(c.buf)/8)
		c.have = c.buf[:n*8]
		if _, err := c.f.ReadAt(c.have, c.off); err != nil {
			return 0, false, err
		}
		c.off, c.left = c.off+int64(n*8), c.left-n
	}
	return binary.LittleEndian.Uint64(c.have), true, nil
}

// pass2 sorts every slot from the runs into its place in the file.
func (b *builder) pass2() error {
	slots := make(chan int)
	errs := make([]error, b.workers)
	var wg sync.WaitGroup
	for w := range b.workers {
		wg.Go(func() {
			s := newSlotSorter(b)
			for slot := range slots {
				if errs[w] == nil {
					errs[w] = s.sort(slot)
				}
			}
		})
	}
	for s := range SlotsPerDay {
		slots <- s
	}
	close(slots)
	wg.Wait()
	return errors.Join(errs...)
}

// slotSorter is one pass-2 worker's memory: a cursor per run, one range of
// entries and its sorted copy, encoded entries and the range's directory.
type slotSorter struct {
	b       *builder
	cursors []runCursor
	keys    []uint64
	sorted  []uint64
	out     []byte
	counts  []int
	dir     []byte
}

func newSlotSorter(b *builder) *slotSorter {
	nr := b.h.ranges()
	nb := 1 << b.h.BucketBits
	per := int(b.h.Phones)/nr + int(b.h.Phones)/nr/16 + 64 // a range's expected size, and room for chance
	s := &slotSorter{b: b, cursors: make([]runCursor, len(b.runLens)), counts: make([]int, nb/nr+1), dir: make([]byte, (nb/nr)*4),
		keys: make([]uint64, 0, per), sorted: make([]uint64, 0, per), out: make([]byte, 0, per*int(b.h.EntryBytes))}
	bufBytes := max(4096, min(runReadBytes, (8<<20)/max(1, len(b.runLens)))) // ≤ 8 MB of buffers
	for i := range s.cursors {
		s.cursors[i].buf = make([]byte, bufBytes)
	}
	return s
}

// sort writes slot's entries and directory.
func (s *slotSorter) sort(slot int) error {
	h, b := s.b.h, s.b
	p := int64(h.Phones)
	for i := range s.cursors {
		s.cursors[i].reset(b.runs, b.runOffs[i]+int64(slot*b.runLens[i]*8), b.runLens[i])
	}
	nr := h.ranges()
	nb := 1 << h.BucketBits
	perRange := nb / nr
	coarseShift := h.BucketBits - h.coarse()
	groupsPerRange := uint64(1<<h.coarse()) / uint64(nr)
	eb := int64(h.EntryBytes)
	written := int64(0)
	for r := range nr {
		s.keys = s.keys[:0]
		end := uint64(r+1) * groupsPerRange // first coarse group of the next range
		for i := range s.cursors {
			c := &s.cursors[i]
			for {
				k, ok, err := c.peek()
				if err != nil {
					return err
				}
				if !ok || (r < nr-1 && h.bucketOfKey(k)>>coarseShift >= end) {
					break
				}
				s.keys = append(s.keys, k)
				c.have = c.have[8:]
			}
		}
		lo := uint64(r * perRange)
		s.sorted = slices.Grow(s.sorted[:0], len(s.keys))[:len(s.keys)]
		countingSort(s.keys, s.sorted, s.counts, func(k uint64) int { return int(h.bucketOfKey(k) - lo) })
		// counts[i] is now the end of bucket lo+i: the directory holds starts.
		start := 0
		for i := range perRange {
			binary.LittleEndian.PutUint32(s.dir[i*4:], uint32(written)+uint32(start))
			if end := s.counts[i]; end-start > 1 {
				slices.Sort(s.sorted[start:end])
			}
			start = s.counts[i]
		}
		s.out = slices.Grow(s.out[:0], len(s.sorted)*int(eb))[:len(s.sorted)*int(eb)]
		for i, k := range s.sorted {
			if eb == 4 {
				binary.LittleEndian.PutUint32(s.out[i*4:], uint32(k))
			} else {
				binary.LittleEndian.PutUint64(s.out[i*8:], k)
			}
		}
		if written+int64(len(s.sorted)) > p {
			return fmt.Errorf("slot %d: more entries than phones", slot)
		}
		if _, err := b.out.WriteAt(s.out, b.entOff+(int64(slot)*p+written)*eb); err != nil {
			return err
		}
		if _, err := b.out.WriteAt(s.dir, b.dirOff+(int64(slot)*int64(nb+1)+int64(lo))*4); err != nil {
			return err
		}
		written += int64(len(s.sorted))
	}
	if written != p {
		return fmt.Errorf("slot %d: %d entries for %d phones", slot, written, p)
	}
	var endDir [4]byte
	binary.LittleEndian.PutUint32(endDir[:], uint32(p))
	_, err := b.out.WriteAt(endDir[:], b.dirOff+(int64(slot)*int64(nb+1)+int64(nb))*4)
	return err
}
