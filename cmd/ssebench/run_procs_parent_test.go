//go:build linux

package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// procsParentEnv carries the arguments of the run --procs parent that
// TestRunProcsParentHelper plays (outside the SSEBENCH_ namespace: the
// workers inherit it, and they refuse unknown SSEBENCH_* variables).
const procsParentEnv = "PROCS_PARENT_HELPER_ARGS"

// TestRunProcsParentHelper is not a test: TestRunProcsWorkersDieWithParent
// re-executes the test binary with procsParentEnv set, so that the run
// --procs parent is a process of its own that can be killed.
func TestRunProcsParentHelper(t *testing.T) {
	spec := os.Getenv(procsParentEnv)
	if spec == "" {
		t.Skip("helper process for TestRunProcsWorkersDieWithParent")
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	runCLI(t, t.Context(), nil, args...)
}

// TestRunProcsWorkersDieWithParent: when the parent of run --procs dies
// without a chance to stop them (SIGKILL), the kernel ends its workers
// (Pdeathsig): no orphan keeps loading the target.
func TestRunProcsWorkersDieWithParent(t *testing.T) {
	skipUnlessLinux(t)
	if testing.Short() {
		t.Skip("starts a run --procs parent process and kills it")
	}
	t.Parallel()
	m := runStartMock(t, nil)
	work := filepath.Join(t.TempDir(), "workers")
	spec, err := json.Marshal([]string{"run", "--target", m.URL + "/v1/stream?ttft=10ms&itl=20ms&tokens=30", "--events", "eventsource",
		"--connections", "4", "--duration", "10m", "--procs", "2", "--procs-dir", work, "--quiet"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	parent := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunProcsParentHelper$", "-test.count=1")
	parent.Env = append(withoutSSEBenchEnv(os.Environ()), procsParentEnv+"="+string(spec))
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Wait() //nolint:errcheck // killed below; its exit status is the kill
	workers := waitWorkers(t, work, 2)
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The kernel signals the workers when the parent's thread dies; they
	// exit on their own. Bounded wait (60 s), not a timing assertion.
	for range 2400 {
		if len(procsWorkers(t, work)) == 0 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	left := procsWorkers(t, work)
	for _, pid := range left {
		_ = syscall.Kill(pid, syscall.SIGKILL) // do not leave them behind
	}
	t.Errorf("workers %v (of %v) still run 60 s after their parent was killed", left, workers)
}
