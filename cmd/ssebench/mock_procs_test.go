package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssebench/ssebench/mockserver/fleet"
)

// TestMain lets this test binary serve as a `mock --procs` or `run
// --procs` worker: the supervisor re-executes the running program (here,
// the test binary) with "mock" or "run" and its flags.
func TestMain(m *testing.M) {
	if _, ok := fleet.Worker(os.Getenv); ok || os.Getenv(runWorkerEnv) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func skipUnlessLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("mock --procs needs Linux")
	}
}

// procsMock is a `mock --procs` running in this process, its workers in
// child processes.
type procsMock struct {
	t      *testing.T
	url    string
	addr   string
	stderr *mockSyncBuffer
	cancel context.CancelFunc
	code   chan int
	client *http.Client // one keep-alive connection: it stays on one worker
}

func startProcsMock(t *testing.T, args ...string) *procsMock {
	t.Helper()
	skipUnlessLinux(t)
	url, errb, cancel, code := mockStart(t, nil, append([]string{"--addr", "127.0.0.1:0", "--heartbeat", "0"}, args...)...)
	p := &procsMock{t: t, url: url, addr: strings.TrimPrefix(url, "http://"), stderr: errb, cancel: cancel, code: code,
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Hour}}}
	t.Cleanup(func() { p.stop(exitOK) })
	return p
}

// stop ends the supervisor and checks its exit code and that no worker
// process is left.
func (p *procsMock) stop(want int) {
	if p.cancel == nil {
		return
	}
	pids := workerPIDs(p.t)
	p.cancel()
	p.cancel = nil
	select {
	case c := <-p.code:
		if c != want {
			p.t.Errorf("mock --procs exited %d, want %d; stderr:\n%s", c, want, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		p.t.Fatalf("mock --procs did not stop; stderr:\n%s", p.stderr.String())
	}
	for slot, pid := range pids {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
			p.t.Errorf("worker %d (pid %d) still runs after the supervisor stopped", slot, pid)
		}
	}
	p.client.CloseIdleConnections()
}

// metrics scrapes GET /metrics on the shared port into "name{labels}" ->
// value.
func (p *procsMock) metrics() map[string]float64 {
	p.t.Helper()
	resp, err := p.client.Get(p.url + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("/metrics: %s: %s", resp.Status, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			p.t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// waitMetrics scrapes until ok holds (bounded).
func (p *procsMock) waitMetrics(what string, ok func(map[string]float64) bool) map[string]float64 {
	p.t.Helper()
	for range 2400 { // polls the fleet's metrics; the bound only stops a hung test
		if m := p.metrics(); ok(m) {
			return m
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.t.Fatalf("waited 60s for %s; stderr:\n%s", what, p.stderr.String())
	return nil
}

// openIdle opens one stream that stays open (ttft 1h) and returns once its
// first event arrived; a reset, a refusal or a non-200 fails the test.
func (p *procsMock) openIdle() net.Conn {
	p.t.Helper()
	c, err := net.DialTimeout("tcp", p.addr, 20*time.Second)
	if err != nil {
		p.t.Fatalf("dial: %v", err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "GET /v1/stream?ttft=1h HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", p.addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.Close()
		p.t.Fatalf("stream: %v %v", resp, err)
	}
	var got []byte
	buf := make([]byte, 512)
	for !bytes.Contains(got, []byte("\n\n")) {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			c.Close()
			p.t.Fatalf("stream, %d bytes in: %v (%q)", len(got), err, got)
		}
	}
	if !bytes.Contains(got, []byte("event: info\nid: 0\n")) {
		c.Close()
		p.t.Fatalf("stream: %q", got)
	}
	_ = c.SetDeadline(time.Time{})
	p.t.Cleanup(func() { c.Close() })
	return c
}

// finiteEvents reads one whole /v1/stream and returns its event count.
func (p *procsMock) finiteEvents() int {
	p.t.Helper()
	resp, err := http.Get(p.url + "/v1/stream?seed=3")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		p.t.Fatalf("stream: %v %v %q", resp.Status, err, body)
	}
	return strings.Count(string(body), "\n\n")
}

// workerPIDs finds this process's children that are mock workers: slot ->
// pid.
func workerPIDs(t *testing.T) map[int]int {
	t.Helper()
	out := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	me := strconv.Itoa(os.Getpid())
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[1] != me {
			continue
		}
		environ, err := os.ReadFile(d + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(environ), "\x00") {
			if v, ok := strings.CutPrefix(kv, fleet.WorkerEnv+"="); ok {
				if slot, ok := fleet.Worker(func(string) string { return v }); ok {
					pid, _ := strconv.Atoi(filepath.Base(d))
					out[slot] = pid
				}
			}
		}
	}
	return out
}

func key(name, worker string) string { return name + `{worker="` + worker + `"}` }

// TestMockProcsSpreadsAndSums: three workers share the port, the kernel
// spreads 300 streams over them, and /metrics sums every worker's counts
// exactly.
func TestMockProcsSpreadsAndSums(t *testing.T) {
	p := startProcsMock(t, "--procs", "3", "--ttft", "0", "--itl", "0", "--tokens", "3")
	if !strings.Contains(p.stderr.String(), "(3 workers;") {
		t.Errorf("the listening line does not say 3 workers: %s", p.stderr.String())
	}
	if pids := workerPIDs(t); len(pids) != 3 {
		t.Fatalf("worker processes %v, want 3", pids)
	}
	const idle, finite = 300, 60
	conns := make([]net.Conn, idle)
	for i := range conns {
		conns[i] = p.openIdle()
	}
	m := p.metrics()
	if got := m[`ssebench_mock_streams_active{endpoint="stream"}`]; got != idle {
		t.Errorf("streams_active %v, want %d", got, idle)
	}
	if m["ssebench_mock_workers"] != 3 {
		t.Errorf("workers %v, want 3", m["ssebench_mock_workers"])
	}
	sum := 0.0
	for w := 0; w < 3; w++ {
		n := m[key("ssebench_mock_worker_connections", strconv.Itoa(w))]
		sum += n
		if n < idle/6 { // expected 100 each; below 50 is 6 standard deviations off
			t.Errorf("worker %d holds %v of %d connections", w, n, idle+1)
		}
		t.Logf("worker %d: %v connections, %v open files", w, n, m[key("process_open_fds", strconv.Itoa(w))])
	}
	if sum != idle+1 { // the streams and this scrape's connection
		t.Errorf("connections summed over the workers: %v, want %d", sum, idle+1)
	}
	for _, c := range conns {
		c.Close()
	}
	events := 0
	for i := 0; i < finite; i++ {
		n := p.finiteEvents()
		if n != 5 { // info, 3 add, finish
			t.Fatalf("finite stream %d: %d events, want 5", i, n)
		}
		events += n
	}
	m = p.metrics()
	if got, want := m[`ssebench_mock_events_total{endpoint="stream"}`], float64(idle+events); got != want {
		t.Errorf("events_total %v, want %v (the clients counted them)", got, want)
	}
	if got := m[`ssebench_mock_streams_total{endpoint="stream"}`]; got != idle+finite {
		t.Errorf("streams_total %v, want %d", got, idle+finite)
	}
	if got := m[`ssebench_mock_requests_total{code="200",endpoint="stream"}`]; got != idle+finite {
		t.Errorf("requests_total 200 %v, want %d", got, idle+finite)
	}
}

// TestMockProcsRoutesAroundAFullWorker: with a 64-file limit, a worker at
// its high-water mark is routed around: while the supervisor says so, no
// new stream reaches it, and no client sees a refusal or a reset.
func TestMockProcsRoutesAroundAFullWorker(t *testing.T) {
	p := startProcsMock(t, "--procs", "2", "--fd-limit", "64")
	full := ""
	var m map[string]float64
	for i := 0; i < 64 && full == ""; i++ {
		p.openIdle()
		m = p.metrics()
		for _, w := range []string{"0", "1"} {
			if m[key("ssebench_mock_worker_receiving", w)] == 0 {
				full = w
			}
		}
	}
	if full == "" {
		t.Fatalf("no worker reached its high-water mark; metrics %v", m)
	}
	other := map[string]string{"0": "1", "1": "0"}[full]
	if m[key("ssebench_mock_worker_accepting", full)] != 0 || m[key("ssebench_mock_worker_pauses_total", full)] != 1 {
		t.Errorf("worker %s is routed around but reports accepting %v, pauses %v", full,
			m[key("ssebench_mock_worker_accepting", full)], m[key("ssebench_mock_worker_pauses_total", full)])
	}
	checked := 0
	for i := 0; i < 10 && m[key("ssebench_mock_worker_receiving", full)] == 0; i++ {
		before := m
		p.openIdle()
		m = p.metrics()
		if a, b := m[key("ssebench_mock_worker_connections", full)], before[key("ssebench_mock_worker_connections", full)]; a != b {
			t.Fatalf("worker %s, routed around, went from %v to %v connections", full, b, a)
		}
		if a, b := m[key("ssebench_mock_worker_connections", other)], before[key("ssebench_mock_worker_connections", other)]; a != b+1 {
			t.Fatalf("worker %s went from %v to %v connections, want one more", other, b, a)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no stream was opened while a worker was routed around")
	}
	for _, w := range []string{"0", "1"} {
		files, fds := m[key("ssebench_mock_worker_open_files", w)], m[key("process_open_fds", w)]
		if files > m[key("ssebench_mock_worker_open_files_cap", w)] || fds >= 64 {
			t.Errorf("worker %s: %v counted and %v real open files, cap %v, limit 64", w, files, fds, m[key("ssebench_mock_worker_open_files_cap", w)])
		}
	}
	if strings.Contains(p.stderr.String(), "too many open files") {
		t.Errorf("a worker met EMFILE:\n%s", p.stderr.String())
	}
	t.Logf("worker %s full; %d streams checked on worker %s", full, checked, other)
}

// TestMockProcsAutoGrows: auto with a 64-file limit per worker starts new
// workers as they fill; every stream opens, and no worker passes its cap.
func TestMockProcsAutoGrows(t *testing.T) {
	p := startProcsMock(t, "--procs", "auto", "--fd-limit", "64")
	if !strings.Contains(p.stderr.String(), "(auto: 1 worker now") {
		t.Errorf("the listening line: %s", p.stderr.String())
	}
	const streams = 75 // a worker holds about 27 of them, at most 35 (Cap 48 less its own files): 2 cannot hold 75
	for i := 0; i < streams; i++ {
		p.openIdle()
	}
	// The last worker started may still be starting: wait until it serves.
	grown := strings.Count(p.stderr.String(), "auto: starting worker")
	m := p.waitMetrics(fmt.Sprintf("%d workers serving", grown+1), func(m map[string]float64) bool {
		return m["ssebench_mock_workers"] == float64(grown+1)
	})
	workers := grown + 1
	if workers < 3 {
		t.Fatalf("%d workers for %d streams at 64 files each; stderr:\n%s", workers, streams, p.stderr.String())
	}
	if got := m[`ssebench_mock_streams_active{endpoint="stream"}`]; got != streams {
		t.Errorf("streams_active %v, want %d", got, streams)
	}
	pauses := 0.0
	for w := 0; w < workers; w++ {
		name := strconv.Itoa(w)
		pauses += m[key("ssebench_mock_worker_pauses_total", name)]
		if files := m[key("ssebench_mock_worker_open_files", name)]; files > m[key("ssebench_mock_worker_open_files_cap", name)] || m[key("process_open_fds", name)] >= 64 {
			t.Errorf("worker %d: %v open files, cap %v", w, files, m[key("ssebench_mock_worker_open_files_cap", name)])
		}
	}
	t.Logf("%d workers, %v pauses", workers, pauses)
	if strings.Contains(p.stderr.String(), "too many open files") {
		t.Errorf("a worker met EMFILE:\n%s", p.stderr.String())
	}
}

// TestMockProcsRestartsADeadWorker: a worker killed by SIGKILL is restarted
// on its socket, its counts stay in the sums, and the restart is reported.
func TestMockProcsRestartsADeadWorker(t *testing.T) {
	p := startProcsMock(t, "--procs", "2", "--ttft", "0", "--itl", "0", "--tokens", "3")
	for i := 0; i < 20; i++ {
		p.finiteEvents()
	}
	if got := p.metrics()[`ssebench_mock_events_total{endpoint="stream"}`]; got != 100 {
		t.Fatalf("events_total %v, want 100", got)
	}
	pid := workerPIDs(t)[1]
	if pid == 0 {
		t.Fatal("no worker 1")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m := p.waitMetrics("worker 1's restart", func(m map[string]float64) bool {
		return m[key("ssebench_mock_worker_restarts_total", "1")] == 1 && m["ssebench_mock_workers"] == 2
	})
	if got := m[`ssebench_mock_events_total{endpoint="stream"}`]; got != 100 {
		t.Errorf("events_total after the restart %v, want 100", got)
	}
	if want := fmt.Sprintf("worker 1 (pid %d) exited (signal: killed); restarting it on its socket", pid); !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, p.stderr.String())
	}
	if np := workerPIDs(t)[1]; np == pid || np == 0 {
		t.Errorf("worker 1 is pid %d after its restart (was %d)", np, pid)
	}
	for i := 0; i < 20; i++ {
		p.finiteEvents()
	}
	if got := p.metrics()[`ssebench_mock_events_total{endpoint="stream"}`]; got != 200 {
		t.Errorf("events_total %v, want 200", got)
	}
}

// TestMockProcsGivesUpOnAWorkerThatKeepsDying: the sixth death of one
// worker stops the fleet with exit 3, naming the worker.
func TestMockProcsGivesUpOnAWorkerThatKeepsDying(t *testing.T) {
	p := startProcsMock(t, "--procs", "2")
	for k := 1; k <= fleet.MaxRestarts+1; k++ {
		pid := workerPIDs(t)[0]
		if pid == 0 {
			t.Fatalf("death %d: no worker 0", k)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if k <= fleet.MaxRestarts {
			p.waitMetrics(fmt.Sprintf("restart %d", k), func(m map[string]float64) bool {
				return m[key("ssebench_mock_worker_restarts_total", "0")] == float64(k) && m["ssebench_mock_workers"] == 2
			})
		}
	}
	select {
	case c := <-p.code:
		if c != exitCannotRun {
			t.Errorf("exit %d, want %d", c, exitCannotRun)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the fleet did not stop")
	}
	p.cancel = nil
	if want := "worker 0 (pid "; !strings.Contains(p.stderr.String(), want) || !strings.Contains(p.stderr.String(), "after 5 restarts") {
		t.Errorf("stderr does not name the worker and its restarts:\n%s", p.stderr.String())
	}
	if pids := workerPIDs(t); len(pids) != 0 {
		t.Errorf("workers left running: %v", pids)
	}
}

func TestMockProcsUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--procs", "0"}, "procs"},
		{[]string{"--procs", "65"}, "1..64"},
		{[]string{"--procs", "many"}, "auto"},
		{[]string{"--procs", "2", "--reuseport"}, "exclude each other"},
		{[]string{"--procs", "2", "--fd-limit", "10"}, "at least 64"},
		{[]string{"--procs", "2", "--fd-limit", "999999999"}, "hard open-file limit"},
		{[]string{"--fd-limit", "100"}, "--fd-limit applies to the workers of --procs"},
		{[]string{"--procs", "2", "--tokens", "-1"}, "tokens"},
	} {
		e, _, errb := mockTestEnv(nil)
		if got := run(context.Background(), e, append([]string{"mock"}, tc.args...)); got != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("mock %v: exit %d, stderr %q; want exit %d and %q", tc.args, got, errb.String(), exitUsage, tc.want)
		}
	}
}
