package capacity

import (
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// Filter sits between a step's swarm and its aggregator: it drops every
// Result of a stream scheduled before the warm-up ended (so the warm-up is
// excluded from every number) and judges each measured stream against the
// SLOs for goodput (see reports.Goodput). Its memory is one small entry per
// stream in flight, removed when the stream's last Result passes.
type Filter struct {
	warmEnd time.Time
	bounds  []streamBound
	open    map[uint64]*streamState
	g       reports.Goodput
}

// streamBound is one per-stream objective: metric m must satisfy t.
type streamBound struct {
	m scenarios.Metric
	t scenarios.Threshold
}

type streamState struct {
	seen   uint16 // metrics seen, by bit
	missed bool
}

// NewFilter returns the filter of a step whose warm-up ends at warmEnd,
// judging goodput by slos (as judged: see JudgedSLOs).
func NewFilter(warmEnd time.Time, slos []scenarios.Threshold) *Filter {
	f := &Filter{warmEnd: warmEnd, open: map[uint64]*streamState{}}
	for _, t := range slos {
		m, latency := scenarios.ParseMetric(t.Metric)
		if !latency || t.Stat == scenarios.StatCount || !perStream(m) {
			continue
		}
		f.bounds = append(f.bounds, streamBound{m: m, t: t})
	}
	return f
}

// perStream reports whether m is measured once per stream.
func perStream(m scenarios.Metric) bool {
	switch m {
	case scenarios.TTFB, scenarios.TTFE, scenarios.TTFT, scenarios.TPOT, scenarios.E2E,
		scenarios.Queue, scenarios.TTFTSched, scenarios.E2ESched:
		return true
	}
	return false
}

// Run forwards in's measured Results to the returned channel, which is
// closed when in is. Dropped Results are released here.
func (f *Filter) Run(in <-chan *scenarios.Result) <-chan *scenarios.Result {
	out := make(chan *scenarios.Result, cap(in))
	go func() {
		defer close(out)
		for r := range in {
			if r.Sched.Before(f.warmEnd) {
				r.Release()
				continue
			}
			f.observe(r)
			out <- r
		}
	}()
	return out
}

// observe judges one measured Result.
func (f *Filter) observe(r *scenarios.Result) {
	if r.Kind == scenarios.KindDropped {
		f.g.Judged++ // an arrival that never started misses every objective
		return
	}
	st := f.open[r.Stream]
	if st == nil {
		st = &streamState{}
		f.open[r.Stream] = st
	}
	for _, b := range f.bounds {
		if r.Has&(1<<b.m) == 0 {
			continue
		}
		st.seen |= 1 << b.m
		if !b.t.Check(float64(r.Values[b.m]) / 1e6) {
			st.missed = true
		}
	}
	if r.Kind != scenarios.KindEnd || !r.Final {
		return
	}
	delete(f.open, r.Stream)
	failed := r.Err != scenarios.ErrNone
	if r.Cancelled && !failed && !st.missed {
		f.g.Cut++ // cut by the end of the step before it could be judged
		return
	}
	f.g.Judged++
	if failed || st.missed {
		return
	}
	for _, b := range f.bounds {
		if st.seen&(1<<b.m) == 0 && b.m != scenarios.TPOT && (b.m != scenarios.E2E && b.m != scenarios.E2ESched || !r.Aborted) {
			return // never measured: no first token, say
		}
	}
	f.g.Good++
}

// Goodput returns the counts once Run's output is drained, with the rate
// per second of measured.
func (f *Filter) Goodput(measured time.Duration) *reports.Goodput {
	g := f.g
	g.Cut += int64(len(f.open)) // streams whose last Result never came
	if g.Judged > 0 {
		g.Fraction = float64(g.Good) / float64(g.Judged)
	}
	if measured > 0 {
		g.PerS = float64(g.Good) / measured.Seconds()
	}
	return &g
}
