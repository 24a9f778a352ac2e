package scenarios

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Op is a threshold's comparison.
type Op uint8

// The comparisons, as written: <, <=, > and >=. The zero Op is none and
// never holds.
const (
	OpLess Op = iota + 1
	OpLessEqual
	OpGreater
	OpGreaterEqual
)

var opNames = [...]string{OpLess: "<", OpLessEqual: "<=", OpGreater: ">", OpGreaterEqual: ">="}

// String returns the comparison as written ("<="), "" for the zero Op.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// Holds reports whether observed op bound is true; NaN never holds.
func (o Op) Holds(observed, bound float64) bool {
	switch o {
	case OpLess:
		return observed < bound
	case OpLessEqual:
		return observed <= bound
	case OpGreater:
		return observed > bound
	case OpGreaterEqual:
		return observed >= bound
	}
	return false
}

// parseOp returns the Op written s ("<", "<=", ">" or ">=").
func parseOp(s string) (Op, bool) {
	for o, n := range opNames {
		if n != "" && n == s {
			return Op(o), true
		}
	}
	return 0, false
}

// Stat is the statistic a threshold observes.
type Stat uint8

// The statistics. StatPercentile's percentile is the Threshold's Quantile.
const (
	StatMin Stat = iota + 1
	StatMax
	StatMean
	StatStddev
	StatPercentile
	StatCount
	StatRate
)

var statNames = [...]string{StatMin: "min", StatMax: "max", StatMean: "mean", StatStddev: "stddev",
	StatPercentile: "p", StatCount: "count", StatRate: "rate"}

// String returns the statistic's name ("p" for a percentile: see
// Threshold.StatName for "p99.9").
func (s Stat) String() string {
	if int(s) < len(statNames) && statNames[s] != "" {
		return statNames[s]
	}
	return "stat?"
}

// StatName returns the statistic as written in an expression: "p99.9",
// "mean", "rate".
func (t Threshold) StatName() string {
	if t.Stat == StatPercentile {
		return "p" + strconv.FormatFloat(t.Quantile, 'f', -1, 64)
	}
	return t.Stat.String()
}

// parseThreshold parses a trimmed expression; its errors are the reason
// only (ParseThreshold adds the expression).
func parseThreshold(expr string) (Threshold, error) {
	t := Threshold{Expr: expr}
	metric, stat, rhs, err := splitThreshold(&t, expr)
	if err != nil {
		return t, err
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
	t.Metric = metric
	switch {
	case stat == "count":
		v, err := strconv.ParseFloat(rhs, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return t, fmt.Errorf("%q is not a count (want a plain number such as 100)", rhs)
		}
		t.Stat, t.Value, t.Unit = StatCount, v, UnitCount
		return t, nil
	case counter:
		return t, parseCounterRate(&t, stat, rhs)
	}
	if err := parseLatencyStat(&t, stat); err != nil {
		return t, err
	}
	d, err := ParseDuration(rhs)
	if err != nil {
		return t, err
	}
	t.Value, t.Unit = float64(d)/1e6, UnitMillis
	return t, nil
}

// splitThreshold cuts "METRIC.STAT OP VALUE" into its parts, setting t.Op.
func splitThreshold(t *Threshold, expr string) (metric, stat, rhs string, err error) {
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
		return "", "", "", errors.New("no comparison (want e.g. ttft.p99 < 500ms)")
	}
	o, ok := parseOp(op)
	if !ok {
		return "", "", "", fmt.Errorf("%q is not a comparison (want <, <=, > or >=)", op)
	}
	t.Op = o
	lhs, rhs := strings.TrimSpace(expr[:opAt]), strings.TrimSpace(expr[opAt+len(op):])
	metric, stat, ok = strings.Cut(lhs, ".")
	if !ok || metric == "" || stat == "" {
		return "", "", "", fmt.Errorf("%q is not METRIC.STAT (want e.g. ttft.p99 or errors.rate)", lhs)
	}
	if rhs == "" {
		return "", "", "", errors.New("no value after the comparison")
	}
	return metric, stat, rhs, nil
}

// parseCounterRate parses the rate bound of a counter threshold.
func parseCounterRate(t *Threshold, stat, rhs string) error {
	metric := t.Metric
	if stat != "rate" {
		msg := fmt.Sprintf("%q is not a statistic of counter %s (want count or rate)", stat, metric)
		if s := suggest(stat, []string{"count", "rate"}); s != "" {
			msg = fmt.Sprintf("%q is not a statistic of counter %s (did you mean %q?)", stat, metric, s)
		}
		return errors.New(msg)
	}
	t.Stat = StatRate
	if IsFractionCounter(metric) {
		if strings.Contains(rhs, "/") {
			return fmt.Errorf("%s.rate is a fraction of streams, not a rate per time (want e.g. 1%% or 0.01)", metric)
		}
		f, err := ParseFraction(rhs)
		if err != nil {
			return err
		}
		t.Value, t.Unit = f, UnitFraction
		return nil
	}
	if strings.HasSuffix(rhs, "%") {
		return fmt.Errorf("%s.rate is per second, not a fraction (want e.g. 100/s)", metric)
	}
	r, err := ParseRate(rhs)
	if err != nil {
		return err
	}
	t.Value, t.Unit = r, UnitPerSecond
	return nil
}

// parseLatencyStat sets t.Stat (and t.Quantile) from the statistic of a
// latency threshold.
func parseLatencyStat(t *Threshold, stat string) error {
	for _, s := range []Stat{StatMin, StatMax, StatMean, StatStddev} {
		if stat == s.String() {
			t.Stat = s
			return nil
		}
	}
	switch {
	case stat == "rate":
		return fmt.Errorf("%s is a latency: rate applies to counters (want min, max, mean, stddev, pNN or count)", t.Metric)
	case strings.HasPrefix(stat, "p"):
		q, err := strconv.ParseFloat(stat[1:], 64)
		if err != nil || strings.ContainsAny(stat[1:], "eE+-_") || q < 0 || q > 100 || math.IsNaN(q) {
			msg := fmt.Sprintf("%q is not a percentile (want p0..p100, e.g. p50, p99, p99.9)", stat)
			if err == nil && q > 100 && strings.HasPrefix(stat, "p99") && !strings.Contains(stat, ".") {
				msg += fmt.Sprintf(" (did you mean p%s.%s?)", stat[1:3], stat[3:])
			}
			return errors.New(msg)
		}
		t.Stat, t.Quantile = StatPercentile, q
		return nil
	}
	msg := fmt.Sprintf("%q is not a statistic", stat)
	if s, ok := statAliases[stat]; ok {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if s := suggest(stat, []string{"min", "max", "mean", "stddev", "count"}); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += " (want min, max, mean, stddev, pNN or count)"
	}
	return errors.New(msg)
}
