package health

import (
	"math"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// measures builds Measures for a 10 s window with enough samples.
func measures(cpu float64, procs int, sched, timer time.Duration) Measures {
	return Measures{
		Wall: 10 * time.Second, CPU: time.Duration(cpu * float64(10*time.Second)), CPUKnown: true,
		GOMAXPROCS: procs, SchedP99: sched, SchedSamples: 5000, TimerP99: timer, TimerMax: 2 * timer, TimerSamples: 1000,
	}
}

// TestJudge: the rules, with fake inputs (no timing).
func TestJudge(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   Input
		want []string // one substring per reason, in order; nil: not degraded
	}{
		{"light run", Input{Measures: measures(0.2, 2, 100*time.Microsecond, 300*time.Microsecond)}, nil},
		{"light run, other processes busy", Input{Measures: measures(0.3, 2, 2*ms, 4*ms)}, nil},
		{"busy and queueing", Input{Measures: measures(1.97, 2, 38*ms, 3*ms)},
			[]string{"the generator used 1.97 of 2 CPUs and its scheduler latency p99 was 38.0 ms: goroutines waited for a CPU, so ttft and every other latency include client-side delay; run fewer streams per process, or shard the run (--shard I/N)"}},
		{"busy but prompt", Input{Measures: measures(1.95, 2, 1*ms, 2*ms)}, nil},
		{"starved without CPU", Input{Measures: measures(0.5, 2, 25*ms, 2*ms)}, []string{"the Go scheduler latency p99 of the generator was 25.0 ms (CPU use 0.50 of 2)"}},
		{"late timers", Input{Measures: measures(0.5, 2, 1*ms, 30*ms)}, []string{"the generator woke up late: a timer's lateness p99 was 30.0 ms (max 60.0 ms)"}},
		{"light run under full external load", Input{Measures: measures(0.1, 2, 2*ms, 9*ms)}, nil},
		{"schedule lag", Input{Measures: measures(0.5, 2, 1*ms, 1*ms), HasLag: true, Lag: 14 * ms}, []string{"schedule lag (queue) p99 is 14.0 ms, over 10.0 ms"}},
		{"lag in the closed model is not judged", Input{Measures: measures(0.5, 2, 1*ms, 1*ms), Lag: 14 * ms}, nil},
		{"everything", Input{Measures: measures(2, 2, 40*ms, 30*ms), HasLag: true, Lag: 30 * ms, EmbeddedMock: true},
			[]string{"the generator and the embedded mock (one process) used 2.00 of 2 CPUs", "woke up late", "schedule lag"}},
		{"too few samples", Input{Measures: Measures{Wall: 10 * ms, CPU: 20 * ms, CPUKnown: true, GOMAXPROCS: 2,
			SchedP99: 50 * ms, SchedSamples: 3, TimerP99: 50 * ms, TimerSamples: 1}}, nil},
		{"not measured", Input{}, nil},
	}
	for _, tt := range tests {
		v := Judge(tt.in, DefaultLimits)
		if v.Degraded != (tt.want != nil) || len(v.Reasons) != len(tt.want) {
			t.Errorf("%s: degraded %v, reasons %q; want %d reasons", tt.name, v.Degraded, v.Reasons, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(v.Reasons[i], w) {
				t.Errorf("%s: reason %d = %q, want it to contain %q", tt.name, i, v.Reasons[i], w)
			}
		}
	}
	if strings.Contains(Judge(Input{Measures: measures(2, 2, 40*ms, 1*ms), EmbeddedMock: true}, DefaultLimits).Reasons[0], "start the mock apart") == false {
		t.Error("an embedded mock's reason does not say to start the mock apart")
	}
}

// TestLateHist: buckets bound their values within 1/16, quantiles are
// bucket upper bounds never above the largest value.
func TestLateHist(t *testing.T) {
	for _, v := range []uint64{0, 1, 15, 16, 17, 31, 32, 33, 1000, 123456789, 1 << 40, math.MaxInt64} {
		i := index(v)
		if up := upper(i); up < v || float64(up-v) > float64(v)/16+1 {
			t.Errorf("value %d: bucket %d upper %d", v, i, up)
		}
		if i > 0 && upper(i-1) >= v {
			t.Errorf("value %d: bucket %d, but bucket %d already reaches %d", v, i, i-1, upper(i-1))
		}
	}
	var h lateHist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	h.record(-time.Second) // counts as 0
	if p := h.quantile(0.99); p < 990*time.Microsecond || p > 1000*time.Microsecond*17/16 {
		t.Errorf("p99 %v, want about 990µs", p)
	}
	if h.quantile(1) != time.Millisecond || h.max != time.Millisecond || h.n != 1001 {
		t.Errorf("max %v n %d q(1) %v", h.max, h.n, h.quantile(1))
	}
	h.reset()
	if h.quantile(0.99) != 0 || h.n != 0 {
		t.Error("reset did not empty the histogram")
	}
}

// TestSchedQuantile: the runtime histogram's delta and quantile.
func TestSchedQuantile(t *testing.T) {
	prev := schedSnapshot{counts: []uint64{5, 0, 0, 0}, buckets: []float64{0, 1e-6, 1e-3, 1e-2, math.Inf(1)}}
	cur := schedSnapshot{counts: []uint64{5, 90, 9, 1}, buckets: prev.buckets}
	d := cur.since(prev)
	if q, n := d.quantile(0.5); q != time.Millisecond || n != 100 {
		t.Errorf("p50 %v of %d, want 1ms of 100", q, n)
	}
	if q, _ := d.quantile(0.99); q != 10*time.Millisecond {
		t.Errorf("p99 %v, want 10ms", q)
	}
	if q, _ := d.quantile(1); q != 10*time.Millisecond { // the unbounded bucket: its lower bound
		t.Errorf("p100 %v, want 10ms", q)
	}
	if q, n := (schedSnapshot{}).quantile(0.99); q != 0 || n != 0 {
		t.Errorf("empty: %v %d", q, n)
	}
}

// TestMonitorReadsTheRuntime: the scheduler metric exists in this Go, and
// a Monitor started and stopped at once reports sane, non-negative
// measures (no timing is asserted).
func TestMonitorReadsTheRuntime(t *testing.T) {
	found := false
	for _, d := range metrics.All() {
		found = found || d.Name == schedMetric
	}
	if !found {
		t.Fatalf("runtime/metrics has no %s", schedMetric)
	}
	m := Start()
	got := m.Stop()
	if again := m.Stop(); again != got {
		t.Errorf("Stop twice: %+v then %+v", got, again)
	}
	if got.GOMAXPROCS < 1 || got.Wall < 0 || got.CPU < 0 || got.TimerSamples < 0 || got.SchedSamples < 0 {
		t.Errorf("measures %+v", got)
	}
	if _, ok := processCPU(); ok != got.CPUKnown {
		t.Errorf("CPUKnown %v, processCPU ok %v", got.CPUKnown, ok)
	}
	if live := m.Live(); live.GOMAXPROCS < 1 {
		t.Errorf("Live %+v", live)
	}
}
