package swarm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// Tests of the direct path: HTTP/1.1 streams on their own connections.

// serveRaw serves conn-level handlers on a new memNet: each accepted
// connection is handed to h with a reader over it. For servers that break
// HTTP in ways net/http's server will not.
func serveRaw(t testing.TB, h func(c net.Conn, br *bufio.Reader)) *memNet {
	m := newMemNet()
	go func() {
		for {
			c, err := m.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				h(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { m.Close() })
	return m
}

// readRequest reads one request and its body, and reports whether it got
// one.
func readRequest(br *bufio.Reader) bool {
	req, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, req.Body)
	return true
}

// waitClose reads until the client closes the connection.
func waitClose(br *bufio.Reader) { _, _ = io.Copy(io.Discard, br) }

const sseHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"

// chunk frames s as one HTTP/1.1 chunk.
func chunk(s string) string { return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n" }

// TestDirectBodies reads chunked and Content-Length bodies on the direct
// path; after a clean end the slot's connection serves its next streams.
func TestDirectBodies(t *testing.T) {
	const events = "event: add\ndata: a\n\nevent: add\ndata: b\n\nevent: finish\ndata: {}\n\n"
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for ev := range strings.SplitAfterSeq(events, "\n\n") {
				pause(r, 10*time.Millisecond)
				fmt.Fprint(w, ev)
				w.(http.Flusher).Flush()
			}
		}},
		{"early-hints", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints) // a 1xx before the response
			w.Header().Set("Content-Type", "text/event-stream")
			pause(r, 10*time.Millisecond)
			fmt.Fprint(w, events)
		}},
		{"content-length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(events)))
			pause(r, 10*time.Millisecond)
			fmt.Fprint(w, events)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var proto atomic.Value
				m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					proto.Store(r.Proto)
					tc.h(w, r)
				}))
				c := runMem(t, m, scenario(t, "url: http://sse.test/v1/stream\nload: {connections: 1}\nduration: 200ms\n"))
				c.checkWellFormed(t)
				ends := c.ends()
				if len(ends) < 3 {
					t.Fatalf("%d streams, want several", len(ends))
				}
				for _, e := range ends {
					if e.Err != scenarios.ErrNone || c.tokens(e.Stream) != 2 {
						t.Errorf("stream %d: %v %q tokens %d", e.Stream, e.Err, e.Detail, c.tokens(e.Stream))
					}
				}
				if n := sum(c.all, func(r *scenarios.Result) int64 { return r.Bytes }); n != int64(len(ends)*len(events)) {
					t.Errorf("bytes %d, want %d per stream", n, len(events))
				}
				if d := m.dials.Load(); d != 1 {
					t.Errorf("dials %d, want 1 (the slot's connection reused)", d)
				}
				if p := proto.Load(); p != "HTTP/1.1" {
					t.Errorf("proto %v", p)
				}
			})
		})
	}
}

// TestDirectSameResults: the direct path and the shared Transport give the
// same Results for the same handler (each stream's in order; streams
// interleave as they run).
func TestDirectSameResults(t *testing.T) {
	var runs [2]*collected
	for i, shared := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			m := serveMem(t, &sseHandler{ttft: 100 * time.Millisecond, itl: 10 * time.Millisecond, tokens: 90, retry: time.Second})
			s, _ := New(scenario(t, "url: http://sse.test/v1/stream\nload: {connections: 3}\nduration: 2s\n"), Options{Dial: m.Dial, SharedTransport: shared})
			runs[i] = collect(t, t.Context(), s)
		})
	}
	for _, no := range runs[1].streams() {
		if a, b := fmt.Sprint(runs[0].stream(no)), fmt.Sprint(runs[1].stream(no)); a != b || len(a) < 100 {
			t.Errorf("stream %d: direct path:\n%s\nshared transport:\n%s", no, a, b)
		}
	}
}

// TestDirectFailures: servers that break the direct path's exchange in
// ways net/http's server does not, and the class each one gives.
func TestDirectFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extra   string
		h       func(c net.Conn, br *bufio.Reader)
		class   scenarios.ErrorClass
		detail  string // a substring of Detail
		events  int64
		retries bool
	}{
		{name: "closes_mid_chunk", class: scenarios.ErrReset, events: 1, retries: true,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, sseHead+"Transfer-Encoding: chunked\r\n\r\n"+chunk("data: one\n\n")+"40\r\ndata: cut")
			}},
		{name: "closes_before_content_length", class: scenarios.ErrReset, events: 1, retries: true,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, sseHead+"Content-Length: 100\r\n\r\ndata: one\n\ndata: cut")
			}},
		{name: "content_length_ends_mid_event", class: scenarios.ErrEOFMidEvent, events: 1, retries: true,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				body := "data: one\n\ndata: cut"
				io.WriteString(c, sseHead+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
				waitClose(br) // the body ended; the connection stays open
			}},
		{name: "closes_before_response", class: scenarios.ErrReset, retries: true,
			h: func(c net.Conn, br *bufio.Reader) { readRequest(br) }},
		{name: "endless_headers", class: scenarios.ErrReset, detail: "over 1 MiB", retries: true,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, "HTTP/1.1 200 OK\r\n")
				line := "X-Padding: " + strings.Repeat("x", 1000) + "\r\n"
				for {
					if _, err := io.WriteString(c, line); err != nil {
						return // the client gave up
					}
				}
			}},
		{name: "garbage_response", class: scenarios.ErrReset, retries: true,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
			}},
		{name: "timeout_first_byte_silent", extra: "deadlines: {first_byte: 500ms}", class: scenarios.ErrTimeoutFirstByte,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				waitClose(br)
			}},
		{name: "timeout_first_byte_mid_headers", extra: "deadlines: {first_byte: 500ms}", class: scenarios.ErrTimeoutFirstByte,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Ty")
				waitClose(br)
			}},
		{name: "timeout_idle_mid_chunk", extra: "deadlines: {idle: 1s}", class: scenarios.ErrTimeoutIdle, events: 1, retries: true,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, sseHead+"Transfer-Encoding: chunked\r\n\r\n"+chunk("data: one\n\n")+"40\r\ndata: cut")
				waitClose(br)
			}},
		{name: "timeout_total", extra: "deadlines: {total: 1s}", class: scenarios.ErrTimeoutTotal, events: 10,
			h: func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, sseHead+"Transfer-Encoding: chunked\r\n\r\n")
				for {
					time.Sleep(95 * time.Millisecond)
					if _, err := io.WriteString(c, chunk("event: add\ndata: x\n\n")); err != nil {
						return
					}
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := serveRaw(t, tc.h)
				c := runMem(t, m, scenario(t, one(tc.extra+"\nreconnect: {max: 1, delay: 100ms}\n")))
				c.checkWellFormed(t)
				ends := c.ends()
				e := ends[0]
				if e.Err != tc.class {
					t.Fatalf("class %v (%q), want %v", e.Err, e.Detail, tc.class)
				}
				if !strings.Contains(e.Detail, tc.detail) {
					t.Errorf("detail %q, want it to contain %q", e.Detail, tc.detail)
				}
				var events int64
				for _, r := range c.stream(e.Stream) {
					if r.Attempt == 0 {
						events += r.Events
					}
				}
				if events != tc.events {
					t.Errorf("events of attempt 0: %d, want %d", events, tc.events)
				}
				if got := len(ends) > 1; got != tc.retries {
					t.Errorf("reconnected: %v, want %v", got, tc.retries)
				}
			})
		})
	}
}

// TestDirectStaleConn: a kept connection the server closed while it was
// idle is not used; one that breaks at the next request is replaced, and
// the request sent again, when the request allows it (GET, no body).
func TestDirectStaleConn(t *testing.T) {
	const feed = "data: tick\n\n"
	t.Run("closed_while_idle", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// The server closes an idle connection after 100ms; the
			// stream reconnects after 1s, with a POST, which is not
			// sent again on a new connection if the kept one fails.
			m := newMemNet()
			srv := &http.Server{IdleTimeout: 100 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, feed)
			})}
			go srv.Serve(m)
			t.Cleanup(func() { m.Close(); srv.Close() })
			c := runMem(t, m, scenario(t, one("method: POST\nbody: '{}'\nevents: {preset: custom}\nreconnect: {max: 2, delay: 1s, after_clean_end: true}")))
			c.checkWellFormed(t)
			for _, e := range c.ends() {
				if e.Err != scenarios.ErrNone {
					t.Errorf("attempt %d: %v %q", e.Attempt, e.Err, e.Detail)
				}
			}
			if d := m.dials.Load(); d != 3 {
				t.Errorf("dials %d, want 3 (no stale connection reused)", d)
			}
		})
	})
	for _, tc := range []struct {
		name  string
		extra string
		class scenarios.ErrorClass
		dials int64
	}{
		{name: "get_sent_again", class: scenarios.ErrNone, dials: 2},
		{name: "post_not_sent_again", extra: "method: POST\nbody: '{\"n\": 1}'\n", class: scenarios.ErrReset, dials: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Each connection answers one request, then reads the next and
				// closes without an answer.
				m := serveRaw(t, func(c net.Conn, br *bufio.Reader) {
					if !readRequest(br) {
						return
					}
					io.WriteString(c, sseHead+"Transfer-Encoding: chunked\r\n\r\n"+chunk(feed)+"0\r\n\r\n")
					readRequest(br)
				})
				c := runMem(t, m, scenario(t, one(tc.extra+"events: {preset: custom}\nreconnect: {max: 1, delay: 10ms, after_clean_end: true}")))
				c.checkWellFormed(t)
				ends := c.ends()
				if len(ends) != 2 || ends[0].Err != scenarios.ErrNone || ends[1].Err != tc.class {
					for _, e := range ends {
						t.Logf("attempt %d: %v %q", e.Attempt, e.Err, e.Detail)
					}
					t.Fatalf("want attempt 0 ok and attempt 1 %q", tc.class)
				}
				if d := m.dials.Load(); d != tc.dials {
					t.Errorf("dials %d, want %d", d, tc.dials)
				}
			})
		})
	}
}

// TestDirectProgress: a stream whose events come slower than a batch
// fills sends them at least every progressEvery.
func TestDirectProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMem(t, &sseHandler{ttft: 20 * time.Millisecond, itl: 20 * time.Millisecond, tokens: 100})
		c := runMem(t, m, scenario(t, one("")))
		c.checkWellFormed(t)
		// info at 0 and the first token at 20ms (sent at once, for ttft),
		// then a progress every 13 tokens (260ms), then the end with the
		// last 8 tokens and the finish event.
		var counts []int64
		for _, r := range c.all {
			if r.Kind != scenarios.KindStart {
				counts = append(counts, r.Events)
			}
		}
		want := []int64{2, 13, 13, 13, 13, 13, 13, 13, 9}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("events per Result %v, want %v", counts, want)
		}
	})
}

// TestDirectLoopback holds streams open over loopback TCP: one goroutine
// per stream (no Transport read or write loops), and cancelling the run
// mid-read ends every stream at once and leaves no goroutine behind.
func TestDirectLoopback(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := httptest.NewServer(&sseHandler{itl: 20 * time.Millisecond, tokens: 100000})
	const n = 20
	sc := scenario(t, "url: "+srv.URL+"/v1/stream\nload: {connections: "+strconv.Itoa(n)+"}\nduration: 1h\n")
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := s.Run(ctx)
	c := &collected{}
	got := make(chan struct{})
	go func() {
		defer close(got)
		for r := range out {
			c.all = append(c.all, *r)
			r.Release()
		}
	}()
	for deadline := time.Now().Add(5 * time.Second); s.Status().Active < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d streams open", s.Status().Active, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the streams read events
	buf := make([]byte, 1<<20)
	dump := string(buf[:runtime.Stack(buf, true)])
	if k := strings.Count(dump, "swarm.(*stream).attempt("); k != n {
		t.Errorf("%d goroutines in an attempt, want %d", k, n)
	}
	if k := strings.Count(dump, "net/http.(*persistConn)"); k != 0 {
		t.Errorf("%d Transport connection goroutines, want 0", k)
	}
	cancel()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the run did not end after cancel")
	}
	c.checkWellFormed(t)
	for _, e := range c.ends() {
		if !e.Cancelled || e.Err != scenarios.ErrNone {
			t.Errorf("stream %d: %v %q", e.Stream, e.Err, e.Detail)
		}
	}
	if k := sum(c.all, func(r *scenarios.Result) int64 { return r.Content }); k < n {
		t.Errorf("content %d: the streams did not stream", k)
	}
	srv.Close()
	waitGoroutines(t, base)
}

// TestDirectLoopbackStale: over loopback TCP, a kept connection the server
// closed while idle is seen closed (connAlive) and not used.
func TestDirectLoopbackStale(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEvents(w, "data: tick\n\n")
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	sc := scenario(t, "url: "+srv.URL+"/v1/stream\nmethod: POST\nbody: '{}'\nevents: {preset: custom}\nload: {rate: 1/m}\nduration: 10ms\nreconnect: {max: 3, delay: 200ms, after_clean_end: true}\n")
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, t.Context(), s)
	c.checkWellFormed(t)
	for _, e := range c.ends() {
		if e.Err != scenarios.ErrNone {
			t.Errorf("attempt %d: %v %q", e.Attempt, e.Err, e.Detail)
		}
	}
	if n := conns.Load(); n != 4 {
		t.Errorf("connections %d, want 4 (each kept one closed by the server)", n)
	}
}

// TestDirectTLSHandshake: over https, a server that never answers the
// handshake times out as first byte (the cancelled attempt closes the
// connection under the handshake), and one that speaks plain HTTP fails as
// tls.
func TestDirectTLSHandshake(t *testing.T) {
	base := runtime.NumGoroutine()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	plain := httptest.NewServer(&sseHandler{tokens: 1})
	defer plain.Close()
	for _, tc := range []struct {
		name, addr string
		class      scenarios.ErrorClass
	}{
		{"silent", silent.Addr().String(), scenarios.ErrTimeoutFirstByte},
		{"plain_http", strings.TrimPrefix(plain.URL, "http://"), scenarios.ErrTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(t, "url: https://"+tc.addr+"/v1/stream\nload: {rate: 1/m}\nduration: 10ms\ndeadlines: {first_byte: 200ms}\n")
			s, err := New(sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			c := collect(t, t.Context(), s)
			c.checkWellFormed(t)
			if e := c.ends()[0]; e.Err != tc.class {
				t.Errorf("class %v (%q), want %v", e.Err, e.Detail, tc.class)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	silent.Close()
	plain.Close()
	waitGoroutines(t, base)
}
