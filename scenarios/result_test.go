package scenarios

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestResultRuns: a Result's gap batch holds runs of gaps equal in
// microseconds (added by ExtendGap and AddGap, or AddGap alone), and expanding them gives back every gap added, truncated
// to microseconds, in order; the batch is full at BatchSize runs, however
// many gaps they hold.
func TestResultRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		r := NewResult()
		var want []time.Duration
		runs := 0
		prev := time.Duration(-1 << 63)
		full := false
		for !full {
			d := time.Duration(rng.IntN(4)) * 400 * time.Nanosecond // 0..1.2 µs: many repeats
			switch rng.IntN(8) {
			case 0:
				d = time.Duration(rng.Int64N(1<<40)) - 1<<39
			case 1:
				d = prev // the same duration again
			}
			us := clampMicros(d)
			if us != clampMicros(prev) || len(want) == 0 {
				runs++
			}
			prev = d
			want = append(want, time.Duration(us)*time.Microsecond)
			// As the swarm adds them (ExtendGap, then AddGap when it
			// declines), or by AddGap alone.
			if round%2 == 1 || !r.ExtendGap(d) {
				full = r.AddGap(d)
			}
			if full != (runs == BatchSize) {
				t.Fatalf("round %d: AddGap reported full=%v at %d runs", round, full, runs)
			}
		}
		if got := Values(nil, r.Gaps()); !slices.Equal(got, want) {
			t.Fatalf("round %d: expanded runs differ from the gaps added:\n got %v\nwant %v", round, got, want)
		}
		if len(r.ITLs()) != 0 {
			t.Fatalf("round %d: ITLs filled by AddGap", round)
		}
		r.Release()
	}
}

// TestRunLimits: a run's value is clamped to what it holds (beyond the
// histograms' range either way, signs kept), and a run that reaches its
// largest count starts another.
func TestRunLimits(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0},
		{999 * time.Nanosecond, 0},
		{-999 * time.Nanosecond, 0},
		{-time.Microsecond, -1},
		{time.Hour, int64(time.Hour / time.Microsecond)},
		{1<<63 - 1, runMaxMicros},
		{-1 << 63, -runMaxMicros - 1},
	} {
		r := NewResult()
		r.AddGap(tt.d)
		g := r.Gaps()
		if len(g) != 1 || g[0].Micros() != tt.want || g[0].Count() != 1 {
			t.Errorf("AddGap(%v): runs %v, want one of %d µs", tt.d, g, tt.want)
		}
		r.Release()
	}

	r := NewResult()
	defer r.Release()
	r.gaps.runs[0], r.gaps.n = runOf(5, runMaxCount-1), 1
	r.AddITL(time.Millisecond)
	r.AddGap(5 * time.Microsecond)          // fills the run
	if !r.ExtendGap(5 * time.Microsecond) { // a full run is not extended...
		r.AddGap(5 * time.Microsecond) // ...but followed by another
	}
	g := r.Gaps()
	if len(g) != 2 || g[0].Count() != runMaxCount || g[1].Count() != 1 || g[1].Micros() != 5 {
		t.Errorf("runs %d of counts %d, %d; want 2 of %d, 1", len(g), g[0].Count(), g[len(g)-1].Count(), runMaxCount)
	}
	if i := r.ITLs(); len(i) != 1 || i[0].Duration() != time.Millisecond {
		t.Errorf("ITLs %v, want one of 1ms", i)
	}
}
