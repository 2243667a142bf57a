package checkin

import (
	"context"
	"fmt"
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
			var n atomic.Int64
			b.SetParallelism(32)
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					p := &people.Person{Name: "Người thử", Phone: fmt.Sprintf("09%08d", i%int64(pool)), BirthYear: 1980, Commune: "27991"}
					if _, err := f.s.Ingest(context.Background(), Request{ID: fmt.Sprintf("ffffffff-%012d", i), Token: f.tok, Direction: In, Person: p}); err != nil {
						b.Fatal(err)
					}
				}
			})
			// CPU per check-in is what two cores divide: it holds up when other
			// processes share the machine, where wall time does not.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
