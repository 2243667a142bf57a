// Package bench holds the benchmarks `anticovid bench ...` runs: check-in
// ingest over loopback, F0 → F1 tracing on SQLite and PostgreSQL, the
// dashboard, and the Bluezone/EN server with simulated phones. Each takes an
// options struct and writes its report to a writer, the last line one JSON
// object with its figures, which scripts read (scripts/bench-all). The command only parses flags;
// the services a benchmark drives come in as parameters.
package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// datasetNow is the end of every tracing and dashboard dataset: the generator
// is deterministic for a seed and a "now", so the same file can be rebuilt
// anywhere and the PostgreSQL copy holds the same rows. (Long An's peak day.)
var datasetNow = time.Date(2021, 8, 10, 18, 0, 0, 0, time.UTC)

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// cpuTime is the process's user and system CPU time: with other work on the
// machine, CPU per request is the figure that stays comparable.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startProfiles starts a CPU profile and an execution trace into the files
// named (none for ""); the function it returns stops them and closes the files.
func startProfiles(cpuFile, traceFile string) (func(), error) {
	var stops []func()
	stop := func() {
		for _, f := range stops {
			f()
		}
	}
	for _, p := range []struct {
		file        string
		start       func(io.Writer) error
		stopProfile func()
	}{{cpuFile, pprof.StartCPUProfile, pprof.StopCPUProfile}, {traceFile, trace.Start, trace.Stop}} {
		if p.file == "" {
			continue
		}
		f, err := os.Create(p.file)
		if err == nil {
			err = p.start(f)
		}
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, func() { p.stopProfile(); f.Close() })
	}
	return stop, nil
}

// resetPeakRSS clears the kernel's high-water mark of resident memory, so
// the peak measured next covers what follows only (a dataset build before it
// does not count).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS reads the process's peak resident set (VmHWM, Linux) in bytes, or 0.
func peakRSS() uint64 { return procStatus("VmHWM:") }

// rss reads the process's resident set now (VmRSS, Linux) in bytes, or 0.
func rss() uint64 { return procStatus("VmRSS:") }

// procStatus reads a figure in kB of /proc/self/status, in bytes, or 0.
func procStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// residentSplit says what the resident set holds now: anonymous memory
// (heaps: Go's, and the C-like one of the SQLite driver) and file pages
// mapped in, and how much of it is Go's heap.
func residentSplit() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("%d MB resident (anonymous %d MB, file %d MB; Go heap in use %d MB)",
		rss()>>20, procStatus("RssAnon:")>>20, procStatus("RssFile:")>>20, ms.HeapInuse>>20)
}
