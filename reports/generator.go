package reports

import (
	"time"

	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/health"
)

// Generator is the load generator's health over the run: what it measured
// of itself (scenarios/health), the open model's schedule lag, the bounds
// they were judged against, and the verdict. In a merged File every
// measure is the worst shard's (the shards ran as separate processes) and
// every reason names its shard.
type Generator struct {
	Measured       bool            `json:"measured"`                        // the process measured itself (false: only the schedule lag was judged)
	GOMAXPROCS     int             `json:"gomaxprocs,omitempty"`            // CPUs the Go scheduler could use at once
	CPUsUsed       float64         `json:"cpus_used"`                       // average CPUs the process kept busy (user + system time / wall time; an embedded mock included)
	SchedP99       float64         `json:"sched_latency_p99_ms"`            // Go scheduler latency p99 (runnable to running), ms
	TimerP99       float64         `json:"timer_lateness_p99_ms"`           // lateness p99 of a 10 ms periodic wake-up, ms
	TimerMax       float64         `json:"timer_lateness_max_ms"`           // largest lateness of that wake-up, ms
	ScheduleLagP99 float64         `json:"schedule_lag_p99_ms,omitempty"`   // open model: queue p99, ms
	Limits         GeneratorLimits `json:"limits"`                          // the bounds applied
	Degraded       bool            `json:"degraded"`                        // a bound was crossed (same as the File's degraded)
	Reasons        []string        `json:"reasons"`                         // one sentence per bound crossed: what was seen, what it means, what to do
	EmbeddedMock   bool            `json:"embedded_mock,omitempty"`         // the measures include the in-process mock server
	WallS          float64         `json:"wall_s,omitempty"`                // how long the process measured itself, seconds
	Samples        int64           `json:"timer_samples,omitempty"`         // number of timer wake-ups measured
	SchedSamples   int64           `json:"sched_latency_samples,omitempty"` // scheduler switches the runtime sampled
}

// GeneratorLimits are the bounds of health.Limits, in the File's units.
type GeneratorLimits struct {
	CPUFraction float64 `json:"cpu_fraction"`          // share of GOMAXPROCS that counts as CPU-bound
	BusySched   float64 `json:"busy_sched_p99_ms"`     // scheduler latency p99 that degrades a CPU-bound run, ms
	Sched       float64 `json:"sched_p99_ms"`          // scheduler latency p99 that degrades any run, ms
	Timer       float64 `json:"timer_lateness_p99_ms"` // timer lateness p99 that degrades a run, ms
	Lag         float64 `json:"schedule_lag_p99_ms"`   // open model: schedule lag p99 above which a run is degraded, ms
}

func limitsOf(l health.Limits) GeneratorLimits {
	return GeneratorLimits{
		CPUFraction: l.CPU, BusySched: ms(l.BusySched), Sched: ms(l.Sched),
		Timer: ms(l.Timer), Lag: ms(l.Lag),
	}
}

// judgeGenerator fills f.Generator and f.Degraded from the process's own
// measures (nil when it did not measure itself) and f's schedule lag.
func judgeGenerator(f *File, m *health.Measures, embedded bool) {
	in := health.Input{EmbeddedMock: embedded}
	g := &Generator{EmbeddedMock: embedded, Limits: limitsOf(health.DefaultLimits), Reasons: []string{}}
	if m != nil {
		in.Measures = *m
		g.Measured = true
		g.GOMAXPROCS = m.GOMAXPROCS
		g.CPUsUsed = roundTo(m.CPUsUsed(), 100)
		g.SchedP99 = ms(m.SchedP99)
		g.TimerP99 = ms(m.TimerP99)
		g.TimerMax = ms(m.TimerMax)
		g.WallS = m.Wall.Seconds()
		g.Samples = m.TimerSamples
		g.SchedSamples = m.SchedSamples
	}
	if q, ok := f.Metrics[scenarios.Queue.String()]; ok && q.Count > 0 {
		in.HasLag = true
		in.Lag = time.Duration(q.P99 * float64(time.Millisecond))
		g.ScheduleLagP99 = q.P99
	}
	v := health.Judge(in, health.DefaultLimits)
	g.Degraded = v.Degraded
	g.Reasons = append(g.Reasons, v.Reasons...)
	f.Generator = g
	f.Degraded = g.Degraded
}

// mergeGenerators combines the shards' generator health: each measure is
// the worst shard's, and each reason is prefixed with its shard.
func mergeGenerators(files []*File) *Generator {
	out := &Generator{Limits: limitsOf(health.DefaultLimits), Reasons: []string{}}
	for i, f := range files {
		g := f.Generator
		if g == nil {
			continue
		}
		if i == 0 || out.Limits == (GeneratorLimits{}) {
			out.Limits = g.Limits
		}
		out.Measured = out.Measured || g.Measured
		out.GOMAXPROCS = max(out.GOMAXPROCS, g.GOMAXPROCS)
		out.CPUsUsed = max(out.CPUsUsed, g.CPUsUsed)
		out.SchedP99 = max(out.SchedP99, g.SchedP99)
		out.TimerP99 = max(out.TimerP99, g.TimerP99)
		out.TimerMax = max(out.TimerMax, g.TimerMax)
		out.ScheduleLagP99 = max(out.ScheduleLagP99, g.ScheduleLagP99)
		out.Degraded = out.Degraded || g.Degraded || f.Degraded
		out.EmbeddedMock = out.EmbeddedMock || g.EmbeddedMock
		out.WallS = max(out.WallS, g.WallS)
		out.Samples += g.Samples
		out.SchedSamples += g.SchedSamples
		for _, r := range g.Reasons {
			if len(files) > 1 {
				r = "shard " + f.Shard + ": " + r
			}
			out.Reasons = append(out.Reasons, r)
		}
	}
	for _, f := range files {
		out.Degraded = out.Degraded || f.Degraded
	}
	return out
}

// roundTo rounds v to 1/per.
func roundTo(v float64, per float64) float64 {
	return float64(int64(v*per+0.5)) / per
}
