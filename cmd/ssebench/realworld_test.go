package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The real-world tests point ssebench at SSE servers nobody here wrote,
// used the way their documentation shows: nginx from Debian in front of the
// mock, Node servers (better-sse, Express with compression(), plain
// node:http) and Go servers (tmaxmax/go-sse, r3labs/sse). Each test starts
// its server on a loopback port, waits until it answers, asserts the
// verdict, and stops every process it started by PID at cleanup, also when
// the test fails. A server that needs something installed (nginx, the npm
// packages of testdata/realworld/node) skips when it is missing, except
// under CI=true, where it fails: .ci/run installs them.

// realworldDir holds the fixtures of the real-world tests.
var realworldDir = filepath.Join("testdata", "realworld")

// need skips the test, or fails it under CI=true, when err says that
// something the test needs is missing; hint says how to install it.
func need(t *testing.T, err error, hint string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%v; install it with: %s", err, hint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// nodeServers returns node and the folder of the Node servers, once its
// npm packages are installed.
func nodeServers(t *testing.T) (node, dir string) {
	t.Helper()
	dir = filepath.Join(realworldDir, "node")
	node, err := exec.LookPath("node")
	if err == nil {
		for _, pkg := range []string{"better-sse", "express", "compression"} {
			if _, serr := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); serr != nil {
				err = fmt.Errorf("npm package %s is not installed: %w", pkg, serr)
				break
			}
		}
	}
	need(t, err, "npm ci --prefix cmd/ssebench/testdata/realworld/node")
	return node, dir
}

// proc is a server process a test started. Its stdout is read line by
// line (lines), its stderr kept for failure messages.
type proc struct {
	name   string
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	exited chan struct{}
	err    error // the Wait result, once exited is closed
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stopTimeout bounds how long a process has to exit after SIGTERM before it
// is killed.
const stopTimeout = 5 * time.Second

// startProc starts name with args in dir and registers its stop (SIGTERM,
// then SIGKILL after stopTimeout, both to its PID) as a cleanup.
func startProc(t *testing.T, dir, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	p := &proc{name: filepath.Base(name), cmd: cmd, lines: make(chan string, 1024), stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(p.stop)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody reads them: drop rather than block the server
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p
}

// stop ends the process by its PID: SIGTERM, then SIGKILL if it has not
// exited after stopTimeout.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitLine returns the first stdout line for which match is true, failing
// the test if the process exits first or nothing matches within timeout.
func (p *proc) waitLine(t *testing.T, timeout time.Duration, what string, match func(string) bool) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case l := <-p.lines:
			if match(l) {
				return l
			}
		case <-p.exited:
			t.Fatalf("%s exited (%v) before %s; stderr:\n%s", p.name, p.err, what, p.stderr)
		case <-deadline.C:
			t.Fatalf("%s: no %s within %v; stderr:\n%s", p.name, what, timeout, p.stderr)
		}
	}
}

// listening waits for the {"listening":PORT} line of a Node server and
// returns its base URL.
func (p *proc) listening(t *testing.T) string {
	t.Helper()
	var port int
	p.waitLine(t, 20*time.Second, `the {"listening":PORT} line`, func(l string) bool {
		var m struct{ Listening int }
		return json.Unmarshal([]byte(l), &m) == nil && m.Listening > 0 && func() bool { port = m.Listening; return true }()
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// dialUntil returns nil once addr accepts a
// connection, or why it gave up (p exited, or 10s passed).
func dialUntil(p *proc, addr string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-tick.C:
		case <-p.exited:
			return fmt.Errorf("%s exited (%v) before it listened on %s; stderr:\n%s", p.name, p.err, addr, p.stderr)
		case <-deadline.C:
			return fmt.Errorf("%s did not listen on %s within 10s: %v; stderr:\n%s", p.name, addr, err, p.stderr)
		}
	}
}

// freePort returns a loopback port that was free a moment ago, for a
// server that cannot report the port it bound (nginx).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// verdict is one conform run: its exit code, its console output, and its
// JSON report by check id.
type verdict struct {
	out    conformOut
	report conformJSON
	checks map[string]int // check id -> index in report.Checks
}

// conformAgainst runs `ssebench conform --target target ARGS...` in a child
// process with a JSON report.
func conformAgainst(t *testing.T, target string, args ...string) verdict {
	t.Helper()
	jsonFile := filepath.Join(t.TempDir(), "conform.json")
	out := conformChild(t, append([]string{"conform", "--target", target, "--json", jsonFile}, args...)...)
	v := verdict{out: out, checks: map[string]int{}}
	b, err := os.ReadFile(jsonFile)
	if err == nil {
		err = json.Unmarshal(b, &v.report)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("JSON report: %v", err)
	}
	for i, c := range v.report.Checks {
		v.checks[c.ID] = i
	}
	return v
}

// status returns the status of check id ("" when the report lacks it).
func (v verdict) status(id string) string {
	if i, ok := v.checks[id]; ok {
		return v.report.Checks[i].Status
	}
	return ""
}

// message returns the message of check id.
func (v verdict) message(id string) string {
	if i, ok := v.checks[id]; ok {
		return v.report.Checks[i].Message
	}
	return ""
}

// expect asserts the exit code and the status of each named check, and
// prints the whole console report when any differs.
func (v verdict) expect(t *testing.T, code int, want map[string]string) {
	t.Helper()
	var bad []string
	if v.out.code != code {
		bad = append(bad, fmt.Sprintf("exit code %d, want %d", v.out.code, code))
	}
	for id, st := range want {
		if got := v.status(id); got != st {
			bad = append(bad, fmt.Sprintf("%s is %q, want %q (%s)", id, got, st, v.message(id)))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s\nconsole:\n%s\nstderr:\n%s", strings.Join(bad, "\n"), v.out.stdout, v.out.stderr)
	}
}
