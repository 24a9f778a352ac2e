package mockserver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestChatCompletionIdentity: every chat completion, streamed or not, has
// an id no other completion has and the time it was created; every chunk
// of one stream carries the same pair. A resume is a request, so a
// completion of its own.
func TestChatCompletionIdentity(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	idRE := regexp.MustCompile(`^chatcmpl-[0-9a-f]{16}$`)
	type req struct{ body, lastEventID string }
	var reqs []req
	for range 8 {
		reqs = append(reqs, req{chatBody, ""}, req{chatUsageBody, ""}, req{`{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`, ""},
			req{chatBody, "1"})
	}
	before := time.Now().Unix()
	ids := make([]string, len(reqs))
	var wg sync.WaitGroup
	for i, rq := range reqs {
		wg.Go(func() {
			h := map[string]string{}
			if rq.lastEventID != "" {
				h["Last-Event-ID"] = rq.lastEventID
			}
			r := do(t, "POST", ts.URL+"/v1/chat/completions", rq.body, h)
			if r.status != 200 {
				t.Errorf("request %d: status %d", i, r.status)
				return
			}
			var objs [][]byte
			if ps := parseSSE(r.body); len(ps.events) > 0 {
				for _, ev := range ps.events {
					if ev.Data != "[DONE]" {
						objs = append(objs, []byte(ev.Data))
					}
				}
			} else {
				objs = append(objs, r.body)
			}
			for j, o := range objs {
				var c struct {
					ID      string `json:"id"`
					Created int64  `json:"created"`
				}
				if err := json.Unmarshal(o, &c); err != nil {
					t.Errorf("request %d, object %d: %v", i, j, err)
					return
				}
				bad := ""
				switch {
				case !idRE.MatchString(c.ID):
					bad = fmt.Sprintf("id %q", c.ID)
				case j > 0 && c.ID != ids[i]:
					bad = fmt.Sprintf("chunk %d has id %q, chunk 0 %q", j, c.ID, ids[i])
				case c.Created < before || c.Created > time.Now().Unix():
					bad = fmt.Sprintf("created %d, not between %d and now", c.Created, before)
				}
				if bad != "" {
					t.Errorf("request %d: %s", i, bad)
					return
				}
				ids[i] = c.ID
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i, id := range ids {
		if j, dup := seen[id]; dup {
			t.Errorf("requests %d and %d share the completion id %s", j, i, id)
		}
		seen[id] = i
	}
	// Another Server does not start from the same ids.
	_, ts2 := newTestServer(t, fastConfig())
	other := jsonField(t, do(t, "POST", ts2.URL+"/v1/chat/completions", `{"max_tokens":1}`, nil).body, "id")
	if _, dup := seen[other]; dup {
		t.Errorf("a second server repeated the id %s", other)
	}
}

// TestCORSCredentials: with credentials on, the exact Origin of an admitted
// request is echoed with Allow-Credentials and Vary: Origin (a browser
// refuses "*" with credentials); an origin the configuration does not admit
// gets no Allow-Origin. Preflights admit the headers they ask for.
func TestCORSCredentials(t *testing.T) {
	const app = "http://127.0.0.1:4000"
	tests := []struct {
		name      string
		allow     string
		creds     bool
		origin    string
		wantAllow string
		wantCreds string
		wantVary  bool
	}{
		{"no credentials: the configured value", "*", false, app, "*", "", false},
		{"credentials, any origin", "*", true, app, app, "true", true},
		{"credentials, the admitted origin", app, true, app, app, "true", true},
		{"credentials, another origin", app, true, "http://127.0.0.1:5000", "", "", true},
		{"credentials, no Origin (same-origin or curl)", "*", true, "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig()
			cfg.CORSOrigin, cfg.CORSCredentials = tt.allow, tt.creds
			_, ts := newTestServer(t, cfg)
			h := map[string]string{}
			if tt.origin != "" {
				h["Origin"] = tt.origin
			}
			for _, r := range []response{
				get(t, ts.URL+"/v1/stream", h),
				do(t, "POST", ts.URL+"/v1/chat/completions", chatBody, h),
				get(t, ts.URL+"/v1/stream?tokens=abc", h), // an error answer
				do(t, "OPTIONS", ts.URL+"/v1/stream", "", h),
			} {
				if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
					t.Errorf("status %d: Allow-Origin %q, want %q", r.status, got, tt.wantAllow)
				}
				if got := r.header.Get("Access-Control-Allow-Credentials"); got != tt.wantCreds {
					t.Errorf("status %d: Allow-Credentials %q, want %q", r.status, got, tt.wantCreds)
				}
				vary := strings.Join(r.header.Values("Vary"), ", ")
				if strings.Contains(vary, "Origin") != tt.wantVary {
					t.Errorf("status %d: Vary %q", r.status, vary)
				}
			}
		})
	}

	cfg := fastConfig()
	cfg.CORSCredentials = true
	_, ts := newTestServer(t, cfg)
	pre := do(t, "OPTIONS", ts.URL+"/v1/stream", "", map[string]string{
		"Origin": app, "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "last-event-id,x-client-trace, x-stainless-os,bad name," + strings.Repeat("x", 200),
	})
	allowed := strings.Split(pre.header.Get("Access-Control-Allow-Headers"), ", ")
	want := map[string]bool{"Last-Event-ID": true, "x-client-trace": true, "x-stainless-os": true}
	for _, a := range allowed {
		delete(want, a)
		if a == "bad name" || len(a) > maxPreflightNameLen {
			t.Errorf("preflight admitted the invalid name %.20q", a)
		}
		if strings.EqualFold(a, "last-event-id") && a != "Last-Event-ID" {
			t.Errorf("last-event-id listed twice: %v", allowed)
		}
	}
	if pre.status != 204 || len(want) > 0 || pre.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight %d: Allow-Headers %v lack %v; headers %v", pre.status, allowed, want, pre.header)
	}
	var many []string
	for i := range 3 * maxPreflightNames {
		many = append(many, fmt.Sprintf("x-h%d", i))
	}
	pre = do(t, "OPTIONS", ts.URL+"/v1/stream", "", map[string]string{"Origin": app, "Access-Control-Request-Headers": strings.Join(many, ",")})
	if n := len(strings.Split(pre.header.Get("Access-Control-Allow-Headers"), ", ")); n != 5+maxPreflightNames {
		t.Errorf("preflight admitted %d names, want the 5 fixed ones and %d requested", n, maxPreflightNames)
	}

	cfg.CORSOrigin = ""
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "CORS credentials") {
		t.Errorf("credentials without an origin: %v", err)
	}
}

// pipeListener hands out one in-memory connection, then blocks until
// closed: an http.Server inside a synctest bubble serves it on the fake
// clock.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener(c net.Conn) *pipeListener {
	l := &pipeListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	l.conns <- c
	return l
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// countingConn counts the bytes the server read from the client.
type countingConn struct {
	net.Conn
	mu sync.Mutex
	n  int
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
	return n, err
}

func (c *countingConn) read() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// serveOnPipe serves s over one in-memory connection with a real
// http.Server; it returns the client's end and the server's byte counter.
// Everything stops at cleanup.
func serveOnPipe(t *testing.T, s *Server) (net.Conn, *countingConn) {
	cli, srv := net.Pipe()
	cc := &countingConn{Conn: srv}
	hs := &http.Server{Handler: s}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(newPipeListener(cc)) }()
	t.Cleanup(func() {
		s.Close()
		_ = hs.Close()
		_ = cli.Close()
		<-served
	})
	return cli, cc
}

// TestBodyTimeout: a chat request whose body trickles in at one byte a
// second gets 408 and a closed connection once the body timeout is over,
// on the fake clock, having read only the bytes sent by then. A body sent
// at once is not cut afterwards: the read deadline is lifted for the
// stream, which here outlasts the timeout.
func TestBodyTimeout(t *testing.T) {
	const timeout = 5 * time.Second
	const head = "POST /v1/chat/completions HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.BodyTimeout = timeout
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cli, cc := serveOnPipe(t, s)
		body := `{"stream":true,"messages":[{"role":"user","content":"` + strings.Repeat("a", 1000) + `"}]}`
		start := time.Now()
		if _, err := fmt.Fprintf(cli, head, len(body)); err != nil {
			t.Fatal(err)
		}
		headBytes := len(fmt.Sprintf(head, len(body)))
		sent := make(chan int, 1)
		go func() {
			n := 0
			for ; n < len(body); n++ {
				if _, err := cli.Write([]byte{body[n]}); err != nil {
					break
				}
				time.Sleep(time.Second)
			}
			sent <- n
		}()
		resp, err := http.ReadResponse(bufio.NewReader(cli), nil)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close || !strings.Contains(string(msg), "not received within 5s") {
			t.Errorf("status %d, close %v, body %s", resp.StatusCode, resp.Close, msg)
		}
		if elapsed != timeout {
			t.Errorf("answered after %v on the fake clock, want exactly %v", elapsed, timeout)
		}
		_ = cli.Close()
		n := <-sent
		// One byte a second for 5 s: bytes 0..4, and byte 5 when its
		// write meets the deadline at the same instant.
		if got := cc.read() - headBytes; got < 5 || got > 6 || n > 7 {
			t.Errorf("the server read %d body bytes, the client wrote %d; want 5 or 6 by the deadline", got, n)
		}
	})

	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.BodyTimeout = timeout
		cfg.Tokens, cfg.ITL = 12, Fixed(time.Second) // 11 s of stream, twice the timeout
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cli, _ := serveOnPipe(t, s)
		body := `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		if _, err := fmt.Fprintf(cli, head+"%s", len(body), body); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(cli), nil)
		if err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ps := parseSSE(all)
		if err != nil || resp.StatusCode != 200 || len(ps.events) != 12+3 || ps.events[len(ps.events)-1].Data != "[DONE]" {
			t.Errorf("status %d, %d events, read error %v: the stream was cut", resp.StatusCode, len(ps.events), err)
		}
		if d := time.Since(start); d != 11*time.Second {
			t.Errorf("the stream took %v on the fake clock, want 11s", d)
		}
	})
}
