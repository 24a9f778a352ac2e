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

// DegradedRetries is how many times a step whose generator was degraded is
// run again before the search ends generator-limited.
const DegradedRetries = 2

// MinSamples is the number of samples a step needs before t's statistic is
// trusted: for a percentile pNN, 10 / (1 - NN/100), so that about ten
// samples lie above it (p50: 20, p90: 100, p99: 1,000, p99.9: 10,000;
// p100 and max: 1,000); for min, mean and stddev 100; for the fraction of
// failed (aborted) streams, 100 streams started; none for counts and
// per-second rates. Bounded at 100,000.
func MinSamples(t scenarios.Threshold) int64 {
	if _, latency := scenarios.ParseMetric(t.Metric); latency {
		switch {
		case t.Stat == scenarios.StatCount:
			return 0
		case t.Stat == scenarios.StatMax:
			return 1000
		case t.Stat == scenarios.StatPercentile:
			if t.Quantile >= 100 {
				return 1000
			}
			return min(int64(math.Ceil(10/(1-t.Quantile/100)-1e-6)), 100_000)
		}
		return 100
	}
	if t.Stat == scenarios.StatRate && scenarios.IsFractionCounter(t.Metric) {
		return 100
	}
	return 0
}

// samplesOf is the number of samples t's statistic rests on in f.
func samplesOf(f *reports.File, t scenarios.Threshold) int64 {
	if _, latency := scenarios.ParseMetric(t.Metric); latency {
		if m := f.Metrics[t.Metric]; m != nil {
			return m.Count
		}
		return 0
	}
	c := f.Counters
	if t.Metric == "arrivals_dropped" {
		return c.StreamsStarted + c.ArrivalsDropped
	}
	return c.StreamsStarted
}

// judgedSLOs returns the SLOs as judged: in the open model, ttft and e2e
// are judged from the schedule (ttft_sched, e2e_sched).
func judgedSLOs(slos []scenarios.Threshold, open bool) []scenarios.Threshold {
	out := make([]scenarios.Threshold, len(slos))
	for i, t := range slos {
		out[i] = t
		if !open {
			continue
		}
		if sched, ok := map[string]string{"ttft": "ttft_sched", "e2e": "e2e_sched"}[t.Metric]; ok {
			out[i].Metric = sched
			out[i].Expr = sched + strings.TrimPrefix(strings.TrimSpace(t.Expr), t.Metric)
		}
	}
	return out
}

// JudgedSLOs returns slos as a search judges them (see Search): in the
// open model ttft and e2e become ttft_sched and e2e_sched.
func JudgedSLOs(slos []scenarios.Threshold, by By) []scenarios.Threshold {
	return judgedSLOs(slos, by == Rate)
}

// plan returns the scenario of one step at load, running warm-up plus d.
func (s *searcher) plan(load float64, d time.Duration) *scenarios.Scenario {
	return StepPlan(s.base, load, s.open, s.cfg.WarmUp+d)
}

// StepPlan returns the scenario of a step at load on base: load
// connections (closed model) or load arrivals per second (open), for
// duration (warm-up included), no thresholds (the search judges), no
// grace (the step's end cuts its streams). Search plans every step with
// it; a runner that rebuilds a step elsewhere (a worker process) plans
// it the same way.
func StepPlan(base *scenarios.Scenario, load float64, open bool, duration time.Duration) *scenarios.Scenario {
	sc := *base
	sc.Thresholds = nil
	if open {
		sc.UseRate(load)
	} else {
		sc.UseConnections(int(load))
	}
	sc.Duration = duration
	sc.Grace = 0
	return &sc
}

// ConclusiveAbove is how many samples over an upper bound make a failed
// percentile conclusive however few samples the step has: the same ten
// samples beyond the percentile that MinSamples asks for.
const ConclusiveAbove = 10

// short returns, for the SLO furthest from its minimum, the samples it
// needs and has (0, 0 when every SLO has enough). A failed latency
// percentile with an upper bound (<, <=) is conclusive once
// ConclusiveAbove samples lie above the bound.
func (s *searcher) short(f *reports.File) (need, have int64) {
	have = math.MaxInt64
	for i, t := range s.judged {
		n := MinSamples(t)
		if n == 0 {
			continue
		}
		if i < len(f.Thresholds) && !f.Thresholds[i].Pass && f.Thresholds[i].Error == "" && above(f, t) >= ConclusiveAbove {
			continue
		}
		got := samplesOf(f, t)
		if float64(got) < float64(n) && float64(n)/math.Max(float64(got), 1) > float64(need)/math.Max(float64(have), 1) {
			need, have = n, got
		}
	}
	if need == 0 {
		have = 0
	}
	return need, have
}

// above counts the samples of t's latency metric above t's upper bound
// (0 for other thresholds), to within the histogram's resolution.
func above(f *reports.File, t scenarios.Threshold) int64 {
	_, latency := scenarios.ParseMetric(t.Metric)
	m := f.Metrics[t.Metric]
	if !latency || (t.Op != scenarios.OpLess && t.Op != scenarios.OpLessEqual) || m == nil || m.Count == 0 {
		return 0
	}
	h, err := reports.DecodeHistogram(m.HDR)
	if err != nil {
		return 0
	}
	bound := time.Duration(t.Value * 1e6)
	if h.Quantile(1) <= bound {
		return 0
	}
	// The smallest quantile whose value is over the bound, by bisection.
	lo, hi := 0.0, 1.0
	for range 40 {
		mid := (lo + hi) / 2
		if h.Quantile(mid) > bound {
			hi = mid
		} else {
			lo = mid
		}
	}
	return int64(math.Round((1 - hi) * float64(m.Count)))
}

// BeyondGenerator is the multiple of the generator's worst measured delay
// by which a degraded step's samples must exceed a bound for its failure
// to count (see failsBeyondGenerator).
const BeyondGenerator = 4

// failsBeyondGenerator reports whether a degraded step failed a latency
// SLO conclusively all the same: the generator was not CPU-bound (its
// delays came from the machine, and are measured), and at least
// ConclusiveAbove samples exceed the SLO's upper bound by more than
// BeyondGenerator times its worst measured delay (the largest of its timer
// lateness max, scheduler latency p99 and schedule lag p99), which no
// client-side delay explains. It returns that margin, ms. A degraded step
// never passes, and a CPU-bound generator's step proves nothing.
func (s *searcher) failsBeyondGenerator(f *reports.File) (float64, bool) {
	g := f.Generator
	if g == nil || !g.Measured || g.GOMAXPROCS <= 0 || g.CPUsUsed >= g.Limits.CPUFraction*float64(g.GOMAXPROCS) {
		return 0, false
	}
	slack := BeyondGenerator * max(g.TimerMax, g.SchedP99, g.ScheduleLagP99)
	if slack <= 0 {
		return 0, false
	}
	for i, t := range s.judged {
		if i >= len(f.Thresholds) || f.Thresholds[i].Pass || f.Thresholds[i].Error != "" {
			continue
		}
		far := t
		far.Value += slack
		if above(f, far) >= ConclusiveAbove {
			return slack, true
		}
	}
	return 0, false
}

// duration is how long to measure a step at load: long enough, from the
// samples per second per unit of load seen so far, for the largest
// minimum, within [StepDuration, MaxStepDuration].
func (s *searcher) duration(load float64, need int64) time.Duration {
	d := s.cfg.StepDuration
	if s.perLoad > 0 && need > 0 {
		// Samples grow with the load up to the knee, not beyond.
		rate := s.perLoad * load
		if s.maxRate > 0 {
			rate = min(rate, s.maxRate)
		}
		want := time.Duration(float64(need) / rate * 1.2 * float64(time.Second))
		d = max(d, want)
	}
	return min(d.Round(time.Second), s.cfg.MaxStepDuration)
}

// maxNeed is the largest MinSamples of the judged SLOs.
func (s *searcher) maxNeed() int64 {
	var n int64
	for _, t := range s.judged {
		n = max(n, MinSamples(t))
	}
	return n
}

// try runs one step at load (extended when its statistics rest on too few
// samples and it matters: an answer-finding step, or a failing one) and
// records it. It returns errStop when the search must end.
func (s *searcher) try(ctx context.Context, load float64, phase string, answerStep bool) (bool, error) {
	if s.pause(ctx) != nil {
		return false, ctx.Err()
	}
	// A bisection step starts short: above the knee it usually fails
	// conclusively (ConclusiveAbove) and needs no more. The re-check, at a
	// load that passed, is sized for its samples at once.
	d := s.cfg.StepDuration
	if phase == "recheck" {
		d = s.duration(load, s.maxNeed())
	}
	extended, retries := false, 0
	for {
		if len(s.c.Steps) >= s.cfg.MaxSteps {
			s.c.Notes = append(s.c.Notes, fmt.Sprintf("the search stopped after %d steps (its bound)", s.cfg.MaxSteps))
			return false, errStop
		}
		st, err := s.runStep(ctx, load, d, phase)
		if err != nil {
			return false, err
		}
		st.Extended = extended
		var need, have int64
		if st.Result != nil {
			need, have = s.short(st.Result)
		}
		st.SamplesShort = need > 0
		served := st.Result != nil && reports.Unserved(st.Result) == ""
		if st.SamplesShort && served && !st.Degraded && (answerStep || !st.Pass) && d < s.cfg.MaxStepDuration {
			// Too few samples to judge: run it again, longer.
			want := time.Duration(float64(d) * float64(need) / math.Max(float64(have), 1) * 1.2)
			d = min(max(want, d+time.Second), s.cfg.MaxStepDuration).Round(time.Second)
			extended = true
			if s.pause(ctx) != nil {
				return false, ctx.Err()
			}
			continue
		}
		if st.SamplesShort {
			why := "a passing bracket step is not extended: it only lets the search grow"
			switch {
			case st.Degraded:
				why = "not extended: the generator was degraded"
			case !served:
				why = "not extended: no stream succeeded"
			case d >= s.cfg.MaxStepDuration:
				why = "even at the longest step (--max-step-duration)"
			}
			st.Why = strings.TrimPrefix(st.Why+fmt.Sprintf("; %d samples, fewer than the %d the statistic needs; %s", have, need, why), "; ")
		}
		if st.Degraded && st.Result != nil && retries < DegradedRetries {
			// The generator's health is judged on the whole machine: a
			// burst of other work can degrade one step. Run it again.
			// Twice as long: a failure too close to the bound to count
			// on a degraded step may count with more samples.
			retries++
			s.c.Notes = append(s.c.Notes, fmt.Sprintf("a step at %s was degraded (%s) and run again", st.Load.Words(), strings.Join(st.Reasons, "; ")))
			if sloFailed(st) && d < s.cfg.MaxStepDuration {
				d = min(2*d, s.cfg.MaxStepDuration)
				extended = true
			}
			if s.pause(ctx) != nil {
				return false, ctx.Err()
			}
			continue
		}
		s.c.Steps = append(s.c.Steps, *st)
		if st.Degraded {
			s.limited = true
			s.c.Limit = strings.Join(st.Reasons, "; ")
			s.c.Fix = Fix
			return false, errStop
		}
		return st.Pass, nil
	}
}

// pause waits between steps (not before the first).
func (s *searcher) pause(ctx context.Context) error {
	if len(s.c.Steps) == 0 || s.cfg.Pause <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(s.cfg.Pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runStep runs and judges one step.
func (s *searcher) runStep(ctx context.Context, load float64, d time.Duration, phase string) (*reports.CapacityStep, error) {
	st := &reports.CapacityStep{
		N: len(s.c.Steps) + 1, Phase: phase, Load: s.load(load),
		DurationS: d.Seconds(), WarmUpS: s.cfg.WarmUp.Seconds(),
		Observed: []reports.ThresholdResult{}, Samples: []int64{}, Reasons: []string{},
	}
	f, err := s.run(ctx, Step{Scenario: s.plan(load, d), WarmUp: s.cfg.WarmUp, SLOs: s.judged})
	var le *LimitError
	switch {
	case errors.As(err, &le):
		st.Degraded = true
		st.Reasons = []string{le.Reason}
		st.Why = "generator-limited: " + le.Reason
		return st, nil
	case err != nil:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("step %d (%s): %w", st.N, st.Load.Words(), err)
	case f == nil:
		return nil, fmt.Errorf("step %d (%s): the step runner returned no result", st.N, st.Load.Words())
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	s.judge(st, f)
	return st, nil
}

// judge fills st's verdict from the step's result f.
func (s *searcher) judge(st *reports.CapacityStep, f *reports.File) {
	st.Result = f
	if f.DurationS > 0 {
		st.DurationS = f.DurationS
	}
	st.StreamsPerS, st.TokensPerS, st.EventsPerS = f.Rates.StreamsPerS, f.Rates.TokensPerS, f.Rates.EventsPerS
	if f.Goodput != nil {
		st.Goodput = *f.Goodput
	}
	pass := reports.Evaluate(f, s.judged)
	st.Observed = append(st.Observed, f.Thresholds...)
	var why []string
	for i, t := range s.judged {
		st.Samples = append(st.Samples, samplesOf(f, t))
		if r := f.Thresholds[i]; !r.Pass {
			if r.Error != "" {
				why = append(why, fmt.Sprintf("%s.%s: %s", t.Metric, t.StatName(), r.Error))
			} else {
				why = append(why, fmt.Sprintf("%s.%s %s", t.Metric, t.StatName(), reports.FormatObserved(r.Observed, r.Unit)))
			}
		}
	}
	if u := reports.Unserved(f); u != "" {
		pass = false
		why = append(why, u)
	}
	if s.open {
		st.Backlog = judgeBacklog(f)
		if st.Backlog.Grows {
			pass = false
			why = append(why, "not sustainable: "+st.Backlog.Why)
		}
	}
	// The samples per second per unit of load, to size later steps.
	if need := s.maxNeed(); need > 0 && st.DurationS > 0 && st.Load.Value > 0 {
		var got int64 = math.MaxInt64
		for _, t := range s.judged {
			if MinSamples(t) > 0 {
				got = min(got, samplesOf(f, t))
			}
		}
		if got > 0 && got < math.MaxInt64 {
			rate := float64(got) / st.DurationS
			s.maxRate = max(s.maxRate, rate)
			if pass || s.perLoad == 0 {
				s.perLoad = rate / st.Load.Value
			}
		}
	}
	if f.Degraded {
		reasons := []string{"the generator was degraded"}
		if f.Generator != nil && len(f.Generator.Reasons) > 0 {
			reasons = f.Generator.Reasons
		}
		slack, beyond := s.failsBeyondGenerator(f)
		switch {
		case beyond:
			// The target failed by far more than the generator's own
			// delay can explain: a real failure, degraded or not.
			why = append(why, fmt.Sprintf("the generator was degraded, but at least %d samples exceed the bound by more than %s, %d times its worst delay", ConclusiveAbove, time.Duration(slack*1e6).Round(time.Millisecond), BeyondGenerator))
			st.Reasons = append(st.Reasons, reasons...)
		case reports.Unserved(f) != "" && !timedOut(f):
			// Every stream failed, and none by a deadline a late client
			// could have missed: refusals, errors, resets are the target's.
			why = append(why, "the generator was degraded, but no stream succeeded and none failed by a timeout")
			st.Reasons = append(st.Reasons, reasons...)
		default:
			st.Degraded = true
			st.Reasons = append(st.Reasons, reasons...)
			pass = false
			why = append([]string{"generator-limited: " + strings.Join(st.Reasons, "; ")}, why...)
		}
	}
	st.Pass = pass
	st.Why = strings.Join(why, "; ")
}

// sloFailed reports whether some SLO failed at st.
func sloFailed(st *reports.CapacityStep) bool {
	for _, r := range st.Observed {
		if !r.Pass {
			return true
		}
	}
	return false
}

// timedOut reports whether some stream of f failed by a timeout.
func timedOut(f *reports.File) bool {
	for class, n := range f.Counters.Errors {
		if n > 0 && strings.HasPrefix(class, "timeout") {
			return true
		}
	}
	return false
}
