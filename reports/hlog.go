package reports

import (
	"fmt"
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
	st := a.start.Round(0)
	secs := float64(st.UnixMilli()) / 1000
	_, err := fmt.Fprintf(a.hlog,
		"#[ssebench interval log: values in microseconds; HistogramLogProcessor -outputValueUnitRatio 1000 prints milliseconds]\n"+
			"#[Histogram log format version 1.3]\n"+
			"#[StartTime: %.3f (seconds since epoch), %s]\n"+
			"#[BaseTime: %.3f (seconds since epoch)]\n"+
			"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
		secs, st.UTC().Format(time.RFC3339Nano), secs)
	a.setHLogErr(err)
	a.flushHLog()
}

// writeHLogTick writes the closing tick's histograms, [from, to) elapsed.
// After the first write error it writes nothing more.
func (a *Aggregator) writeHLogTick(from, to time.Duration) {
	if a.hlog == nil || a.hlogErr != nil {
		return
	}
	if a.writeHLogHeader(); a.hlogErr != nil {
		return
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
		_, err = fmt.Fprintf(a.hlog, "Tag=%s,%.3f,%.3f,%.3f,%s\n",
			scenarios.Metric(m), from.Seconds(), (to - from).Seconds(),
			float64(h.Max())/float64(time.Millisecond), enc)
		if err != nil {
			a.setHLogErr(err)
			return
		}
	}
	a.flushHLog()
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
