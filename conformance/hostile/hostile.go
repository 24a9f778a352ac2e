// Package hostile serves event streams that misbehave exactly, for the
// tests of ssebench conform: bodies whose transfer framing breaks, servers
// that hold every byte, floods that no client should keep in memory, ids
// made up per request, a live feed, redirects. Every server listens on
// 127.0.0.1 only and stops with the test that started it (t.Cleanup).
// Servers that net/http would not let misbehave are written byte by byte
// on a raw TCP listener.
//
// It is test infrastructure: no ssebench command imports it.
package hostile

import (
	"bufio"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Raw is a loopback HTTP/1.1 server written byte by byte, for responses
// net/http will not send. Each connection carries one request and gets the
// response respond writes; then the server closes it.
type Raw struct {
	ln      net.Listener
	wg      sync.WaitGroup
	done    chan struct{}
	respond func(w *bufio.Writer, req *http.Request, done <-chan struct{})
}

// StartRaw starts a Raw server that answers with respond; done is closed
// when the server stops (a respond that blocks must return then).
func StartRaw(t testing.TB, respond func(w *bufio.Writer, req *http.Request, done <-chan struct{})) *Raw {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Raw{ln: ln, respond: respond, done: make(chan struct{})}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	t.Cleanup(s.close)
	return s
}

func (s *Raw) serve(conn net.Conn) {
	defer conn.Close()
	go func() {
		<-s.done
		conn.Close()
	}()
	req, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	s.respond(w, req, s.done)
	_ = w.Flush()
}

func (s *Raw) close() {
	close(s.done)
	s.ln.Close()
	s.wg.Wait()
}

// URL returns the server's base URL.
func (s *Raw) URL() string { return "http://" + s.ln.Addr().String() }

// head writes a 200 event-stream status line and headers, with extra
// header lines.
func head(w *bufio.Writer, extra ...string) {
	w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
		"Access-Control-Allow-Origin: *\r\nConnection: close\r\n")
	for _, h := range extra {
		w.WriteString(h + "\r\n")
	}
	w.WriteString("\r\n")
	_ = w.Flush()
}

// events renders the events of a resumable n-event stream that the
// request asks for, and answers a reconnect: Last-Event-ID: k resumes at
// k+1, the final id gets 204, an unknown id gets 400. It returns false
// (and has written the whole response) for a 204 or a 400.
func events(w *bufio.Writer, req *http.Request, n int) (string, bool) {
	from := 0
	if id := req.Header.Get("Last-Event-ID"); id != "" {
		k, err := strconv.Atoi(id)
		switch {
		case err != nil || k < 0 || k >= n:
			w.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
			return "", false
		case k == n-1:
			w.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
			return "", false
		}
		from = k + 1
	}
	var b strings.Builder
	b.WriteString("retry: 1000\n\n")
	for i := from; i < n; i++ {
		fmt.Fprintf(&b, "id: %d\ndata: event %d\n\n", i, i)
	}
	return b.String(), true
}

// BrokenChunked answers with one event in a valid chunk, then a chunk
// whose size line is "zz".
func BrokenChunked(w *bufio.Writer, req *http.Request, _ <-chan struct{}) {
	body, ok := events(w, req, 1)
	if !ok {
		return
	}
	head(w, "Transfer-Encoding: chunked")
	fmt.Fprintf(w, "%x\r\n%s\r\n", len(body), body)
	w.WriteString("zz\r\nid: 1\ndata: lost\n\n\r\n")
}

// ShortBody answers with a resumable five-event stream under a
// Content-Length 100 bytes longer than it is, then closes the connection.
func ShortBody(w *bufio.Writer, req *http.Request, _ <-chan struct{}) {
	body, ok := events(w, req, 5)
	if !ok {
		return
	}
	head(w, "Content-Length: "+strconv.Itoa(len(body)+100))
	w.WriteString(body)
}

// Held reads the request and answers nothing until the server stops: a
// proxy that buffers an endless stream.
func Held(_ *bufio.Writer, _ *http.Request, done <-chan struct{}) { <-done }

// Flood answers 200 and then writes n bytes of pattern (repeated), or
// until the client goes away, as a close-delimited body.
func Flood(pattern string, n int64) func(*bufio.Writer, *http.Request, <-chan struct{}) {
	return func(w *bufio.Writer, _ *http.Request, done <-chan struct{}) {
		head(w)
		chunk := []byte(strings.Repeat(pattern, max(1, (32<<10)/len(pattern))))
		writeN(w, chunk, n, done, w.Flush)
	}
}

// Endless is a Flood with no end: a never-ending line or event.
func Endless(prefix, pattern string) func(*bufio.Writer, *http.Request, <-chan struct{}) {
	return func(w *bufio.Writer, _ *http.Request, done <-chan struct{}) {
		head(w)
		w.WriteString(prefix)
		chunk := []byte(strings.Repeat(pattern, max(1, (32<<10)/len(pattern))))
		writeN(w, chunk, -1, done, w.Flush)
	}
}

// writeN writes chunk repeatedly, n bytes in all (n < 0: without end),
// until a write fails or done is closed; flush, when not nil, is called
// after every 16 chunks.
func writeN(w io.Writer, chunk []byte, n int64, done <-chan struct{}, flush ...func() error) {
	for i := 1; n != 0; i++ {
		select {
		case <-done:
			return
		default:
		}
		c := chunk
		if n > 0 && int64(len(c)) > n {
			c = c[:n]
		}
		if _, err := w.Write(c); err != nil {
			return
		}
		if n > 0 {
			n -= int64(len(c))
		}
		if i%16 == 0 {
			for _, f := range flush {
				if f() != nil {
					return
				}
			}
		}
	}
}

// GzipBomb answers 200 with Content-Encoding: gzip and a gzip stream
// that inflates to n bytes of '\n': 1 GiB is about 1.3 MiB on the wire.
// The stream is compressed as it is read (a flush every MiB of input), so
// a client that stops reading stops the server.
func GzipBomb(n int64) func(*bufio.Writer, *http.Request, <-chan struct{}) {
	return func(w *bufio.Writer, _ *http.Request, done <-chan struct{}) {
		head(w, "Content-Encoding: gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		writeN(zw, []byte(strings.Repeat("\n", 64<<10)), n, done, zw.Flush, w.Flush)
		_ = zw.Close()
	}
}

// PerRequestIDs serves six events to every request, each with an id made
// up for that request (the default of several SSE libraries), and ignores
// Last-Event-ID: every reconnect replays the stream.
func PerRequestIDs(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	_, _ = w.Write([]byte("retry: 1000\n\n"))
	for i := range 6 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		fmt.Fprintf(w, "id: %s\ndata: event %d\n\n", hex.EncodeToString(b[:]), i)
		_ = rc.Flush()
	}
}

// liveFeed broadcasts one event every 10ms to every connection, with
// global ids, and ignores Last-Event-ID: a connection joins the feed where
// it is, and connections opened at the same moment get the same events.
type liveFeed struct {
	mu   sync.Mutex
	subs map[chan string]bool
	stop chan struct{}
	wg   sync.WaitGroup
}

// StartLiveFeed starts a live feed server.
func StartLiveFeed(t testing.TB) *httptest.Server {
	f := &liveFeed{subs: map[chan string]bool{}, stop: make(chan struct{})}
	f.wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-f.stop:
				return
			case <-tick.C:
			}
			f.mu.Lock()
			for ch := range f.subs {
				select {
				case ch <- fmt.Sprintf("id: %d\ndata: tick %d\n\n", i, i):
				default:
				}
			}
			f.mu.Unlock()
		}
	})
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.Close(); close(f.stop); f.wg.Wait() })
	return srv
}

func (f *liveFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ch := make(chan string, 64)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	defer func() { f.mu.Lock(); delete(f.subs, ch); f.mu.Unlock() }()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-ch:
			if _, err := w.Write([]byte(ev)); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// Redirector sends every request on to to (another server: another
// origin) with a 302.
func Redirector(to string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.RequestURI(), http.StatusFound)
	})
}

// HugeLine answers 200 with one data line of n bytes of 'x', then the
// empty line that ends its event.
func HugeLine(n int64) func(*bufio.Writer, *http.Request, <-chan struct{}) {
	return func(w *bufio.Writer, _ *http.Request, done <-chan struct{}) {
		head(w)
		w.WriteString("retry: 1000\ndata: ")
		writeN(w, []byte(strings.Repeat("x", 32<<10)), n, done, w.Flush)
		w.WriteString("\n\n")
	}
}
