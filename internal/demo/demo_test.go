package demo

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestDayShares: check-ins follow the week (weekends busier than the
// weekday average, no two days alike) and add up to the scale's total.
func TestDayShares(t *testing.T) {
	sc := Scales["small"]
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	day0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	shares := g.dayShares(sc, day0)
	total, weekend, weekdays := 0, 0, 0
	seen := map[int]bool{}
	for d, n := range shares {
		total += n
		seen[n] = true
		switch day0.AddDate(0, 0, d).Weekday() {
		case time.Saturday, time.Sunday:
			weekend += n
		default:
			weekdays += n
		}
	}
	if total != sc.CheckinsADay*sc.Days {
		t.Fatalf("total %d, want %d", total, sc.CheckinsADay*sc.Days)
	}
	if weekend/6 <= weekdays/15 || len(seen) < sc.Days-1 {
		t.Fatalf("shares %v: weekend a day %d, weekday %d", shares, weekend/6, weekdays/15)
	}
}
