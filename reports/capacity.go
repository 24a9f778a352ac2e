package reports

import (
	"github.com/ssebench/ssebench/scenarios"

	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Capacity is the answer of a capacity search (ssebench capacity): the most
// load the target sustained within every SLO, the first load that failed,
// and every step the search ran, each with its full result. It is the
// "capacity" object at the top level of the search's JSON result file,
// whose other fields are the result of the answer step (the highest passing
// step, else the last step run).
type Capacity struct {
	// By is what was searched: "connections" (the closed model's
	// concurrent streams) or "rate" (the open model's arrivals per second).
	By string `json:"by"`
	// Verdict is "found" (a passing load and a failing one above it),
	// "max_passes" (--max itself passed: a lower bound), "min_fails"
	// (even --min failed) or "generator_limited" (the generator could not
	// drive a step before the search had its answer).
	Verdict string `json:"verdict"`
	// Answer is the one-sentence answer the text summary leads with.
	Answer string `json:"answer"`
	// MaxPassing is the highest load that passed (null when none did).
	MaxPassing *Load `json:"max_passing"`
	// FirstFailing is the lowest load that failed (null when none did, and
	// when the search ended generator-limited: no knee is reported then).
	FirstFailing *Load `json:"first_failing"`
	// SLOs are the objectives, as written and as judged.
	SLOs []CapacitySLO `json:"slos"`
	// GeneratorLimited is set when a step proved nothing because the load
	// generator, not the target, was the limit; Limit says which limit and
	// Fix what to do about it.
	GeneratorLimited bool   `json:"generator_limited"`
	Limit            string `json:"limit,omitempty"`
	Fix              string `json:"fix,omitempty"`
	// Min, Max and Resolution are the search's bounds and its relative
	// resolution (bisection stops when the failing load is within
	// Resolution of the passing one).
	Min        Load    `json:"min"`
	Max        Load    `json:"max"`
	Resolution float64 `json:"resolution"`
	// WallS is the search's wall time, seconds.
	WallS float64 `json:"wall_s"`
	// Steps are the steps in the order they ran.
	Steps []CapacityStep `json:"steps"`
	// Notes are caveats, one sentence each.
	Notes []string `json:"notes"`
}

// CapacitySLO is one objective of a search.
type CapacitySLO struct {
	// Expr is the objective as written ("ttft.p99 < 300ms").
	Expr string `json:"expr"`
	// Judged is the expression the steps were judged by: in the open model
	// a latency measured from the start of the request is judged from the
	// schedule instead ("ttft_sched.p99 < 300ms"), so a generator that
	// falls behind cannot hide queueing.
	Judged string `json:"judged"`
	// MinSamples is the number of samples a step needs before its
	// statistic is trusted (0: no minimum).
	MinSamples int64 `json:"min_samples"`
}

// CapacityStep is one load the search ran.
type CapacityStep struct {
	N     int    `json:"n"`     // 1, 2, ... in the order run
	Phase string `json:"phase"` // "bracket", "bisect" or "recheck"
	Load  Load   `json:"load"`
	// DurationS is the measured part of the step, seconds; WarmUpS the
	// warm-up before it, whose streams are excluded from every number.
	DurationS float64 `json:"duration_s"`
	WarmUpS   float64 `json:"warm_up_s"`
	// Extended is set when the step was run again, longer, because a
	// statistic rested on fewer samples than its minimum; SamplesShort
	// when it still did at the longest step allowed.
	Extended     bool `json:"extended"`
	SamplesShort bool `json:"samples_short"`
	// Pass: every SLO held, some stream succeeded, enough samples, the
	// backlog did not grow, and the generator was healthy.
	Pass bool `json:"pass"`
	// Observed holds each SLO's observed value at this step.
	Observed []ThresholdResult `json:"observed"`
	// Samples holds the samples each SLO's statistic rested on, in the
	// order of Observed.
	Samples []int64 `json:"samples"`
	// Backlog is the open model's sustainability check (null in the
	// closed model).
	Backlog *Backlog `json:"backlog"`
	// Degraded: the generator was the limit at this step (see Reasons);
	// the step proves nothing.
	Degraded bool     `json:"degraded"`
	Reasons  []string `json:"degraded_reasons"`
	// Goodput counts the streams that met every SLO.
	Goodput Goodput `json:"goodput"`
	// StreamsPerS and TokensPerS are the step's throughput.
	StreamsPerS float64 `json:"streams_per_s"`
	TokensPerS  float64 `json:"tokens_per_s"`
	EventsPerS  float64 `json:"events_per_s"`
	// Why says why the step failed or proves nothing, and when its
	// statistics rested on too few samples ("" for a clean pass).
	Why string `json:"why,omitempty"`
	// Result is the step's full result (histograms included), which
	// 'ssebench report --step N' renders.
	Result *File `json:"result"`
}

// Backlog is the open model's check that a step was sustainable: the
// streams in flight, the time to first token and the schedule lag, each
// averaged over the middle and the last third of the step's intervals,
// must not grow from one to the other beyond the bounds below.
type Backlog struct {
	Judged bool `json:"judged"` // false when the step had too few intervals
	// ActiveMid, ActiveEnd: streams in flight (mean).
	ActiveMid float64 `json:"active_mid"`
	ActiveEnd float64 `json:"active_end"`
	// TTFTMidMs, TTFTEndMs: ttft p50 (mean of the intervals'), ms.
	TTFTMidMs float64 `json:"ttft_p50_mid_ms"`
	TTFTEndMs float64 `json:"ttft_p50_end_ms"`
	// LagMidMs, LagEndMs: schedule lag p99 (queue), ms.
	LagMidMs float64 `json:"lag_p99_mid_ms"`
	LagEndMs float64 `json:"lag_p99_end_ms"`
	Grows    bool    `json:"grows"`
	Why      string  `json:"why,omitempty"`
}

// Goodput counts, for one step, the streams that met every SLO. Judged is
// the denominator: every stream started in the measured part of the step
// (failed streams count as misses, and so do dropped arrivals), except
// streams the end of the step cut before they had missed an objective
// (Cut), which cannot be judged. A stream meets a latency objective when
// its own value of the metric satisfies the bound (ttft < 300ms for
// "ttft.p99 < 300ms"); objectives on metrics sampled many times per stream
// (gap, itl, connect, resume_gap) and on counters other than errors are
// judged over the step only, not per stream.
type Goodput struct {
	Good   int64 `json:"good"`
	Judged int64 `json:"judged"`
	Cut    int64 `json:"cut"`
	// Fraction is Good / Judged (0 when nothing was judged); PerS is Good
	// per second of the measured part.
	Fraction float64 `json:"fraction"`
	PerS     float64 `json:"per_s"`
}

// Load is a step's load: a number of concurrent streams, or an arrival
// rate per second. In JSON a connection count is a number (80) and a rate a
// string ("76/s").
type Load struct {
	Value float64
	Rate  bool
}

// String spells l: "80" or "76/s".
func (l Load) String() string {
	if l.Rate {
		return strconv.FormatFloat(roundSig(l.Value), 'f', -1, 64) + "/s"
	}
	return strconv.FormatFloat(math.Round(l.Value), 'f', -1, 64)
}

// Words spells l for a sentence: "80 concurrent streams" or "76/s arrivals".
func (l Load) Words() string {
	if l.Rate {
		return l.String() + " arrivals"
	}
	if l.Value == 1 {
		return "1 concurrent stream"
	}
	return l.String() + " concurrent streams"
}

// roundSig rounds v to 4 significant digits, for display.
func roundSig(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// MarshalJSON writes a number or a "N/s" string.
func (l Load) MarshalJSON() ([]byte, error) {
	if l.Rate {
		return json.Marshal(l.String())
	}
	return json.Marshal(math.Round(l.Value))
}

// UnmarshalJSON reads a number (connections) or a "N/s" string (rate).
func (l *Load) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		*l = Load{Value: n}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("a load is a number of connections or a rate such as \"76/s\"")
	}
	v, ok := strings.CutSuffix(s, "/s")
	f, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil || f < 0 {
		return fmt.Errorf("load %q: want a rate such as \"76/s\"", s)
	}
	*l = Load{Value: f, Rate: true}
	return nil
}

// Step returns step n (1-based) of c.
func (c *Capacity) Step(n int) (*CapacityStep, error) {
	if n < 1 || n > len(c.Steps) {
		return nil, fmt.Errorf("no step %d: the search ran %d steps (1..%d)", n, len(c.Steps), len(c.Steps))
	}
	return &c.Steps[n-1], nil
}

// FormatObserved formats a statistic in a threshold's unit, as the
// summary does ("1040 ms", "2.50%", "118.0/s").
func FormatObserved(v float64, unit scenarios.Unit) string { return fmtObserved(v, unit) }

// mergeGoodput sums the shards' goodput counts (nil when none has any),
// with the fraction and the rate over the merged duration.
func mergeGoodput(files []*File, durationS float64) *Goodput {
	var g *Goodput
	for _, f := range files {
		if f.Goodput == nil {
			continue
		}
		if g == nil {
			g = &Goodput{}
		}
		g.Good += f.Goodput.Good
		g.Judged += f.Goodput.Judged
		g.Cut += f.Goodput.Cut
	}
	if g == nil {
		return nil
	}
	if g.Judged > 0 {
		g.Fraction = float64(g.Good) / float64(g.Judged)
	}
	if durationS > 0 {
		g.PerS = float64(g.Good) / durationS
	}
	return g
}
