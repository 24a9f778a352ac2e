package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNodeEventSource runs a real client nobody here wrote: the npm package
// "eventsource" (WHATWG-compliant EventSource for Node, pinned in
// testdata/eventsource/package-lock.json). It receives the named events, is
// cut mid-event by drop-after, reconnects with Last-Event-ID, gets the rest
// with no gap and no duplicate, and stops on the 204 that answers the final
// id. Install its dependencies with:
//
//	npm ci --prefix mockserver/testdata/eventsource
//
// Without node_modules the test skips, except under CI=true, where it fails.
func TestNodeEventSource(t *testing.T) {
	dir := filepath.Join("testdata", "eventsource")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "eventsource", "package.json"))
	}
	if err != nil {
		msg := "node or testdata/eventsource/node_modules is missing (" + err.Error() + "); run: npm ci --prefix mockserver/testdata/eventsource"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	cfg := fastConfig()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string // each request's Last-Event-ID ("-" when absent), then its status
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lei := "-"
		if v, ok := r.Header["Last-Event-Id"]; ok {
			lei = strings.Join(v, ",")
		}
		mu.Lock()
		seen = append(seen, lei)
		mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { s.Close(); ts.Close() })

	// 7 tokens: ids 0..8. drop-after=3 cuts connection 1 inside event 3 and
	// connection 2 inside event 6; connection 3 ends cleanly after event 8;
	// connection 4 (Last-Event-ID: 8) gets 204. Multi-byte words make some
	// cuts fall inside a UTF-8 sequence.
	path := "/v1/stream?tokens=7&seed=21&itl=2ms&retry=50&fault=drop-after=3"
	ref := get(t, ts.URL+"/v1/stream?tokens=7&seed=21", nil)
	want := parseSSE(ref.body).events
	mu.Lock()
	seen = nil
	mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", ts.URL+path, "30000")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}

	type line struct {
		Kind, Type, ID, Data, Message string
		ReadyState                    int
		Code                          *int
	}
	var got []line
	opens, closed := 0, false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		switch l.Kind {
		case "open":
			opens++
		case "event":
			got = append(got, l)
		case "closed":
			closed = true
		case "timeout":
			t.Fatalf("the client timed out:\n%s", out)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("the client got %d events, want %d:\n%s", len(got), len(want), out)
	}
	for i, ev := range want {
		if got[i].Type != ev.Type || got[i].ID != ev.ID || got[i].Data != ev.Data {
			t.Errorf("event %d: got %s/%s %q, want %s/%s %q", i, got[i].Type, got[i].ID, got[i].Data, ev.Type, ev.ID, ev.Data)
		}
		if ev.ID != strconv.Itoa(i) {
			t.Errorf("reference event %d has id %q", i, ev.ID)
		}
	}
	if !closed {
		t.Errorf("the client did not stop:\n%s", out)
	}
	if opens != 3 {
		t.Errorf("%d opens, want 3 (two cuts, then a clean end)", opens)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, " ") != "- 2 5 8" {
		t.Errorf("requests carried Last-Event-ID %v, want [- 2 5 8]", seen)
	}
	if !strings.Contains(string(out), `"code":204`) {
		t.Errorf("the client did not report the 204:\n%s", out)
	}
}
