package swarm

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// memNet is an in-memory network for tests in a synctest bubble: Dial
// returns one end of a net.Pipe whose other end the listener accepts.
// Goroutines blocked on it are durably blocked, so the bubble's fake clock
// advances through a whole run in no real time.
type memNet struct {
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
	refuse atomic.Bool
	dials  atomic.Int64
}

func newMemNet() *memNet {
	return &memNet{conns: make(chan net.Conn), done: make(chan struct{})}
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem:80" }

func (m *memNet) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *memNet) Close() error {
	m.once.Do(func() { close(m.done) })
	return nil
}

func (m *memNet) Addr() net.Addr { return memAddr{} }

func (m *memNet) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	m.dials.Add(1)
	refused := &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	if m.refuse.Load() {
		return nil, refused
	}
	c, s := net.Pipe()
	select {
	case m.conns <- s:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.done:
		return nil, refused
	}
}

// serveMem serves h on a new memNet until the test ends.
func serveMem(t testing.TB, h http.Handler) *memNet {
	m := newMemNet()
	srv := &http.Server{Handler: h}
	go srv.Serve(m)
	t.Cleanup(func() {
		m.Close()
		srv.Close()
	})
	return m
}

// scenario parses a scenario from YAML (the defaults merged, validated).
// The tests' handlers follow the mock's convention (info, add..., finish),
// so the events preset is eventsource unless the YAML sets events.
func scenario(t testing.TB, yaml string) *scenarios.Scenario {
	t.Helper()
	if !strings.Contains(yaml, "\nevents:") && !strings.HasPrefix(yaml, "events:") {
		yaml += "\nevents: eventsource\n"
	}
	sc, err := scenarios.Decode("test.yaml", []byte(yaml))
	if err == nil {
		err = sc.Validate()
	}
	if err != nil {
		t.Fatalf("scenario: %v\n%s", err, yaml)
	}
	return sc
}

// collected is every Result of a run, copied (the originals are released).
type collected struct {
	all []scenarios.Result
}

// collect runs s to its end and returns its Results.
func collect(t testing.TB, ctx context.Context, s *Swarm) *collected {
	t.Helper()
	c := &collected{}
	for r := range s.Run(ctx) {
		c.all = append(c.all, *r)
		r.Release()
	}
	return c
}

// run builds a Swarm on net m and collects a whole run.
func runMem(t testing.TB, m *memNet, sc *scenarios.Scenario) *collected {
	t.Helper()
	s, err := New(sc, Options{Dial: m.Dial})
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, t.Context(), s)
}

func (c *collected) kind(k scenarios.Kind) []scenarios.Result {
	var out []scenarios.Result
	for _, r := range c.all {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return out
}

// ends returns the KindEnd Results.
func (c *collected) ends() []scenarios.Result { return c.kind(scenarios.KindEnd) }

// stream returns the Results of stream no, in order.
func (c *collected) stream(no uint64) []scenarios.Result {
	var out []scenarios.Result
	for _, r := range c.all {
		if r.Stream == no {
			out = append(out, r)
		}
	}
	return out
}

// streams returns the distinct stream numbers, sorted.
func (c *collected) streams() []uint64 {
	var out []uint64
	for _, r := range c.all {
		if !slices.Contains(out, r.Stream) {
			out = append(out, r.Stream)
		}
	}
	slices.Sort(out)
	return out
}

// tokens returns the tokens of stream no: the sum of its Results' deltas.
func (c *collected) tokens(no uint64) int64 {
	return sum(c.stream(no), func(r *scenarios.Result) int64 { return r.Tokens })
}

// sum adds up a counter over Results.
func sum(rs []scenarios.Result, f func(*scenarios.Result) int64) int64 {
	var n int64
	for i := range rs {
		n += f(&rs[i])
	}
	return n
}

// gaps returns every gap (or ITL) of the Results.
func gaps(rs []scenarios.Result, itl bool) []time.Duration {
	var out []time.Duration
	for i := range rs {
		if itl {
			out = scenarios.Values(out, rs[i].ITLs())
		} else {
			out = scenarios.Values(out, rs[i].Gaps())
		}
	}
	return out
}

// values returns the measured values of metric m.
func values(rs []scenarios.Result, m scenarios.Metric) []time.Duration {
	var out []time.Duration
	for i := range rs {
		if v, ok := rs[i].Get(m); ok {
			out = append(out, v)
		}
	}
	return out
}

// checkWellFormed checks the invariants every run must keep: per stream,
// attempts numbered from 0, each KindStart followed by its progress and
// exactly one KindEnd, exactly one Final Result, nothing after it.
func (c *collected) checkWellFormed(t testing.TB) {
	t.Helper()
	by := map[uint64][]scenarios.Result{}
	for _, r := range c.all {
		by[r.Stream] = append(by[r.Stream], r)
	}
	for _, no := range c.streams() {
		rs := by[no]
		if rs[0].Kind == scenarios.KindDropped {
			if len(rs) != 1 || !rs[0].Final {
				t.Errorf("stream %d: dropped arrival has %d results", no, len(rs))
			}
			continue
		}
		attempt, open := uint32(0), false
		for i, r := range rs {
			switch r.Kind {
			case scenarios.KindStart:
				if open || r.Attempt != attempt {
					t.Errorf("stream %d: result %d: KindStart attempt %d, want %d (open %v)", no, i, r.Attempt, attempt, open)
				}
				open = true
			case scenarios.KindProgress:
				if !open || r.Attempt != attempt {
					t.Errorf("stream %d: result %d: progress outside attempt %d", no, i, attempt)
				}
			case scenarios.KindEnd:
				if !open || r.Attempt != attempt {
					t.Errorf("stream %d: result %d: KindEnd outside attempt %d", no, i, attempt)
				}
				open = false
				attempt++
				if r.Final != (i == len(rs)-1) {
					t.Errorf("stream %d: result %d: Final = %v, last = %v", no, i, r.Final, i == len(rs)-1)
				}
			default:
				t.Errorf("stream %d: result %d: kind %d", no, i, r.Kind)
			}
		}
		if open {
			t.Errorf("stream %d: attempt %d never ended", no, attempt)
		}
	}
}

// sseHandler is a configurable event-stream endpoint in the shape of the
// mock's /v1/stream: an info event (id 0, retry), content events add with
// ids 1..tokens, then a finish event (id tokens+1) with usage. It resumes
// after Last-Event-ID: k with event k+1, and answers 204 when k is the
// final id.
type sseHandler struct {
	ttft, itl  time.Duration
	tokens     int
	retry      time.Duration
	dropAfter  int  // close the connection abruptly after this many events of a connection
	skipResume bool // on resume, skip one event (lost data)
	dupResume  bool // on resume, repeat the last event
	usage      int  // the usage the finish event reports: 0 means tokens, -1 none
	hits       atomic.Int64
	mu         sync.Mutex
	lastIDs    map[string][]string // URL query -> the Last-Event-ID headers received
}

func (h *sseHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.hits.Add(1)
	if r.Header.Get("Accept") != "text/event-stream" || r.Header.Get("Cache-Control") != "no-cache" {
		http.Error(w, "bad request headers", http.StatusBadRequest)
		return
	}
	next := 0
	lid := r.Header.Get("Last-Event-ID")
	h.mu.Lock()
	if h.lastIDs == nil {
		h.lastIDs = map[string][]string{}
	}
	h.lastIDs[r.URL.RawQuery] = append(h.lastIDs[r.URL.RawQuery], lid)
	h.mu.Unlock()
	if lid != "" {
		k, err := strconv.Atoi(lid)
		if err != nil {
			http.Error(w, "bad Last-Event-ID", http.StatusBadRequest)
			return
		}
		if k >= h.tokens+1 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next = k + 1
		if h.skipResume {
			next++
		}
		if h.dupResume {
			next--
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	sent := 0
	for id := next; id <= h.tokens+1; id++ {
		if h.dropAfter > 0 && sent == h.dropAfter {
			panic(http.ErrAbortHandler) // the server closes the connection
		}
		var err error
		switch {
		case id == 0:
			_, err = fmt.Fprintf(w, "retry: %d\nevent: info\nid: 0\ndata: {\"tokens\":%d}\n\n", h.retry.Milliseconds(), h.tokens)
		case id <= h.tokens:
			if id == 1 || (id == next && lid != "") {
				pause(r, h.ttft)
			} else {
				pause(r, h.itl)
			}
			_, err = fmt.Fprintf(w, "event: add\nid: %d\ndata: tok%d\n\n", id, id)
		case h.usage < 0:
			_, err = fmt.Fprintf(w, "event: finish\nid: %d\ndata: {}\n\n", id)
		default:
			u := h.tokens
			if h.usage > 0 {
				u = h.usage
			}
			_, err = fmt.Fprintf(w, "event: finish\nid: %d\ndata: {\"usage\":{\"completion_tokens\":%d}}\n\n", id, u)
		}
		if err != nil || r.Context().Err() != nil {
			return // the client is gone
		}
		fl.Flush()
		sent++
	}
}

// lastEventIDs returns the Last-Event-ID headers received for query.
func (h *sseHandler) lastEventIDs(query string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lastIDs[query])
}

// waitGoroutines waits until the number of goroutines is at most n, and
// fails with a dump if it never is. Goroutines that end give no signal to
// wait on, so it polls; its 60 s bound only stops a leak (a hung test),
// never a slow machine, as the project's other polls of that kind.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := runtime.NumGoroutine()
		if got <= n {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d, want <= %d (leak)\n%s", got, n, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
