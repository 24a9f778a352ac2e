package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/capacity"
)

// capacityWorkers returns the pids of the --procs workers (of run or
// capacity) whose command line holds marker (a test's own target URL),
// by shard.
func capacityWorkers(t *testing.T, marker string) map[string]int {
	t.Helper()
	out := map[string]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(marker)) {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(runWorkerEnv+"=")); ok {
				if m := regexp.MustCompile(`"shard":"([0-9/]+)"`).FindSubmatch(v); m != nil {
					out[string(m[1])] = pid
				}
			}
		}
	}
	return out
}

// waitCapacityWorkers waits (bounded) until n workers whose command line
// holds marker run, and returns their pids.
func waitCapacityWorkers(t *testing.T, marker string, n int) map[string]int {
	t.Helper()
	for range 2400 { // polls other processes; the bound only stops a hung test
		if w := capacityWorkers(t, marker); len(w) == n {
			return w
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%d workers of %s did not appear within 60s", n, marker)
	return nil
}

// slotMockURL starts the mock with slots slots and returns the URL of a
// stream that holds a slot for 200 ms (ttft 50 ms, then 3 tokens 50 ms
// apart): beyond slots concurrent streams, one stream in slots+1 waits
// a whole 200 ms for its slot (a closed model's streams keep in step),
// so the ttft p90 jumps from about 50 ms to about 250 ms at slots+1.
func slotMockURL(t *testing.T, slots int) string {
	t.Helper()
	m := runStartMock(t, func(c *mockserver.Config) { c.Slots = slots })
	return m.URL + "/v1/stream?ttft=50ms&itl=50ms&tokens=4"
}

// capacitySearchArgs is a small search around 4 slots: 4 passes, 5
// fails, and the re-check at 4 (three steps, about 18 s). The SLO's
// bound lies 100 ms from both sides of the jump.
func capacitySearchArgs(url, out string) []string {
	return []string{"capacity", "--target", url, "--events", "eventsource", "--slo", "ttft.p90 < 150ms",
		"--min", "4", "--max", "5", "--step-duration", "4s", "--warm-up", "500ms", "--max-step-duration", "12s",
		"--out", out, "--quiet"}
}

// TestCapacityProcsSameKnee: a search whose every step runs as two
// worker processes (SSEBENCH_PROCS=2, the variable of --procs) finds the
// same knee as the same search with --procs 1, against the mock's 4
// slots: it sustains 4 and fails at 5. Each step's result is the merge
// of the workers' shards 1/2 and 2/2.
func TestCapacityProcsSameKnee(t *testing.T) {
	skipUnlessLinux(t)
	if testing.Short() {
		t.Skip("two searches of three steps (about 30 s)")
	}
	dir := t.TempDir()
	knee := func(name string, vars map[string]string, extra ...string) *reports.File {
		url := slotMockURL(t, 4)
		out := filepath.Join(dir, name+".json")
		r := runCLI(t, context.Background(), vars, append(capacitySearchArgs(url, out), extra...)...)
		t.Logf("%s:\n%s", name, r.stdout)
		if r.code == exitCannotRun && strings.HasPrefix(r.stdout, "capacity: generator-limited: ") {
			// The right verdict on a machine too loaded to judge, but no
			// test of the knee.
			t.Skipf("%s: generator-limited on this machine: %s", name, strings.SplitN(r.stdout, "\n", 2)[0])
		}
		r.wantCode(t, exitOK)
		return runReadResult(t, out)
	}
	one := knee("procs1", nil, "--procs", "1")
	two := knee("procs2", map[string]string{"SSEBENCH_PROCS": "2"})
	for name, f := range map[string]*reports.File{"--procs 1": one, "--procs 2": two} {
		c := f.Capacity
		if c.MaxPassing == nil || c.MaxPassing.Value != 4 || c.FirstFailing == nil || c.FirstFailing.Value != 5 {
			t.Errorf("%s: max_passing %v, first_failing %v, want 4 and 5 (4 slots)", name, c.MaxPassing, c.FirstFailing)
		}
	}
	for _, st := range two.Capacity.Steps {
		r := st.Result
		if r == nil || r.Shard != "merged:1/2,2/2" || len(r.Shards) != 2 {
			t.Fatalf("step %d: its result is not the merge of two workers' shards: %+v", st.N, r)
		}
		var streams int64
		for _, s := range r.Shards {
			streams += s.Streams
			if s.Streams == 0 {
				t.Errorf("step %d: shard %s ran no stream", st.N, s.Shard)
			}
		}
		if streams != r.Counters.StreamsStarted || r.Goodput == nil || r.Goodput.Judged == 0 {
			t.Errorf("step %d: shards' streams %d, merged %d, goodput %+v", st.N, streams, r.Counters.StreamsStarted, r.Goodput)
		}
	}
	for _, st := range one.Capacity.Steps {
		if st.Result == nil || st.Result.Shard != "1/1" {
			t.Errorf("--procs 1, step %d: shard %v, want one worker's 1/1", st.N, st.Result)
		}
	}
}

// TestCapacityProcsWorkerKilled: a worker killed in the middle of a step
// fails the search with exit 3, naming the worker (its shard and pid);
// the other worker is stopped, and the result holds the steps before.
func TestCapacityProcsWorkerKilled(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	url := slotMockURL(t, 0)
	out := filepath.Join(t.TempDir(), "c.json")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		done <- runCLI(t, ctx, nil, "capacity", "--target", url, "--events", "eventsource", "--slo", "ttft.p99 < 1s",
			"--min", "4", "--max", "4", "--step-duration", "10m", "--max-step-duration", "10m", "--warm-up", "0s",
			"--procs", "2", "--out", out)
	}()
	pids := waitCapacityWorkers(t, url, 2)
	victim := pids["2/2"]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	t.Logf("stderr:\n%s", r.stderr)
	r.wantCode(t, exitCannotRun)
	if want := fmt.Sprintf("worker shard 2/2 (pid %d)", victim); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "signal: killed") {
		t.Errorf("stderr does not name the dead worker (%q, killed):\n%s", want, r.stderr)
	}
	if c := runReadResult(t, out).Capacity; c == nil || len(c.Steps) != 0 {
		t.Errorf("the result holds %+v, want the search with no step finished", c)
	}
	if w := capacityWorkers(t, url); len(w) != 0 {
		t.Errorf("workers still run after the parent returned: %v", w)
	}
}

// TestCapacityProcsInterrupted: Ctrl-C (the context) in the middle of a
// --procs step stops the workers and writes the search so far (exit 130),
// as a search in one process does.
func TestCapacityProcsInterrupted(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	url := slotMockURL(t, 0)
	out := filepath.Join(t.TempDir(), "c.json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		done <- runCLI(t, ctx, nil, "capacity", "--target", url, "--events", "eventsource", "--slo", "ttft.p99 < 1s",
			"--min", "2", "--max", "2", "--step-duration", "10m", "--max-step-duration", "10m", "--warm-up", "0s",
			"--procs", "2", "--out", out, "--quiet")
	}()
	waitCapacityWorkers(t, url, 2)
	cancel()
	r := <-done
	r.wantCode(t, exitInterrupted)
	if c := runReadResult(t, out).Capacity; c == nil || len(c.Steps) != 0 {
		t.Errorf("the result holds %+v, want the search with no step finished", c)
	}
	if w := capacityWorkers(t, url); len(w) != 0 {
		t.Errorf("workers still run after the parent returned: %v", w)
	}
}

// TestCapacityProcsAuto: auto judges the largest step the search may run
// (--max for --step-duration), by run --procs' rule.
func TestCapacityProcsAuto(t *testing.T) {
	base, err := scenarios.ForTarget("http://127.0.0.1:1/s")
	if err != nil {
		t.Fatal(err)
	}
	search := capacity.Config{By: capacity.Connections, Min: 8, Max: 30000, StepDuration: 10 * time.Second, WarmUp: 3 * time.Second}
	cfg := &capacityConfig{}
	if err := cfg.procs.Set("auto"); err != nil {
		t.Fatal(err)
	}
	_, rule, err := capacityProcs(&env{getenv: func(string) string { return "" }}, cfg, base, search)
	largest := capacity.StepPlan(base, 30000, false, 13*time.Second)
	want, wantRule, wantErr := procsAuto(largest, false, fdHardLimit(), runtime.NumCPU())
	switch {
	case wantErr != nil:
		if err == nil || !strings.Contains(err.Error(), wantErr.Error()) {
			t.Errorf("capacity auto: %v, run's auto on the largest step: %v", err, wantErr)
		}
	case err != nil || !strings.HasPrefix(rule, wantRule) || !strings.Contains(rule, "judged on the largest step (30000 concurrent streams)"):
		t.Errorf("capacity auto: %q (%v), want run's rule for %d workers %q on the largest step", rule, err, want, wantRule)
	}
	cfg.procs = procsFlag{}
	if err := cfg.procs.Set("3"); err != nil {
		t.Fatal(err)
	}
	if _, rule, err := capacityProcs(&env{getenv: func(string) string { return "" }}, cfg, base, search); err != nil || rule != "3 workers" {
		t.Errorf("--procs 3: %q, %v", rule, err)
	}
}
