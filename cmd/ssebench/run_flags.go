package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// runUsage is the synopsis of `ssebench run`.
const runUsage = `[SCENARIO.yaml] [--target URL] [--events PRESET] [--header 'Name: value']... [--connections N | --rate R/s] [--duration D]
         [--threshold EXPR]... [--baseline FILE --max-regression 10% --min-delta 1ms]
         [--out FILE.json] [--html FILE] [--junit FILE] [--hlog FILE]
         [--shard I/N | --shard-index I --shard-count N] [--start-at T] [--run-id ID] [--attempt-id ID] [--defer-verdict]
         [--procs N|auto] [--source-ips A-B|auto] [--dial-rate R/s --dial-burst N]
         [--http2] [--insecure] [--quiet] [--metrics-addr HOST:PORT [--metrics-linger D]]

Runs a load test and reports latency (ttft, gap, e2e, ...), throughput and
errors. With no SCENARIO and no --target it starts the mock server in process
on a loopback port and runs the embedded default scenario against it (GET
/v1/stream, 1,000 concurrent streams, 10s). With --target and no SCENARIO,
the target is the whole URL and its events use the generic preset (every
event with data is content; a clean end of the body ends the stream ok);
--events eventsource reads the mock's info, add..., finish convention.

Precedence: flags > SSEBENCH_* environment variables > the scenario file >
built-in defaults. Every flag has an environment variable: SSEBENCH_ and the
flag's name in upper case with - as _, e.g.
  SSEBENCH_TARGET, SSEBENCH_EVENTS, SSEBENCH_HEADER (several headers on separate lines),
  SSEBENCH_CONNECTIONS, SSEBENCH_RATE, SSEBENCH_DURATION,
  SSEBENCH_THRESHOLD (several expressions separated by ;), SSEBENCH_BASELINE,
  SSEBENCH_MAX_REGRESSION, SSEBENCH_MIN_DELTA, SSEBENCH_OUT, SSEBENCH_HTML, SSEBENCH_JUNIT,
  SSEBENCH_HLOG, SSEBENCH_SHARD, SSEBENCH_SHARD_INDEX, SSEBENCH_SHARD_COUNT,
  SSEBENCH_START_AT, SSEBENCH_RUN_ID, SSEBENCH_ATTEMPT_ID, SSEBENCH_DEFER_VERDICT,
  SSEBENCH_PROCS, SSEBENCH_SOURCE_IPS, SSEBENCH_DIAL_RATE, SSEBENCH_DIAL_BURST, SSEBENCH_HTTP2,
  SSEBENCH_INSECURE, SSEBENCH_QUIET, SSEBENCH_METRICS_ADDR, SSEBENCH_METRICS_LINGER.
An SSEBENCH_* variable that no ssebench command reads is an error (exit 2)
naming the closest known one, unless the scenario reads it ({{env.NAME}}).

--header 'Name: value' sets a header of the stream request, replacing the
scenario's headers of that name (SSEBENCH_HEADER's likewise replace the
scenario's, and --header's replace SSEBENCH_HEADER's). Values are templates
like the scenario's, are never printed, and are redacted in every output
when the name is secret (Authorization, Cookie, *-Token, *-Key, ...).

Progress goes to stderr: bars on a terminal, a plain line every 5s
otherwise, nothing with --quiet. The summary goes to stdout.
--metrics-addr serves the live state as Prometheus metrics (ssebench_*,
native and classic histograms) and the Grafana dashboard built on them.

Exit codes: 0 every gate passed; 1 a threshold failed, the run regressed
against --baseline, or no stream succeeded (every stream failed, none
started, or every one was cut before its first event: a load test that
measured only errors fails even without a threshold); 2 usage or scenario
error (file:line); 3 could not run (target unreachable at start, not enough
file descriptors: shard the run); 130 interrupted (partial results are still
written).`

// runConfig is what the command line and the environment ask of a run.
// Fields whose *Set twin is false were not given and leave the scenario's
// value alone.
type runConfig struct {
	scenario string // path of the scenario file, "" for the default

	target         string
	events         scenarios.Preset   // "": the scenario's
	headers        []scenarios.Header // from --header, in order
	envHeaders     []scenarios.Header // from SSEBENCH_HEADER, in order
	connections    int
	connectionsSet bool
	rate           float64
	rateSet        bool
	duration       time.Duration
	durationSet    bool
	thresholds     []string

	baseline string
	compareFlags

	out, html, junit, hlog string

	shardIndex, shardCount int // 1/1 when not sharded
	shardRun               shardRunFlags

	sourceIPs     []netip.Addr
	sourceIPsAuto bool // --source-ips auto
	http2         bool
	http2Set      bool
	insecure      bool
	insecureSet   bool
	quiet         bool

	dialRate  float64 // --dial-rate; 0: the scenario's
	dialBurst int     // --dial-burst; 0: the scenario's

	procs    procsFlag // --procs: unset, N or auto (run_procs.go)
	procsDir string    // --procs-dir: keep the workers' JSON results there
	args     []string  // the command line after "run", for --procs workers

	metricsFlags // --metrics-addr, --metrics-linger: run_metrics.go
}

// parseRunFlags parses `ssebench run`'s arguments and SSEBENCH_*
// environment variables. Flags and the scenario path may come in any
// order; "--" ends the flags. Problems are usage errors (exit 2) naming the
// flag or the variable.
func parseRunFlags(e *env, args []string) (*runConfig, error) {
	c := &runConfig{shardIndex: 1, shardCount: 1, args: args}
	fs := newFlagSet("run", runUsage)
	headerErr := c.registerHeader(fs)
	c.registerRequestFlags(fs)
	c.registerLoadFlags(fs)
	c.registerOutputFlags(fs)
	c.registerNetFlags(fs)
	fs.BoolVar(&c.quiet, "quiet", false, "no live progress on stderr (the summary still goes to stdout)")
	registerProcsFlags(fs, c)
	registerDialFlags(fs, c)
	c.metricsFlags.register(fs)

	pos, err := c.parseArgs(e, fs, args, headerErr)
	if err != nil {
		return nil, err
	}
	if err := c.finish(pos); err != nil {
		return nil, err
	}
	return c, nil
}

// finish checks what the flags and the positional arguments pos say together.
func (c *runConfig) finish(pos []string) error {
	switch len(pos) {
	case 0:
	case 1:
		c.scenario = pos[0]
	default:
		return usagef("want at most one scenario file, got %d: %s", len(pos), strings.Join(pos, " "))
	}
	if err := c.shardRun.resolve(c, c.shardIndex != 1 || c.shardCount != 1); err != nil {
		return err
	}
	if c.connectionsSet && c.rateSet {
		return usagef("--connections and --rate exclude each other: --connections sets a closed model, --rate an open one")
	}
	if c.target != "" {
		if err := checkTarget(c.target); err != nil {
			return usagef("--target: %w", err)
		}
	}
	return nil
}

// registerRequestFlags registers the flags that shape the request and its
// events: --target, --events.
func (c *runConfig) registerRequestFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.target, "target", "", "target `URL`: replaces the scenario URL's scheme and host; with a path, the whole URL (path and query)")
	fs.Func("events", "event rules `PRESET`: generic, eventsource (the mock's info, add..., finish), openai or custom; replaces the scenario's events", func(s string) error {
		p, ok := scenarios.ParsePreset(strings.TrimSpace(s))
		if !ok {
			return fmt.Errorf("%q is not a preset (want generic, eventsource, openai or custom)", s)
		}
		c.events = p
		return nil
	})
}

// registerLoadFlags registers the load model's flags: --connections,
// --rate, --duration.
func (c *runConfig) registerLoadFlags(fs *flag.FlagSet) {
	fs.Func("connections", "closed model: `N` concurrent streams (overrides the scenario's load)", func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("want a positive integer, got %q", s)
		}
		c.connections, c.connectionsSet = n, true
		return nil
	})
	fs.Func("rate", "open model: arrival `rate` of new streams, e.g. 50/s, 600/m or 50 (per second)", func(s string) error {
		r, err := scenarios.ParseRate(s)
		if err != nil {
			return err
		}
		if r <= 0 {
			return fmt.Errorf("want a positive rate such as 50/s, got %q", s)
		}
		c.rate, c.rateSet = r, true
		return nil
	})
	fs.Func("duration", "how long to offer load, `D`: 30s, 5m (overrides the scenario; open streams then get the scenario's grace)", func(s string) error {
		d, err := scenarios.ParseDuration(s)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("want a positive duration such as 30s, got %q", s)
		}
		c.duration, c.durationSet = d, true
		return nil
	})
}

// registerOutputFlags registers the gates and the output files:
// --threshold, --baseline (and the comparison knobs), --out, --html,
// --junit, --hlog.
func (c *runConfig) registerOutputFlags(fs *flag.FlagSet) {
	fs.Func("threshold", "pass/fail gate `EXPR`, e.g. 'ttft.p99 < 500ms' (repeatable; added to the scenario's)", thresholdsFlag(&c.thresholds))
	fs.StringVar(&c.baseline, "baseline", "", "compare with the JSON result `FILE` of an earlier run; exit 1 on regression")
	c.compareFlags.register(fs, "--baseline")
	fs.StringVar(&c.out, "out", "", "write the JSON result to `FILE` (mergeable, re-renderable with 'ssebench report')")
	fs.StringVar(&c.html, "html", "", "write the HTML report to `FILE`")
	fs.StringVar(&c.junit, "junit", "", "write the thresholds (and the --baseline comparison) as JUnit XML to `FILE`")
	fs.StringVar(&c.hlog, "hlog", "", "write every metric's per-second histograms as an HdrHistogram interval log to `FILE`")
}

// registerNetFlags registers how the run splits and connects: --shard (and
// the scheduler's shard flags), --source-ips, --http2, --insecure.
func (c *runConfig) registerNetFlags(fs *flag.FlagSet) {
	fs.Func("shard", "run shard `I/N` of a split run: 1/1 .. N/N (merge the results with 'ssebench report')", func(s string) error {
		i, n, err := scenarios.ParseShard(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		c.shardIndex, c.shardCount = i, n
		return nil
	})
	c.shardRun.register(fs)
	fs.Func("source-ips", "local `addresses` to dial from: a range 127.0.0.2-127.0.0.9, a prefix 127.0.0.0/28, a list a,b,c, or auto: 127.0.0.x addresses for a loopback target, as many as the run's ports need (the default when one address's ports are too few)", func(s string) error {
		if strings.TrimSpace(s) == "auto" {
			c.sourceIPs, c.sourceIPsAuto = nil, true
			return nil
		}
		c.sourceIPsAuto = false
		ips, err := parseSourceIPs(s)
		if err != nil {
			return err
		}
		c.sourceIPs = ips
		return nil
	})
	c.registerProtocolFlags(fs)
}

// applyEnv sets each flag from its SSEBENCH_* variable when that is set, so
// that the command line, parsed afterwards, overrides it.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if v == "" || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = usagef("%s=%q: %w", name, v, e)
		}
	})
	return err
}

// envName is the environment variable of a flag: SSEBENCH_MAX_REGRESSION
// for --max-regression.
func envName(flagName string) string {
	return "SSEBENCH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseInterleaved parses flags that may come before or after positional
// arguments (the standard flag package stops at the first non-flag) and
// returns the positional arguments in order. Everything after "--" is
// positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parsePercent parses a percentage, "10%" or "10", into a fraction (0.10).
func parsePercent(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("want a percentage such as 10%%, got %q", s)
	}
	return f / 100, nil
}

// maxSourceIPs bounds --source-ips, so that a typo cannot allocate
// millions of addresses.
const maxSourceIPs = 4096

// parseSourceIPs parses a comma-separated list of addresses, ranges
// (127.0.0.2-127.0.0.9 or 127.0.0.2-9) and CIDR prefixes, as the
// scenario's source_ips.
func parseSourceIPs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		addrs, err := scenarios.ParseAddrs(part, maxSourceIPs-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, addrs...)
	}
	if len(out) == 0 {
		return nil, errors.New("no address given")
	}
	return out, nil
}

// registerHeader adds --header to fs: each value (one header per line)
// is appended to c.headers. A bad header is not returned to the flag
// package, which would quote the value in its error: it is kept in the
// returned error, for parseRunFlags to report after parsing.
func (c *runConfig) registerHeader(fs *flag.FlagSet) *error {
	var headerErr error
	fs.Func("header", "request header `'Name: value'` of the stream request (repeatable; replaces the scenario's headers of that name; never printed)", func(s string) error {
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimRight(line, "\r"); strings.TrimSpace(line) == "" {
				continue
			}
			h, err := parseHeader(line)
			if err != nil {
				headerErr = cmp.Or(headerErr, err)
				continue
			}
			c.headers = append(c.headers, h)
		}
		return nil
	})
	return &headerErr
}

// parseHeader parses "Name: value". Errors never repeat the value (nor the
// whole argument when it has no colon: it may be a bare token).
func parseHeader(s string) (scenarios.Header, error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	switch {
	case !ok:
		return scenarios.Header{}, errors.New("want 'Name: value' (no colon found; the argument is not shown)")
	case !isHeaderName(name):
		return scenarios.Header{}, errors.New("want 'Name: value': the name is not an HTTP header name (the argument is not shown)")
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return scenarios.Header{}, fmt.Errorf("%s: the value holds CR, LF or NUL (not shown)", name)
	}
	if _, err := scenarios.ParseTemplate(value); err != nil {
		return scenarios.Header{}, fmt.Errorf("%s: the value is not a valid template, e.g. an unclosed {{ (not shown)", name)
	}
	return scenarios.Header{Name: name, Value: value}, nil
}

// isHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// overrideHeaders returns base with every header whose name (compared
// case-insensitively) is set in over replaced by over's, which come last,
// in order.
func overrideHeaders(base, over []scenarios.Header) []scenarios.Header {
	if len(over) == 0 {
		return base
	}
	out := make([]scenarios.Header, 0, len(base)+len(over))
	for _, h := range base {
		if !slices.ContainsFunc(over, func(o scenarios.Header) bool { return strings.EqualFold(o.Name, h.Name) }) {
			out = append(out, h)
		}
	}
	return append(out, over...)
}

// checkTarget checks that a --target is an absolute http(s) URL.
func checkTarget(t string) error {
	scheme, rest, ok := strings.Cut(t, "://")
	if !ok || (scheme != "http" && scheme != "https") || rest == "" || rest[0] == '/' {
		return fmt.Errorf("want an absolute http:// or https:// URL, got %q", secret.URL(t))
	}
	return nil
}

// parseArgs applies the SSEBENCH_* variables to fs, then parses args (flags
// anywhere among them) and returns the positional arguments. The headers
// of SSEBENCH_HEADER are kept apart from --header's (envHeaders), since a
// flag replaces a variable's header of the same name. headerErr is the
// error registerHeader recorded.
func (c *runConfig) parseArgs(e *env, fs *flag.FlagSet, args []string, headerErr *error) ([]string, error) {
	if err := applyEnv(fs, e.getenv); err != nil {
		return nil, err
	}
	if *headerErr != nil {
		return nil, usagef("SSEBENCH_HEADER: %w", *headerErr)
	}
	c.envHeaders, c.headers = c.headers, nil
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if *headerErr != nil {
		return nil, usagef("--header: %w", *headerErr)
	}
	return pos, nil
}

// registerProtocolFlags registers --http2 and --insecure (run and
// capacity share them).
func (c *runConfig) registerProtocolFlags(fs *flag.FlagSet) {
	fs.BoolFunc("http2", "negotiate HTTP/2 (h2 over TLS, h2c prior knowledge over http)", func(s string) error {
		b, err := strconv.ParseBool(s)
		c.http2, c.http2Set = b, true
		return err
	})
	fs.BoolFunc("insecure", "skip TLS certificate verification", func(s string) error {
		b, err := strconv.ParseBool(s)
		c.insecure, c.insecureSet = b, true
		return err
	})
}
