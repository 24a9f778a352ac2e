package swarm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
	"github.com/ssebench/ssebench/scenarios"
)

// genSource is an endless in-memory event stream: n events made by ev,
// then final, then EOF. Reads fill the caller's buffer as a fast network
// would.
type genSource struct {
	n, i    int
	ev      func(dst []byte, i int) []byte
	final   string
	buf     []byte
	pending []byte
	ended   bool
}

func (g *genSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.pending) == 0 {
			switch {
			case g.i < g.n:
				g.buf = g.ev(g.buf[:0], g.i)
				g.i++
			case !g.ended:
				g.buf = append(g.buf[:0], g.final...)
				g.ended = true
			default:
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			g.pending = g.buf
		}
		c := copy(p[n:], g.pending)
		g.pending = g.pending[c:]
		n += c
	}
	return n, nil
}

// replaySource is n events replayed from a cycle of events made by ev,
// then final, then EOF: a read costs one copy, as a read from a socket
// does, not the making of events.
type replaySource struct {
	cur  []byte   // what is left of the segment being read
	segs [][]byte // the segments after it
	full []byte   // the whole cycle
	reps int      // whole cycles still to queue
}

func newReplaySource(n, cycle int, ev func(dst []byte, i int) []byte, final string) *replaySource {
	var payload []byte
	offs := []int{0}
	for k := range cycle {
		payload = ev(payload, k)
		offs = append(offs, len(payload))
	}
	return &replaySource{full: payload, reps: n / cycle, segs: [][]byte{payload[:offs[n%cycle]], []byte(final)}}
}

func (r *replaySource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.cur) == 0 {
			switch {
			case r.reps > 0:
				r.cur, r.reps = r.full, r.reps-1
			case len(r.segs) > 0:
				r.cur, r.segs = r.segs[0], r.segs[1:]
				continue
			case n == 0:
				return 0, io.EOF
			default:
				return n, nil
			}
		}
		c := copy(p[n:], r.cur)
		r.cur = r.cur[c:]
		n += c
	}
	return n, nil
}

// benchStream reads b.N events through one stream's hot loop (the body
// wrapper, sse.Reader, classification, id accounting, gap batching and the
// Results it sends), from an in-memory source.
func benchStream(b *testing.B, yaml string, ev func(dst []byte, i int) []byte, final string) {
	benchStreamBuf(b, yaml, ev, final, 0)
}

// benchStreamBuf is benchStream with the SSE reader's buffer of bufSize
// bytes (0: the swarm's default for a body not on the direct path).
func benchStreamBuf(b *testing.B, yaml string, ev func(dst []byte, i int) []byte, final string, bufSize int) {
	benchStreamFrom(b, yaml, &genSource{n: b.N, ev: ev, final: final}, bufSize)
}

// benchStreamFrom reads b.N events (then a terminal one) from src.
func benchStreamFrom(b *testing.B, yaml string, src io.Reader, bufSize int) {
	s, sc, consumed := benchSwarm(b, yaml, bufSize)
	a, rd := benchReading(s, sc, 0, src)
	b.ReportAllocs()
	b.ResetTimer()
	end := a.read(context.Background(), rd)
	b.StopTimer()
	s.send(end.res)
	if content := consumed(); end.out != outOK || content != int64(b.N) {
		b.Fatalf("outcome %d (%v %q), content %d, want ok and %d", end.out, end.res.Err, end.res.Detail, content, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(a.b.n)/float64(b.N), "B/event")
}

// benchSwarm is a swarm of the scenario yaml without a network, whose
// Results a goroutine takes and releases; consumed, once every stream
// has sent its last Result, ends that and returns their content events.
func benchSwarm(b *testing.B, yaml string, bufSize int) (s *Swarm, sc *scenarios.Scenario, consumed func() int64) {
	sc = scenario(b, yaml)
	noDial := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("no network") }
	s, err := New(sc, Options{Dial: noDial, BufferSize: bufSize})
	if err != nil {
		b.Fatal(err)
	}
	s.out = make(chan *scenarios.Result, 4096)
	total := make(chan int64)
	go func() {
		var content int64
		for r := range s.out {
			content += r.Content
			r.Release()
		}
		total <- content
	}()
	return s, sc, func() int64 {
		close(s.out)
		return <-total
	}
}

// benchReading is stream no's attempt reading src (a 200 response): the
// read loop's state and its sse.Reader, as readBody makes them.
func benchReading(s *Swarm, sc *scenarios.Scenario, no uint64, src io.Reader) (*reading, *sse.Reader) {
	start := time.Now()
	st := &stream{s: s, no: no, sched: start, first: start, vars: sc.Vars(0)}
	w := &watch{start: start, cancel: func(error) {}}
	body := &body{rc: src, w: w}
	a := &reading{st: st, res: st.newResult(scenarios.KindEnd, 0, start), start: start, b: body, w: w,
		resp: &http.Response{StatusCode: http.StatusOK}}
	rd := sse.NewReader(body, &sse.Options{BufferSize: s.bufSize, OnComment: func([]byte) { a.comments++ }})
	return a, rd
}

// BenchmarkStream: events per second through one stream, and allocations
// per event (0 in the steady state).
func BenchmarkStream(b *testing.B) {
	b.Run("eventsource", func(b *testing.B) {
		benchStream(b, "url: http://x.test/\nload: {connections: 1}\n",
			func(dst []byte, i int) []byte {
				dst = append(dst, "event: add\nid: "...)
				dst = strconv.AppendInt(dst, int64(i+1), 10)
				return append(dst, "\ndata: {\"t\":\"tok\"}\n\n"...)
			},
			"event: finish\ndata: {\"usage\":{\"completion_tokens\":1}}\n\n")
	})
	b.Run("static", func(b *testing.B) {
		// The stream .ci/bench-swarm.sh has nginx serve, read as the
		// direct path reads a body (a 4 KiB buffer); BenchmarkStaticBare
		// is sse-bare's loop over the same bytes.
		src := newReplaySource(b.N, staticCycle, staticEvent, "event: finish\ndata: {\"usage\":{\"completion_tokens\":1}}\n\n")
		benchStreamFrom(b, "url: http://x.test/\nload: {connections: 1}\n", src, directBodyBuffer)
	})
	b.Run("openai", func(b *testing.B) {
		benchStream(b, "url: http://x.test/\nevents: openai\nload: {connections: 1}\n",
			func(dst []byte, i int) []byte {
				return append(dst, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}`+"\n\n"...)
			},
			"data: [DONE]\n\n")
	})
}

// staticWords are the words of .ci/bench-swarm.sh's static stream.
var staticWords = strings.Fields("and heartbeats from the Straße of streaming tokens one by one to a patient client")

// staticCycle is the number of events in .ci/bench-swarm.sh's static
// stream, which its clients read again and again (so ids start over).
const staticCycle = 10000

// staticEvent is event i of .ci/bench-swarm.sh's static stream.
func staticEvent(dst []byte, i int) []byte {
	dst = append(dst, "event: add\nid: "...)
	dst = strconv.AppendInt(dst, int64(i+1), 10)
	dst = append(dst, "\ndata:  "...)
	dst = append(dst, staticWords[(i+1)%len(staticWords)]...)
	return append(dst, "\n\n"...)
}

// BenchmarkStaticBare is cmd/sse-bare's loop (bufio.Scanner lines through
// a 4 KiB bufio.Reader, as net/http's body reads; a data event counted at
// its empty line) over BenchmarkStream/static's bytes: the ratio of the
// two ns/op is the hot path's share of .ci/bench-swarm.sh's gate, without
// the kernel. Reported, not asserted.
func BenchmarkStaticBare(b *testing.B) {
	src := newReplaySource(b.N, staticCycle, staticEvent, "event: finish\ndata: {}\n\n")
	sc := newBareScanner(src)
	b.ReportAllocs()
	b.ResetTimer()
	n := bareEvents(sc)
	b.StopTimer()
	if n != int64(b.N)+1 {
		b.Fatalf("%d events, want %d", n, b.N+1)
	}
}

// newBareScanner reads src as cmd/sse-bare reads a body: bufio.Scanner
// lines through a 4 KiB bufio.Reader (net/http's).
func newBareScanner(src io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(bufio.NewReaderSize(src, 4096))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	return sc
}

// bareEvents is cmd/sse-bare's loop: it scans to the end and returns the
// events that carried data (a "data" line, then an empty line).
func bareEvents(sc *bufio.Scanner) int64 {
	var n int64
	hasData := false
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0 || (len(line) == 1 && line[0] == '\r'):
			if hasData {
				n++
			}
			hasData = false
		case bytes.HasPrefix(line, []byte("data:")) || bytes.Equal(line, []byte("data")):
			hasData = true
		}
	}
	return n
}
