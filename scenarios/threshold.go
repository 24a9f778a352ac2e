package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Threshold is one pass/fail gate, parsed from an expression
// "METRIC.STAT OP VALUE" such as "ttft.p99 < 500ms". It is only parsed and
// validated here; package reports evaluates it against a run's summary and
// passes when Check(observed) holds.
//
// METRIC is a latency metric (connect, ttfb, ttfe, ttft, gap, itl, tpot,
// e2e, queue, ttft_sched, e2e_sched; see Metric) or a counter (see
// CounterNames). The statistics and what they mean:
//
//	latency metrics (Value in milliseconds, written with a unit: 500ms, 1.5s)
//	  min, max, mean, stddev   over all samples of the run (all shards)
//	  pNN, pNN.N               percentile NN in [0, 100]: p50, p99, p99.9
//	  count                    number of samples (a plain number)
//	counters
//	  count                    the run's total (a plain number)
//	  rate                     see below
//
// What rate means depends on the counter:
//
//	errors            streams that failed / streams started, a fraction
//	                  (write 1% or 0.01); a stream that reconnected and then
//	                  succeeded is not failed
//	aborted           streams the abort rule ended / streams started, a fraction
//	arrivals_dropped  dropped arrivals / scheduled arrivals (started + dropped),
//	                  a fraction
//	events, tokens, streams, bytes, reconnects, ids_lost, ids_duplicated
//	                  per second over the run's duration: count / duration_s
//	                  (write 10000/s, 600/m, or a plain number meaning /s)
//
// "streams" counts streams started; "events" counts dispatched events;
// "tokens" counts output tokens (server usage when reported, else content
// events).
type Threshold struct {
	// Expr is the expression as written, for reports.
	Expr string
	// Metric is a latency metric name (see Metric) or a counter name (see
	// CounterNames).
	Metric string
	// Stat is the statistic: min, max, mean, stddev, a percentile (pNN or
	// pNN.N, its value in Quantile), count or rate.
	Stat Stat
	// Quantile is the percentile of a pNN stat, in [0, 100] (99.9 for
	// "p99.9"); 0 for the other stats.
	Quantile float64
	// Op is the comparison the observed value must satisfy: <, <=, > or >=.
	Op Op
	// Value is the bound, in Unit.
	Value float64
	// Unit is the unit of Value: UnitMillis, UnitPerSecond, UnitFraction or
	// UnitCount.
	Unit Unit
}

// Unit is the unit of a threshold's value, and of what it is compared
// with; it is spelled the same in the result file ("unit").
type Unit string

// String returns the unit as written in the result file ("" for a count).
func (u Unit) String() string { return string(u) }

// Threshold units.
const (
	// UnitMillis: milliseconds (latency statistics).
	UnitMillis Unit = "ms"
	// UnitPerSecond: events per second (rate of a throughput counter).
	UnitPerSecond Unit = "/s"
	// UnitFraction: a fraction in [0, 1] (rate of errors, aborted,
	// arrivals_dropped).
	UnitFraction Unit = "fraction"
	// UnitCount: a plain number (count).
	UnitCount Unit = ""
)

// ErrThreshold is wrapped by every error ParseThreshold returns.
var ErrThreshold = errors.New("bad threshold")

// fractionCounters have rate = a fraction of streams (or arrivals).
var fractionCounters = []string{"errors", "aborted", "arrivals_dropped"}

// throughputCounters have rate = per second.
var throughputCounters = []string{"events", "tokens", "streams", "bytes", "reconnects", "ids_lost", "ids_duplicated"}

// CounterNames returns the counter names thresholds accept.
func CounterNames() []string {
	return append(append([]string{}, fractionCounters...), throughputCounters...)
}

// IsFractionCounter reports whether counter's rate is a fraction (errors,
// aborted, arrivals_dropped) rather than a per-second rate.
func IsFractionCounter(counter string) bool { return slices.Contains(fractionCounters, counter) }

func metricNamesList() []string {
	names := make([]string, NumMetrics)
	for m := range NumMetrics {
		names[m] = m.String()
	}
	return names
}

// statAliases are statistic names from other tools, and ours.
var statAliases = map[string]string{
	"median": "p50", "med": "p50", "avg": "mean", "average": "mean", "std": "stddev",
	"sd": "stddev", "minimum": "min", "maximum": "max", "total": "count",
}

// ParseThreshold parses an expression such as "ttft.p99 < 500ms",
// "errors.rate < 1%" or "events.rate > 10000/s" (see Threshold). Latency
// values are normalised to milliseconds, per-second rates to /s. The error
// wraps ErrThreshold and says what is wrong.
func ParseThreshold(expr string) (Threshold, error) {
	t, err := parseThreshold(strings.TrimSpace(expr))
	if err != nil {
		return Threshold{}, fmt.Errorf("%w %q: %s", ErrThreshold, expr, err)
	}
	return t, nil
}

// Check reports whether an observed value, in the threshold's Unit, passes.
// NaN (nothing observed) never passes.
func (t Threshold) Check(observed float64) bool { return t.Op.Holds(observed, t.Value) }

// String returns the expression as written.
func (t Threshold) String() string { return t.Expr }
