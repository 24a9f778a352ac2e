package pacer

import (
	"math"
	"time"
)

// Ramp is a closed-model schedule: the number of streams to keep open at
// each moment. The level starts at Start and moves linearly to each stage's
// Target over the stage's Duration; after the last stage the last Target
// holds. While a level rises, Concurrency is the last whole number the line
// has reached (floor); while it falls, likewise from above (ceil): a ramp
// from 0 to 100 over 10 s adds one stream every 100 ms, reaching 100 at 10 s.
// Ramp is safe for concurrent use as long as it is not modified.
type Ramp struct {
	// Start is the number of streams at time 0.
	Start int
	// Stages are the segments; Targets are numbers of streams.
	Stages []Stage
}

func (r Ramp) curve() Stages { return Stages{Start: float64(r.Start), Stages: r.Stages} }

func level(a, slope, dt float64) int {
	v := a + slope*dt
	eps := 1e-12 * math.Max(1, math.Abs(v)) // float noise, far below one nanosecond's change
	if slope < 0 {
		return int(math.Ceil(v - eps))
	}
	return int(math.Floor(v + eps))
}

// Concurrency returns the number of streams to keep open at elapsed.
func (r Ramp) Concurrency(elapsed time.Duration) int {
	t := math.Max(elapsed.Seconds(), 0)
	n := 0
	r.curve().walk(func(t0, a, slope, t1, _ float64) bool {
		if t < t1 {
			n = level(a, slope, t-t0)
			return false
		}
		return true
	})
	return max(n, 0)
}

// Next returns the first time after elapsed at which Concurrency changes;
// ok is false when it never changes again. A controller can sleep until
// then instead of polling.
func (r Ramp) Next(elapsed time.Duration) (at time.Duration, ok bool) {
	cur := r.Concurrency(elapsed)
	t := math.Max(elapsed.Seconds(), 0)
	r.curve().walk(func(t0, a, slope, t1, _ float64) bool {
		if t1 <= t {
			return true
		}
		if t0 > t && level(a, slope, 0) != cur {
			at, ok = seconds(t0), true
			return false
		}
		var goal float64
		switch {
		case slope > 0:
			goal = float64(cur + 1)
		case slope < 0:
			goal = float64(cur - 1)
		default:
			return true
		}
		tc := t0 + (goal-a)/slope
		if tc < t1 {
			d := seconds(tc)
			if d <= elapsed {
				d = elapsed + 1
			}
			at, ok = d, true
			return false
		}
		return true
	})
	return at, ok
}

// Duration returns the total length of the stages.
func (r Ramp) Duration() time.Duration {
	var d time.Duration
	for _, s := range r.Stages {
		d += s.Duration
	}
	return d
}
