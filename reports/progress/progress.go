// Package progress draws the live view of a running load test on stderr:
// mpb bars on a terminal, a plain status line every few seconds otherwise.
// It reads a Snapshot a few times a second from a function the caller
// supplies, never per event, so the swarm's hot path never waits on the
// view. It is the only package that imports mpb; it knows nothing of the
// aggregator's concrete types.
package progress

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Snapshot is what the live view shows at one moment. The caller fills it
// from the aggregator's and the swarm's state; zero fields are shown as
// unknown or omitted.
type Snapshot struct {
	// Elapsed is the time since load started.
	Elapsed time.Duration
	// Duration is the planned length of the run (0: unknown).
	Duration time.Duration
	// Stage names the current ramp stage, e.g. "stage 2/3" or "hold"
	// after the last one; "" when the scenario has no stages.
	Stage string
	// Target is what the load model aims for now: concurrent streams in the
	// closed model, arrivals per second in the open model (Open true).
	Target float64
	// Open tells that Target is an arrival rate (streams per second).
	Open bool
	// Active is the number of streams open now.
	Active int64
	// Started is the number of stream attempts started so far.
	Started int64
	// Events is the number of events dispatched so far.
	Events int64
	// EventsPerS is the recent event rate, events per second.
	EventsPerS float64
	// Errors is the number of failed stream attempts so far.
	Errors int64
	// TTFTP50 and TTFTP99 are recent time-to-first-token percentiles (0: no
	// sample yet).
	TTFTP50, TTFTP99 time.Duration
	// LagP99 is the recent 99th percentile of the schedule lag (queue) in
	// the open model.
	LagP99 time.Duration
	// Generator is the load generator's health over the last second, in
	// words: "ok cpu 0.41/2 sched p99 0.050 ms timer p99 0.210 ms", or
	// "DEGRADED ..." when the generator limits the numbers ("": unknown).
	Generator string
}

// Mode selects how the view is drawn.
type Mode int

// The modes.
const (
	// Off draws nothing (--quiet).
	Off Mode = iota
	// Lines writes one plain status line every Options.LineEvery, and a
	// final one when the run ends: for logs and CI, where stderr is not a
	// terminal.
	Lines
	// Bars draws mpb bars refreshed every Options.Refresh: for terminals.
	Bars
)

// DefaultRefresh is how often Bars mode reads a Snapshot: 4 times a second.
const DefaultRefresh = 250 * time.Millisecond

// DefaultLineEvery is how often Lines mode writes a status line.
const DefaultLineEvery = 5 * time.Second

// Options configure a View. The zero value is Off.
type Options struct {
	// Mode is Off, Lines or Bars.
	Mode Mode
	// Refresh is how often Bars mode reads the source and redraws.
	// Default DefaultRefresh.
	Refresh time.Duration
	// LineEvery is the interval between status lines in Lines mode.
	// Default DefaultLineEvery.
	LineEvery time.Duration
	// Width is the bars' width in columns when the writer is not a
	// terminal (on a terminal mpb uses its width). Default 100.
	Width int
	// Prefix starts every status line in Lines mode. Default "ssebench".
	Prefix string
}

// View draws the live view of one run. Create it with New and call Run once.
type View struct {
	w    io.Writer
	opts Options
	// last is the most recent Snapshot, read by mpb's decorator goroutines.
	last atomic.Pointer[Snapshot]
}

// New returns a View writing to w (normally stderr).
func New(w io.Writer, opts Options) *View {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.LineEvery <= 0 {
		opts.LineEvery = DefaultLineEvery
	}
	if opts.Width <= 0 {
		opts.Width = 100
	}
	if opts.Prefix == "" {
		opts.Prefix = "ssebench"
	}
	v := &View{w: w, opts: opts}
	v.last.Store(&Snapshot{})
	return v
}

// Run reads source periodically and draws until ctx is done, then reads it
// exactly once more (a tick that finds ctx already done is skipped), draws
// the final state and returns. source must be safe to call
// from Run's goroutine while the run goes on; it is called at most once per
// Refresh (Bars) or LineEvery (Lines), never per event. In Off mode Run
// just waits for ctx.
func (v *View) Run(ctx context.Context, source func() Snapshot) {
	switch v.opts.Mode {
	case Lines:
		v.runLines(ctx, source)
	case Bars:
		v.runBars(ctx, source)
	default:
		<-ctx.Done()
	}
}

func (v *View) runLines(ctx context.Context, source func() Snapshot) {
	t := time.NewTicker(v.opts.LineEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if ctx.Err() != nil {
				continue // the run ended: write the final line once, below
			}
			fmt.Fprintln(v.w, Line(v.opts.Prefix, source()))
		case <-ctx.Done():
			fmt.Fprintln(v.w, Line(v.opts.Prefix, source()))
			return
		}
	}
}

// Line formats s as one plain status line, e.g.
//
//	ssebench 5.0s/10s streams 1000/1000 started 1000 events 20041/s (100205) errors 0 ttft p50 201.3ms p99 214.9ms
func Line(prefix string, s Snapshot) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte(' ')
	b.WriteString(clock(s))
	if s.Stage != "" {
		b.WriteByte(' ')
		b.WriteString(s.Stage)
	}
	b.WriteByte(' ')
	b.WriteString(streams(s))
	fmt.Fprintf(&b, " started %d events %s/s (%d) errors %d", s.Started, count(s.EventsPerS), s.Events, s.Errors)
	b.WriteByte(' ')
	b.WriteString(ttft(s))
	if s.Open && s.LagP99 > 0 {
		fmt.Fprintf(&b, " lag p99 %s", ms(s.LagP99))
	}
	if s.Generator != "" {
		b.WriteString(" generator " + s.Generator)
	}
	return b.String()
}

// clock renders "elapsed/duration".
func clock(s Snapshot) string {
	el := s.Elapsed.Truncate(100 * time.Millisecond)
	if s.Duration <= 0 {
		return fmt.Sprintf("%.1fs", el.Seconds())
	}
	return fmt.Sprintf("%.1fs/%s", el.Seconds(), s.Duration)
}

// streams renders the active streams against the target.
func streams(s Snapshot) string {
	if s.Open {
		return fmt.Sprintf("streams %d (target %s/s)", s.Active, count(s.Target))
	}
	if s.Target > 0 {
		return fmt.Sprintf("streams %d/%s", s.Active, count(s.Target))
	}
	return fmt.Sprintf("streams %d", s.Active)
}

// ttft renders the live TTFT percentiles.
func ttft(s Snapshot) string {
	if s.TTFTP50 <= 0 && s.TTFTP99 <= 0 {
		return "ttft p50 - p99 -"
	}
	return fmt.Sprintf("ttft p50 %s p99 %s", ms(s.TTFTP50), ms(s.TTFTP99))
}

// ms renders d in milliseconds with one decimal, e.g. "201.3ms".
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
}

// count renders a non-negative quantity without decimals when it is
// large, e.g. 20041 or 12.5.
func count(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return "0"
	}
	if f >= 100 || f == math.Trunc(f) {
		return strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}
