package reports

import (
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// streamResults fills the Results one LLM-like stream sends: a start, the
// first-event metrics, batches of 64 gaps and ITLs, and the end. It returns
// the number of events they carry. Latencies vary so that many histogram
// buckets are touched, as in a real run.
func streamResults(stream int, events int, send func(*scenarios.Result)) int {
	r := scenarios.NewResult()
	r.Kind, r.Stream = scenarios.KindStart, uint64(stream)
	r.Set(scenarios.Queue, time.Duration(stream%997)*time.Microsecond)
	send(r)
	r = scenarios.NewResult()
	r.Kind, r.Stream = scenarios.KindProgress, uint64(stream)
	r.Set(scenarios.Connect, time.Duration(200+stream%300)*time.Microsecond)
	r.Set(scenarios.TTFB, time.Duration(1000+stream%5000)*time.Microsecond)
	r.Set(scenarios.TTFE, time.Duration(5000+stream%9000)*time.Microsecond)
	r.Set(scenarios.TTFT, time.Duration(20000+stream%30000)*time.Microsecond)
	r.Events, r.Content = 1, 1
	send(r)
	var cur *scenarios.Result
	for k := 1; k < events; k++ {
		if cur == nil {
			cur = scenarios.NewResult()
			cur.Kind, cur.Stream = scenarios.KindProgress, uint64(stream)
		}
		g := time.Duration(5000+(stream*131+k*7919)%20000) * time.Microsecond
		cur.AddGap(g)
		cur.AddITL(g)
		cur.Events++
		cur.Content++
		cur.Bytes += 120
		if len(cur.Gaps()) == scenarios.BatchSize {
			send(cur)
			cur = nil
		}
	}
	if cur == nil {
		cur = scenarios.NewResult()
	}
	cur.Kind, cur.Stream, cur.Final = scenarios.KindEnd, uint64(stream), true
	cur.Set(scenarios.E2E, time.Duration(events)*10*time.Millisecond)
	cur.Tokens = int64(events)
	send(cur)
	return events
}

// BenchmarkAggregator measures the whole pipeline the swarm feeds: a
// producer goroutine sends the Results of 256-event streams (8 Results per
// stream, full 64-gap batches) through a buffered channel to Consume, which
// records every event and releases every Result. One op is one event:
// ns/op is the consumer's cost per event, allocs/op the allocations per
// event on both sides (Results are pooled).
func BenchmarkAggregator(b *testing.B) {
	const perStream = 256
	a := NewAggregator(AggregatorOptions{})
	ch := make(chan *scenarios.Result, 1024)
	done := make(chan struct{})
	go func() { a.Consume(ch); close(done) }()
	b.ReportAllocs()
	b.ResetTimer()
	send := func(r *scenarios.Result) { ch <- r }
	sent := 0
	for stream := 0; sent < b.N; stream++ {
		sent += streamResults(stream, perStream, send)
	}
	close(ch)
	<-done
	b.StopTimer()
	if s := a.Snapshot(); s.Events != int64(sent) {
		b.Fatalf("consumed %d events, sent %d", s.Events, sent)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent), "ns/event")
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAggregatorAdd measures the consumer alone (no channel, no
// producer): recording one full Result of 64 gaps and 64 ITLs. One op is
// one Result; ns/event divides by its 64 events.
func BenchmarkAggregatorAdd(b *testing.B) {
	a := NewAggregator(AggregatorOptions{})
	r := scenarios.NewResult()
	r.Kind = scenarios.KindProgress
	for k := 0; k < scenarios.BatchSize; k++ {
		g := time.Duration(5000+k*7919%20000) * time.Microsecond
		r.AddGap(g)
		r.AddITL(g)
	}
	r.Events = scenarios.BatchSize
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.add(r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*scenarios.BatchSize), "ns/event")
}

// BenchmarkTick measures closing one tick (encoding the tick's ttft and
// queue histograms, resetting 11 histograms) and publishing a Snapshot:
// the consumer's fixed cost per tick, outside the per-event path.
func BenchmarkTick(b *testing.B) {
	a := NewAggregator(AggregatorOptions{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		streamResults(i, 64, func(r *scenarios.Result) { a.add(r); r.Release() })
		b.StartTimer()
		a.closeTick(time.Duration(a.tickN+1) * a.interval)
		a.publish(time.Duration(a.tickN)*a.interval, false)
	}
}

// BenchmarkHistogramRecord is the floor of the per-event cost: one
// Histogram.Record (clamp + hdrhistogram RecordValue).
func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.Record(time.Duration(5000+i*7919%20000) * time.Microsecond)
	}
}
