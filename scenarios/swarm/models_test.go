package swarm

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// TestOpenAIRoleOnlyChunk: the role-only chunk is an event (ttfe) but not
// content: ttft is the first chunk with content; tokens come from usage.
func TestOpenAIRoleOnlyChunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "want a JSON POST", 400)
				return
			}
			pause(r, 50*time.Millisecond)
			writeEvents(w, `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`+"\n\n")
			pause(r, 250*time.Millisecond)
			writeEvents(w, `data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}`+"\n\n")
			pause(r, 20*time.Millisecond)
			writeEvents(w, `data: {"choices":[{"index":0,"delta":{"content":" there"}}]}`+"\n\n")
			pause(r, 20*time.Millisecond)
			writeEvents(w, `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"+
				`data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}`+"\n\n"+
				"data: [DONE]\n\n")
		}))
		c := runMem(t, m, scenario(t, `
url: http://sse.test/v1/chat/completions
body: {model: m, stream: true, messages: [{role: user, content: hi}]}
events: openai
load: {rate: 1/m}
duration: 1m
`))
		c.checkWellFormed(t)
		rs := c.all
		if v := values(rs, scenarios.TTFE); !slices.Equal(v, []time.Duration{50 * time.Millisecond}) {
			t.Errorf("ttfe %v, want [50ms] (the role-only chunk)", v)
		}
		if v := values(rs, scenarios.TTFT); !slices.Equal(v, []time.Duration{300 * time.Millisecond}) {
			t.Errorf("ttft %v, want [300ms] (not the role-only chunk)", v)
		}
		if v := gaps(rs, true); !slices.Equal(v, []time.Duration{20 * time.Millisecond}) {
			t.Errorf("itl %v, want [20ms]", v)
		}
		e := c.ends()[0]
		if e.Err != scenarios.ErrNone || c.tokens(e.Stream) != 3 {
			t.Errorf("end: %v %q tokens %d, want ok with 3 tokens (usage)", e.Err, e.Detail, c.tokens(e.Stream))
		}
		if v, _ := e.Get(scenarios.E2E); v != 340*time.Millisecond {
			t.Errorf("e2e %v, want 340ms", v)
		}
		if v, _ := e.Get(scenarios.TPOT); v != 20*time.Millisecond {
			t.Errorf("tpot %v, want (340-300)/(3-1) = 20ms", v)
		}
		if n := sum(rs, func(r *scenarios.Result) int64 { return r.Content }); n != 2 {
			t.Errorf("content events %d, want 2", n)
		}
	})
}

// TestAbort: the abort rule picks streams by number (scenarios.Aborts);
// those end after k content events or t, counted as aborted, not failed,
// and never reconnect.
func TestAbort(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rule    string
		content int64
	}{
		{"after_events", "abort: {fraction: 0.5, after_events: 3}", 3},
		{"after", "abort: {fraction: 0.5, after: 155ms}", 6}, // tokens at 100, 110, ..., 150ms
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &sseHandler{ttft: 100 * time.Millisecond, itl: 10 * time.Millisecond, tokens: 10}
				m := serveMem(t, h)
				sc := scenario(t, `
url: http://sse.test/v1/stream
load: {connections: 10}
duration: 100ms
reconnect: {max: 3}
`+tc.rule)
				c := runMem(t, m, sc)
				c.checkWellFormed(t)
				aborted := 0
				for _, no := range c.streams() {
					rs := c.stream(no)
					e := rs[len(rs)-1]
					want := sc.Aborts(no)
					if e.Aborted != want || e.Err != scenarios.ErrNone || e.Attempt != 0 {
						t.Errorf("stream %d: aborted %v (want %v), err %v, attempt %d", no, e.Aborted, want, e.Err, e.Attempt)
					}
					content := sum(rs, func(r *scenarios.Result) int64 { return r.Content })
					if want && content != tc.content || !want && content != 10 {
						t.Errorf("stream %d (aborted %v): content %d", no, want, content)
					}
					if want {
						aborted++
						if _, ok := e.Get(scenarios.E2E); ok {
							t.Errorf("stream %d: aborted but has e2e", no)
						}
					}
				}
				if aborted == 0 || aborted == len(c.streams()) {
					t.Errorf("%d of %d streams aborted, want about half", aborted, len(c.streams()))
				}
			})
		})
	}
}

// TestOpenDrops: with max_connections 2 and streams longer than the
// arrival interval, the generator drops the arrivals that find no free
// slot (KindDropped) instead of delaying them; the ones it starts start on
// time (queue 0 on the fake clock).
func TestOpenDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sseHandler{ttft: 495 * time.Millisecond, tokens: 1}
		m := serveMem(t, h)
		sc := scenario(t, `
url: http://sse.test/v1/stream
load: {rate: 100/s, max_connections: 2}
duration: 1s
`)
		s, err := New(sc, Options{Dial: m.Dial})
		if err != nil {
			t.Fatal(err)
		}
		c := collect(t, t.Context(), s)
		c.checkWellFormed(t)
		dropped := c.kind(scenarios.KindDropped)
		started := c.kind(scenarios.KindStart)
		// Arrivals at 0, 10, ..., 990ms; streams last 495ms: those at 0, 10,
		// 500 and 510ms start, every other one is dropped.
		if len(started) != 4 || len(dropped) != 96 {
			t.Errorf("started %d, dropped %d, want 4 and 96", len(started), len(dropped))
		}
		for _, r := range started {
			if q, ok := r.Get(scenarios.Queue); !ok || q != 0 {
				t.Errorf("stream %d: queue %v (%v), want 0", r.Stream, q, ok)
			}
			if at := r.Sched.Sub(started[0].Sched); at%(10*time.Millisecond) != 0 {
				t.Errorf("stream %d scheduled at %v", r.Stream, at)
			}
		}
		for _, r := range dropped {
			if at := r.Sched.Sub(started[0].Sched); at%(10*time.Millisecond) != 0 || r.Stream != uint64(at/(10*time.Millisecond)) {
				t.Errorf("dropped stream %d scheduled at %v", r.Stream, at)
			}
		}
		if st := s.Status(); st.Dropped != 96 || st.Started != 4 || !st.Done || st.Active != 0 || st.InFlight != 0 {
			t.Errorf("status %+v", st)
		}
	})
}

// TestClosedRamp follows a ramp up and down: the level is reached, excess
// slots finish their stream and stop; Status reports stage and target.
func TestClosedRamp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sseHandler{ttft: 50 * time.Millisecond, itl: 10 * time.Millisecond, tokens: 5}
		m := serveMem(t, h)
		sc := scenario(t, `
url: http://sse.test/v1/stream
load:
  connections: 0
  stages:
    - {duration: 1s, target: 10}
    - {duration: 1s, target: 10}
    - {duration: 1s, target: 0}
grace: 1s
`)
		s, err := New(sc, Options{Dial: m.Dial})
		if err != nil {
			t.Fatal(err)
		}
		out := s.Run(t.Context())
		var peak int64
		var statuses []Status
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Sample at 5ms past each 100ms: never at a stream's boundary
			// (slots start on 100ms marks, streams last 90ms).
			time.Sleep(5 * time.Millisecond)
			for range 30 {
				time.Sleep(100 * time.Millisecond)
				st := s.Status()
				statuses = append(statuses, st)
				peak = max(peak, st.Active)
			}
		}()
		c := &collected{}
		for r := range out {
			c.all = append(c.all, *r)
			r.Release()
		}
		<-done
		c.checkWellFormed(t)
		if peak != 10 {
			t.Errorf("peak active %d, want 10", peak)
		}
		// At 1.505s: stage 2/3 (the hold), target 10, 10 active.
		st := statuses[14]
		if st.Stage != 1 || st.StageName != "stage 2/3" || st.Target != 10 || st.Active != 10 {
			t.Errorf("status at 1.505s: %+v", st)
		}
		// At 2.505s: ramping down, target 5 (lowered from 6 at 2.5s).
		st = statuses[24]
		if st.Stage != 2 || st.Target != 5 || st.Active > 6 { // the excess slot finishes its stream
			t.Errorf("status at 2.505s: %+v", st)
		}
		for _, e := range c.ends() {
			if e.Err != scenarios.ErrNone {
				t.Errorf("stream %d: %v %q", e.Stream, e.Err, e.Detail)
			}
		}
	})
}

// TestCancelPartial: cancelling the context mid-run ends every stream at
// once, each with its KindEnd (cancelled: neither ok nor failed), and
// closes the channel.
func TestCancelPartial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sseHandler{ttft: 10 * time.Millisecond, itl: 100 * time.Millisecond, tokens: 1000}
		m := serveMem(t, h)
		sc := scenario(t, `
url: http://sse.test/v1/stream
load: {connections: 5}
duration: 1h
reconnect: {max: 5}
`)
		s, err := New(sc, Options{Dial: m.Dial})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		c := collect(t, ctx, s)
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("run lasted %v after a cancel at 2s", d)
		}
		c.checkWellFormed(t)
		ends := c.ends()
		if len(ends) != 5 {
			t.Fatalf("ends %d, want 5", len(ends))
		}
		for _, e := range ends {
			if e.Err != scenarios.ErrNone || e.Aborted || !e.Final || e.Detail != detailCancelled || !e.Cancelled {
				t.Errorf("stream %d: %v %q aborted %v final %v", e.Stream, e.Err, e.Detail, e.Aborted, e.Final)
			}
			if _, ok := e.Get(scenarios.E2E); ok {
				t.Errorf("stream %d: cancelled but has e2e", e.Stream)
			}
		}
		if n := sum(c.all, func(r *scenarios.Result) int64 { return r.Content }); n != 5*20 {
			t.Errorf("content %d, want 100 (20 per stream in 2s)", n)
		}
	})
}

// TestRampDownGrace: when the level drops, excess slots whose streams do
// not end by themselves are cancelled after the grace period.
func TestRampDownGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sseHandler{ttft: 10 * time.Millisecond, itl: 50 * time.Millisecond, tokens: 100000}
		m := serveMem(t, h)
		sc := scenario(t, `
url: http://sse.test/v1/stream
load:
  connections: 10
  stages:
    - {duration: 1s, target: 10}
    - {duration: 10ms, target: 2}
    - {duration: 2s, target: 2}
grace: 300ms
`)
		c := runMem(t, m, sc)
		c.checkWellFormed(t)
		ends := c.ends()
		if len(ends) != 10 {
			t.Fatalf("streams %d, want 10", len(ends))
		}
		var early, late int
		for _, e := range ends {
			if e.Err != scenarios.ErrNone || e.Detail != detailCancelled || !e.Cancelled {
				t.Errorf("stream %d: %v %q", e.Stream, e.Err, e.Detail)
			}
			n := sum(c.stream(e.Stream), func(r *scenarios.Result) int64 { return r.Content })
			switch {
			case n >= 25 && n <= 27: // cancelled at 1.3s..1.31s: tokens at 10ms, 60ms, ...
				early++
			case n >= 65 && n <= 67: // cancelled at the end: 3.01s + 300ms
				late++
			default:
				t.Errorf("stream %d: %d content events", e.Stream, n)
			}
		}
		if early != 8 || late != 2 {
			t.Errorf("cancelled after the ramp-down: %d, at the end: %d; want 8 and 2", early, late)
		}
	})
}

// TestLateArrivalsDropped: arrivals the generator reaches more than
// MaxLag late are dropped, not sent late.
func TestLateArrivalsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sseHandler{tokens: 1}
		m := serveMem(t, h)
		sc := scenario(t, `
url: http://sse.test/v1/stream
load: {rate: 100/s}
duration: 1s
`)
		s, err := New(sc, Options{Dial: m.Dial, MaxLag: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		// The generator stalls for 55ms at arrival 10 (due at 100ms): it
		// wakes at 155ms, when arrivals 10..15 are due.
		s.testHookArrival = func(hit uint64) {
			if hit == 10 {
				time.Sleep(55 * time.Millisecond)
			}
		}
		c := collect(t, t.Context(), s)
		c.checkWellFormed(t)
		var dropped []uint64
		for _, r := range c.kind(scenarios.KindDropped) {
			dropped = append(dropped, r.Stream)
		}
		// 10 (55ms late), 11 (45ms), 12 (35ms), 13 (25ms) are dropped; 14
		// (15ms late) and 15 (5ms) start late, with their queue delay.
		if !slices.Equal(dropped, []uint64{10, 11, 12, 13}) {
			t.Errorf("dropped %v, want [10 11 12 13]", dropped)
		}
		for _, r := range c.kind(scenarios.KindStart) {
			q, _ := r.Get(scenarios.Queue)
			want := time.Duration(0)
			switch r.Stream {
			case 14:
				want = 15 * time.Millisecond
			case 15:
				want = 5 * time.Millisecond
			}
			if q != want {
				t.Errorf("stream %d: queue %v, want %v", r.Stream, q, want)
			}
		}
		if st := s.Status(); st.Dropped != 4 || st.MaxLag != 15*time.Millisecond {
			t.Errorf("status %+v", st)
		}
	})
}

// TestSetupFails: a failing setup request fails the stream (one attempt,
// start and end) with the setup's status.
func TestSetupFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/sessions":
				http.Error(w, "nope", http.StatusForbidden)
			default:
				writeEvents(w, "event: finish\ndata: x\n\n")
			}
		}))
		c := runMem(t, m, scenario(t, one(`
url: http://sse.test/stream/{{sid}}
setup: {url: http://sse.test/sessions, method: POST, extract: {sid: id}}
`)))
		c.checkWellFormed(t)
		e := c.ends()
		if len(e) != 1 || e[0].Err != scenarios.ErrHTTPStatus || e[0].Status != 403 || !strings.Contains(e[0].Detail, "setup") {
			t.Fatalf("ends %+v", e)
		}
	})
}

// TestNoStreamPastDuration: a closed-model slot does not start a stream
// once the duration is over, even while the controller has not yet woken
// up to stop the run (on a starved machine it can be seconds late).
func TestNoStreamPastDuration(t *testing.T) {
	sc := scenario(t, "url: http://127.0.0.1:1/\nload: {connections: 4}\nduration: 10s\n")
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.want.Store(4) // the controller's level; stopping is still false
	s.startNano.Store(int64(time.Since(monoBase)) + 1)
	if !s.wanted(0) {
		t.Fatal("at the start of the run, slot 0 is not wanted")
	}
	s.startNano.Store(int64(time.Since(monoBase)-11*time.Second) + 1)
	if s.wanted(0) {
		t.Error("11s into a 10s run, slot 0 is still wanted")
	}
}
