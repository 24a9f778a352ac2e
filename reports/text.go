package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/ssebench/ssebench/scenarios"
)

// WriteText writes the one-screen summary of f: a header (target, duration,
// streams, verdict), a table of every latency metric (count, min, mean,
// p50, p90, p99, p99.9, max in ms), counters and rates, the error breakdown
// sorted by count with the failure reasons, the thresholds with their
// observed values, the generator's health (with the degraded warning and
// its reasons) and notes. Everything a server sent is escaped (Escape).
// Output is deterministic for a given File.
func WriteText(w io.Writer, f *File) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	// Header.
	target := f.Environment.Target
	switch {
	case f.Environment.EmbeddedMock && target != "":
		target += " (embedded mock)"
	case f.Environment.EmbeddedMock:
		target = "embedded mock"
	case target == "":
		target = "?"
	}
	version := f.Version
	if version == "" {
		version = "?"
	}
	p("ssebench %s  target %s  shard %s\n", version, Escape(target), f.Shard)
	c := f.Counters
	p("started %s  duration %s s  streams %d started, %d ok, %d failed, %d aborted",
		f.Started.UTC().Format("2006-01-02 15:04:05 MST"), fmtFloat(f.DurationS, 1),
		c.StreamsStarted, c.StreamsOK, c.StreamsFailed, c.Aborted)
	if c.Cancelled > 0 {
		p(", %d cancelled at the end", c.Cancelled)
	}
	if u := c.StreamsStarted - c.StreamsOK - c.StreamsFailed - c.Aborted - c.Cancelled; u > 0 {
		p(", %d unfinished", u)
	}
	if c.Attempts > c.StreamsStarted {
		p("; %d attempts, %d streams reconnected", c.Attempts, c.StreamsReconnected)
	}
	p("\n")
	p("verdict %s\n", verdict(f))

	// Latencies.
	names := metricOrder(f.Metrics)
	if len(names) > 0 {
		p("\n%-12s %9s %9s %9s %9s %9s %9s %9s %9s\n",
			"latency (ms)", "count", "min", "mean", "p50", "p90", "p99", "p99.9", "max")
		for _, n := range names {
			m := f.Metrics[n]
			p("%-12s %9d %9s %9s %9s %9s %9s %9s %9s\n", n, m.Count,
				fmtMS(m.Min), fmtMS(m.Mean), fmtMS(m.P50), fmtMS(m.P90),
				fmtMS(m.P99), fmtMS(m.P999), fmtMS(m.Max))
		}
	} else {
		p("\nno latency samples\n")
	}

	// Counters and rates.
	p("\n%-16s %12s %12s\n", "counters", "total", "per second")
	row := func(name string, n int64, rate float64, extra string) {
		p("%-16s %12d %12s%s\n", name, n, fmtFloat(rate, 1), extra)
	}
	perS := func(n int64) float64 {
		if f.DurationS <= 0 {
			return 0
		}
		return float64(n) / f.DurationS
	}
	row("streams", c.StreamsStarted, f.Rates.StreamsPerS, "")
	extra := ""
	if c.ContentEvents > 0 || c.Comments > 0 {
		extra = fmt.Sprintf("  (%d content, %d comments)", c.ContentEvents, c.Comments)
	}
	row("events", c.Events, f.Rates.EventsPerS, extra)
	row("tokens", c.Tokens, f.Rates.TokensPerS, "")
	row("bytes", c.Bytes, perS(c.Bytes), "  ("+fmtBytes(c.Bytes)+")")
	if c.Reconnects > 0 || c.IDsLost > 0 || c.IDsDuplicated > 0 {
		row("reconnects", c.Reconnects, perS(c.Reconnects), fmt.Sprintf("  (%d streams reconnected)", c.StreamsReconnected))
		row("ids lost", c.IDsLost, perS(c.IDsLost), "")
		row("ids duplicated", c.IDsDuplicated, perS(c.IDsDuplicated), "")
	}
	if c.Redirects > 0 {
		row("redirects", c.Redirects, perS(c.Redirects), "")
	}
	if c.ArrivalsDropped > 0 {
		row("arrivals dropped", c.ArrivalsDropped, perS(c.ArrivalsDropped), "")
	}
	if enc := encodingSummary(c.ContentEncoding); enc != "" {
		p("content encoding %s\n", enc)
	}

	// Errors and why.
	writeErrors(bw, f)
	writeFailures(bw, f.Failures)

	// Thresholds.
	if len(f.Thresholds) > 0 {
		p("\n")
		writeThresholds(bw, f.Thresholds)
	}

	// Generator health and notes.
	writeGenerator(bw, f)
	writeShards(bw, f)
	if len(f.Notes) > 0 {
		p("\nnotes\n")
		for _, n := range f.Notes {
			p("  - %s\n", Escape(n))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write text summary: %w", err)
	}
	return nil
}

// WriteThresholds writes the threshold verdicts of f, one line each:
// PASS or FAIL, the expression, and the observed value (or why nothing was
// observed). It writes nothing when f has no thresholds.
func WriteThresholds(w io.Writer, f *File) error {
	if len(f.Thresholds) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	writeThresholds(bw, f.Thresholds)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write thresholds: %w", err)
	}
	return nil
}

func writeThresholds(w io.Writer, ths []ThresholdResult) {
	width := 0
	for _, t := range ths {
		width = max(width, len(t.Expr))
	}
	fmt.Fprintf(w, "thresholds\n")
	for _, t := range ths {
		mark := "PASS"
		if !t.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-*s  %s\n", mark, width, t.Expr, t.Observation())
	}
}

// Observation says what a threshold observed, for humans: "observed
// 212.4 ms", "observed 1.20%", or the reason nothing was observed.
func (r ThresholdResult) Observation() string {
	if r.Error != "" {
		return r.Error
	}
	return "observed " + fmtObserved(r.Observed, r.Unit)
}

// verdict is the header's verdict line.
func verdict(f *File) string {
	failed := 0
	for _, t := range f.Thresholds {
		if !t.Pass {
			failed++
		}
	}
	var v string
	unserved := Unserved(f) != ""
	switch {
	case unserved && failed > 0:
		v = fmt.Sprintf("FAIL (no stream succeeded; %d of %d thresholds failed)", failed, len(f.Thresholds))
	case unserved:
		v = "FAIL (no stream succeeded)"
	case len(f.Thresholds) == 0:
		v = "none (no thresholds)"
	case failed == 0:
		v = fmt.Sprintf("PASS (%d thresholds)", len(f.Thresholds))
	default:
		v = fmt.Sprintf("FAIL (%d of %d thresholds failed)", failed, len(f.Thresholds))
	}
	if f.Degraded {
		v += ", DEGRADED"
	}
	return v
}

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
// µs resolution.
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

// fmtPct formats a fraction as a percentage.
func fmtPct(frac float64) string {
	p := frac * 100
	if p != 0 && math.Abs(p) < 0.01 {
		return strconv.FormatFloat(p, 'g', 2, 64) + "%"
	}
	return fmtFloat(p, 2) + "%"
}

// fmtObserved formats a threshold's observed value in its unit.
func fmtObserved(v float64, unit string) string {
	switch unit {
	case scenarios.UnitMillis:
		return fmtMS(v) + " ms"
	case scenarios.UnitFraction:
		return fmtPct(v)
	case scenarios.UnitPerSecond:
		return fmtFloat(v, 1) + "/s"
	default:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
}

// fmtBytes formats a byte count with a binary unit.
func fmtBytes(n int64) string {
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
