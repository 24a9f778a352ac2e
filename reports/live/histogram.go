package live

import (
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ssebench/ssebench/reports"
)

// NativeSchema is the schema of the native histograms: 2^5 = 32 buckets
// per power of two, each bucket 2^(1/32) = 1.0219 times as wide as the
// one below it (a bucket spans 2.2 % of its value, so a quantile read from
// it is off by at most that much). HdrHistogram's buckets are 0.1 % wide
// at most, so converting loses only this resolution.
const NativeSchema = 5

// ClassicBuckets are the upper bounds, in seconds, of the classic buckets
// that every histogram also carries, for a Prometheus that does not ingest
// native histograms (and for the text exposition, which cannot hold them):
// 100 µs to 1 h in 1-2.5-5 steps.
var ClassicBuckets = []float64{
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1, 2.5, 5,
	10, 25, 60,
	120, 300, 600, 1800, 3600,
}

// nativeBounds are the bucket boundaries within one power of two, [0.5, 1),
// for NativeSchema, as client_golang computes its own buckets' keys.
var nativeBounds = func() []float64 {
	n := 1 << NativeSchema
	b := make([]float64, n)
	for i := range b {
		b[i] = math.Exp2(float64(i)/float64(n) - 1)
	}
	return b
}()

// nativeKey returns the index of the native bucket holding x > 0 seconds:
// bucket k holds (2^((k-1)/32), 2^(k/32)].
func nativeKey(x float64) int {
	frac, exp := math.Frexp(x) // x = frac × 2^exp, frac in [0.5, 1)
	return sort.SearchFloat64s(nativeBounds, frac) + (exp-1)*len(nativeBounds)
}

// converted is a Histogram as Prometheus sees it: count, sum (seconds),
// native buckets by key and classic cumulative counts by bound.
type converted struct {
	count   uint64
	sum     float64
	native  map[int]int64
	classic map[float64]uint64
}

// convert re-buckets h. Each HdrHistogram bucket's count goes, whole, to
// the native and the classic bucket that hold the middle of its range
// (reports.HistogramBar.Mid), and the sum is the sum of those middles: it
// is exact to HdrHistogram's resolution (1 µs below 2 ms, 0.1 % above).
func convert(h *reports.Histogram) converted {
	c := converted{native: map[int]int64{}, classic: make(map[float64]uint64, len(ClassicBuckets))}
	bars := h.Bars()
	j := 0 // the first classic bound at or above the current bar's middle
	var below uint64
	for _, b := range bars {
		x := seconds(b.Mid())
		for j < len(ClassicBuckets) && ClassicBuckets[j] < x {
			c.classic[ClassicBuckets[j]] = below
			j++
		}
		n := uint64(b.Count)
		below += n
		c.count += n
		c.sum += x * float64(b.Count)
		c.native[nativeKey(x)] += b.Count
	}
	for ; j < len(ClassicBuckets); j++ {
		c.classic[ClassicBuckets[j]] = below
	}
	return c
}

// seconds converts a Duration to float seconds.
func seconds(d time.Duration) float64 { return d.Seconds() }

// dualHistogram is one histogram in both forms, as client_golang's own
// Histogram writes one that has both native buckets and classic buckets:
// Prometheus scraping the protobuf exposition with native histograms on
// reads the native buckets; the text exposition, and a Prometheus without
// them, read the classic ones.
type dualHistogram struct {
	native  prometheus.Metric
	classic []*dto.Bucket
}

func (d *dualHistogram) Desc() *prometheus.Desc { return d.native.Desc() }

func (d *dualHistogram) Write(m *dto.Metric) error {
	if err := d.native.Write(m); err != nil {
		return err
	}
	m.Histogram.Bucket = d.classic
	return nil
}

// histogramMetric builds the metric for h (which must not be empty).
func histogramMetric(desc *prometheus.Desc, h *reports.Histogram, created time.Time, labels ...string) (prometheus.Metric, error) {
	c := convert(h)
	native, err := prometheus.NewConstNativeHistogram(desc, c.count, c.sum, c.native, nil, 0,
		NativeSchema, prometheus.DefNativeHistogramZeroThreshold, created, labels...)
	if err != nil {
		return nil, err
	}
	classic := make([]*dto.Bucket, len(ClassicBuckets))
	for i, ub := range ClassicBuckets {
		classic[i] = &dto.Bucket{UpperBound: new(ub), CumulativeCount: new(c.classic[ub])}
	}
	return &dualHistogram{native: native, classic: classic}, nil
}
