package swarm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// Hostile streams: the swarm's memory against servers whose event never
// ends. The swarm runs in a process of its own (this test binary run
// again as TestHelperHostile), so that its peak resident memory (VmHWM)
// is its alone; the hostile server runs in the test's process.

// hostileKind is how an event never ends.
type hostileKind int

const (
	// oneLine: one data line that never ends, as fast as it is read.
	oneLine hostileKind = iota
	// manyLines: data lines of 1 KiB that never reach the empty line.
	manyLines
	// held: an event that fills both the data buffer and the read buffer
	// to just under their limits, then nothing more: every stream holds
	// the documented worst case at the same time.
	held
)

// neverEnding serves an event that never ends; done counts the
// connections that sent the whole of a held payload.
func neverEnding(kind hostileKind, done *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		line := []byte("data: " + strings.Repeat("x", 1017) + "\n") // 1 KiB
		switch kind {
		case oneLine:
			io.WriteString(w, "data: ")
			line = line[:1024]
			for i := range line {
				line[i] = 'x'
			}
		case held:
			for range scenarios.DefaultMaxEvent>>10 - 2 {
				w.Write(line)
			}
			io.WriteString(w, "data: "+strings.Repeat("x", scenarios.DefaultMaxLine-1024))
			w.(http.Flusher).Flush()
			done.Add(1)
			<-r.Context().Done()
			return
		}
		for r.Context().Err() == nil {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}
}

// TestHelperHostile is not a test: TestHostileMemory runs the test binary
// again with SWARM_HOSTILE_URL set, to run SWARM_HOSTILE_N streams
// against the hostile server for SWARM_HOSTILE_D (or, with
// SWARM_HOSTILE_WAIT=1, until a line arrives on stdin) and report its
// peak resident memory and the failures it saw.
func TestHelperHostile(t *testing.T) {
	url := os.Getenv("SWARM_HOSTILE_URL")
	if url == "" {
		t.Skip("helper process")
	}
	n, _ := strconv.Atoi(os.Getenv("SWARM_HOSTILE_N"))
	sc := scenario(t, fmt.Sprintf("url: %s\nevents: generic\nload: {connections: %d}\nduration: %s\ngrace: 0s\n",
		url, n, os.Getenv("SWARM_HOSTILE_D")))
	s, err := New(sc, Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	classes := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range s.Run(ctx) {
			if r.Kind == scenarios.KindEnd && r.Err != scenarios.ErrNone {
				mu.Lock()
				classes[r.Err.String()+": "+r.Detail]++
				mu.Unlock()
			}
			r.Release()
		}
	}()
	if os.Getenv("SWARM_HOSTILE_WAIT") == "1" {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	} else {
		<-done
	}
	fmt.Println("HWM", vmHWM())
	mu.Lock()
	for k, v := range classes {
		fmt.Printf("END %d %s\n", v, k)
	}
	mu.Unlock()
	cancel()
	os.Exit(0)
}

// vmHWM returns this process's peak resident memory in bytes (0 when
// unknown).
func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// helperBinary returns the test binary to run the helper from: this one,
// or under the race detector (whose shadow memory would swamp the
// measurement) one built without it, in t's temporary directory.
func helperBinary(t *testing.T) string {
	if !raceEnabled {
		return os.Args[0]
	}
	path := filepath.Join(t.TempDir(), "swarm.test")
	if out, err := exec.Command("go", "test", "-c", "-o", path, ".").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("building the helper without -race: %v\n%s", err, out)
		}
		t.Skipf("building the helper without -race: %v\n%s", err, out)
	}
	return path
}

// runHostile runs the helper bin with n streams against url; release, when
// not nil, is waited for before the helper reports. It returns the peak
// RSS in bytes and the failures ("COUNT class: detail").
func runHostile(t *testing.T, bin, url string, n int, d time.Duration, release func()) (int64, []string) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestHelperHostile$")
	cmd.Env = append(os.Environ(), "SWARM_HOSTILE_URL="+url, "SWARM_HOSTILE_N="+strconv.Itoa(n), "SWARM_HOSTILE_D="+d.String())
	if release != nil {
		cmd.Env = append(cmd.Env, "SWARM_HOSTILE_WAIT=1")
	}
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if release != nil {
		release()
	}
	io.WriteString(stdin, "report\n")
	var hwm int64
	var ends []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		switch l := sc.Text(); {
		case strings.HasPrefix(l, "HWM "):
			hwm, _ = strconv.ParseInt(strings.TrimPrefix(l, "HWM "), 10, 64)
		case strings.HasPrefix(l, "END "):
			ends = append(ends, strings.TrimPrefix(l, "END "))
		case strings.HasPrefix(l, "ERR "):
			t.Errorf("helper: %s", l)
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if hwm == 0 {
		t.Skip("no VmHWM (not Linux)")
	}
	return hwm, ends
}

// clientQueued returns the bytes received and not yet read on the
// client's connections to port (from /proc/net/tcp and tcp6), and
// whether it could tell.
func clientQueued(port int) (int64, bool) {
	var total int64
	found := false
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 5 {
				continue
			}
			_, rem, _ := strings.Cut(fs[2], ":")
			if p, _ := strconv.ParseInt(rem, 16, 64); int(p) != port {
				continue
			}
			_, rx, _ := strings.Cut(fs[4], ":")
			q, _ := strconv.ParseInt(rx, 16, 64)
			total += q
			found = true
		}
	}
	return total, found
}

// TestHostileMemory: 200 streams of an event that never ends fail as
// parse, with a Detail that names the limit and how to raise it; and when
// every stream holds an event just under both limits at once (the worst
// case), the swarm's process stays within the documented bound: max_line
// + max_event per stream, twice over for the garbage collector's
// headroom, plus 64 MiB for the process. SWARM_HOSTILE_STREAMS sets the
// number of streams. Memory is measured, not time.
func TestHostileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n := 200
	if v, err := strconv.Atoi(os.Getenv("SWARM_HOSTILE_STREAMS")); err == nil && v > 0 {
		n = v
	}
	bin := helperBinary(t)
	perStream := int64(scenarios.DefaultMaxLine + scenarios.DefaultMaxEvent)
	bound := 2*int64(n)*perStream + 64<<20
	for _, tc := range []struct {
		name string
		kind hostileKind
		want string
	}{
		{"line", oneLine, "parse: line over 262144 bytes (max_line; raise it in the scenario)"},
		{"lines", manyLines, "parse: event over 262144 bytes (max_event; raise it in the scenario)"},
		{"held", held, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var done atomic.Int64
			srv := httptest.NewServer(neverEnding(tc.kind, &done))
			defer srv.Close()
			var release func()
			if tc.kind == held {
				port := srv.Listener.Addr().(*net.TCPAddr).Port
				release = func() {
					// Every stream's payload written and read (bounded).
					for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
						if q, ok := clientQueued(port); done.Load() >= int64(n) && ok && q == 0 {
							return
						}
					}
					t.Errorf("the streams did not all receive their payload: %d of %d sent", done.Load(), n)
				}
			}
			d := 2 * time.Second
			if release != nil {
				d = time.Hour // until released
			}
			hwm, ends := runHostile(t, bin, srv.URL+"/", n, d, release)
			t.Logf("%d streams, %s: peak RSS %.1f MiB (%.0f KiB/stream; bound %.0f MiB); failures %v",
				n, tc.name, float64(hwm)/(1<<20), float64(hwm)/float64(n)/1024, float64(bound)/(1<<20), ends)
			if hwm > bound {
				t.Errorf("peak RSS %.1f MiB, over the bound %.1f MiB", float64(hwm)/(1<<20), float64(bound)/(1<<20))
			}
			if tc.want == "" {
				return
			}
			if len(ends) != 1 || !strings.HasSuffix(ends[0], " "+tc.want) {
				t.Errorf("failures %v, want all %q", ends, tc.want)
			}
		})
	}
}
