package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/reports/progress"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/health"
	"github.com/ssebench/ssebench/scenarios/secret"
	"github.com/ssebench/ssebench/scenarios/swarm"
)

func init() {
	register(&command{
		name:      "run",
		summary:   "load-test an SSE endpoint: latency (ttft, gaps), throughput, errors, gates",
		run:       runRun,
		checksEnv: true, // once the scenario says which variables it reads
	})
}

// runRun is `ssebench run`: the data flow, composed. Scenario
// (file or the embedded default) -> flags and SSEBENCH_* overrides ->
// Validate -> Shard -> swarm.Run -> reports.Aggregator (live view fed
// from its snapshots) -> File -> thresholds, baseline -> text, JSON, HTML,
// JUnit. Ctrl-C (ctx) stops the swarm, and the partial results are still
// evaluated and written before it returns interrupted (exit 130).
func runRun(ctx context.Context, e *env, args []string) error {
	wk, err := runWorkerFromEnv(e) // a worker of run --procs, or nil
	if err != nil {
		return err
	}
	if wk != nil {
		return wk.run(func() error { return runOne(ctx, e, args, wk) })
	}
	return runOne(ctx, e, args, nil)
}

// runOne is one process's run: wk is nil, or this process is a worker of
// run --procs (see run_procs.go) and wk its side of the pipe.
func runOne(ctx context.Context, e *env, args []string, wk *procWorker) error {
	cfg, err := parseRunFlags(e, args)
	if err != nil {
		return err
	}
	wk.apply(cfg)
	sc, err := loadRunScenario(cfg, e)
	if err != nil {
		return err
	}
	if err := checkEnv(e, sc.EnvNames()...); err != nil {
		return err
	}
	var baseline *reports.File
	if cfg.baseline != "" {
		if baseline, err = reports.ReadFile(cfg.baseline); err != nil {
			return usagef("--baseline: %w", err)
		}
	}
	if err := runCheckOutputs(cfg); err != nil {
		return err
	}
	if wk == nil && cfg.procs.set {
		return runProcs(ctx, e, cfg, sc, baseline)
	}
	if note, err := applySourceIPs(cfg, sc, 1); err != nil {
		return err
	} else if note != "" && !cfg.quiet {
		fmt.Fprintf(e.stderr, "ssebench run: %s\n", note)
	}

	rp, err := runPrepare(cfg, sc)
	if err != nil {
		return err
	}
	defer rp.stop()
	sc, embedded := rp.sc, rp.embedded
	wk.share(sc)

	opts := swarm.Options{Whole: wk.whole()}
	if embedded {
		opts.FilesPerConn = 2 // the mock's server sockets live in this process too
	}
	sw, err := swarm.New(sc, opts)
	if err != nil {
		return cannotRun(err) // *swarm.ResourceError says how to shard
	}
	wk.watch(sw)
	if err := sw.Probe(ctx); err != nil {
		if ctx.Err() != nil {
			return interrupted(errors.New("interrupted before the run started"))
		}
		return cannotRun(err)
	}
	if err := cfg.shardRun.waitStart(ctx, quietOr(cfg, e.stderr), sc.ShardString()); err != nil {
		return err
	}

	hlog, closeHLog, err := runOpenHLog(cfg)
	if err != nil {
		return err
	}
	defer closeHLog()

	// Run: the swarm feeds the aggregator; the live view reads the
	// aggregator's snapshots 4 times a second (never per event); the health
	// monitor measures the generator itself meanwhile.
	start := time.Now()
	metrics, onDelta, err := startRunMetricsSingle(cfg, e, rp.planID, sc, start, wk.onDelta()) // --metrics-addr: run_metrics.go
	if err != nil {
		return err
	}
	defer metrics.finish(ctx, e) // after runConclude's outputs
	agg := reports.NewAggregator(reports.AggregatorOptions{Start: start, HLog: writerOrNil(hlog), OnDelta: onDelta, OnHLogTick: wk.onHLogTick()})
	measures := runDrive(ctx, e, cfg, sw, agg, sc, embedded)
	wasInterrupted := ctx.Err() != nil

	// Results.
	f := runFinish(agg, runMeta{sc: sc, planJSON: rp.planJSON, planID: rp.planID, health: &measures,
		embedded: embedded, interrupted: wasInterrupted, took: time.Since(start)})
	f.Attempt = cfg.shardRun.attempt(start)
	return runConclude(e, cfg, sc, f, baseline, wasInterrupted, runFlushHLog(hlog, agg))
}

// runDrive runs the swarm to its end: the swarm feeds the aggregator; the
// live view reads the aggregator's snapshots 4 times a second (never per
// event); the health monitor measures the generator itself meanwhile and
// its measures are returned.
func runDrive(ctx context.Context, e *env, cfg *runConfig, sw *swarm.Swarm, agg *reports.Aggregator, sc *scenarios.Scenario, embedded bool) health.Measures {
	mon := health.Start()
	results := sw.Run(ctx)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		agg.Consume(results)
	}()
	viewCtx, stopView := context.WithCancel(context.Background())
	var viewDone sync.WaitGroup
	view := progress.New(e.stderr, progress.Options{Mode: progressMode(cfg, e)})
	viewDone.Go(func() {
		view.Run(viewCtx, func() progress.Snapshot {
			return liveSnapshot(agg.Snapshot(), sw.Status(), mon.Live(), sc, embedded)
		})
	})
	<-consumed
	measures := mon.Stop()
	stopView()
	viewDone.Wait()
	return measures
}

// runFlushHLog flushes the --hlog file and returns its errors.
func runFlushHLog(hlog *bufio.Writer, agg *reports.Aggregator) []error {
	var errs []error
	if hlog != nil {
		if err := hlog.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("--hlog: %w", err))
		}
	}
	if err := agg.Err(); err != nil {
		errs = append(errs, fmt.Errorf("--hlog: %w", err))
	}
	return errs
}

// runConclude ends a run with its File (one process's, or the merge of
// --procs workers'): thresholds, the baseline comparison, the summary on
// stdout, the output files, and the exit code. errs are earlier problems
// writing outputs.
func runConclude(e *env, cfg *runConfig, sc *scenarios.Scenario, f *reports.File, baseline *reports.File, wasInterrupted bool, errs []error) error {
	pass := reports.Evaluate(f, sc.Thresholds)
	var cmp *reports.Comparison
	if baseline != nil {
		cmp = reports.Compare(baseline, f, cfg.compareFlags.options())
	}
	if err := reports.WriteText(e.stdout, f); err != nil {
		errs = append(errs, fmt.Errorf("write the summary: %w", err))
	}
	if cmp != nil {
		fmt.Fprintf(e.stdout, "\nBaseline %s:\n", cfg.baseline)
		if err := reports.WriteComparison(e.stdout, cmp); err != nil {
			errs = append(errs, fmt.Errorf("write the comparison: %w", err))
		}
	}
	errs = append(errs, runWriteOutputs(cfg, f, cmp)...)
	switch {
	case wasInterrupted:
		msg := "interrupted: partial results written"
		if len(errs) > 0 {
			msg = "interrupted"
		}
		return interrupted(errors.Join(append([]error{errors.New(msg)}, errs...)...))
	case len(errs) > 0:
		return cannotRun(errors.Join(errs...))
	}
	return cfg.shardRun.deferGate(e.stderr, runGates(f, pass, cmp, cfg))
}

// runOpenHLog creates the --hlog file (nil writer without --hlog); the
// returned function closes it.
func runOpenHLog(cfg *runConfig) (*bufio.Writer, func(), error) {
	if cfg.hlog == "" {
		return nil, func() {}, nil
	}
	f, err := os.Create(cfg.hlog)
	if err != nil {
		return nil, nil, usagef("--hlog: %w", err)
	}
	return bufio.NewWriter(f), func() { f.Close() }, nil
}

// runGates returns the exit-1 error when a gate failed: no stream
// succeeded, a threshold failed, or the run regressed against --baseline.
func runGates(f *reports.File, pass bool, cmp *reports.Comparison, cfg *runConfig) error {
	var gates []string
	if why := reports.Unserved(f); why != "" {
		gates = append(gates, why)
	}
	if !pass {
		gates = append(gates, thresholdGate(f))
	}
	if cmp != nil && cmp.Regressed() {
		gates = append(gates, fmt.Sprintf("regressed against the baseline %s (tolerance %g%%): %s",
			cfg.baseline, cfg.maxRegression*100, strings.Join(cmp.Regressions(), ", ")))
	}
	if len(gates) > 0 {
		return gateFailed(errors.New(strings.Join(gates, "; ")))
	}
	return nil
}

// loadRunScenario reads the scenario file (or, without one, the embedded
// default, or with --target alone the generic scenario for that target)
// and applies the command line's overrides, then validates the result:
// every problem, with file:line, is one usage error (exit 2).
func loadRunScenario(cfg *runConfig, e *env) (*scenarios.Scenario, error) {
	var sc *scenarios.Scenario
	switch {
	case cfg.scenario == "" && cfg.target != "":
		var err error
		if sc, err = scenarios.ForTarget(cfg.target); err != nil {
			return nil, usagef("--target: %w", err)
		}
	case cfg.scenario == "":
		sc = scenarios.Default()
	default:
		var err error
		if sc, err = scenarios.DecodeFile(cfg.scenario); err != nil {
			return nil, scenarioError(err)
		}
	}
	sc.Getenv = e.getenv
	if err := applyOverrides(sc, cfg); err != nil {
		return nil, err
	}
	if err := sc.Validate(); err != nil {
		return nil, scenarioError(err)
	}
	return sc, nil
}

// scenarioError turns a scenario problem into a usage error whose message
// lists every problem, one per line, each with file:line.
func scenarioError(err error) error {
	var ve *scenarios.ValidationError
	if errors.As(err, &ve) {
		n := len(ve.Problems)
		s := "s"
		if n == 1 {
			s = ""
		}
		return usagef("invalid scenario (%d problem%s):\n  %s", n, s, strings.ReplaceAll(ve.Error(), "\n", "\n  "))
	}
	return usageErr(err)
}

// applyOverrides applies flags (and SSEBENCH_* variables) to sc. Problems
// name the flag. (Without a scenario file, --target already is the whole
// scenario's URL.)
func applyOverrides(sc *scenarios.Scenario, cfg *runConfig) error {
	if cfg.target != "" && cfg.scenario != "" {
		if err := sc.SetTarget(cfg.target); err != nil {
			return usagef("--target: %w", err)
		}
	}
	if cfg.events != "" {
		sc.Events = scenarios.Events{Preset: cfg.events}
	}
	sc.Headers = overrideHeaders(overrideHeaders(sc.Headers, cfg.envHeaders), cfg.headers)
	switch {
	case cfg.connectionsSet:
		sc.UseConnections(cfg.connections)
	case cfg.rateSet:
		sc.UseRate(cfg.rate)
	}
	if cfg.durationSet {
		sc.Duration = cfg.duration
	}
	applyDialOverrides(sc, cfg)
	for _, expr := range cfg.thresholds {
		t, err := scenarios.ParseThreshold(expr)
		if err != nil {
			return usagef("--threshold: %w", err)
		}
		sc.Thresholds = append(sc.Thresholds, t)
	}
	if cfg.sourceIPs != nil {
		sc.SourceIPs = cfg.sourceIPs
	}
	if cfg.http2Set {
		sc.HTTP2 = cfg.http2
	}
	if cfg.insecureSet {
		sc.Insecure = cfg.insecure
	}
	return nil
}

// progressMode picks the live view: none with --quiet, bars on a
// terminal, plain lines otherwise.
func progressMode(cfg *runConfig, e *env) progress.Mode {
	switch {
	case cfg.quiet:
		return progress.Off
	case e.stderrIsTerminal:
		return progress.Bars
	default:
		return progress.Lines
	}
}

// liveSnapshot is what the live view shows: the aggregator's counters and
// live percentiles, with the swarm's own view of time, stage, target and
// open streams (which the aggregator only learns of with a delay), and the
// generator's health over the last second. The event rate is the last
// tick's while running, the run's average at the end.
func liveSnapshot(a reports.Snapshot, st swarm.Status, gen health.Measures, sc *scenarios.Scenario, embedded bool) progress.Snapshot {
	eps := a.EventsPerS
	if a.Done && a.Elapsed > 0 { // the final line: the run's average
		eps = float64(a.Events) / a.Elapsed.Seconds()
	}
	open := sc.Load.Model == scenarios.Open
	return progress.Snapshot{
		Generator:  liveGenerator(gen, a.LagP99, open, embedded),
		Elapsed:    st.Elapsed,
		Duration:   sc.Duration,
		Stage:      st.StageName,
		Target:     st.Target,
		Open:       sc.Load.Model == scenarios.Open,
		Active:     st.Active,
		Started:    a.Started,
		Events:     a.Events,
		EventsPerS: eps,
		Errors:     a.Errors,
		TTFTP50:    a.TTFTP50,
		TTFTP99:    a.TTFTP99,
		LagP99:     a.LagP99,
	}
}

// liveGenerator is the live view's word on the generator: "ok" or
// "DEGRADED", and its measures over the last second ("" before the first
// second is measured).
func liveGenerator(m health.Measures, lag time.Duration, open, embedded bool) string {
	if m.Wall <= 0 {
		return ""
	}
	v := health.Judge(health.Input{Measures: m, Lag: lag, HasLag: open && lag > 0, EmbeddedMock: embedded}, health.DefaultLimits)
	word := "ok"
	if v.Degraded {
		word = "DEGRADED"
	}
	return strings.TrimSpace(word + " " + m.Short())
}

// runMeta is what runFinish needs to know about the run.
type runMeta struct {
	sc          *scenarios.Scenario // this process's share (its shard)
	planJSON    []byte              // the whole plan, redacted
	planID      string
	health      *health.Measures
	embedded    bool
	interrupted bool
	took        time.Duration
}

// runFinish builds the File: the aggregator's results plus the run's
// metadata (version, the plan, shard, environment, generator health,
// notes).
func runFinish(agg *reports.Aggregator, m runMeta) *reports.File {
	envr := reports.HostEnvironment()
	if h, err := os.Hostname(); err == nil {
		envr.Host = h
	}
	envr.FDLimit = fdLimit()
	envr.Target = secret.URL(m.sc.URL)
	envr.EmbeddedMock = m.embedded
	var notes []string
	if m.interrupted {
		notes = append(notes, fmt.Sprintf("interrupted after %.1fs of %s: partial results", m.took.Seconds(), m.sc.Duration))
	}
	return agg.Finish(reports.Meta{
		Version:     version(),
		Scenario:    m.planJSON,
		Plan:        m.planID,
		Health:      m.health,
		Shard:       m.sc.ShardString(),
		Environment: envr,
		Notes:       notes,
	})
}

// runCheckOutputs checks before the run that every output file can be
// created, so that a typo in a path does not cost a whole run.
func runCheckOutputs(cfg *runConfig) error {
	for _, o := range []struct{ flag, path string }{
		{"--out", cfg.out}, {"--html", cfg.html}, {"--junit", cfg.junit}, {"--hlog", cfg.hlog},
	} {
		if o.path == "" {
			continue
		}
		dir := filepath.Dir(o.path)
		st, err := os.Stat(dir)
		if err != nil {
			return usagef("%s %s: %w", o.flag, o.path, err)
		}
		if !st.IsDir() {
			return usagef("%s %s: %s is not a directory", o.flag, o.path, dir)
		}
		if st, err := os.Stat(o.path); err == nil && st.IsDir() {
			return usagef("%s %s: is a directory", o.flag, o.path)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return usagef("%s %s: %w", o.flag, o.path, err)
		}
	}
	return nil
}

// runWriteOutputs writes the JSON, HTML and JUnit files that were asked for,
// and returns every error. The JUnit file holds the baseline comparison
// too, when there is one.
func runWriteOutputs(cfg *runConfig, f *reports.File, cmp *reports.Comparison) []error {
	var errs []error
	for _, o := range []struct {
		flag, path string
		write      func(io.Writer, *reports.File) error
	}{
		{"--out", cfg.out, reports.WriteJSON},
		{"--html", cfg.html, reports.WriteHTML},
		{"--junit", cfg.junit, func(w io.Writer, f *reports.File) error { return reports.WriteRunJUnit(w, f, cmp) }},
	} {
		if o.path == "" {
			continue
		}
		if err := writeFile(o.path, func(w io.Writer) error { return o.write(w, f) }); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.flag, err))
		}
	}
	return errs
}

// writeFile renders into memory, then writes path in one go, so that a
// rendering error leaves no half-written file behind.
func writeFile(path string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// writerOrNil returns w as an io.Writer, or a nil interface when w is nil
// (a typed nil pointer in an interface would not compare equal to nil).
func writerOrNil(w *bufio.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return w
}
