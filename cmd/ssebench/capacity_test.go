package main

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports"
)

// slotServer is an SSE endpoint with a known capacity: slots streams
// generate at once, the others wait in a FIFO queue. A stream sends its
// first event ttft after it gets a slot, then tokens-1 more, itl apart, and
// ends. Closed-model capacity: slots concurrent streams.
type slotServer struct {
	slots       int
	ttft, itl   time.Duration
	tokens      int
	mu          sync.Mutex
	busy        int
	queue       list.List // of chan struct{}
	unavailable bool
}

func (s *slotServer) acquire(ctx context.Context) bool {
	s.mu.Lock()
	if s.busy < s.slots {
		s.busy++
		s.mu.Unlock()
		return true
	}
	ch := make(chan struct{})
	e := s.queue.PushBack(ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-ch: // granted meanwhile: pass it on
			s.releaseLocked()
		default:
			s.queue.Remove(e)
		}
		return false
	}
}

func (s *slotServer) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *slotServer) releaseLocked() {
	if f := s.queue.Front(); f != nil {
		close(s.queue.Remove(f).(chan struct{}))
		return
	}
	s.busy--
}

func (s *slotServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.unavailable {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	if !s.acquire(r.Context()) {
		return
	}
	defer s.release()
	t := time.NewTimer(s.ttft)
	defer t.Stop()
	for i := range s.tokens {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		fmt.Fprintf(w, "data: token %d\n\n", i)
		fl.Flush()
		t.Reset(s.itl)
	}
}

func startSlotServer(t *testing.T, s *slotServer) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL + "/stream"
}

// TestCapacityFindsSlots searches a server of 8 slots whose streams hold
// a slot for 500 ms (ttft 300 ms, then 2 tokens 100 ms apart). Beyond 8
// connections streams wait for a slot, (C-8)/8 x 500 ms on average and a
// whole 500 ms for the unlucky ones, so 'ttft.p90 < 340ms' holds up to 8
// and fails from 9. This is a functional check with a wide band (7..9),
// not a timing check.
func TestCapacityFindsSlots(t *testing.T) {
	if testing.Short() {
		t.Skip("a search of several steps (about a minute)")
	}
	url := startSlotServer(t, &slotServer{slots: 8, ttft: 300 * time.Millisecond, itl: 100 * time.Millisecond, tokens: 3})
	dir := t.TempDir()
	out, html, junit := filepath.Join(dir, "c.json"), filepath.Join(dir, "c.html"), filepath.Join(dir, "c.xml")
	r := runCLI(t, context.Background(), nil, "capacity", "--target", url, "--slo", "ttft.p90 < 340ms",
		"--min", "4", "--max", "32", "--step-duration", "6s", "--warm-up", "1s", "--max-step-duration", "15s",
		"--out", out, "--html", html, "--junit", junit)
	t.Logf("the search:\n%s", r.stdout)
	if r.code == exitCannotRun && strings.HasPrefix(r.stdout, "capacity: generator-limited: ") {
		// The search refused to answer because this process (shared with
		// the server and, on a loaded machine, with everything else) was
		// degraded: the right verdict, but no test of the band.
		t.Skipf("generator-limited on this machine: %s", strings.SplitN(r.stdout, "\n", 2)[0])
	}
	r.wantCode(t, 0)
	f := runReadResult(t, out)
	c := f.Capacity
	if c == nil || c.MaxPassing == nil {
		t.Fatalf("no answer:\n%s", r.stdout)
	}
	if v := c.MaxPassing.Value; v < 7 || v > 9 {
		t.Errorf("max_passing %v, want 7..9 (8 slots)\n%s", v, r.stdout)
	}
	if c.FirstFailing == nil || c.FirstFailing.Value <= c.MaxPassing.Value {
		t.Errorf("first_failing %v", c.FirstFailing)
	}
	if !strings.HasPrefix(r.stdout, "capacity: sustains ") || !strings.Contains(r.stdout, "concurrent streams within ttft.p90 < 340ms; fails at") {
		t.Errorf("summary does not lead with the answer:\n%s", r.stdout)
	}
	for _, st := range c.Steps {
		if st.Result == nil || st.Result.Metrics["ttft"] == nil || st.Result.Metrics["ttft"].HDR == "" {
			t.Fatalf("step %d has no full result", st.N)
		}
		if st.WarmUpS != 1 || st.Goodput.Judged == 0 {
			t.Errorf("step %d: warm-up %v, goodput %+v", st.N, st.WarmUpS, st.Goodput)
		}
	}
	for _, p := range []string{html, junit} {
		if b, err := os.ReadFile(p); err != nil || len(b) == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	// The result renders again, and each step's result on its own.
	rr := runCLI(t, context.Background(), nil, "report", out)
	rr.wantCode(t, 0)
	if !strings.HasPrefix(rr.stdout, "capacity: sustains ") {
		t.Errorf("report of a capacity result:\n%s", rr.stdout)
	}
	rs := runCLI(t, context.Background(), nil, "report", "--step", "1", out)
	rs.wantCode(t, 0)
	if strings.HasPrefix(rs.stdout, "capacity:") || !strings.Contains(rs.stdout, "ttft") {
		t.Errorf("report --step 1:\n%s", rs.stdout)
	}
	bad := runCLI(t, context.Background(), nil, "report", "--step", "99", out)
	bad.wantCode(t, exitUsage)
	if !strings.Contains(bad.stderr, "no step 99") {
		t.Errorf("report --step 99: %s", bad.stderr)
	}
}

// TestCapacityFindsRate searches the arrival rate of a server of 8 slots
// whose streams hold a slot for 250 ms (ttft 150 ms, then 2 tokens 50 ms
// apart): its capacity is 8 / 0.25 s = 32/s. Above it the queue grows
// without bound, so 'ttft_sched.p90 < 300ms' fails (or the backlog grows);
// below it the ttft is 150 ms. The band is 12 % either side.
func TestCapacityFindsRate(t *testing.T) {
	if testing.Short() {
		t.Skip("a search of several steps (about a minute)")
	}
	url := startSlotServer(t, &slotServer{slots: 8, ttft: 150 * time.Millisecond, itl: 50 * time.Millisecond, tokens: 3})
	out := filepath.Join(t.TempDir(), "c.json")
	r := runCLI(t, context.Background(), nil, "capacity", "--target", url, "--by", "rate", "--slo", "ttft_sched.p90 < 300ms",
		"--min", "8/s", "--max", "128/s", "--step-duration", "5s", "--warm-up", "1s", "--max-step-duration", "15s", "--out", out)
	t.Logf("the search:\n%s", r.stdout)
	if r.code == exitCannotRun && strings.HasPrefix(r.stdout, "capacity: generator-limited: ") {
		t.Skipf("generator-limited on this machine: %s", strings.SplitN(r.stdout, "\n", 2)[0])
	}
	r.wantCode(t, 0)
	c := runReadResult(t, out).Capacity
	if c.MaxPassing == nil || !c.MaxPassing.Rate {
		t.Fatalf("max_passing %v, want a rate", c.MaxPassing)
	}
	if v := c.MaxPassing.Value; v < 32*0.88 || v > 32*1.12 {
		t.Errorf("max_passing %v/s, want 32/s within 12 %%", v)
	}
	for _, st := range c.Steps {
		if st.Backlog == nil {
			t.Errorf("step %d: no backlog check in the open model", st.N)
		}
	}
}

// TestCapacityEveryStepFails: a target that answers every stream with 503
// never passes, whatever the latency: exit 1, saying so.
func TestCapacityEveryStepFails(t *testing.T) {
	url := startSlotServer(t, &slotServer{slots: 8, ttft: time.Millisecond, itl: time.Millisecond, tokens: 1, unavailable: true})
	out := filepath.Join(t.TempDir(), "c.json")
	r := runCLI(t, context.Background(), nil, "capacity", "--target", url, "--slo", "ttft.p99 < 1s",
		"--min", "2", "--step-duration", "1s", "--warm-up", "0s", "--out", out, "--quiet")
	r.wantCode(t, exitGateFailed)
	if !strings.Contains(r.stdout, "capacity: fails even at 2 concurrent streams (--min)") || !strings.Contains(r.stdout, "no stream succeeded") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "fails even at 2") {
		t.Errorf("stderr: %s", r.stderr)
	}
	c := runReadResult(t, out).Capacity
	if c.Verdict != "min_fails" || c.MaxPassing != nil || len(c.Steps) != 1 || c.Steps[0].Pass {
		t.Errorf("capacity %+v", c)
	}
	rr := runCLI(t, context.Background(), nil, "report", "--format", "junit", out)
	rr.wantCode(t, exitGateFailed)
	if !strings.Contains(rr.stdout, `<failure message="fails even at 2`) {
		t.Errorf("junit:\n%s", rr.stdout)
	}
}

func TestCapacityUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"no target", nil, []string{"--slo", "ttft.p99 < 1s"}, "no target"},
		{"no slo", nil, []string{"--target", "http://127.0.0.1:1/"}, "no SLO"},
		{"bad slo", nil, []string{"--target", "http://127.0.0.1:1/", "--slo", "ttft.p99 < fast"}, "flag -slo: bad threshold"},
		{"bad by", nil, []string{"--target", "http://127.0.0.1:1/", "--slo", "ttft.p99 < 1s", "--by", "users"}, "want connections or rate"},
		{"rate min by connections", nil, []string{"--target", "http://127.0.0.1:1/", "--slo", "ttft.p99 < 1s", "--min", "5/s"}, "--by connections"},
		{"min above max", nil, []string{"--target", "http://127.0.0.1:1/", "--slo", "ttft.p99 < 1s", "--min", "50", "--max", "10"}, "min 50 is above max 10"},
		{"bad env", map[string]string{"SSEBENCH_RESOLUTION": "200%"}, []string{"--target", "http://127.0.0.1:1/", "--slo", "ttft.p99 < 1s"}, "SSEBENCH_RESOLUTION"},
		{"unknown env", map[string]string{"SSEBENCH_SLOO": "x"}, []string{"--target", "http://127.0.0.1:1/", "--slo", "ttft.p99 < 1s"}, "SSEBENCH_SLO"},
		{"bad block", nil, []string{runWriteScenario(t, dir, "b.yaml", "url: http://127.0.0.1:1/\ncapacity:\n  by: users\n  slo: ttft.p99 < 1s\n")}, "b.yaml:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, context.Background(), tc.vars, append([]string{"capacity"}, tc.args...)...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q, want %q", r.stderr, tc.want)
			}
		})
	}
	// Unreachable: exit 3 before any step.
	r := runCLI(t, context.Background(), nil, "capacity", "--target", "http://127.0.0.1:1/", "--slo", "ttft.p99 < 1s")
	r.wantCode(t, exitCannotRun)
	h := runCLI(t, context.Background(), nil, "capacity", "--help")
	h.wantCode(t, exitOK)
	for _, want := range []string{"-slo", "-by", "-step-duration", "-warm-up", "-max-step-duration", "-resolution", "Exit codes: 0 a passing load was found"} {
		if !strings.Contains(h.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestCapacityScenarioBlock: the capacity: block sets the search, flags
// and SSEBENCH_* override it.
func TestCapacityScenarioBlock(t *testing.T) {
	url := startSlotServer(t, &slotServer{slots: 100, ttft: 5 * time.Millisecond, itl: 5 * time.Millisecond, tokens: 2})
	dir := t.TempDir()
	sc := runWriteScenario(t, dir, "s.yaml", fmt.Sprintf("url: %s\ncapacity:\n  by: connections\n  slo: [\"ttft.p50 < 2s\"]\n  min: 2\n  max: 3\n  step_duration: 1s\n  warm_up: 0s\n  resolution: 10%%\n", url))
	out := filepath.Join(dir, "c.json")
	r := runCLI(t, context.Background(), map[string]string{"SSEBENCH_MAX": "4"}, "capacity", sc, "--out", out, "--quiet")
	c := runReadResult(t, out).Capacity
	// The settings reach the search whatever it finds.
	if c.Min.Value != 2 || c.Max.Value != 4 || c.Resolution != 0.1 || len(c.SLOs) != 1 || c.SLOs[0].Expr != "ttft.p50 < 2s" ||
		c.Steps[0].Load.Value != 2 || c.Steps[0].WarmUpS != 0 {
		t.Errorf("capacity: min %v max %v resolution %v slos %+v first step %+v", c.Min, c.Max, c.Resolution, c.SLOs, c.Steps[0].Load)
	}
	if r.code == exitCannotRun && c.Verdict == "generator_limited" {
		t.Skipf("generator-limited on this machine (the settings were checked): %s", c.Limit)
	}
	r.wantCode(t, 0)
	var loads []string
	for _, st := range c.Steps {
		loads = append(loads, st.Load.String())
	}
	if c.Verdict != "max_passes" || c.MaxPassing.Value != 4 || strings.Join(loads, ",") != "2,4" {
		t.Errorf("verdict %s max_passing %v loads %v, want max_passes at 4 after 2,4", c.Verdict, c.MaxPassing, loads)
	}
}

// TestCapacityExitCodes maps each verdict to its exit code: a
// generator-limited search exits 3 with the limit and the fix, even when a
// lower load passed before.
func TestCapacityExitCodes(t *testing.T) {
	for verdict, want := range map[string]int{"found": exitOK, "max_passes": exitOK, "min_fails": exitGateFailed, "generator_limited": exitCannotRun} {
		c := &reports.Capacity{Verdict: verdict, Answer: "the answer", Limit: "timer lateness p99 40 ms", Fix: "shard the run"}
		err := capacityExit(c)
		got := exitCode(io.Discard, io.Discard, "capacity", err)
		if got != want {
			t.Errorf("%s: exit %d, want %d", verdict, got, want)
		}
		if verdict == "generator_limited" && (!strings.Contains(err.Error(), "timer lateness p99 40 ms") || !strings.Contains(err.Error(), "shard the run")) {
			t.Errorf("generator-limited error %q names neither the limit nor the fix", err)
		}
	}
}
