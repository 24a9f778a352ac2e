package reports

import (
	"math"
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

func TestEvaluate(t *testing.T) {
	f := buildSynth(synth{streams: 200, every: 10 * time.Millisecond, events: 20, failEach: 50},
		fixedStart, 2*time.Second, nil, "")
	f.Counters.Aborted = 2
	f.Counters.ArrivalsDropped = 4
	h, err := DecodeHistogram(f.Metrics["ttft"].HDR)
	if err != nil {
		t.Fatal(err)
	}
	// The exact p99.9 from the histogram, not the rounded field.
	p999 := ms(h.Quantile(0.999))

	tests := []struct {
		expr     string
		observed float64
		pass     bool
		err      string
	}{
		{"ttft.p99 < 500ms", ms(h.Quantile(0.99)), true, ""},
		{"ttft.p99.9 <= 1ms", p999, false, ""},
		{"ttft.p50 > 1ms", ms(h.Quantile(0.5)), true, ""},
		{"ttft.min >= 40ms", ms(h.Min()), true, ""},
		{"ttft.max < 1s", ms(h.Max()), true, ""},
		{"ttft.mean < 1s", ms(h.Mean()), true, ""},
		{"ttft.stddev < 1ms", ms(h.StdDev()), false, ""},
		{"ttft.count >= 196", 196, true, ""},
		{"tpot.p99 < 20ms", 0, false, "no samples"},
		{"tpot.count < 1", 0, true, ""},
		{"errors.rate < 1%", 4.0 / 200, false, ""},
		{"errors.rate < 5%", 4.0 / 200, true, ""},
		{"errors.count <= 4", 4, true, ""},
		{"aborted.rate <= 1%", 2.0 / 200, true, ""},
		{"arrivals_dropped.rate < 1%", 4.0 / 204, false, ""},
		{"events.rate > 1000/s", float64(f.Counters.Events) / 2, true, ""},
		{"events.count > 0", float64(f.Counters.Events), true, ""},
		{"streams.rate >= 100/s", 100, true, ""},
		{"tokens.rate > 1/s", float64(f.Counters.Tokens) / 2, true, ""},
		{"reconnects.count == 0", 0, false, "parse"}, // == is not an operator: ParseThreshold rejects it
	}
	var ths []scenarios.Threshold
	var want []ThresholdResult
	for _, tt := range tests {
		th, err := scenarios.ParseThreshold(tt.expr)
		if tt.err == "parse" {
			if err == nil {
				t.Errorf("%q parsed", tt.expr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ths = append(ths, th)
		want = append(want, ThresholdResult{Expr: tt.expr, Observed: tt.observed, Unit: th.Unit, Pass: tt.pass, Error: tt.err})
	}
	pass := Evaluate(f, ths)
	if pass {
		t.Error("Evaluate passed with failing thresholds")
	}
	if len(f.Thresholds) != len(want) {
		t.Fatalf("%d results, want %d", len(f.Thresholds), len(want))
	}
	for i, got := range f.Thresholds {
		w := want[i]
		if got.Expr != w.Expr || got.Pass != w.Pass || got.Error != w.Error || got.Unit != w.Unit ||
			math.Abs(got.Observed-w.Observed) > 1e-9 {
			t.Errorf("%s:\n got %+v\nwant %+v", w.Expr, got, w)
		}
	}

	// All passing, and none at all.
	if !Evaluate(f, ths[:1]) {
		t.Errorf("one passing threshold: %+v", f.Thresholds)
	}
	if !Evaluate(f, nil) || len(f.Thresholds) != 0 {
		t.Error("no thresholds must pass and leave none")
	}
}

func TestEvaluateNoStreams(t *testing.T) {
	f := buildSynth(synth{}, fixedStart, time.Second, nil, "")
	Evaluate(f, mustThresholds(t, "errors.rate < 1%", "ttft.p99 < 1s", "events.count >= 0"))
	for i, want := range []struct {
		pass bool
		err  bool
	}{{false, true}, {false, true}, {true, false}} {
		got := f.Thresholds[i]
		if got.Pass != want.pass || (got.Error != "") != want.err {
			t.Errorf("%s: %+v", got.Expr, got)
		}
	}
}

func TestEvaluateUnitMismatch(t *testing.T) {
	f := buildSynth(synth{streams: 5, every: time.Millisecond, events: 2}, fixedStart, time.Second, nil, "")
	// Built by hand, not by ParseThreshold: a latency compared to a fraction.
	th := scenarios.Threshold{Expr: "ttft.p99 < 1%", Metric: "ttft", Stat: scenarios.StatPercentile, Quantile: 99, Op: scenarios.OpLess, Value: 0.01, Unit: scenarios.UnitFraction}
	if Evaluate(f, []scenarios.Threshold{th}) || f.Thresholds[0].Error == "" {
		t.Errorf("unit mismatch passed: %+v", f.Thresholds[0])
	}
}
