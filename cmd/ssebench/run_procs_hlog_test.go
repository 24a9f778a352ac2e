package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/reports"
)

// readProcsHLog decodes an interval log with hdrhistogram-go's own reader
// and returns the values per tag and the number of interval lines. A log
// still being written may end inside a line; complete is false then (or
// when the reader fails), and the caller reads again.
func readProcsHLog(path string) (counts map[string]int64, lines int, complete bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, 0, false
	}
	r := hdrhistogram.NewHistogramLogReader(strings.NewReader(string(b)))
	counts = map[string]int64{}
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			return nil, 0, false
		}
		if h == nil {
			return counts, lines, true
		}
		lines++
		counts[h.Tag()] += h.TotalCount()
	}
}

// checkHLogTotals compares the log's values per metric with the merged
// result's histogram counts.
func checkHLogTotals(t *testing.T, path string, f *reports.File) {
	t.Helper()
	counts, lines, ok := readProcsHLog(path)
	if !ok || lines == 0 {
		t.Fatalf("the log %s does not decode, or holds no interval", path)
	}
	for name, m := range f.Metrics {
		if counts[name] != m.Count {
			t.Errorf("%s: the log holds %d values, the merged result %d", name, counts[name], m.Count)
		}
	}
	for tag := range counts {
		if f.Metrics[tag] == nil {
			t.Errorf("the log has metric %s, the merged result has not", tag)
		}
	}
	if f.Metrics["ttft"] == nil || f.Metrics["ttft"].Count == 0 {
		t.Errorf("the run measured no ttft: %v", counts)
	}
}

// TestRunProcsHLog: run --procs 2 --hlog writes the interval log of the
// merged run: decoded with hdrhistogram-go's own reader, its values per
// metric are exactly the merged JSON result's histogram counts.
func TestRunProcsHLog(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	hlog, out := filepath.Join(dir, "run.hlog"), filepath.Join(dir, "merged.json")
	r := runCLI(t, t.Context(), nil, "run", "--target", m.URL+"/v1/stream?ttft=10ms&itl=20ms&tokens=10", "--events", "eventsource",
		"--connections", "6", "--duration", "2s", "--procs", "2", "--hlog", hlog, "--out", out, "--quiet")
	r.wantCode(t, exitOK)
	f := runReadResult(t, out)
	checkHLogTotals(t, hlog, f)
	b, _ := os.ReadFile(hlog)
	if !strings.Contains(string(b), "#[BaseTime: ") || strings.Count(string(b), "#[Histogram log format version 1.3]") != 1 {
		t.Errorf("one header, a single run's:\n%s", b)
	}
}

// TestRunProcsHLogLive: the log of a --procs run holds intervals while
// the run is still going (a run of 10 minutes, read before it is
// stopped), so a soak can be watched; after Ctrl-C it holds exactly the
// merged partial result's values.
func TestRunProcsHLogLive(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	hlog, out := filepath.Join(dir, "run.hlog"), filepath.Join(dir, "merged.json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		done <- runCLI(t, ctx, nil, "run", "--target", m.URL+"/v1/stream?ttft=10ms&itl=20ms&tokens=10", "--events", "eventsource",
			"--connections", "4", "--duration", "10m", "--procs", "2", "--hlog", hlog, "--out", out, "--quiet")
	}()
	seen := false
	for range 2400 { // polls the file another process writes; the bound only stops a hung test
		select {
		case r := <-done:
			t.Fatalf("the run ended before it was stopped: exit %d\n%s", r.code, r.stderr)
		default:
		}
		if counts, lines, ok := readProcsHLog(hlog); ok && lines > 0 && counts["ttft"] > 0 {
			seen = true
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if !seen {
		t.Fatal("the log held no ttft interval within 60 s of a running run")
	}
	cancel()
	r := <-done
	r.wantCode(t, exitInterrupted)
	checkHLogTotals(t, hlog, runReadResult(t, out))
}
