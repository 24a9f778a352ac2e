package reports

import (
	"errors"
	"fmt"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/scenarios"
)

// The geometry of every ssebench histogram: values are
// recorded in microseconds, from 1 µs to 1 h, with 3 significant digits
// (a relative error of at most 0.1%).
const (
	// HistogramMin is the lowest discernible value. Durations below it are
	// recorded as 0 µs (sub-resolution, not out of range).
	HistogramMin = time.Microsecond
	// HistogramMax is the highest trackable value. Longer durations are
	// clamped to it and counted as out of range.
	HistogramMax = time.Hour
	// HistogramDigits is the number of significant decimal digits kept.
	HistogramDigits = 3

	histLowest  = int64(HistogramMin / time.Microsecond)
	histHighest = int64(HistogramMax / time.Microsecond)
)

// Histogram records durations in an HdrHistogram (1 µs .. 1 h, 3
// significant digits, values stored in µs). It is the one wrapper around
// hdrhistogram-go in ssebench: quantiles take 0..1, values are
// time.Durations, and values outside the range are clamped into it and
// counted (OutOfRange) instead of being dropped or returning errors.
//
// A Histogram is not safe for concurrent use: one goroutine owns it (the
// aggregator's consumer), and others read encoded copies or snapshots.
// The zero value is not usable; call NewHistogram or DecodeHistogram.
type Histogram struct {
	h          *hdrhistogram.Histogram
	outOfRange int64
	dropped    int64
}

// NewHistogram returns an empty Histogram with the standard geometry. It
// allocates about 190 KB (a dense counts array).
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(histLowest, histHighest, HistogramDigits)}
}

// Record adds one duration. Durations below 1 µs record as 0 µs; negative
// durations record as 0 and durations above 1 h record as 1 h, and both are
// counted in OutOfRange.
func (h *Histogram) Record(d time.Duration) { h.recordN(int64(d/time.Microsecond), 1) }

// RecordRuns records every value of the runs (a run is a count of values
// equal in microseconds), as Record does one by one.
func (h *Histogram) RecordRuns(runs []scenarios.Run) {
	for _, r := range runs {
		h.recordN(r.Micros(), r.Count())
	}
}

// recordN records n values of v microseconds, clamped to the histogram's
// range (and counted as out of range when clamped).
func (h *Histogram) recordN(v, n int64) {
	if v < 0 {
		v = 0
		h.outOfRange += n
	} else if v > histHighest {
		v = histHighest
		h.outOfRange += n
	}
	// After clamping, RecordValues can only fail when the total count would
	// overflow int64; count it rather than lose it silently.
	if err := h.h.RecordValues(v, n); err != nil {
		h.dropped += n
	}
}

// Merge adds every value of o to h (o is unchanged). It returns an error
// when values had to be dropped, which cannot happen between histograms of
// the standard geometry unless the total count overflows.
func (h *Histogram) Merge(o *Histogram) error {
	h.outOfRange += o.outOfRange
	h.dropped += o.dropped
	if n := h.h.Merge(o.h); n != 0 {
		h.dropped += n
		return fmt.Errorf("merge histograms: %d values dropped", n)
	}
	return nil
}

// Reset empties h for reuse, keeping its memory.
func (h *Histogram) Reset() {
	h.h.Reset()
	h.outOfRange = 0
	h.dropped = 0
}

// Count returns the number of values recorded (including clamped ones).
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// OutOfRange returns how many recorded values were outside 0 .. 1 h and
// were clamped into it.
func (h *Histogram) OutOfRange() int64 { return h.outOfRange }

// Quantile returns the value at quantile q (0..1, e.g. 0.99 for p99): the
// largest value that a fraction 1-q of the recorded values are equal to or
// larger than, at the histogram's resolution. It returns 0 when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	return us(h.h.ValueAtQuantile(q * 100))
}

// Min returns the smallest recorded value (at the histogram's resolution),
// 0 when empty.
func (h *Histogram) Min() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return us(h.h.Min())
}

// Max returns the largest recorded value (the highest value equivalent to
// it at the histogram's resolution), 0 when empty.
func (h *Histogram) Max() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return us(h.h.Max())
}

// Mean returns the arithmetic mean of the recorded values (from bucket
// midpoints), 0 when empty.
func (h *Histogram) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// StdDev returns the population standard deviation of the recorded values
// (from bucket midpoints), 0 when empty.
func (h *Histogram) StdDev() time.Duration {
	return time.Duration(h.h.StdDev() * float64(time.Microsecond))
}

// Encode returns h in HdrHistogram's standard V2 compressed encoding,
// base64 ("HISTF..."), readable by every HdrHistogram implementation.
// OutOfRange is not part of the encoding.
func (h *Histogram) Encode() (string, error) {
	b, err := h.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// errForeignGeometry is wrapped by DecodeHistogram when a foreign histogram
// holds values ssebench's geometry cannot represent.
var errForeignGeometry = errors.New("histogram values outside 0 .. 1 h µs")

// DecodeHistogram decodes a histogram written by Encode (or by any
// HdrHistogram implementation, values in µs). A histogram of another
// geometry is converted to the standard one; values it cannot hold are an
// error, never silently lost. The encoding is read into sparse storage
// first, so a hostile header cannot make it allocate a huge counts array.
func DecodeHistogram(s string) (*Histogram, error) {
	if s == "" {
		return nil, errors.New("decode histogram: empty encoding")
	}
	p, err := hdrhistogram.DecodePacked([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	h := NewHistogram()
	if n := p.MergeInto(h.h); n != 0 {
		return nil, fmt.Errorf("decode histogram: %d values: %w", n, errForeignGeometry)
	}
	return h, nil
}

// bucket is one populated bucket of a histogram: its count and the value
// that quantile lookups report for it (the highest equivalent value, as
// hdrhistogram's ValueAtQuantile does).
type bucket struct {
	value time.Duration
	count int64
}

// buckets returns the populated buckets of h in ascending value order.
func (h *Histogram) buckets() []bucket {
	var out []bucket
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, bucket{value: us(b.To), count: b.Count})
		}
	}
	return out
}

// us converts a histogram value (µs) to a Duration.
func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

// ms converts a Duration to milliseconds as a float with µs resolution, the
// unit of every latency in the JSON result.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
