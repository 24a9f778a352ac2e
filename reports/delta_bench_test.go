package reports

import (
	"encoding/json"
	"testing"

	"github.com/ssebench/ssebench/scenarios"
)

// BenchmarkAggregatorDelta is BenchmarkAggregator with OnDelta set and
// every Delta encoded as a worker would send it to its parent: the cost
// of the live export per event (compare with BenchmarkAggregator, whose
// aggregator has no OnDelta).
func BenchmarkAggregatorDelta(b *testing.B) {
	const perStream = 256
	deltas := 0
	a := NewAggregator(AggregatorOptions{OnDelta: func(d *Delta) {
		if _, err := json.Marshal(d); err != nil {
			b.Error(err)
		}
		deltas++
	}})
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
	if deltas == 0 {
		b.Fatal("no delta emitted")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent), "ns/event")
}
