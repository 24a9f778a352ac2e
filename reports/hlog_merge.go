package reports

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/scenarios"
)

// HLogMerge writes the interval log of a run whose aggregators are in
// other processes (run --procs): each worker's closed ticks (HLogTick)
// come in, and the log gets one line per metric per interval holding the
// sum over the workers, in the format and with the tags of a single
// process's log, flushed after every interval.
//
// Intervals are aligned on wall time, as Merge aligns the JSON result's:
// the log's base time is the earliest worker's Start, and a worker's tick
// N belongs to interval round((Start + N·Interval - base) / Interval), so
// workers that started a fraction of a tick apart share intervals and
// the log's intervals are the merged result's. Interval k is written once
// every worker has sent a tick of interval k or later, or has ended; a
// worker's ticks come in order. The base time is known once every worker
// has sent its first tick or ended; until then nothing is written.
//
// Memory: one sparse histogram per metric per interval not yet written
// (the intervals a slow worker lags behind the others). Safe for
// concurrent use: each worker's reader calls Add and Done.
type HLogMerge struct {
	mu       sync.Mutex
	w        io.Writer
	workers  []hlogWorker
	base     time.Time // zero until known
	interval time.Duration
	next     int64 // the next interval to write, from 1
	maxSlot  int64 // the highest interval a tick fell into
	slots    map[int64]*hlogSlot
	seen     [scenarios.NumMetrics]bool // metrics with values so far: each gets a line in every later interval
	err      error
}

// hlogWorker is what HLogMerge knows of one worker.
type hlogWorker struct {
	early []*HLogTick // received before the base time was known
	last  int64       // the highest interval it sent a tick of
	done  bool
}

// hlogSlot is one interval being summed.
type hlogSlot struct {
	span time.Duration // the longest tick in it
	hist [scenarios.NumMetrics]*hdrhistogram.PackedHistogram
}

// NewHLogMerge returns an HLogMerge writing to w for workers workers
// (numbered 0 .. workers-1 in Add and Done). When w has a Flush() error
// method, it is flushed after the header and after every interval.
func NewHLogMerge(w io.Writer, workers int) *HLogMerge {
	return &HLogMerge{w: w, workers: make([]hlogWorker, workers), next: 1, slots: map[int64]*hlogSlot{}}
}

// Add takes worker k's next closed tick.
func (m *HLogMerge) Add(k int, t *HLogTick) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil || k < 0 || k >= len(m.workers) || t == nil {
		return
	}
	if m.base.IsZero() {
		m.workers[k].early = append(m.workers[k].early, t)
		m.findBase()
		return
	}
	m.place(k, t)
	m.writeReady()
}

// Done says that worker k sends no more ticks (it ended, or died).
func (m *HLogMerge) Done(k int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k < 0 || k >= len(m.workers) {
		return
	}
	m.workers[k].done = true
	if m.base.IsZero() {
		m.findBase()
		return
	}
	m.writeReady()
}

// Close ends the log once every worker is done (or gone): every interval
// received is written, and a log that got no tick at all gets its header,
// based at fallback. It returns the first error writing or merging.
func (m *HLogMerge) Close(fallback time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.workers {
		m.workers[k].done = true
	}
	if m.base.IsZero() {
		m.findBase()
	}
	if m.base.IsZero() && m.err == nil {
		m.base = fallback
		m.setErr(writeHLogHeaderTo(m.w, fallback))
		m.flush()
	}
	m.writeReady()
	return m.err
}

// findBase fixes the base time once every worker has sent a tick or
// ended (the earliest Start of the ticks received), writes the header,
// and places the ticks received so far.
func (m *HLogMerge) findBase() {
	var base time.Time
	for _, w := range m.workers {
		if len(w.early) == 0 && !w.done {
			return
		}
		if len(w.early) > 0 && (base.IsZero() || w.early[0].Start.Before(base)) {
			base = w.early[0].Start
		}
	}
	if base.IsZero() {
		return // no tick at all yet: every worker ended without one
	}
	m.base = base
	for _, w := range m.workers {
		if len(w.early) > 0 {
			m.interval = w.early[0].Interval
			break
		}
	}
	m.setErr(writeHLogHeaderTo(m.w, base))
	m.flush()
	for k := range m.workers {
		for _, t := range m.workers[k].early {
			m.place(k, t)
		}
		m.workers[k].early = nil
	}
	m.writeReady()
}

// place adds worker k's tick t to its interval.
func (m *HLogMerge) place(k int, t *HLogTick) {
	if m.err != nil {
		return
	}
	if t.Interval != m.interval {
		m.setErr(fmt.Errorf("worker %d: tick length %s, the others' %s", k+1, t.Interval, m.interval))
		return
	}
	at := t.Start.Add(time.Duration(t.N) * t.Interval)
	slot := int64(math.Round(float64(at.Sub(m.base)) / float64(m.interval)))
	if slot < m.next { // a worker's ticks come in order: cannot happen
		m.setErr(fmt.Errorf("worker %d: tick %d falls into interval %d, already written", k+1, t.N, slot))
		return
	}
	sl := m.slots[slot]
	if sl == nil {
		sl = &hlogSlot{}
		m.slots[slot] = sl
	}
	sl.span = max(sl.span, t.To-t.From)
	for name, enc := range t.Hist {
		mt, ok := scenarios.ParseMetric(name)
		if !ok {
			continue // HLogTick's decoding refuses unknown metrics
		}
		var err error
		if sl.hist[mt], err = mergeSparse(sl.hist[mt], enc); err != nil {
			m.setErr(fmt.Errorf("worker %d, tick %d, %s: %w", k+1, t.N, name, err))
			return
		}
	}
	m.workers[k].last = max(m.workers[k].last, slot)
	m.maxSlot = max(m.maxSlot, slot)
}

// writeReady writes, in order, every interval that every worker has
// passed or that no worker still running can add to.
func (m *HLogMerge) writeReady() {
	for m.err == nil {
		for _, w := range m.workers {
			if !w.done && w.last < m.next {
				return
			}
		}
		if m.next > m.maxSlot {
			return // every worker is done, and everything received written
		}
		m.writeSlot(m.next, m.slots[m.next])
		delete(m.slots, m.next)
		m.next++
	}
}

// writeSlot writes interval k's lines: one per metric with values so far
// (an empty histogram when it had none in k), as a single process's log
// has. An interval no tick fell into (the workers' runs did not overlap)
// is a whole empty interval.
func (m *HLogMerge) writeSlot(k int64, sl *hlogSlot) {
	span := m.interval
	if sl != nil {
		span = sl.span
	}
	from := time.Duration(k-1) * m.interval
	for mt := range scenarios.NumMetrics {
		var h *hdrhistogram.PackedHistogram
		if sl != nil {
			h = sl.hist[mt]
		}
		if h != nil && h.TotalCount() > 0 {
			m.seen[mt] = true
		}
		if !m.seen[mt] {
			continue
		}
		var top time.Duration
		if h == nil || h.TotalCount() == 0 {
			h = hdrhistogram.NewPacked(histLowest, histHighest, HistogramDigits)
		} else {
			top = us(h.Max())
		}
		enc, err := encodeSparse(h)
		if err == nil {
			err = writeHLogLine(m.w, mt.String(), from, from+span, top, enc)
		}
		if m.setErr(err); m.err != nil {
			return
		}
	}
	m.flush()
}

// flush flushes w when it buffers.
func (m *HLogMerge) flush() {
	if f, ok := m.w.(flusher); ok && m.err == nil {
		m.setErr(f.Flush())
	}
}

func (m *HLogMerge) setErr(err error) {
	if err != nil && m.err == nil {
		m.err = fmt.Errorf("write interval log: %w", err)
	}
}
