package reports

import "time"

// HistogramBar is one populated bucket of a Histogram: Count durations
// recorded in [Low, High). Below 2.048 ms a bucket is one microsecond
// wide; above, at most 0.1 % of its value (the histogram's 3 significant
// digits). Durations under 1 µs are in the bucket [0, 1 µs).
type HistogramBar struct {
	Low, High time.Duration
	Count     int64
}

// Mid returns the middle of the bar's range, the value that stands for
// its durations when they are re-bucketed or summed.
func (b HistogramBar) Mid() time.Duration { return (b.Low + b.High) / 2 }

// Bars returns h's populated buckets in ascending order, for exporting the
// histogram in another bucketing (Prometheus' classic and native
// histograms). It walks the counts up to the largest recorded value, so it
// costs O(buckets), at most about 23,000 for the standard geometry.
func (h *Histogram) Bars() []HistogramBar {
	var out []HistogramBar
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, HistogramBar{Low: us(b.From), High: us(b.To + 1), Count: b.Count})
		}
	}
	return out
}
