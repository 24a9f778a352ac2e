package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/reports"
)

// Run drives Ginkgo, which runs one suite per process, so each test below
// runs it in a child process: this test binary again, told by the
// environment to run TestRunHelper only.

const helperEnv = "SSEBENCH_CONFORMANCE_RUN_HELPER"

// helperRequest is what the parent asks the child to run.
type helperRequest struct {
	Config Config
	Twice  bool // call Run a second time
}

// helperResult is what the child reports, on one line of its stdout after
// the marker.
type helperResult struct {
	Report      *reports.ConformanceReport
	Err         string
	Unreachable bool
	AlreadyRan  bool
}

const resultMarker = "SSEBENCH-HELPER-RESULT: "

// TestRunHelper is not a test of its own: it is the child process of the
// tests below, and skips unless started by them.
func TestRunHelper(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("the child process of the Run tests")
	}
	var req helperRequest
	if err := json.Unmarshal([]byte(spec), &req); err != nil {
		t.Fatal(err)
	}
	report, err := Run(context.Background(), req.Config, RunOptions{})
	res := helperResult{Report: report, Unreachable: errors.Is(err, ErrUnreachable)}
	if err != nil {
		res.Err = err.Error()
	}
	if req.Twice {
		_, err2 := Run(context.Background(), req.Config, RunOptions{})
		res.AlreadyRan = errors.Is(err2, ErrAlreadyRan)
	}
	b, _ := json.Marshal(res)
	os.Stdout.Write(append([]byte(resultMarker), append(b, '\n')...))
}

// runChild runs Run in a child process and returns its result and its
// whole stdout.
func runChild(t *testing.T, req helperRequest) (helperResult, string) {
	t.Helper()
	spec, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, resultMarker); ok {
			var res helperResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				t.Fatal(err)
			}
			return res, stdout.String()
		}
	}
	t.Fatalf("no result from the child\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return helperResult{}, ""
}

func startTestMock(t *testing.T) *mockserver.Running {
	t.Helper()
	m, err := mockserver.Start(mockserver.DefaultConfig(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	return m
}

func results(r *reports.ConformanceReport) map[string]reports.ConformanceCheck {
	m := map[string]reports.ConformanceCheck{}
	for _, c := range r.Checks {
		m[c.ID] = c
	}
	return m
}

const quickStream = "/v1/stream?ttft=50ms&itl=10ms&tokens=12"

func TestRunCompliant(t *testing.T) {
	mock := startTestMock(t)
	res, stdout := runChild(t, helperRequest{
		Config: Config{Target: mock.URL + quickStream, Origin: "https://app.example"},
		Twice:  true,
	})
	if res.Err != "" || res.Report == nil {
		t.Fatalf("Run: %s", res.Err)
	}
	r := res.Report
	if !r.Summary.Passed || r.Summary.Pass != len(checks.All()) || len(r.Checks) != len(checks.All()) {
		var b bytes.Buffer
		_ = reports.WriteConformanceText(&b, r)
		t.Errorf("not every check passed:\n%s", b.String())
	}
	if !res.AlreadyRan {
		t.Error("a second Run in the process did not return ErrAlreadyRan")
	}
	// Ginkgo's console reporter stays off stdout: the caller prints.
	if strings.Contains(stdout, "Ran ") || strings.Contains(stdout, "Specs") {
		t.Errorf("Ginkgo wrote to stdout:\n%s", stdout)
	}
	if r.DurationS <= 0 || r.Target != mock.URL+quickStream || r.Method != "GET" {
		t.Errorf("report header %+v", r)
	}
}

func TestRunFault(t *testing.T) {
	mock := startTestMock(t)
	res, _ := runChild(t, helperRequest{
		Config: Config{Target: mock.URL + quickStream + "&fault=unterminated-final,no-cache-control"},
	})
	r := res.Report
	if r == nil || r.Summary.Passed {
		t.Fatalf("the run passed: %+v", res)
	}
	got := results(r)
	if got["framing/terminated"].Status != "fail" || got["http/cache-control"].Status != "warn" {
		t.Errorf("terminated %+v, cache-control %+v", got["framing/terminated"], got["http/cache-control"])
	}
	if ev := got["framing/terminated"].Evidence; ev == nil || ev.Offset == nil || ev.Event == nil || !strings.Contains(ev.Bytes, "event: finish") {
		t.Errorf("evidence %+v", ev)
	}
	if r.Summary.Failed[0] != "framing/terminated" || r.Summary.Warned[0] != "http/cache-control" {
		t.Errorf("summary %+v", r.Summary)
	}
}

func TestRunPOSTChat(t *testing.T) {
	mock := startTestMock(t)
	res, _ := runChild(t, helperRequest{Config: Config{
		Target: mock.URL + "/v1/chat/completions?ttft=50ms&itl=10ms&tokens=12",
		Method: "POST",
		Body:   []byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`),
	}})
	if res.Report == nil || !res.Report.Summary.Passed || res.Report.Summary.Warn != 0 {
		var b bytes.Buffer
		if res.Report != nil {
			_ = reports.WriteConformanceText(&b, res.Report)
		}
		t.Errorf("POST chat: %s\n%s", res.Err, b.String())
	}
}

func TestRunUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, _ := runChild(t, helperRequest{Config: Config{Target: "http://" + addr + "/stream"}})
	if !res.Unreachable || res.Report == nil || res.Report.Summary.Passed {
		t.Errorf("result %+v", res)
	}
}

// TestRunSelectsProbes: --checks framing/* needs the main read only.
func TestRunSelectsProbes(t *testing.T) {
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("retry: 1000\nid: 1\ndata: a\n\n"))
	}))
	defer ts.Close()
	res, _ := runChild(t, helperRequest{Config: Config{Target: ts.URL, Checks: []string{"framing/*"}}})
	if res.Report == nil || len(res.Report.Checks) != 9 || !res.Report.Summary.Passed {
		t.Errorf("result %+v", res)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (the main read)", n)
	}
}

func TestRunValidates(t *testing.T) {
	// Validation happens before Ginkgo, so it can run in process.
	for _, cfg := range []Config{
		{},
		{Target: "ftp://x/"},
		{Target: "http://127.0.0.1/", Checks: []string{"nope"}},
		{Target: "http://127.0.0.1/", Method: "get"},
		{Target: "http://127.0.0.1/", MaxEvents: -1},
	} {
		if _, err := Run(context.Background(), cfg, RunOptions{}); err == nil || errors.Is(err, ErrAlreadyRan) {
			t.Errorf("Run(%+v) = %v, want a validation error", cfg, err)
		}
	}
}
