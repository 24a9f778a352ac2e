package reports

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/swarm"
)

// pipeNet is an in-memory network for a synctest bubble: Dial hands one
// end of a net.Pipe to Accept.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error   { p.once.Do(func() { close(p.done) }); return nil }
func (p *pipeNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

func (p *pipeNet) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case p.conns <- s:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// TestTokensPerInterval runs the swarm against the mock (a token every
// 50ms for 5s, usage reported at the end) into the aggregator, on the fake
// clock: every one-second interval while the tokens flow is credited with
// tokens (they are counted as they arrive, not when the stream ends), and
// the intervals add up to the usage.
func TestTokensPerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := mockserver.DefaultConfig()
		cfg.Heartbeat = 0
		ms, err := mockserver.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pn := &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
		srv := &http.Server{Handler: ms}
		go srv.Serve(pn)
		defer func() { ms.Close(); pn.Close(); srv.Close() }()

		sc, err := scenarios.Decode("tokens.yaml", []byte(`
url: http://127.0.0.1/v1/stream?ttft=50ms&itl=50ms&tokens=100
events: eventsource
load: {rate: 1/m}
duration: 6s
`))
		if err == nil {
			err = sc.Validate()
		}
		if err != nil {
			t.Fatal(err)
		}
		sw, err := swarm.New(sc, swarm.Options{Dial: pn.Dial})
		if err != nil {
			t.Fatal(err)
		}
		agg := NewAggregator(AggregatorOptions{Start: time.Now(), Interval: time.Second})
		agg.Consume(sw.Run(t.Context()))
		f := agg.Finish(Meta{})
		if f.Counters.Tokens != 100 || f.Counters.StreamsOK != 1 {
			t.Fatalf("tokens %d, streams ok %d; want 100 and 1", f.Counters.Tokens, f.Counters.StreamsOK)
		}
		var total int64
		for i, iv := range f.Intervals {
			total += iv.Tokens
			if iv.TS <= 5 && iv.Tokens == 0 {
				t.Errorf("interval %d (t=%gs): no tokens while they flow", i, iv.TS)
			}
			if iv.TS <= 5 && iv.Tokens > 25 {
				t.Errorf("interval %d (t=%gs): %d tokens in one second of a 20/s stream", i, iv.TS, iv.Tokens)
			}
		}
		if total != 100 {
			t.Errorf("tokens over the intervals %d, want 100", total)
		}
	})
}
