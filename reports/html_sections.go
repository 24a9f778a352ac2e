package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// htmlFailureClass is one error class of the "why" table.
type htmlFailureClass struct {
	Class, Hint, Attempts, Streams string
	Messages                       []htmlFailureMessage
}

// htmlFailureMessage is one message of a class, escaped for display
// (control bytes and invisible characters as \x.. escapes; html/template
// then escapes the markup).
type htmlFailureMessage struct {
	Detail, Attempts, Streams, Sample string
	Other                             bool
}

func htmlFailures(fs []FailureClass) []htmlFailureClass {
	out := make([]htmlFailureClass, 0, len(fs))
	for _, fc := range fs {
		c := htmlFailureClass{
			Class: fc.Class, Hint: htmlErrorHints[fc.Class],
			Attempts: humanCount(fc.Attempts), Streams: humanCount(fc.Streams),
		}
		for _, m := range fc.Messages {
			c.Messages = append(c.Messages, htmlFailureMessage{
				Detail: Escape(m.Detail), Attempts: humanCount(m.Attempts), Streams: humanCount(m.Streams),
				Sample: Escape(m.Sample), Other: m.Detail == OtherMessages,
			})
		}
		out = append(out, c)
	}
	return out
}

// htmlGenerator is the generator health box.
type htmlGenerator struct {
	Measured bool
	Rows     []htmlKV
	Reasons  []string
}

func htmlGeneratorOf(f *File) *htmlGenerator {
	g := f.Generator
	if g == nil {
		return nil
	}
	v := &htmlGenerator{Measured: g.Measured}
	for _, r := range g.Reasons {
		v.Reasons = append(v.Reasons, Escape(r))
	}
	if g.Measured {
		busy := fmt.Sprintf("%.2f of %d", g.CPUsUsed, g.GOMAXPROCS)
		if g.EmbeddedMock {
			busy += " (the embedded mock included)"
		}
		v.Rows = append(v.Rows,
			htmlKV{"CPUs busy", busy, fmt.Sprintf("user + system CPU time / wall time; CPU-bound at %.0f%% of GOMAXPROCS", g.Limits.CPUFraction*100)},
			htmlKV{"scheduler latency p99", humanMs(g.SchedP99), fmt.Sprintf("runnable → running; degraded at %s when CPU-bound, %s otherwise", humanMs(g.Limits.BusySched), humanMs(g.Limits.Sched))},
			htmlKV{"timer lateness p99", humanMs(g.TimerP99), fmt.Sprintf("a 10 ms wake-up, max %s; degraded at %s", humanMs(g.TimerMax), humanMs(g.Limits.Timer))},
		)
	}
	if g.ScheduleLagP99 > 0 {
		v.Rows = append(v.Rows, htmlKV{"schedule lag p99", humanMs(g.ScheduleLagP99), fmt.Sprintf("open model: queue p99; degraded over %s", humanMs(g.Limits.Lag))})
	}
	return v
}

// htmlErrorRows lists every error key with the streams it failed and the
// attempts that failed with it, most streams first.
func htmlErrorRows(c Counters) ([]htmlErrorRow, string) {
	keys := map[string]bool{}
	var total int64
	for k, n := range c.Errors {
		keys[k] = true
		total += n
	}
	for k := range c.AttemptErrors {
		keys[k] = true
	}
	all := make([]string, 0, len(keys))
	for k := range keys {
		all = append(all, k)
	}
	slices.SortFunc(all, func(a, b string) int {
		return cmp.Or(cmp.Compare(c.Errors[b], c.Errors[a]), cmp.Compare(c.AttemptErrors[b], c.AttemptErrors[a]), strings.Compare(a, b))
	})
	rows := make([]htmlErrorRow, 0, len(all))
	for _, k := range all {
		n := c.Errors[k]
		class, detail, _ := strings.Cut(k, ":")
		hint := htmlErrorHints[class]
		if class == "http_status" && detail != "" {
			hint = "HTTP " + detail + " response"
		}
		r := htmlErrorRow{Class: k, Hint: hint, Count: humanCount(n), Attempts: humanCount(c.AttemptErrors[k]), Share: "–", OfStarted: "–"}
		if total > 0 {
			r.Share = humanPercent(float64(n) / float64(total))
			r.Bar = svgRound(100 * float64(n) / float64(total))
		}
		if c.StreamsStarted > 0 {
			r.OfStarted = humanPercent(float64(n) / float64(c.StreamsStarted))
		}
		rows = append(rows, r)
	}
	return rows, humanCount(total)
}

func htmlCounterRows(c Counters, r Rates) []htmlKV {
	rows := []htmlKV{
		{"streams started", humanCount(c.StreamsStarted), "streams begun (a stream that reconnects counts once)"},
		{"streams ok", humanCount(c.StreamsOK), "ended cleanly"},
		{"streams failed", humanCount(c.StreamsFailed), "their last attempt failed (see the breakdown)"},
		{"aborted", humanCount(c.Aborted), "ended on purpose by the scenario's abort rule"},
		{"cancelled", humanCount(c.Cancelled), "cut because the run ended: neither ok nor failed"},
		{"cut after events", humanCount(c.CutAfterEvents), "aborted or cancelled after at least one event"},
		{"attempts", humanCount(c.Attempts), "connections made, reconnects included"},
		{"reconnects", humanCount(c.Reconnects), "attempts after a stream's first"},
		{"streams reconnected", humanCount(c.StreamsReconnected), "streams that reconnected at least once"},
		{"redirects", humanCount(c.Redirects), "redirects followed"},
		{"events", humanCount(c.Events), "dispatched events"},
		{"content events", humanCount(c.ContentEvents), "events that carried content"},
		{"tokens", humanCount(c.Tokens), "output tokens"},
		{"bytes", humanBytes(c.Bytes), "response body bytes"},
		{"comments", humanCount(c.Comments), "comment lines (heartbeats)"},
		{"ids lost", humanCount(c.IDsLost), "events skipped after a resume"},
		{"ids duplicated", humanCount(c.IDsDuplicated), "events repeated after a resume"},
		{"arrivals dropped", humanCount(c.ArrivalsDropped), "scheduled arrivals that could not be started"},
		{"events / s", humanRate(r.EventsPerS), "over the whole run"},
		{"streams / s", humanRate(r.StreamsPerS), "over the whole run"},
		{"tokens / s", humanRate(r.TokensPerS), "over the whole run"},
	}
	if enc := encodingSummary(c.ContentEncoding); enc != "" {
		rows = append(rows, htmlKV{"content encoding", enc, "attempts by the response's Content-Encoding"})
	}
	return rows
}
