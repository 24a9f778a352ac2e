package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/capacity"
)

// workerStep is the capacity step a worker of capacity --procs runs. The
// worker rebuilds the search's base scenario from the same command line
// and environment as its parent, and plans the step on it as the search
// does (capacity.StepPlan), so only the step's own settings travel.
type workerStep struct {
	Load     float64       `json:"load"`           // connections, or arrivals per second with Rate
	Rate     bool          `json:"rate,omitempty"` // the open model
	Duration time.Duration `json:"duration_ns"`    // warm-up included, as Scenario.Duration
	WarmUp   time.Duration `json:"warm_up_ns"`
	SLOs     []string      `json:"slos"` // as judged (ttft_sched in the open model), for the goodput filter
}

// newWorkerStep is st as a worker's spec carries it.
func newWorkerStep(st capacity.Step) *workerStep {
	l := st.Scenario.Load
	ws := &workerStep{Duration: st.Scenario.Duration, WarmUp: st.WarmUp, SLOs: []string{}}
	if l.Model == scenarios.Open {
		ws.Load, ws.Rate = l.Rate, true
	} else {
		ws.Load = float64(l.Connections)
	}
	for _, t := range st.SLOs {
		ws.SLOs = append(ws.SLOs, t.Expr)
	}
	return ws
}

// step is the whole step (every worker's share together) on base.
func (ws *workerStep) step(base *scenarios.Scenario) (capacity.Step, error) {
	st := capacity.Step{Scenario: capacity.StepPlan(base, ws.Load, ws.Rate, ws.Duration), WarmUp: ws.WarmUp}
	for _, expr := range ws.SLOs {
		t, err := scenarios.ParseThreshold(expr)
		if err != nil {
			return st, usagef("%s: the step's SLO %q: %w", runWorkerEnv, expr, err)
		}
		st.SLOs = append(st.SLOs, t)
	}
	return st, nil
}

// capacityProcs returns the StepRunner of capacity --procs and the rule
// that chose the number of workers. Auto judges the largest step the
// search may run (--max, measured for --step-duration), by run --procs'
// rule; the target is never the embedded mock.
func capacityProcs(e *env, cfg *capacityConfig, base *scenarios.Scenario, search capacity.Config) (capacity.StepRunner, string, error) {
	largest := capacity.StepPlan(base, search.Max, search.By == capacity.Rate, search.WarmUp+search.StepDuration)
	n, rule, err := procsCount(cfg.procs, largest, false)
	if err != nil {
		return nil, "", err
	}
	if cfg.procs.auto {
		rule += fmt.Sprintf(", judged on the largest step (%s)", capacityLoadWords(largest))
	}
	return procsStepRunner(e, cfg, base, n), rule, nil
}

// capacityLoadWords is a step plan's load in words: "512 concurrent
// streams", "200/s arrivals".
func capacityLoadWords(sc *scenarios.Scenario) string {
	if sc.Load.Model == scenarios.Open {
		return reports.Load{Value: sc.Load.Rate, Rate: true}.Words()
	}
	return reports.Load{Value: float64(sc.Load.Connections)}.Words()
}

// procsStepRunner is the StepRunner of capacity --procs: each step runs
// as n workers through runAcrossProcs, as run --procs runs its plan (the
// load split into shards 1/n .. n/n, the source addresses spread round
// robin), and the search judges their merged result. A closed-model step
// of fewer connections than n runs as one worker per connection: a
// shard needs one. A step whose plan the workers cannot hold (open files,
// ports) is a *capacity.LimitError: the search ends generator-limited.
func procsStepRunner(e *env, cfg *capacityConfig, base *scenarios.Scenario, n int) capacity.StepRunner {
	workerEnv := procsEnv(e, base)
	return func(ctx context.Context, st capacity.Step) (*reports.File, error) {
		plan := st.Scenario.Clone() // the source addresses are set on it
		k := n
		if plan.Load.Model != scenarios.Open {
			k = max(1, min(n, plan.Load.Connections))
		}
		ips, _, err := procsSourceIPs(&cfg.runConfig, plan, k)
		if err != nil {
			return nil, &capacity.LimitError{Reason: err.Error(), Fix: capacity.Fix}
		}
		if err := procsPlanFits(plan, k, false, ips); err != nil {
			return nil, &capacity.LimitError{Reason: err.Error(), Fix: capacity.Fix}
		}
		dir, cleanup, err := procsDirFor("")
		if err != nil {
			return nil, err
		}
		defer cleanup()
		return runAcrossProcs(ctx, e, procsPlan{
			cmd: "capacity", args: cfg.args, env: workerEnv, n: k, ips: ips, dir: dir, step: newWorkerStep(st),
		})
	}
}

// capacityWorker is one worker of capacity --procs: it runs its shard of
// the step its spec names, as localStep runs a whole one, and writes the
// result where its parent reads it. Its Deltas and Status go to the
// parent as run --procs workers' do.
func capacityWorker(ctx context.Context, e *env, args []string, wk *procWorker) error {
	if wk.spec.Step == nil {
		return usagef("%s: the worker spec names no capacity step (it is set by 'capacity --procs' for its workers)", runWorkerEnv)
	}
	cfg, err := parseCapacityFlags(e, args)
	if err != nil {
		return err
	}
	wk.apply(&cfg.runConfig)
	base, err := loadRunScenario(&cfg.runConfig, e)
	if err != nil {
		return err
	}
	if err := checkEnv(e, base.EnvNames()...); err != nil {
		return err
	}
	st, err := wk.spec.Step.step(base)
	if err != nil {
		return err
	}
	// The plan is the whole step's, the same in every worker, so that
	// their results merge as one plan's shards.
	planJSON, err := scenarioJSON(st.Scenario)
	if err != nil {
		return cannotRun(err)
	}
	share, err := st.Scenario.Shard(wk.index, wk.count)
	if err != nil {
		return usagef("%s: %w", runWorkerEnv, err)
	}
	wk.share(share)
	f, err := runStepShare(ctx, st, share, planJSON, stepHooks{whole: wk.whole(), onDelta: wk.onDelta(), watch: wk.watch})
	if err != nil {
		return cannotRun(err)
	}
	if err := writeFile(wk.spec.Out, func(w io.Writer) error { return reports.WriteJSON(w, f) }); err != nil {
		return cannotRun(fmt.Errorf("write the step's result: %w", err))
	}
	if ctx.Err() != nil {
		return interrupted(errors.New("interrupted: the step's partial result was written"))
	}
	return nil
}
