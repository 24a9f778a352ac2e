package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/reports/wire"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/swarm"
)

// runWorkerEnv marks a process as a worker of `run --procs` or `capacity
// --procs`: its value is the worker's spec (JSON), set by the parent;
// users do not set it.
const runWorkerEnv = "SSEBENCH_RUN_WORKER"

// workerFD is the descriptor of the frame pipe in a worker (ExtraFiles[0]).
const workerFD = 3

// workerSpec is what the parent tells a worker beyond the command line.
type workerSpec struct {
	Shard string `json:"shard"` // "I/N" of the whole run
	Out   string `json:"out"`   // where to write the JSON result
	// SourceIPs are the worker's share of the run's source addresses;
	// AllSourceIPs all of them (the plan keeps the whole list, so every
	// worker has the same plan, and the port check judges the whole run).
	SourceIPs    []string `json:"source_ips,omitempty"`
	AllSourceIPs []string `json:"all_source_ips,omitempty"`
	// Step is the capacity step a worker of capacity --procs runs (nil
	// for run --procs).
	Step *workerStep `json:"step,omitempty"`
	// HLog asks the worker for its closed ticks' histograms (Interval
	// frames): the parent writes the run's --hlog.
	HLog bool `json:"hlog,omitempty"`
}

// procWorker is this process's side of the frame pipe when it runs as a
// worker: it sends a hello, a Delta and a Status at every publish of the
// aggregator, and the final Result or Error frame.
type procWorker struct {
	spec  workerSpec
	index int // shard index and count
	count int
	ips   []netip.Addr // its share
	all   []netip.Addr // the run's

	pipe *os.File
	w    *wire.Writer
	wg   sync.WaitGroup
	sw   atomic.Pointer[swarm.Swarm]
	werr atomic.Pointer[error]

	// The aggregator never waits for the pipe: a Delta the writer has not
	// taken yet absorbs the next ones (Delta.Add), so a slow parent costs
	// frames, not the run's timing, and nothing is lost.
	mu      sync.Mutex
	pending *reports.Delta
	status  *wire.Status
	ticks   []*reports.HLogTick // never folded: the parent's --hlog needs each tick
	final   any                 // the Result or Error frame, once the run ended
	kick    chan struct{}       // capacity 1: something is pending
	ended   chan struct{}       // closed with final set
}

// runWorkerFromEnv returns the worker this process is asked to be, or nil.
// The variable is read even with --help, so that it counts as known.
func runWorkerFromEnv(e *env) (*procWorker, error) {
	v := e.getenv(runWorkerEnv)
	if v == "" {
		return nil, nil
	}
	var spec workerSpec
	if err := json.Unmarshal([]byte(v), &spec); err != nil {
		return nil, usagef("%s is set but is not a worker spec (it is set by 'run --procs' for its workers): %v", runWorkerEnv, err)
	}
	i, n, err := scenarios.ParseShard(spec.Shard)
	if err != nil || spec.Out == "" {
		return nil, usagef("%s: bad worker spec (shard %q, out %q)", runWorkerEnv, spec.Shard, spec.Out)
	}
	wk := &procWorker{spec: spec, index: i, count: n}
	for _, l := range []struct {
		from []string
		to   *[]netip.Addr
	}{{spec.SourceIPs, &wk.ips}, {spec.AllSourceIPs, &wk.all}} {
		for _, s := range l.from {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, usagef("%s: source address %q: %v", runWorkerEnv, s, err)
			}
			*l.to = append(*l.to, a)
		}
	}
	return wk, nil
}

// run runs body as a worker: frames go to descriptor 3 while it runs, and
// its outcome is the last frame.
func (w *procWorker) run(body func() error) error {
	w.pipe = os.NewFile(workerFD, "ssebench-run-pipe")
	if w.pipe == nil {
		return cannotRun(errors.New("run --procs worker: no frame pipe on descriptor 3"))
	}
	defer w.pipe.Close()
	w.w = wire.NewWriter(w.pipe)
	w.kick, w.ended = make(chan struct{}, 1), make(chan struct{})
	w.write(&wire.Hello{Shard: w.spec.Shard, PID: os.Getpid()})
	w.wg.Go(w.writeLoop)
	err := body()
	code := exitCode(io.Discard, io.Discard, "run", err)
	_, statErr := os.Stat(w.spec.Out)
	var final any
	switch {
	case (code == exitOK || code == exitGateFailed || code == exitInterrupted) && statErr == nil:
		final = &wire.Result{Path: w.spec.Out, Exit: code}
	case err != nil:
		// Could not run, or interrupted before the run started (then
		// there is no result, and nothing to merge).
		final = &wire.Error{Message: err.Error(), Exit: code}
	default:
		final = &wire.Error{Message: "no result written", Exit: exitCannotRun}
	}
	w.mu.Lock()
	w.final = final
	w.mu.Unlock()
	close(w.ended)
	w.wg.Wait()
	return err
}

// writeLoop writes what is pending whenever there is something, and at
// the end the last Delta and the final frame.
func (w *procWorker) writeLoop() {
	for {
		select {
		case <-w.kick:
			w.flush()
		case <-w.ended:
			w.flush()
			w.mu.Lock()
			f := w.final
			w.mu.Unlock()
			w.write(f)
			return
		}
	}
}

// flush writes the pending ticks, Delta and Status, if any.
func (w *procWorker) flush() {
	w.mu.Lock()
	d, st, ticks := w.pending, w.status, w.ticks
	w.pending, w.status, w.ticks = nil, nil, nil
	w.mu.Unlock()
	for _, t := range ticks {
		w.write(t)
	}
	if d != nil {
		w.write(d)
	}
	if st != nil {
		w.write(st)
	}
}

// write writes one frame; after a write error (the parent is gone) it
// writes nothing more, and the run goes on.
func (w *procWorker) write(f any) {
	if w.werr.Load() != nil {
		return
	}
	if err := w.w.Write(f); err != nil {
		w.werr.Store(&err)
	}
}

// apply makes cfg this worker's share: its shard of the whole run, its
// JSON result where the parent reads it, no other output and no live view
// (the parent draws the whole run's), no baseline (the parent compares).
func (w *procWorker) apply(cfg *runConfig) {
	if w == nil {
		return
	}
	cfg.shardIndex, cfg.shardCount = w.index, w.count
	cfg.out, cfg.html, cfg.junit, cfg.hlog, cfg.baseline = w.spec.Out, "", "", "", ""
	cfg.quiet = true
	cfg.procs = procsFlag{}
	if len(w.all) > 0 {
		cfg.sourceIPs, cfg.sourceIPsAuto = w.all, false
	}
}

// whole tells the worker's swarm about the whole run, for its checks.
func (w *procWorker) whole() swarm.Whole {
	if w == nil {
		return swarm.Whole{}
	}
	return swarm.Whole{Sources: len(w.all)}
}

// share gives the worker's swarm its share of the source addresses, after
// the plan (which names them all) was recorded.
func (w *procWorker) share(sc *scenarios.Scenario) {
	if w != nil && len(w.ips) > 0 {
		sc.SourceIPs = w.ips
	}
}

// watch lets the worker report sw's status with each Delta.
func (w *procWorker) watch(sw *swarm.Swarm) {
	if w != nil {
		w.sw.Store(sw)
	}
}

// onDelta is the aggregator's OnDelta for a worker (nil otherwise).
func (w *procWorker) onDelta() func(*reports.Delta) {
	if w == nil {
		return nil
	}
	return func(d *reports.Delta) {
		var st *wire.Status
		if sw := w.sw.Load(); sw != nil {
			s := sw.Status()
			st = &wire.Status{Elapsed: s.Elapsed, StageName: s.StageName, Target: s.Target, Active: s.Active}
		}
		w.mu.Lock()
		if w.pending == nil {
			w.pending = d
		} else if err := w.pending.Add(d); err != nil { // cannot happen below 2^63 values
			w.werr.Store(&err)
		}
		if st != nil {
			w.status = st
		}
		w.mu.Unlock()
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// onHLogTick is the aggregator's OnHLogTick for a worker whose parent
// writes --hlog (nil otherwise). Ticks queue until the writer takes them:
// one a second, a few KiB each.
func (w *procWorker) onHLogTick() func(*reports.HLogTick) {
	if w == nil || !w.spec.HLog {
		return nil
	}
	return func(t *reports.HLogTick) {
		w.mu.Lock()
		w.ticks = append(w.ticks, t)
		w.mu.Unlock()
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}
