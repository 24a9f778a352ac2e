package reports

import (
	"math"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/scenarios"
)

func TestHistogramRecordAndStats(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	if h.Count() != 1000 {
		t.Fatalf("Count = %d, want 1000", h.Count())
	}
	tests := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"p50", h.Quantile(0.50), 500 * time.Millisecond},
		{"p90", h.Quantile(0.90), 900 * time.Millisecond},
		{"p99", h.Quantile(0.99), 990 * time.Millisecond},
		{"p100", h.Quantile(1), 1000 * time.Millisecond},
		{"min", h.Min(), time.Millisecond},
		{"max", h.Max(), 1000 * time.Millisecond},
		{"mean", h.Mean(), 500500 * time.Microsecond},
		{"stddev", h.StdDev(), 288675 * time.Microsecond},
	}
	for _, tt := range tests {
		// 3 significant digits: within 0.1% (plus 1 µs of rounding).
		if diff := math.Abs(float64(tt.got - tt.want)); diff > float64(tt.want)/1000+float64(time.Microsecond) {
			t.Errorf("%s = %v, want %v ±0.1%%", tt.name, tt.got, tt.want)
		}
	}
}

func TestHistogramClampsOutOfRange(t *testing.T) {
	tests := []struct {
		name       string
		in         time.Duration
		wantValue  time.Duration
		outOfRange int64
	}{
		{"sub-µs is 0, in range", 300 * time.Nanosecond, 0, 0},
		{"zero", 0, 0, 0},
		{"negative clamps to 0", -5 * time.Millisecond, 0, 1},
		{"1 µs", time.Microsecond, time.Microsecond, 0},
		{"1 h", time.Hour, time.Hour, 0},
		{"over 1 h clamps to 1 h", 3 * time.Hour, time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			h.Record(tt.in)
			if h.Count() != 1 {
				t.Fatalf("Count = %d, want 1", h.Count())
			}
			if h.OutOfRange() != tt.outOfRange {
				t.Errorf("OutOfRange = %d, want %d", h.OutOfRange(), tt.outOfRange)
			}
			got := h.Quantile(0.5)
			if d := math.Abs(float64(got - tt.wantValue)); d > float64(tt.wantValue)/1000 {
				t.Errorf("value = %v, want %v", got, tt.wantValue)
			}
			if h.dropped != 0 {
				t.Errorf("dropped = %d", h.dropped)
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	h := NewHistogram()
	for name, v := range map[string]time.Duration{
		"p99": h.Quantile(0.99), "min": h.Min(), "max": h.Max(), "mean": h.Mean(), "stddev": h.StdDev(),
	} {
		if v != 0 {
			t.Errorf("%s of an empty histogram = %v, want 0", name, v)
		}
	}
}

func TestHistogramEncodeDecodeMergeReset(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	for i := 0; i < 5000; i++ {
		a.Record(time.Duration(1000+i*13%7000) * time.Microsecond)
		b.Record(time.Duration(4000+i*17%9000) * time.Microsecond)
	}
	b.Record(-time.Second) // out of range
	enc, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "HISTF") {
		t.Errorf("encoding %q... is not V2 compressed base64 (HISTF...)", enc[:10])
	}
	d, err := DecodeHistogram(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !d.h.Equals(a.h) {
		t.Error("decoded histogram differs from the encoded one")
	}

	// Merging equals recording everything into one histogram.
	all := NewHistogram()
	all.Merge(a)
	all.Merge(b)
	if err := d.Merge(b); err != nil {
		t.Fatal(err)
	}
	if !d.h.Equals(all.h) || d.Count() != 10001 || d.OutOfRange() != 1 {
		t.Errorf("merge: count %d out-of-range %d", d.Count(), d.OutOfRange())
	}
	d.Reset()
	if d.Count() != 0 || d.OutOfRange() != 0 || d.Quantile(0.5) != 0 {
		t.Error("Reset left values behind")
	}
}

func TestDecodeHistogramErrors(t *testing.T) {
	for _, s := range []string{"", "not base64 !!", "SGVsbG8gd29ybGQ="} {
		if _, err := DecodeHistogram(s); err == nil {
			t.Errorf("DecodeHistogram(%q) succeeded", s)
		}
	}
}

func TestDecodeHistogramForeignGeometry(t *testing.T) {
	// A histogram written by another tool with a wider range: values that
	// fit are converted, values that do not are an error, not a silent loss.
	fits := hdrhistogram.New(1, 10_000_000_000, 2)
	for _, v := range []int64{5, 500, 50_000} {
		if err := fits.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := fits.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	h, err := DecodeHistogram(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if h.Count() != 3 {
		t.Errorf("Count = %d, want 3", h.Count())
	}

	tooBig := hdrhistogram.New(1, 10_000_000_000, 2)
	if err := tooBig.RecordValue(9_000_000_000); err != nil { // 2.5 h in µs
		t.Fatal(err)
	}
	b, err = tooBig.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeHistogram(string(b)); err == nil {
		t.Error("a histogram with values over 1 h decoded without error")
	}
}

func TestMSResolution(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want float64
	}{
		{1234567 * time.Nanosecond, 1.235},
		{time.Microsecond, 0.001},
		{0, 0},
		{2 * time.Second, 2000},
	}
	for _, tt := range tests {
		if got := ms(tt.in); got != tt.want {
			t.Errorf("ms(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestHistogramRecordRuns: recording a Result's gap batch (runs of values
// equal in microseconds) gives the same histogram, out-of-range count
// included, as recording its values one by one.
func TestHistogramRecordRuns(t *testing.T) {
	batch := []time.Duration{
		0, 0, 500 * time.Nanosecond, 0, // equal in microseconds: one run
		-500 * time.Nanosecond, // 0 µs too: in range, as Record has it
		time.Millisecond, time.Millisecond, 2 * time.Millisecond,
		-time.Second, -time.Second, 2 * time.Hour, 2 * time.Hour, time.Hour,
		7 * time.Millisecond,
		1 << 62, -1 << 62, // past what a Run holds: clamped, out of range
	}
	r := scenarios.NewResult()
	defer r.Release()
	one, all := NewHistogram(), NewHistogram()
	for _, d := range batch {
		one.Record(d)
		if r.AddGap(d) {
			t.Fatal("a batch of 9 runs reported full")
		}
	}
	if n := len(r.Gaps()); n != 9 {
		t.Errorf("%d runs, want 9", n)
	}
	all.RecordRuns(r.Gaps())
	all.RecordRuns(nil)
	a, err := one.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := all.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if a != b || one.OutOfRange() != all.OutOfRange() || all.Count() != int64(len(batch)) {
		t.Fatalf("RecordRuns: count %d, out of range %d; one by one: count %d, out of range %d (encodings equal: %v)",
			all.Count(), all.OutOfRange(), one.Count(), one.OutOfRange(), a == b)
	}
	if all.OutOfRange() != 6 {
		t.Errorf("out of range %d, want 6", all.OutOfRange())
	}
}
