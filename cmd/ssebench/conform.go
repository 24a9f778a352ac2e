package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssebench/ssebench/conformance"
	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

func init() {
	register(&command{
		name:    "conform",
		summary: "check an SSE endpoint against the spec: the conformance suite (Ginkgo), JSON, JUnit, HTML",
		run:     runConform,
	})
}

const conformUsage = `--target URL [flags]

Checks a text/event-stream endpoint against the catalogue of conformance
checks (ssebench conform --list-checks), the way a browser EventSource and a
fetch-based client would use it. The built binary runs the same Ginkgo suite
as 'go test ./conformance': no Go toolchain is needed.

What it sends: the request you shape (--method, --header, --body) plus the
headers of a browser, Accept: text/event-stream, Cache-Control: no-cache,
Pragma: no-cache, and Accept-Encoding: gzip (decoded by ssebench, so that
compression that buffers the stream is caught). With --origin, an Origin
header too (and the CORS check).

What it does, concurrently where independent:
  - reads the stream uninterrupted (--max-events, --max-time, --until-event)
    and times every read at the socket;
  - reads 2 events, drops the connection, reconnects with Last-Event-ID: id(2)
    and compares what follows with the uninterrupted read;
  - cuts inside an event, resumes with the last complete id, expects the cut
    event whole (also after a drop by the server itself);
  - sends an unknown Last-Event-ID;
  - after a stream that ended by itself, reconnects with the final id.
Reconnects are immediate (ssebench does not wait for the retry time).

Redirects are followed as a browser does (at most 20); a hop to another
origin (scheme, host or port) drops every credential header (Authorization,
Cookie, X-Api-Key, ...) for the rest of the chain, and http/redirect shows
the chain. TLS: --insecure skips certificate verification; --ca-cert FILE
trusts the CA certificates of a PEM file.

Memory: the run keeps at most --max-memory (default 128MiB) of the
responses, all connections together, in fixed shares (half for the main
read); a read that used up its share stops, and the checks judge what it
kept (an event larger than that is reported by framing/event-size).

Exit codes: 0 every MUST check passed; 1 a MUST check failed (a server that
accepts the connection but never answers too); 2 usage error; 3 the target
could not be reached at all (or an output could not be written); 130
interrupted (the reports are still written).

Every flag can also be set by an environment variable SSEBENCH_<FLAG> (upper
case, '-' as '_'), e.g. SSEBENCH_TARGET, SSEBENCH_HEADER; a flag on the
command line wins.`

// conformFlags is the parsed command line of 'ssebench conform'.
type conformFlags struct {
	cfg        conformance.Config
	jsonFile   string
	junitFile  string
	htmlFile   string
	list       bool
	markdown   bool
	verbose    bool
	body       string
	headers    stringList
	checkGlobs stringList
}

func parseConformFlags(e *env, args []string) (*conformFlags, error) {
	f := &conformFlags{}
	d := conformance.Config{}.WithDefaults()
	fs := newFlagSet("conform", conformUsage)
	fs.StringVar(&f.cfg.Target, "target", "", "`URL` of the event stream (http or https)")
	fs.StringVar(&f.cfg.Method, "method", "GET", "HTTP `method` of every request (POST for LLM APIs)")
	fs.Var(&f.headers, "header", "request header `K:V`, repeatable (Authorization: Bearer ..., Content-Type: ...)")
	fs.StringVar(&f.body, "body", "", "request body: `@FILE` (@- for stdin) or the literal body; sent with every request, reconnects too (Content-Type defaults to application/json)")
	fs.StringVar(&f.cfg.Origin, "origin", "", "send Origin: `ORIGIN` and check CORS (http/cors) for a cross-origin browser EventSource")
	fs.IntVar(&f.cfg.MaxEvents, "max-events", d.MaxEvents, "stop the uninterrupted read after `N` events")
	fs.DurationVar(&f.cfg.MaxTime, "max-time", d.MaxTime, "stop each read after this `duration`")
	fs.StringVar(&f.cfg.UntilEvent, "until-event", "", "stop the uninterrupted read after the first event of this `type`")
	fs.DurationVar(&f.cfg.Idle, "idle", d.Idle, "idle `window`: the longest silence stream/heartbeat allows (comments count)")
	fs.DurationVar(&f.cfg.FirstEvent, "first-event", d.FirstEvent, "`deadline` of the first event (stream/first-event)")
	fs.Var(&f.checkGlobs, "checks", "run only the checks matching `GLOB` (framing/*, resume/last-event-id); repeatable or comma-separated")
	fs.StringVar(&f.jsonFile, "json", "", "write the JSON report to `FILE` (- for stdout; the console report then goes to stderr)")
	fs.StringVar(&f.junitFile, "junit", "", "write the JUnit report to `FILE` (a MUST that fails is a failure; a warning is a skipped case whose message starts WARN)")
	fs.StringVar(&f.htmlFile, "html", "", "write the HTML report to `FILE`")
	fs.BoolVar(&f.list, "list-checks", false, "print the check catalogue and exit")
	fs.BoolVar(&f.markdown, "markdown", false, "with --list-checks: as a Markdown table")
	fs.BoolVar(&f.verbose, "verbose", false, "also show Ginkgo's own report (every spec and step) on stderr")
	fs.Func("max-memory", "memory `budget` of the whole run (default 128MiB): what all connections together keep of the responses; half is the main read's", func(v string) error {
		n, err := scenarios.ParseSize(v)
		if err != nil {
			return err
		}
		f.cfg.MaxMemory = int64(n)
		return nil
	})
	fs.BoolVar(&f.cfg.Insecure, "insecure", false, "skip the verification of the server's TLS certificate")
	fs.StringVar(&f.cfg.CACertFile, "ca-cert", "", "trust the CA certificates of this PEM `FILE` instead of the system's")

	var envErrs []error
	fs.VisitAll(func(fl *flag.Flag) {
		name := "SSEBENCH_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v := e.getenv(name); v != "" {
			if err := fs.Set(fl.Name, v); err != nil {
				// The value is not repeated: it may be a secret.
				envErrs = append(envErrs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	if err := errors.Join(envErrs...); err != nil {
		return nil, usageErr(err)
	}
	// A repeatable flag set from the environment is replaced, not extended,
	// by the command line.
	envHeaders, envChecks := len(f.headers), len(f.checkGlobs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (the target is given with --target)", fs.Arg(0))
	}
	if envHeaders > 0 && len(f.headers) > envHeaders {
		f.headers = f.headers[envHeaders:]
	}
	if envChecks > 0 && len(f.checkGlobs) > envChecks {
		f.checkGlobs = f.checkGlobs[envChecks:]
	}
	if f.list {
		return f, nil
	}
	errs := f.buildConfig(e)
	if f.markdown {
		errs = append(errs, errors.New("--markdown goes with --list-checks"))
	}
	if f.jsonFile == "-" && (f.junitFile == "-" || f.htmlFile == "-") {
		errs = append(errs, errors.New("only one of --json, --junit, --html can be - (stdout)"))
	}
	if f.junitFile == "-" || f.htmlFile == "-" {
		errs = append(errs, errors.New("--junit and --html take a file name (only --json takes -)"))
	}
	f.cfg = f.cfg.WithDefaults()
	if err := f.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, usageErr(err)
	}
	return f, nil
}

// buildConfig turns the repeatable and file flags into the Config:
// headers, check globs, the body. It returns every problem.
func (f *conformFlags) buildConfig(e *env) []error {
	var errs []error
	f.cfg.Header = http.Header{}
	for i, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			// A header without its colon may be a credential: say which
			// one by position only.
			errs = append(errs, fmt.Errorf("--header number %d (%d bytes, not shown: it may hold a secret): want NAME:VALUE", i+1, len(h)))
			continue
		}
		f.cfg.Header.Add(k, strings.TrimSpace(v))
	}
	for _, g := range f.checkGlobs {
		for _, part := range strings.Split(g, ",") {
			if part = strings.TrimSpace(part); part != "" {
				f.cfg.Checks = append(f.cfg.Checks, part)
			}
		}
	}
	switch {
	case strings.HasPrefix(f.body, "@-"):
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			errs = append(errs, fmt.Errorf("--body @-: %w", err))
		}
		f.cfg.Body = b
	case strings.HasPrefix(f.body, "@"):
		b, err := os.ReadFile(f.body[1:])
		if err != nil {
			errs = append(errs, fmt.Errorf("--body: %w", err))
		}
		f.cfg.Body = b
	case f.body != "":
		f.cfg.Body = []byte(f.body)
	}
	return errs
}

func runConform(ctx context.Context, e *env, args []string) error {
	f, err := parseConformFlags(e, args)
	if err != nil {
		return err
	}
	if f.list {
		return listChecks(e.stdout, f.markdown)
	}
	console := e.stdout
	if f.jsonFile == "-" {
		console = e.stderr
	}
	opts := conformance.RunOptions{Verbose: f.verbose}
	if f.verbose {
		opts.GinkgoOutput = e.stderr
	}
	if f.junitFile != "" {
		// Fail early, before the run, when the file cannot be written.
		if err := checkWritable(f.junitFile); err != nil {
			return usageErr(fmt.Errorf("--junit: %w", err))
		}
	}
	report, runErr := conformance.Run(ctx, f.cfg, opts)
	if report == nil {
		if runErr == nil {
			runErr = errors.New("no report")
		}
		return cannotRun(runErr)
	}
	report.Version = version()

	var outErrs []error
	if err := reports.WriteConformanceText(console, report); err != nil {
		outErrs = append(outErrs, err)
	}
	for _, out := range []struct {
		flag, file string
		write      func(io.Writer, *reports.ConformanceReport) error
	}{
		{"--json", f.jsonFile, reports.WriteConformanceJSON},
		{"--junit", f.junitFile, reports.WriteConformanceJUnit},
		{"--html", f.htmlFile, reports.WriteConformanceHTML},
	} {
		if out.file == "" {
			continue
		}
		if err := writeOut(e, out.file, func(w io.Writer) error { return out.write(w, report) }); err != nil {
			outErrs = append(outErrs, fmt.Errorf("%s: %w", out.flag, err))
		}
	}

	var unreachable *conformance.NoResponseError
	switch {
	case runErr != nil && ctx.Err() != nil:
		return interrupted(runErr)
	case errors.As(runErr, &unreachable):
		return cannotRun(runErr)
	case runErr != nil:
		return cannotRun(runErr)
	case len(outErrs) > 0:
		return cannotRun(errors.Join(outErrs...))
	case !report.Summary.Passed:
		return gateFailed(nil)
	}
	return nil
}

// listChecks prints the catalogue: a table, or Markdown.
func listChecks(w io.Writer, markdown bool) error {
	if markdown {
		_, err := io.WriteString(w, checks.Markdown())
		return err
	}
	var b bytes.Buffer
	for _, g := range checks.Groups() {
		fmt.Fprintf(&b, "%s\n", g)
		for _, c := range checks.All() {
			if c.Group == g {
				fmt.Fprintf(&b, "  %-27s %-6s  %s\n", c.ID, c.Level, c.Rule)
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeOut writes a report to the named file, or stdout for "-".
func writeOut(e *env, name string, write func(io.Writer) error) error {
	if name == "-" {
		return write(e.stdout)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// checkWritable tells early whether name can be created.
func checkWritable(name string) error {
	dir := filepath.Dir(name)
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
