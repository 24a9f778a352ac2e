package reports

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// The one formatting family of the reports: the text summary, the HTML
// pages, the comparison and the JUnit messages print a quantity with the
// same function, so a byte counter reads "11.8 MiB" and a threshold's
// observed value "212.4 ms" everywhere, and every renderer lists the
// metrics in the same order (metricOrder). The human* functions carry their
// unit; fmtMS and fmtFloat are the bare numbers of the text tables, whose
// column headers carry the unit.

// metricOrder returns the metric names of m in scenarios.Metric order, then
// any others alphabetically.
func metricOrder(m map[string]*MetricStats) []string {
	var names, others []string
	for i := range scenarios.NumMetrics {
		if _, ok := m[i.String()]; ok {
			names = append(names, i.String())
		}
	}
	for n := range m {
		if _, known := scenarios.ParseMetric(n); !known {
			others = append(others, n)
		}
	}
	sort.Strings(others)
	return append(names, others...)
}

// fmtMS formats milliseconds with about 4 significant digits, never below
// µs resolution, without a unit.
func fmtMS(v float64) string {
	a := math.Abs(v)
	switch {
	case a < 10:
		return fmtFloat(v, 3)
	case a < 100:
		return fmtFloat(v, 2)
	case a < 10000:
		return fmtFloat(v, 1)
	default:
		return fmtFloat(v, 0)
	}
}

// fmtFloat formats v with prec decimals.
func fmtFloat(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

// fmtObserved formats a threshold's value (observed, bound, baseline) in
// its unit: "212.4 ms" (fmtMS: a gate's value keeps its digits), "1.2%",
// "12,000/s", "3".
func fmtObserved(v float64, unit scenarios.Unit) string {
	switch unit {
	case scenarios.UnitMillis:
		return fmtMS(v) + " ms"
	case scenarios.UnitFraction:
		return humanPercent(v)
	case scenarios.UnitPerSecond:
		return humanRate(v) + "/s"
	default:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
}

// humanTrim formats v with at most prec decimals, trailing zeros dropped.
func humanTrim(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// humanMs formats a latency given in milliseconds with a unit that suits it:
// "850 µs", "12.3 ms", "1.52 s".
func humanMs(ms float64) string {
	a := math.Abs(ms)
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return "–"
	case ms == 0:
		return "0 ms"
	case a < 1:
		return humanTrim(ms*1000, 0) + " µs"
	case a < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	case a < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case a < 10000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case a < 600000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	}
	return (time.Duration(ms * float64(time.Millisecond))).Round(time.Second).String()
}

// humanCount formats an integer with thousands separators.
func humanCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// humanRate formats a per-second rate: separators above 100, one decimal below.
func humanRate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if math.Abs(v) >= 100 {
		return humanCount(int64(math.Round(v)))
	}
	return humanTrim(v, 1)
}

// humanPercent formats a fraction as a percentage with useful precision:
// "0%", "0.0012%" (two significant digits below 0.01%), "1.23%", "50%".
func humanPercent(f float64) string {
	p := f * 100
	switch a := math.Abs(p); {
	case math.IsNaN(p) || math.IsInf(p, 0):
		return "–"
	case p == 0:
		return "0%"
	case a < 0.01:
		return strconv.FormatFloat(p, 'g', 2, 64) + "%"
	case a < 10:
		return humanTrim(p, 2) + "%"
	}
	return humanTrim(p, 1) + "%"
}

// humanSeconds formats a duration in seconds: "12.5 s" below two minutes,
// "3m20s" above; "–" when not positive.
func humanSeconds(s float64) string {
	switch {
	case s <= 0:
		return "–"
	case s < 120:
		return humanTrim(s, 1) + " s"
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

// humanBytes formats a byte count with a binary (IEC) unit: "999 B",
// "11.8 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmtFloat(float64(n)/float64(div), 1) + " " + string("KMGTPE"[exp]) + "iB"
}
