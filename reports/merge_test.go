package reports

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMergeShardsEqualsOneRun feeds two shards' Results into two
// aggregators and all Results into one: the merged file must hold the same
// histograms, counters and time series.
func TestMergeShardsEqualsOneRun(t *testing.T) {
	s := synth{streams: 300, every: 10 * time.Millisecond, events: 40, failEach: 17, queue: true, lagBase: 2 * time.Millisecond, dropped: 5}
	end := 4 * time.Second
	one := buildSynth(s, fixedStart, end, nil, "1/1")
	a := buildSynth(s, fixedStart, end, func(i int) bool { return i%2 == 0 }, "1/2")
	b := buildSynth(s, fixedStart, end, func(i int) bool { return i%2 == 1 }, "2/2")
	Evaluate(a, mustThresholds(t, "ttft.p99 < 1s"))

	m, err := Merge(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if m.Shard != "merged:1/2,2/2" {
		t.Errorf("shard %q", m.Shard)
	}
	if len(m.Thresholds) != 0 {
		t.Errorf("thresholds not cleared: %+v", m.Thresholds)
	}
	if m.DurationS != one.DurationS {
		t.Errorf("duration %v, want %v", m.DurationS, one.DurationS)
	}
	if !equalCounters(m.Counters, one.Counters) {
		t.Errorf("counters:\n merged %+v\n one    %+v", m.Counters, one.Counters)
	}
	if m.Rates != one.Rates {
		t.Errorf("rates %+v, want %+v", m.Rates, one.Rates)
	}
	if len(m.Metrics) != len(one.Metrics) {
		t.Fatalf("%d metrics, want %d", len(m.Metrics), len(one.Metrics))
	}
	for name, want := range one.Metrics {
		got := m.Metrics[name]
		if got == nil {
			t.Errorf("metric %s missing", name)
			continue
		}
		if got.Count != a.Metrics[name].Count+b.Metrics[name].Count {
			t.Errorf("%s: count %d is not the shards' sum", name, got.Count)
		}
		// Merging is exact: the same values give the same histogram, so
		// every statistic is equal (not just within precision).
		if *got != *want {
			t.Errorf("%s:\n merged %+v\n one    %+v", name, *got, *want)
		}
	}
	if len(m.Intervals) != len(one.Intervals) {
		t.Fatalf("%d intervals, want %d", len(m.Intervals), len(one.Intervals))
	}
	for i, want := range one.Intervals {
		got := m.Intervals[i]
		if got.TS != want.TS || !got.At.Equal(want.At) || got.Events != want.Events || got.Started != want.Started ||
			got.Errors != want.Errors || got.Active != want.Active || got.TTFTP99 != want.TTFTP99 ||
			got.TTFTP50 != want.TTFTP50 || got.LagP99 != want.LagP99 || got.DurationS != want.DurationS {
			t.Errorf("interval %d:\n merged %+v\n one    %+v", i, got, want)
		}
	}
}

func equalCounters(a, b Counters) bool { return cmp.Equal(a, b) }

// TestMergeAlignsOffsetShards: shards that started 300 ms apart share tick
// slots, and the duration is the union of their wall time.
func TestMergeAlignsOffsetShards(t *testing.T) {
	s := synth{streams: 100, every: 20 * time.Millisecond, events: 5}
	a := buildSynth(s, fixedStart, 3*time.Second, func(i int) bool { return i%2 == 0 }, "1/2")
	b := buildSynth(s, fixedStart.Add(300*time.Millisecond), 3*time.Second, func(i int) bool { return i%2 == 1 }, "2/2")
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.DurationS != 3.3 || !m.Started.Equal(fixedStart) {
		t.Errorf("started %v duration %v, want %v and 3.3", m.Started, m.DurationS, fixedStart)
	}
	if len(m.Intervals) != 3 {
		t.Fatalf("%d intervals, want 3 aligned ticks: %+v", len(m.Intervals), m.Intervals)
	}
	var ev int64
	for i, iv := range m.Intervals {
		ev += iv.Events
		if want := fixedStart.Add(time.Duration(i+1) * time.Second); !iv.At.Equal(want) {
			t.Errorf("interval %d at %v, want %v", i, iv.At, want)
		}
	}
	if ev != m.Counters.Events {
		t.Errorf("intervals hold %d events, counters %d", ev, m.Counters.Events)
	}
	// Sequential shards: the union excludes the gap between them.
	c := buildSynth(s, fixedStart.Add(10*time.Second), 3*time.Second, nil, "1/1")
	d := buildSynth(s, fixedStart, 3*time.Second, nil, "1/1")
	m, err = Merge(c, d)
	if err != nil {
		t.Fatal(err)
	}
	if m.DurationS != 6 {
		t.Errorf("union of two 3 s runs 10 s apart = %v s, want 6", m.DurationS)
	}
}

func TestMergeErrors(t *testing.T) {
	s := synth{streams: 10, every: 10 * time.Millisecond, events: 2}
	f := func(shard string) *File { return buildSynth(s, fixedStart, time.Second, nil, shard) }
	halfTick := f("2/2")
	halfTick.IntervalS = 0.5
	oldSchema := f("2/2")
	oldSchema.Schema = 0
	badHDR := f("2/2")
	badHDR.Metrics["ttft"] = &MetricStats{Count: 3, HDR: "garbage"}

	tests := []struct {
		name  string
		files []*File
		want  string
	}{
		{"none", nil, "no files"},
		{"schema", []*File{f("1/2"), oldSchema}, "schema version 0"},
		{"ticks", []*File{f("1/2"), halfTick}, "tick lengths differ"},
		{"duplicate shard", []*File{f("1/2"), f("1/2")}, "shard 1/2 appears twice"},
		{"different splits", []*File{f("1/2"), f("1/3")}, "different splits"},
		{"bad shard", []*File{f("1/2"), f("3/2")}, "bad shard"},
		{"bad histogram", []*File{f("1/2"), badHDR}, "shard 2/2, metric ttft"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(tt.files...)
			if err == nil || !errors.Is(err, ErrMerge) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrMerge with %q", err, tt.want)
			}
		})
	}
}

func TestMergeNotesAndFlags(t *testing.T) {
	s := synth{streams: 40, every: 10 * time.Millisecond, events: 2, queue: true, lagBase: 20 * time.Millisecond}
	a := buildSynth(s, fixedStart, time.Second, func(i int) bool { return i%3 == 0 }, "1/3")
	b := buildSynth(synth{streams: 40, every: 10 * time.Millisecond, events: 2}, fixedStart, time.Second, func(i int) bool { return i%3 == 1 }, "2/3")
	b.Environment.Target = "http://other:1"
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Degraded {
		t.Error("degraded not OR-ed")
	}
	notes := strings.Join(m.Notes, "\n")
	for _, want := range []string{"merged 2 of 3 shards; missing 3/3", "different targets"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if r := strings.Join(m.Generator.Reasons, "\n"); !strings.Contains(r, "shard 1/3: schedule lag") {
		t.Errorf("generator reasons lack shard 1/3's schedule lag:\n%s", r)
	}
	// Merging one file is the identity, thresholds aside.
	one, err := Merge(a)
	if err != nil {
		t.Fatal(err)
	}
	if one.Shard != "1/3" || len(one.Notes) != len(a.Notes) || one.Metrics["ttft"].HDR != a.Metrics["ttft"].HDR {
		t.Errorf("merge of one file changed it: shard %q notes %q", one.Shard, one.Notes)
	}
}
