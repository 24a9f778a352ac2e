package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/hostile"
)

// These tests run `ssebench conform` end to end against servers written
// for them, and read its exit code, JSON and JUnit: the command's contract.

// conformResult is the part of the --json report the tests read.
type conformResult struct {
	Schema int `json:"schema"`
	Checks []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Message  string `json:"message"`
		Evidence *struct {
			Bytes  string `json:"bytes"`
			Detail string `json:"detail"`
			Event  *int   `json:"event"`
		} `json:"evidence"`
	} `json:"checks"`
}

func (r conformResult) status(id string) (string, string) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Status, c.Message
		}
	}
	return "", ""
}

// conformJSONRun runs conform with --json - and returns the exit code, the
// report and the whole output.
func conformJSONRun(t *testing.T, args ...string) (int, conformResult, conformOut) {
	t.Helper()
	out := conformChild(t, append([]string{"conform", "--json", "-"}, args...)...)
	var r conformResult
	if err := json.Unmarshal([]byte(out.stdout), &r); err != nil {
		t.Fatalf("exit %d, no JSON report: %v\nstdout:\n%s\nstderr:\n%s", out.code, err, out.stdout, out.stderr)
	}
	return out.code, r, out
}

func wantStatus(t *testing.T, r conformResult, id, status, substr string) {
	t.Helper()
	st, msg := r.status(id)
	if st != status || !strings.Contains(msg, substr) {
		t.Errorf("%s: %s %q, want %s containing %q", id, st, msg, status, substr)
	}
}

// TestConformRedirectKeepsCredentialsHome: a 302 to another loopback port
// does not receive Authorization, Cookie or X-Api-Key; the chain is
// reported; nothing secret is printed.
func TestConformRedirectKeepsCredentialsHome(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for _, h := range []string{"Authorization", "Cookie", "X-Api-Key"} {
			if r.Header.Get(h) != "" {
				leaked = append(leaked, h)
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write([]byte("retry: 1000\n\nid: 0\ndata: a\n\n"))
	}))
	defer other.Close()
	first := httptest.NewServer(hostile.Redirector(other.URL))
	defer first.Close()
	code, r, out := conformJSONRun(t, "--target", first.URL+"/s", "--max-time", "3s",
		"--header", "Authorization: Bearer s3cretTok", "--header", "Cookie: sid=s3cretCookie", "--header", "X-Api-Key: s3cretKey")
	if code == exitCannotRun {
		t.Fatalf("exit %d\n%s", code, out.stderr)
	}
	if len(leaked) > 0 {
		t.Errorf("the other origin received %v", leaked)
	}
	wantStatus(t, r, "http/redirect", "warn", "were not sent")
	if s := out.stdout + out.stderr; strings.Contains(s, "s3cret") {
		t.Errorf("a secret reached the output:\n%s", s)
	}
}

// TestConformHeldResponseFails: a server that accepts the connection and
// sends nothing (a buffering proxy) fails a check, with a hint; it is not
// an unreachable target.
func TestConformHeldResponseFails(t *testing.T) {
	srv := hostile.StartRaw(t, hostile.Held)
	code, r, out := conformJSONRun(t, "--target", srv.URL()+"/", "--max-time", "2s", "--checks", "http/status")
	if code != exitGateFailed {
		t.Fatalf("exit %d, want %d\n%s", code, exitGateFailed, out.stderr)
	}
	wantStatus(t, r, "http/status", "fail", "X-Accel-Buffering: no")
}

// TestConformBrokenChunkedFails: chunked encoding that breaks after the
// first event fails http/body-framing.
func TestConformBrokenChunkedFails(t *testing.T) {
	srv := hostile.StartRaw(t, hostile.BrokenChunked)
	code, r, out := conformJSONRun(t, "--target", srv.URL()+"/", "--max-time", "3s")
	if code != exitGateFailed {
		t.Fatalf("exit %d, want %d\n%s", code, exitGateFailed, out.stderr)
	}
	wantStatus(t, r, "http/body-framing", "fail", "chunked")
}

// TestConformPerRequestIDs: ids made up per request, and every request
// replayed from the start: the resume checks agree on what happened.
func TestConformPerRequestIDs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hostile.PerRequestIDs))
	defer srv.Close()
	_, r, _ := conformJSONRun(t, "--target", srv.URL, "--max-time", "3s")
	wantStatus(t, r, "resume/last-event-id", "fail", "duplicate")
	wantStatus(t, r, "resume/mid-event", "fail", "already had")
	wantStatus(t, r, "resume/unknown-id", "pass", "full replay")
}

// TestConformLiveFeed: a live feed that answers an unknown id with the
// live stream is warned about, however the connections were timed.
func TestConformLiveFeed(t *testing.T) {
	srv := hostile.StartLiveFeed(t)
	_, r, _ := conformJSONRun(t, "--target", srv.URL, "--max-time", "2s", "--max-events", "40", "--checks", "resume/unknown-id")
	wantStatus(t, r, "resume/unknown-id", "warn", "live feed")
}

// heldHeaders serves an event stream whose headers go out with the first
// event, 700ms after the request, as node:http does without flushHeaders
// and gin's c.Stream does. With routed, the stream is only GET's: other
// methods get an immediate 404, as a router answers them.
func heldHeaders(routed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if routed && r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		select {
		case <-r.Context().Done():
			return
		case <-time.After(700 * time.Millisecond): // the server's own pace
		}
		_, _ = w.Write([]byte("retry: 1000\nid: 0\ndata: first\n\n"))
		http.NewResponseController(w).Flush()
		for i := 1; i < 4; i++ {
			_, _ = w.Write([]byte("id: " + string(rune('0'+i)) + "\ndata: more\n\n"))
			http.NewResponseController(w).Flush()
		}
	}
}

// TestConformHeldHeaders: headers held until the first event are flagged,
// whether the server answers every method with the stream (the control is
// held too) or routes (the control is answered at once).
func TestConformHeldHeaders(t *testing.T) {
	for _, routed := range []bool{false, true} {
		srv := httptest.NewServer(heldHeaders(routed))
		_, r, _ := conformJSONRun(t, "--target", srv.URL, "--max-time", "3s", "--checks", "stream/headers-early")
		srv.Close()
		wantStatus(t, r, "stream/headers-early", "warn", "held")
	}
}

// TestConformTimedOutResumeDoesNotReconnect: when fewer events than the
// drop point arrive before the read times out, the resume probe does not
// reconnect (which used to double the run), and the skip reason says the
// read timed out.
func TestConformTimedOutResumeDoesNotReconnect(t *testing.T) {
	var mu sync.Mutex
	var resumes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Last-Event-ID"); id != "" && !strings.HasPrefix(id, "ssebench-unknown") {
			mu.Lock()
			resumes = append(resumes, id)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write([]byte("retry: 1000\nid: 0\ndata: only\n\n"))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	_, r, _ := conformJSONRun(t, "--target", srv.URL, "--max-time", "1s", "--checks", "reconnect/accepted,resume/last-event-id")
	if len(resumes) > 0 {
		t.Errorf("reconnected with Last-Event-ID %v after a read that timed out", resumes)
	}
	for _, id := range []string{"reconnect/accepted", "resume/last-event-id"} {
		wantStatus(t, r, id, "skip", "timed out")
		if _, msg := r.status(id); strings.Contains(msg, "by itself") {
			t.Errorf("%s: %q", id, msg)
		}
	}
}

// TestConformEmptyGzip: a gzip body that decodes to nothing says so.
func TestConformEmptyGzip(t *testing.T) {
	var empty bytes.Buffer
	zw := gzip.NewWriter(&empty)
	_ = zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(empty.Bytes())
	}))
	defer srv.Close()
	_, r, _ := conformJSONRun(t, "--target", srv.URL, "--max-time", "2s", "--checks", "stream/first-event")
	wantStatus(t, r, "stream/first-event", "fail", "gzip body")
}

// TestConformFiniteStreamWithoutIDs: a finite stream without ids is served
// again from its start to a browser's reconnect: lifecycle/finite-end warns.
func TestConformFiniteStreamWithoutIDs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write([]byte("retry: 3000\n\ndata: hello\n\ndata: world\n\n"))
	}))
	defer srv.Close()
	_, r, _ := conformJSONRun(t, "--target", srv.URL, "--max-time", "3s", "--checks", "lifecycle/*")
	wantStatus(t, r, "lifecycle/finite-end", "warn", "without Last-Event-ID")
}

// TestConformEchoedSecretIsRedacted: a server that echoes a credential
// header in its body (here an X-AuthToken in a 401) does not get it
// printed.
func TestConformEchoedSecretIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"bad token ` + r.Header.Get("X-AuthToken") + `"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	junit, html := filepath.Join(dir, "c.xml"), filepath.Join(dir, "c.html")
	_, r, out := conformJSONRun(t, "--target", srv.URL+"/s?accessToken=s3cretQuery", "--header", "X-AuthToken: s3cretTok",
		"--max-time", "2s", "--junit", junit, "--html", html)
	wantStatus(t, r, "http/status", "fail", "401")
	files := out.stdout + out.stderr
	for _, f := range []string{junit, html} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files += string(b)
	}
	if strings.Contains(files, "s3cret") {
		t.Errorf("a secret reached an output")
	}
	if !strings.Contains(files, "REDACTED") {
		t.Errorf("nothing was redacted")
	}
}

// TestConformJUnitValidates: the JUnit file of a conform run with
// failures, warnings and skips is valid against junit-10.xsd, has no
// source paths, and marks warnings.
func TestConformJUnitValidates(t *testing.T) {
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint is not installed (apt-get install libxml2-utils)")
		}
		t.Skip("xmllint is not installed (apt-get install libxml2-utils)")
	}
	mock := conformMock(t)
	junit := filepath.Join(t.TempDir(), "c.xml")
	out := conformChild(t, "conform", "--target", mock.URL+"/v1/stream?ttft=50ms&itl=10ms&tokens=10&fault=invalid-utf8,no-cache-control", "--junit", junit)
	out.want(t, exitGateFailed)
	schema := filepath.Join("..", "..", "reports", "testdata", "junit", "junit-10.xsd")
	if b, err := exec.Command(lint, "--noout", "--schema", schema, junit).CombinedOutput(); err != nil {
		t.Fatalf("conform --junit does not validate: %v\n%s", err, b)
	}
	x, _ := os.ReadFile(junit)
	wd, _ := os.Getwd()
	s := string(x)
	if strings.Contains(s, wd) || strings.Contains(s, ".go:") {
		t.Errorf("JUnit names a source path or the working directory:\n%s", s)
	}
	if !strings.Contains(s, `<skipped message="WARN (SHOULD, not a failure): `) || !strings.Contains(s, `<failure message="MUST framing/utf8`) {
		t.Errorf("JUnit does not mark the failure and the warning:\n%s", s)
	}
}
