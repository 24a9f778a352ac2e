package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/mockserver/fleet"
)

// mockProcsHelp is the --procs part of `ssebench mock --help`.
const mockProcsHelp = `
Several processes on one port (--procs N|auto, Linux): one process holds only as many
streams as its open-file limit allows, so --procs re-executes ssebench as N workers, each
with its own socket of the port's SO_REUSEPORT group. The kernel routes each new connection
to a random worker that accepts. A worker at its high-water mark (its fd limit minus 3m,
m = max(8, limit/64)) is routed around, hands what is already queued on its socket to a
worker with room, and accepts again at its low-water mark (limit - 5m); it never holds more
than limit - 2m files, so no client meets EMFILE. auto starts one worker and adds one
whenever the others' room falls under a quarter of a worker's mark, while memory allows (up
to 64). A worker that dies is restarted on its socket (at most 5 times); GET /metrics on the
port answers with the sum over all workers; Ctrl-C or SIGTERM stops them all.
`

// mockProcs is the --procs flag: unset (one process, no supervisor), a
// number of workers, or auto.
type mockProcs struct {
	set  bool
	n    int // 0 with auto
	auto bool
}

func (p *mockProcs) String() string {
	switch {
	case !p.set:
		return ""
	case p.auto:
		return "auto"
	default:
		return strconv.Itoa(p.n)
	}
}

func (p *mockProcs) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "auto" {
		*p = mockProcs{set: true, auto: true}
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > fleet.MaxWorkers {
		return fmt.Errorf("want a number of workers 1..%d, or auto; got %q", fleet.MaxWorkers, v)
	}
	*p = mockProcs{set: true, n: n}
	return nil
}

// mockFleetArgs is what `mock --procs` needs beside the server config.
type mockFleetArgs struct {
	addr    string
	procs   mockProcs
	fdLimit int
	args    []string // the command line after "mock", for the workers
	env     []string // the SSEBENCH_* variables the flags were read from
}

// runMockFleet supervises the workers of `mock --procs` until ctx ends.
func runMockFleet(ctx context.Context, e *env, cfg mockserver.Config, a mockFleetArgs) error {
	if _, err := mockserver.New(cfg); err != nil { // every worker would refuse it
		return usageErr(err)
	}
	if a.fdLimit < 0 || a.fdLimit > 0 && a.fdLimit < fleet.MinFDLimit {
		return usagef("--fd-limit %d: want 0 (the hard limit) or at least %d", a.fdLimit, fleet.MinFDLimit)
	}
	if hard := fdHardLimit(); a.fdLimit > 0 && hard > 0 && uint64(a.fdLimit) > hard {
		return usagef("--fd-limit %d is above the hard open-file limit %d", a.fdLimit, hard)
	}
	exe, err := os.Executable()
	if err != nil {
		return cannotRun(fmt.Errorf("find this program to start its workers: %w", err))
	}
	desc := mockDescribe(&cfg)
	if a.fdLimit > 0 {
		desc = fmt.Sprintf("fd limit %d each, %s", a.fdLimit, desc)
	}
	fc := fleet.Config{
		Addr:    a.addr,
		Procs:   a.procs.n,
		FDLimit: a.fdLimit,
		Command: func() *exec.Cmd {
			c := exec.Command(exe, append([]string{"mock"}, a.args...)...)
			c.Env = append(os.Environ(), a.env...)
			return c
		},
		Log: e.stderr,
		Ready: func(addr string, workers int) {
			mockWarnBeyondLoopback(e, addr)
			n := fmt.Sprintf("%d workers", workers)
			if a.procs.auto {
				n = fmt.Sprintf("auto: %d worker now, up to %d as they fill", workers, fleet.MaxWorkers)
			}
			fmt.Fprintf(e.stderr, "ssebench mock: listening on http://%s (%s; %s)\n", addr, n, desc)
		},
	}
	if err := fleet.Run(ctx, fc); err != nil {
		return cannotRun(err)
	}
	fmt.Fprintln(e.stderr, "ssebench mock: stopped")
	return nil
}

// runMockWorker serves as one worker of a `mock --procs` supervisor.
func runMockWorker(ctx context.Context, e *env, cfg mockserver.Config) error {
	cfg.ErrorLog = log.New(e.stderr, "", 0) // the supervisor prefixes the worker's lines
	if err := fleet.ServeWorker(ctx, cfg, e.getenv); err != nil {
		return cannotRun(err)
	}
	return nil
}
