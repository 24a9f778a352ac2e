package reports

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBarsAreTheDistribution: Bars lists exactly hdrhistogram-go's own
// populated buckets (Distribution), with High one past the bucket's
// highest equivalent value, and the counts add up.
func TestBarsAreTheDistribution(t *testing.T) {
	h := NewHistogram()
	for v := time.Duration(0); v < 2*time.Hour; v = v*103/100 + 777*time.Nanosecond {
		h.Record(v)
	}
	h.Record(time.Hour)
	var want []HistogramBar
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			want = append(want, HistogramBar{Low: us(b.From), High: us(b.To + 1), Count: b.Count})
		}
	}
	got := h.Bars()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Bars (-Distribution +Bars):\n%s", d)
	}
	var n int64
	for _, b := range got {
		n += b.Count
		if b.Mid() < b.Low || b.Mid() >= b.High {
			t.Errorf("bar %+v: middle %v outside it", b, b.Mid())
		}
	}
	if n != h.Count() || len(got) < 500 {
		t.Errorf("%d bars hold %d values, the histogram %d", len(got), n, h.Count())
	}
	if len(NewHistogram().Bars()) != 0 {
		t.Error("an empty histogram has bars")
	}
}
