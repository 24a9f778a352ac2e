package reports

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports/golden"

	"github.com/ssebench/ssebench/scenarios"
)

// goldenFiles are the deterministic Files the renderers are checked on.
func goldenFiles(t *testing.T) map[string]*File {
	t.Helper()
	closed := buildSynth(synth{streams: 200, every: 20 * time.Millisecond, events: 50, failEach: 25},
		fixedStart, 5*time.Second, nil, "1/1")
	Evaluate(closed, mustThresholds(t,
		"ttft.p99 < 500ms", "gap.p50 <= 30ms", "errors.rate < 1%",
		"events.rate > 1000/s", "e2e.max < 30s", "itl.p99.9 < 1ms", "tpot.p99 < 20ms"))

	open := buildSynth(synth{streams: 120, every: 40 * time.Millisecond, events: 20, queue: true, lagBase: 12 * time.Millisecond, dropped: 3},
		fixedStart, 5200*time.Millisecond, nil, "2/4")
	Evaluate(open, mustThresholds(t, "ttft_sched.p99 < 1s", "queue.p99 < 5ms"))
	return map[string]*File{"closed": closed, "open": open}
}

func mustThresholds(t *testing.T, exprs ...string) []scenarios.Threshold {
	t.Helper()
	var out []scenarios.Threshold
	for _, e := range exprs {
		th, err := scenarios.ParseThreshold(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, th)
	}
	return out
}

// checkReportGolden compares got with testdata/golden/name, or rewrites it with
// -update.
func checkReportGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), got)
}

func TestGolden(t *testing.T) {
	renderers := []struct {
		ext   string
		write func(*bytes.Buffer, *File) error
	}{
		{"txt", func(b *bytes.Buffer, f *File) error { return WriteText(b, f) }},
		{"json", func(b *bytes.Buffer, f *File) error { return WriteJSON(b, f) }},
		{"junit.xml", func(b *bytes.Buffer, f *File) error { return WriteJUnit(b, f) }},
	}
	for name, f := range goldenFiles(t) {
		for _, r := range renderers {
			t.Run(name+"."+r.ext, func(t *testing.T) {
				var b bytes.Buffer
				if err := r.write(&b, f); err != nil {
					t.Fatal(err)
				}
				checkReportGolden(t, name+"."+r.ext, b.Bytes())
			})
		}
	}
}

// TestGoldenDeterministic guards the golden inputs themselves: building
// the same File twice gives the same bytes.
func TestGoldenDeterministic(t *testing.T) {
	a, b := goldenFiles(t), goldenFiles(t)
	for name := range a {
		var x, y bytes.Buffer
		if err := WriteJSON(&x, a[name]); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&y, b[name]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x.Bytes(), y.Bytes()) {
			t.Errorf("%s: two builds differ", name)
		}
	}
}
