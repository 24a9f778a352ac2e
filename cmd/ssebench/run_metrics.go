package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/reports/live"
	"github.com/ssebench/ssebench/scenarios"
)

// defaultMetricsLinger is how long, by default, a run whose metrics were
// scraped waits at its end for scrapes of its final values (live.FinalReads
// of them): two of the usual 10-15 s scrape intervals.
const defaultMetricsLinger = 30 * time.Second

// metricsFlags are --metrics-addr and --metrics-linger.
type metricsFlags struct {
	metricsAddr   string        // host:port; "" serves nothing
	metricsLinger time.Duration // wait for a final scrape at most this long
}

// register adds --metrics-addr and --metrics-linger to fs.
func (m *metricsFlags) register(fs *flag.FlagSet) {
	m.metricsLinger = defaultMetricsLinger
	fs.Func("metrics-addr", "serve live Prometheus metrics on `host:port` at /metrics while the run runs, e.g. 127.0.0.1:9464 (port 0 picks one)", func(s string) error {
		s = strings.TrimSpace(s)
		if err := checkListenAddr(s); err != nil {
			return err
		}
		m.metricsAddr = s
		return nil
	})
	fs.Func("metrics-linger", fmt.Sprintf("after the run, keep serving --metrics-addr until a scrape has read the final values, at most `D` (default %s; only when something scraped during the run; 0: stop at once)", defaultMetricsLinger), func(s string) error {
		d, err := scenarios.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("want a duration such as 20s or 0, got %q", s)
		}
		m.metricsLinger = d
		return nil
	})
}

// checkListenAddr checks a host:port to listen on.
func checkListenAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port such as 127.0.0.1:9464, got %q", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("want a port number 0..65535, got %q", port)
	}
	if strings.ContainsAny(host, "/@?#") {
		return fmt.Errorf("want a host name or address, got %q", host)
	}
	return nil
}

// runMetrics is the --metrics-addr server of one run. A nil *runMetrics
// (no --metrics-addr) does nothing. Its views are the run's shards: one
// LiveState fed by this process's aggregator for a plain run
// (startRunMetricsSingle), or whatever the caller shows (startRunMetrics:
// a parent process, one LiveState per worker).
type runMetrics struct {
	srv    *live.Server
	linger time.Duration
	state  *reports.LiveState // the single run's, nil otherwise
	closed bool
}

// startRunMetrics binds --metrics-addr and serves the collector of views
// (called on every scrape, concurrently). It returns nil, nil without
// --metrics-addr. The address is printed to stderr (unless quiet), with a
// warning when it is reachable beyond loopback.
func startRunMetrics(cfg *runConfig, e *env, info live.Info, views live.Views) (*runMetrics, error) {
	if cfg.metricsAddr == "" {
		return nil, nil
	}
	srv, err := live.Listen(cfg.metricsAddr, live.NewCollector(info, views))
	if err != nil {
		return nil, cannotRun(fmt.Errorf("--metrics-addr: %w", err))
	}
	addr := srv.Addr().String()
	if !cfg.quiet {
		fmt.Fprintf(e.stderr, "metrics: %s (Grafana dashboard: http://%s%s)\n", srv.URL(), addr, live.DashboardPath)
	}
	if beyondLoopback(srv.Addr()) {
		fmt.Fprintf(e.stderr, "warning: --metrics-addr %s is reachable beyond loopback: whoever reaches it sees the run's counts, latencies, plan id and target origin (never headers, credentials, paths or queries)\n", addr)
	}
	return &runMetrics{srv: srv, linger: cfg.metricsLinger}, nil
}

// beyondLoopback reports whether a listening address is reachable from
// other hosts: anything but a loopback IP (0.0.0.0 and :: are every
// interface).
func beyondLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return !ok || !t.IP.IsLoopback()
}

// startRunMetricsSingle is startRunMetrics for a run in this process: one
// shard, a LiveState that the aggregator feeds. It returns the
// aggregator's OnDelta: the LiveState's Apply, or nil without
// --metrics-addr. A worker of run --procs (workerDelta, its pipe to the
// parent, not nil) serves nothing: its parent serves the whole run's
// metrics, and the worker's OnDelta is workerDelta.
func startRunMetricsSingle(cfg *runConfig, e *env, planID string, sc *scenarios.Scenario, start time.Time,
	workerDelta func(*reports.Delta)) (*runMetrics, func(*reports.Delta), error) {
	if workerDelta != nil {
		return nil, workerDelta, nil
	}
	state := reports.NewLiveState(sc.ShardString())
	info := live.Info{Plan: planID, Target: sc.URL, Version: version(), Started: start}
	m, err := startRunMetrics(cfg, e, info, func() []reports.LiveView { return []reports.LiveView{state.View()} })
	if m == nil || err != nil {
		return nil, nil, err
	}
	m.state = state
	return m, m.onDelta(), nil
}

// startRunMetricsProcs is startRunMetrics for the parent of run --procs:
// one view per worker, from the LiveStates its Deltas feed. Call it once
// the fleet has started (its children no longer change).
func startRunMetricsProcs(cfg *runConfig, e *env, sc *scenarios.Scenario, f *procFleet, embedded bool, start time.Time) (*runMetrics, error) {
	info := live.Info{Target: sc.URL, Version: version(), Started: start}
	if embedded {
		info.Target = "" // each worker runs its own mock: "unknown"
	}
	if planJSON, err := scenarioJSON(sc); err == nil {
		info.Plan = reports.PlanID(planJSON)
	}
	children := append([]*procChild(nil), f.children...)
	return startRunMetrics(cfg, e, info, func() []reports.LiveView {
		views := make([]reports.LiveView, len(children))
		for i, c := range children {
			views[i] = c.live.View()
		}
		return views
	})
}

// onDelta is the aggregator's OnDelta for a single run (nil when there is
// nothing to feed, so that the aggregator exports no Deltas at all).
func (m *runMetrics) onDelta() func(*reports.Delta) {
	if m == nil || m.state == nil {
		return nil
	}
	return m.state.Apply
}

// finish is called once the views are final (the run's last Delta has
// been applied) and the outputs are written: unless a scrape has read the
// final values already, and when something scraped during the run, it
// keeps serving until one does or --metrics-linger has passed (or ctx
// ends), saying so on stderr; then it stops the server. A serving error
// is a warning: the run's results stand.
func (m *runMetrics) finish(ctx context.Context, e *env) {
	if m == nil || m.closed {
		return
	}
	scraped := m.srv.Scrapes() > 0
	m.srv.Finish()
	if m.srv.AwaitFinalScrape(ctx, false, 0) { // a scrape has already read the final values
		m.close(e)
		return
	}
	if scraped && m.linger > 0 && ctx.Err() == nil {
		fmt.Fprintf(e.stderr, "metrics: waiting up to %s for scrapes of the final values at %s\n", m.linger, m.srv.URL())
		if !m.srv.AwaitFinalScrape(ctx, scraped, m.linger) {
			fmt.Fprintf(e.stderr, "metrics: the final values were not scraped twice within %s\n", m.linger)
		}
	}
	m.close(e)
}

// close stops the server at once (for early returns; finish calls it).
func (m *runMetrics) close(e *env) {
	if m == nil || m.closed {
		return
	}
	m.closed = true
	if err := m.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(e.stderr, "warning: --metrics-addr: %v\n", err)
	}
}
