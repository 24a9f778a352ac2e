// Package capacity finds the most load a target sustains within its SLOs:
// the search behind 'ssebench capacity'.
//
// The search brackets the answer geometrically (Min, Min×Growth, ... until
// a step fails or Max passes), bisects between the highest passing and the
// lowest failing load until they are within Resolution of each other, then
// runs the answer again (the boundary re-check); when the re-check fails the
// boundary moves down and the bisection goes on. Every step is a full run
// of the scenario at one load: a warm-up whose streams are excluded from
// every number (Filter drops every Result scheduled before the warm-up
// ended), then the measured part.
//
// Judging a step:
//   - every SLO holds, judged from the schedule: in the open model a
//     latency from the request's start (ttft, e2e) is judged as its *_sched
//     twin, so a generator that starts requests late cannot make a knee
//     look later (in the closed model the schedule is the start);
//   - some stream succeeded (a step that served nothing never passes);
//   - a percentile rests on enough samples: MinSamples (pNN needs
//     10/(1-NN/100), so p99 needs 1,000 and p99.9 10,000, about ten
//     samples above the percentile); a step that falls short is run again,
//     longer, up to MaxStepDuration;
//   - for the open model, the backlog did not grow across the step (see
//     reports.Backlog): a rate the target cannot keep up with grows its
//     queue until the SLO fails, but a short step could end first;
//   - the generator was healthy: a step whose result is degraded (CPU,
//     scheduler or timer lateness, schedule lag; scenarios/health), or
//     whose plan the generator cannot hold (file descriptors, ephemeral
//     ports: a LimitError from the step runner), proves nothing: it is run
//     again (DegradedRetries), and then the search ends generator-limited
//     instead of reporting a knee. Only a failure far beyond the
//     generator's own measured delay counts on a degraded step (see
//     failsBeyondGenerator); a degraded step never passes.
//
// The seam: each step runs through a StepRunner, func(ctx, Step)
// (*reports.File, error). The CLI's runner drives an in-process swarm; a
// runner that spreads a step over several processes (--procs) plugs in
// there, returning the merged File (with Goodput summed over the
// processes) and a *LimitError when the plan cannot be held. Search itself
// has no clock but the runner's results, so it is tested with a fake
// runner that is a pure function of the load.
package capacity
