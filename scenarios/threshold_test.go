package scenarios

import (
	"errors"
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		expr string
		want Threshold
	}{
		{"ttft.p99 < 500ms", Threshold{Metric: "ttft", Stat: StatPercentile, Quantile: 99, Op: OpLess, Value: 500, Unit: UnitMillis}},
		{"gap.p50 <= 30ms", Threshold{Metric: "gap", Stat: StatPercentile, Quantile: 50, Op: OpLessEqual, Value: 30, Unit: UnitMillis}},
		{"e2e.max < 30s", Threshold{Metric: "e2e", Stat: StatMax, Op: OpLess, Value: 30000, Unit: UnitMillis}},
		{"ttft.p99.9<1.5s", Threshold{Metric: "ttft", Stat: StatPercentile, Quantile: 99.9, Op: OpLess, Value: 1500, Unit: UnitMillis}},
		{"itl.mean < 250us", Threshold{Metric: "itl", Stat: StatMean, Op: OpLess, Value: 0.25, Unit: UnitMillis}},
		{"itl.stddev < 5µs", Threshold{Metric: "itl", Stat: StatStddev, Op: OpLess, Value: 0.005, Unit: UnitMillis}},
		{"ttft_sched.p0 >= 0ms", Threshold{Metric: "ttft_sched", Stat: StatPercentile, Op: OpGreaterEqual, Value: 0, Unit: UnitMillis}},
		{"ttft.count > 100", Threshold{Metric: "ttft", Stat: StatCount, Op: OpGreater, Value: 100, Unit: UnitCount}},
		{"errors.rate < 1%", Threshold{Metric: "errors", Stat: StatRate, Op: OpLess, Value: 0.01, Unit: UnitFraction}},
		{"errors.rate < 0.05", Threshold{Metric: "errors", Stat: StatRate, Op: OpLess, Value: 0.05, Unit: UnitFraction}},
		{"errors.count < 1", Threshold{Metric: "errors", Stat: StatCount, Op: OpLess, Value: 1, Unit: UnitCount}},
		{"events.rate > 10000/s", Threshold{Metric: "events", Stat: StatRate, Op: OpGreater, Value: 10000, Unit: UnitPerSecond}},
		{"tokens.rate >= 60000/m", Threshold{Metric: "tokens", Stat: StatRate, Op: OpGreaterEqual, Value: 1000, Unit: UnitPerSecond}},
		{"streams.rate > 50", Threshold{Metric: "streams", Stat: StatRate, Op: OpGreater, Value: 50, Unit: UnitPerSecond}},
		{"arrivals_dropped.rate <= 0%", Threshold{Metric: "arrivals_dropped", Stat: StatRate, Op: OpLessEqual, Value: 0, Unit: UnitFraction}},
		{"  aborted.rate < 20%  ", Threshold{Metric: "aborted", Stat: StatRate, Op: OpLess, Value: 0.2, Unit: UnitFraction}},
		{"ids_lost.count < 1", Threshold{Metric: "ids_lost", Stat: StatCount, Op: OpLess, Value: 1, Unit: UnitCount}},
	}
	for _, tt := range tests {
		got, err := ParseThreshold(tt.expr)
		if err != nil {
			t.Errorf("ParseThreshold(%q): %v", tt.expr, err)
			continue
		}
		tt.want.Expr = strings.TrimSpace(tt.expr)
		if d := got.Value - tt.want.Value; d > 1e-9 || d < -1e-9 {
			t.Errorf("ParseThreshold(%q).Value = %v, want %v", tt.expr, got.Value, tt.want.Value)
		}
		got.Value = tt.want.Value
		if got != tt.want {
			t.Errorf("ParseThreshold(%q) =\n %+v, want\n %+v", tt.expr, got, tt.want)
		}
	}
}

func TestParseThresholdErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"ttft.p99", "no comparison"},
		{"ttft.p99 = 5ms", `"=" is not a comparison`},
		{"ttft.p99 == 5ms", `"==" is not a comparison`},
		{"ttft < 5ms", `"ttft" is not METRIC.STAT`},
		{"ttft.p99 <", "no value"},
		{"ttf.p99 < 5ms", `"ttf" is not a metric (did you mean`},
		{"latency.p99 < 5ms", `"latency" is not a metric (want one of connect, ttfb`},
		{"ttft.p101 < 5ms", `"p101" is not a percentile`},
		{"ttft.p999 < 5ms", `did you mean p99.9?`},
		{"ttft.pxx < 5ms", `"pxx" is not a percentile`},
		{"ttft.median < 5ms", `"median" is not a statistic (did you mean "p50"?)`},
		{"ttft.maen < 5ms", `"maen" is not a statistic (did you mean "mean"?)`},
		{"ttft.rate < 5/s", "rate applies to counters"},
		{"ttft.p99 < 500", `"500" has no unit`},
		{"ttft.p99 < -5ms", "negative"},
		{"errors.rate < 5/s", "fraction of streams"},
		{"errors.rate < 150%", "not between 0 and 100%"},
		{"events.rate > 5%", "per second, not a fraction"},
		{"events.rate > fast", "is not a rate"},
		{"events.p99 > 5", "not a statistic of counter events (want count or rate)"},
		{"events.rat > 5", `did you mean "rate"?`},
		{"events.count > many", "is not a count"},
	}
	for _, tt := range tests {
		_, err := ParseThreshold(tt.expr)
		if err == nil {
			t.Errorf("ParseThreshold(%q) accepted", tt.expr)
			continue
		}
		if !errors.Is(err, ErrThreshold) {
			t.Errorf("ParseThreshold(%q) error does not wrap ErrThreshold", tt.expr)
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.expr) {
			t.Errorf("ParseThreshold(%q) = %v, want it to mention %q and the expression", tt.expr, err, tt.want)
		}
	}
}

func TestThresholdCheck(t *testing.T) {
	for _, tt := range []struct {
		expr     string
		observed float64
		pass     bool
	}{
		{"ttft.p99 < 500ms", 499.9, true},
		{"ttft.p99 < 500ms", 500, false},
		{"ttft.p99 <= 500ms", 500, true},
		{"events.rate > 100/s", 100, false},
		{"events.rate >= 100/s", 100, true},
		{"errors.rate < 1%", 0.009, true},
	} {
		th, err := ParseThreshold(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.Check(tt.observed); got != tt.pass {
			t.Errorf("%q.Check(%v) = %v", tt.expr, tt.observed, got)
		}
	}
}

func TestThresholdTypesString(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{OpLess.String(), "<"}, {OpLessEqual.String(), "<="}, {OpGreater.String(), ">"}, {OpGreaterEqual.String(), ">="},
		{Op(0).String(), ""}, {Op(9).String(), "op?"},
		{StatMin.String(), "min"}, {StatPercentile.String(), "p"}, {StatRate.String(), "rate"}, {Stat(0).String(), "stat?"},
		{UnitMillis.String(), "ms"}, {UnitFraction.String(), "fraction"}, {UnitCount.String(), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
	for expr, want := range map[string]string{"ttft.p99.9 < 1s": "p99.9", "ttft.p50 < 1s": "p50", "gap.mean < 1s": "mean", "errors.rate < 1%": "rate", "events.count > 1": "count"} {
		th, err := ParseThreshold(expr)
		if err != nil || th.StatName() != want {
			t.Errorf("ParseThreshold(%q).StatName() = %q, %v; want %q", expr, th.StatName(), err, want)
		}
	}
	if (Threshold{}).Check(0) || !(Threshold{Op: OpGreaterEqual}).Check(0) {
		t.Error("the zero Op held, or >= 0 did not hold for 0")
	}
}

func TestClosest(t *testing.T) {
	names := []string{"SSEBENCH_DURATION", "SSEBENCH_OUT", "SSEBENCH_THRESHOLD"}
	for s, want := range map[string]string{"SSEBENCH_DURATON": "SSEBENCH_DURATION", "SSEBENCH_TRESHOLD": "SSEBENCH_THRESHOLD", "SSEBENCH_OTU": "SSEBENCH_OUT"} {
		if got := Closest(s, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", s, got, want)
		}
	}
	if got := Closest("x", nil); got != "" {
		t.Errorf("Closest with no names = %q", got)
	}
}
