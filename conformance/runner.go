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
	"github.com/onsi/ginkgo/v2/types"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// ErrAlreadyRan is returned by a second Run in the same process: Ginkgo
// runs one suite per process.
var ErrAlreadyRan = errors.New("conformance: the suite already ran in this process (Ginkgo runs one suite per process)")

// ErrUnreachable is matched (errors.Is) by the error Run returns when the
// target gave no HTTP response at all.
var ErrUnreachable = errors.New("target unreachable")

// NoResponseError reports that the stream request got no HTTP response (a
// dial, DNS, TLS or protocol error); the report is still returned. It is
// conformance's, distinct from the swarm's UnreachableError (a load run that
// cannot reach its target at the start).
type NoResponseError struct {
	// Err is the transport error of the stream request.
	Err error
}

// Error says that the target is unreachable, and why.
func (e *NoResponseError) Error() string { return fmt.Sprintf("target unreachable: %v", e.Err) }

// Unwrap returns the transport error.
func (e *NoResponseError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *NoResponseError) Is(target error) bool { return target == ErrUnreachable }

// RunOptions say how Run reports, beside the Config of what it checks.
// The report itself is returned: the caller renders it (reports.Write...),
// JUnit included.
type RunOptions struct {
	// GinkgoOutput receives Ginkgo's own console reporter; nil discards
	// it (the caller prints the Report instead).
	GinkgoOutput io.Writer
	// Verbose makes Ginkgo's reporter verbose (every spec and step).
	Verbose bool
}

var ran atomic.Bool

// findings collects the specs' outcomes; specs run one at a time, but the
// lock keeps the race detector and future parallel runs honest.
type findings struct {
	mu sync.Mutex
	m  map[string]outcome
}

func (f *findings) record(c *checks.Check, fd checks.Finding, took time.Duration) {
	f.mu.Lock()
	f.m[c.ID] = outcome{finding: fd, took: took}
	f.mu.Unlock()
}

func (f *findings) snapshot() map[string]outcome {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]outcome, len(f.m))
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

// Run checks cfg.Target with the Ginkgo suite and returns the report, every
// string of it redacted (see redactor). The error is a validation error
// (the Config is wrong: nothing ran), a *NoResponseError (the report is
// returned too), ErrAlreadyRan, or the context's error when the run was
// interrupted (with the partial report). A failed check is not an error:
// see the report's Summary.Passed. Run may be called once per process.
func Run(ctx context.Context, cfg Config, opts RunOptions) (*reports.ConformanceReport, error) {
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
	found := &findings{m: make(map[string]outcome)}
	defineSuite([]*target{{
		name:   fmt.Sprintf("ssebench conform %s %s", cfg.Method, secret.URL(cfg.Target)),
		sess:   sess,
		checks: selected,
		assert: cliAssert,
		record: found.record,
		redact: redactor(cfg),
	}}, specTimeout(cfg))

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
	if err := ctx.Err(); err != nil {
		report.Interrupted = true
		return report, fmt.Errorf("conformance: interrupted: %w", err)
	}
	if in := sess.snapshot(); in.Main != nil && in.Main.Err != nil && !in.Main.Connected {
		return report, &NoResponseError{Err: errors.New(redactor(cfg).String(in.Main.Err.Error()))}
	}
	return report, nil
}
