package swarm

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/scenarios"
)

// serveMock serves the real mock server on an in-memory network (inside a
// synctest bubble: the mock's delays run on the fake clock).
func serveMock(t *testing.T) *memNet {
	t.Helper()
	cfg := mockserver.DefaultConfig()
	cfg.Heartbeat = 0
	ms, err := mockserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.Close)
	return serveMem(t, ms)
}

// TestMockClosed runs the closed model against the real mock: every stream
// ends ok with the exact counts, and ttft and itl are the mock's.
func TestMockClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMock(t)
		c := runMem(t, m, scenario(t, `
url: http://mock.test/v1/stream?ttft=200ms&itl=50ms&tokens=16&seed=7
load: {connections: 4}
duration: 2s
`))
		c.checkWellFormed(t)
		ends := c.ends()
		// Each stream lasts 200ms + 15*50ms = 950ms: 3 per slot.
		if len(ends) != 12 {
			t.Errorf("streams %d, want 12", len(ends))
		}
		for _, no := range c.streams() {
			rs := c.stream(no)
			e := rs[len(rs)-1]
			if e.Err != scenarios.ErrNone || c.tokens(e.Stream) != 16 {
				t.Errorf("stream %d: %v %q tokens %d", no, e.Err, e.Detail, c.tokens(e.Stream))
			}
			if n := sum(rs, func(r *scenarios.Result) int64 { return r.Content }); n != 16 {
				t.Errorf("stream %d: content %d, want 16", no, n)
			}
			if v := values(rs, scenarios.TTFT); len(v) != 1 || v[0] != 200*time.Millisecond {
				t.Errorf("stream %d: ttft %v, want 200ms", no, v)
			}
			for _, d := range gaps(rs, true) {
				if d != 50*time.Millisecond {
					t.Errorf("stream %d: itl %v, want 50ms", no, d)
					break
				}
			}
		}
	})
}

// TestMockResume reconnects across the mock's drop-after fault with
// Last-Event-ID: nothing lost, nothing repeated; with skip-on-resume every
// resume loses one event.
func TestMockResume(t *testing.T) {
	for _, tc := range []struct {
		fault string
		lost  int64
	}{
		{"drop-after=5", 0},
		{"drop-after=5,skip-on-resume", 1},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := serveMock(t)
				c := runMem(t, m, scenario(t, one(`
url: http://mock.test/v1/stream?ttft=20ms&itl=5ms&tokens=15&retry=100&fault=`+tc.fault+`
reconnect: {max: 10}
`)))
				c.checkWellFormed(t)
				ends := c.ends()
				last := ends[len(ends)-1]
				if last.Err != scenarios.ErrNone || !last.Final {
					t.Fatalf("last attempt %d: %v %q", last.Attempt, last.Err, last.Detail)
				}
				if len(ends) < 2 {
					t.Fatalf("no reconnect")
				}
				resumes := int64(len(ends) - 1)
				for _, e := range ends[:len(ends)-1] {
					if e.Err != scenarios.ErrReset {
						t.Errorf("attempt %d: %v %q, want reset", e.Attempt, e.Err, e.Detail)
					}
				}
				lost := sum(c.all, func(r *scenarios.Result) int64 { return r.IDsLost })
				dup := sum(c.all, func(r *scenarios.Result) int64 { return r.IDsDup })
				if lost != tc.lost*resumes || dup != 0 {
					t.Errorf("ids lost %d, duplicated %d over %d resumes, want %d and 0", lost, dup, resumes, tc.lost*resumes)
				}
				content := sum(c.all, func(r *scenarios.Result) int64 { return r.Content })
				if content+lost != 15 {
					t.Errorf("content %d + lost %d, want 15", content, lost)
				}
				// The mock's retry (100ms) is honoured.
				starts := c.kind(scenarios.KindStart)
				if d := starts[1].Start.Sub(starts[0].Start); d <= 100*time.Millisecond || d > time.Second {
					t.Errorf("first reconnect %v after the start", d)
				}
			})
		})
	}
}

// TestMockChat streams the mock's OpenAI-compatible chat endpoint: the
// role-only chunk does not count as the first token.
func TestMockChat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMock(t)
		c := runMem(t, m, scenario(t, one(`
url: http://mock.test/v1/chat/completions?ttft=300ms&itl=10ms&tokens=8
events: openai
body: {model: mock, stream: true, stream_options: {include_usage: true}, messages: [{role: user, content: hi}]}
`)))
		c.checkWellFormed(t)
		e := c.ends()[0]
		if e.Err != scenarios.ErrNone || c.tokens(e.Stream) != 8 {
			t.Fatalf("end: %v %q tokens %d", e.Err, e.Detail, c.tokens(e.Stream))
		}
		rs := c.all
		ttft := values(rs, scenarios.TTFT)
		ttfe := values(rs, scenarios.TTFE)
		if len(ttft) != 1 || ttft[0] != 300*time.Millisecond {
			t.Errorf("ttft %v, want 300ms", ttft)
		}
		if len(ttfe) != 1 || ttfe[0] >= ttft[0] {
			t.Errorf("ttfe %v: want the role-only chunk, before ttft %v", ttfe, ttft)
		}
		if n := sum(rs, func(r *scenarios.Result) int64 { return r.Content }); n != 8 {
			t.Errorf("content %d, want 8", n)
		}
	})
}

// TestMockSession uses the two-step session pattern: POST /v1/sessions,
// extract the id, stream /v1/sessions/{{session}}/stream.
func TestMockSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMock(t)
		c := runMem(t, m, scenario(t, `
url: http://mock.test/v1/sessions/{{session}}/stream
setup:
  method: POST
  url: http://mock.test/v1/sessions
  body: {tokens: 5, ttft: 10ms, itl: 1ms}
  extract: {session: id}
load: {connections: 2}
duration: 100ms
`))
		c.checkWellFormed(t)
		ends := c.ends()
		if len(ends) == 0 {
			t.Fatal("no streams")
		}
		for _, e := range ends {
			if e.Err != scenarios.ErrNone || c.tokens(e.Stream) != 5 {
				t.Errorf("stream %d: %v %q tokens %d", e.Stream, e.Err, e.Detail, c.tokens(e.Stream))
			}
		}
	})
}
