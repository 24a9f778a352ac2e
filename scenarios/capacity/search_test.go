package capacity

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// server is a fake target: a pure function of the load. Up to slots
// concurrent streams (closed) or capRate arrivals per second (open) the
// ttft is base; beyond, it grows with the excess.
type server struct {
	slots   float64
	capRate float64
	base    time.Duration
	// perSec is the samples per second per unit of load.
	perSec float64
	// failAll makes every stream fail (with fine latencies).
	failAll bool
	// degradedFrom marks steps at or above this load degraded (0: never).
	degradedFrom float64
	// limitFrom makes the runner refuse steps at or above this load.
	limitFrom float64
	// flaky fails the first step at this load that is a recheck.
	flaky float64
	// cpus is the CPUs a degraded generator used (1.9 of 2: CPU-bound).
	cpus float64
	// grows makes open-model steps above capRate report a growing
	// backlog while their ttft stays fine.
	grows bool

	calls []Step
}

func histOf(t *testing.T, n int64, d time.Duration) *reports.MetricStats {
	t.Helper()
	h := reports.NewHistogram()
	for range n {
		h.Record(d)
	}
	enc, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return &reports.MetricStats{Unit: "ms", Count: n, P50: float64(d) / 1e6, P99: float64(d) / 1e6, HDR: enc}
}

func (s *server) runner(t *testing.T) StepRunner {
	return func(ctx context.Context, st Step) (*reports.File, error) {
		s.calls = append(s.calls, st)
		sc := st.Scenario
		load := float64(sc.Load.Connections)
		open := sc.Load.Model == scenarios.Open
		if open {
			load = sc.Load.Rate
		}
		if s.limitFrom > 0 && load >= s.limitFrom {
			return nil, &LimitError{Reason: "plan needs 20,000 connections but this process may open 1,024 files"}
		}
		measured := sc.Duration - st.WarmUp
		n := int64(load * s.perSec * measured.Seconds())
		excess := load - s.slots
		if open {
			excess = (load - s.capRate) / s.capRate * s.slots
		}
		ttft := s.base
		if excess > 0 && !(open && s.grows) {
			ttft += time.Duration(excess * float64(50*time.Millisecond))
		}
		if s.flaky > 0 && load == s.flaky && len(s.calls) > 1 && strings.Contains(s.lastPhaseHint(), "recheck") {
			ttft = 10 * time.Second
		}
		f := &reports.File{DurationS: measured.Seconds(), IntervalS: 1, Metrics: map[string]*reports.MetricStats{}}
		name := "ttft"
		if open {
			name = "ttft_sched"
		}
		f.Metrics[name] = histOf(t, n, ttft)
		f.Counters.StreamsStarted = n
		f.Counters.StreamsOK = n
		if s.failAll {
			f.Counters.StreamsOK, f.Counters.StreamsFailed = 0, n
			f.Counters.Errors = map[string]int64{"http_status:503": n}
		}
		f.Goodput = &reports.Goodput{Good: f.Counters.StreamsOK, Judged: n}
		for i := range int(measured.Seconds()) {
			active := int64(load)
			if open && s.grows && load > s.capRate {
				active = int64(load) + int64(i)*10
			}
			f.Intervals = append(f.Intervals, reports.Interval{DurationS: 1, Active: active, TTFTP50: float64(s.base) / 1e6})
		}
		if s.degradedFrom > 0 && load >= s.degradedFrom {
			f.Degraded = true
			f.Generator = &reports.Generator{Degraded: true, Measured: true, GOMAXPROCS: 2, CPUsUsed: s.cpus, Limits: reports.GeneratorLimits{CPUFraction: 0.9},
				TimerMax: 60, SchedP99: 40, Reasons: []string{"the generator used 2.0 of 2 CPUs and its scheduler latency p99 was 40 ms"}}
		}
		return f, nil
	}
}

// lastPhaseHint is set by the test through the phase of the step it
// expects; the fake uses the number of calls at the flaky load instead.
func (s *server) lastPhaseHint() string {
	n := 0
	for _, c := range s.calls {
		if c.Scenario.Load.Connections == int(s.flaky) {
			n++
		}
	}
	if n >= 2 {
		return "recheck"
	}
	return ""
}

func base() *scenarios.Scenario {
	sc := scenarios.Default()
	sc.Thresholds = []scenarios.Threshold{mustSLO("errors.rate < 1%")} // dropped per step
	return sc
}

func mustSLO(expr string) scenarios.Threshold {
	t, err := scenarios.ParseThreshold(expr)
	if err != nil {
		panic(err)
	}
	return t
}

func cfg(by By, slos ...string) Config {
	c := Config{By: by, StepDuration: 10 * time.Second, WarmUp: 2 * time.Second, MaxStepDuration: 60 * time.Second}
	for _, e := range slos {
		c.SLOs = append(c.SLOs, mustSLO(e))
	}
	return c
}

func TestSearchConnectionsFindsSlots(t *testing.T) {
	srv := &server{slots: 64, base: 200 * time.Millisecond, perSec: 50}
	c, err := Search(context.Background(), cfg(Connections, "ttft.p99 < 300ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != Found || c.MaxPassing == nil || c.FirstFailing == nil {
		t.Fatalf("verdict %s, max_passing %v, first_failing %v", c.Verdict, c.MaxPassing, c.FirstFailing)
	}
	// 300ms allows one stream of excess (50 ms each) ... within 5 %.
	if v := c.MaxPassing.Value; v < 64 || v > 67 {
		t.Errorf("max_passing %v, want 64..67 (the fake's knee: 65 at 250 ms, 66 at 300 ms)", v)
	}
	if c.FirstFailing.Value-c.MaxPassing.Value > 0.05*c.MaxPassing.Value+1 {
		t.Errorf("bisection left a gap: %v .. %v", c.MaxPassing.Value, c.FirstFailing.Value)
	}
	last := c.Steps[len(c.Steps)-1]
	if last.Phase != "recheck" || last.Load.Value != c.MaxPassing.Value || !last.Pass {
		t.Errorf("last step %+v, want a passing recheck at the answer", last.Phase)
	}
	if !strings.HasPrefix(c.Answer, "sustains ") || !strings.Contains(c.Answer, "concurrent streams within ttft.p99 < 300ms; fails at") {
		t.Errorf("answer %q", c.Answer)
	}
	for _, st := range srv.calls {
		if st.Scenario.Load.Model != scenarios.Closed || len(st.Scenario.Thresholds) != 0 || st.Scenario.Grace != 0 {
			t.Fatalf("step plan %+v: want closed, no thresholds, no grace", st.Scenario.Load)
		}
		if st.Scenario.Duration < 12*time.Second || st.WarmUp != 2*time.Second {
			t.Fatalf("step duration %v warm-up %v", st.Scenario.Duration, st.WarmUp)
		}
	}
}

func TestSearchRateJudgesFromSchedule(t *testing.T) {
	srv := &server{slots: 64, capRate: 43.8, base: 200 * time.Millisecond, perSec: 100}
	c, err := Search(context.Background(), cfg(Rate, "ttft.p99 < 500ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.SLOs[0].Judged != "ttft_sched.p99 < 500ms" {
		t.Errorf("judged as %q", c.SLOs[0].Judged)
	}
	if c.Verdict != Found || c.MaxPassing.Value < 43.8 || c.MaxPassing.Value > 43.8*1.12 {
		t.Fatalf("verdict %s max_passing %v", c.Verdict, c.MaxPassing)
	}
	b, _ := json.Marshal(c.MaxPassing)
	if !strings.HasSuffix(string(b), `/s"`) {
		t.Errorf("max_passing JSON %s, want a rate string", b)
	}
}

func TestSearchRateBacklogGrowthFails(t *testing.T) {
	srv := &server{slots: 64, capRate: 40, base: 200 * time.Millisecond, perSec: 100, grows: true}
	c, err := Search(context.Background(), cfg(Rate, "ttft.p99 < 500ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != Found || c.MaxPassing.Value > 40 || c.MaxPassing.Value < 38 {
		t.Fatalf("verdict %s max_passing %v: the growing backlog above 40/s must fail the steps", c.Verdict, c.MaxPassing)
	}
	st := lastStepAt(c, c.FirstFailing.Value)
	if st.Backlog == nil || !st.Backlog.Grows || !strings.Contains(st.Why, "not sustainable: streams in flight grew") {
		t.Errorf("failing step: backlog %+v why %q", st.Backlog, st.Why)
	}
}

func TestSearchMinFails(t *testing.T) {
	srv := &server{slots: 0, base: time.Second, perSec: 200}
	cf := cfg(Connections, "ttft.p99 < 300ms")
	cf.Min = 4
	c, err := Search(context.Background(), cf, base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != MinFails || c.MaxPassing != nil || c.FirstFailing == nil || c.FirstFailing.Value != 4 {
		t.Fatalf("verdict %s max %v first failing %v", c.Verdict, c.MaxPassing, c.FirstFailing)
	}
	if !strings.Contains(c.Answer, "fails even at 4 concurrent streams (--min): ttft.p99 ") {
		t.Errorf("answer %q", c.Answer)
	}
}

func TestSearchEveryStreamFailedNeverPasses(t *testing.T) {
	srv := &server{slots: 1000, base: 10 * time.Millisecond, perSec: 200, failAll: true}
	c, err := Search(context.Background(), cfg(Connections, "ttft.p99 < 300ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != MinFails || c.MaxPassing != nil {
		t.Fatalf("verdict %s max_passing %v: a step whose streams all failed passed", c.Verdict, c.MaxPassing)
	}
	if !strings.Contains(c.Steps[0].Why, "no stream succeeded") {
		t.Errorf("why %q", c.Steps[0].Why)
	}
}

func TestSearchGeneratorDegraded(t *testing.T) {
	srv := &server{slots: 1000, base: 100 * time.Millisecond, perSec: 200, degradedFrom: 32}
	c, err := Search(context.Background(), cfg(Connections, "ttft.p99 < 300ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != GeneratorLimited || !c.GeneratorLimited || c.FirstFailing != nil {
		t.Fatalf("verdict %s first failing %v", c.Verdict, c.FirstFailing)
	}
	if c.MaxPassing == nil || c.MaxPassing.Value != 16 {
		t.Errorf("max_passing %v, want the lower bound 16", c.MaxPassing)
	}
	if !strings.Contains(c.Limit, "scheduler latency") || !strings.Contains(c.Fix, "--source-ips") ||
		!strings.Contains(c.Answer, "no knee was found") {
		t.Errorf("limit %q fix %q answer %q", c.Limit, c.Fix, c.Answer)
	}
	if last := c.Steps[len(c.Steps)-1]; !last.Degraded || last.Pass {
		t.Errorf("last step degraded %v pass %v", last.Degraded, last.Pass)
	}
	// The degraded step was run 1 + DegradedRetries times, each noted.
	at32 := 0
	for _, call := range srv.calls {
		if call.Scenario.Load.Connections == 32 {
			at32++
		}
	}
	if at32 != 1+DegradedRetries || len(c.Notes) != DegradedRetries {
		t.Errorf("the degraded step ran %d times with %d notes, want %d and %d", at32, len(c.Notes), 1+DegradedRetries, DegradedRetries)
	}
}

func TestSearchGeneratorLimitError(t *testing.T) {
	srv := &server{slots: 1e9, base: 100 * time.Millisecond, perSec: 200, limitFrom: 1000}
	cf := cfg(Connections, "ttft.p99 < 300ms")
	cf.Min, cf.Max = 100, 100000
	c, err := Search(context.Background(), cf, base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != GeneratorLimited || !strings.Contains(c.Limit, "1,024 files") || c.MaxPassing.Value != 800 {
		t.Fatalf("verdict %s limit %q max %v", c.Verdict, c.Limit, c.MaxPassing)
	}
}

func TestSearchMaxPasses(t *testing.T) {
	srv := &server{slots: 1e9, base: 100 * time.Millisecond, perSec: 200}
	cf := cfg(Connections, "ttft.p99 < 300ms")
	cf.Max = 20
	c, err := Search(context.Background(), cf, base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != MaxPasses || c.MaxPassing.Value != 20 || c.FirstFailing != nil {
		t.Fatalf("verdict %s max %v first failing %v", c.Verdict, c.MaxPassing, c.FirstFailing)
	}
	var loads []float64
	for _, st := range c.Steps {
		loads = append(loads, st.Load.Value)
	}
	if want := []float64{1, 2, 4, 8, 16, 20}; len(loads) != len(want) {
		t.Errorf("loads %v, want %v", loads, want)
	}
}

func TestSearchExtendsShortSteps(t *testing.T) {
	// At 1 sample per second per connection, a p99 at ~64 connections
	// needs 1,000 samples: about 16 s, more than the 10 s step.
	srv := &server{slots: 64, base: 200 * time.Millisecond, perSec: 1}
	c, err := Search(context.Background(), cfg(Connections, "ttft.p99 < 300ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.SLOs[0].MinSamples != 1000 {
		t.Errorf("min samples %d", c.SLOs[0].MinSamples)
	}
	answer := c.Steps[len(c.Steps)-1]
	if answer.DurationS <= 10 || answer.SamplesShort || answer.Samples[0] < 1000 {
		t.Errorf("answer step: %.0f s, %d samples, short %v: want a longer step with >= 1000 samples", answer.DurationS, answer.Samples[0], answer.SamplesShort)
	}
	// The bracket's passing steps below the knee are not extended; its
	// failing step is (to confirm the failure), up to the longest step.
	for _, st := range c.Steps {
		if st.Phase == "bracket" && st.Pass && st.Extended {
			t.Errorf("passing bracket step %d extended", st.N)
		}
	}
	// A failed p99 with at least ten samples over the bound is conclusive:
	// not extended.
	for _, st := range c.Steps {
		if !st.Pass && st.Samples[0] >= ConclusiveAbove && (st.Extended || st.SamplesShort) {
			t.Errorf("failing step %d (%d samples, all over the bound) extended %v short %v", st.N, st.Samples[0], st.Extended, st.SamplesShort)
		}
	}
	for _, call := range srv.calls {
		if call.Scenario.Duration-call.WarmUp > 60*time.Second {
			t.Fatalf("a step of %v, over the 60 s bound", call.Scenario.Duration)
		}
	}
}

func TestSearchRecheckMovesBoundary(t *testing.T) {
	srv := &server{slots: 64, base: 200 * time.Millisecond, perSec: 50, flaky: 65}
	cf := cfg(Connections, "ttft.p99 < 300ms")
	cf.Resolution = 0.01
	c, err := Search(context.Background(), cf, base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != Found || c.MaxPassing.Value >= 65 {
		t.Fatalf("verdict %s max_passing %v: the failed recheck at 65 must move the answer down", c.Verdict, c.MaxPassing)
	}
	if c.FirstFailing.Value != 65 {
		t.Errorf("first_failing %v, want 65", c.FirstFailing)
	}
}

func TestSearchStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{slots: 64, base: 200 * time.Millisecond, perSec: 50}
	run := srv.runner(t)
	n := 0
	c, err := Search(ctx, cfg(Connections, "ttft.p99 < 300ms"), base(), func(ctx context.Context, st Step) (*reports.File, error) {
		n++
		if n == 3 {
			cancel()
			return nil, ctx.Err()
		}
		return run(ctx, st)
	})
	if !errors.Is(err, context.Canceled) || len(c.Steps) != 2 {
		t.Fatalf("err %v, %d steps", err, len(c.Steps))
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{By: "bogus", SLOs: []scenarios.Threshold{mustSLO("ttft.p99 < 1s")}}, `by "bogus"`},
		{Config{}, "no SLO"},
		{Config{SLOs: []scenarios.Threshold{mustSLO("ttft.p99 < 1s")}, Min: 10, Max: 5}, "min 10 is above max 5"},
		{Config{SLOs: []scenarios.Threshold{mustSLO("ttft.p99 < 1s")}, Min: 1.5}, "whole number"},
	} {
		_, err := Search(context.Background(), tc.c, base(), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.c, err, tc.want)
		}
	}
}

func TestMinSamples(t *testing.T) {
	for expr, want := range map[string]int64{
		"ttft.p99 < 1s": 1000, "ttft.p50 < 1s": 20, "ttft.p99.9 < 1s": 10000, "ttft.p90 < 1s": 100,
		"ttft.max < 1s": 1000, "ttft.mean < 1s": 100, "errors.rate < 1%": 100, "tokens.rate > 10/s": 0,
		"ttft.count > 5": 0, "ttft.p100 < 1s": 1000,
	} {
		if got := MinSamples(mustSLO(expr)); got != want {
			t.Errorf("%s: %d, want %d", expr, got, want)
		}
	}
}

// TestSearchDegradedButConclusiveFailure: a degraded step whose latency
// exceeds the bound by far more than the generator's own delay (4 x 60 ms
// here) fails as the target's failure, unless the generator was CPU-bound;
// a degraded step never passes.
func TestSearchDegradedButConclusiveFailure(t *testing.T) {
	srv := &server{slots: 64, base: 200 * time.Millisecond, perSec: 50, degradedFrom: 100}
	cf := cfg(Connections, "ttft.p99 < 300ms")
	cf.Min = 50
	c, err := Search(context.Background(), cf, base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != Found || c.MaxPassing.Value < 64 || c.MaxPassing.Value > 67 {
		t.Fatalf("verdict %s max_passing %v", c.Verdict, c.MaxPassing)
	}
	st := c.Steps[1] // 100: degraded, ttft 2 s over the bound
	if st.Load.Value != 100 || st.Pass || st.Degraded || !strings.Contains(st.Why, "the generator was degraded, but at least 10 samples exceed the bound by more than 240ms, 4 times") || len(st.Reasons) == 0 {
		t.Errorf("step at 100: pass %v degraded %v why %q reasons %v", st.Pass, st.Degraded, st.Why, st.Reasons)
	}
	// The same with a CPU-bound generator: proves nothing.
	srv = &server{slots: 64, base: 200 * time.Millisecond, perSec: 50, degradedFrom: 100, cpus: 1.9}
	c, err = Search(context.Background(), cf, base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != GeneratorLimited || c.MaxPassing.Value != 50 {
		t.Errorf("CPU-bound: verdict %s max_passing %v, want generator-limited after 50", c.Verdict, c.MaxPassing)
	}
	// Just over the bound while degraded: proves nothing.
	srv = &server{slots: 1000, base: 350 * time.Millisecond, perSec: 50, degradedFrom: 1}
	c, err = Search(context.Background(), cfg(Connections, "ttft.p99 < 300ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != GeneratorLimited {
		t.Errorf("verdict %s: a failure within the generator's delay must not count", c.Verdict)
	}
}

// TestSearchDegradedAllFailed: every stream refused (HTTP 503) is the
// target's failure even on a degraded generator: min fails, not
// generator-limited.
func TestSearchDegradedAllFailed(t *testing.T) {
	srv := &server{slots: 1000, base: 10 * time.Millisecond, perSec: 200, failAll: true, degradedFrom: 1}
	c, err := Search(context.Background(), cfg(Connections, "ttft.p99 < 300ms"), base(), srv.runner(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != MinFails || !strings.Contains(c.Steps[0].Why, "no stream succeeded and none failed by a timeout") {
		t.Fatalf("verdict %s, why %q", c.Verdict, c.Steps[0].Why)
	}
}
