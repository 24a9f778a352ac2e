package main

import (
	"fmt"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// runPrepared is what a run executes: this process's share of the plan,
// and the plan itself for the JSON result.
type runPrepared struct {
	sc       *scenarios.Scenario // this process's share (its shard)
	planJSON []byte              // the whole plan as run, redacted
	planID   string              // reports.PlanID of the plan as the user gave it
	embedded bool                // the target is the in-process mock
	stop     func()              // stops the embedded mock (a no-op otherwise)
}

// runPrepare splits the plan for --shard and, with no scenario and no
// target, starts the embedded mock and points the scenario at it. The plan
// id is taken from the whole plan before the split and before the mock's
// port is known, so every shard of one run carries the same one; the JSON
// holds the whole plan as run (with the mock's address).
func runPrepare(cfg *runConfig, plan *scenarios.Scenario) (*runPrepared, error) {
	planJSON, err := scenarioJSON(plan)
	if err != nil {
		return nil, cannotRun(err)
	}
	rp := &runPrepared{sc: plan, planJSON: planJSON, planID: reports.PlanID(planJSON), stop: func() {}}
	if cfg.shardCount > 1 {
		if rp.sc, err = plan.Shard(cfg.shardIndex, cfg.shardCount); err != nil {
			return nil, usagef("--shard: %w", err)
		}
	}
	rp.embedded = cfg.scenario == "" && cfg.target == ""
	if !rp.embedded {
		return rp, nil
	}
	mock, err := mockserver.Start(mockserver.DefaultConfig(), "127.0.0.1:0")
	if err != nil {
		return nil, cannotRun(fmt.Errorf("start the embedded mock server: %w", err))
	}
	rp.stop = func() { _ = mock.Stop() }
	for _, s := range []*scenarios.Scenario{rp.sc, plan} {
		if err := s.SetTarget(mock.URL); err != nil {
			rp.stop()
			return nil, cannotRun(fmt.Errorf("point the default scenario at the embedded mock: %w", err))
		}
	}
	if rp.planJSON, err = scenarioJSON(plan); err != nil {
		rp.stop()
		return nil, cannotRun(err)
	}
	return rp, nil
}
