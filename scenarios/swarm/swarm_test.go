package swarm

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// TestClosedExact runs a closed model of 3 connections for 1s against a
// handler with known delays, on the fake clock: every stream succeeds with
// the exact event counts, and ttft, itl, gap, e2e and tpot are exact.
func TestClosedExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sseHandler{ttft: 100 * time.Millisecond, itl: 10 * time.Millisecond, tokens: 20, retry: time.Second}
		m := serveMem(t, h)
		sc := scenario(t, `
url: http://sse.test/v1/stream
load: {connections: 3}
duration: 1s
`)
		c := runMem(t, m, sc)
		c.checkWellFormed(t)

		// Each stream lasts 100ms + 19*10ms = 290ms; a slot starts streams
		// at 0, 290, 580 and 870ms: 4 per slot, the last within the grace.
		ends := c.ends()
		if len(ends) != 12 {
			t.Fatalf("streams ended: %d, want 12", len(ends))
		}
		for _, e := range ends {
			if e.Err != scenarios.ErrNone || e.Aborted || !e.Final || e.Attempt != 0 || e.Status != 200 {
				t.Errorf("stream %d: end err %v %q aborted %v final %v attempt %d status %d", e.Stream, e.Err, e.Detail, e.Aborted, e.Final, e.Attempt, e.Status)
			}
			if c.tokens(e.Stream) != 20 {
				t.Errorf("stream %d: tokens %d, want 20", e.Stream, c.tokens(e.Stream))
			}
			if v, _ := e.Get(scenarios.E2E); v != 290*time.Millisecond {
				t.Errorf("stream %d: e2e %v, want 290ms", e.Stream, v)
			}
			if v, _ := e.Get(scenarios.TPOT); v != 10*time.Millisecond {
				t.Errorf("stream %d: tpot %v, want 10ms", e.Stream, v)
			}
			if v, ok := e.Get(scenarios.E2ESched); !ok || v != 290*time.Millisecond {
				t.Errorf("stream %d: e2e_sched %v (%v), want 290ms", e.Stream, v, ok)
			}
		}
		for _, no := range c.streams() {
			rs := c.stream(no)
			if n := sum(rs, func(r *scenarios.Result) int64 { return r.Events }); n != 22 {
				t.Errorf("stream %d: events %d, want 22 (info, 20 add, finish)", no, n)
			}
			if n := sum(rs, func(r *scenarios.Result) int64 { return r.Content }); n != 20 {
				t.Errorf("stream %d: content %d, want 20", no, n)
			}
			if n := sum(rs, func(r *scenarios.Result) int64 { return r.IDsLost + r.IDsDup }); n != 0 {
				t.Errorf("stream %d: ids lost+dup %d, want 0", no, n)
			}
			if ttft := values(rs, scenarios.TTFT); len(ttft) != 1 || ttft[0] != 100*time.Millisecond {
				t.Errorf("stream %d: ttft %v, want [100ms]", no, ttft)
			}
			if ttfe := values(rs, scenarios.TTFE); len(ttfe) != 1 || ttfe[0] != 0 {
				t.Errorf("stream %d: ttfe %v, want [0s]", no, ttfe)
			}
			itl := gaps(rs, true)
			if len(itl) != 19 {
				t.Errorf("stream %d: %d itls, want 19", no, len(itl))
			}
			for _, d := range itl {
				if d != 10*time.Millisecond {
					t.Errorf("stream %d: itl %v, want 10ms", no, d)
					break
				}
			}
			// gaps: info->add1 100ms, 19 x 10ms, add20->finish 0.
			g := gaps(rs, false)
			if len(g) != 21 || g[0] != 100*time.Millisecond || g[1] != 10*time.Millisecond || g[20] != 0 {
				t.Errorf("stream %d: gaps %v", no, g)
			}
			// One start, one progress at the first content event, one end.
			if len(rs) != 3 || rs[1].Kind != scenarios.KindProgress {
				t.Errorf("stream %d: %d results, want start, progress, end", no, len(rs))
			}
		}
		// The connection of a slot is reused for its next stream.
		if d := m.dials.Load(); d != 3 {
			t.Errorf("dials: %d, want 3 (one per slot, then reused)", d)
		}
	})
}
