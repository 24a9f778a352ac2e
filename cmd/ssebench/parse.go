package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ssebench/ssebench/conformance/sse"
)

func init() {
	register(&command{
		name:    "parse",
		summary: "parse raw event-stream bytes into one JSON line per event, as a browser would",
		run:     runParse,
	})
}

const parseUsage = `[flags] [FILE]

Reads raw text/event-stream bytes from FILE (stdin when FILE is absent or
"-") with the spec-exact parser of every other ssebench command, and writes
to stdout one JSON object per event a browser's EventSource would dispatch,
in order, keys always in this order:
  {"type":"message","data":"hello","id":""}
type is the event type ("message" when the stream set none), data the data
(lines joined with "\n"), id the event's lastEventId ("" when none; it
persists from earlier events until an id field changes it). A block without
data dispatches nothing, and an event the stream cut off before its empty
line is not printed. Events are printed as they arrive, so
'curl -N URL | ssebench parse' shows a live stream.

Diagnostics, deviations a browser tolerates silently but that point at a
server bug, go to stderr one per line with the byte offset in the input:
  ssebench parse: bad-retry at byte 58: "retry: 1x"
Kinds: invalid-utf8, bom-not-at-start, unknown-field, bad-retry, nul-in-id,
block-without-data.

Exit codes:
  0    the stream was parsed to its end (with or without diagnostics)
  1    data was lost: the stream ended in the middle of an event, or a line or
       an event exceeded --max-line or --max-event (the events before it are
       printed)
  2    usage error
  3    FILE could not be opened or read, or stdout could not be written
  130  interrupted

Every flag can also be set by an environment variable SSEBENCH_<FLAG> (upper
case, '-' as '_'), e.g. SSEBENCH_MAX_LINE; a flag on the command line wins.`

// parseConfig is what `ssebench parse` was asked to do.
type parseConfig struct {
	file     string // "" or "-" for stdin
	maxLine  int
	maxEvent int
	lastID   string
	quiet    bool
}

func runParse(ctx context.Context, e *env, args []string) error {
	cfg, err := parseParseFlags(e, args)
	if err != nil {
		return err
	}
	src, name := e.stdin, "stdin"
	if cfg.file != "" && cfg.file != "-" {
		f, err := os.Open(cfg.file)
		if err != nil {
			return cannotRun(err)
		}
		defer f.Close()
		src, name = f, cfg.file
	}
	return parseStream(ctx, e, cfg, src, name)
}

// parseParseFlags reads the flags, SSEBENCH_* variables and the FILE
// argument, which may come before or after the flags.
func parseParseFlags(e *env, args []string) (parseConfig, error) {
	cfg := parseConfig{}
	fs := newFlagSet("parse", parseUsage)
	fs.IntVar(&cfg.maxLine, "max-line", sse.DefaultMaxLine, "longest line accepted, in `bytes` as received (without its line end)")
	fs.IntVar(&cfg.maxEvent, "max-event", sse.DefaultMaxEvent, "largest event accepted, in `bytes` of data (plus one per data line)")
	fs.StringVar(&cfg.lastID, "last-event-id", "", "start with this last event `ID`, as a client reconnecting with Last-Event-ID does")
	fs.BoolVar(&cfg.quiet, "quiet", false, "do not print diagnostics (errors are still printed)")

	var envErrs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SSEBENCH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := e.getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	if err := errors.Join(envErrs...); err != nil {
		return cfg, usageErr(err)
	}

	var files []string
	for rest := args; ; {
		if err := parseFlags(fs, rest); err != nil {
			return cfg, err
		}
		consumed := len(rest) - fs.NArg()
		if fs.NArg() == 0 {
			break
		}
		if consumed > 0 && rest[consumed-1] == "--" {
			files = append(files, fs.Args()...) // after "--", everything is a file
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case len(files) > 1:
		return cfg, usagef("takes at most one FILE, got %d: %s", len(files), strings.Join(files, " "))
	case len(files) == 1:
		cfg.file = files[0]
	}
	if cfg.maxLine <= 0 {
		return cfg, usagef("--max-line must be positive, got %d", cfg.maxLine)
	}
	if cfg.maxEvent <= 0 {
		return cfg, usagef("--max-event must be positive, got %d", cfg.maxEvent)
	}
	return cfg, nil
}

// parseItem is what the parsing goroutine hands to the writer: an event, a
// diagnostic, or (last) how the stream ended.
type parseItem struct {
	ev   sse.Event
	diag string
	end  error
	last bool
}

// parseStream parses src and writes its events to stdout and its
// diagnostics to stderr. The parsing runs in its own goroutine so that an
// interrupt is obeyed even while a read from a terminal or a pipe blocks;
// that goroutine is left behind, blocked in Read, when the process is about
// to exit anyway.
func parseStream(ctx context.Context, e *env, cfg parseConfig, src io.Reader, name string) error {
	items := make(chan parseItem, 256)
	send := func(it parseItem) bool {
		select {
		case items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	opts := &sse.Options{MaxLine: cfg.maxLine, MaxEvent: cfg.maxEvent, LastEventID: cfg.lastID}
	if !cfg.quiet {
		opts.OnDiagnostic = func(d sse.Diagnostic) {
			if d.Kind != sse.DiagEOFMidEvent { // the final error reports it
				send(parseItem{diag: d.String()})
			}
		}
	}
	go func() {
		rd := sse.NewReader(src, opts)
		for {
			ev, err := rd.Next()
			if err != nil {
				send(parseItem{end: err, last: true})
				return
			}
			if !send(parseItem{ev: ev}) {
				return
			}
		}
	}()

	out := bufio.NewWriterSize(e.stdout, 64<<10)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		var it parseItem
		select {
		case <-ctx.Done():
			out.Flush()
			return interrupted(fmt.Errorf("interrupted while reading %s; the events before were printed", name))
		case it = <-items:
		}
		switch {
		case it.last:
			if err := out.Flush(); err != nil {
				return cannotRun(fmt.Errorf("writing stdout: %w", err))
			}
			return parseEnd(it.end, name)
		case it.diag != "":
			// Flush first, so that on a shared terminal a diagnostic
			// appears after the events before it.
			if err := out.Flush(); err != nil {
				return cannotRun(fmt.Errorf("writing stdout: %w", err))
			}
			fmt.Fprintf(e.stderr, "ssebench parse: %s\n", it.diag)
		default:
			if err := enc.Encode(it.ev); err != nil {
				return cannotRun(fmt.Errorf("writing stdout: %w", err))
			}
		}
		// Flush when the parser has nothing more ready: a live stream shows
		// each event as it arrives, a file is written in large blocks.
		if len(items) == 0 {
			if err := out.Flush(); err != nil {
				return cannotRun(fmt.Errorf("writing stdout: %w", err))
			}
		}
	}
}

// parseEnd maps how the stream ended to the exit code (see parseUsage).
func parseEnd(err error, name string) error {
	var lim *sse.LimitError
	switch {
	case err == io.EOF:
		return nil
	case errors.Is(err, sse.ErrEOFMidEvent):
		return gateFailed(fmt.Errorf("%s: %w (not dispatched, as a browser would drop it)", name, err))
	case errors.As(err, &lim):
		return gateFailed(fmt.Errorf("%s: %w (see --max-%s)", name, err, lim.What))
	default:
		return cannotRun(fmt.Errorf("reading %s: %w", name, err))
	}
}
