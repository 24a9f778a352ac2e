package reports_test

import (
	"fmt"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// shard aggregates the streams of one shard: each stream starts, gets its
// first content event after ttft, and ends well.
func shard(name string, ttfts ...time.Duration) *reports.File {
	results := make(chan *scenarios.Result, 2*len(ttfts))
	for i, ttft := range ttfts {
		start := scenarios.NewResult()
		start.Kind, start.Stream = scenarios.KindStart, uint64(i)
		end := scenarios.NewResult()
		end.Kind, end.Stream, end.Final = scenarios.KindEnd, uint64(i), true
		end.Set(scenarios.TTFT, ttft)
		end.Events, end.Content = 1, 1
		results <- start
		results <- end
	}
	close(results)
	a := reports.NewAggregator(reports.AggregatorOptions{Start: time.Now()})
	a.Consume(results)
	return a.Finish(reports.Meta{Shard: name})
}

// Merge combines the files of the shards of one run: counters add up and
// the latency histograms merge losslessly, so the merged percentiles are
// those of the whole run, not an average of the shards' percentiles.
func ExampleMerge() {
	a := shard("1/2", 10*time.Millisecond, 20*time.Millisecond, 30*time.Millisecond)
	b := shard("2/2", 400*time.Millisecond)
	m, err := reports.Merge(a, b)
	if err != nil {
		fmt.Println(err)
		return
	}
	ttft := m.Metrics["ttft"]
	fmt.Printf("shard %s: %d streams ok, %d events\n", m.Shard, m.Counters.StreamsOK, m.Counters.Events)
	fmt.Printf("ttft: %d samples, p50 %.0f ms, max %.0f ms\n", ttft.Count, ttft.P50, ttft.Max)
	// Output:
	// shard merged:1/2,2/2: 4 streams ok, 4 events
	// ttft: 4 samples, p50 20 ms, max 400 ms
}
