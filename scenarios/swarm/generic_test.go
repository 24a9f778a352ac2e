package swarm

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// TestGenericFinite: with the generic preset, a finite stream whose body
// ends cleanly is one ok stream of one request (no reconnect, even when
// reconnects are allowed): every event with data is content, whatever its
// type, and e2e runs to the end of the body.
func TestGenericFinite(t *testing.T) {
	for _, path := range []string{"direct", "transport"} {
		t.Run(path, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream")
					for i := range 5 {
						pause(r, 100*time.Millisecond)
						typ := "delta"
						if i == 4 {
							typ = "finish" // not special to the generic preset
						}
						io.WriteString(w, "event: "+typ+"\nid: "+strconv.Itoa(i)+"\ndata: part "+strconv.Itoa(i)+"\n\n")
						w.(http.Flusher).Flush()
					}
					io.WriteString(w, ": bye\n\n") // a comment, then the clean end
				}))
				sc := scenario(t, one("events: generic\nreconnect: {max: 3, delay: 10ms}"))
				s, err := New(sc, Options{Dial: m.Dial, SharedTransport: path == "transport"})
				if err != nil {
					t.Fatal(err)
				}
				c := collect(t, t.Context(), s)
				c.checkWellFormed(t)
				ends := c.ends()
				if len(ends) != 1 || ends[0].Err != scenarios.ErrNone || !ends[0].Final {
					for _, e := range ends {
						t.Logf("attempt %d: %v %q", e.Attempt, e.Err, e.Detail)
					}
					t.Fatalf("attempts %d, want one ok attempt", len(ends))
				}
				if n := c.tokens(0); n != 5 {
					t.Errorf("tokens %d, want 5", n)
				}
				if v := values(c.all, scenarios.TTFT); !slices.Equal(v, []time.Duration{100 * time.Millisecond}) {
					t.Errorf("ttft %v, want [100ms]", v)
				}
				if v := values(c.all, scenarios.E2E); !slices.Equal(v, []time.Duration{500 * time.Millisecond}) {
					t.Errorf("e2e %v, want [500ms]", v)
				}
			})
		})
	}
}

// TestGenericAbruptEnd: with the generic preset, a body that ends
// abruptly is a failure that reconnects: the connection reset, a chunked
// body without its last chunk, a body shorter than its Content-Length,
// an event cut off by the end of the body.
func TestGenericAbruptEnd(t *testing.T) {
	const ev = "data: one\n\n"
	for _, tc := range []struct {
		name  string
		write func(c net.Conn)
		class scenarios.ErrorClass
	}{
		{"unterminated_chunked", func(c net.Conn) {
			io.WriteString(c, sseHead+"Transfer-Encoding: chunked\r\n\r\n"+chunk(ev))
		}, scenarios.ErrReset},
		{"short_content_length", func(c net.Conn) {
			io.WriteString(c, sseHead+"Content-Length: 100\r\n\r\n"+ev)
		}, scenarios.ErrReset},
		{"eof_mid_event", func(c net.Conn) {
			io.WriteString(c, sseHead+"Transfer-Encoding: chunked\r\n\r\n"+chunk(ev+"data: cut")+"0\r\n\r\n")
		}, scenarios.ErrEOFMidEvent},
	} {
		for _, path := range []string{"direct", "transport"} {
			t.Run(tc.name+"/"+path, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					m := serveRaw(t, func(c net.Conn, br *bufio.Reader) {
						if readRequest(br) {
							tc.write(c)
						}
					})
					sc := scenario(t, one("events: generic\nreconnect: {max: 1, delay: 10ms}"))
					s, err := New(sc, Options{Dial: m.Dial, SharedTransport: path == "transport"})
					if err != nil {
						t.Fatal(err)
					}
					c := collect(t, t.Context(), s)
					c.checkWellFormed(t)
					ends := c.ends()
					if len(ends) != 2 {
						t.Fatalf("attempts %d, want 2 (a failure, then the reconnect)", len(ends))
					}
					for _, e := range ends {
						if e.Err != tc.class {
							t.Errorf("attempt %d: %v %q, want %v", e.Attempt, e.Err, e.Detail, tc.class)
						}
					}
					if n := c.tokens(0); n != 2 {
						t.Errorf("tokens %d, want 2 (one per attempt)", n)
					}
				})
			})
		}
	}
}
