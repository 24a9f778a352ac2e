package reports

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// withMetric returns a copy of f whose metric name holds exactly values.
func withMetric(t *testing.T, f *File, name string, values []time.Duration) *File {
	t.Helper()
	g := *f
	g.Metrics = map[string]*MetricStats{}
	for k, v := range f.Metrics {
		g.Metrics[k] = v
	}
	h := NewHistogram()
	for _, v := range values {
		h.Record(v)
	}
	st, err := statsOf(h)
	if err != nil {
		t.Fatal(err)
	}
	g.Metrics[name] = st
	return &g
}

// shifted returns a copy of f whose metric name is scaled by factor.
func shifted(t *testing.T, f *File, name string, factor float64) *File {
	t.Helper()
	h, err := DecodeHistogram(f.Metrics[name].HDR)
	if err != nil {
		t.Fatal(err)
	}
	var vs []time.Duration
	for _, b := range h.buckets() {
		for i := int64(0); i < b.count; i++ {
			vs = append(vs, time.Duration(float64(b.value)*factor))
		}
	}
	return withMetric(t, f, name, vs)
}

// noisy returns n deterministic log-normal latencies around median.
func noisy(seed uint64, n int, median time.Duration, factor float64) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(float64(median) * math.Exp(0.6*rng.NormFloat64()) * factor)
	}
	return out
}

func rowOf(t *testing.T, c *Comparison, name string) ComparisonRow {
	t.Helper()
	for _, r := range c.Rows {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row %s in %+v", name, c.Rows)
	return ComparisonRow{}
}

func TestCompareSelfPasses(t *testing.T) {
	f := buildSynth(synth{streams: 300, every: 10 * time.Millisecond, events: 30, failEach: 40}, fixedStart, 4*time.Second, nil, "")
	c := Compare(f, f, CompareOptions{})
	if c.Regressed() {
		t.Errorf("a file regressed against itself: %v", c.Regressions())
	}
	wantRows := []string{"ttft.p50", "ttft.p99", "gap.p50", "gap.p99", "e2e.p50", "e2e.p99", "ttfb.p50", "ttfb.p99", "errors.rate", "events.rate"}
	var got []string
	for _, r := range c.Rows {
		got = append(got, r.Name)
		if r.Significant || r.Verdict != VerdictOK {
			t.Errorf("%s against itself: %+v", r.Name, r)
		}
		if r.Test == "bootstrap" && (r.Low > 0 || r.High < 0) {
			t.Errorf("%s: interval [%v, %v] excludes 0", r.Name, r.Low, r.High)
		}
	}
	if !slices.Equal(got, wantRows) {
		t.Errorf("rows %v, want %v", got, wantRows)
	}
	if c.Tolerance != DefaultMaxRegression {
		t.Errorf("tolerance %v", c.Tolerance)
	}
}

func TestCompareShiftedTTFTRegresses(t *testing.T) {
	base := buildSynth(synth{streams: 1200, every: 5 * time.Millisecond, events: 10}, fixedStart, 7*time.Second, nil, "")
	cur := shifted(t, base, "ttft", 1.30)
	c := Compare(base, cur, CompareOptions{MaxRegression: 0.10})
	if got := c.Regressions(); !slices.Equal(got, []string{"ttft.p50", "ttft.p99"}) {
		t.Errorf("regressions %v, want ttft.p50 and ttft.p99", got)
	}
	r := rowOf(t, c, "ttft.p50")
	if !r.Significant || r.Low <= 0 || r.DeltaPct == nil || math.Abs(*r.DeltaPct-30) > 1 {
		t.Errorf("ttft.p50 row: %+v", r)
	}
	// The other way round, ttft improved.
	c = Compare(cur, base, CompareOptions{})
	if c.Regressed() || rowOf(t, c, "ttft.p50").Verdict != VerdictImproved {
		t.Errorf("reverse: %+v", c.Rows)
	}
	// A shift within tolerance is significant but not a regression.
	c = Compare(base, shifted(t, base, "ttft", 1.05), CompareOptions{})
	if r := rowOf(t, c, "ttft.p50"); !r.Significant || r.Verdict != VerdictOK {
		t.Errorf("+5%% with 1200 samples: %+v", r)
	}
}

func TestCompareNoisyTinySampleNotSignificant(t *testing.T) {
	f := buildSynth(synth{streams: 20, every: 10 * time.Millisecond, events: 2}, fixedStart, time.Second, nil, "")
	base := withMetric(t, f, "ttft", noisy(1, 20, 50*time.Millisecond, 1))
	cur := withMetric(t, f, "ttft", noisy(2, 20, 50*time.Millisecond, 1.05))
	// Tolerance 1%: only the significance test stands between noise and a
	// failed gate.
	c := Compare(base, cur, CompareOptions{MaxRegression: 0.01, Metrics: []string{"ttft"}})
	for _, name := range []string{"ttft.p50", "ttft.p99"} {
		r := rowOf(t, c, name)
		if r.Significant || r.Verdict != VerdictOK {
			t.Errorf("%s, 20 noisy samples +5%%: %+v", name, r)
		}
	}
	var b bytes.Buffer
	if err := WriteComparison(&b, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "not significant") {
		t.Errorf("table does not say 'not significant':\n%s", b.String())
	}
}

func TestCompareDeterministic(t *testing.T) {
	f := buildSynth(synth{streams: 50, every: 10 * time.Millisecond, events: 10}, fixedStart, time.Second, nil, "")
	g := shifted(t, f, "gap", 1.02)
	a := Compare(f, g, CompareOptions{Seed: 42})
	b := Compare(f, g, CompareOptions{Seed: 42})
	if !slices.EqualFunc(a.Rows, b.Rows, func(x, y ComparisonRow) bool { return x.Low == y.Low && x.High == y.High }) {
		t.Error("the same seed gave different intervals")
	}
}

func TestCompareErrorRate(t *testing.T) {
	mk := func(started, failed int64) *File {
		return &File{Schema: SchemaVersion, Counters: Counters{StreamsStarted: started, StreamsFailed: failed}}
	}
	tests := []struct {
		name      string
		base, cur *File
		verdict   string
		sig       bool
	}{
		{"same", mk(10000, 100), mk(10000, 100), VerdictOK, false},
		{"tripled, many streams", mk(10000, 100), mk(10000, 300), VerdictRegressed, true},
		{"doubled, few streams", mk(100, 1), mk(100, 2), VerdictOK, false},
		{"jump over tolerance, tiny sample", mk(10, 0), mk(10, 2), VerdictRegressed, false},
		{"from zero, significant", mk(5000, 0), mk(5000, 40), VerdictRegressed, true},
		{"within relative tolerance", mk(100000, 1000), mk(100000, 1050), VerdictOK, false},
		{"fell", mk(10000, 300), mk(10000, 100), VerdictImproved, true},
		{"no streams now", mk(100, 1), mk(0, 0), VerdictMissing, false},
		{"no baseline", mk(0, 0), mk(100, 1), VerdictNoBase, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := compareErrors(tt.base, tt.cur, 0.10)
			if r.Verdict != tt.verdict || r.Significant != tt.sig {
				t.Errorf("%+v, want verdict %s significant %v", r, tt.verdict, tt.sig)
			}
		})
	}
}

func TestCompareEventRate(t *testing.T) {
	mk := func(rate float64) *File { return &File{Rates: Rates{EventsPerS: rate}} }
	tests := []struct {
		base, cur float64
		verdict   string
	}{
		{1000, 1000, VerdictOK},
		{1000, 950, VerdictOK},
		{1000, 850, VerdictRegressed},
		{1000, 1200, VerdictImproved},
		{0, 10, VerdictNoBase},
	}
	for _, tt := range tests {
		if r := compareEvents(mk(tt.base), mk(tt.cur), 0.10); r.Verdict != tt.verdict {
			t.Errorf("%v -> %v: %s, want %s", tt.base, tt.cur, r.Verdict, tt.verdict)
		}
	}
}

func TestCompareMissingMetric(t *testing.T) {
	base := buildSynth(synth{streams: 20, every: 10 * time.Millisecond, events: 3}, fixedStart, time.Second, nil, "")
	cur := *base
	cur.Metrics = map[string]*MetricStats{}
	for k, v := range base.Metrics {
		if k != "ttft" {
			cur.Metrics[k] = v
		}
	}
	c := Compare(base, &cur, CompareOptions{Metrics: []string{"ttft.p95", "tpot", "ttft.mean"}})
	if got := c.Regressions(); !slices.Equal(got, []string{"ttft.p95"}) {
		t.Errorf("regressions %v, want ttft.p95 (measured before, missing now)", got)
	}
	if r := rowOf(t, c, "tpot.p99"); r.Verdict != VerdictNoBase {
		t.Errorf("tpot: %+v", r)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "ttft.mean ignored") {
		t.Errorf("notes %q", c.Notes)
	}
}

// TestBootstrapCoverage checks the bootstrap against its purpose: two
// samples of one distribution give a 90% interval containing 0 about 90%
// of the time.
func TestBootstrapCoverage(t *testing.T) {
	const trials = 200
	covered := 0
	for i := 0; i < trials; i++ {
		a, b := NewHistogram(), NewHistogram()
		for _, v := range noisy(uint64(2*i), 300, 20*time.Millisecond, 1) {
			a.Record(v)
		}
		for _, v := range noisy(uint64(2*i+1), 300, 20*time.Millisecond, 1) {
			b.Record(v)
		}
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		lo, hi := bootstrapDiff(rng, a.buckets(), b.buckets(), 0.5, 400)
		if lo <= 0 && hi >= 0 {
			covered++
		}
	}
	// The interval of a difference of two independent bootstraps is
	// conservative; it must not be much narrower than claimed.
	if frac := float64(covered) / trials; frac < 0.82 {
		t.Errorf("90%% interval covered 0 in %.0f%% of same-distribution trials", frac*100)
	}
}

func TestGammaSampleMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, a := range []float64{1, 2.5, 100, 1e6} {
		var sum float64
		const n = 20000
		for i := 0; i < n; i++ {
			sum += gammaSample(rng, a)
		}
		if mean := sum / n; math.Abs(mean-a) > 4*math.Sqrt(a/n) {
			t.Errorf("Gamma(%v) mean %v", a, mean)
		}
	}
}

func TestWriteComparison(t *testing.T) {
	base := buildSynth(synth{streams: 1200, every: 5 * time.Millisecond, events: 10, failEach: 50}, fixedStart, 7*time.Second, nil, "")
	cur := shifted(t, base, "ttft", 1.30)
	c := Compare(base, cur, CompareOptions{})
	c.BaseLabel, c.CurrentLabel = "base.json", "cur.json"
	var b bytes.Buffer
	if err := WriteComparison(&b, c); err != nil {
		t.Fatal(err)
	}
	checkReportGolden(t, "compare.txt", b.Bytes())
	b.Reset()
	if err := WriteComparisonJUnit(&b, c); err != nil {
		t.Fatal(err)
	}
	checkReportGolden(t, "compare.junit.xml", b.Bytes())
	b.Reset()
	if err := WriteComparisonJSON(&b, c); err != nil {
		t.Fatal(err)
	}
	checkReportGolden(t, "compare.json", b.Bytes())
}

// TestCompareTailNeedsSamples: with 60 samples a p99 is the maximum; one
// outlier must not make it a significant regression.
func TestCompareTailNeedsSamples(t *testing.T) {
	f := buildSynth(synth{streams: 60, every: 10 * time.Millisecond, events: 2}, fixedStart, time.Second, nil, "")
	vals := noisy(3, 60, 300*time.Millisecond, 0.1)
	base := withMetric(t, f, "ttft", vals)
	worse := append(append([]time.Duration{}, vals[:59]...), 500*time.Millisecond) // one outlier
	cur := withMetric(t, f, "ttft", worse)
	c := Compare(base, cur, CompareOptions{Metrics: []string{"ttft"}})
	r := rowOf(t, c, "ttft.p99")
	if r.Significant || r.Verdict != VerdictOK || !strings.Contains(r.Note, "need 1000 per run") {
		t.Errorf("p99 of 60 samples with one outlier: %+v", r)
	}
	if r := rowOf(t, c, "ttft.p50"); r.Note != "" {
		t.Errorf("p50 of 60 samples is judged: %+v", r)
	}
}

// A +50% change that is statistically real but under MinDelta (a ttfb of
// 0.28 ms becoming 0.42 ms) is not a regression; with the floor disabled it
// is, so the floor is what decides.
func TestCompareMinDeltaFloor(t *testing.T) {
	base := buildSynth(synth{streams: 1200, every: 5 * time.Millisecond, events: 10}, fixedStart, 7*time.Second, nil, "")
	var fast []time.Duration
	for i := range 5000 {
		fast = append(fast, 280*time.Microsecond+time.Duration(i%20)*time.Microsecond)
	}
	base = withMetric(t, base, "ttfb", fast)
	cur := shifted(t, base, "ttfb", 1.5)
	c := Compare(base, cur, CompareOptions{})
	r := rowOf(t, c, "ttfb.p50")
	if !r.Significant || r.Verdict != VerdictOK || !strings.Contains(r.Note, "smallest that counts") {
		t.Errorf("sub-ms shift with the default floor: %+v", r)
	}
	c = Compare(base, cur, CompareOptions{MinDelta: -1})
	if r := rowOf(t, c, "ttfb.p50"); r.Verdict != VerdictRegressed {
		t.Errorf("sub-ms shift without a floor: %+v", r)
	}
}
