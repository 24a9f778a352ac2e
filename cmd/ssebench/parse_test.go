package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/reports/golden"

	"github.com/ssebench/ssebench/conformance/sse"
)

// parseTestEnv returns an env reading stdin and capturing stdout and
// stderr, with the given environment variables.
func parseTestEnv(stdin io.Reader, vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &env{
		stdin:  stdin,
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(k string) string { return vars[k] },
	}, &stdout, &stderr
}

// TestParseGolden runs `ssebench parse [ARGS] FILE` on every
// testdata/parse/*.sse (ARGS from the .args file beside it) and compares
// stdout with the .jsonl golden file and the exit code and stderr with the
// .stderr one. Each golden file was checked by hand against the standard:
// it is exactly what a browser's EventSource dispatches for those bytes.
func TestParseGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "parse", "*.sse"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(in, ".sse")
		t.Run(filepath.Base(base), func(t *testing.T) {
			args := []string{"parse"}
			if b, err := os.ReadFile(base + ".args"); err == nil {
				args = append(args, strings.Fields(string(b))...)
			}
			args = append(args, in)
			e, stdout, stderr := parseTestEnv(strings.NewReader("stdin must not be read"), nil)
			code := run(context.Background(), e, args)
			gotErr := fmt.Sprintf("exit %d\n%s", code, stderr)
			checkGolden(t, base+".jsonl", stdout.String())
			checkGolden(t, base+".stderr", gotErr)

			// Every line is one JSON object with exactly type, data and
			// id, in that order.
			for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
				if line == "" {
					continue
				}
				var ev sse.Event
				dec := json.NewDecoder(strings.NewReader(line))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&ev); err != nil {
					t.Errorf("line %q: %v", line, err)
				}
				if !strings.HasPrefix(line, `{"type":`) || !strings.Contains(line, `,"data":`) || !strings.Contains(line, `,"id":`) ||
					strings.Index(line, `,"data":`) > strings.LastIndex(line, `,"id":`) {
					t.Errorf("line %q: keys not type, data, id in that order", line)
				}
			}
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	golden.Check(t, path, []byte(got))
}

// The command line: FILE or stdin, flags anywhere, usage errors, exit codes.
func TestParseCommandLine(t *testing.T) {
	const stream = "id: 7\ndata: a\n\nretry: x\ndata: b\n\n"
	file := filepath.Join(t.TempDir(), "s.sse")
	if err := os.WriteFile(file, []byte(stream), 0o644); err != nil {
		t.Fatal(err)
	}
	const events = `{"type":"message","data":"a","id":"7"}` + "\n" + `{"type":"message","data":"b","id":"7"}` + "\n"
	const diag = "ssebench parse: bad-retry at byte 15: \"retry: x\"\n"
	for _, tc := range []struct {
		name       string
		args       []string
		vars       map[string]string
		wantCode   int
		wantOut    string // exact, or a substring when it starts with "help:"
		wantStderr string // substring; "" means stderr must be empty
	}{
		{"stdin", []string{"parse"}, nil, 0, events, diag},
		{"dash-is-stdin", []string{"parse", "-"}, nil, 0, events, diag},
		{"file", []string{"parse", file}, nil, 0, events, diag},
		{"flags-after-file", []string{"parse", file, "--quiet"}, nil, 0, events, ""},
		{"double-dash", []string{"parse", "--quiet", "--", file}, nil, 0, events, ""},
		{"seed", []string{"parse", "--last-event-id", "6", "--quiet", file}, nil, 0, events, ""},
		{"env-quiet", []string{"parse", file}, map[string]string{"SSEBENCH_QUIET": "true"}, 0, events, ""},
		{"env-limit", []string{"parse", file}, map[string]string{"SSEBENCH_MAX_LINE": "4"}, 1, "", "exceeds the 4-byte limit (see --max-line)"},
		{"flag-beats-env", []string{"parse", "--max-line", "100", file}, map[string]string{"SSEBENCH_MAX_LINE": "4", "SSEBENCH_QUIET": "1"}, 0, events, ""},
		{"event-limit", []string{"parse", "--max-event", "1", file}, nil, 1, "", "event at byte 6 exceeds the 1-byte limit (see --max-event)"},
		{"bad-env", []string{"parse", file}, map[string]string{"SSEBENCH_MAX_EVENT": "lots"}, 2, "", `SSEBENCH_MAX_EVENT="lots"`},
		{"missing-file", []string{"parse", filepath.Join(t.TempDir(), "nope.sse")}, nil, 3, "", "no such file"},
		{"directory", []string{"parse", t.TempDir()}, nil, 3, "", "is a directory"},
		{"two-files", []string{"parse", file, file}, nil, 2, "", "at most one FILE"},
		{"unknown-flag", []string{"parse", "--bogus", file}, nil, 2, "", "flag provided but not defined: -bogus"},
		{"zero-limit", []string{"parse", "--max-line", "0", file}, nil, 2, "", "--max-line must be positive"},
		{"negative-limit", []string{"parse", "--max-event=-1", file}, nil, 2, "", "--max-event must be positive"},
		{"help", []string{"parse", "--help"}, nil, 0, "help:Exit codes:", ""},
		{"help-command", []string{"help", "parse"}, nil, 0, "help:1    data was lost", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, stdout, stderr := parseTestEnv(strings.NewReader(stream), tc.vars)
			code := run(context.Background(), e, tc.args)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if help, ok := strings.CutPrefix(tc.wantOut, "help:"); ok {
				if !strings.Contains(stdout.String(), help) {
					t.Errorf("stdout %q lacks %q (--help goes to stdout)", stdout, help)
				}
			} else if stdout.String() != tc.wantOut {
				t.Errorf("stdout %q\nwant   %q", stdout, tc.wantOut)
			}
			if tc.wantStderr == "" && stderr.Len() != 0 || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tc.wantStderr)
			}
		})
	}
}

// notifyWriter signals every write on a channel.
type notifyWriter struct {
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	w.wrote <- struct{}{}
	return n, err
}

// A live stream is printed event by event, not held back until its end.
func TestParseStreamsLive(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	out := &notifyWriter{wrote: make(chan struct{}, 16)}
	e, _, stderr := parseTestEnv(pr, nil)
	e.stdout = out
	done := make(chan int)
	go func() { done <- run(context.Background(), e, []string{"parse"}) }()

	if _, err := io.WriteString(pw, "data: first\n\n"); err != nil {
		t.Fatal(err)
	}
	<-out.wrote // the first event is written while the stream is still open
	if got := out.buf.String(); got != `{"type":"message","data":"first","id":""}`+"\n" {
		t.Fatalf("after the first event: %q", got)
	}
	io.WriteString(pw, "data: second")
	pw.Close()
	if code := <-done; code != exitGateFailed {
		t.Errorf("exit %d, want %d (the second event was cut off)", code, exitGateFailed)
	}
	if !strings.Contains(stderr.String(), "stdin: sse: stream ended in the middle of an event starting at byte 13") {
		t.Errorf("stderr: %q", stderr)
	}
}

// An interrupt ends the command even while a read blocks.
func TestParseInterrupted(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // releases the parsing goroutine
	ctx, cancel := context.WithCancel(context.Background())
	out := &notifyWriter{wrote: make(chan struct{}, 16)}
	e, _, stderr := parseTestEnv(pr, nil)
	e.stdout = out
	done := make(chan int)
	go func() { done <- run(ctx, e, []string{"parse"}) }()
	io.WriteString(pw, "data: before\n\ndata: never fin")
	<-out.wrote
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if out.buf.String() != `{"type":"message","data":"before","id":""}`+"\n" {
		t.Errorf("stdout %q", out.buf.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q", stderr)
	}
}

// errWriter fails every write.
type parseErrWriter struct{}

func (parseErrWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// Failures to read stdin or write stdout exit 3.
func TestParseIOErrors(t *testing.T) {
	e, _, stderr := parseTestEnv(io.MultiReader(strings.NewReader("data: a\n\n"), parseFailReader{}), nil)
	if code := run(context.Background(), e, []string{"parse"}); code != exitCannotRun {
		t.Errorf("read error: exit %d, want %d", code, exitCannotRun)
	}
	if !strings.Contains(stderr.String(), "reading stdin: connection reset") {
		t.Errorf("stderr %q", stderr)
	}
	e, _, stderr = parseTestEnv(strings.NewReader("data: a\n\n"), nil)
	e.stdout = parseErrWriter{}
	if code := run(context.Background(), e, []string{"parse"}); code != exitCannotRun {
		t.Errorf("write error: exit %d, want %d", code, exitCannotRun)
	}
	if !strings.Contains(stderr.String(), "writing stdout: disk full") {
		t.Errorf("stderr %q", stderr)
	}
}

type parseFailReader struct{}

func (parseFailReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
