package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRunGenericTarget: `run --target URL` with no scenario against
// someone else's server (a finite stream with no finish event, served on
// loopback) asks for exactly that URL (path "/" for a bare host, nothing
// of the embedded default's mock query) and counts every clean stream ok.
func TestRunGenericTarget(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.RequestURI()]++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		for range 3 {
			io.WriteString(w, "data: {\"text\":\"hi\"}\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	for _, tc := range []struct{ target, path string }{
		{srv.URL, "/"},
		{srv.URL + "/events?topic=x", "/events?topic=x"},
	} {
		out := filepath.Join(t.TempDir(), "r.json")
		r := runCLI(t, t.Context(), nil, "run", "--quiet", "--duration", "300ms", "--connections", "2",
			"--target", tc.target, "--out", out)
		r.wantCode(t, exitOK)
		f := runReadResult(t, out)
		c := f.Counters
		if c.StreamsOK == 0 || c.StreamsFailed != 0 || len(c.Errors) != 0 {
			t.Errorf("--target %s: streams ok %d, failed %d, errors %v; want every stream ok", tc.target, c.StreamsOK, c.StreamsFailed, c.Errors)
		}
		if c.Tokens != 3*c.StreamsOK {
			t.Errorf("--target %s: tokens %d, want 3 per stream (%d streams)", tc.target, c.Tokens, c.StreamsOK)
		}
		mu.Lock()
		if len(paths) != 1 || paths[tc.path] == 0 {
			t.Errorf("--target %s: requests %v, want only %s", tc.target, paths, tc.path)
		}
		clear(paths)
		mu.Unlock()
	}
}

// TestRunTLSUntrusted: against a self-signed TLS server, run exits 3 at
// start with the x509 reason and the way around it; with --insecure it
// runs.
func TestRunTLSUntrusted(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: hi\n\n")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	r := runCLI(t, t.Context(), nil, "run", "--quiet", "--duration", "300ms", "--connections", "2", "--target", srv.URL)
	r.wantCode(t, exitCannotRun)
	for _, want := range []string{"x509: certificate signed by unknown authority", "--insecure", "SSL_CERT_FILE"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	out := filepath.Join(t.TempDir(), "r.json")
	r = runCLI(t, t.Context(), nil, "run", "--quiet", "--duration", "300ms", "--connections", "2", "--target", srv.URL, "--insecure", "--out", out)
	r.wantCode(t, exitOK)
	if c := runReadResult(t, out).Counters; c.StreamsOK == 0 || c.StreamsFailed != 0 {
		t.Errorf("with --insecure: streams ok %d failed %d", c.StreamsOK, c.StreamsFailed)
	}
}

// TestRunHTTP2EmbeddedMock: --http2 against the embedded mock speaks h2c,
// which the mock serves: the streams end ok.
func TestRunHTTP2EmbeddedMock(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, t.Context(), nil, "run", "--quiet", "--http2", "--duration", "300ms", "--connections", "2", "--out", out)
	r.wantCode(t, exitOK)
	if c := runReadResult(t, out).Counters; c.StreamsOK == 0 || c.StreamsFailed != 0 || len(c.Errors) != 0 {
		t.Errorf("--http2: streams ok %d failed %d errors %v", c.StreamsOK, c.StreamsFailed, c.Errors)
	}
}
