package scenarios

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
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
	// Stat is the statistic: min, max, mean, stddev, pNN or pNN.N, count or
	// rate.
	Stat string
	// Quantile is the percentile of a pNN stat, in [0, 100] (99.9 for
	// "p99.9"); 0 for the other stats.
	Quantile float64
	// Op is the comparison the observed value must satisfy: <, <=, > or >=.
	Op string
	// Value is the bound, in Unit.
	Value float64
	// Unit is the unit of Value: UnitMillis, UnitPerSecond, UnitFraction or
	// UnitCount.
	Unit string
}

// Threshold units.
const (
	// UnitMillis: milliseconds (latency statistics).
	UnitMillis = "ms"
	// UnitPerSecond: events per second (rate of a throughput counter).
	UnitPerSecond = "/s"
	// UnitFraction: a fraction in [0, 1] (rate of errors, aborted,
	// arrivals_dropped).
	UnitFraction = "fraction"
	// UnitCount: a plain number (count).
	UnitCount = ""
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

var thresholdOps = []string{"<=", ">=", "<", ">"}

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

func parseThreshold(expr string) (Threshold, error) {
	t := Threshold{Expr: expr}
	opAt, op := -1, ""
	for i := 0; i < len(expr); i++ {
		if c := expr[i]; c == '<' || c == '>' || c == '=' || c == '!' {
			opAt = i
			op = string(c)
			if i+1 < len(expr) && expr[i+1] == '=' {
				op += "="
			}
			break
		}
	}
	if opAt < 0 {
		return t, errors.New("no comparison (want e.g. ttft.p99 < 500ms)")
	}
	if !slices.Contains(thresholdOps, op) {
		return t, fmt.Errorf("%q is not a comparison (want <, <=, > or >=)", op)
	}
	t.Op = op
	lhs, rhs := strings.TrimSpace(expr[:opAt]), strings.TrimSpace(expr[opAt+len(op):])
	metric, stat, ok := strings.Cut(lhs, ".")
	if !ok || metric == "" || stat == "" {
		return t, fmt.Errorf("%q is not METRIC.STAT (want e.g. ttft.p99 or errors.rate)", lhs)
	}
	t.Metric, t.Stat = metric, stat
	if rhs == "" {
		return t, errors.New("no value after the comparison")
	}

	_, latency := ParseMetric(metric)
	counter := slices.Contains(fractionCounters, metric) || slices.Contains(throughputCounters, metric)
	if !latency && !counter {
		known := append(metricNamesList(), CounterNames()...)
		msg := fmt.Sprintf("%q is not a metric", metric)
		if s := suggest(metric, known); s != "" {
			return t, fmt.Errorf("%s (did you mean %q?)", msg, s)
		}
		return t, fmt.Errorf("%s (want one of %s)", msg, strings.Join(known, ", "))
	}

	if stat == "count" {
		v, err := strconv.ParseFloat(rhs, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return t, fmt.Errorf("%q is not a count (want a plain number such as 100)", rhs)
		}
		t.Value, t.Unit = v, UnitCount
		return t, nil
	}

	if counter {
		if stat != "rate" {
			msg := fmt.Sprintf("%q is not a statistic of counter %s (want count or rate)", stat, metric)
			if s := suggest(stat, []string{"count", "rate"}); s != "" {
				msg = fmt.Sprintf("%q is not a statistic of counter %s (did you mean %q?)", stat, metric, s)
			}
			return t, errors.New(msg)
		}
		if IsFractionCounter(metric) {
			if strings.Contains(rhs, "/") {
				return t, fmt.Errorf("%s.rate is a fraction of streams, not a rate per time (want e.g. 1%% or 0.01)", metric)
			}
			f, err := ParseFraction(rhs)
			if err != nil {
				return t, err
			}
			t.Value, t.Unit = f, UnitFraction
			return t, nil
		}
		if strings.HasSuffix(rhs, "%") {
			return t, fmt.Errorf("%s.rate is per second, not a fraction (want e.g. 100/s)", metric)
		}
		r, err := ParseRate(rhs)
		if err != nil {
			return t, err
		}
		t.Value, t.Unit = r, UnitPerSecond
		return t, nil
	}

	// Latency metric.
	switch {
	case stat == "min" || stat == "max" || stat == "mean" || stat == "stddev":
	case stat == "rate":
		return t, fmt.Errorf("%s is a latency: rate applies to counters (want min, max, mean, stddev, pNN or count)", metric)
	case strings.HasPrefix(stat, "p"):
		q, err := strconv.ParseFloat(stat[1:], 64)
		if err != nil || strings.ContainsAny(stat[1:], "eE+-_") || q < 0 || q > 100 || math.IsNaN(q) {
			msg := fmt.Sprintf("%q is not a percentile (want p0..p100, e.g. p50, p99, p99.9)", stat)
			if err == nil && q > 100 && strings.HasPrefix(stat, "p99") && !strings.Contains(stat, ".") {
				msg += fmt.Sprintf(" (did you mean p%s.%s?)", stat[1:3], stat[3:])
			}
			return t, errors.New(msg)
		}
		t.Quantile = q
	default:
		msg := fmt.Sprintf("%q is not a statistic", stat)
		if s, ok := statAliases[stat]; ok {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else if s := suggest(stat, []string{"min", "max", "mean", "stddev", "count"}); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (want min, max, mean, stddev, pNN or count)"
		}
		return t, errors.New(msg)
	}
	d, err := ParseDuration(rhs)
	if err != nil {
		return t, err
	}
	t.Value, t.Unit = float64(d)/1e6, UnitMillis
	return t, nil
}

// Check reports whether an observed value, in the threshold's Unit, passes.
// NaN (nothing observed) never passes.
func (t Threshold) Check(observed float64) bool {
	switch t.Op {
	case "<":
		return observed < t.Value
	case "<=":
		return observed <= t.Value
	case ">":
		return observed > t.Value
	case ">=":
		return observed >= t.Value
	}
	return false
}

// String returns the expression as written.
func (t Threshold) String() string { return t.Expr }
