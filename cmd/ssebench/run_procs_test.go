package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssebench/ssebench/mockserver/fleet"
	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// procsWorkers returns the pids of the run --procs workers whose spec
// names dir (their results directory), by shard.
func procsWorkers(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(b, []byte{0}) {
			v, ok := bytes.CutPrefix(kv, []byte(runWorkerEnv+"="))
			if !ok || !bytes.Contains(v, []byte(dir)) {
				continue
			}
			if m := regexp.MustCompile(`"shard":"([0-9/]+)"`).FindSubmatch(v); m != nil {
				out[string(m[1])] = pid
			}
		}
	}
	return out
}

// waitWorkers waits (bounded) until n workers of dir run and have each
// written a Delta's worth of time, and returns their pids.
func waitWorkers(t *testing.T, dir string, n int) map[string]int {
	t.Helper()
	for range 2400 { // polls a condition of other processes; the bound only stops a hung test
		if w := procsWorkers(t, dir); len(w) == n {
			return w
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%d workers of %s did not appear within 60s", n, dir)
	return nil
}

// TestRunProcsSumsWorkers: --procs 3 against the mock gives one result
// whose counts and histograms are exactly the sums of the three workers'
// own JSON results, which are shards 1/3..3/3 of the plan.
func TestRunProcsSumsWorkers(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	work := filepath.Join(dir, "workers")
	out := filepath.Join(dir, "merged.json")
	junit := filepath.Join(dir, "merged.xml")
	r := runCLI(t, t.Context(), nil, "run", "--target", m.URL+"/v1/stream?ttft=10ms&itl=20ms&tokens=30", "--events", "eventsource",
		"--connections", "30", "--duration", "2s", "--procs", "3", "--procs-dir", work,
		"--threshold", "ttft.p99 < 1h", "--out", out, "--junit", junit)
	r.wantCode(t, exitOK)
	merged := runReadResult(t, out)
	var parts []*reports.File
	for i := 1; i <= 3; i++ {
		f := runReadResult(t, filepath.Join(work, fmt.Sprintf("shard-%d-of-3.json", i)))
		if f.Shard != fmt.Sprintf("%d/3", i) {
			t.Errorf("worker %d: shard %q", i, f.Shard)
		}
		parts = append(parts, f)
	}
	sum := func(get func(reports.Counters) int64) int64 {
		var s int64
		for _, p := range parts {
			s += get(p.Counters)
		}
		return s
	}
	for name, get := range map[string]func(reports.Counters) int64{
		"streams_started": func(c reports.Counters) int64 { return c.StreamsStarted },
		"streams_ok":      func(c reports.Counters) int64 { return c.StreamsOK },
		"streams_failed":  func(c reports.Counters) int64 { return c.StreamsFailed },
		"events":          func(c reports.Counters) int64 { return c.Events },
		"tokens":          func(c reports.Counters) int64 { return c.Tokens },
		"bytes":           func(c reports.Counters) int64 { return c.Bytes },
		"attempts":        func(c reports.Counters) int64 { return c.Attempts },
		"cancelled":       func(c reports.Counters) int64 { return c.Cancelled },
	} {
		if got, want := get(merged.Counters), sum(get); got != want {
			t.Errorf("%s: merged %d, workers' sum %d", name, got, want)
		}
	}
	if merged.Counters.Events == 0 || merged.Counters.StreamsStarted < 30 {
		t.Fatalf("the run did nothing: %+v", merged.Counters)
	}
	for name, ms := range merged.Metrics {
		h := reports.NewHistogram()
		var count int64
		for _, p := range parts {
			if pm := p.Metrics[name]; pm != nil {
				ph, err := reports.DecodeHistogram(pm.HDR)
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Merge(ph); err != nil {
					t.Fatal(err)
				}
				count += pm.Count
			}
		}
		if ms.Count != count || ms.Count != h.Count() {
			t.Errorf("%s: merged count %d, workers' %d", name, ms.Count, count)
		}
		mh, err := reports.DecodeHistogram(ms.HDR)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
			if a, b := mh.Quantile(q), h.Quantile(q); a != b {
				t.Errorf("%s q%g: merged %v, workers' union %v", name, q, a, b)
			}
		}
	}
	if len(merged.Thresholds) != 1 || !merged.Thresholds[0].Pass {
		t.Errorf("thresholds on the merged result: %+v", merged.Thresholds)
	}
	if st, err := os.Stat(junit); err != nil || st.Size() == 0 {
		t.Errorf("one JUnit file: %v", err)
	}
	if c := strings.Count(r.stdout, "latency (ms)"); c != 1 {
		t.Errorf("%d summaries on stdout, want one:\n%s", c, r.stdout)
	}
	if !strings.Contains(r.stderr, "ssebench x3") {
		t.Errorf("no live view of the whole run on stderr:\n%s", r.stderr)
	}
	if w := procsWorkers(t, work); len(w) != 0 {
		t.Errorf("workers still run after the parent returned: %v", w)
	}
}

// TestRunProcsWorkerKilled: a worker killed mid-run fails the run with
// exit 3, naming its shard and pid, and no merged result is written.
func TestRunProcsWorkerKilled(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	work, out := filepath.Join(dir, "workers"), filepath.Join(dir, "merged.json")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		done <- runCLI(t, ctx, nil, "run", "--target", m.URL+"/v1/stream?ttft=10ms&itl=20ms&tokens=30", "--events", "eventsource",
			"--connections", "9", "--duration", "10m", "--procs", "3", "--procs-dir", work, "--out", out)
	}()
	pids := waitWorkers(t, work, 3)
	victim := pids["2/3"]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	r.wantCode(t, exitCannotRun)
	if want := fmt.Sprintf("worker shard 2/3 (pid %d)", victim); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "signal: killed") {
		t.Errorf("stderr does not name the dead worker (%q, killed):\n%s", want, r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a merged result was written for a run that lost a worker")
	}
	if w := procsWorkers(t, work); len(w) != 0 {
		t.Errorf("workers still run after the parent returned: %v", w)
	}
}

// TestRunProcsInterrupted: Ctrl-C (the context) stops every worker and
// the merged partial result is still written (exit 130).
func TestRunProcsInterrupted(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	work, out := filepath.Join(dir, "workers"), filepath.Join(dir, "merged.json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		done <- runCLI(t, ctx, nil, "run", "--target", m.URL+"/v1/stream?ttft=10ms&itl=20ms&tokens=30", "--events", "eventsource",
			"--connections", "6", "--duration", "10m", "--procs", "2", "--procs-dir", work, "--out", out)
	}()
	waitWorkers(t, work, 2)
	waitMockStreams(t, m.URL, 1) // a stream started: the partial result holds it
	cancel()
	r := <-done
	r.wantCode(t, exitInterrupted)
	f := runReadResult(t, out)
	if f.Counters.StreamsStarted == 0 || f.Shard != "merged:1/2,2/2" {
		t.Errorf("partial merged result: shard %q, %+v", f.Shard, f.Counters)
	}
	if !slices.ContainsFunc(f.Notes, func(n string) bool { return strings.Contains(n, "interrupted") }) {
		t.Errorf("notes do not say interrupted: %q", f.Notes)
	}
}

func TestRunProcsUsage(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		args []string
		code int
		want string
	}{
		"zero":        {[]string{"--procs", "0"}, exitUsage, "want a number of worker processes"},
		"many":        {[]string{"--procs", "65"}, exitUsage, "1..64"},
		"word":        {[]string{"--procs", "lots"}, exitUsage, "or auto"},
		"ipsv6":       {[]string{"--target", "http://[::1]:1/", "--source-ips", "auto"}, exitUsage, "IPv4 loopback"},
		"unreachable": {[]string{"--procs", "2", "--target", "http://127.0.0.1:1/"}, exitCannotRun, "could not run: target unreachable"},
	} {
		r := runCLI(t, t.Context(), nil, append([]string{"run", "--quiet", "--duration", "1s"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", name, r.code, c.code, c.want, r.stderr)
		}
	}
}

func TestProcsAuto(t *testing.T) {
	closed := func(n int) *scenarios.Scenario {
		sc := scenarios.Default()
		sc.UseConnections(n)
		return sc
	}
	open := scenarios.Default()
	open.UseRate(100)
	open.Load.MaxConnections = 100000
	for name, c := range map[string]struct {
		sc       *scenarios.Scenario
		embedded bool
		limit    uint64
		cores    int
		want     int
		rule     string
		err      string
	}{
		"fits one":         {sc: closed(5000), limit: 20000, cores: 2, want: 1, rule: "1 workers"},
		"100k idle-heavy":  {sc: closed(100000), limit: 20000, cores: 2, want: 6, rule: "idle-heavy"},
		"embedded doubles": {sc: closed(15000), embedded: true, limit: 20000, cores: 2, want: 2},
		"not idle-heavy":   {sc: closed(100000), limit: 20000, cores: 64, want: 6},
		"open over cores":  {sc: open, limit: 20000, cores: 2, err: "not idle-heavy"},
		"over the cap":     {sc: closed(10000000), limit: 20000, cores: 2, err: "more than 64"},
		"no limit":         {sc: closed(100000), limit: 0, cores: 2, want: 2, rule: "one per core"},
	} {
		n, rule, err := procsAuto(c.sc, c.embedded, c.limit, c.cores)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error with %q", name, err, c.err)
			}
		case err != nil || n != c.want || !strings.Contains(rule, c.rule):
			t.Errorf("%s: %d workers (%q, %v), want %d with %q", name, n, rule, err, c.want, c.rule)
		}
	}
}

func TestProcsShards(t *testing.T) {
	p := procsPlan{n: 3, shardIndex: 2, shardCount: 2, dir: "/d", ips: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}}
	var got []string
	for k := range 3 {
		s := procsSpec(p, k)
		got = append(got, s.Shard+"="+strings.Join(s.SourceIPs, "+"))
	}
	want := []string{"4/6=127.0.0.1+127.0.0.4", "5/6=127.0.0.2", "6/6=127.0.0.3"}
	if !slices.Equal(got, want) {
		t.Errorf("shards %q, want %q", got, want)
	}
	if ips := procsShareIPs([]string{"a"}, 2, 3); !slices.Equal(ips, []string{"a"}) {
		t.Errorf("one address, three workers: worker 3 gets %q", ips)
	}
}

func TestAutoSourceIPs(t *testing.T) {
	ports := swarmPorts(t)
	per := ports * 2 / 5 // each address under half the range: see autoSourceIPs
	sc := func(url string, n int) *scenarios.Scenario {
		s := scenarios.Default()
		if err := s.SetTarget(url); err != nil {
			t.Fatal(err)
		}
		s.UseConnections(n)
		return s
	}
	auto := &runConfig{sourceIPsAuto: true}
	for name, c := range map[string]struct {
		cfg   *runConfig
		sc    *scenarios.Scenario
		procs int
		want  int // addresses; 0: the scenario's are kept
		err   string
	}{
		"small, default":    {cfg: &runConfig{}, sc: sc("http://127.0.0.1:8080/s", 100), want: 0},
		"small, auto":       {cfg: auto, sc: sc("http://127.0.0.1:8080/s", 100), want: 1},
		"large, default":    {cfg: &runConfig{}, sc: sc("http://127.0.0.1:8080/s", 3*per), want: 3},
		"large, 6 workers":  {cfg: &runConfig{}, sc: sc("http://127.0.0.1:8080/s", 3*per), procs: 6, want: 6},
		"larger, 6 workers": {cfg: &runConfig{}, sc: sc("http://127.0.0.1:8080/s", 7*per-1), procs: 6, want: 12},
		"auto, 3 workers":   {cfg: auto, sc: sc("http://127.0.0.1:8080/s", 100), procs: 3, want: 3},
		"not loopback":      {cfg: &runConfig{}, sc: sc("http://192.0.2.1:8080/s", 3*per), want: 0},
		"not loopback auto": {cfg: auto, sc: sc("http://192.0.2.1:8080/s", 100), err: "loopback"},
	} {
		ips, err := autoSourceIPs(c.cfg, c.sc, max(c.procs, 1))
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error with %q", name, err, c.err)
			}
		case err != nil || len(ips) != c.want:
			t.Errorf("%s: %v (%v), want %d addresses", name, ips, err, c.want)
		case c.want > 0 && (ips[0].String() != "127.0.0.1" || ips[c.want-1].String() != fmt.Sprintf("127.0.0.%d", c.want)):
			t.Errorf("%s: %v, want 127.0.0.1-127.0.0.%d", name, ips, c.want)
		}
	}
}

// swarmPorts is the ephemeral port range size, or skips.
func swarmPorts(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Skip("ephemeral port range unknown")
	}
	f := strings.Fields(string(b))
	lo, _ := strconv.Atoi(f[0])
	hi, _ := strconv.Atoi(f[1])
	return hi - lo + 1
}

func TestRunDialFlags(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		args []string
		vars map[string]string
		want string
	}{
		"zero rate":  {args: []string{"--dial-rate", "0"}, want: "-dial-rate"},
		"bad burst":  {args: []string{"--dial-burst", "many"}, want: "-dial-burst"},
		"open model": {args: []string{"--rate", "5/s", "--dial-rate", "10/s"}, want: "load.dial_rate"},
		"env":        {vars: map[string]string{"SSEBENCH_DIAL_RATE": "-3/s"}, want: "SSEBENCH_DIAL_RATE"},
	} {
		r := runCLI(t, t.Context(), c.vars, append([]string{"run", "--quiet", "--duration", "1s"}, c.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, want 2 naming %q:\n%s", name, r.code, c.want, r.stderr)
		}
	}
	// A valid pacing runs (the embedded mock, a few streams).
	r := runCLI(t, t.Context(), nil, "run", "--quiet", "--connections", "4", "--duration", "1s", "--dial-rate", "100/s", "--dial-burst", "2")
	r.wantCode(t, exitOK)
}

// TestWorkerVariablesAreKnown: the variables that mark worker processes
// pass the unknown-variable check (a real worker has a real environment).
func TestWorkerVariablesAreKnown(t *testing.T) {
	for _, name := range []string{fleet.WorkerEnv, runWorkerEnv} {
		e := &env{getenv: func(string) string { return "" }, environ: func() []string { return []string{name + "={}"} }}
		if err := checkEnv(e); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// waitMockStreams waits (bounded: 20 s) until the mock at base has begun n
// streams, by its /metrics.
func waitMockStreams(t *testing.T, base string, n int) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^ssebench_mock_streams_total\{endpoint="stream"\} (\S+)$`)
	for range 2400 { // polls the mock's counter; the bound only stops a hung test
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if m := re.FindSubmatch(body); m != nil {
				if v, _ := strconv.ParseFloat(string(m[1]), 64); v >= float64(n) {
					return
				}
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("the mock began fewer than %d streams within 60s", n)
}
