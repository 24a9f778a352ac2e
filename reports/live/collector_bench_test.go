package live

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// BenchmarkScrape measures one scrape's collection (views, conversion,
// the registry's checks) of a run with every latency metric populated
// over 1 µs .. 10 s, for 1 and 6 shards.
func BenchmarkScrape(b *testing.B) {
	for _, shards := range []int{1, 6} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			var states []*reports.LiveState
			for i := range shards {
				l := reports.NewLiveState(fmt.Sprintf("%d/%d", i+1, shards))
				hist := map[string]*reports.Histogram{}
				for m := range scenarios.NumMetrics {
					h := reports.NewHistogram()
					for v := time.Microsecond; v < 10*time.Second; v = v*101/100 + time.Microsecond {
						h.Record(v)
					}
					hist[m.String()] = h
				}
				l.Apply(&reports.Delta{Seq: 1, Counters: reports.DeltaCounters{StreamsStarted: 1000}, Hist: hist})
				states = append(states, l)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(NewCollector(testInfo, func() []reports.LiveView {
				vs := make([]reports.LiveView, len(states))
				for i, l := range states {
					vs[i] = l.View()
				}
				return vs
			}))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
