package capacity

import (
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

func TestFilterDropsWarmUpAndCountsGoodput(t *testing.T) {
	t0 := time.Now()
	warmEnd := t0.Add(time.Second)
	f := NewFilter(warmEnd, []scenarios.Threshold{mustSLO("ttft.p99 < 300ms"), mustSLO("errors.rate < 1%"), mustSLO("itl.p99 < 1ms")})
	in := make(chan *scenarios.Result, 64)
	send := func(stream uint64, sched time.Time, kind scenarios.Kind, ttft time.Duration, final bool, mod func(*scenarios.Result)) {
		r := scenarios.NewResult()
		r.Stream, r.Sched, r.Kind, r.Final = stream, sched, kind, final
		if ttft > 0 {
			r.Has |= 1 << scenarios.TTFT
			r.Values[scenarios.TTFT] = ttft
		}
		if mod != nil {
			mod(r)
		}
		in <- r
	}
	late := warmEnd.Add(time.Millisecond)
	// Stream 1: in the warm-up: dropped whatever it measured.
	send(1, t0, scenarios.KindStart, 0, false, nil)
	send(1, t0, scenarios.KindEnd, 5*time.Second, true, nil)
	// 2: good. 3: too slow. 4: failed. 5: cut before its first token (not
	// judged). 6: cut after a slow first token (a miss). 7: ended ok
	// without a first token (a miss). 8: a dropped arrival (a miss).
	send(2, late, scenarios.KindStart, 0, false, nil)
	send(2, late, scenarios.KindProgress, 100*time.Millisecond, false, nil)
	send(2, late, scenarios.KindEnd, 0, true, nil)
	send(3, late, scenarios.KindEnd, 400*time.Millisecond, true, nil)
	send(4, late, scenarios.KindEnd, 100*time.Millisecond, true, func(r *scenarios.Result) { r.Err = scenarios.ErrReset })
	send(5, late, scenarios.KindEnd, 0, true, func(r *scenarios.Result) { r.Cancelled = true })
	send(6, late, scenarios.KindEnd, time.Second, true, func(r *scenarios.Result) { r.Cancelled = true })
	send(7, late, scenarios.KindEnd, 0, true, nil)
	send(8, late, scenarios.KindDropped, 0, false, nil)
	// 9: still open when the step ends: cut.
	send(9, late, scenarios.KindStart, 0, false, nil)
	close(in)
	var got []uint64
	for r := range f.Run(in) {
		got = append(got, r.Stream)
		r.Release()
	}
	for _, s := range got {
		if s == 1 {
			t.Fatal("a warm-up stream's Result passed the filter")
		}
	}
	if len(got) != 10 {
		t.Errorf("%d results passed, want 10", len(got))
	}
	g := f.Goodput(2 * time.Second)
	if g.Good != 1 || g.Judged != 6 || g.Cut != 2 || g.PerS != 0.5 {
		t.Errorf("goodput %+v, want good 1 of 6 judged, 2 cut, 0.5/s", g)
	}
}
