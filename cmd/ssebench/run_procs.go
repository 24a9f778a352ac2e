package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/reports/progress"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/health"
	"github.com/ssebench/ssebench/scenarios/swarm"
)

// maxProcs bounds --procs.
const maxProcs = 64

// procsFlag is --procs: unset (one process), a number of workers, or auto.
type procsFlag struct {
	set  bool
	n    int // 0 with auto
	auto bool
}

func (p *procsFlag) String() string {
	switch {
	case !p.set:
		return ""
	case p.auto:
		return "auto"
	}
	return strconv.Itoa(p.n)
}

func (p *procsFlag) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "auto" {
		*p = procsFlag{set: true, auto: true}
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxProcs {
		return fmt.Errorf("want a number of worker processes 1..%d, or auto; got %q", maxProcs, v)
	}
	*p = procsFlag{set: true, n: n}
	return nil
}

// registerProcsFlags adds --procs and --procs-dir to run's flags.
func registerProcsFlags(fs *flag.FlagSet, c *runConfig) {
	fs.Var(&c.procs, "procs", "run as `N` worker processes (1.."+strconv.Itoa(maxProcs)+") merged into one result, or auto: as many as the plan needs under the open-file limit (see 'Scaling past one process' in README)")
	fs.StringVar(&c.procsDir, "procs-dir", "", "with --procs: keep each worker's JSON result in `DIR` (shard-I-of-N.json; default: a temporary directory, removed at the end)")
}

// idleHeavyPerCore is the number of held streams per core from which a
// closed-model plan counts as idle-heavy: its streams mostly wait for
// events, so a worker's cost is its open files, not its CPU, and auto may
// start more workers than there are cores.
const idleHeavyPerCore = 1000

// procsAuto returns the number of workers auto picks for sc (the whole
// run's plan, before any split) and the rule in words. The rule: the
// fewest workers whose open files fit under the hard open-file limit
// (each holds its share of the peak streams, two files per stream with
// the embedded mock, plus swarm.FDReserve), and at most one per core
// unless the plan is idle-heavy (a closed model holding at least
// idleHeavyPerCore streams per core); at least one, at most maxProcs.
func procsAuto(sc *scenarios.Scenario, embedded bool, limit uint64, cores int) (int, string, error) {
	peak := swarm.Peak(sc)
	per := 1
	if embedded {
		per = 2
	}
	files := peak * per
	if sc.HTTP2 {
		files = (peak + 99) / 100 * per
	}
	if limit == 0 || limit > 1<<40 || peak == 0 {
		n := max(1, min(cores, maxProcs))
		return n, fmt.Sprintf("auto: %d workers, one per core (no open-file limit to fit, or no bounded peak)", n), nil
	}
	room := int(limit) - swarm.FDReserve
	if room < 1 {
		return 0, "", fmt.Errorf("--procs auto: the open-file limit %d leaves no room for streams", limit)
	}
	n := max(1, (files+room-1)/room)
	idle := sc.Load.Model != scenarios.Open && peak >= idleHeavyPerCore*cores
	rule := fmt.Sprintf("auto: %d workers for %d streams under the open-file limit %d", n, peak, limit)
	switch {
	case n > maxProcs:
		return 0, "", fmt.Errorf("--procs auto: %d streams need %d workers under the open-file limit %d, more than %d: shard the run over hosts (--shard I/N with --procs on each)", peak, n, limit, maxProcs)
	case n > cores && !idle:
		return 0, "", fmt.Errorf("--procs auto: %d streams need %d workers under the open-file limit %d, more than the %d cores, and the plan is not idle-heavy (a closed model of at least %d streams per core): raise the limit (ulimit -Hn), pass --procs %d to insist, or shard the run over hosts", peak, n, limit, cores, idleHeavyPerCore, n)
	case n > cores:
		rule += fmt.Sprintf(" (more than the %d cores: the plan is idle-heavy)", cores)
	}
	return n, rule, nil
}

// runProcs is `run --procs`: it re-executes this program as worker
// processes, each a shard of the run (with --shard I/N, shards of that
// shard), reads their Deltas for one live view of the whole run, merges
// their JSON results exactly (reports.Merge) and concludes once:
// thresholds on the merged result, one summary, one set of output files,
// one exit code. A worker that dies fails the run (exit 3) naming it.
func runProcs(ctx context.Context, e *env, cfg *runConfig, sc *scenarios.Scenario, baseline *reports.File) error {
	embedded := cfg.scenario == "" && cfg.target == ""
	n, rule, err := procsCount(cfg.procs, sc, embedded)
	if err != nil {
		return err
	}
	ips, ipNote, err := procsSourceIPs(cfg, sc, n)
	if err != nil {
		return err
	}
	if err := procsPlanFits(sc, n, embedded, ips); err != nil {
		return cannotRun(err)
	}
	dir, cleanup, err := procsDirFor(cfg.procsDir)
	if err != nil {
		return err
	}
	defer cleanup()
	if !cfg.quiet {
		fmt.Fprintf(e.stderr, "ssebench run: --procs %s%s\n", rule, ipNote)
	}
	hlog, endHLog, err := procsOpenHLog(cfg, n)
	if err != nil {
		return err
	}
	start := time.Now()
	var metrics *runMetrics
	f, err := runAcrossProcs(ctx, e, procsPlan{
		cmd: "run", args: cfg.args, env: procsEnv(e, sc), n: n, ips: ips,
		shardIndex: cfg.shardIndex, shardCount: cfg.shardCount, dir: dir, kept: cfg.procsDir != "", hlog: hlog,
		watch: func(fleet *procFleet) (func(), error) {
			m, err := startRunMetricsProcs(cfg, e, sc, fleet, embedded, start) // --metrics-addr: run_metrics.go
			if err != nil {
				return nil, err
			}
			metrics = m
			return procsLiveView(e, cfg, sc, fleet, embedded), nil
		},
	})
	hlogErrs := endHLog(start)
	defer metrics.finish(ctx, e) // after runConclude's outputs
	if err != nil {
		return err
	}
	wasInterrupted := ctx.Err() != nil
	if wasInterrupted {
		f.Notes = append(f.Notes, fmt.Sprintf("interrupted after %.1fs of %s: partial results", time.Since(start).Seconds(), sc.Duration))
	}
	return runConclude(e, cfg, sc, f, baseline, wasInterrupted, hlogErrs)
}

// procsOpenHLog opens the parent's --hlog (a nil merge without it): the
// workers send their closed ticks, and the parent writes the interval log
// of the whole run, flushed every interval. The returned function ends
// the log (fallback: its base time when no tick came) and closes the
// file, returning what went wrong.
func procsOpenHLog(cfg *runConfig, n int) (*reports.HLogMerge, func(fallback time.Time) []error, error) {
	if cfg.hlog == "" {
		return nil, func(time.Time) []error { return nil }, nil
	}
	w, closeFile, err := runOpenHLog(cfg)
	if err != nil {
		return nil, nil, err
	}
	m := reports.NewHLogMerge(w, n)
	return m, func(fallback time.Time) []error {
		defer closeFile()
		var errs []error
		if err := m.Close(fallback); err != nil {
			errs = append(errs, fmt.Errorf("--hlog: %w", err))
		} else if err := w.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("--hlog: %w", err))
		}
		return errs
	}, nil
}

// procsCount is the number of workers --procs asks for, and the rule in
// words: N, or auto's pick for the plan sc (run: the plan; capacity: the
// largest step the search may run). Auto's refusal is exit 3.
func procsCount(p procsFlag, sc *scenarios.Scenario, embedded bool) (int, string, error) {
	if !p.auto {
		return p.n, fmt.Sprintf("%d workers", p.n), nil
	}
	n, rule, err := procsAuto(sc, embedded, fdHardLimit(), runtime.NumCPU())
	if err != nil {
		return 0, "", cannotRun(err)
	}
	return n, rule, nil
}

// procsPlan is one plan to run across worker processes: what
// runAcrossProcs needs, for run --procs and for each step of capacity
// --procs alike.
type procsPlan struct {
	cmd  string   // the workers' subcommand ("run", "capacity"), also the prefix of their forwarded stderr
	args []string // the parent's arguments after cmd, given to every worker as they were
	env  []string // every worker's environment (procsEnv)
	n    int      // workers
	ips  []string // the whole plan's source addresses, spread over the workers
	// shardIndex/shardCount is the shard the workers split (1/1 unless
	// run --shard I/N): worker k runs shard (I-1)*n+k+1 of N*n.
	shardIndex, shardCount int
	dir                    string             // where the workers write their results
	kept                   bool               // dir is --procs-dir (kept after the run)
	step                   *workerStep        // capacity --procs: the step every worker runs; nil for run
	hlog                   *reports.HLogMerge // --hlog: the workers send their ticks to it
	// watch, when set, is called once every worker has started (the live
	// view, --metrics-addr); the function it returns is called when they
	// have all ended. An error stops the workers and is returned.
	watch func(*procFleet) (func(), error)
}

// runAcrossProcs runs p as p.n worker processes and returns their merged
// result (exactly: counts add up, histograms merge losslessly). When ctx
// ends (Ctrl-C) every worker is interrupted, writes its partial result,
// and the merge of those is returned: the caller tells by ctx.Err(). A
// worker that dies stops the others and is the error (exit 3, naming it
// and the tail of its stderr); a worker that could not run gives its own
// exit code. No merged result is returned then.
func runAcrossProcs(ctx context.Context, e *env, p procsPlan) (*reports.File, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, cannotRun(fmt.Errorf("--procs: find this program to start its workers: %w", err))
	}
	fleet := &procFleet{e: e, cmd: p.cmd, exe: exe, args: append([]string{p.cmd}, p.args...), env: p.env, dir: p.dir, hlog: p.hlog}
	specs := make([]workerSpec, p.n)
	for k := range specs {
		specs[k] = procsSpec(p, k)
	}
	if err := fleet.start(specs); err != nil {
		fleet.stopAll(syscall.SIGKILL)
		fleet.wait()
		return nil, cannotRun(err)
	}
	stopWatch := func() {}
	if p.watch != nil {
		if stopWatch, err = p.watch(fleet); err != nil {
			fleet.stopAll(syscall.SIGKILL)
			fleet.wait()
			return nil, err
		}
	}
	dead := fleet.supervise(ctx)
	stopWatch()
	if dead != nil {
		what := "run"
		if p.step != nil {
			what = "step"
		}
		err := dead.failure(p.dir, p.kept, what)
		if _, coded := err.(*exitError); coded {
			return nil, err
		}
		return nil, cannotRun(err)
	}
	f, err := fleet.merge()
	if _, coded := err.(*exitError); coded {
		return nil, err
	} else if err != nil {
		return nil, cannotRun(err)
	}
	return f, nil
}

// procsDirFor returns the directory for the workers' results: kept (the
// --procs-dir), or a new temporary one (removed by cleanup).
func procsDirFor(kept string) (string, func(), error) {
	if kept != "" {
		if err := os.MkdirAll(kept, 0o755); err != nil {
			return "", nil, usagef("--procs-dir: %w", err)
		}
		return kept, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "ssebench-procs-")
	if err != nil {
		return "", nil, cannotRun(fmt.Errorf("--procs: make a directory for the workers' results: %w", err))
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// procsEnv is every worker's environment: this process's, without the
// SSEBENCH_* variables, and then the SSEBENCH_* variables ssebench reads
// and those the scenario reads, as this process sees them (its getenv may
// differ from the real environment in tests).
func procsEnv(e *env, sc *scenarios.Scenario) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			out = append(out, kv)
		}
	}
	seen := map[string]bool{runWorkerEnv: true, envName("procs"): true, envName("procs-dir"): true}
	for _, name := range append(knownEnv(), sc.EnvNames()...) {
		if seen[name] {
			continue
		}
		seen[name] = true
		if v := e.getenv(name); v != "" {
			out = append(out, name+"="+v)
		}
	}
	return out
}

// procsLiveView draws the whole run's live view from the workers' Deltas
// and Status frames; the returned function stops it and waits for it.
func procsLiveView(e *env, cfg *runConfig, sc *scenarios.Scenario, f *procFleet, embedded bool) func() {
	viewCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	view := progress.New(e.stderr, progress.Options{Mode: progressMode(cfg, e), Prefix: fmt.Sprintf("ssebench x%d", len(f.children))})
	wg.Go(func() {
		view.Run(viewCtx, func() progress.Snapshot {
			v, st := f.live()
			// The workers judge their own health (in their results); the
			// parent's would say nothing about them.
			return liveSnapshot(v.Snapshot(), st, health.Measures{}, sc, embedded)
		})
	})
	return func() { stop(); wg.Wait() }
}

// procsShard is worker k's (0-based) shard of the whole run: with --shard
// I/N and n workers, shard (I-1)·n+k+1 of N·n, so that the workers of
// every host's shard together make exactly that shard.
func procsShard(index, count, k, n int) (int, int) {
	return (index-1)*n + k + 1, count * n
}

// procsShareIPs returns worker k's share of ips: round robin, every
// worker at least one address when there are any.
func procsShareIPs(ips []string, k, n int) []string {
	if len(ips) == 0 {
		return nil
	}
	if len(ips) < n {
		return []string{ips[k%len(ips)]}
	}
	var out []string
	for i := k; i < len(ips); i += n {
		out = append(out, ips[i])
	}
	return out
}

// procsSpec is worker k's spec. What differs per worker (its shard, its
// result file, its source addresses) travels in its spec, so that no
// argument of the parent's command line needs rewriting.
func procsSpec(p procsPlan, k int) workerSpec {
	i, c := procsShard(max(p.shardIndex, 1), max(p.shardCount, 1), k, p.n)
	return workerSpec{
		Shard:        fmt.Sprintf("%d/%d", i, c),
		Out:          filepath.Join(p.dir, fmt.Sprintf("shard-%d-of-%d.json", i, c)),
		SourceIPs:    procsShareIPs(p.ips, k, p.n),
		AllSourceIPs: p.ips,
		Step:         p.step,
		HLog:         p.hlog != nil,
	}
}

// specEnv is the worker's spec as its environment variable.
func specEnv(s workerSpec) string {
	b, _ := json.Marshal(s) // strings only: cannot fail
	return runWorkerEnv + "=" + string(b)
}

// errWorkerDied is wrapped by the error of a run whose worker died.
var errWorkerDied = errors.New("a worker of --procs died")
