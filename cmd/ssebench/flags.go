package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
)

// errHelpShown is wrapped by the error a subcommand returns when it was
// asked for --help; it exits 0.
var errHelpShown = errors.New("help shown")

// helpError carries a subcommand's --help text to the dispatcher, which
// prints it on stdout (it is what the user asked for, not a diagnostic).
type helpError struct{ text string }

func (h *helpError) Error() string { return errHelpShown.Error() }
func (h *helpError) Unwrap() error { return errHelpShown }

// flagOutput is where a flag set writes: its usage text and the flag
// package's own error messages. parseFlags decides where that goes: the
// help text to stdout through a helpError; the flag package's error
// message is dropped, since the returned error says the same.
type flagOutput struct{ bytes.Buffer }

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting. Its usage text (the synopsis and every flag) is shown
// on stdout for -h/--help (see parseFlags).
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("ssebench "+name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{})
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: ssebench %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs, mapping -h/--help to a helpError (its
// text goes to stdout, exit 0) and any other problem to a usage error
// (exit 2) naming the flag.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out, _ := fs.Output().(*flagOutput)
	if out != nil {
		out.Reset()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			h := &helpError{}
			if out != nil {
				h.text = out.String()
			}
			return usageErr(h)
		}
		return usageErr(fmt.Errorf("%w (see %s --help)", err, fs.Name()))
	}
	return nil
}

// stringList is a repeatable string flag (--header K:V --header K2:V2).
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// version is the module version when built from a tagged module, else the
// VCS revision, else "dev".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
