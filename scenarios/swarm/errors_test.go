package swarm

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// one is a scenario of exactly one stream (an open model at 1/m for 1m),
// plus extra YAML.
func one(extra string) string {
	url := "url: http://sse.test/v1/stream\n"
	if strings.HasPrefix(strings.TrimSpace(extra), "url:") {
		url = ""
	}
	return url + `load: {rate: 1/m}
duration: 1m
` + extra
}

// pause sleeps d, or less if the request ends.
func pause(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func writeEvents(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, s)
	w.(http.Flusher).Flush()
}

// TestErrorClasses makes a handler misbehave in each way and checks the
// class the stream fails with, and that it does not reconnect when it must
// not, on the direct path and over the shared Transport.
func TestErrorClasses(t *testing.T) {
	for _, path := range []string{"direct", "transport"} {
		t.Run(path, func(t *testing.T) { testErrorClasses(t, path == "transport") })
	}
}

func testErrorClasses(t *testing.T, shared bool) {
	for _, tc := range []struct {
		name    string
		extra   string
		refuse  bool
		h       http.HandlerFunc
		class   scenarios.ErrorClass
		status  int
		detail  string // the Detail, exactly (stable: groupable)
		sample  string // a substring of the Sample
		events  int64
		retries bool // reconnect.max 1 leads to a second attempt
	}{
		{name: "dial", refuse: true, class: scenarios.ErrDial,
			detail: "connect to sse.test:80: connection refused", sample: "connection refused"},
		{name: "http_status", class: scenarios.ErrHTTPStatus, status: 503,
			detail: "HTTP 503 Service Unavailable", sample: "busy: come back later",
			h: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "busy: come back later", http.StatusServiceUnavailable)
			}},
		{name: "too_many_redirects", class: scenarios.ErrHTTPStatus, status: 302,
			detail: "HTTP 302 Found: more than 20 redirects (the last to http://sse.test/elsewhere)",
			h:      func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }},
		{name: "content_type", class: scenarios.ErrContentType, status: 200,
			detail: `Content-Type "text/plain", want text/event-stream`, sample: "data: x",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				fmt.Fprint(w, "data: x\n\n")
			}},
		{name: "timeout_first_byte", extra: "deadlines: {first_byte: 500ms}", class: scenarios.ErrTimeoutFirstByte,
			detail: "no response headers within 500ms (deadlines.first_byte)",
			h: func(w http.ResponseWriter, r *http.Request) {
				pause(r, 2*time.Second)
				writeEvents(w, "data: late\n\n")
			}},
		{name: "timeout_idle", extra: "deadlines: {idle: 1s}", class: scenarios.ErrTimeoutIdle, events: 1, retries: true,
			detail: "no bytes for 1s (deadlines.idle)",
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "event: add\ndata: x\n\n")
				pause(r, 5*time.Second)
			}},
		{name: "timeout_idle_comments_keep_alive", extra: "deadlines: {idle: 1s, total: 3s}", class: scenarios.ErrTimeoutTotal, events: 1,
			detail: "attempt open for 3s (deadlines.total)",
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "event: add\ndata: x\n\n")
				for r.Context().Err() == nil {
					pause(r, 500*time.Millisecond)
					writeEvents(w, ": heartbeat\n")
				}
			}},
		{name: "timeout_total", extra: "deadlines: {total: 1s}", class: scenarios.ErrTimeoutTotal, events: 10,
			detail: "attempt open for 1s (deadlines.total)",
			h: func(w http.ResponseWriter, r *http.Request) {
				for r.Context().Err() == nil {
					pause(r, 95*time.Millisecond)
					writeEvents(w, "event: add\ndata: x\n\n")
				}
			}},
		{name: "parse", extra: "max_line: 64", class: scenarios.ErrParse, events: 1,
			detail: "line over 64 bytes (max_line; raise it in the scenario)", sample: "64-byte limit",
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "data: short\n\ndata: "+strings.Repeat("x", 500)+"\n\n")
			}},
		{name: "parse_event", extra: "max_event: 100", class: scenarios.ErrParse, events: 1,
			detail: "event over 100 bytes (max_event; raise it in the scenario)",
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "data: short\n\n"+strings.Repeat("data: 0123456789\n", 10)+"\n")
			}},
		{name: "eof_mid_event", class: scenarios.ErrEOFMidEvent, events: 1, retries: true,
			detail: "the body ended in the middle of an event", sample: "data: cut off",
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "event: add\ndata: one\n\nevent: add\ndata: cut off\n")
			}},
		{name: "reset", class: scenarios.ErrReset, events: 1, retries: true,
			detail: "unexpected EOF in the chunked body",
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "event: add\ndata: one\n\n")
				panic(http.ErrAbortHandler)
			}},
		{name: "eof_before_terminal", class: scenarios.ErrEOFBeforeTerminal, events: 1, retries: true,
			detail: "the body ended before a terminal event (finish)",
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "event: add\ndata: one\n\n")
			}},
		{name: "terminal_error_event", class: scenarios.ErrTerminalErrorEvent, status: 200, events: 2,
			detail: `error event "error"`, sample: `{"message":"overloaded"}`,
			h: func(w http.ResponseWriter, r *http.Request) {
				writeEvents(w, "event: add\ndata: one\n\nevent: error\ndata: {\"message\":\"overloaded\"}\n\n")
				pause(r, time.Second)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := serveMem(t, tc.h)
				m.refuse.Store(tc.refuse)
				sc := scenario(t, one(tc.extra+"\nreconnect: {max: 1, delay: 100ms}\n"))
				s, err := New(sc, Options{Dial: m.Dial, SharedTransport: shared})
				if err != nil {
					t.Fatal(err)
				}
				c := collect(t, t.Context(), s)
				c.checkWellFormed(t)
				ends := c.ends()
				if len(ends) == 0 {
					t.Fatal("no KindEnd")
				}
				e := ends[0]
				if e.Err != tc.class {
					t.Fatalf("class %v (%q), want %v", e.Err, e.Detail, tc.class)
				}
				if e.Status != tc.status && tc.status != 0 {
					t.Errorf("status %d, want %d", e.Status, tc.status)
				}
				if e.Detail != tc.detail {
					t.Errorf("detail %q, want %q", e.Detail, tc.detail)
				}
				if !strings.Contains(e.Sample, tc.sample) || len(e.Sample) > scenarios.MaxSample {
					t.Errorf("sample %q, want it to contain %q", e.Sample, tc.sample)
				}
				rs := c.stream(e.Stream)
				var events int64
				for _, r := range rs {
					if r.Attempt == 0 {
						events += r.Events
					}
				}
				if events != tc.events {
					t.Errorf("events of attempt 0: %d, want %d", events, tc.events)
				}
				if got := len(ends) > 1; got != tc.retries {
					t.Errorf("reconnected: %v, want %v (%d attempts)", got, tc.retries, len(ends))
				}
				if tc.retries && (len(ends) != 2 || ends[1].Attempt != 1) {
					t.Errorf("attempts: %d, want 2 (reconnect.max 1)", len(ends))
				}
			})
		})
	}
}
