package swarm

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// resumingRun runs streams against a server that cuts every connection
// after 4 events and resumes after Last-Event-ID: info (id 0), then
// add 1..10, then finish (id 11) reporting usage, so each stream takes
// three attempts. On the fake clock a stream's timeline is exact:
//
//	attempt 0 at    0ms: info at 0, add1 at 50 (ttft), add2 60, add3 70, cut at 70
//	attempt 1 at  270ms (retry 200ms): add4 at 320 (the resume waits ttft), add5..add7 at 330..350, cut
//	attempt 2 at  550ms: add8 at 600, add9 610, add10 620, finish 620
func resumingRun(t *testing.T, usage int) *collected {
	t.Helper()
	h := &sseHandler{ttft: 50 * time.Millisecond, itl: 10 * time.Millisecond, tokens: 10,
		retry: 200 * time.Millisecond, dropAfter: 4, usage: usage}
	m := serveMem(t, h)
	// Open model: 4 streams, one every 2s, each alone on the clock.
	c := runMem(t, m, scenario(t, `
url: http://sse.test/v1/stream
load: {rate: 0.5/s}
duration: 8s
reconnect: {max: 5, delay: 5s}
`))
	c.checkWellFormed(t)
	if n := len(c.streams()); n != 4 {
		t.Fatalf("streams %d, want 4", n)
	}
	return c
}

// TestWholeStreamAccounting: a stream that reconnects is still one stream.
// Tokens are the final usage (not usage plus the earlier attempts' content
// events), ttft and ttfe are measured once from the first start, e2e runs
// from the first start to the final end with the reconnect waits, tpot is
// taken over the whole stream, and gaps and itls span the reconnects.
func TestWholeStreamAccounting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := resumingRun(t, 10)
		streams := c.streams()
		if n := len(values(c.all, scenarios.TTFT)); n != len(streams) {
			t.Errorf("ttft samples %d, want one per stream (%d)", n, len(streams))
		}
		for _, no := range streams {
			rs := c.stream(no)
			ends := 0
			for _, r := range rs {
				if r.Kind == scenarios.KindEnd {
					ends++
				}
			}
			if ends != 3 {
				t.Fatalf("stream %d: %d attempts, want 3", no, ends)
			}
			last := rs[len(rs)-1]
			if last.Err != scenarios.ErrNone || !last.Final {
				t.Errorf("stream %d: final %v %q, want ok", no, last.Err, last.Detail)
			}
			if n := c.tokens(no); n != 10 {
				t.Errorf("stream %d: tokens %d, want 10 (the usage report)", no, n)
			}
			if n := sum(rs, func(r *scenarios.Result) int64 { return r.Content }); n != 10 {
				t.Errorf("stream %d: content events %d, want 10", no, n)
			}
			for _, m := range []struct {
				m    scenarios.Metric
				want []time.Duration
			}{
				{scenarios.TTFB, []time.Duration{0}},
				{scenarios.TTFE, []time.Duration{0}},
				{scenarios.TTFT, []time.Duration{50 * time.Millisecond}},
				{scenarios.TTFTSched, []time.Duration{50 * time.Millisecond}},
				{scenarios.E2E, []time.Duration{620 * time.Millisecond}},
				{scenarios.E2ESched, []time.Duration{620 * time.Millisecond}},
				{scenarios.TPOT, []time.Duration{(620 - 50) * time.Millisecond / 9}},
			} {
				if got := values(rs, m.m); !slices.Equal(got, m.want) {
					t.Errorf("stream %d: %s %v, want %v", no, m.m, got, m.want)
				}
			}
			if _, ok := last.Get(scenarios.E2E); !ok {
				t.Errorf("stream %d: e2e not on the final Result", no)
			}
			ms := time.Millisecond
			wantGaps := []time.Duration{50 * ms, 10 * ms, 10 * ms, 250 * ms, 10 * ms, 10 * ms, 10 * ms, 250 * ms, 10 * ms, 10 * ms, 0}
			if got := gaps(rs, false); !slices.Equal(got, wantGaps) {
				t.Errorf("stream %d: gaps %v, want %v", no, got, wantGaps)
			}
			wantITL := []time.Duration{10 * ms, 10 * ms, 250 * ms, 10 * ms, 10 * ms, 10 * ms, 250 * ms, 10 * ms, 10 * ms}
			if got := gaps(rs, true); !slices.Equal(got, wantITL) {
				t.Errorf("stream %d: itls %v, want %v", no, got, wantITL)
			}
		}
	})
}

// TestTokensWithoutUsage: with no usage report, a reconnected stream's
// tokens are its content events over all attempts.
func TestTokensWithoutUsage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := resumingRun(t, -1)
		for _, no := range c.streams() {
			if n := c.tokens(no); n != 10 {
				t.Errorf("stream %d: tokens %d, want 10 (content events of the 3 attempts)", no, n)
			}
			rs := c.stream(no)
			if got := values(rs, scenarios.TPOT); !slices.Equal(got, []time.Duration{570 * time.Millisecond / 9}) {
				t.Errorf("stream %d: tpot %v", no, got)
			}
		}
	})
}

// TestTokensUsageCorrection: a usage report that differs from the content
// events wins, whatever was credited as the events arrived.
func TestTokensUsageCorrection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := resumingRun(t, 7)
		for _, no := range c.streams() {
			if n := c.tokens(no); n != 7 {
				t.Errorf("stream %d: tokens %d, want 7 (the usage report)", no, n)
			}
		}
	})
}

// TestResumeGap: one resume_gap per resume that dispatched an event, from
// the drop to the first event after the reconnect: the server's retry
// (200ms) plus its pause before the resumed event (50ms).
func TestResumeGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := resumingRun(t, 10)
		for _, no := range c.streams() {
			rs := c.stream(no)
			got := values(rs, scenarios.ResumeGap)
			if want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}; !slices.Equal(got, want) {
				t.Errorf("stream %d: resume_gap %v, want %v (one per resume)", no, got, want)
			}
			for _, r := range rs {
				if _, ok := r.Get(scenarios.ResumeGap); ok && r.Attempt == 0 {
					t.Errorf("stream %d: resume_gap on attempt 0", no)
				}
			}
		}
	})
}
