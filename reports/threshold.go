package reports

import (
	"errors"
	"fmt"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// errNoSamples is the error of a threshold on a metric nothing was measured
// for: it fails, never passes silently.
var errNoSamples = errors.New("no samples")

// Evaluate checks every threshold against f and replaces f.Thresholds with
// the verdicts, each with its observed value in the threshold's unit. It
// returns true when every threshold passed (and when there are none).
//
// Latency statistics (min, max, mean, stddev, pNN) come from the metric's
// HdrHistogram, not from the rounded fields of MetricStats; count is the
// number of samples. Counter statistics follow scenarios.Threshold: count
// is the total, rate is per second of the run's duration, except errors,
// aborted and arrivals_dropped whose rate is a fraction of streams started
// (of arrivals scheduled for arrivals_dropped). A threshold whose statistic
// cannot be computed (a latency metric without samples, a fraction of zero
// streams, an unreadable histogram) fails with Error set.
//
// Evaluate is not safe for concurrent use with other access to f.
func Evaluate(f *File, ths []scenarios.Threshold) (pass bool) {
	f.Thresholds = make([]ThresholdResult, 0, len(ths))
	pass = true
	for _, t := range ths {
		r := ThresholdResult{Expr: t.Expr, Unit: t.Unit}
		obs, unit, err := observe(f, t)
		if err == nil && unit != t.Unit {
			err = fmt.Errorf("%s.%s is in %q, the threshold in %q", t.Metric, t.StatName(), unitName(unit), unitName(t.Unit))
		}
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Observed = obs
			r.Pass = t.Check(obs)
		}
		if !r.Pass {
			pass = false
		}
		f.Thresholds = append(f.Thresholds, r)
	}
	return pass
}

// observe computes the statistic a threshold names, and its unit.
func observe(f *File, t scenarios.Threshold) (float64, scenarios.Unit, error) {
	if _, ok := scenarios.ParseMetric(t.Metric); ok {
		return observeLatency(f, t)
	}
	var count, of int64
	fraction := scenarios.IsFractionCounter(t.Metric)
	c := f.Counters
	switch t.Metric {
	case "errors":
		count, of = c.StreamsFailed, c.StreamsStarted
	case "aborted":
		count, of = c.Aborted, c.StreamsStarted
	case "arrivals_dropped":
		count, of = c.ArrivalsDropped, c.StreamsStarted+c.ArrivalsDropped
	case "events":
		count = c.Events
	case "tokens":
		count = c.Tokens
	case "streams":
		count = c.StreamsStarted
	case "bytes":
		count = c.Bytes
	case "reconnects":
		count = c.Reconnects
	case "ids_lost":
		count = c.IDsLost
	case "ids_duplicated":
		count = c.IDsDuplicated
	default:
		return 0, "", fmt.Errorf("unknown metric %q", t.Metric)
	}
	switch t.Stat {
	case scenarios.StatCount:
		return float64(count), scenarios.UnitCount, nil
	case scenarios.StatRate:
		if fraction {
			if of == 0 {
				return 0, "", fmt.Errorf("%w: no streams started", errNoSamples)
			}
			return float64(count) / float64(of), scenarios.UnitFraction, nil
		}
		if f.DurationS <= 0 {
			return 0, "", errors.New("the run has no duration")
		}
		return float64(count) / f.DurationS, scenarios.UnitPerSecond, nil
	}
	return 0, "", fmt.Errorf("unknown statistic %q of counter %s", t.StatName(), t.Metric)
}

// observeLatency computes a latency statistic from the metric's histogram.
func observeLatency(f *File, t scenarios.Threshold) (float64, scenarios.Unit, error) {
	st := f.Metrics[t.Metric]
	if t.Stat == scenarios.StatCount {
		if st == nil {
			return 0, scenarios.UnitCount, nil
		}
		return float64(st.Count), scenarios.UnitCount, nil
	}
	if st == nil || st.Count == 0 {
		return 0, "", errNoSamples
	}
	h, err := DecodeHistogram(st.HDR)
	if err != nil {
		return 0, "", fmt.Errorf("metric %s: %w", t.Metric, err)
	}
	var d time.Duration
	switch t.Stat {
	case scenarios.StatMin:
		d = h.Min()
	case scenarios.StatMax:
		d = h.Max()
	case scenarios.StatMean:
		d = h.Mean()
	case scenarios.StatStddev:
		d = h.StdDev()
	case scenarios.StatPercentile:
		d = h.Quantile(t.Quantile / 100)
	default:
		return 0, "", fmt.Errorf("unknown statistic %q of latency %s", t.StatName(), t.Metric)
	}
	return ms(d), scenarios.UnitMillis, nil
}

// unitName spells a threshold unit for messages.
func unitName(u scenarios.Unit) string {
	if u == scenarios.UnitCount {
		return "count"
	}
	return string(u)
}
