package bluezone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// smallPasses makes the builder use chunks of chunk phones and ranges of
// about rangeN entries for the rest of the test.
func smallPasses(t *testing.T, chunk, rangeN int) {
	oldC, oldR := chunkPhones, rangeEntries
	chunkPhones, rangeEntries = chunk, rangeN
	t.Cleanup(func() { chunkPhones, rangeEntries = oldC, oldR })
}

// buildBytes builds day's base file for devs in a new index and returns its
// bytes after the header's build time.
func buildBytes(t *testing.T, day int64, devs []DeviceKey) []byte {
	t.Helper()
	ix, err := OpenIndex(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.Build(day, devs, devs[len(devs)-1].ID, 0, 0); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(ix.dayDir(day), "*"+indexSuffix))
	if len(names) != 1 {
		t.Fatalf("files %v", names)
	}
	b, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	return append(b[:48:48], b[56:]...) // BuiltAt (bytes 48..56) differs between builds
}

// TestBuildInChunks: an index built in many small runs and ranges is the
// same file, byte for byte, as one built in one run and one range, for
// narrow and wide entries, for phone counts around the chunk size, and every
// phone's IDs are found in it.
func TestBuildInChunks(t *testing.T) {
	day := DayNumber(testNow)
	for _, wide := range []bool{false, true} {
		for _, n := range []int{1, 97, 3000, 4099} {
			t.Run(fmt.Sprintf("wide=%v/%d", wide, n), func(t *testing.T) {
				old := wideEntries
				wideEntries = func(uint32) bool { return wide }
				t.Cleanup(func() { wideEntries = old })
				var devs []DeviceKey
				for i := range n {
					devs = append(devs, DeviceKey{ID: int64(5 + 2*i), Key: sha256.Sum256(fmt.Appendf(nil, "c%d", i)), KeyDay: day - int64(i%3)})
				}
				whole := buildBytes(t, day, devs)
				smallPasses(t, 128, 300) // up to 33 runs, and ranges of a few hundred entries
				h := newHeader(day, n, 0, 0, 0)
				if n > 1000 && h.ranges() < 4 {
					t.Fatalf("only %d ranges", h.ranges())
				}
				chunked := buildBytes(t, day, devs)
				if !bytes.Equal(whole, chunked) {
					t.Fatalf("chunked build differs (%d and %d bytes)", len(whole), len(chunked))
				}
				ix, _ := OpenIndex(t.TempDir())
				defer ix.Close()
				if _, err := ix.Build(day, devs, devs[len(devs)-1].ID, 0, 0); err != nil {
					t.Fatal(err)
				}
				for _, d := range devs[:min(n, 300)] {
					ids := DayIDs(DailyKey(d.Key, int(day-d.KeyDay)))
					for _, slot := range []int{0, 1, 72, 143} {
						got, err := ix.Lookup(day, slot, ids[slot])
						if err != nil || !slices.Contains(got, d.ID) {
							t.Fatalf("device %d slot %d: %v %v", d.ID, slot, got, err)
						}
					}
				}
			})
		}
	}
}

// source yields devs, failing with err in place of devs[failAt] (none when
// failAt < 0), as a database connection lost mid-stream does.
func source(devs []DeviceKey, failAt int, err error) func(func(DeviceKey, error) bool) {
	return func(yield func(DeviceKey, error) bool) {
		for i, d := range devs {
			if i == failAt {
				yield(DeviceKey{}, err)
				return
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// TestBuildRefusesBadInput: phones out of order, a key day after the day,
// more or fewer phones than announced, and a failing source all fail the
// build and leave no file.
func TestBuildRefusesBadInput(t *testing.T) {
	day := DayNumber(testNow)
	good := []DeviceKey{{ID: 1, KeyDay: day}, {ID: 2, KeyDay: day}, {ID: 3, KeyDay: day}}
	smallPasses(t, 2, 1<<20)
	cases := map[string]struct {
		devs  []DeviceKey
		count int
		fail  error
	}{
		"out of order":   {devs: []DeviceKey{{ID: 2, KeyDay: day}, {ID: 1, KeyDay: day}, {ID: 3, KeyDay: day}}, count: 3},
		"repeated id":    {devs: []DeviceKey{{ID: 1, KeyDay: day}, {ID: 2, KeyDay: day}, {ID: 2, KeyDay: day}}, count: 3},
		"across chunks":  {devs: []DeviceKey{{ID: 1, KeyDay: day}, {ID: 5, KeyDay: day}, {ID: 4, KeyDay: day}}, count: 3},
		"future key day": {devs: []DeviceKey{{ID: 1, KeyDay: day}, {ID: 2, KeyDay: day + 1}, {ID: 3, KeyDay: day}}, count: 3},
		"zero id":        {devs: []DeviceKey{{ID: 0, KeyDay: day}}, count: 1},
		"more":           {devs: good, count: 2},
		"fewer":          {devs: good, count: 4},
		"source fails":   {devs: good, count: 3, fail: errors.New("disk gone")},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ix, _ := OpenIndex(t.TempDir())
			defer ix.Close()
			failAt := -1
			if c.fail != nil {
				failAt = 2
			}
			_, err := ix.BuildFrom(day, c.count, source(c.devs, failAt, c.fail), 9, 0, 0)
			if err == nil {
				t.Fatal("built")
			}
			if left, _ := os.ReadDir(ix.dayDir(day)); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			if has, _, _, _, _ := ix.DayState(day); has {
				t.Error("a day index exists")
			}
		})
	}
}

// TestBuildFailureKeepsIndex: a build that fails half way (the database
// going away, or the process killed: its temporary file stays) leaves the
// previous file answering, and the next build clears a dead build's file.
func TestBuildFailureKeepsIndex(t *testing.T) {
	day := DayNumber(testNow)
	smallPasses(t, 16, 1<<20)
	ix, _ := OpenIndex(t.TempDir())
	defer ix.Close()
	var devs []DeviceKey
	for i := range 100 {
		devs = append(devs, DeviceKey{ID: int64(1 + i), Key: sha256.Sum256(fmt.Appendf(nil, "k%d", i)), KeyDay: day})
	}
	if _, err := ix.Build(day, devs[:60], 60, 0, 0); err != nil {
		t.Fatal(err)
	}
	// A dead build's file, as kill -9 leaves it.
	dead := filepath.Join(ix.dayDir(day), ".build-123")
	if err := os.WriteFile(dead, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleBuild)
	os.Chtimes(dead, old, old)
	_, err := ix.BuildFrom(day, 100, source(devs, 70, errors.New("connection reset")), 100, 0, 0)
	if err == nil {
		t.Fatal("failed build reported success")
	}
	check := func(ix *Index) {
		t.Helper()
		has, wm, _, _, _ := ix.DayState(day)
		if !has || wm != 60 {
			t.Fatalf("state %v %d", has, wm)
		}
		for _, d := range devs[:60:60] {
			ids := DayIDs(d.Key)
			if got, err := ix.Lookup(day, 9, ids[9]); err != nil || !slices.Contains(got, d.ID) {
				t.Fatalf("device %d after a failed build: %v %v", d.ID, got, err)
			}
		}
	}
	check(ix)
	ix.Close()
	ix2, _ := OpenIndex(ix.Dir) // as after a restart
	defer ix2.Close()
	check(ix2)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead build's file kept: %v", err)
	}
	if names, _ := filepath.Glob(filepath.Join(ix.dayDir(day), ".build-*")); len(names) != 0 {
		t.Errorf("temporary files left: %v", names)
	}
}

// TestResolveAcrossMidnight: a log whose sightings run across midnight is
// resolved against both days' files, with slot 143 of the first day and
// slot 0 of the second, built in small chunks, on both engines.
func TestResolveAcrossMidnight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		smallPasses(t, 64, 200)
		f := newFixture(t, db)
		phones := SimPhones(5, 300, testNow, ProvinceCommunes("80"))
		persons, err := BulkRegister(ctx, db, f.svc.Vault, phones, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		syncSeq(t, db)
		today := DayNumber(testNow)
		midnight := DayStartOf(today)
		f0 := phones[0]
		var rows []LogRow
		want := map[int64]bool{}
		for j, at := range map[int]int64{7: midnight - 300, 8: midnight - 1, 9: midnight, 10: midnight + 420} {
			p := phones[j]
			d := DayNumber(time.Unix(at, 0))
			slot := int((at - DayStartOf(d)) / 600)
			contact := DayIDs(DailyKey(p.Key, int(d-p.BaseDay)))[slot]
			own := DayIDs(DailyKey(f0.Key, int(d-f0.BaseDay)))[slot]
			rows = append(rows, LogRow{OwnID: own, ContactID: contact, RSSI: -60, At: at})
			want[persons[j]] = true
		}
		if err := f.svc.ValidateLog(rows, testNow); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Resolve(ctx, rows, persons[0])
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, c := range res.Contacts {
			got = append(got, c.PersonID)
		}
		if len(got) != 4 || !want[got[0]] || !want[got[1]] || !want[got[2]] || !want[got[3]] || res.OwnPerson != persons[0] {
			t.Errorf("contacts %v, own person %d; want the four phones seen in slot 143 and slot 0", got, res.OwnPerson)
		}
		for _, d := range []int64{today - 1, today} {
			if has, _, _, _, _ := f.svc.Index.DayState(d); !has {
				t.Errorf("day %s not indexed", DayDate(d))
			}
		}
	})
}
