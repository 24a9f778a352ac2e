package swarm

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
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

// benchStream reads b.N events through one stream's hot loop (the body
// wrapper, sse.Reader, classification, id accounting, gap batching and the
// Results it sends), from an in-memory source.
func benchStream(b *testing.B, yaml string, ev func(dst []byte, i int) []byte, final string) {
	sc := scenario(b, yaml)
	noDial := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("no network") }
	s, err := New(sc, Options{Dial: noDial})
	if err != nil {
		b.Fatal(err)
	}
	s.out = make(chan *scenarios.Result, 4096)
	consumed := make(chan int64)
	go func() {
		var content int64
		for r := range s.out {
			content += r.Content
			r.Release()
		}
		consumed <- content
	}()
	start := time.Now()
	st := &stream{s: s, sched: start, first: start, vars: sc.Vars(0)}
	w := &watch{start: start, cancel: func(error) {}}
	src := &genSource{n: b.N, ev: ev, final: final}
	body := &body{rc: io.NopCloser(src), w: w}
	a := &reading{st: st, res: st.newResult(scenarios.KindEnd, 0, start), start: start, b: body, w: w}
	rd := sse.NewReader(body, &sse.Options{BufferSize: s.bufSize, OnComment: func([]byte) { a.comments++ }})
	b.ReportAllocs()
	b.ResetTimer()
	end := a.read(context.Background(), rd)
	b.StopTimer()
	s.send(end.res)
	close(s.out)
	if content := <-consumed; end.out != outOK || content != int64(b.N) {
		b.Fatalf("outcome %d (%v %q), content %d, want ok and %d", end.out, end.res.Err, end.res.Detail, content, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(body.n)/float64(b.N), "B/event")
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
	b.Run("openai", func(b *testing.B) {
		benchStream(b, "url: http://x.test/\nevents: openai\nload: {connections: 1}\n",
			func(dst []byte, i int) []byte {
				return append(dst, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}`+"\n\n"...)
			},
			"data: [DONE]\n\n")
	})
}
