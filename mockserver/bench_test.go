package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The measurements behind the capacity figures. None of them is a
// timed unit test: BenchmarkStreamEvents runs under `go test -bench`, and
// the two TestBench* run only with SSEBENCH_BENCH=1 (see
// testdata/bench-mock.sh). Each starts the server as a child process (this
// test binary re-executed with SSEBENCH_MOCK_CHILD=1), on loopback only,
// bounded in time, and kills it by its PID when done.

func TestMain(m *testing.M) {
	if os.Getenv("SSEBENCH_MOCK_CHILD") == "1" {
		os.Exit(childServer())
	}
	os.Exit(m.Run())
}

// childServer serves the mock on 127.0.0.1:0, prints its URL on stdout and
// runs until SIGTERM/SIGINT or until stdin closes (the parent died).
func childServer() int {
	cfg := DefaultConfig()
	cfg.Heartbeat = 15 * time.Second
	r, err := Start(cfg, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(r.URL)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	<-ctx.Done()
	_ = r.Stop()
	return 0
}

// startChild starts the child server, optionally pinned to one CPU with
// GOMAXPROCS=1, and returns its URL, PID and a stop function.
func startChild(t *testing.T, oneCore bool) (string, int, func()) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{exe, "-test.run=^$"}
	if oneCore {
		if ts, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{ts, "-c", "0"}, args...)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "SSEBENCH_MOCK_CHILD=1")
	if oneCore {
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		stdin.Close()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		t.Fatalf("child server: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid, stop
}

func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func benchEnabled(t *testing.T) {
	if os.Getenv("SSEBENCH_BENCH") != "1" {
		t.Skip("set SSEBENCH_BENCH=1 to run this measurement (see testdata/bench-mock.sh)")
	}
}

// TestBenchIdleStreams opens SSEBENCH_STREAMS (default 15,000) idle streams
// (TTFT 1h: headers and the info event, then heartbeats every 15s) to a
// child mock process and reports its resident memory per stream.
func TestBenchIdleStreams(t *testing.T) {
	benchEnabled(t)
	n := 15000
	if v, err := strconv.Atoi(os.Getenv("SSEBENCH_STREAMS")); err == nil && v > 0 {
		n = v
	}
	url, pid, stop := startChild(t, false)
	defer stop()
	addr := strings.TrimPrefix(url, "http://")
	time.Sleep(500 * time.Millisecond)
	before := rssKiB(t, pid)

	req := []byte("GET /v1/stream?ttft=1h&tokens=64 HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\n\r\n")
	conns := make([]net.Conn, n)
	var opened, failed atomic.Int64
	sem := make(chan struct{}, 128)
	var wg sync.WaitGroup
	deadline := time.Now().Add(120 * time.Second)
	start := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			for try := 0; try < 5 && time.Now().Before(deadline); try++ {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write(req); err != nil {
					c.Close()
					continue
				}
				var buf [2048]byte
				got := 0
				for got < len(buf) && !bytes.Contains(buf[:got], []byte("last_id")) {
					m, err := c.Read(buf[got:])
					got += m
					if err != nil {
						break
					}
				}
				if !bytes.Contains(buf[:got], []byte("last_id")) {
					c.Close()
					continue
				}
				_ = c.SetDeadline(time.Time{})
				conns[i] = c
				opened.Add(1)
				return
			}
			failed.Add(1)
		}(i)
	}
	wg.Wait()
	openTime := time.Since(start)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	time.Sleep(3 * time.Second)
	after := rssKiB(t, pid)
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	active := metricLine(string(metrics), `ssebench_mock_streams_active{endpoint="stream"}`)
	heap := metricLine(string(metrics), "go_memstats_heap_inuse_bytes")
	goroutines := metricLine(string(metrics), "go_goroutines")
	perStream := float64(after-before) / float64(opened.Load())
	t.Logf("idle streams: %d open (%d failed) in %v; server active=%s goroutines=%s heap_inuse=%s B",
		opened.Load(), failed.Load(), openTime.Round(time.Millisecond), active, goroutines, heap)
	t.Logf("server RSS %d KiB before, %d KiB after: %.1f KiB per idle stream (target <= 32)", before, after, perStream)
	if opened.Load() != int64(n) {
		t.Errorf("only %d of %d streams opened", opened.Load(), n)
	}
}

// TestBenchThroughput has simple readers (SSEBENCH_READERS connections,
// default 8) drain streams with no delays from a child mock limited to one
// core (GOMAXPROCS=1, pinned to CPU 0 with taskset when present) for
// SSEBENCH_SECONDS (default 10) and reports events per second.
func TestBenchThroughput(t *testing.T) {
	benchEnabled(t)
	readers, secs := 8, 10
	if v, err := strconv.Atoi(os.Getenv("SSEBENCH_READERS")); err == nil && v > 0 {
		readers = v
	}
	if v, err := strconv.Atoi(os.Getenv("SSEBENCH_SECONDS")); err == nil && v > 0 && v <= 120 {
		secs = v
	}
	url, _, stop := startChild(t, true)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var events, bytesRead atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: readers, DisableCompression: true}}
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/stream?ttft=0&itl=0&tokens=100000&heartbeat=0", nil)
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				prevLF := false
				for {
					m, err := resp.Body.Read(buf)
					var ev int64
					for _, c := range buf[:m] { // an empty line ends an event
						if c == '\n' {
							if prevLF {
								ev++
							}
							prevLF = true
						} else {
							prevLF = false
						}
					}
					events.Add(ev)
					bytesRead.Add(int64(m))
					if err != nil {
						break
					}
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	t.Logf("throughput: %d readers, %.1fs: %.0f events/s, %.1f MB/s (server GOMAXPROCS=1, target >= 50,000 events/s); client GOMAXPROCS=%d",
		readers, el, float64(events.Load())/el, float64(bytesRead.Load())/el/1e6, runtime.GOMAXPROCS(0))
}

// discardWriter is a flushable ResponseWriter that drops everything.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) Flush()                      {}

// BenchmarkStreamEvents measures the server's own cost per event (render,
// write, flush, count), without a network: ns/op and allocs/op are per
// event. The per-stream setup is amortised over 100,000 events.
func BenchmarkStreamEvents(b *testing.B) {
	for _, tc := range []struct {
		name, path string
		chunk      int
	}{{"stream", "/v1/stream?chunk=1", 1}, {"stream-chunk4-crlf", "/v1/stream?chunk=4&fault=crlf", 4}, {"chat", "/v1/chat/completions?chunk=1", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := New(fastConfig())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for remaining := b.N; remaining > 0; {
				evs := min(remaining, MaxTokens/tc.chunk)
				url := tc.path + "&tokens=" + strconv.Itoa(evs*tc.chunk)
				var req *http.Request
				if strings.HasPrefix(tc.path, "/v1/chat") {
					req = httptest.NewRequest("POST", url, strings.NewReader(chatBody))
				} else {
					req = httptest.NewRequest("GET", url, nil)
				}
				s.ServeHTTP(&discardWriter{h: http.Header{}}, req)
				remaining -= evs
			}
		})
	}
}
