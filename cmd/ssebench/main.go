// Command ssebench load-tests and conformance-checks Server-Sent Events
// endpoints. This file is the composition root: it dispatches subcommands and
// is the one place that maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes (README: Commands, Fail closed).
const (
	exitOK          = 0   // ran, every gate passed
	exitGateFailed  = 1   // a threshold, a regression or a MUST check failed
	exitUsage       = 2   // usage or configuration error
	exitCannotRun   = 3   // target unreachable, not enough file descriptors, internal error
	exitInterrupted = 130 // interrupted; partial results were written
)

// exitError carries an exit code out of a subcommand. Subcommands return it
// (through the helpers below) instead of calling os.Exit.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage or configuration error (exit 2).
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// usagef formats a usage error (exit 2).
func usagef(format string, a ...any) error { return usageErr(fmt.Errorf(format, a...)) }

// cannotRun marks err as "could not run" (exit 3).
func cannotRun(err error) error { return &exitError{code: exitCannotRun, err: err} }

// gateFailed reports that the run completed but a gate failed (exit 1). err
// may be nil when the output already explains the failure.
func gateFailed(err error) error { return &exitError{code: exitGateFailed, err: err} }

// interrupted reports that the run was interrupted (exit 130).
func interrupted(err error) error { return &exitError{code: exitInterrupted, err: err} }

// env is what a subcommand may touch of the process: its arguments, streams
// and environment. Only package main sees os.Args, os.Stdout and signals.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// environ lists the environment as KEY=value strings, for the check of
	// unknown SSEBENCH_* variables; nil skips the check.
	environ func() []string
	// stderrIsTerminal tells whether live progress bars may be drawn.
	stderrIsTerminal bool
}

// command is one subcommand. run receives the arguments after the
// subcommand's name and a context that is cancelled on SIGINT/SIGTERM.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
	// checksEnv is set by a command that calls checkEnv itself, once it
	// knows which variables its input names; for the others the dispatcher
	// checks the environment before running them.
	checksEnv bool
}

// commands is filled by the init functions of the files beside this one, one
// file per subcommand. A subcommand is listed only once it works.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("ssebench: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	e := &env{
		stdin:            os.Stdin,
		stdout:           os.Stdout,
		stderr:           os.Stderr,
		getenv:           os.Getenv,
		environ:          os.Environ,
		stderrIsTerminal: isTerminal(os.Stderr),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and maps its error to an exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, e, []string{args[1], "--help"})
		}
		printUsage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(e.stdout, "ssebench", version())
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "ssebench: unknown command %q\n\n", args[0])
		printUsage(e.stderr)
		return exitUsage
	}
	if !c.checksEnv {
		if err := checkEnv(e); err != nil {
			return exitCode(e.stdout, e.stderr, c.name, err)
		}
	}
	return exitCode(e.stdout, e.stderr, c.name, c.run(ctx, e, args[1:]))
}

// exitCode prints err (when there is something to say) and returns the exit
// code it carries. A subcommand's --help text goes to stdout (exit 0). An
// error without a code is an internal error (exit 3).
func exitCode(stdout, stderr io.Writer, name string, err error) int {
	if err == nil {
		return exitOK
	}
	var help *helpError
	if errors.As(err, &help) {
		io.WriteString(stdout, help.text)
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "ssebench %s: %v\n", name, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "ssebench %s: %v\n", name, err)
	return exitCannotRun
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "ssebench %s: load-test and conformance-check Server-Sent Events endpoints\n\n", version())
	fmt.Fprintln(w, "Usage: ssebench COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ssebench COMMAND --help' for the flags of a command.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 a gate failed, 2 usage or config error, 3 could not run, 130 interrupted.")
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0 && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}
