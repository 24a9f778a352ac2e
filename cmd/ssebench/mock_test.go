package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/mockserver"
)

// mockSyncBuffer is an io.Writer safe for the server goroutine and the test
// to share.
type mockSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *mockSyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *mockSyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mockTestEnv(vars map[string]string) (*env, *mockSyncBuffer, *mockSyncBuffer) {
	out, errb := &mockSyncBuffer{}, &mockSyncBuffer{}
	return &env{
		stdin:  strings.NewReader(""),
		stdout: out,
		stderr: errb,
		getenv: func(k string) string { return vars[k] },
	}, out, errb
}

// mockStart runs `ssebench mock args...` in the background and returns its
// base URL, a stop function and the exit code channel.
func mockStart(t *testing.T, vars map[string]string, args ...string) (string, *mockSyncBuffer, context.CancelFunc, chan int) {
	t.Helper()
	e, _, errb := mockTestEnv(vars)
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- run(ctx, e, append([]string{"mock"}, args...)) }()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			return m[1], errb, cancel, code
		}
		select {
		case c := <-code:
			cancel()
			t.Fatalf("mock exited with %d: %s", c, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("mock did not start: %s", errb.String())
	return "", nil, nil, nil
}

func mockGet(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMockServesAndStops(t *testing.T) {
	url, errb, cancel, code := mockStart(t, nil, "--addr", "127.0.0.1:0", "--ttft", "0", "--itl", "0", "--tokens", "3", "--fault", "no-retry", "--heartbeat", "0")
	status, body := mockGet(t, url+"/v1/stream?seed=4")
	if status != 200 || !strings.HasPrefix(body, "event: info\nid: 0\n") || !strings.Contains(body, "event: finish\nid: 4\n") {
		t.Errorf("stream: %d %q", status, body)
	}
	if status, body := mockGet(t, url+"/healthz"); status != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", status, body)
	}
	cancel()
	select {
	case c := <-code:
		if c != exitOK {
			t.Errorf("exit %d after the signal, want 0", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("mock did not stop after its context was cancelled")
	}
	if !strings.Contains(errb.String(), "stopped") {
		t.Errorf("stderr: %s", errb.String())
	}
}

func TestMockEnvOverrides(t *testing.T) {
	vars := map[string]string{"SSEBENCH_TOKEN": "s3cr3t-tok", "SSEBENCH_TOKENS": "2", "SSEBENCH_TTFT": "0", "SSEBENCH_ITL": "0",
		"SSEBENCH_ADDR": "127.0.0.1:0", "SSEBENCH_FAULT": "crlf"}
	url, errb, cancel, code := mockStart(t, vars, "--tokens", "1") // the flag beats the environment
	defer func() { cancel(); <-code }()
	if status, _ := mockGet(t, url+"/v1/stream"); status != 401 {
		t.Errorf("no token: %d, want 401", status)
	}
	status, body := mockGet(t, url+"/v1/stream", "Authorization", "Bearer s3cr3t-tok")
	if status != 200 || strings.Count(body, "event: add") != 1 || !strings.Contains(body, "\r\n") {
		t.Errorf("with token: %d %q", status, body)
	}
	if strings.Contains(errb.String(), "s3cr3t") {
		t.Errorf("the token leaked to stderr: %s", errb.String())
	}
}

func TestMockUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		vars map[string]string
		code int
		want string
	}{
		{[]string{"--fault", "nope"}, nil, exitUsage, "nope"},
		{[]string{"--ttft", "soon"}, nil, exitUsage, "ttft"},
		{[]string{"--slots", "-1"}, nil, exitUsage, "slots"},
		{[]string{"--retry", "-5"}, nil, exitUsage, "retry"},
		{[]string{"extra"}, nil, exitUsage, "extra"},
		{nil, map[string]string{"SSEBENCH_TOKENS": "many"}, exitUsage, "SSEBENCH_TOKENS"},
		{[]string{"--addr", "256.0.0.1:1"}, nil, exitCannotRun, "listen"},
		{[]string{"--cors-credentials", "--cors-origin", ""}, nil, exitUsage, "CORS credentials"},
		{[]string{"--body-timeout", "-1s"}, nil, exitUsage, "timeouts must not be negative"},
	} {
		e, _, errb := mockTestEnv(tc.vars)
		if got := run(context.Background(), e, append([]string{"mock"}, tc.args...)); got != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("mock %v: exit %d (want %d), stderr %q", tc.args, got, tc.code, errb.String())
		}
	}
}

// TestMockCORSCredentials: --cors-credentials echoes the caller's Origin
// with Allow-Credentials (never "*"), from the flag and from the
// environment.
func TestMockCORSCredentials(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		args []string
	}{
		{nil, []string{"--cors-credentials"}},
		{map[string]string{"SSEBENCH_CORS_CREDENTIALS": "true"}, nil},
	} {
		url, _, cancel, code := mockStart(t, tc.vars, append([]string{"--addr", "127.0.0.1:0", "--ttft", "0", "--itl", "0", "--tokens", "1"}, tc.args...)...)
		req, _ := http.NewRequest("GET", url+"/v1/stream", nil)
		req.Header.Set("Origin", "http://127.0.0.1:9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:9" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" ||
			resp.Header.Get("Vary") != "Origin" {
			t.Errorf("%v %v: headers %v", tc.vars, tc.args, resp.Header)
		}
		cancel()
		<-code
	}
}

func TestMockAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e, _, errb := mockTestEnv(nil)
	if got := run(context.Background(), e, []string{"mock", "--addr", ln.Addr().String()}); got != exitCannotRun {
		t.Errorf("exit %d, want %d: %s", got, exitCannotRun, errb.String())
	}
}

func TestMockHelpListsEveryKnob(t *testing.T) {
	e, out, _ := mockTestEnv(nil)
	if got := run(context.Background(), e, []string{"mock", "--help"}); got != exitOK {
		t.Fatalf("--help exit %d", got)
	}
	help := out.String() // --help goes to stdout
	for _, want := range []string{"--ttft", "--itl", "--tokens", "--chunk", "--seed", "--heartbeat", "--retry", "--slots", "--queue",
		"--token", "--fault", "--cors-origin", "--cors-credentials", "--body-timeout", "--reuseport", "--procs", "--fd-limit", "high-water mark", "--addr", "lognormal(", "uniform(", "Last-Event-ID", "SSEBENCH_"} {
		if !strings.Contains(help, strings.TrimPrefix(want, "-")) {
			t.Errorf("--help lacks %s", want)
		}
	}
	for _, f := range mockserver.Faults() {
		if !strings.Contains(help, f.Usage()) {
			t.Errorf("--help lacks fault %s", f.Usage())
		}
	}
	e, out, _ = mockTestEnv(nil)
	if got := run(context.Background(), e, []string{"mock", "--list-faults"}); got != exitOK || !strings.Contains(out.String(), "drop-after=N") {
		t.Errorf("--list-faults: %d %q", got, out.String())
	}
}

func TestMockReuseport(t *testing.T) {
	url, _, cancel1, code1 := mockStart(t, nil, "--addr", "127.0.0.1:0", "--reuseport")
	defer func() { cancel1(); <-code1 }()
	addr := strings.TrimPrefix(url, "http://")
	_, _, cancel2, code2 := mockStart(t, nil, "--addr", addr, "--reuseport")
	defer func() { cancel2(); <-code2 }()
	if status, _ := mockGet(t, url+"/healthz"); status != 200 {
		t.Errorf("healthz %d", status)
	}
}
