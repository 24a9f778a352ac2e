package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// The HdrHistogram interval log (--hlog FILE) is the format HdrHistogram's
// own tools read (HistogramLogProcessor, HdrHistogramVisualizer,
// hdrhistogram-go's HistogramLogReader):
//
//	#[ssebench interval log: values in microseconds; ...]
//	#[Histogram log format version 1.3]
//	#[StartTime: 1700000000.000 (seconds since epoch), 2023-11-14T22:13:20Z]
//	#[BaseTime: 1700000000.000 (seconds since epoch)]
//	"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//	Tag=ttft,0.000,1.000,12.345,HISTFAAAA...
//
// Timestamps are seconds relative to BaseTime (the run's Start),
// Interval_Max is in milliseconds, and the histograms hold microseconds, so
// HistogramLogProcessor wants -outputValueUnitRatio 1000 to print
// milliseconds. Every tick has one line per metric that has had samples so
// far (an empty histogram when it had none in that tick), tagged with the
// metric's name, so "-tag ttft" selects one metric.
//
// The log is written as the run goes: the header when Consume starts and
// each tick's lines when the tick closes. When the writer can flush (it has
// a Flush() error method, as a *bufio.Writer does), it is flushed after the
// header and after every tick, so a file being written holds every closed
// tick and a soak can be watched with HdrHistogram's tools while it runs
// (at most one tick of lines, a few KiB, waits in the buffer).

// writeHLogHeader writes the log's header lines once.
func (a *Aggregator) writeHLogHeader() {
	if a.hlog == nil || a.hlogHdr {
		return
	}
	a.hlogHdr = true
	a.setHLogErr(writeHLogHeaderTo(a.hlog, a.start))
	a.flushHLog()
}

// writeHLogHeaderTo writes an interval log's header lines, its base time
// (the time zero of its timestamps) start.
func writeHLogHeaderTo(w io.Writer, start time.Time) error {
	st := start.Round(0)
	secs := float64(st.UnixMilli()) / 1000
	_, err := fmt.Fprintf(w,
		"#[ssebench interval log: values in microseconds; HistogramLogProcessor -outputValueUnitRatio 1000 prints milliseconds]\n"+
			"#[Histogram log format version 1.3]\n"+
			"#[StartTime: %.3f (seconds since epoch), %s]\n"+
			"#[BaseTime: %.3f (seconds since epoch)]\n"+
			"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
		secs, st.UTC().Format(time.RFC3339Nano), secs)
	return err
}

// writeHLogLine writes one interval line: metric's histogram (its
// encoding enc, its largest value max) over [from, to) elapsed.
func writeHLogLine(w io.Writer, metric string, from, to, max time.Duration, enc string) error {
	_, err := fmt.Fprintf(w, "Tag=%s,%.3f,%.3f,%.3f,%s\n",
		metric, from.Seconds(), (to - from).Seconds(), float64(max)/float64(time.Millisecond), enc)
	return err
}

// writeHLogTick writes tick n's histograms, [from, to) elapsed, and hands
// them to OnHLogTick. After the first write error it does neither.
func (a *Aggregator) writeHLogTick(n int, from, to time.Duration) {
	if (a.hlog == nil && a.onHLog == nil) || a.hlogErr != nil {
		return
	}
	if a.writeHLogHeader(); a.hlogErr != nil {
		return
	}
	var tick *HLogTick
	if a.onHLog != nil {
		tick = &HLogTick{N: n, Start: a.start.Round(0), Interval: a.interval, From: from, To: to, Hist: map[string]string{}}
	}
	for m, h := range a.tick {
		if a.cum[m].Count() == 0 && h.Count() == 0 {
			continue // never measured (tick histograms fold into cum after this)
		}
		enc, err := h.Encode()
		if err != nil {
			a.setHLogErr(err)
			return
		}
		name := scenarios.Metric(m).String()
		if a.hlog != nil {
			if err := writeHLogLine(a.hlog, name, from, to, h.Max(), enc); err != nil {
				a.setHLogErr(err)
				return
			}
		}
		if tick != nil && h.Count() > 0 {
			tick.Hist[name] = enc
		}
	}
	a.flushHLog()
	if tick != nil {
		a.onHLog(tick)
	}
}

// Err returns the first error writing the interval log (HLog), or nil.
// Call it after Consume has returned.
func (a *Aggregator) Err() error { return a.hlogErr }

// HLogTick is one closed tick of a run's interval log, for a parent
// process that writes the log of several workers (HLogMerge): the
// aggregator's Start and tick length, the tick's number and span, and the
// V2 compressed encoding of every metric's values in the tick (metrics
// without values in it are left out). It travels as JSON.
//
// Why not the Deltas: a worker that cannot send fast enough folds several
// Deltas into one (Delta.Add), which may then span a tick's end, and
// where a tick ends is decided by the worker's own clock; the interval
// log needs each tick exactly, so the worker sends the tick as it closes.
type HLogTick struct {
	N        int               `json:"n"` // 1, 2, ...: the tick [(N-1)·Interval, N·Interval)
	Start    time.Time         `json:"start"`
	Interval time.Duration     `json:"interval_ns"`
	From     time.Duration     `json:"from_ns"` // elapsed since Start
	To       time.Duration     `json:"to_ns"`   // N·Interval, or the run's end for its last tick
	Hist     map[string]string `json:"hist"`
}

// UnmarshalJSON decodes an HLogTick and checks it: a tick number from 1,
// a positive tick length, a span within the tick, known metric names
// (at most MaxDeltaMetrics). The histograms are decoded where they are
// merged (HLogMerge), into sparse storage, which reports one that does not
// decode.
func (t *HLogTick) UnmarshalJSON(b []byte) error {
	type plain HLogTick
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("interval tick: %w", err)
	}
	switch {
	case p.N < 1 || p.Interval <= 0:
		return fmt.Errorf("interval tick %d: want a tick number from 1 and a positive length (%s)", p.N, p.Interval)
	case p.From < 0 || p.To < p.From || p.To-p.From > p.Interval:
		return fmt.Errorf("interval tick %d: span %s..%s is not within one %s tick", p.N, p.From, p.To, p.Interval)
	case len(p.Hist) > MaxDeltaMetrics:
		return fmt.Errorf("interval tick %d: %d histograms, at most %d metrics exist", p.N, len(p.Hist), MaxDeltaMetrics)
	}
	for name := range p.Hist {
		if _, ok := scenarios.ParseMetric(name); !ok {
			return fmt.Errorf("interval tick %d: unknown metric %q", p.N, truncateKey(name))
		}
	}
	*t = HLogTick(p)
	return nil
}

// flusher is a writer that buffers (a *bufio.Writer).
type flusher interface{ Flush() error }

// flushHLog flushes the interval log when its writer buffers, so that the
// lines written so far reach the file.
func (a *Aggregator) flushHLog() {
	if f, ok := a.hlog.(flusher); ok && a.hlogErr == nil {
		a.setHLogErr(f.Flush())
	}
}

func (a *Aggregator) setHLogErr(err error) {
	if err != nil && a.hlogErr == nil {
		a.hlogErr = fmt.Errorf("write interval log: %w", err)
	}
}
