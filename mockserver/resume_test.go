package mockserver

import (
	"strconv"
	"strings"
	"testing"
)

// resumeTarget is one streaming endpoint, for the resume tests.
type resumeTarget struct {
	name, method, path, body string
}

func resumeTargets(t *testing.T, url string) []resumeTarget {
	r := do(t, "POST", url+"/v1/sessions", `{"tokens":6,"chunk":1,"seed":5}`, nil)
	id := jsonField(t, r.body, "id")
	return []resumeTarget{
		{"stream", "GET", "/v1/stream?tokens=6&seed=3", ""},
		{"stream-chunked", "GET", "/v1/stream?tokens=7&chunk=3", ""},
		{"chat", "POST", "/v1/chat/completions?tokens=5", chatBody},
		{"chat-usage", "POST", "/v1/chat/completions?tokens=5", chatUsageBody},
		{"session", "GET", "/v1/sessions/" + id + "/stream", ""},
		{"error-after", "GET", "/v1/stream?tokens=6&fault=error-after=2", ""},
	}
}

// TestResumeEveryK: for every k, the stream resumed with Last-Event-ID: k
// is byte for byte the uninterrupted stream after event k (but for a chat
// completion's id and created: a resume is a completion of its own); the
// final id gets 204; unknown ids get 400 with a JSON error.
func TestResumeEveryK(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	for _, tg := range resumeTargets(t, ts.URL) {
		t.Run(tg.name, func(t *testing.T) {
			full := do(t, tg.method, ts.URL+tg.path, tg.body, nil)
			ps := parseSSE(full.body)
			n := len(ps.events)
			if n < 3 {
				t.Fatalf("only %d events", n)
			}
			for k := 0; k < n-1; k++ {
				r := do(t, tg.method, ts.URL+tg.path, tg.body, map[string]string{"Last-Event-ID": strconv.Itoa(k)})
				if r.status != 200 {
					t.Fatalf("k=%d: status %d", k, r.status)
				}
				want := anyCompletion(full.body[ps.events[k+1].Start:])
				if string(anyCompletion(r.body)) != string(want) {
					t.Errorf("k=%d: resumed bytes differ\n got %q\nwant %q", k, r.body, want)
				}
				got := parseSSE(r.body)
				if len(got.events) != n-k-1 || got.events[0].ID != strconv.Itoa(k+1) {
					t.Errorf("k=%d: resumed ids %v", k, got.ids())
				}
			}
			end := do(t, tg.method, ts.URL+tg.path, tg.body, map[string]string{"Last-Event-ID": strconv.Itoa(n - 1)})
			if end.status != 204 || len(end.body) != 0 {
				t.Errorf("Last-Event-ID of the final event: %d %q, want 204", end.status, end.body)
			}
			for _, bad := range []string{strconv.Itoa(n), "-1", "abc", "01", "+1", "1.0", "1 x", "99999999999999999999999", strings.Repeat("9", 5000)} {
				r := do(t, tg.method, ts.URL+tg.path, tg.body, map[string]string{"Last-Event-ID": bad})
				if r.status != 400 {
					t.Errorf("Last-Event-ID %.20q: status %d, want 400", bad, r.status)
					continue
				}
				assertJSONError(t, r)
			}
			// An empty Last-Event-ID is a fresh start.
			if r := do(t, tg.method, ts.URL+tg.path, tg.body, map[string]string{"Last-Event-ID": ""}); string(anyCompletion(r.body)) != string(anyCompletion(full.body)) {
				t.Errorf("empty Last-Event-ID did not start over")
			}
		})
	}
}

// TestDropAfterClientLoop plays a client that reconnects after every
// drop-after cut with the last complete id, as the spec's processing model
// does, and checks that it gets every event exactly once and ends on 204.
func TestDropAfterClientLoop(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	for _, n := range []int{1, 2, 3, 5} {
		for _, tg := range []resumeTarget{
			{"stream", "GET", "/v1/stream?tokens=9&chunk=2", ""},
			{"chat", "POST", "/v1/chat/completions?tokens=7", chatUsageBody},
		} {
			t.Run(tg.name+"/drop-after="+strconv.Itoa(n), func(t *testing.T) {
				full := parseSSE(do(t, tg.method, ts.URL+tg.path, tg.body, nil).body)
				path := tg.path + "&fault=drop-after=" + strconv.Itoa(n)
				var got []tev
				last, conns, cuts := "", 0, 0
				for conns = 1; conns < 100; conns++ {
					h := map[string]string{}
					if last != "" {
						h["Last-Event-ID"] = last
					}
					r := do(t, tg.method, ts.URL+path, tg.body, h)
					if r.status == 204 {
						break
					}
					if r.status != 200 {
						t.Fatalf("connection %d: status %d", conns, r.status)
					}
					ps := parseSSE(r.body)
					if r.readErr != nil {
						cuts++
						if !ps.pendingAtEOF {
							t.Errorf("connection %d was cut at an event boundary, want mid-event", conns)
						}
						if len(ps.events) != n {
							t.Errorf("connection %d: %d complete events before the cut, want %d", conns, len(ps.events), n)
						}
					}
					got = append(got, ps.events...)
					if len(ps.events) > 0 {
						last = ps.events[len(ps.events)-1].ID
					}
				}
				if len(got) != len(full.events) {
					t.Fatalf("got %d events over %d connections, want %d: ids %v", len(got), conns, len(full.events), ids(got))
				}
				for i := range got {
					same := string(anyCompletion([]byte(got[i].Data))) == string(anyCompletion([]byte(full.events[i].Data)))
					if got[i].ID != full.events[i].ID || !same || got[i].Type != full.events[i].Type {
						t.Errorf("event %d: got %+v want %+v", i, got[i], full.events[i])
					}
				}
				if cuts == 0 {
					t.Errorf("no connection was cut")
				}
			})
		}
	}
}

func ids(evs []tev) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}
