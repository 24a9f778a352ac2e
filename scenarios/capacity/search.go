package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// By is what a search varies.
type By string

// The dimensions a search varies.
const (
	// Connections searches the closed model's number of concurrent streams.
	Connections By = "connections"
	// Rate searches the open model's arrival rate (streams per second).
	Rate By = "rate"
)

// Verdicts of a search (reports.Capacity.Verdict).
const (
	Found            = "found"
	MaxPasses        = "max_passes"
	MinFails         = "min_fails"
	GeneratorLimited = "generator_limited"
)

// Config is a search.
type Config struct {
	By   By
	SLOs []scenarios.Threshold
	// Min and Max bound the load: connections, or arrivals per second.
	Min, Max float64
	// StepDuration is the measured part of a step; WarmUp comes before it.
	StepDuration, WarmUp time.Duration
	// MaxStepDuration bounds a step extended for samples.
	MaxStepDuration time.Duration
	// Growth is the bracket's factor (> 1); Resolution the relative
	// distance between the passing and the failing load at which the
	// bisection stops (> 0).
	Growth, Resolution float64
	// MaxSteps bounds the number of steps run (extensions included).
	MaxSteps int
	// Pause is the wait between steps, so the target drains its queue.
	Pause time.Duration
}

// Defaults for a Config's zero fields.
const (
	DefaultStepDuration    = 10 * time.Second
	DefaultWarmUp          = 3 * time.Second
	DefaultMaxStepDuration = 60 * time.Second
	DefaultGrowth          = 2
	DefaultResolution      = 0.05
	DefaultMaxSteps        = 40
	DefaultPause           = time.Second
	DefaultMaxConnections  = 10000
	DefaultMaxRate         = 10000
)

// WithDefaults fills c's zero fields.
func (c Config) WithDefaults() Config {
	if c.By == "" {
		c.By = Connections
	}
	if c.Min <= 0 {
		c.Min = 1
	}
	if c.Max <= 0 {
		c.Max = DefaultMaxConnections
		if c.By == Rate {
			c.Max = DefaultMaxRate
		}
	}
	if c.StepDuration <= 0 {
		c.StepDuration = DefaultStepDuration
	}
	if c.WarmUp < 0 {
		c.WarmUp = 0
	}
	if c.MaxStepDuration < c.StepDuration {
		c.MaxStepDuration = max(DefaultMaxStepDuration, c.StepDuration)
	}
	if c.Growth <= 1 {
		c.Growth = DefaultGrowth
	}
	if c.Resolution <= 0 {
		c.Resolution = DefaultResolution
	}
	if c.MaxSteps <= 0 {
		c.MaxSteps = DefaultMaxSteps
	}
	return c
}

// Validate says what is wrong with c (after WithDefaults).
func (c Config) Validate() error {
	var errs []error
	if c.By != Connections && c.By != Rate {
		errs = append(errs, fmt.Errorf("by %q: want connections or rate", c.By))
	}
	if len(c.SLOs) == 0 {
		errs = append(errs, errors.New("no SLO (want at least one, e.g. 'ttft.p99 < 300ms')"))
	}
	if c.Min > c.Max {
		errs = append(errs, fmt.Errorf("min %g is above max %g", c.Min, c.Max))
	}
	if c.By == Connections && c.Min != math.Trunc(c.Min) {
		errs = append(errs, fmt.Errorf("min %g: connections are a whole number", c.Min))
	}
	if c.By == Connections && c.Max != math.Trunc(c.Max) {
		errs = append(errs, fmt.Errorf("max %g: connections are a whole number", c.Max))
	}
	if c.Resolution >= 1 {
		errs = append(errs, fmt.Errorf("resolution %g: want a fraction below 1, such as 5%%", c.Resolution))
	}
	return errors.Join(errs...)
}

// Step is what a StepRunner runs: Scenario at one load for WarmUp plus the
// measured part (Scenario.Duration holds both), judging goodput by SLOs.
type Step struct {
	Scenario *scenarios.Scenario
	WarmUp   time.Duration
	SLOs     []scenarios.Threshold // as judged (see Judged)
}

// StepRunner runs one step and returns its result: the measured part only
// (streams scheduled in the warm-up excluded), with Goodput set, Degraded
// and Generator set from the generator's health. It returns a *LimitError
// when this generator cannot hold the step's plan.
type StepRunner func(ctx context.Context, st Step) (*reports.File, error)

// LimitError says the generator cannot run a step at all: its plan needs
// more file descriptors or ports than the process has.
type LimitError struct {
	Reason string // what limit, with figures
	Fix    string // what to do
}

func (e *LimitError) Error() string { return e.Reason }

// Fix is the advice of a generator-limited search.
const Fix = "the generator, not the target, was the limit: spread the load over more processes or machines (capacity --procs N on this host, ssebench run --shard I/N on several), give it more source addresses (--source-ips) for ports, raise the open-file limit for descriptors, or run it on a machine with more CPUs; then search again"

// Search runs the search of cfg on base (the request shape; its load is
// replaced at every step) and returns the answer. It returns an error only
// when ctx ends it or a step fails for a reason other than a limit of the
// generator; the Capacity then holds the steps run so far.
func Search(ctx context.Context, cfg Config, base *scenarios.Scenario, run StepRunner) (*reports.Capacity, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &searcher{cfg: cfg, base: base, run: run, open: cfg.By == Rate, start: time.Now()}
	s.judged = judgedSLOs(cfg.SLOs, s.open)
	s.c = &reports.Capacity{
		By: string(cfg.By), Min: s.load(cfg.Min), Max: s.load(cfg.Max), Resolution: cfg.Resolution,
		Steps: []reports.CapacityStep{}, Notes: []string{},
	}
	for i, t := range cfg.SLOs {
		s.c.SLOs = append(s.c.SLOs, reports.CapacitySLO{Expr: t.Expr, Judged: s.judged[i].Expr, MinSamples: MinSamples(s.judged[i])})
	}
	err := s.search(ctx)
	s.finish()
	return s.c, err
}

type searcher struct {
	cfg    Config
	base   *scenarios.Scenario
	run    StepRunner
	open   bool
	judged []scenarios.Threshold
	c      *reports.Capacity
	start  time.Time
	// lo is the highest passing load, hi the lowest failing (-1: none).
	lo, hi float64
	// perLoad estimates samples per second per unit of load, to size steps.
	perLoad float64
	// maxRate is the most samples per second a step has measured.
	maxRate float64
	limited bool
}

// errStop ends the search early (generator-limited or out of steps).
var errStop = errors.New("stop")

func (s *searcher) search(ctx context.Context) error {
	s.lo, s.hi = -1, -1
	load := s.cfg.Min
	for { // bracket
		ok, err := s.try(ctx, load, "bracket", false)
		if err != nil {
			return s.stopped(err)
		}
		if !ok {
			s.hi = load
			break
		}
		s.lo = load
		if load >= s.cfg.Max {
			return nil
		}
		load = s.grow(load)
	}
	for rechecks := 0; s.lo >= 0; {
		for s.hi-s.lo > s.cfg.Resolution*s.lo && (s.open || s.hi-s.lo > 1) {
			mid := s.mid(s.lo, s.hi)
			ok, err := s.try(ctx, mid, "bisect", true)
			if err != nil {
				return s.stopped(err)
			}
			if ok {
				s.lo = mid
			} else {
				s.hi = mid
			}
		}
		if rechecks == 2 {
			return nil
		}
		rechecks++
		ok, err := s.try(ctx, s.lo, "recheck", true)
		if err != nil {
			return s.stopped(err)
		}
		if ok {
			return nil
		}
		// The boundary moved: the answer failed on a second look.
		s.hi, s.lo = s.lo, s.passBelow(s.lo)
	}
	return nil
}

// stopped maps errStop to the end of a search (its verdict set by finish).
func (s *searcher) stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// grow is the bracket's next load.
func (s *searcher) grow(load float64) float64 {
	next := load * s.cfg.Growth
	if !s.open {
		next = math.Max(math.Ceil(next), load+1)
	} else {
		next = roundRate(next)
	}
	return math.Min(next, s.cfg.Max)
}

// mid is the bisection's next load.
func (s *searcher) mid(lo, hi float64) float64 {
	if !s.open {
		return math.Floor((lo + hi) / 2)
	}
	m := roundRate((lo + hi) / 2)
	if m <= lo || m >= hi {
		m = (lo + hi) / 2
	}
	return m
}

// roundRate rounds a rate to 3 significant digits.
func roundRate(r float64) float64 {
	if r <= 0 {
		return r
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(r)))
	return math.Round(r*p) / p
}

// passBelow is the highest load below x that passed (and was not failed
// by a later step at the same load), or -1.
func (s *searcher) passBelow(x float64) float64 {
	best := -1.0
	for _, st := range s.c.Steps {
		if st.Load.Value < x && st.Load.Value > best && s.passedAt(st.Load.Value) {
			best = st.Load.Value
		}
	}
	return best
}

// passedAt reports whether the last step at load x passed.
func (s *searcher) passedAt(x float64) bool {
	pass := false
	for _, st := range s.c.Steps {
		if st.Load.Value == x {
			pass = st.Pass
		}
	}
	return pass
}

func (s *searcher) load(v float64) reports.Load { return reports.Load{Value: v, Rate: s.open} }

// finish sets the verdict, the answer and the wall time.
func (s *searcher) finish() {
	c := s.c
	c.WallS = time.Since(s.start).Seconds()
	c.MaxPassing, c.FirstFailing = nil, nil
	if s.lo >= 0 {
		l := s.load(s.lo)
		c.MaxPassing = &l
	}
	if s.hi >= 0 && !s.limited { // a generator-limited search reports no knee
		l := s.load(s.hi)
		c.FirstFailing = &l
	}
	c.GeneratorLimited = s.limited
	switch {
	case s.limited:
		c.Verdict = GeneratorLimited
	case s.lo < 0 && s.hi >= 0:
		c.Verdict = MinFails
	case s.hi < 0 && s.lo >= 0:
		c.Verdict = MaxPasses
	case s.lo >= 0:
		c.Verdict = Found
	default:
		c.Verdict = MinFails
	}
	c.Answer = answer(c, s.judged)
}

// answer is the sentence the summary leads with.
func answer(c *reports.Capacity, judged []scenarios.Threshold) string {
	exprs := make([]string, len(c.SLOs))
	for i, t := range c.SLOs {
		exprs[i] = t.Expr
	}
	within := strings.Join(exprs, " and ")
	failAt := func() string {
		if c.FirstFailing == nil {
			return ""
		}
		st := lastStepAt(c, c.FirstFailing.Value)
		if st == nil {
			return ""
		}
		return fmt.Sprintf("; fails at %s: %s", c.FirstFailing.String(), st.Why)
	}
	switch c.Verdict {
	case Found:
		return fmt.Sprintf("sustains %s within %s%s", c.MaxPassing.Words(), within, failAt())
	case MaxPasses:
		return fmt.Sprintf("sustains %s within %s, the most searched (--max); the capacity is at least that", c.MaxPassing.Words(), within)
	case MinFails:
		return fmt.Sprintf("fails even at %s (--min): %s; no load met %s", c.Min.Words(), whyAt(c, c.Min.Value), within)
	}
	msg := "generator-limited: " + c.Limit
	if c.MaxPassing != nil {
		msg += fmt.Sprintf("; the target sustained at least %s within %s before that, but no knee was found", c.MaxPassing.Words(), within)
	} else {
		msg += "; no step proved anything about the target"
	}
	return msg
}

func lastStepAt(c *reports.Capacity, x float64) *reports.CapacityStep {
	for i := len(c.Steps) - 1; i >= 0; i-- {
		if c.Steps[i].Load.Value == x {
			return &c.Steps[i]
		}
	}
	return nil
}

func whyAt(c *reports.Capacity, x float64) string {
	if st := lastStepAt(c, x); st != nil {
		return st.Why
	}
	return "not run"
}
