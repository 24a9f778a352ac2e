package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/reports/wire"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/swarm"
)

// Bounds of what the parent keeps of a worker's stderr: the last
// tailLines lines of at most tailLineBytes each (the tail shown when the
// worker dies), and at most forwardLines lines forwarded to the parent's
// stderr over the run (a worker that floods stderr cannot flood the
// parent's).
const (
	tailLines     = 20
	tailLineBytes = 512
	forwardLines  = 200
)

// procChild is one worker process and what the parent learnt of it.
type procChild struct {
	k     int // its index in the fleet, from 0
	spec  workerSpec
	cmd   *exec.Cmd
	pid   int
	live  *reports.LiveState
	stat  atomic.Pointer[wire.Status]
	tail  tailBuffer
	mu    sync.Mutex
	final *wire.Frame // the Result or Error frame
	perr  error       // a protocol error on the pipe
	exit  error       // cmd.Wait's
	done  chan struct{}
	// interrupted is set when the parent sent the worker an interrupt.
	interrupted atomic.Bool
}

// name is how messages name the worker: "shard 2/3 (pid 4242)".
func (c *procChild) name() string { return fmt.Sprintf("shard %s (pid %d)", c.spec.Shard, c.pid) }

// procFleet is the parent's set of workers.
type procFleet struct {
	e        *env
	cmd      string // the workers' subcommand, for messages
	exe      string
	args     []string
	env      []string
	dir      string
	hlog     *reports.HLogMerge // --hlog: the workers' ticks go there; nil without
	children []*procChild
	fwd      atomic.Int64 // stderr lines forwarded so far
}

// start starts one worker per spec.
func (f *procFleet) start(specs []workerSpec) error {
	for k, spec := range specs {
		c := &procChild{k: k, spec: spec, done: make(chan struct{})}
		c.live = reports.NewLiveState(c.spec.Shard)
		if err := f.startOne(c); err != nil {
			return fmt.Errorf("--procs: start worker shard %s: %w", c.spec.Shard, err)
		}
		f.children = append(f.children, c)
	}
	return nil
}

// startOne starts worker c with its frame pipe on descriptor 3 and its
// stderr read line by line.
func (f *procFleet) startOne(c *procChild) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	er, ew, err := os.Pipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	cmd := exec.Command(f.exe, f.args...)
	cmd.Env = append(append([]string{}, f.env...), specEnv(c.spec))
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, ew
	cmd.SysProcAttr = workerSysProcAttr()
	err = cmd.Start()
	pw.Close()
	ew.Close()
	if err != nil {
		pr.Close()
		er.Close()
		return err
	}
	c.cmd, c.pid = cmd, cmd.Process.Pid
	var readers sync.WaitGroup
	readers.Go(func() { f.readFrames(c, pr) })
	readers.Go(func() { f.readStderr(c, er) })
	go func() {
		readers.Wait() // both pipes at EOF: the worker (and its children) closed them
		c.exit = cmd.Wait()
		close(c.done)
	}()
	return nil
}

// readFrames applies the worker's frames until its pipe closes.
func (f *procFleet) readFrames(c *procChild, r io.ReadCloser) {
	defer r.Close()
	if f.hlog != nil {
		defer f.hlog.Done(c.k) // no tick comes after the pipe's end
	}
	wr := wire.NewReader(r)
	for {
		fr, err := wr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.mu.Lock()
				c.perr = err
				c.mu.Unlock()
				_, _ = io.Copy(io.Discard, r) // keep the worker from blocking on a full pipe
			}
			return
		}
		switch fr.Type {
		case wire.DeltaFrame:
			c.live.Apply(fr.Delta)
		case wire.StatusFrame:
			c.stat.Store(fr.Status)
		case wire.IntervalFrame:
			if f.hlog != nil {
				f.hlog.Add(c.k, fr.Interval)
			}
		case wire.ResultFrame, wire.ErrorFrame:
			c.mu.Lock()
			c.final = fr
			c.mu.Unlock()
		}
	}
}

// readStderr keeps the tail of the worker's stderr and forwards its lines,
// prefixed with the worker's shard, up to forwardLines over the run.
func (f *procFleet) readStderr(c *procChild, r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		c.tail.add(line)
		switch k := f.fwd.Add(1); {
		case k <= forwardLines:
			fmt.Fprintf(f.e.stderr, "ssebench %s: worker %s: %s\n", f.cmd, c.spec.Shard, truncate(line, tailLineBytes))
		case k == forwardLines+1:
			fmt.Fprintf(f.e.stderr, "ssebench %s: (more worker output is not shown; a worker that dies still shows its last lines)\n", f.cmd)
		}
	}
	if sc.Err() != nil { // a line over 64 KiB: drain, keep the worker unblocked
		_, _ = io.Copy(io.Discard, r)
	}
}

// supervise waits for every worker to end. ctx's end (Ctrl-C) sends each
// an interrupt, so that each writes its partial result. A worker that dies
// (ends without its final frame, or with a code other than 0, 1 or 130)
// stops the others and is returned.
func (f *procFleet) supervise(ctx context.Context) *procChild {
	ended := make(chan *procChild, len(f.children))
	for _, c := range f.children {
		go func() { <-c.done; ended <- c }()
	}
	var dead *procChild
	var kill <-chan time.Time // armed once the workers were told to stop
	stopping := func(sig os.Signal) {
		f.stopAll(sig)
		if kill == nil {
			kill = time.After(workerGrace)
		}
	}
	for left := len(f.children); left > 0; {
		select {
		case c := <-ended:
			left--
			if dead == nil && !c.ok() {
				dead = c
				stopping(syscall.SIGTERM)
			}
		case <-ctx.Done():
			stopping(os.Interrupt)
			ctx = context.Background() // once
		case <-kill:
			f.stopAll(syscall.SIGKILL)
		}
	}
	return dead
}

// ok reports whether the worker ended well: its final frame is a Result
// and it exited 0, 1 (a gate failed in its share) or 130 (interrupted),
// or it was interrupted before its run started (an Error frame with 130,
// and no result to merge).
func (c *procChild) ok() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perr == nil && c.final == nil && c.interrupted.Load() && diedOf(c.exit, syscall.SIGINT) {
		return true // interrupted before it could catch the signal: nothing to merge
	}
	if c.perr != nil || c.final == nil {
		return false
	}
	if c.final.Type != wire.ResultFrame && (c.final.Error == nil || c.final.Error.Exit != exitInterrupted) {
		return false
	}
	code := 0
	if ee, isExit := c.exit.(*exec.ExitError); isExit {
		code = ee.ExitCode()
	} else if c.exit != nil {
		return false
	}
	return code == exitOK || code == exitGateFailed || code == exitInterrupted
}

// diedOf reports whether a process's Wait error says sig killed it.
func diedOf(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// failure is the error of a run whose worker c died, or could not run
// (its Error frame: then the worker's own exit code, 2 or 3, is the run's).
// what names what the workers ran ("run", "step").
func (c *procChild) failure(dir string, kept bool, what string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil && c.final.Type == wire.ErrorFrame && c.perr == nil {
		err := fmt.Errorf("worker %s could not run: %s", c.name(), c.final.Error.Message)
		if c.final.Error.Exit == exitUsage {
			return usageErr(err)
		}
		return cannotRun(err)
	}
	why := "it ended without its result"
	switch {
	case c.perr != nil:
		why = c.perr.Error()
	case c.final != nil && c.final.Type == wire.ErrorFrame:
		why = c.final.Error.Message
	}
	status := "exited"
	if c.exit != nil {
		status = c.exit.Error() // "signal: killed", "exit status 3"
	}
	msg := fmt.Sprintf("%v: worker %s %s: %s; the %s is incomplete, no merged result was written", errWorkerDied, c.name(), status, why, what)
	if kept {
		msg += fmt.Sprintf(" (the other workers' results, partial, are in %s)", dir)
	}
	if t := c.tail.String(); t != "" {
		msg += "\n  its stderr ended with:\n    " + strings.ReplaceAll(t, "\n", "\n    ")
	}
	return errors.New(msg)
}

// stopAll sends sig to every worker still running.
func (f *procFleet) stopAll(sig os.Signal) {
	for _, c := range f.children {
		select {
		case <-c.done:
		default:
			if sig == os.Interrupt {
				c.interrupted.Store(true)
			}
			_ = c.cmd.Process.Signal(sig)
		}
	}
}

// wait waits for every started worker to end (after stopAll).
func (f *procFleet) wait() {
	for _, c := range f.children {
		<-c.done
	}
}

// live returns the merged live view of the workers and their summed
// swarm status.
func (f *procFleet) live() (reports.LiveView, swarm.Status) {
	views := make([]reports.LiveView, 0, len(f.children))
	var st swarm.Status
	for _, c := range f.children {
		views = append(views, c.live.ViewMetrics(scenarios.TTFT.String(), scenarios.Queue.String()))
		if s := c.stat.Load(); s != nil {
			st.Elapsed = max(st.Elapsed, s.Elapsed)
			st.Target += s.Target
			st.Active += s.Active
			if st.StageName == "" {
				st.StageName = s.StageName
			}
		}
	}
	return reports.MergeViews(views...), st
}

// merge reads every worker's JSON result and merges them (exactly: counts
// add up, histograms merge losslessly). A worker interrupted before its
// run started has none; with no result at all the run was interrupted
// before it started.
func (f *procFleet) merge() (*reports.File, error) {
	files := make([]*reports.File, 0, len(f.children))
	for _, c := range f.children {
		c.mu.Lock()
		empty := c.final == nil || c.final.Type != wire.ResultFrame
		c.mu.Unlock()
		if empty {
			continue
		}
		r, err := reports.ReadFile(c.spec.Out)
		if err != nil {
			return nil, fmt.Errorf("--procs: the result of worker %s: %w", c.name(), err)
		}
		files = append(files, r)
	}
	if len(files) == 0 {
		return nil, interrupted(errors.New("interrupted before the run started"))
	}
	m, err := reports.Merge(files...)
	if err != nil {
		return nil, fmt.Errorf("--procs: merge the workers' results: %w", err)
	}
	return m, nil
}

// tailBuffer keeps the last tailLines lines written to it, each cut at
// tailLineBytes. Safe for concurrent use.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == tailLines {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:tailLines-1]
	}
	t.lines = append(t.lines, truncate(line, tailLineBytes))
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// truncate cuts s at n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// workerGrace bounds how long the parent waits for workers after it told
// them to stop (Ctrl-C, or another worker died) before it kills them.
const workerGrace = 30 * time.Second
