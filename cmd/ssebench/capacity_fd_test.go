//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// capacityChildEnv tells this test binary to run TestCapacityHelperProcess
// as a child with a small open-file limit.
const capacityChildEnv = "CAPACITY_TEST_CHILD_ARGS"

// TestCapacityHelperProcess is not a test of its own: it is the child of
// TestCapacityGeneratorLimitedFiles, run with an open-file limit of 256
// (soft and hard), so that a step of 1,000 connections cannot be held.
func TestCapacityHelperProcess(t *testing.T) {
	spec := os.Getenv(capacityChildEnv)
	if spec == "" {
		t.Skip("the child process of TestCapacityGeneratorLimitedFiles")
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	lim := syscall.Rlimit{Cur: 256, Max: 256}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: func(string) string { return "" }}
	os.Exit(run(context.Background(), e, args))
}

// TestCapacityGeneratorLimitedFiles: a search whose step needs more
// connections than the process may open ends generator-limited (exit 3),
// naming the limit and the fix, and reports no knee.
func TestCapacityGeneratorLimitedFiles(t *testing.T) {
	url := startSlotServer(t, &slotServer{slots: 8, ttft: time.Millisecond, itl: time.Millisecond, tokens: 1})
	spec, _ := json.Marshal([]string{"capacity", "--target", url, "--slo", "ttft.p99 < 1s", "--min", "1000", "--max", "100000", "--quiet"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCapacityHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), capacityChildEnv+"="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitCannotRun {
		t.Fatalf("child: %v, want exit %d\nstdout:\n%s\nstderr:\n%s", err, exitCannotRun, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"capacity: generator-limited: plan needs 1,000 connections but this process may open",
		"no step proved anything about the target", "GEN-LIMITED", "fix: the generator, not the target, was the limit",
		"for a search: ssebench capacity ... --procs "} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "fails at") {
		t.Errorf("a generator-limited search reported a knee:\n%s", out)
	}
}
