package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/capacity"
	"github.com/ssebench/ssebench/scenarios/health"
	"github.com/ssebench/ssebench/scenarios/secret"
	"github.com/ssebench/ssebench/scenarios/swarm"
)

func init() {
	register(&command{
		name:      "capacity",
		summary:   "find the most load an endpoint sustains within its SLOs (connections or rate)",
		run:       runCapacity,
		checksEnv: true,
	})
}

// runCapacity is `ssebench capacity`: scenario (file or --target) -> the
// search's settings (flags > SSEBENCH_* > capacity: block > defaults) ->
// probe the target -> capacity.Search, each step an in-process swarm run
// (localStep) or, with --procs, a run across worker processes
// (procsStepRunner) -> text, JSON, HTML, JUnit -> the exit code of the
// verdict.
func runCapacity(ctx context.Context, e *env, args []string) error {
	wk, err := runWorkerFromEnv(e) // a worker of capacity --procs, or nil
	if err != nil {
		return err
	}
	if wk != nil {
		return wk.run(func() error { return capacityWorker(ctx, e, args, wk) })
	}
	cfg, err := parseCapacityFlags(e, args)
	if err != nil {
		return err
	}
	sc, err := loadRunScenario(&cfg.runConfig, e)
	if err != nil {
		return err
	}
	if err := checkEnv(e, sc.EnvNames()...); err != nil {
		return err
	}
	search, err := cfg.searchConfig(sc, cfg.scenario)
	if err != nil {
		return err
	}
	if err := runCheckOutputs(&cfg.runConfig); err != nil {
		return err
	}
	if err := probeTarget(ctx, sc); err != nil {
		return err
	}
	step := localStep
	if cfg.procs.set {
		var rule string
		if step, rule, err = capacityProcs(e, cfg, sc, search); err != nil {
			return err
		}
		if !cfg.quiet {
			fmt.Fprintf(e.stderr, "ssebench capacity: --procs %s\n", rule)
		}
	}
	if !cfg.quiet {
		step = announce(e.stderr, step)
	}
	c, err := capacity.Search(ctx, search, sc, step)
	if c == nil {
		return cannotRun(err)
	}
	f := capacityFile(c, secret.URL(sc.URL))
	var errs []error
	if werr := reports.WriteCapacityText(e.stdout, f); werr != nil {
		errs = append(errs, fmt.Errorf("write the summary: %w", werr))
	}
	errs = append(errs, capacityWriteOutputs(cfg, f)...)
	switch {
	case ctx.Err() != nil:
		return interrupted(errors.Join(append([]error{errors.New("interrupted: the steps run so far were written")}, errs...)...))
	case err != nil:
		// A step's own exit code (a --procs worker that could not run
		// says 2 or 3) stands; any other failure could not run.
		code := exitCannotRun
		if ee := (*exitError)(nil); errors.As(err, &ee) {
			code = ee.code
		}
		return &exitError{code: code, err: errors.Join(append([]error{err}, errs...)...)}
	case len(errs) > 0:
		return cannotRun(errors.Join(errs...))
	}
	return capacityExit(c)
}

// capacityExit maps the verdict to the exit code: 0 found (or --max
// passed), 1 even --min failed, 3 generator-limited before an answer.
func capacityExit(c *reports.Capacity) error {
	switch c.Verdict {
	case capacity.Found, capacity.MaxPasses:
		return nil
	case capacity.GeneratorLimited:
		return cannotRun(fmt.Errorf("generator-limited, no answer: %s; %s", c.Limit, c.Fix))
	}
	return gateFailed(errors.New(c.Answer))
}

// capacityFile is the search's JSON result: the answer step's result (the
// highest passing step, else the last one run) with the capacity object.
// target (redacted) names the target when no step has a result.
func capacityFile(c *reports.Capacity, target string) *reports.File {
	var top *reports.File
	for i := range c.Steps {
		st := &c.Steps[i]
		if st.Result == nil {
			continue
		}
		if top == nil || (c.MaxPassing != nil && st.Pass && st.Load.Value == c.MaxPassing.Value) {
			top = st.Result
		}
	}
	if c.MaxPassing == nil && len(c.Steps) > 0 {
		for i := len(c.Steps) - 1; i >= 0; i-- {
			if c.Steps[i].Result != nil {
				top = c.Steps[i].Result
				break
			}
		}
	}
	var f reports.File
	if top != nil {
		f = *top
	} else {
		f = reports.File{Schema: reports.SchemaVersion, Tool: reports.ToolName, Version: version(),
			Metrics: map[string]*reports.MetricStats{}, Thresholds: []reports.ThresholdResult{},
			Intervals: []reports.Interval{}, Notes: []string{}, Failures: []reports.FailureClass{}, Shard: "1/1"}
	}
	if f.Environment.Target == "" {
		f.Environment.Target = target
	}
	f.Capacity = c
	return &f
}

// probeTarget checks once that the target answers before the search
// spends minutes on it.
func probeTarget(ctx context.Context, sc *scenarios.Scenario) error {
	probe := *sc
	probe.UseConnections(1)
	sw, err := swarm.New(&probe, swarm.Options{})
	if err != nil {
		return cannotRun(err)
	}
	if err := sw.Probe(ctx); err != nil {
		if ctx.Err() != nil {
			return interrupted(errors.New("interrupted before the search started"))
		}
		return cannotRun(err)
	}
	return nil
}

// localStep runs one step in this process: a swarm at the step's load,
// the capacity.Filter dropping the warm-up and judging goodput, the
// aggregator from the end of the warm-up, the health monitor over the
// whole step. A plan this process cannot hold (file descriptors, ports)
// is a *capacity.LimitError.
func localStep(ctx context.Context, st capacity.Step) (*reports.File, error) {
	planJSON, err := scenarioJSON(st.Scenario)
	if err != nil {
		return nil, err
	}
	return runStepShare(ctx, st, st.Scenario, planJSON, stepHooks{})
}

// stepHooks are what a worker of capacity --procs adds to a step's run:
// the whole step's figures for the swarm's checks, its Deltas for the
// parent, and the swarm whose status it reports.
type stepHooks struct {
	whole   swarm.Whole
	onDelta func(*reports.Delta)
	watch   func(*swarm.Swarm)
}

// runStepShare runs share, the whole of step st (localStep) or one
// worker's shard of it, as localStep describes; planJSON is the whole
// step's plan, recorded in the result.
func runStepShare(ctx context.Context, st capacity.Step, share *scenarios.Scenario, planJSON []byte, h stepHooks) (*reports.File, error) {
	sw, err := swarm.New(share, swarm.Options{Whole: h.whole})
	if err != nil {
		var re *swarm.ResourceError
		if errors.As(err, &re) {
			reason := re.Error() // its advice names run's flags
			if re.Resource == "files" && re.Shards > 1 {
				reason += fmt.Sprintf("; for a search: ssebench capacity ... --procs %d (or --procs auto)", re.Shards)
			}
			return nil, &capacity.LimitError{Reason: reason, Fix: capacity.Fix}
		}
		return nil, err
	}
	if h.watch != nil {
		h.watch(sw)
	}
	start := time.Now()
	warmEnd := start.Add(st.WarmUp)
	agg := reports.NewAggregator(reports.AggregatorOptions{Start: warmEnd, OnDelta: h.onDelta})
	filter := capacity.NewFilter(warmEnd, st.SLOs)
	mon := health.Start()
	agg.Consume(filter.Run(sw.Run(ctx)))
	measures := mon.Stop()
	f := runFinish(agg, runMeta{sc: share, planJSON: planJSON, planID: reports.PlanID(planJSON), health: &measures,
		interrupted: ctx.Err() != nil, took: time.Since(start)})
	f.Goodput = filter.Goodput(time.Duration(f.DurationS * float64(time.Second)))
	return f, nil
}

// announce wraps a step runner to print one line per step on w.
func announce(w io.Writer, run capacity.StepRunner) capacity.StepRunner {
	n := 0
	return func(ctx context.Context, st capacity.Step) (*reports.File, error) {
		n++
		l := reports.Load{Value: float64(st.Scenario.Load.Connections)}
		if st.Scenario.Load.Model == scenarios.Open {
			l = reports.Load{Value: st.Scenario.Load.Rate, Rate: true}
		}
		fmt.Fprintf(w, "capacity: step %d: %s for %s (warm-up %s)\n", n, l.Words(), st.Scenario.Duration-st.WarmUp, st.WarmUp)
		f, err := run(ctx, st)
		if err == nil && f != nil {
			reports.Evaluate(f, st.SLOs) // the search judges it again
			var obs []string
			for _, t := range f.Thresholds {
				obs = append(obs, t.Expr+": "+t.Observation())
			}
			fmt.Fprintf(w, "capacity: step %d: %s; %d streams, %.1f streams/s\n", n, strings.Join(obs, ", "), f.Counters.StreamsStarted, f.Rates.StreamsPerS)
		}
		return f, err
	}
}

// capacityWriteOutputs writes the JSON, HTML and JUnit files asked for.
func capacityWriteOutputs(cfg *capacityConfig, f *reports.File) []error {
	var errs []error
	for _, o := range []struct {
		flag, path string
		write      func(io.Writer, *reports.File) error
	}{
		{"--out", cfg.out, reports.WriteJSON},
		{"--html", cfg.html, reports.WriteCapacityHTML},
		{"--junit", cfg.junit, reports.WriteCapacityJUnit},
	} {
		if o.path == "" {
			continue
		}
		if err := writeFile(o.path, func(w io.Writer) error { return o.write(w, f) }); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.flag, err))
		}
	}
	return errs
}
