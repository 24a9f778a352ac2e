package swarm

import (
	"testing"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/scenarios"
)

// TestHTTP2Mock: with http2 on, the swarm speaks HTTP/2 without TLS (h2c
// with prior knowledge) to an http:// target, and the bundled mock serves
// it: every stream ends ok with all its tokens.
func TestHTTP2Mock(t *testing.T) {
	cfg := mockserver.DefaultConfig()
	cfg.Heartbeat = 0
	m, err := mockserver.Start(cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	sc := scenario(t, "url: "+m.URL+"/v1/stream?ttft=1ms&itl=1ms&tokens=5\nevents: eventsource\nhttp2: true\nload: {rate: 1/m}\nduration: 10ms\n")
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, t.Context(), s)
	c.checkWellFormed(t)
	ends := c.ends()
	if len(ends) != 1 || ends[0].Err != scenarios.ErrNone || c.tokens(ends[0].Stream) != 5 {
		for _, e := range ends {
			t.Logf("attempt %d: %v %q", e.Attempt, e.Err, e.Detail)
		}
		t.Fatalf("want one ok stream of 5 tokens over h2c")
	}
}
