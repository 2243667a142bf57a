package checkin

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"anticovid/internal/people"
	"anticovid/internal/store/storetest"
)

// BenchmarkIngest measures the service without HTTP: validation, sealing and
// the group-commit writer, with new people (worst case) or returning ones.
func BenchmarkIngest(b *testing.B) {
	for _, pool := range []int{1 << 30, 5000} {
		b.Run(fmt.Sprintf("people=%d", min(pool, 1<<20)), func(b *testing.B) {
			f := newFixture(b, storetest.SQLite(b))
			parallel(b, func(i int64) error {
				p := &people.Person{Name: "Người thử", Phone: fmt.Sprintf("09%08d", i%int64(pool)), BirthYear: 1980, Commune: "27991"}
				_, err := f.s.Ingest(context.Background(), Request{ID: fmt.Sprintf("ffffffff-%012d", i), Token: f.tok, Direction: In, Person: p})
				return err
			})
		})
	}
}

// BenchmarkWriterIndexes measures what each index of visits costs the
// writer per check-in: scans of registered people (person ids spread over
// 200,000) at 1,000 venues, written through the group commit with all
// indexes, then with the random-order ones dropped. Run it with a fixed
// count (-benchtime 200000x) so every variant fills a table of one size.
func BenchmarkWriterIndexes(b *testing.B) {
	for _, drop := range [][]string{nil, {"visits_person"}, {"visits_venue_cover"}, {"visits_person", "visits_venue_cover"}} {
		name := "all"
		if drop != nil {
			name = "without_" + strings.Join(drop, "+")
		}
		b.Run(name, func(b *testing.B) {
			db := storetest.SQLite(b)
			for _, ix := range drop {
				if _, err := db.W.Exec("DROP INDEX " + ix); err != nil {
					b.Fatal(err)
				}
			}
			f := newFixture(b, db)
			start := time.Now().Unix() - 3600
			parallel(b, func(i int64) error {
				_, err := f.s.writer.submit(context.Background(), item{id: fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i*2654435761), i),
					venueID: 1 + i*7919%1000, dir: In, at: start + i/15000, personID: 1 + i*104729%200_000})
				return err
			})
		})
	}
}

// parallel runs scan(1), scan(2), … from 32 goroutines a core and reports
// the process's CPU per scan: what two cores divide, and a figure that moves
// less than wall time when other processes share the machine.
func parallel(b *testing.B, scan func(i int64) error) {
	var n atomic.Int64
	b.SetParallelism(32)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := scan(n.Add(1)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
