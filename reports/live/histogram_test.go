package live

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ssebench/ssebench/reports"
)

// sampleDurations are latencies over the whole range: sub-µs, µs, the
// 2 ms boundary where HdrHistogram's buckets widen, seconds, and values on
// classic bucket bounds.
func sampleDurations() []time.Duration {
	var ds []time.Duration
	for i := range 3000 {
		ds = append(ds, time.Duration(i*i*37)*time.Nanosecond)
	}
	for i := range 200 {
		ds = append(ds, time.Duration(i)*25*time.Millisecond, 2047*time.Microsecond+time.Duration(i)*time.Microsecond)
	}
	return append(ds, 0, 100*time.Microsecond, time.Millisecond, time.Second, 59*time.Minute, 2*time.Hour)
}

// TestConvertMatchesClientGolang: the native and classic buckets made
// from a HdrHistogram are exactly those client_golang's own Histogram (with
// both kinds of buckets, native schema 5) makes when it observes each
// HdrHistogram bucket's middle value as many times as that bucket counts.
func TestConvertMatchesClientGolang(t *testing.T) {
	h := reports.NewHistogram()
	for _, d := range sampleDurations() {
		h.Record(d)
	}
	ref := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "ref_seconds", Help: "reference",
		Buckets:                      ClassicBuckets,
		NativeHistogramBucketFactor:  math.Exp2(1.0 / 32), // schema 5
		NativeHistogramZeroThreshold: prometheus.DefNativeHistogramZeroThreshold,
	})
	for _, b := range h.Bars() {
		for range b.Count {
			ref.Observe(b.Mid().Seconds())
		}
	}
	var want dto.Metric
	if err := ref.Write(&want); err != nil {
		t.Fatal(err)
	}
	m, err := histogramMetric(prometheus.NewDesc("ssebench_test_seconds", "test", nil, nil), h, time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	var got dto.Metric
	if err := m.Write(&got); err != nil {
		t.Fatal(err)
	}
	g, w := got.GetHistogram(), want.GetHistogram()
	if g.GetSchema() != w.GetSchema() || g.GetSchema() != NativeSchema {
		t.Fatalf("schema %d, client_golang %d, want %d", g.GetSchema(), w.GetSchema(), NativeSchema)
	}
	if g.GetSampleCount() != w.GetSampleCount() || g.GetSampleCount() != uint64(h.Count()) {
		t.Errorf("count %d, client_golang %d, recorded %d", g.GetSampleCount(), w.GetSampleCount(), h.Count())
	}
	if diff := math.Abs(g.GetSampleSum() - w.GetSampleSum()); diff > 1e-9*w.GetSampleSum() {
		t.Errorf("sum %g, client_golang %g", g.GetSampleSum(), w.GetSampleSum())
	}
	if d := cmp.Diff(spans(w.GetPositiveSpan()), spans(g.GetPositiveSpan())); d != "" {
		t.Errorf("native spans (-client_golang +ours):\n%s", d)
	}
	if d := cmp.Diff(w.GetPositiveDelta(), g.GetPositiveDelta()); d != "" {
		t.Errorf("native deltas (-client_golang +ours):\n%s", d)
	}
	if g.GetZeroCount() != w.GetZeroCount() {
		t.Errorf("zero count %d, client_golang %d", g.GetZeroCount(), w.GetZeroCount())
	}
	if d := cmp.Diff(classic(w.GetBucket()), classic(g.GetBucket())); d != "" {
		t.Errorf("classic buckets (-client_golang +ours):\n%s", d)
	}
	if len(g.GetBucket()) != len(ClassicBuckets) {
		t.Errorf("%d classic buckets, want %d", len(g.GetBucket()), len(ClassicBuckets))
	}
}

// TestConvertQuantiles: a quantile read from the native buckets is within
// one bucket (2.2 %) of HdrHistogram's.
func TestConvertQuantiles(t *testing.T) {
	h := reports.NewHistogram()
	for i := range 10000 {
		h.Record(time.Duration(1000+i*97) * time.Microsecond)
	}
	c := convert(h)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		rank := q * float64(c.count)
		var seen float64
		var upper float64
		for k := -2000; k <= 2000; k++ {
			seen += float64(c.native[k])
			if seen >= rank {
				upper = math.Exp2(float64(k) / 32)
				break
			}
		}
		hdr := h.Quantile(q).Seconds()
		if upper < hdr || upper > hdr*math.Exp2(1.0/32)*1.001 {
			t.Errorf("p%g: native bucket upper bound %g s, HdrHistogram %g s", q*100, upper, hdr)
		}
	}
}

type span struct {
	Offset int32
	Length uint32
}

func spans(ss []*dto.BucketSpan) []span {
	var out []span
	for _, s := range ss {
		out = append(out, span{s.GetOffset(), s.GetLength()})
	}
	return out
}

type cbucket struct {
	UB    float64
	Count uint64
}

func classic(bs []*dto.Bucket) []cbucket {
	var out []cbucket
	for _, b := range bs {
		out = append(out, cbucket{b.GetUpperBound(), b.GetCumulativeCount()})
	}
	return out
}
