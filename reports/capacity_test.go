package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

// capacityFixture is a finished search by connections: a knee between 64
// (passes) and 66 (fails), ttft.p99 and errors.rate objectives.
func capacityFixture() *File {
	step := func(n int, phase string, load float64, ttft float64, pass bool, why string) CapacityStep {
		return CapacityStep{N: n, Phase: phase, Load: Load{Value: load}, DurationS: 10, WarmUpS: 3, Pass: pass, Why: why,
			Observed: []ThresholdResult{
				{Expr: "ttft.p99 < 300ms", Observed: ttft, Unit: "ms", Pass: ttft < 300},
				{Expr: "errors.rate < 1%", Observed: 0, Unit: "fraction", Pass: true},
			},
			Samples:     []int64{int64(load * 60), int64(load * 60)},
			Reasons:     []string{},
			StreamsPerS: min(load, 64) / 1.46, TokensPerS: min(load, 64) / 1.46 * 64,
			Goodput: Goodput{Good: int64(min(load, 64) * 6.8), Judged: int64(load * 6.8), Fraction: min(load, 64) / load, PerS: min(load, 64) / 1.46 * min(load, 64) / load}}
	}
	c := &Capacity{
		By: "connections", Verdict: "found", Answer: "sustains 64 concurrent streams within ttft.p99 < 300ms and errors.rate < 1%; fails at 66: ttft.p99 1460 ms",
		MaxPassing: &Load{Value: 64}, FirstFailing: &Load{Value: 66},
		SLOs: []CapacitySLO{{Expr: "ttft.p99 < 300ms", Judged: "ttft.p99 < 300ms", MinSamples: 1000}, {Expr: "errors.rate < 1%", Judged: "errors.rate < 1%", MinSamples: 100}},
		Min:  Load{Value: 8}, Max: Load{Value: 10000}, Resolution: 0.05, WallS: 312,
		Steps: []CapacityStep{
			step(1, "bracket", 8, 201, true, ""), step(2, "bracket", 16, 202, true, ""), step(3, "bracket", 32, 203, true, ""),
			step(4, "bracket", 64, 212, true, ""), step(5, "bracket", 128, 2950, false, "ttft.p99 2950 ms"),
			step(6, "bisect", 96, 1700, false, "ttft.p99 1700 ms"), step(7, "bisect", 80, 1300, false, "ttft.p99 1300 ms"),
			step(8, "bisect", 72, 1460, false, "ttft.p99 1460 ms"), step(9, "bisect", 68, 1460, false, "ttft.p99 1460 ms"),
			step(10, "bisect", 66, 1460, false, "ttft.p99 1460 ms"), step(11, "recheck", 64, 214, true, ""),
		},
		Notes: []string{},
	}
	return &File{Schema: SchemaVersion, Tool: ToolName, Version: "test", Shard: "1/1", Environment: Environment{Target: "http://127.0.0.1:8080/v1/stream"},
		Metrics: map[string]*MetricStats{}, Thresholds: []ThresholdResult{}, Intervals: []Interval{}, Notes: []string{}, Failures: []FailureClass{},
		Capacity: c}
}

func TestCapacityText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCapacityText(&b, capacityFixture()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "capacity: sustains 64 concurrent streams within ttft.p99 < 300ms") {
		t.Errorf("the summary does not lead with the answer:\n%s", out)
	}
	for _, want := range []string{"verdict found; by connections, 8 .. 10000", "SLO ttft.p99 < 300ms, a step needs 1000 samples",
		"recheck", "1460 ms", "step 5 (128): ttft.p99 2950 ms", "goodput: streams that met every SLO"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if err := WriteCapacityText(&b, &File{}); err == nil {
		t.Error("a file without a capacity object rendered")
	}
}

func TestCapacityJSONRoundTrip(t *testing.T) {
	f := capacityFixture()
	f.Capacity.By = "rate"
	f.Capacity.MaxPassing = &Load{Value: 43.5, Rate: true}
	var b bytes.Buffer
	if err := WriteJSON(&b, f); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Capacity map[string]any `json:"capacity"`
	}
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	c := raw.Capacity
	if c["max_passing"] != "43.5/s" || c["by"] != "rate" || c["generator_limited"] != false {
		t.Errorf("capacity JSON: max_passing %v by %v generator_limited %v", c["max_passing"], c["by"], c["generator_limited"])
	}
	for _, k := range []string{"first_failing", "slos", "steps", "verdict", "answer"} {
		if _, ok := c[k]; !ok {
			t.Errorf("capacity JSON lacks %q", k)
		}
	}
	back, err := decodeFile(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if back.Capacity == nil || *back.Capacity.MaxPassing != (Load{Value: 43.5, Rate: true}) || len(back.Capacity.Steps) != 11 {
		t.Fatalf("round trip lost the capacity object: %+v", back.Capacity)
	}
	var l Load
	if err := json.Unmarshal([]byte(`"fast"`), &l); err == nil {
		t.Error(`load "fast" decoded`)
	}
}

func TestCapacityJUnit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mod      func(*Capacity)
		failures int
	}{
		{"found", func(*Capacity) {}, 0},
		{"min fails", func(c *Capacity) {
			c.Verdict, c.MaxPassing, c.Steps = "min_fails", nil, c.Steps[4:5]
		}, 3},
		{"generator limited", func(c *Capacity) {
			c.Verdict, c.GeneratorLimited, c.Limit, c.Fix, c.FirstFailing = "generator_limited", true, "timer lateness p99 40 ms", "shard", nil
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := capacityFixture()
			tc.mod(f.Capacity)
			var b bytes.Buffer
			if err := WriteCapacityJUnit(&b, f); err != nil {
				t.Fatal(err)
			}
			var s junitSuites
			if err := xml.Unmarshal(b.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Suites) != 1 || len(s.Suites[0].Cases) != 3 || s.Failures != tc.failures {
				t.Fatalf("suites %d, cases %d, failures %d (want 3 cases, %d failures):\n%s", len(s.Suites), len(s.Suites[0].Cases), s.Failures, tc.failures, b.String())
			}
			if tc.name == "found" && s.Suites[0].Cases[0].Name != "ttft.p99 < 300ms at 64" {
				t.Errorf("case name %q", s.Suites[0].Cases[0].Name)
			}
		})
	}
}

func TestCapacityHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCapacityHTML(&b, capacityFixture()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`data-chart="capacity-throughput"`, `data-chart="capacity-slo-0"`, `data-chart="capacity-slo-1"`,
		"knee: fails at 66", "passed up to 64", "objective &lt; 300.0 ms", "sustains 64 concurrent streams", `class="passing s2"`, `class="knee s3"`} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(out, "http://") && !strings.Contains(out, "http://127.0.0.1:8080/v1/stream") {
		t.Error("unexpected URL in the page")
	}
}

// TestCapacityJUnitSchema: the capacity JUnit validates against the
// Jenkins xunit schema, found and failing alike.
func TestCapacityJUnitSchema(t *testing.T) {
	lint := xmllint(t)
	for name, mod := range map[string]func(*Capacity){
		"found": func(*Capacity) {},
		"generator_limited": func(c *Capacity) {
			c.Verdict, c.GeneratorLimited, c.Limit, c.Fix = "generator_limited", true, "timer <late> & \x1b", "shard"
		},
	} {
		f := capacityFixture()
		mod(f.Capacity)
		var b bytes.Buffer
		if err := WriteCapacityJUnit(&b, f); err != nil {
			t.Fatal(err)
		}
		validateJUnit(t, lint, "capacity-"+name, b.Bytes())
	}
}

// TestMergeGoodput: shards of one step add their goodput counts.
func TestMergeGoodput(t *testing.T) {
	a := &File{Goodput: &Goodput{Good: 30, Judged: 40, Cut: 2}}
	b := &File{Goodput: &Goodput{Good: 10, Judged: 10, Cut: 1}}
	g := mergeGoodput([]*File{a, b, {}}, 10)
	if g == nil || g.Good != 40 || g.Judged != 50 || g.Cut != 3 || g.Fraction != 0.8 || g.PerS != 4 {
		t.Errorf("merged goodput %+v", g)
	}
	if mergeGoodput([]*File{{}, {}}, 10) != nil {
		t.Error("goodput from files without any")
	}
}
