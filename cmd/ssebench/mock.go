package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/mockserver/fleet"
)

func init() {
	register(&command{
		name:    "mock",
		summary: "run the mock SSE / OpenAI-style server, with timing and fault profiles",
		run:     runMock,
	})
}

const mockHelp = `Serves, on loopback by default:
  GET  /v1/stream                named events: info (id 0, with retry), add (ids 1..T), finish (id T+1)
  POST /v1/chat/completions      OpenAI-compatible; "stream":true gives chat.completion.chunk events then [DONE]
  POST /v1/sessions              JSON parameters -> {"id":...}; then GET /v1/sessions/{id}/stream
  GET  /v1/models, /metrics (Prometheus), /healthz
Every stream resumes statelessly from Last-Event-ID: id k continues with event k+1;
the final id gets 204; an unknown id gets 400 with a JSON error.

Per-request query parameters override the flags below:
  ttft, itl (distributions), tokens, chunk, seed, retry, heartbeat, model,
  prompt_tokens, fault (comma-separated; "none" clears the server-wide faults).
  Example: curl -N 'http://127.0.0.1:8080/v1/stream?ttft=200ms&itl=20ms~5ms&tokens=64&seed=7'

Distributions (--ttft, --itl, ?ttft=, ?itl=); durations in Go syntax, bare integers are ms:
  200ms                  fixed
  200ms~50ms             uniform jitter, 150ms..250ms (also 200ms+-50ms)
  uniform(150ms,250ms)   uniform between two bounds
  lognormal(200ms,0.5)   log-normal, median 200ms, sigma 0.5; optional cap: lognormal(200ms,0.5,2s)

Every flag can also be set by an environment variable SSEBENCH_<FLAG> (upper case,
'-' as '_'), e.g. SSEBENCH_ADDR, SSEBENCH_TOKEN; a flag on the command line wins.
`

// mockFaultList is the repeatable --fault flag. Values from the environment
// are replaced, not extended, by the first value on the command line.
type mockFaultList struct {
	vals    []string
	fromEnv bool
}

func (l *mockFaultList) String() string { return strings.Join(l.vals, ",") }
func (l *mockFaultList) Set(v string) error {
	if l.fromEnv {
		l.vals, l.fromEnv = nil, false
	}
	l.vals = append(l.vals, v)
	return nil
}

// mockDuration is a time.Duration flag that also takes a bare integer as
// milliseconds (the unit of the SSE retry field).
type mockDuration struct{ d *time.Duration }

func (m mockDuration) String() string {
	if m.d == nil {
		return ""
	}
	return m.d.String()
}

func (m mockDuration) Set(v string) error {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("negative duration %q", v)
		}
		*m.d = time.Duration(n) * time.Millisecond
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. 3s, 500ms, or a bare integer of ms)", v)
	}
	if d < 0 {
		return fmt.Errorf("negative duration %q", v)
	}
	*m.d = d
	return nil
}

func runMock(ctx context.Context, e *env, args []string) error {
	cfg := mockserver.DefaultConfig()
	fs := newFlagSet("mock", "[flags]")
	addr := fs.String("addr", mockserver.DefaultAddr, "listen `address` (host:port; port 0 picks a free one); loopback by default, any other address is announced with a warning")
	fs.Var(&cfg.TTFT, "ttft", "time to first token `distribution`, from the moment the stream holds a slot")
	fs.Var(&cfg.ITL, "itl", "inter-token gap `distribution` between content events")
	fs.IntVar(&cfg.Tokens, "tokens", cfg.Tokens, fmt.Sprintf("tokens per stream (0..%d); the chat body's max_tokens overrides it", mockserver.MaxTokens))
	fs.IntVar(&cfg.Chunk, "chunk", cfg.Chunk, "tokens per content event")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the generated text (same seed, same bytes)")
	fs.Var(mockDuration{&cfg.Heartbeat}, "heartbeat", "idle `time` before a ': heartbeat' comment (0 = none)")
	fs.Var(mockDuration{&cfg.Retry}, "retry", "reconnection `time` advertised in the first event's retry field (bare integer = ms)")
	fs.IntVar(&cfg.Slots, "slots", 0, "parallel generation slots, like an inference server (0 = unlimited); the rest queue, see ssebench_mock_queue_depth")
	fs.IntVar(&cfg.QueueMax, "queue", 0, "with --slots: streams allowed to wait; more get 429 (0 = unbounded)")
	fs.StringVar(&cfg.Token, "token", "", "require 'Authorization: Bearer `TOKEN`' on /v1/ endpoints (401 otherwise); prefer SSEBENCH_TOKEN")
	var faults mockFaultList
	fs.Var(&faults, "fault", "server-wide fault `profile`s, comma-separated or repeated (see the table below)")
	fs.Var(&faults, "profile", "alias of --fault")
	fs.StringVar(&cfg.CORSOrigin, "cors-origin", cfg.CORSOrigin, "Access-Control-Allow-Origin `value` (empty = no CORS headers); with --cors-credentials the origin admitted (* = any)")
	fs.BoolVar(&cfg.CORSCredentials, "cors-credentials", false, "serve credentialed cross-origin clients (EventSource withCredentials, fetch credentials: include): echo the request's Origin, Access-Control-Allow-Credentials: true, Vary: Origin")
	fs.StringVar(&cfg.Model, "model", cfg.Model, "model `name` reported when a request names none")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", cfg.MaxBodyBytes, "request body limit in `bytes`; larger bodies get 413")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "deadline for each write to a client that stopped reading (0 = none)")
	fs.DurationVar(&cfg.BodyTimeout, "body-timeout", cfg.BodyTimeout, "time allowed to receive a request body; a slower one gets 408 and a closed connection (0 = the default)")
	reuseport := fs.Bool("reuseport", false, "set SO_REUSEPORT so several mock processes can share one port")
	var procs mockProcs
	fs.Var(&procs, "procs", "serve as `N` worker processes on one port (1.."+strconv.Itoa(fleet.MaxWorkers)+"), or auto: one, and more as they fill (Linux; see below)")
	fdLimit := fs.Int("fd-limit", 0, "with --procs: each worker's open-file `limit` (at least "+strconv.Itoa(fleet.MinFDLimit)+"; 0 = the hard limit)")
	listFaults := fs.Bool("list-faults", false, "print the fault profiles as a table on stdout and exit")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: ssebench mock [flags]\n\n%s\nFlags:\n", mockHelp)
		fs.PrintDefaults()
		fmt.Fprintln(w, "\nFault profiles (--fault NAME, ?fault=NAME; several comma-separated):")
		mockWriteFaults(w)
		fmt.Fprint(w, mockProcsHelp)
	}

	// SSEBENCH_<FLAG> sets a flag's default; the command line wins.
	var envErrs []error
	var envUsed []string // NAME=value, passed on to --procs workers
	fs.VisitAll(func(f *flag.Flag) {
		name := "SSEBENCH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := e.getenv(name)
		if v == "" || f.Name == "profile" || f.Name == "list-faults" {
			return
		}
		envUsed = append(envUsed, name+"="+v)
		if err := fs.Set(f.Name, v); err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s=%q: %w", name, v, err))
		}
	})
	if err := errors.Join(envErrs...); err != nil {
		return usageErr(err)
	}
	faults.fromEnv = len(faults.vals) > 0
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (ssebench mock takes only flags)", fs.Arg(0))
	}
	if *listFaults {
		mockWriteFaults(e.stdout)
		return nil
	}
	cfg.Faults = faults.vals
	if _, ok := fleet.Worker(e.getenv); ok {
		return runMockWorker(ctx, e, cfg)
	}
	if procs.set {
		if *reuseport {
			return usagef("--reuseport and --procs exclude each other: the workers of --procs share their port among themselves")
		}
		return runMockFleet(ctx, e, cfg, mockFleetArgs{addr: *addr, procs: procs, fdLimit: *fdLimit, args: args, env: envUsed})
	}
	if *fdLimit != 0 {
		return usagef("--fd-limit applies to the workers of --procs")
	}
	cfg.ErrorLog = log.New(e.stderr, "ssebench mock: ", 0)
	srv, err := mockserver.New(cfg)
	if err != nil {
		return usageErr(err)
	}
	ln, err := mockserver.Listen(ctx, *addr, *reuseport)
	if err != nil {
		return cannotRun(err)
	}
	mockWarnBeyondLoopback(e, ln.Addr().String())
	fmt.Fprintf(e.stderr, "ssebench mock: listening on http://%s (%s)\n", ln.Addr(), mockDescribe(&cfg))
	if err := srv.Serve(ctx, ln); err != nil {
		return cannotRun(err)
	}
	fmt.Fprintln(e.stderr, "ssebench mock: stopped")
	return nil
}

// mockWarnBeyondLoopback warns when addr is not a loopback address.
func mockWarnBeyondLoopback(e *env, addr string) {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(e.stderr, "ssebench mock: warning: listening beyond loopback on %s\n", addr)
		}
	}
}

// mockDescribe is the summary of cfg on the "listening on" line.
func mockDescribe(cfg *mockserver.Config) string {
	desc := fmt.Sprintf("ttft %v, itl %v, %d tokens", cfg.TTFT, cfg.ITL, cfg.Tokens)
	if cfg.Slots > 0 {
		desc += fmt.Sprintf(", %d slots", cfg.Slots)
	}
	if len(cfg.Faults) > 0 {
		desc += ", faults " + strings.Join(cfg.Faults, ",")
	}
	if cfg.Token != "" {
		desc += ", bearer auth"
	}
	if cfg.CORSCredentials {
		desc += ", CORS with credentials"
	}
	return desc
}

// mockWriteFaults prints the fault table.
func mockWriteFaults(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PROFILE\tNEGATIVE CONTROL FOR\tWHAT THE SERVER DOES")
	for _, f := range mockserver.Faults() {
		check := f.Check
		if check == "" {
			check = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Usage(), check, f.Description)
	}
	_ = tw.Flush()
}
