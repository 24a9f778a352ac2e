package reports

import (
	"math"
	"math/bits"
	"time"
)

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
// histograms). It copies the counts array once (about 190 KB) and walks
// it, allocating only the populated bars: hdrhistogram-go's Distribution
// would allocate a bar for every bucket up to the largest value.
func (h *Histogram) Bars() []HistogramBar {
	snap := h.h.Export()
	// HdrHistogram's layout: the first sub-bucket range holds 2^(m+1)
	// unit-wide buckets (m = the half-count magnitude); every following
	// range holds 2^m buckets twice as wide as the previous range's.
	unit := uint(bits.Len64(uint64(max(snap.LowestTrackableValue, 1))) - 1)
	single := 2 * math.Pow10(int(snap.SignificantFigures))
	half := uint(max(int(math.Ceil(math.Log2(single))), 1) - 1)
	halfCount := 1 << half
	var out []HistogramBar
	for i, n := range snap.Counts {
		if n == 0 {
			continue
		}
		bucket := (i >> half) - 1
		sub := (i & (halfCount - 1)) + halfCount
		if bucket < 0 {
			sub -= halfCount
			bucket = 0
		}
		shift := uint(bucket) + unit
		low := int64(sub) << shift
		out = append(out, HistogramBar{Low: us(low), High: us(low + 1<<shift), Count: n})
	}
	return out
}
