package tracing

import "time"

// Timer is told how long each trace took: kind is "f1" (a case's contacts)
// or "f2" (a bounded expansion job). Monitoring turns it into a histogram.
type Timer func(kind string, d time.Duration)

// OnTrace sets the engine's Timer; safe while traces run.
func (e *Engine) OnTrace(t Timer) { e.timer.Store(&t) }

func (e *Engine) timed(kind string, start time.Time) {
	if t := e.timer.Load(); t != nil {
		(*t)(kind, time.Since(start))
	}
}
