package mockserver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	goldenfile "github.com/ssebench/ssebench/reports/golden"
)

// tev is one dispatched event as the test parser saw it.
type tev struct {
	Type, ID, Data string
	HasID          bool // the block had an id field
	Start, End     int  // byte offsets of the block in the body
}

// parsedStream is what the minimal test parser found in a body. It follows
// the spec's line and dispatch rules (package conformance/sse documents them as rules A1 to A8) on raw bytes, without
// UTF-8 decoding, so byte-level faults stay visible. It shares nothing with
// the server's code or with conformance/.
type parsedStream struct {
	events       []tev
	retries      []string
	comments     int
	unknown      []string // unknown field names, in order
	dataless     int      // blocks with event or id fields but no data
	pendingAtEOF bool     // a block had fields but no closing empty line
	endings      map[string]int
}

func parseSSE(b []byte) parsedStream {
	ps := parsedStream{endings: map[string]int{}}
	pos := 0
	if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		pos = 3
	}
	var (
		typ, data, lastID string
		hasData, hasField bool
		hasID             bool
		blockStart        = pos
	)
	for pos < len(b) {
		i := bytes.IndexAny(b[pos:], "\r\n")
		if i < 0 { // a last line without an end: discarded at EOF
			ps.pendingAtEOF = true
			break
		}
		line := string(b[pos : pos+i])
		end := pos + i + 1
		eol := b[pos+i : end]
		if b[pos+i] == '\r' && end < len(b) && b[end] == '\n' {
			end++
			eol = b[pos+i : end]
		}
		ps.endings[string(eol)]++
		pos = end
		if line == "" {
			if hasData {
				ev := tev{Type: typ, ID: lastID, HasID: hasID, Data: strings.TrimSuffix(data, "\n"), Start: blockStart, End: pos}
				if ev.Type == "" {
					ev.Type = "message"
				}
				ps.events = append(ps.events, ev)
			} else if hasField {
				ps.dataless++
			}
			typ, data, hasData, hasField, hasID = "", "", false, false, false
			blockStart = pos
			continue
		}
		if line[0] == ':' {
			ps.comments++
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "data":
			data += value + "\n"
			hasData = true
		case "event":
			typ, hasField = value, true
		case "id":
			hasField, hasID = true, true
			if !strings.Contains(value, "\x00") {
				lastID = value
			}
		case "retry":
			ps.retries = append(ps.retries, value)
		default:
			ps.unknown = append(ps.unknown, field)
		}
	}
	if hasData || hasField {
		ps.pendingAtEOF = true
	}
	return ps
}

func (ps parsedStream) ids() []string {
	out := make([]string, len(ps.events))
	for i, e := range ps.events {
		out[i] = e.ID
	}
	return out
}

// fastConfig is a config whose streams complete at once.
func fastConfig() Config {
	c := DefaultConfig()
	c.TTFT, c.ITL, c.Heartbeat = Fixed(0), Fixed(0), 0
	c.Tokens, c.Seed = 4, 7
	return c
}

// newTestServer starts s on an httptest server, closed at cleanup.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); ts.Close() })
	return s, ts
}

// rawClient does not ask for or decode gzip, so the bytes are the wire's.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

type response struct {
	status  int
	header  http.Header
	body    []byte
	readErr error
}

// do sends a request and reads the whole body (bounded by 20s so a broken
// server fails the test instead of hanging it).
func do(t *testing.T, method, url, body string, hdr map[string]string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b, readErr: rerr}
}

func get(t *testing.T, url string, hdr map[string]string) response {
	t.Helper()
	return do(t, http.MethodGet, url, "", hdr)
}

// completionRE matches the two fields that identify one chat completion.
var completionRE = regexp.MustCompile(`"id":"chatcmpl-[0-9a-f]{16}","object":"(chat\.completion(?:\.chunk)?)","created":[0-9]+`)

// anyCompletion replaces the id and created fields of chat completions with
// placeholders: every request is a completion of its own (a resume too), so
// these are the only bytes two requests with the same parameters do not
// share.
func anyCompletion(b []byte) []byte {
	return completionRE.ReplaceAll(b, []byte(`"id":"chatcmpl-<id>","object":"$1","created":<created>`))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

// flushRec is one flush seen by recWriter: when, and how many body bytes
// had been written by then.
type flushRec struct {
	at time.Duration
	n  int
}

// recWriter is a ResponseWriter for tests in a synctest bubble: it records
// each flush with the (fake) time, so "what had the client received at t"
// is exact. Safe for concurrent use.
type recWriter struct {
	mu      sync.Mutex
	start   time.Time
	h       http.Header
	status  int
	buf     []byte
	flushes []flushRec
	aborted bool
}

func newRecWriter() *recWriter { return &recWriter{start: time.Now(), h: http.Header{}} }

func (w *recWriter) Header() http.Header { return w.h }
func (w *recWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = code
	}
}
func (w *recWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = 200
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}
func (w *recWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = 200
	}
	w.flushes = append(w.flushes, flushRec{time.Since(w.start), len(w.buf)})
}

func (w *recWriter) snapshot() (body []byte, flushes []flushRec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]byte(nil), w.buf...), append([]flushRec(nil), w.flushes...)
}

// serveAsync runs s.ServeHTTP for req in a new goroutine (inside the
// caller's bubble) and returns the recorder and a channel closed when the
// handler returns. An http.ErrAbortHandler panic marks the recorder
// aborted; any other panic fails the test.
func serveAsync(t *testing.T, s *Server, req *http.Request) (*recWriter, chan struct{}) {
	w := newRecWriter()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					t.Errorf("handler panicked: %v", v)
				}
				w.mu.Lock()
				w.aborted = true
				w.mu.Unlock()
			}
		}()
		s.ServeHTTP(w, req)
	}()
	return w, done
}

// scrape returns the /metrics text.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: status %d", rec.Code)
	}
	return rec.Body.String()
}

// metricLine finds the sample line of a metric with the exact label set
// and returns its value text, or "" when absent.
func metricLine(text, series string) string {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return rest
		}
	}
	return ""
}
