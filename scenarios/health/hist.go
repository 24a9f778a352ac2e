package health

import (
	"math/bits"
	"time"
)

// subBits is the number of bits below the leading one that select a
// sub-bucket: 16 sub-buckets per power of two, so a bucket's upper bound is
// within 1/16 (6.25 %) of any value in it.
const subBits = 4

// lateHist is a log-linear histogram of non-negative durations: a fixed
// 64 × 16 counters (8 KiB), whatever is recorded.
type lateHist struct {
	counts [64 << subBits]int64
	n      int64
	max    time.Duration
}

// index returns the bucket of v (in nanoseconds).
func index(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - 1 - subBits // shift that leaves subBits+1 bits
	return (e+1)<<subBits | int(v>>uint(e))&(1<<subBits-1)
}

// upper returns the largest value of bucket i.
func upper(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	e := i>>subBits - 1
	m := uint64(1<<subBits | i&(1<<subBits-1))
	return (m+1)<<uint(e) - 1
}

// record adds d (negative values count as 0).
func (h *lateHist) record(d time.Duration) {
	d = max(d, 0)
	h.counts[index(uint64(d))]++
	h.n++
	h.max = max(h.max, d)
}

// quantile returns the upper bound of the bucket holding quantile q (0 for
// an empty histogram), never more than the largest value recorded.
func (h *lateHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var acc int64
	for i, c := range h.counts {
		acc += c
		if acc >= rank {
			return min(time.Duration(upper(i)), h.max)
		}
	}
	return h.max
}

// reset empties h.
func (h *lateHist) reset() { *h = lateHist{} }
