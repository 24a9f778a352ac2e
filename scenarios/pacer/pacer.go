// Package pacer computes arrival schedules for load tests: when the n-th
// stream of an open-model run is due (Constant, Stages, Poisson), and
// how many streams a closed-model run keeps open at a given moment (Ramp).
//
// Every schedule is a pure function of elapsed time (and, for Poisson, of
// the seed and the hit count): it never reads a clock. The caller measures
// elapsed time from the run's start on the monotonic clock, and uses When to
// stamp each arrival with the time it was *scheduled*, so that latency can be
// measured from the schedule rather than from a late send (no coordinated
// omission).
//
// Hits are numbered from 0. Hit k of a deterministic schedule is due at the
// moment the expected cumulative number of arrivals reaches k (plus the
// schedule's Offset): a constant 10/s schedule is due at 0, 100ms, 200ms,
// ...; a ramp from 0 to 100/s over 10 s has exactly 500 hits due before 10 s.
// A run of length D makes exactly the hits k with When(k) < D:
//
//	for k := uint64(0); ; k++ {
//		sched, ok := p.When(k)
//		if !ok || sched >= duration {
//			break
//		}
//		time.Sleep(sched - time.Since(start)) // at once when behind
//		// start arrival k, stamped with sched; if no worker is free, drop
//		// it and count it rather than delay the schedule
//	}
//
// Times are rounded up to the nanosecond, so a hit is never early.
package pacer

import (
	"math"
	"time"
)

// Scheduler is an open-model arrival schedule that says exactly when each
// hit is due. All the schedules of this package implement it; the caller
// waits until When(hits) on its own clock, and starts the hit then (at once
// when it is behind).
type Scheduler interface {
	// When returns the time, from the start, at which hit number hits (from
	// 0) is due; ok is false when that hit is never due.
	When(hits uint64) (at time.Duration, ok bool)
	// Rate returns the arrival rate at elapsed, in hits per second.
	Rate(elapsed time.Duration) float64
}

// Curve is a deterministic rate function together with its integral and
// the integral's inverse. Constant and Stages are Curves; Poisson
// draws arrivals over any Curve.
type Curve interface {
	// Rate returns the rate at elapsed in hits per second.
	Rate(elapsed time.Duration) float64
	// Hits returns the expected number of arrivals in [0, elapsed): the
	// integral of Rate.
	Hits(elapsed time.Duration) float64
	// At returns the earliest elapsed time at which Hits reaches h; ok is
	// false when it never does.
	At(h float64) (at time.Duration, ok bool)
}

// seconds converts float seconds to a Duration, rounding up to the next
// nanosecond so that a hit is never due before its exact time, and
// saturating at the largest Duration.
func seconds(s float64) time.Duration {
	ns := math.Ceil(s*1e9 - 1e-6) // absorb float noise just above an integer
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	if ns < 0 {
		return 0
	}
	return time.Duration(ns)
}

// Constant is a constant rate of Freq hits per Per, evenly spaced: hit k is
// due at (k+Offset)·Per/Freq. A Freq or Per <= 0 makes no hits at all.
// Constant is a value type, safe for concurrent use.
type Constant struct {
	// Freq is the number of hits per Per.
	Freq float64
	// Per is the period Freq is counted over, e.g. time.Second.
	Per time.Duration
	// Offset, in [0, 1), delays every hit by that fraction of the interval
	// between hits. Shards of one schedule use offsets (i-1)/n so that
	// together they make exactly the unsharded schedule.
	Offset float64
}

func (c Constant) perSecond() float64 {
	if c.Freq <= 0 || c.Per <= 0 {
		return 0
	}
	return c.Freq / c.Per.Seconds()
}

// Rate returns the constant rate in hits per second.
func (c Constant) Rate(time.Duration) float64 { return c.perSecond() }

// Hits returns the expected number of arrivals in [0, elapsed), not
// counting the Offset.
func (c Constant) Hits(elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return c.perSecond() * elapsed.Seconds()
}

// At returns the time at which Hits reaches h.
func (c Constant) At(h float64) (time.Duration, bool) {
	r := c.perSecond()
	if h <= 0 {
		return 0, true
	}
	if r == 0 {
		return 0, false
	}
	return seconds(h / r), true
}

// When returns the time hit number hits is due.
func (c Constant) When(hits uint64) (time.Duration, bool) {
	if c.Freq <= 0 || c.Per <= 0 {
		return 0, false
	}
	// Exact rational arithmetic when it fits: (hits+Offset)·Per/Freq.
	return seconds((float64(hits) + c.Offset) * c.Per.Seconds() / c.Freq), true
}

// Stage is one linear segment of a Stages schedule or a Ramp.
type Stage struct {
	// Duration is the segment's length.
	Duration time.Duration
	// Target is the level at the end of the segment: hits per second for
	// Stages, connections for Ramp.
	Target float64
}

// Stages is a piecewise-linear rate: it starts at Start hits per second and
// moves linearly to each stage's Target over the stage's Duration; after
// the last stage the last Target holds for ever. A schedule ending at 0
// stops. Stages is safe for concurrent use as long as it is not modified.
type Stages struct {
	// Start is the rate at time 0, in hits per second.
	Start float64
	// Stages are the segments, in order.
	Stages []Stage
	// Offset is as for Constant, in hits.
	Offset float64
}

// walk calls visit for each segment in order, then for the hold after the
// last one, until visit returns false. A segment is given as its start
// time t0 and end time t1 in seconds (t1 = +Inf for the hold), its start
// rate a, its slope in hits/s² and the cumulative hits h0 at t0.
// Zero-length stages are steps and are not visited.
func (s Stages) walk(visit func(t0, a, slope, t1, h0 float64) bool) {
	t0, a, h0 := 0.0, math.Max(s.Start, 0), 0.0
	for _, st := range s.Stages {
		d := st.Duration.Seconds()
		b := math.Max(st.Target, 0)
		if d <= 0 {
			a = b // a zero-length stage is a step
			continue
		}
		slope := (b - a) / d
		if !visit(t0, a, slope, t0+d, h0) {
			return
		}
		h0 += (a + b) / 2 * d
		t0 += d
		a = b
	}
	visit(t0, a, 0, math.Inf(1), h0)
}

// Rate returns the rate at elapsed in hits per second.
func (s Stages) Rate(elapsed time.Duration) float64 {
	t := elapsed.Seconds()
	var r float64
	s.walk(func(t0, a, slope, t1, _ float64) bool {
		if t < t1 {
			r = a + slope*(math.Max(t, t0)-t0)
			return false
		}
		return true
	})
	return r
}

// Hits returns the expected number of arrivals in [0, elapsed): the
// integral of Rate.
func (s Stages) Hits(elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	t := elapsed.Seconds()
	var h float64
	s.walk(func(t0, a, slope, t1, h0 float64) bool {
		if t < t1 {
			dt := t - t0
			h = h0 + a*dt + slope*dt*dt/2
			return false
		}
		return true
	})
	return h
}

// At returns the earliest time at which Hits reaches h.
func (s Stages) At(h float64) (time.Duration, bool) {
	if h <= 0 {
		return 0, true
	}
	var at float64
	ok := false
	s.walk(func(t0, a, slope, t1, h0 float64) bool {
		h1 := math.Inf(1)
		if !math.IsInf(t1, 1) {
			d := t1 - t0
			h1 = h0 + a*d + slope*d*d/2
		}
		if h >= h1 {
			return true
		}
		c := h - h0
		if math.IsInf(t1, 1) && a == 0 {
			return false // the rate is 0 for ever: h is never exceeded
		}
		// Solve slope/2·s² + a·s = c for s >= 0, in the form that is stable
		// when slope is 0 or a is 0.
		if c <= 0 {
			at, ok = t0, true
			return false
		}
		disc := math.Max(a*a+2*slope*c, 0)
		den := a + math.Sqrt(disc)
		if den <= 0 {
			return false // rate 0 for ever: never
		}
		s := 2 * c / den
		if !math.IsInf(t1, 1) {
			s = math.Min(s, t1-t0)
		}
		at, ok = t0+s, true
		return false
	})
	if !ok {
		return 0, false
	}
	return seconds(at), true
}

// When returns the time hit number hits is due.
func (s Stages) When(hits uint64) (time.Duration, bool) {
	return s.At(float64(hits) + s.Offset)
}
