package bluezone

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"anticovid/internal/errs"
)

// testBase is the base key 00 01 02 … 1f.
func testBase() [32]byte {
	var b [32]byte
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// Golden vectors for base key 00 01 … 1f, computed outside Go (Python's
// hashlib, following bluezone.md literally), so that a shared misreading of
// the spec between ids.go and the step-by-step code below would still show.
const (
	goldenD1        = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
	goldenD5        = "d06ab04a60c2b9012245fdd6cf457b53552569491a7dad7cae305650b6483328"
	goldenD0Slot0   = "130cea6472130c185d8643df"
	goldenD0Slot1   = "893dae342437130ce5e23837"
	goldenD0Slot143 = "3853d23d5202d320db78307a"
	goldenD1Slot0   = "970e23c0e19de93f8cc4057b"
	goldenD1Slot71  = "cee3f8c37ddda63c84dd94c6"
)

// handID derives the ID of slot k from daily key d one hash at a time on plain
// byte slices, without any code from ids.go.
func handID(d []byte, k int) []byte {
	seed := append(append([]byte{}, d...), []byte{'b', 'l', 'u', 'z', 'o', 'n', 'e', 's', 'u', 'b', 'k', 'e', 'y'}...)
	h := sha256.Sum256(seed)
	s := h[:]
	for i := 0; i < k; i++ {
		h := sha256.Sum256(s)
		s = h[:]
	}
	return []byte{s[0], s[4], s[8], s[12], s[16], s[18], s[20], s[22], s[24], s[26], s[28], s[30]}
}

func handDaily(base []byte, n int) []byte {
	d := base
	for i := 0; i < n; i++ {
		h := sha256.Sum256(d)
		d = h[:]
	}
	return d
}

func TestDailyKeyVectors(t *testing.T) {
	base := testBase()
	tests := []struct {
		n    int
		want string
	}{
		{0, hex.EncodeToString(base[:])},
		{1, goldenD1},
		{5, goldenD5},
	}
	for _, tt := range tests {
		got := DailyKey(base, tt.n)
		if hex.EncodeToString(got[:]) != tt.want {
			t.Errorf("DailyKey(base, %d) = %x, want %s", tt.n, got, tt.want)
		}
		if hand := handDaily(base[:], tt.n); !bytes.Equal(hand, got[:]) {
			t.Errorf("DailyKey(base, %d) = %x, step-by-step %x", tt.n, got, hand)
		}
	}
	if next := NextDailyKey(base); hex.EncodeToString(next[:]) != goldenD1 {
		t.Errorf("NextDailyKey = %x, want %s", next, goldenD1)
	}
}

func TestDailyKeyNegativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("DailyKey(base, -1) did not panic")
		}
	}()
	DailyKey(testBase(), -1)
}

func TestDayIDsVectors(t *testing.T) {
	base := testBase()
	d1 := DailyKey(base, 1)
	ids0, ids1 := DayIDs(base), DayIDs(d1)
	golden := []struct {
		name string
		got  [IDLen]byte
		want string
	}{
		{"D0 slot 0", ids0[0], goldenD0Slot0},
		{"D0 slot 1", ids0[1], goldenD0Slot1},
		{"D0 slot 143", ids0[143], goldenD0Slot143},
		{"D1 slot 0", ids1[0], goldenD1Slot0},
		{"D1 slot 71", ids1[71], goldenD1Slot71},
	}
	for _, g := range golden {
		if hex.EncodeToString(g.got[:]) != g.want {
			t.Errorf("%s = %x, want %s", g.name, g.got, g.want)
		}
	}
	// Every slot of both days against the step-by-step derivation, and SlotID
	// against DayIDs.
	for day, d := range [][32]byte{base, d1} {
		ids := DayIDs(d)
		for k := range SlotsPerDay {
			if hand := handID(d[:], k); !bytes.Equal(hand, ids[k][:]) {
				t.Fatalf("day %d slot %d: DayIDs %x, step-by-step %x", day, k, ids[k], hand)
			}
			one, err := SlotID(d, k)
			if err != nil || one != ids[k] {
				t.Fatalf("day %d slot %d: SlotID %x, %v; DayIDs %x", day, k, one, err, ids[k])
			}
		}
	}
	for _, bad := range []int{-1, SlotsPerDay} {
		if _, err := SlotID(base, bad); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("SlotID(slot %d) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestDayIDsDistinct(t *testing.T) {
	seen := map[[IDLen]byte]int{}
	for k, id := range DayIDs(testBase()) {
		if prev, ok := seen[id]; ok {
			t.Fatalf("slots %d and %d share ID %x", prev, k, id)
		}
		seen[id] = k
	}
}

func TestSlotOf(t *testing.T) {
	ict := time.FixedZone("+07", 7*3600)
	may1 := time.Date(2021, 5, 1, 0, 0, 0, 0, ict)
	tests := []struct {
		name    string
		t       time.Time
		wantDay time.Time
		slot    int
	}{
		{"midnight opens slot 0", may1, may1, 0},
		{"00:09:59.999 still slot 0", time.Date(2021, 5, 1, 0, 9, 59, 999999999, ict), may1, 0},
		{"00:10 opens slot 1", time.Date(2021, 5, 1, 0, 10, 0, 0, ict), may1, 1},
		{"12:00 is slot 72", time.Date(2021, 5, 1, 12, 0, 0, 0, ict), may1, 72},
		{"23:49:59 is slot 142", time.Date(2021, 5, 1, 23, 49, 59, 0, ict), may1, 142},
		{"23:50 opens slot 143", time.Date(2021, 5, 1, 23, 50, 0, 0, ict), may1, 143},
		{"23:59:59.999 still slot 143", time.Date(2021, 5, 1, 23, 59, 59, 999999999, ict), may1, 143},
		{"UTC 16:59:59 is the last second of the day", time.Date(2021, 5, 1, 16, 59, 59, 0, time.UTC), may1, 143},
		{"UTC 17:00:00 starts the next day", time.Date(2021, 5, 1, 17, 0, 0, 0, time.UTC), may1.AddDate(0, 0, 1), 0},
		{"UTC midnight is 07:00 the same day", time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC), may1, 42},
		{"before 1970 floors correctly", time.Date(1969, 12, 31, 23, 55, 0, 0, ict), time.Date(1969, 12, 31, 0, 0, 0, 0, ict), 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day, slot := SlotOf(tt.t)
			if !day.Equal(tt.wantDay) || slot != tt.slot {
				t.Errorf("SlotOf(%s) = %s, %d; want %s, %d", tt.t, day, slot, tt.wantDay, tt.slot)
			}
			if _, off := day.Zone(); off != 7*3600 {
				t.Errorf("day %s is not in +07:00", day)
			}
			start := SlotStart(day, slot)
			if tt.t.Before(start) || !tt.t.Before(start.Add(SlotDuration)) {
				t.Errorf("%s is outside its slot [%s, +10m)", tt.t, start)
			}
		})
	}
}

func TestDailyKeyFor(t *testing.T) {
	base := testBase()
	ict := time.FixedZone("+07", 7*3600)
	baseDay := time.Date(2021, 5, 1, 15, 0, 0, 0, ict) // any instant of the base day
	tests := []struct {
		name string
		day  time.Time
		want string
	}{
		{"base day itself", time.Date(2021, 5, 1, 0, 0, 0, 0, ict), hex.EncodeToString(base[:])},
		{"next day starts at UTC 17:00", time.Date(2021, 5, 1, 17, 0, 0, 0, time.UTC), goldenD1},
		{"UTC 16:59:59 is still the base day", time.Date(2021, 5, 1, 16, 59, 59, 0, time.UTC), hex.EncodeToString(base[:])},
		{"five days later", time.Date(2021, 5, 6, 23, 59, 0, 0, ict), goldenD5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DailyKeyFor(base, baseDay, tt.day)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != tt.want {
				t.Errorf("got %x, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []time.Time{
		time.Date(2021, 4, 30, 23, 59, 59, 0, ict),
		baseDay.AddDate(0, 0, MaxChainDays+1),
	} {
		if _, err := DailyKeyFor(base, baseDay, bad); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("DailyKeyFor(%s) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestIDAt(t *testing.T) {
	base := testBase()
	ict := time.FixedZone("+07", 7*3600)
	baseDay := time.Date(2021, 5, 1, 0, 0, 0, 0, ict)
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2021, 5, 1, 0, 0, 0, 0, ict), goldenD0Slot0},
		{time.Date(2021, 5, 1, 0, 15, 0, 0, ict), goldenD0Slot1},
		{time.Date(2021, 5, 1, 23, 50, 0, 0, ict), goldenD0Slot143},
		{time.Date(2021, 5, 1, 17, 0, 0, 0, time.UTC), goldenD1Slot0},
		{time.Date(2021, 5, 2, 11, 50, 0, 0, ict), goldenD1Slot71},
	}
	for _, tt := range tests {
		got, err := IDAt(base, baseDay, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got[:]) != tt.want {
			t.Errorf("IDAt(%s) = %x, want %s", tt.at, got, tt.want)
		}
	}
}

func BenchmarkDayIDs(b *testing.B) {
	d := testBase()
	for b.Loop() {
		ids := DayIDs(d)
		d[0] = ids[0][0]
	}
}
