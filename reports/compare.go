package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// DefaultMaxRegression is the default tolerance of Compare: a metric may be
// 10% worse than the baseline before it counts as regressed.
const DefaultMaxRegression = 0.10

// DefaultMinDelta is the default CompareOptions.MinDelta: latency changes
// smaller than this never count as a regression (or an improvement).
const DefaultMinDelta = time.Millisecond

// DefaultCompareMetrics are the latency metrics Compare tracks by default,
// each at p50 and p99.
var DefaultCompareMetrics = []string{"ttft", "gap", "e2e", "ttfb"}

// DefaultResamples is the number of bootstrap resamples per quantile.
const DefaultResamples = 500

// minTail is how many samples each run must have beyond a quantile (on its
// far side) for a difference in it to count as significant. The bootstrap
// cannot judge extreme order statistics: with 60 samples a p99 is the
// maximum, one sample, and its bootstrap distribution hardly varies, so a
// single outlier would look significant.
const minTail = 10

// zCrit is the one-sided 5% critical value of the standard normal: every
// significance test of Compare is one-sided at the 5% level in each
// direction (equivalently, a two-sided 90% confidence interval).
const zCrit = 1.6448536269514722

// CompareOptions configure Compare.
type CompareOptions struct {
	// MaxRegression is the tolerance as a fraction (0.10 = 10%). 0 means
	// DefaultMaxRegression; a negative value means no tolerance.
	MaxRegression float64
	// Metrics are the latency statistics to compare: a metric name ("ttft",
	// meaning its p50 and p99) or METRIC.pNN ("ttft.p95"). Empty means
	// DefaultCompareMetrics. The error rate and the event rate are always
	// compared.
	Metrics []string
	// MinDelta is the smallest latency increase that can count as a
	// regression, whatever the percentage: a ttfb going from 0.28 ms to
	// 0.42 ms is +50% and may be statistically real, yet no user can tell.
	// 0 means DefaultMinDelta; a negative value means no floor.
	MinDelta time.Duration
	// Resamples is the number of bootstrap resamples. 0 means
	// DefaultResamples.
	Resamples int
	// Seed seeds the bootstrap, so a comparison is reproducible. 0 is a
	// fixed default seed.
	Seed uint64
}

// The verdicts of a ComparisonRow.
const (
	VerdictOK        = "ok"        // within tolerance, or not significant
	VerdictRegressed = "regressed" // worse beyond tolerance, and significant
	VerdictImproved  = "improved"  // better beyond tolerance, and significant
	VerdictMissing   = "missing"   // measured in the baseline, not in the current run (a regression)
	VerdictNoBase    = "no baseline"
)

// ComparisonRow is one compared statistic.
type ComparisonRow struct {
	// Name is the statistic, e.g. "ttft.p99", "errors.rate", "events.rate".
	Name string `json:"name"`
	// Unit is the unit of Base, Current, Low and High: "ms", "fraction"
	// (errors.rate) or "/s".
	Unit    scenarios.Unit `json:"unit"`
	Base    float64        `json:"base"`    // the baseline's value, in Unit
	Current float64        `json:"current"` // the current run's value, in Unit
	// DeltaPct is (Current - Base) / Base in percent; null when Base is 0.
	DeltaPct *float64 `json:"delta_pct"`
	// Test names the significance test: "bootstrap" (of the quantile
	// difference, from the two histograms), "z-test" (two-proportion) or
	// "" (none: events.rate is one number per run).
	Test string `json:"test,omitempty"`
	// Low and High bound the 90% confidence interval of Current - Base,
	// in Unit (when Test is not "").
	Low  float64 `json:"ci_low"`
	High float64 `json:"ci_high"`
	// Significant is true when the interval excludes 0: the difference is
	// larger than the sampling noise of the two runs. It is false when a
	// run has too few samples to judge the quantile (see Note).
	Significant bool `json:"significant"`
	// Note explains a verdict that needs it, e.g. too few samples.
	Note string `json:"note,omitempty"`
	// Verdict is VerdictOK, VerdictRegressed, VerdictImproved,
	// VerdictMissing or VerdictNoBase.
	Verdict string `json:"verdict"`
}

// Regressed reports whether the row counts as a regression.
func (r ComparisonRow) Regressed() bool {
	return r.Verdict == VerdictRegressed || r.Verdict == VerdictMissing
}

// Comparison is the result of comparing a run against a baseline.
type Comparison struct {
	// BaseLabel and CurrentLabel name the two runs in reports (Compare sets
	// them from the shard and start time; callers may set file names).
	BaseLabel    string `json:"base"`
	CurrentLabel string `json:"current"`
	// Tolerance is the MaxRegression used, as a fraction.
	Tolerance float64         `json:"tolerance"`
	Rows      []ComparisonRow `json:"rows"`  // latency quantiles, then errors.rate and events.rate
	Notes     []string        `json:"notes"` // caveats: different scenarios, degraded runs, ignored statistics
}

// Regressed reports whether any row regressed.
func (c *Comparison) Regressed() bool { return len(c.Regressions()) > 0 }

// Regressions returns the names of the rows that regressed, in row order.
func (c *Comparison) Regressions() []string {
	var out []string
	for _, r := range c.Rows {
		if r.Regressed() {
			out = append(out, r.Name)
		}
	}
	return out
}

// Compare compares cur against the baseline base, statistic by statistic.
//
// A latency quantile regressed when cur > base × (1 + tolerance) AND the
// increase is significant: the 90% bootstrap interval of the quantile
// difference lies above 0. The bootstrap resamples each run from its
// HdrHistogram (the r-th order statistic of a resample of n values is the
// empirical quantile at a Beta(r, n-r+1) draw, which is exact and costs one
// draw per resample), so small runs, whose quantiles are noisy, do not fail
// on noise. A quantile with fewer than 10 samples beyond it in either run
// (p99 of fewer than 1000) is never significant: the bootstrap cannot judge
// such extremes. It measures sampling noise within the runs, not drift
// between machines or days: the tolerance is for that.
//
// The error rate (failed / started streams) regressed when it rose by more
// than the tolerance in absolute terms (10% = 10 percentage points: a jump
// that needs no statistics), or when it rose beyond base × (1 + tolerance)
// AND a one-sided two-proportion z-test says the rise is significant at 5%.
//
// The event rate (events/s) regressed when it fell by more than the
// tolerance; it is one number per run, so there is no significance test.
//
// A tracked latency that the baseline measured but the current run did not
// regresses as VerdictMissing: a gate must never pass on missing data.
func Compare(base, cur *File, opts CompareOptions) *Comparison {
	tol := opts.MaxRegression
	switch {
	case tol == 0:
		tol = DefaultMaxRegression
	case tol < 0:
		tol = 0
	}
	if opts.Resamples <= 0 {
		opts.Resamples = DefaultResamples
	}
	if opts.MinDelta == 0 {
		opts.MinDelta = DefaultMinDelta
	}
	if len(opts.Metrics) == 0 {
		opts.Metrics = DefaultCompareMetrics
	}
	c := &Comparison{
		BaseLabel:    runLabel(base),
		CurrentLabel: runLabel(cur),
		Tolerance:    tol,
		Notes:        []string{},
	}
	for _, spec := range opts.Metrics {
		name, stat, ok := strings.Cut(spec, ".")
		stats := []string{"p50", "p99"}
		if ok {
			stats = []string{stat}
		}
		for _, st := range stats {
			if _, err := parseQuantile(st); err != nil {
				c.Notes = append(c.Notes, fmt.Sprintf("%s.%s ignored: only percentiles are compared", name, st))
				continue
			}
			c.Rows = append(c.Rows, compareLatency(base, cur, name, st, tol, opts))
		}
	}
	c.Rows = append(c.Rows, compareErrors(base, cur, tol), compareEvents(base, cur, tol))

	if !sameJSON(base.Scenario, cur.Scenario) {
		c.Notes = append(c.Notes, "the scenarios differ: the comparison may not be like for like")
	}
	if base.Degraded {
		c.Notes = append(c.Notes, "the baseline run was degraded (its load generator limited the numbers)")
	}
	if cur.Degraded {
		c.Notes = append(c.Notes, "the current run was degraded (its load generator limited the numbers)")
	}
	return c
}

// compareLatency compares one quantile of one latency metric.
func compareLatency(base, cur *File, name, stat string, tol float64, opts CompareOptions) ComparisonRow {
	row := ComparisonRow{Name: name + "." + stat, Unit: scenarios.UnitMillis, Verdict: VerdictOK}
	q, _ := parseQuantile(stat) // checked by Compare
	bh, berr := metricHist(base, name)
	ch, cerr := metricHist(cur, name)
	switch {
	case berr != nil:
		row.Verdict = VerdictNoBase
		if ch != nil {
			row.Current = ms(ch.Quantile(q))
		}
		return row
	case cerr != nil:
		row.Base = ms(bh.Quantile(q))
		row.Verdict = VerdictMissing
		return row
	}
	row.Base, row.Current = ms(bh.Quantile(q)), ms(ch.Quantile(q))
	row.DeltaPct = deltaPct(row.Base, row.Current)
	row.Test = "bootstrap"
	rng := rand.New(rand.NewPCG(opts.Seed, seedOf(row.Name)))
	row.Low, row.High = bootstrapDiff(rng, bh.buckets(), ch.buckets(), q, opts.Resamples)
	up, down := row.Low > 0, row.High < 0
	if n := min(bh.Count(), ch.Count()); float64(n)*min(q, 1-q) < minTail {
		need := int64(math.Ceil(minTail / max(min(q, 1-q), 1e-9)))
		row.Note = fmt.Sprintf("too few samples to judge %s: %d, need %d per run", stat, n, need)
		up, down = false, false
	}
	row.Significant = up || down
	floor := ms(opts.MinDelta)
	if opts.MinDelta < 0 {
		floor = 0
	}
	if (up || down) && math.Abs(row.Current-row.Base) < floor {
		row.Note = fmt.Sprintf("change under %s, the smallest that counts", opts.MinDelta)
		return row
	}
	switch {
	case up && row.Current > row.Base*(1+tol):
		row.Verdict = VerdictRegressed
	case down && row.Current < row.Base*(1-tol):
		row.Verdict = VerdictImproved
	}
	return row
}

// compareErrors compares the error rates (failed / started streams).
func compareErrors(base, cur *File, tol float64) ComparisonRow {
	row := ComparisonRow{Name: "errors.rate", Unit: scenarios.UnitFraction, Verdict: VerdictOK}
	nb, nc := base.Counters.StreamsStarted, cur.Counters.StreamsStarted
	xb, xc := base.Counters.StreamsFailed, cur.Counters.StreamsFailed
	if nb == 0 {
		row.Verdict = VerdictNoBase
		return row
	}
	row.Base = float64(xb) / float64(nb)
	if nc == 0 {
		row.Verdict = VerdictMissing
		return row
	}
	row.Current = float64(xc) / float64(nc)
	row.DeltaPct = deltaPct(row.Base, row.Current)
	row.Test = "z-test"
	diff := row.Current - row.Base
	p := float64(xb+xc) / float64(nb+nc)
	se := math.Sqrt(p * (1 - p) * (1/float64(nb) + 1/float64(nc)))
	var z float64
	if se > 0 {
		z = diff / se
	}
	// The interval uses the unpooled standard error (Wald).
	seu := math.Sqrt(row.Base*(1-row.Base)/float64(nb) + row.Current*(1-row.Current)/float64(nc))
	row.Low, row.High = diff-zCrit*seu, diff+zCrit*seu
	row.Significant = math.Abs(z) > zCrit
	switch {
	case diff > tol:
		row.Verdict = VerdictRegressed
	case z > zCrit && row.Current > row.Base*(1+tol):
		row.Verdict = VerdictRegressed
	case z < -zCrit && row.Current < row.Base*(1-tol):
		row.Verdict = VerdictImproved
	}
	return row
}

// compareEvents compares the event rates (events per second).
func compareEvents(base, cur *File, tol float64) ComparisonRow {
	row := ComparisonRow{Name: "events.rate", Unit: scenarios.UnitPerSecond, Verdict: VerdictOK,
		Base: base.Rates.EventsPerS, Current: cur.Rates.EventsPerS}
	if row.Base == 0 {
		row.Verdict = VerdictNoBase
		return row
	}
	row.DeltaPct = deltaPct(row.Base, row.Current)
	switch {
	case row.Current < row.Base*(1-tol):
		row.Verdict = VerdictRegressed
	case row.Current > row.Base*(1+tol):
		row.Verdict = VerdictImproved
	}
	return row
}

// metricHist decodes the histogram of metric name, or says why it cannot.
func metricHist(f *File, name string) (*Histogram, error) {
	m := f.Metrics[name]
	if m == nil || m.Count == 0 {
		return nil, errNoSamples
	}
	return DecodeHistogram(m.HDR)
}

// parseQuantile turns "p99.9" into 0.999.
func parseQuantile(stat string) (float64, error) {
	if !strings.HasPrefix(stat, "p") {
		return 0, fmt.Errorf("%q is not a percentile", stat)
	}
	v, err := strconv.ParseFloat(stat[1:], 64)
	if err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("%q is not a percentile", stat)
	}
	return v / 100, nil
}

// deltaPct returns (cur - base) / base in percent, nil when base is 0.
func deltaPct(base, cur float64) *float64 {
	if base == 0 {
		return nil
	}
	d := (cur - base) / base * 100
	return &d
}

// bootstrapDiff returns the 5th and 95th percentiles of the bootstrap
// distribution of quantile(q, cur) - quantile(q, base), in ms.
func bootstrapDiff(rng *rand.Rand, base, cur []bucket, q float64, resamples int) (lo, hi float64) {
	bs, cs := newResampler(base, q), newResampler(cur, q)
	diffs := make([]float64, resamples)
	for i := range diffs {
		diffs[i] = ms(cs.draw(rng)) - ms(bs.draw(rng))
	}
	sort.Float64s(diffs)
	return quantileSorted(diffs, 0.05), quantileSorted(diffs, 0.95)
}

// resampler draws bootstrap replicates of one quantile of a histogram.
type resampler struct {
	buckets []bucket
	cum     []int64 // cumulative counts
	n       int64
	r       int64 // the rank of the quantile, as hdrhistogram computes it
}

func newResampler(b []bucket, q float64) *resampler {
	s := &resampler{buckets: b, cum: make([]int64, len(b))}
	for i, x := range b {
		s.n += x.count
		s.cum[i] = s.n
	}
	// hdrhistogram's rank: q·n rounded, within [1, n].
	s.r = int64(q*float64(s.n) + 0.5)
	s.r = min(max(s.r, 1), s.n)
	return s
}

// draw returns the quantile of one bootstrap resample: the r-th order
// statistic of n draws from the empirical distribution is F⁻¹(U₍ᵣ₎), and
// U₍ᵣ₎ ~ Beta(r, n-r+1).
func (s *resampler) draw(rng *rand.Rand) time.Duration {
	u := betaSample(rng, float64(s.r), float64(s.n-s.r+1))
	target := u * float64(s.n)
	i := sort.Search(len(s.cum), func(i int) bool { return float64(s.cum[i]) >= target })
	if i >= len(s.buckets) {
		i = len(s.buckets) - 1
	}
	return s.buckets[i].value
}

// betaSample draws from Beta(a, b), a, b >= 1, as X/(X+Y) of two gammas.
func betaSample(rng *rand.Rand, a, b float64) float64 {
	x := gammaSample(rng, a)
	y := gammaSample(rng, b)
	return x / (x + y)
}

// gammaSample draws from Gamma(a, 1), a >= 1, by Marsaglia and Tsang's
// method ("A simple method for generating gamma variables", 2000).
func gammaSample(rng *rand.Rand, a float64) float64 {
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// quantileSorted returns the q-quantile of sorted values (nearest rank).
func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// seedOf derives a per-statistic stream from its name.
func seedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// sameJSON reports whether two JSON documents are equal after compaction.
func sameJSON(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// runLabel names a run for reports: its shard and start time.
func runLabel(f *File) string {
	return fmt.Sprintf("shard %s, started %s", f.Shard, f.Started.UTC().Format(time.RFC3339))
}

// WriteComparison writes the delta table of c: per statistic the base and
// current values, the change in percent, the 90% interval of the difference
// with whether it is significant, and the verdict; then the overall result.
func WriteComparison(w io.Writer, c *Comparison) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("baseline  %s\n", c.BaseLabel)
	p("current   %s\n", c.CurrentLabel)
	p("tolerance %s; significance: 90%% interval of the difference excludes 0 (bootstrap from the histograms; z-test for errors.rate)\n\n",
		fmtFloat(c.Tolerance*100, 1)+"%")
	p("%-16s %12s %12s %9s  %-26s %-15s %s\n", "statistic", "base", "current", "delta", "90% interval of difference", "significant", "verdict")
	for _, r := range c.Rows {
		val := func(v float64) string { return fmtObserved(v, r.Unit) }
		base, cur := val(r.Base), val(r.Current)
		if r.Verdict == VerdictNoBase {
			base = "-"
		}
		if r.Verdict == VerdictMissing {
			cur = "no samples"
		}
		delta := "-"
		if r.DeltaPct != nil {
			delta = fmtSigned(*r.DeltaPct, 1) + "%"
		}
		ci, sig := "-", "-"
		if r.Test != "" {
			ci = "[" + fmtDiff(r.Low, r.Unit) + ", " + fmtDiff(r.High, r.Unit) + "]"
			if r.Unit == scenarios.UnitMillis {
				ci += " ms"
			}
			sig = "not significant"
			if r.Significant {
				sig = "yes"
			} else if r.Note != "" {
				sig = "too few samples"
			}
		}
		verdict := r.Verdict
		if r.Regressed() {
			verdict = strings.ToUpper(verdict)
		}
		p("%-16s %12s %12s %9s  %-26s %-15s %s\n", r.Name, base, cur, delta, ci, sig, verdict)
	}
	for _, n := range c.Notes {
		p("note: %s\n", n)
	}
	if names := c.Regressions(); len(names) > 0 {
		p("\nresult: REGRESSED (%s)\n", strings.Join(names, ", "))
	} else {
		p("\nresult: no regression\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// WriteComparisonJSON writes c as indented JSON.
func WriteComparisonJSON(w io.Writer, c *Comparison) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// fmtSigned formats v with an explicit sign.
func fmtSigned(v float64, prec int) string {
	s := fmtFloat(v, prec)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

// fmtDiff formats a difference in unit with a sign.
func fmtDiff(v float64, unit scenarios.Unit) string {
	switch unit {
	case scenarios.UnitMillis:
		s := fmtMS(v)
		if v >= 0 {
			s = "+" + s
		}
		return s
	case scenarios.UnitFraction:
		return fmtSigned(v*100, 2) + "pp"
	default:
		return fmtSigned(v, 1)
	}
}
