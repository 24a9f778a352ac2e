package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ssebench/ssebench/reports/live"
)

// metricsTestAddr gives each test's metrics server its own loopback
// address: the tests run in parallel, and a test that scrapes (or a
// Prometheus that keeps scraping) a port that has just closed must never
// reach another test's server that took the same port since.
var metricsTestAddr = map[string]string{
	"scrape": "127.0.0.3:0", "procs": "127.0.0.4:0", "dashboard": "127.0.0.5:0", "linger": "127.0.0.6:0",
}

// asyncRun is an in-process `ssebench ...` running in the background.
type asyncRun struct {
	stdout, stderr *runSyncBuffer
	done           chan int // the exit code
}

// startCLI starts `ssebench ARGS...` in process, as runCLI does, without
// waiting for it. The test waits for it at cleanup in any case.
func startCLI(t *testing.T, ctx context.Context, vars map[string]string, args ...string) *asyncRun {
	t.Helper()
	a := &asyncRun{stdout: &runSyncBuffer{}, stderr: &runSyncBuffer{}, done: make(chan int, 1)}
	e := &env{
		stdin: strings.NewReader(""), stdout: a.stdout, stderr: a.stderr,
		getenv: func(k string) string { return vars[k] },
		environ: func() []string {
			var kv []string
			for k, v := range vars {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
	}
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		a.done <- run(ctx, e, args)
	}()
	t.Cleanup(func() { cancel(); <-finished })
	return a
}

// wait returns the exit code, failing the test after limit.
func (a *asyncRun) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case code := <-a.done:
		return code
	case <-time.After(limit):
		t.Fatalf("the run did not end within %s\nstderr:\n%s", limit, a.stderr.String())
		return -1
	}
}

var metricsLine = regexp.MustCompile(`metrics: (http://\S+/metrics)`)

// metricsURL waits (at most limit) for the run's "metrics: URL" line.
func (a *asyncRun) metricsURL(t *testing.T, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m := metricsLine.FindStringSubmatch(a.stderr.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-a.done:
			a.done <- code
			t.Fatalf("the run ended (exit %d) without serving metrics\nstderr:\n%s", code, a.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no metrics line within %s\nstderr:\n%s", limit, a.stderr.String())
	return ""
}

// scrape fetches the text exposition.
func scrape(u string) (string, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(b), nil
}

// sampleValue parses an exposition and returns the value of the series
// name{labels} (a histogram family: its count), and whether it is there.
func sampleValue(t *testing.T, text, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	mf := fams[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestRunMetricsScrape: SSEBENCH_METRICS_ADDR serves the run's live
// metrics while it runs; scrapes during the run make it wait, at its end,
// for a scrape of the final values (the test stops scraping only when the
// run has ended), which shows ssebench_run_done 1 and exactly the counts
// and histogram counts of the JSON result. promtool finds nothing
// to lint; the target's credentials and secret query never appear.
func TestRunMetricsScrape(t *testing.T) {
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	target := m.URL + "/v1/stream?ttft=20ms&itl=10ms&tokens=20&api_key=k3yk3y"
	a := startCLI(t, t.Context(), map[string]string{"SSEBENCH_METRICS_ADDR": metricsTestAddr["scrape"]},
		"run", "--connections", "10", "--duration", "3s", "--events", "eventsource", "--target", target,
		"--header", "Authorization: Bearer s3cr3tpw",
		"--metrics-linger", "2m", "--out", out)
	u := a.metricsURL(t, time.Minute)

	final, code := scrapeUntilEnd(t, a, u, func(text string) {
		for _, bad := range []string{"s3cr3tpw", "Bearer", "k3yk3y", "api_key", "/v1/stream"} {
			if strings.Contains(text, bad) {
				t.Fatalf("the exposition holds %q", bad)
			}
		}
	})
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, a.stderr.String())
	}
	f := runReadResult(t, out)
	shard := map[string]string{"shard": "1/1"}
	for name, want := range map[string]int64{
		"ssebench_streams_started_total": f.Counters.StreamsStarted,
		"ssebench_streams_ok_total":      f.Counters.StreamsOK,
		"ssebench_events_total":          f.Counters.Events,
		"ssebench_tokens_total":          f.Counters.Tokens,
		"ssebench_received_bytes_total":  f.Counters.Bytes,
		"ssebench_attempts_total":        f.Counters.Attempts,
		"ssebench_ttft_seconds":          f.Metrics["ttft"].Count,
		"ssebench_gap_seconds":           f.Metrics["gap"].Count,
		"ssebench_itl_seconds":           f.Metrics["itl"].Count,
		"ssebench_e2e_seconds":           f.Metrics["e2e"].Count,
	} {
		got, ok := sampleValue(t, final, name, shard)
		if !ok || got != float64(want) || want == 0 {
			t.Errorf("final %s = %v (present %v), the JSON result says %d", name, got, ok, want)
		}
	}
	if v, _ := sampleValue(t, final, "ssebench_run_info", map[string]string{"plan": f.Plan, "target": m.URL}); v != 1 {
		t.Errorf("ssebench_run_info{plan=%q,target=%q} missing:\n%s", f.Plan, m.URL, grepLines(final, "run_info"))
	}
	if tool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(tool, "check", "metrics")
		cmd.Stdin = strings.NewReader(final)
		if b, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
			t.Errorf("promtool check metrics on the final scrape: %v\n%s", err, b)
		}
	} else if os.Getenv("CI") == "true" {
		t.Error("promtool is not installed (.ci/run installs the prometheus package)")
	}
}

// scrapeUntilEnd scrapes u every 100 ms until the run ends (the scrape
// that begins after the run has written its outputs is the final one, which
// lets it exit), passing each exposition to check, and returns the last one
// that showed ssebench_run_done 1 for every shard, and the exit code.
func scrapeUntilEnd(t *testing.T, a *asyncRun, u string, check func(string)) (string, int) {
	t.Helper()
	var final string
	scrapes := 0
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); scrapes++ {
		text, err := scrape(u)
		if err == nil {
			check(text)
			if allDone(t, text) {
				final = text
			}
		}
		wait := 100 * time.Millisecond
		if err != nil { // the server closes when the run ends, else a failure
			wait = 30 * time.Second
		}
		select {
		case code := <-a.done:
			if final == "" {
				t.Fatalf("none of %d scrapes saw ssebench_run_done 1 (exit %d)\nstderr:\n%s", scrapes, code, a.stderr.String())
			}
			return final, code
		case <-time.After(wait):
		}
		if err != nil {
			t.Fatalf("scrape %d: %v\nstderr:\n%s", scrapes+1, err, a.stderr.String())
		}
	}
	t.Fatalf("the run did not end in %d scrapes\nstderr:\n%s", scrapes, a.stderr.String())
	return "", -1
}

// allDone reports whether every shard's ssebench_run_done is 1.
func allDone(t *testing.T, text string) bool {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	mf := fams["ssebench_run_done"]
	if mf == nil || len(mf.GetMetric()) == 0 {
		return false
	}
	for _, m := range mf.GetMetric() {
		if m.GetGauge().GetValue() != 1 {
			return false
		}
	}
	return true
}

// TestRunMetricsProcs: with --procs 2 the parent serves one series per
// worker (shard="1/2", "2/2"), each equal to that worker's own JSON
// result at the end, and the workers bind nothing themselves.
func TestRunMetricsProcs(t *testing.T) {
	skipUnlessLinux(t)
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	work := filepath.Join(dir, "workers")
	out := filepath.Join(dir, "merged.json")
	a := startCLI(t, t.Context(), nil, "run", "--target", m.URL+"/v1/stream?ttft=10ms&itl=20ms&tokens=30", "--events", "eventsource",
		"--connections", "20", "--duration", "3s", "--procs", "2", "--procs-dir", work, "--out", out,
		"--metrics-addr", metricsTestAddr["procs"], "--metrics-linger", "2m")
	u := a.metricsURL(t, time.Minute)
	final, code := scrapeUntilEnd(t, a, u, func(string) {})
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, a.stderr.String())
	}
	merged := runReadResult(t, out)
	var total float64
	for i := 1; i <= 2; i++ {
		shard := fmt.Sprintf("%d/2", i)
		f := runReadResult(t, filepath.Join(work, fmt.Sprintf("shard-%d-of-2.json", i)))
		for name, want := range map[string]int64{
			"ssebench_streams_started_total": f.Counters.StreamsStarted,
			"ssebench_events_total":          f.Counters.Events,
			"ssebench_ttft_seconds":          f.Metrics["ttft"].Count,
		} {
			got, ok := sampleValue(t, final, name, map[string]string{"shard": shard})
			if !ok || got != float64(want) {
				t.Errorf("%s{shard=%q} = %v (present %v), the worker's JSON says %d", name, shard, got, ok, want)
			}
		}
		v, _ := sampleValue(t, final, "ssebench_streams_started_total", map[string]string{"shard": shard})
		total += v
	}
	if total != float64(merged.Counters.StreamsStarted) || total == 0 {
		t.Errorf("the shards' started streams add up to %v, the merged result says %d", total, merged.Counters.StreamsStarted)
	}
	if n := strings.Count(a.stderr.String(), "metrics: http://"); n != 1 {
		t.Errorf("%d processes announced metrics, want the parent only:\n%s", n, a.stderr.String())
	}
}

func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRunMetricsDashboardServed: the server hands out the dashboard, and a
// run that nobody scraped does not wait at its end.
func TestRunMetricsDashboardServed(t *testing.T) {
	t.Parallel()
	m := runStartMock(t, nil)
	a := startCLI(t, t.Context(), nil, "run", "--connections", "2", "--duration", "1s", "--events", "eventsource",
		"--target", m.URL+"/v1/stream?ttft=10ms&itl=5ms&tokens=5", "--metrics-addr", metricsTestAddr["dashboard"])
	u := a.metricsURL(t, time.Minute)
	resp, err := http.Get(strings.TrimSuffix(u, live.MetricsPath) + live.DashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, live.Dashboard()) {
		t.Errorf("GET %s: %s, %d bytes, want the dashboard", live.DashboardPath, resp.Status, len(b))
	}
	if code := a.wait(t, 2*time.Minute); code != exitOK {
		t.Fatalf("exit %d\n%s", code, a.stderr.String())
	}
	if strings.Contains(a.stderr.String(), "waiting up to") {
		t.Errorf("a run whose metrics nobody scraped waited for a final scrape:\n%s", a.stderr.String())
	}
}

// TestRunMetricsLinger: a run scraped during its load, but not after,
// says at its end that it waits for scrapes of the final values, and the
// next two (ssebench_run_done 1) let it exit at once.
func TestRunMetricsLinger(t *testing.T) {
	t.Parallel()
	m := runStartMock(t, nil)
	a := startCLI(t, t.Context(), nil, "run", "--connections", "2", "--duration", "2s", "--events", "eventsource",
		"--target", m.URL+"/v1/stream?ttft=10ms&itl=5ms&tokens=5", "--metrics-addr", metricsTestAddr["linger"], "--metrics-linger", "2m")
	u := a.metricsURL(t, time.Minute)
	text, err := scrape(u)
	if err != nil {
		t.Fatal(err)
	}
	if allDone(t, text) {
		t.Fatal("the first scrape, right after the server started, already saw the 2 s run done")
	}
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(a.stderr.String(), "metrics: waiting up to 2m0s"); {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not say it waits for the final scrape:\n%s", a.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range live.FinalReads {
		if text, err = scrape(u); err != nil {
			break // the run has ended: a.wait tells
		}
		if !allDone(t, text) {
			t.Fatalf("a scrape after the run does not show it done\nstderr:\n%s", a.stderr.String())
		}
	}
	if code := a.wait(t, time.Minute); code != exitOK {
		t.Fatalf("exit %d\n%s", code, a.stderr.String())
	}
	if strings.Contains(a.stderr.String(), "the final values were not scraped") {
		t.Errorf("the final scrape was not noticed:\n%s", a.stderr.String())
	}
}

func TestBeyondLoopback(t *testing.T) {
	for ip, want := range map[string]bool{"127.0.0.1": false, "127.0.0.9": false, "::1": false,
		"0.0.0.0": true, "::": true, "10.1.2.3": true, "192.168.0.1": true} {
		if got := beyondLoopback(&net.TCPAddr{IP: net.ParseIP(ip), Port: 9464}); got != want {
			t.Errorf("beyondLoopback(%s) = %v, want %v", ip, got, want)
		}
	}
	if !beyondLoopback(&net.UnixAddr{Name: "/tmp/x"}) {
		t.Error("a non-TCP address counts as loopback")
	}
}

// TestRunMetricsBadAddr: a malformed address is a usage error naming the
// flag; a port in use is "could not run", before any load.
func TestRunMetricsBadAddr(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"9464", "127.0.0.1:99999", "http://127.0.0.1:9464"} {
		r := runCLI(t, t.Context(), nil, "run", "--metrics-addr", bad, "--duration", "1s")
		r.wantCode(t, exitUsage)
		if !strings.Contains(r.stderr, "metrics-addr") {
			t.Errorf("--metrics-addr %s: the error does not name the flag:\n%s", bad, r.stderr)
		}
	}
	r := runCLI(t, t.Context(), map[string]string{"SSEBENCH_METRICS_LINGER": "-1s"}, "run", "--duration", "1s")
	r.wantCode(t, exitUsage)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := runStartMock(t, nil)
	r = runCLI(t, t.Context(), nil, "run", "--metrics-addr", ln.Addr().String(), "--duration", "1s",
		"--events", "eventsource", "--target", m.URL+"/v1/stream")
	r.wantCode(t, exitCannotRun)
	if !strings.Contains(r.stderr, "--metrics-addr") || strings.Contains(r.stdout, "verdict") {
		t.Errorf("a port in use: want the error before any run\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// promQuery runs an instant query against Prometheus' HTTP API, now.
func promQuery(base, q string) (model.Vector, error) {
	var v model.Vector
	return v, promAPI(base, q, "", "vector", &v)
}

// promQueryAt runs an instant query at a time (Unix seconds).
func promQueryAt(base, q string, at model.Time) (model.Vector, error) {
	var v model.Vector
	return v, promAPI(base, q, at.String(), "vector", &v)
}

// promLastSample returns the time of the last sample of a series within
// the last 10 minutes.
func promLastSample(base, series string) (model.Time, error) {
	var m model.Matrix
	if err := promAPI(base, series+"[10m]", "", "matrix", &m); err != nil {
		return 0, err
	}
	if len(m) != 1 || len(m[0].Values) == 0 {
		return 0, fmt.Errorf("no samples of %s: %v", series, m)
	}
	return m[0].Values[len(m[0].Values)-1].Timestamp, nil
}

// promAPI runs /api/v1/query and decodes a result of type want into out.
func promAPI(base, q, at, want string, out any) error {
	c := &http.Client{Timeout: 30 * time.Second}
	u := base + "/api/v1/query?query=" + url.QueryEscape(q)
	if at != "" {
		u += "&time=" + at
	}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return fmt.Errorf("query %q: %w", q, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("query %q: %s", q, body.Error)
	}
	if body.Data.ResultType != want {
		return fmt.Errorf("query %q: a %s, want a %s", q, body.Data.ResultType, want)
	}
	if err := json.Unmarshal(body.Data.Result, out); err != nil {
		return fmt.Errorf("query %q: %w", q, err)
	}
	return nil
}

// startPrometheus starts Debian's prometheus on a loopback port, scraping
// target every second (native histograms on), with its data in a
// temporary directory; it is stopped by PID at cleanup. It returns the
// base URL of its HTTP API once it is ready.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	need(t, err, "apt-get install prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ssebench
    static_configs:
      - targets: [%q]
`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	web := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--enable-feature=native-histograms", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log (tail):\n%s", b[max(0, len(b)-4000):])
		}
	})
	base := "http://" + web
	c := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if promHasTarget(c, base, target) {
			return base
		}
	}
	t.Fatalf("prometheus at %s did not become ready with the target %s", base, target)
	return ""
}

// promHasTarget reports whether Prometheus is up and has target among its
// active targets (its service discovery hands static targets to the
// scrape loops a few seconds after start; only then do scrapes begin).
func promHasTarget(c *http.Client, base, target string) bool {
	resp, err := c.Get(base + "/api/v1/targets?state=active")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) != nil {
		return false
	}
	for _, tg := range body.Data.ActiveTargets {
		if strings.Contains(tg.ScrapeURL, "//"+target+"/") {
			return true
		}
	}
	return false
}

// TestRunMetricsPrometheus: a real Prometheus scrapes --metrics-addr
// during a run against the mock, and a query over its HTTP API returns
// the run's stream count; the native ttft histogram's quantile lies within
// the run's ttft range; every query of the dashboard evaluates.
func TestRunMetricsPrometheus(t *testing.T) {
	t.Parallel()
	// The metrics listen on 127.0.0.2, where no other test listens: after
	// the run Prometheus keeps scraping that address until the test ends,
	// and must not reach another test's server that got the port since.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 loopback address here: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	prom := startPrometheus(t, addr)
	m := runStartMock(t, nil)
	out := filepath.Join(t.TempDir(), "r.json")
	a := startCLI(t, t.Context(), nil, "run", "--connections", "10", "--duration", "5s", "--events", "eventsource",
		"--target", m.URL+"/v1/stream?ttft=20ms&itl=10ms&tokens=30", "--metrics-addr", addr, "--metrics-linger", "2m",
		"--out", out, "--quiet")
	if code := a.wait(t, 3*time.Minute); code != exitOK {
		t.Fatalf("exit %d\n%s", code, a.stderr.String())
	}
	f := runReadResult(t, out)

	// The run returned after Prometheus' scrapes of the final values: the
	// samples are in its head block at once, but poll briefly anyway. The
	// server is gone now, so Prometheus has marked the series stale: ask
	// for their last values over a window instead of the instant value.
	var got model.Vector
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err = promQuery(prom, `last_over_time(ssebench_streams_started_total{job="ssebench"}[10m])`)
		if err == nil && len(got) == 1 && int64(got[0].Value) == f.Counters.StreamsStarted {
			break
		}
	}
	if err != nil || len(got) != 1 || int64(got[0].Value) != f.Counters.StreamsStarted || f.Counters.StreamsStarted == 0 {
		up, _ := promQuery(prom, `up`)
		dur, _ := promQuery(prom, `scrape_duration_seconds`)
		n, _ := promQuery(prom, `count_over_time(up[10m])`)
		t.Logf("up %v, scrape_duration_seconds %v, scrapes %v", up, dur, n)
		t.Fatalf("Prometheus has ssebench_streams_started_total %v (%v), the run started %d streams (the run waits for a final scrape only when one came during the run)\nstderr:\n%s",
			got, err, f.Counters.StreamsStarted, a.stderr.String())
	}
	if v, err := promQuery(prom, `last_over_time(ssebench_run_done[10m])`); err != nil || len(v) != 1 || v[0].Value != 1 {
		t.Errorf("ssebench_run_done in Prometheus: %v (%v), want 1", v, err)
	}
	// The native histogram at the final scrape.
	last, err := promLastSample(prom, "ssebench_run_done")
	if err != nil {
		t.Fatal(err)
	}
	q, err := promQueryAt(prom, `histogram_quantile(0.5, ssebench_ttft_seconds)`, last)
	ttft := f.Metrics["ttft"]
	if err != nil || len(q) != 1 || float64(q[0].Value)*1000 < ttft.Min*0.97 || float64(q[0].Value)*1000 > ttft.Max*1.03 {
		t.Errorf("ttft p50 from the native histogram: %v (%v), the run's ttft is %g .. %g ms", q, err, ttft.Min, ttft.Max)
	}
	if n, err := promQueryAt(prom, `histogram_count(ssebench_ttft_seconds)`, last); err != nil || len(n) != 1 || int64(n[0].Value) != ttft.Count {
		t.Errorf("the native ttft histogram's count at the final scrape: %v (%v), the run's %d", n, err, ttft.Count)
	}
	for where, expr := range dashboardQueries(t) {
		v, err := promQuery(prom, expr)
		if err != nil {
			t.Errorf("dashboard %s: %v", where, err)
		} else if strings.HasPrefix(where, "Time to first token") && len(v) != 1 {
			t.Errorf("dashboard %s: %v, want one quantile (%s)", where, v, expr)
		}
	}
}

// dashboardQueries returns the dashboard's PromQL with Grafana's variables
// replaced for a direct query (all shards, a 10-minute rate window, which
// covers the whole run).
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(live.Dashboard(), &d); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("$__rate_interval", "10m", "$shard", ".*")
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out[p.Title+"/"+tg.RefID] = r.Replace(tg.Expr)
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d dashboard queries", len(out))
	}
	return out
}
