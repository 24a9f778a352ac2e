package swarm

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// TestReconnect drops the connection every 4 events: the stream resumes
// with Last-Event-ID after the server's retry time, ids are checked across
// the resumes, and the stream ends ok on its third attempt.
func TestReconnect(t *testing.T) {
	for _, tc := range []struct {
		name         string
		skip, dup    bool
		lost, dupl   int64
		content      int64
		attempts     int
		lastEventIDs []string
	}{
		{name: "exact", content: 10, attempts: 3, lastEventIDs: []string{"", "3", "7"}},
		{name: "skip-on-resume", skip: true, lost: 2, content: 8, attempts: 3, lastEventIDs: []string{"", "3", "8"}},
		{name: "duplicate-on-resume", dup: true, dupl: 3, content: 13, attempts: 4, lastEventIDs: []string{"", "3", "6", "9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &sseHandler{ttft: 50 * time.Millisecond, itl: 10 * time.Millisecond, tokens: 10,
					retry: 200 * time.Millisecond, dropAfter: 4, skipResume: tc.skip, dupResume: tc.dup}
				m := serveMem(t, h)
				c := runMem(t, m, scenario(t, one("reconnect: {max: 5, delay: 5s}")))
				c.checkWellFormed(t)
				ends := c.ends()
				if len(ends) != tc.attempts {
					t.Fatalf("attempts %d, want %d", len(ends), tc.attempts)
				}
				for i, e := range ends[:len(ends)-1] {
					if e.Err != scenarios.ErrReset || e.Final {
						t.Errorf("attempt %d: %v %q final %v, want a reset and a reconnect", i, e.Err, e.Detail, e.Final)
					}
				}
				// The server's retry (200ms) overrides the scenario's delay
				// (5s): each resume waits 200ms, then the server's 50ms.
				rg := values(c.all, scenarios.ResumeGap)
				if len(rg) != tc.attempts-1 {
					t.Errorf("resume gaps %v, want %d", rg, tc.attempts-1)
				}
				for _, d := range rg {
					if d != 250*time.Millisecond {
						t.Errorf("resume gap %v, want 250ms (retry 200ms + 50ms)", d)
					}
				}
				last := ends[len(ends)-1]
				if last.Err != scenarios.ErrNone || !last.Final {
					t.Errorf("last attempt: %v %q final %v", last.Err, last.Detail, last.Final)
				}
				all := c.all
				if n := sum(all, func(r *scenarios.Result) int64 { return r.Content }); n != tc.content {
					t.Errorf("content events %d, want %d", n, tc.content)
				}
				if n := sum(all, func(r *scenarios.Result) int64 { return r.IDsLost }); n != tc.lost {
					t.Errorf("ids lost %d, want %d", n, tc.lost)
				}
				if n := sum(all, func(r *scenarios.Result) int64 { return r.IDsDup }); n != tc.dupl {
					t.Errorf("ids duplicated %d, want %d", n, tc.dupl)
				}
				if got := h.lastEventIDs(""); !slices.Equal(got, tc.lastEventIDs) {
					t.Errorf("Last-Event-ID headers %q, want %q", got, tc.lastEventIDs)
				}
			})
		})
	}
}

// TestReconnectNoLastEventID: with last_event_id off, the header is never
// sent and every resume starts over (the ids repeat).
func TestReconnectNoLastEventID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sseHandler{tokens: 3, retry: 10 * time.Millisecond, dropAfter: 2}
		m := serveMem(t, h)
		c := runMem(t, m, scenario(t, one("reconnect: {max: 2, last_event_id: false, honor_retry: false, delay: 1s}")))
		c.checkWellFormed(t)
		if n := len(c.ends()); n != 3 {
			t.Fatalf("attempts %d, want 3", n)
		}
		if got := h.lastEventIDs(""); !slices.Equal(got, []string{"", "", ""}) {
			t.Errorf("Last-Event-ID headers %q, want none", got)
		}
		// honor_retry false: the scenario's delay (1s), not the server's 10ms.
		starts := c.kind(scenarios.KindStart)
		if d := starts[1].Start.Sub(starts[0].Start); d != time.Second {
			t.Errorf("reconnect after %v, want 1s", d)
		}
		if n := sum(c.all, func(r *scenarios.Result) int64 { return r.IDsDup }); n != 4 {
			t.Errorf("ids duplicated %d, want 4 (ids 0 and 1 again on each of the two resumes)", n)
		}
	})
}

// Test204Stops: a resume answered 204 stops the stream: no error, no
// further reconnect.
func Test204Stops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls int
		m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if r.Header.Get("Last-Event-ID") == "5" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeEvents(w, "retry: 10\nid: 5\ndata: last\n\n") // then a clean end without a terminal event
		}))
		c := runMem(t, m, scenario(t, one("reconnect: {max: 10}")))
		c.checkWellFormed(t)
		ends := c.ends()
		if len(ends) != 2 || calls != 2 {
			t.Fatalf("attempts %d, calls %d, want 2", len(ends), calls)
		}
		if e := ends[0]; e.Err != scenarios.ErrEOFBeforeTerminal || e.Final {
			t.Errorf("attempt 0: %v final %v", e.Err, e.Final)
		}
		if e := ends[1]; e.Err != scenarios.ErrNone || e.Status != 204 || !e.Final || e.Aborted {
			t.Errorf("attempt 1: %v status %d final %v", e.Err, e.Status, e.Final)
		}
	})
}

// TestCleanEOFFeed: with no terminal rule (a live feed), a clean end is a
// success, and with after_clean_end a browser-like reconnect follows while
// allowed.
func TestCleanEOFFeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeEvents(w, "data: tick\n\ndata: tock\n\n")
		}))
		sc := scenario(t, one(`
events: {preset: custom}
reconnect: {max: 1, delay: 10ms, after_clean_end: true}`))
		c := runMem(t, m, sc)
		c.checkWellFormed(t)
		ends := c.ends()
		if len(ends) != 2 {
			t.Fatalf("attempts %d, want 2", len(ends))
		}
		for i, e := range ends {
			if e.Err != scenarios.ErrNone {
				t.Errorf("attempt %d: %v %q", i, e.Err, e.Detail)
			}
		}
		// One stream: e2e once, on the final attempt, from the first start
		// to the final end (the reconnect delay included).
		if v := values(c.all, scenarios.E2E); !slices.Equal(v, []time.Duration{10 * time.Millisecond}) || ends[0].Final || !ends[1].Final {
			t.Errorf("e2e %v, want [10ms]; finals %v %v", v, ends[0].Final, ends[1].Final)
		}
		if _, ok := ends[1].Get(scenarios.E2ESched); !ok {
			t.Errorf("no e2e_sched on the final attempt")
		}
	})
}

// TestTrailingInt: the integer an id ends in, as the id accounting reads
// it (at most 18 digits, so it cannot overflow).
func TestTrailingInt(t *testing.T) {
	for _, c := range []struct {
		id string
		n  int64
		ok bool
	}{
		{"", 0, false},
		{"abc", 0, false},
		{"41-", 0, false},
		{"0", 0, true},
		{"41", 41, true},
		{"evt-41", 41, true},
		{"a007", 7, true},
		{"123456789012345678", 123456789012345678, true},
		{"99123456789012345678", 123456789012345678, true},
		{"x/999999999999999999", 999999999999999999, true},
		{"1:2", 2, true},
		{"\xff9", 9, true},
	} {
		n, digits := trailingInt([]byte(c.id))
		if ok := digits > 0; n != c.n || ok != c.ok {
			t.Errorf("trailingInt(%q) = %d, %v; want %d, %v", c.id, n, ok, c.n, c.ok)
		}
	}
}

// TestTrackID: ids lost and duplicated over a sequence that repeats ids
// (skipped), skips one, goes back, changes its prefix, leaves numbers and
// comes back with a zero-padded tail.
func TestTrackID(t *testing.T) {
	st := &stream{}
	res := scenarios.NewResult()
	for _, id := range []string{"1", "2", "2", "4", "3", "evt-5", "evt-5", "x", "x", "evt-05", "evt-5", "7"} {
		st.trackID(res, []byte(id))
	}
	if res.IDsLost != 2 || res.IDsDup != 3 {
		t.Errorf("lost %d, duplicated %d; want 2 and 3", res.IDsLost, res.IDsDup)
	}
	// A new connection compares its first id with the last one.
	st.resetIDs()
	st.trackID(res, []byte("7"))
	if res.IDsDup != 4 {
		t.Errorf("a resume repeating id 7: duplicated %d, want 4", res.IDsDup)
	}
}

// TestTrackIDSequences: trackID, whose common case (the previous id plus
// one) is not parsed, counts the same as the rule it implements, applied
// naively (every id parsed, compared whole with the previous one), over
// random sequences of increments, repeats, jumps back and forth, tails that
// roll over (9 -> 10, 099 -> 100, up to and past 18 digits), changes of
// prefix, ids with no number, and new connections.
func TestTrackIDSequences(t *testing.T) {
	type naive struct {
		prev            string
		havePrev, known bool
		max             int64
		lost, dup       int64
	}
	track := func(m *naive, id string) {
		if m.havePrev && id == m.prev {
			return
		}
		m.prev, m.havePrev = id, true
		n, digits := trailingInt([]byte(id))
		if digits == 0 {
			return
		}
		if m.known {
			switch {
			case n <= m.max:
				m.dup++
				return
			case n > m.max+1:
				m.lost += n - m.max - 1
			}
		}
		m.known, m.max = true, n
	}
	rng := rand.New(rand.NewPCG(1, 2))
	prefixes := []string{"", "evt-", "x/9", "a:", "id "}
	for seq := range 300 {
		st := &stream{}
		res := scenarios.NewResult()
		var m naive
		prefix := prefixes[rng.IntN(len(prefixes))]
		width := rng.IntN(4)                                                                 // zero padding
		n := int64(rng.IntN(120)) + []int64{0, 1e16 - 50, 1e17 - 30, 1e18 - 20}[rng.IntN(4)] // near 9 -> 10 and 18 digits
		var ids []string
		for range 200 {
			switch k := rng.IntN(20); {
			case k < 13:
				n++
			case k == 13: // a repeat
			case k == 14:
				n += int64(rng.IntN(5))
			case k == 15:
				n -= int64(rng.IntN(5))
			case k == 16:
				prefix = prefixes[rng.IntN(len(prefixes))]
			case k == 17:
				ids = append(ids, "no-number")
				continue
			case k == 18:
				ids = append(ids, "") // a new connection
				continue
			default:
				width = rng.IntN(4)
			}
			ids = append(ids, prefix+fmt.Sprintf("%0*d", width, max(n, 0)))
		}
		for i, id := range ids {
			if id == "" {
				st.resetIDs()
				m.havePrev = false
				continue
			}
			// An id as the Reader hands it over (its buffers have room
			// for 16 bytes, which sse.EqualShort's one-load compare relies on),
			// or one with no room past it.
			b := []byte(id)
			if i%2 == 0 {
				b = append(make([]byte, 0, 16), id...)
			}
			st.trackID(res, b)
			track(&m, id)
			if res.IDsLost != m.lost || res.IDsDup != m.dup || st.idMax != m.max {
				t.Fatalf("sequence %d, id %d %q (after %q): lost %d dup %d max %d; the rule says lost %d dup %d max %d",
					seq, i, id, ids[max(i-3, 0):i], res.IDsLost, res.IDsDup, st.idMax, m.lost, m.dup, m.max)
			}
		}
	}
}
