package reports

import (
	"bufio"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// writeErrors writes the error table: per key ("dial", "http_status:401"),
// the streams it failed and the attempts that failed with it.
func writeErrors(w *bufio.Writer, f *File) {
	c := f.Counters
	if len(c.Errors) == 0 && len(c.AttemptErrors) == 0 {
		return
	}
	keys := map[string]bool{}
	var attempts int64
	for k := range c.Errors {
		keys[k] = true
	}
	for k, n := range c.AttemptErrors {
		keys[k] = true
		attempts += n
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b string) int {
		return cmp.Or(cmp.Compare(c.Errors[b], c.Errors[a]), cmp.Compare(c.AttemptErrors[b], c.AttemptErrors[a]), strings.Compare(a, b))
	})
	fmt.Fprintf(w, "\nerrors (failed streams: %d", c.StreamsFailed)
	if c.StreamsStarted > 0 {
		fmt.Fprintf(w, " = %s of started", humanPercent(float64(c.StreamsFailed)/float64(c.StreamsStarted)))
	}
	fmt.Fprintf(w, "; failed attempts: %d)\n", attempts)
	fmt.Fprintf(w, "  %-22s %10s %10s\n", "class", "streams", "attempts")
	for _, k := range sorted {
		fmt.Fprintf(w, "  %-22s %10d %10d\n", k, c.Errors[k], c.AttemptErrors[k])
	}
}

// writeFailures writes the failure reasons: per class, its most frequent
// messages with their counts (attempts / streams) and one sample each.
func writeFailures(w *bufio.Writer, fs []FailureClass) {
	if len(fs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nwhy (failed attempts / streams ended, per message)\n")
	for _, fc := range fs {
		fmt.Fprintf(w, "  %s: %d / %d\n", fc.Class, fc.Attempts, fc.Streams)
		for _, m := range fc.Messages {
			counts := strconv.FormatInt(m.Attempts, 10) + " / " + strconv.FormatInt(m.Streams, 10)
			fmt.Fprintf(w, "    %13s  %s\n", counts, Escape(m.Detail))
			if m.Sample != "" {
				fmt.Fprintf(w, "    %13s  sample: %s\n", "", strconv.Quote(m.Sample))
			}
		}
	}
}

// writeGenerator writes the generator's health: one line of measures, and
// the degraded warning with its reasons.
func writeGenerator(w *bufio.Writer, f *File) {
	g := f.Generator
	if g != nil && g.Measured {
		fmt.Fprintf(w, "\ngenerator  %s of %d CPUs busy, scheduler latency p99 %s ms, timer lateness p99 %s ms",
			fmtFloat(g.CPUsUsed, 2), g.GOMAXPROCS, fmtMS(g.SchedP99), fmtMS(g.TimerP99))
		if g.ScheduleLagP99 > 0 {
			fmt.Fprintf(w, ", schedule lag p99 %s ms", fmtMS(g.ScheduleLagP99))
		}
		if g.EmbeddedMock {
			fmt.Fprint(w, " (the embedded mock included)")
		}
		if !f.Degraded {
			fmt.Fprint(w, ": ok")
		}
		fmt.Fprintln(w)
	}
	if !f.Degraded {
		return
	}
	fmt.Fprintf(w, "\nWARNING: degraded run: the load generator, not the target, limited the numbers; latencies include client-side delay\n")
	if g != nil {
		for _, r := range g.Reasons {
			fmt.Fprintf(w, "  - %s\n", Escape(r))
		}
	}
}

// encodingSummary lists the attempts by Content-Encoding, most first:
// "gzip 990, identity 10" ("" when none was counted).
func encodingSummary(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, Escape(k)+" "+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, ", ")
}
