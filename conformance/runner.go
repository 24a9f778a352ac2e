package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// ErrAlreadyRan is returned by a second Run in the same process: Ginkgo
// runs one suite per process.
var ErrAlreadyRan = errors.New("conformance: the suite already ran in this process (Ginkgo runs one suite per process)")

// ErrUnreachable is matched (errors.Is) by the error Run returns when the
// target gave no HTTP response at all.
var ErrUnreachable = errors.New("target unreachable")

// UnreachableError reports that the stream request got no response: a
// dial, DNS, TLS or protocol error. The report is still returned.
type UnreachableError struct {
	// Err is the transport error of the stream request.
	Err error
}

// Error says that the target is unreachable, and why.
func (e *UnreachableError) Error() string { return fmt.Sprintf("target unreachable: %v", e.Err) }

// Unwrap returns the transport error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// RunOptions say how Run reports, beside the Config of what it checks.
type RunOptions struct {
	// JUnitFile, when set, receives Ginkgo's JUnit report of the run.
	JUnitFile string
	// GinkgoOutput receives Ginkgo's own console reporter; nil discards
	// it (the caller prints the Report instead).
	GinkgoOutput io.Writer
	// Verbose makes Ginkgo's reporter verbose (every spec and step).
	Verbose bool
}

var ran atomic.Bool

// findings collects the specs' findings; specs run one at a time, but the
// lock keeps the race detector and future parallel runs honest.
type findings struct {
	mu sync.Mutex
	m  map[string]checks.Finding
}

func (f *findings) record(c *checks.Check, fd checks.Finding) {
	f.mu.Lock()
	f.m[c.ID] = fd
	f.mu.Unlock()
}

func (f *findings) snapshot() map[string]checks.Finding {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]checks.Finding, len(f.m))
	for k, v := range f.m {
		out[k] = v
	}
	return out
}

// suiteT is the GinkgoTestingT that RunSpecs needs outside `go test`.
type suiteT struct{ failed atomic.Bool }

// Fail records that the suite failed.
func (t *suiteT) Fail() { t.failed.Store(true) }

// specTimeout bounds one spec: the longest probe chain (a read, then a
// reconnect's read) plus slack.
func specTimeout(cfg Config) time.Duration { return 3*cfg.MaxTime + time.Minute }

// cliAssert is the judgement of a run against an external target: a MUST
// that fails fails the spec, a check that does not apply is skipped, a
// SHOULD that warns passes with its evidence attached.
func cliAssert(c *checks.Check, f checks.Finding) {
	switch f.Status {
	case checks.Skip:
		ginkgo.Skip(f.Message)
	case checks.Fail:
		ginkgo.Fail(fmt.Sprintf("%s %s: %s", c.Level, c.ID, f.Message))
	}
}

// Run checks cfg.Target with the Ginkgo suite and returns the report. The
// error is a validation error (the Config is wrong: nothing ran), an
// *UnreachableError (the report is returned too), ErrAlreadyRan, a JUnit
// write error, or the context's error when the run was interrupted (with
// the partial report). A failed check is not an error: see
// Report.Summary.Passed. Run may be called once per process.
func Run(ctx context.Context, cfg Config, opts RunOptions) (*Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	selected, err := checks.Select(cfg.Checks)
	if err != nil {
		return nil, err
	}
	if !ran.CompareAndSwap(false, true) {
		return nil, ErrAlreadyRan
	}
	started := time.Now()
	sess, err := newSession(ctx, cfg, selected)
	if err != nil {
		return nil, err
	}
	found := &findings{m: make(map[string]checks.Finding)}
	defineSuite([]*target{{
		name:   fmt.Sprintf("ssebench conform %s %s", cfg.Method, secret.URL(cfg.Target)),
		sess:   sess,
		checks: selected,
		assert: cliAssert,
		record: found.record,
	}}, specTimeout(cfg))
	var junitErr error
	if opts.JUnitFile != "" {
		ginkgo.ReportAfterSuite("junit", func(r ginkgo.Report) {
			junitErr = reporters.GenerateJUnitReportWithConfig(r, opts.JUnitFile, reporters.JunitReportConfig{
				OmitTimelinesForSpecState: types.SpecStatePassed,
				OmitSpecLabels:            true,
				OmitLeafNodeType:          true,
				OmitSuiteSetupNodes:       true,
			})
		})
	}

	out := opts.GinkgoOutput
	if out == nil {
		out = io.Discard
	}
	saved := formatter.ColorableStdOut
	formatter.ColorableStdOut = out
	defer func() { formatter.ColorableStdOut = saved }()

	sc := types.NewDefaultSuiteConfig()
	sc.Timeout = specTimeout(cfg) + time.Minute
	rc := types.NewDefaultReporterConfig()
	rc.NoColor = true
	rc.Succinct = !opts.Verbose
	rc.Verbose = opts.Verbose
	ginkgo.RunSpecs(&suiteT{}, "ssebench conformance", sc, rc)

	report := newReport(cfg, selected, found.snapshot(), started, time.Since(started))
	if junitErr != nil {
		return report, fmt.Errorf("conformance: writing the JUnit report: %w", junitErr)
	}
	if err := ctx.Err(); err != nil {
		report.Interrupted = true
		return report, fmt.Errorf("conformance: interrupted: %w", err)
	}
	if in := sess.snapshot(); in.Main != nil && in.Main.Err != nil && !in.Main.Connected {
		return report, &UnreachableError{Err: in.Main.Err}
	}
	return report, nil
}
