package conformance

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawServer is a loopback HTTP/1.1 server written byte by byte, for
// responses net/http will not send: broken chunked encoding, a body
// shorter than its Content-Length. Each connection carries one request and
// gets the response respond writes; then the server closes it.
type rawServer struct {
	ln      net.Listener
	wg      sync.WaitGroup
	respond func(w *bufio.Writer, req *http.Request)
}

func startRaw(t testing.TB, respond func(w *bufio.Writer, req *http.Request)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, respond: respond}
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

func (s *rawServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return
	}
	w := bufio.NewWriter(conn)
	s.respond(w, req)
	_ = w.Flush()
}

func (s *rawServer) close() {
	s.ln.Close()
	s.wg.Wait()
}

// URL returns the server's base URL.
func (s *rawServer) URL() string { return "http://" + s.ln.Addr().String() }

// rawHead writes a 200 event-stream status line and headers, with extra
// header lines.
func rawHead(w *bufio.Writer, extra ...string) {
	w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
		"Access-Control-Allow-Origin: *\r\nConnection: close\r\n")
	for _, h := range extra {
		w.WriteString(h + "\r\n")
	}
	w.WriteString("\r\n")
}

// rawEvents renders events from..n-1 of a resumable five-event stream, and
// answers a reconnect the way legalServer does: Last-Event-ID: k resumes at
// k+1, the final id gets 204, an unknown id gets 400. It returns "" (and
// has written the whole response) for a 204 or a 400.
func rawEvents(w *bufio.Writer, req *http.Request, n int) (string, bool) {
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

// brokenChunked answers with one event in a valid chunk, then a chunk
// whose size line is not hexadecimal.
func brokenChunked(w *bufio.Writer, req *http.Request) {
	body, ok := rawEvents(w, req, 1)
	if !ok {
		return
	}
	rawHead(w, "Transfer-Encoding: chunked")
	fmt.Fprintf(w, "%x\r\n%s\r\n", len(body), body)
	w.WriteString("zz\r\nid: 1\ndata: lost\n\n\r\n")
}

// shortBody answers with five events under a Content-Length 100 bytes
// longer than they are, then closes the connection.
func shortBody(w *bufio.Writer, req *http.Request) {
	body, ok := rawEvents(w, req, 5)
	if !ok {
		return
	}
	rawHead(w, "Content-Length: "+strconv.Itoa(len(body)+100))
	w.WriteString(body)
}

// redirector sends every request on to to with a 302 (to another port:
// another origin).
func redirector(to string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.RequestURI(), http.StatusFound)
	})
}
