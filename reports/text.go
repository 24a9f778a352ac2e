package reports

import (
	"bufio"
	"fmt"
	"io"
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
	writeHeader(bw, f)
	writeLatencies(bw, f)
	writeCounters(bw, f)

	// Errors and why.
	writeErrors(bw, f)
	writeFailures(bw, f.Failures)

	// Thresholds.
	if len(f.Thresholds) > 0 {
		fmt.Fprintf(bw, "\n")
		writeThresholds(bw, f.Thresholds)
	}

	// Generator health, shards and notes.
	writeGenerator(bw, f)
	writeShards(bw, f)
	if len(f.Notes) > 0 {
		fmt.Fprintf(bw, "\nnotes\n")
		for _, n := range f.Notes {
			fmt.Fprintf(bw, "  - %s\n", Escape(n))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write text summary: %w", err)
	}
	return nil
}

// writeHeader writes the summary's first lines: tool, target, shard, start,
// duration, stream outcomes and the verdict.
func writeHeader(bw *bufio.Writer, f *File) {
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
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
}

// writeLatencies writes the table of every latency metric, in ms.
func writeLatencies(bw *bufio.Writer, f *File) {
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
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
}

// writeCounters writes the counters with their totals and rates per second.
func writeCounters(bw *bufio.Writer, f *File) {
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	c := f.Counters
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
	row("bytes", c.Bytes, perS(c.Bytes), "  ("+humanBytes(c.Bytes)+")")
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
