// Package health measures the load generator's own lateness while a run
// goes on, and decides whether the generator, not the target, limited the
// numbers (a "degraded" run). It uses the standard library only.
//
// # What is measured
//
// A Monitor samples, over the whole run and over each one-second window
// (for the live view):
//
//   - process CPU: user + system time of the whole process (getrusage on
//     Unix) divided by wall time, against GOMAXPROCS, the CPUs the Go
//     scheduler may use at once;
//   - Go scheduler latency: the p99 of the time goroutines spent runnable
//     before they ran, from runtime/metrics' /sched/latencies:seconds
//     (https://pkg.go.dev/runtime/metrics), which the runtime samples for
//     a fraction of goroutine switches;
//   - timer lateness: a goroutine asks to be woken every TimerPeriod and
//     records how late each wake-up came, into a log-linear histogram of
//     1,024 buckets (about 6 % resolution, a fixed 8 KiB).
//
// The caller adds the open model's schedule lag (the queue metric's p99:
// how late streams started against the arrival schedule).
//
// # When a run is degraded
//
// Judge applies these rules, with the bounds of DefaultLimits; each rule
// that holds adds a reason that says what was seen, what it does to the
// numbers, and what to do:
//
//   - busy: the process used at least Limits.CPU of GOMAXPROCS and the
//     scheduler latency p99 reached Limits.BusySched: goroutines waited for
//     a CPU, so every client-side timestamp was taken late;
//   - starved: the scheduler latency p99 reached Limits.Sched whatever the
//     CPU use (the process got too little CPU time, or the runtime paused);
//   - late timers: the timer lateness p99 reached Limits.Timer;
//   - schedule lag: the open model's schedule lag p99 exceeded Limits.Lag.
//
// The bounds were calibrated on a 2-core machine: a light run (50 streams)
// stays far below them even while other processes keep every core busy,
// and the 1,000-stream default demo, whose ttft is inflated by client-side
// delay, crosses them. Judge is a pure function of its Input, so the rules
// are tested with fake inputs, never with timing.
package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Measures is what the generator measured of itself over a window.
type Measures struct {
	// Wall is the length of the window.
	Wall time.Duration
	// CPU is the process's CPU time (user + system, every thread) in the
	// window; CPUKnown is false where the platform does not tell.
	CPU      time.Duration
	CPUKnown bool
	// GOMAXPROCS is the number of CPUs the Go scheduler may use at once.
	GOMAXPROCS int
	// SchedP99 is the p99 of the Go scheduler latency (runnable to
	// running) in the window; SchedSamples is how many switches the
	// runtime sampled (0: unknown).
	SchedP99     time.Duration
	SchedSamples int64
	// TimerP99 and TimerMax are the p99 and the largest lateness of the
	// monitor's periodic wake-ups in the window; TimerSamples counts them.
	TimerP99, TimerMax time.Duration
	TimerSamples       int64
}

// CPUsUsed returns the average number of CPUs the process kept busy in the
// window (0 when unknown).
func (m Measures) CPUsUsed() float64 {
	if !m.CPUKnown || m.Wall <= 0 {
		return 0
	}
	return m.CPU.Seconds() / m.Wall.Seconds()
}

// Limits are the bounds Judge applies.
type Limits struct {
	// CPU is the share of GOMAXPROCS (0..1) at or above which the process
	// counts as CPU-bound.
	CPU float64
	// BusySched is the scheduler latency p99 that, with a CPU-bound
	// process, marks the run degraded.
	BusySched time.Duration
	// Sched is the scheduler latency p99 that marks the run degraded
	// whatever the CPU use.
	Sched time.Duration
	// Timer is the timer lateness p99 that marks the run degraded.
	Timer time.Duration
	// Lag is the open model's schedule lag p99 above which the run is
	// degraded.
	Lag time.Duration
	// MinSamples is the fewest timer and scheduler samples a rule needs:
	// a window too short to judge is never degraded by them.
	MinSamples int64
}

// DefaultLimits are the calibrated bounds (see the package doc).
var DefaultLimits = Limits{
	CPU:        0.90,
	BusySched:  5 * time.Millisecond,
	Sched:      20 * time.Millisecond,
	Timer:      25 * time.Millisecond,
	Lag:        10 * time.Millisecond,
	MinSamples: 20,
}

// Input is what Judge decides on.
type Input struct {
	// Measures are the generator's own; zero when it did not measure itself
	// (then only the schedule lag is judged).
	Measures
	// Lag is the open model's schedule lag p99; HasLag is false in the
	// closed model.
	Lag    time.Duration
	HasLag bool
	// EmbeddedMock is set when the target ran in the same process, so that
	// the reasons say its CPU use is counted too.
	EmbeddedMock bool
}

// Verdict is Judge's decision.
type Verdict struct {
	// Degraded is set when any rule held.
	Degraded bool
	// Reasons are one sentence per rule that held, in the order of the
	// package doc.
	Reasons []string
}

// Judge decides whether the generator limited the numbers, and why.
func Judge(in Input, lim Limits) Verdict {
	var v Verdict
	who := "the generator"
	if in.EmbeddedMock {
		who = "the generator and the embedded mock (one process)"
	}
	advice := "run fewer streams per process, or shard the run (--shard I/N)"
	if in.EmbeddedMock {
		advice = "start the mock apart (ssebench mock) and pass --target, run fewer streams per process, or shard the run (--shard I/N)"
	}
	m := in.Measures
	schedOK := m.SchedSamples >= lim.MinSamples
	used, procs := m.CPUsUsed(), m.GOMAXPROCS
	busy := m.CPUKnown && procs > 0 && used >= lim.CPU*float64(procs)
	switch {
	case busy && schedOK && m.SchedP99 >= lim.BusySched:
		v.add(fmt.Sprintf("%s used %s of %d CPUs and its scheduler latency p99 was %s: goroutines waited for a CPU, so ttft and every other latency include client-side delay; %s",
			who, cpus(used), procs, ms(m.SchedP99), advice))
	case schedOK && m.SchedP99 >= lim.Sched:
		v.add(fmt.Sprintf("the Go scheduler latency p99 of %s was %s (CPU use %s of %d): the process got too little CPU time, so latencies include client-side delay; %s",
			who, ms(m.SchedP99), cpus(used), procs, advice))
	}
	if m.TimerSamples >= lim.MinSamples && m.TimerP99 >= lim.Timer {
		v.add(fmt.Sprintf("%s woke up late: a timer's lateness p99 was %s (max %s), so events were timestamped late; %s",
			who, ms(m.TimerP99), ms(m.TimerMax), advice))
	}
	if in.HasLag && in.Lag > lim.Lag {
		v.add(fmt.Sprintf("schedule lag (queue) p99 is %s, over %s: the client could not start streams on time, so its latencies include client-side delay; ttft_sched and e2e_sched show latency from the schedule; lower the load per process or shard the run",
			ms(in.Lag), ms(lim.Lag)))
	}
	return v
}

func (v *Verdict) add(reason string) {
	v.Degraded = true
	v.Reasons = append(v.Reasons, reason)
}

// Short returns a compact form of m for a live status line, e.g.
// "cpu 1.97/2 sched p99 38.0ms timer p99 1.2ms".
func (m Measures) Short() string {
	var b strings.Builder
	if m.CPUKnown && m.Wall > 0 {
		fmt.Fprintf(&b, "cpu %s/%d", cpus(m.CPUsUsed()), m.GOMAXPROCS)
	}
	if m.SchedSamples > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("sched p99 " + ms(m.SchedP99))
	}
	if m.TimerSamples > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("timer p99 " + ms(m.TimerP99))
	}
	return b.String()
}

// cpus formats a CPU count with two decimals.
func cpus(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// ms formats a duration in milliseconds: "38 ms", "1.2 ms", "0.05 ms".
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 3, 64) + " ms"
	}
}
