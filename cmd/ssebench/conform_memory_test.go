//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/hostile"
	"github.com/ssebench/ssebench/mockserver"
)

// maxConformRSS is the acceptance bound on the peak resident memory of one
// conform run against a hostile server.
const maxConformRSS = 512 << 20

// TestConformMemoryIsBounded runs the built ssebench binary (not this test
// binary, which may carry the race detector's memory overhead) against
// servers that try to make a client hold everything: floods of empty
// lines and of comments, a gzip bomb, one 200 MiB line, an event that never
// ends, and the mock's 64 MiB event. The peak resident memory of each run
// (the kernel's maxrss of the child) must stay under 512 MiB; the figures
// are logged (go test -v).
func TestConformMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ssebench and reads about 1 GiB from loopback servers")
	}
	bin := filepath.Join(t.TempDir(), "ssebench")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mock, err := mockserver.Start(mockserver.DefaultConfig(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer mock.Stop()

	targets := []struct {
		name   string
		url    string
		checks map[string]string // check -> expected status
	}{
		{"100 MiB of \\n", hostile.StartRaw(t, hostile.Flood("\n", 100<<20)).URL(), map[string]string{"stream/first-event": "fail"}},
		{"100 MiB of :\\n", hostile.StartRaw(t, hostile.Flood(":\n", 100<<20)).URL(), map[string]string{"stream/first-event": "fail"}},
		{"gzip bomb, 1 GiB of \\n", hostile.StartRaw(t, hostile.GzipBomb(1<<30)).URL(), map[string]string{"stream/first-event": "fail"}},
		{"a 200 MiB data line", hostile.StartRaw(t, hostile.HugeLine(200<<20)).URL(), map[string]string{"framing/event-size": "warn"}},
		{"a never-ending event", hostile.StartRaw(t, hostile.Endless("retry: 1000\n", "data: x\n")).URL(), map[string]string{"framing/event-size": "warn"}},
		{"mock huge-event=67108864", mock.URL + "/v1/stream?ttft=10ms&itl=10ms&tokens=5&fault=huge-event=67108864", map[string]string{"framing/event-size": "warn"}},
	}
	for _, tt := range targets {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "c.json")
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "conform", "--target", tt.url, "--max-time", "10s", "--first-event", "2s", "--json", out)
			cmd.Env = withoutSSEBenchEnv(os.Environ())
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && (!errorsAs(err, &ee) || ee.ExitCode() != exitGateFailed) {
				t.Fatalf("conform: %v\n%s", err, stderr.String())
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
			t.Logf("%s: peak RSS %d MiB", tt.name, rss>>20)
			if rss >= maxConformRSS {
				t.Errorf("peak RSS %d MiB, over the %d MiB bound", rss>>20, maxConformRSS>>20)
			}
			var r struct {
				Checks []struct{ ID, Status, Message string }
			}
			b, err := os.ReadFile(out)
			if err != nil || json.Unmarshal(b, &r) != nil {
				t.Fatalf("JSON report: %v %.300s", err, b)
			}
			for _, c := range r.Checks {
				if want, ok := tt.checks[c.ID]; ok && c.Status != want {
					t.Errorf("%s: %s %q, want %s", c.ID, c.Status, c.Message, want)
				}
				if strings.HasPrefix(c.Message, "internal error") {
					t.Errorf("%s: %s", c.ID, c.Message)
				}
			}
		})
	}
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// withoutSSEBenchEnv returns environ without its SSEBENCH_* variables: a
// child ssebench must not read the flags (or fail on the unknown names) of
// whatever shell or CI job runs the tests.
func withoutSSEBenchEnv(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, envPrefix) {
			out = append(out, kv)
		}
	}
	return out
}
