package reports

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ssebench/ssebench/scenarios"
)

// consumeWithDeltas runs results through Consume on synctest's clock,
// each Result sent when its time comes, and returns the File and every
// Delta the aggregator emitted, in order.
func consumeWithDeltas(t *testing.T, results []timed, end time.Duration) (*File, []*Delta) {
	t.Helper()
	var f *File
	var deltas []*Delta
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		a := NewAggregator(AggregatorOptions{Start: start, OnDelta: func(d *Delta) { deltas = append(deltas, d) }})
		ch := make(chan *scenarios.Result)
		done := make(chan struct{})
		go func() { a.Consume(ch); close(done) }()
		for _, r := range results {
			time.Sleep(time.Until(start.Add(r.at)))
			ch <- r.r
		}
		time.Sleep(time.Until(start.Add(end)))
		close(ch)
		<-done
		f = a.Finish(Meta{Version: "test"})
	})
	return f, deltas
}

// synthWithOutliers is a run with failures, reconnects, drops, encodings
// and out-of-range values, so that every counter and map is exercised.
func synthWithOutliers() []timed {
	s := synth{streams: 60, every: 40 * time.Millisecond, events: 150, failEach: 7, queue: true, lagBase: time.Millisecond, dropped: 5}
	out := s.results(nil)
	for i := range 6 {
		at := time.Duration(i) * 300 * time.Millisecond
		st := scenarios.NewResult()
		st.Kind, st.Stream, st.Attempt = scenarios.KindStart, uint64(1000+i), 1
		e := scenarios.NewResult()
		e.Kind, e.Stream, e.Final = scenarios.KindEnd, uint64(1000+i), i%2 == 0
		e.Encoding = scenarios.EncGzip
		e.Err, e.Status = scenarios.ErrHTTPStatus, 500+i
		e.Set(scenarios.Connect, 2*time.Hour) // clamped, out of range
		e.Events, e.Aborted = 1, i == 4
		out = append(out, timed{at, st}, timed{at + 10*time.Millisecond, e})
	}
	sortTimed(out)
	return out
}

func TestDeltasSumToTheFile(t *testing.T) {
	f, deltas := consumeWithDeltas(t, synthWithOutliers(), 4*time.Second)
	if len(deltas) < 4*4 {
		t.Fatalf("%d deltas over 4 s, want at least 16 (4 a second)", len(deltas))
	}
	if !deltas[len(deltas)-1].Done {
		t.Fatal("the last delta is not Done")
	}
	l := NewLiveState("1/1")
	for i, d := range deltas {
		if d.Seq != uint64(i+1) {
			t.Fatalf("delta %d has seq %d", i, d.Seq)
		}
		if i < len(deltas)-1 && d.Done {
			t.Fatalf("delta %d is Done before the end", i)
		}
		// Through the JSON codec, as a worker's pipe carries it.
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Delta
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("delta %d: %v\n%s", i, err, b)
		}
		l.Apply(&back)
	}
	v := l.View()
	if diff := cmp.Diff(f.Counters, v.Counters); diff != "" {
		t.Errorf("counters from deltas differ from the file (-file +deltas):\n%s", diff)
	}
	if v.Counters.StreamsFailed == 0 || v.Counters.Aborted == 0 || v.Counters.ArrivalsDropped == 0 || v.Counters.ContentEncoding["gzip"] == 0 {
		t.Errorf("the run does not exercise every counter: %+v", v.Counters)
	}
	if len(v.Hist) != len(f.Metrics) {
		t.Errorf("deltas carry %d metrics, the file %d", len(v.Hist), len(f.Metrics))
	}
	for name, want := range f.Metrics {
		h := v.Hist[name]
		if h == nil {
			t.Errorf("metric %s missing from the deltas", name)
			continue
		}
		got, err := statsOf(h)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metric %s (-file +deltas):\n%s", name, diff)
		}
	}
	if f.Metrics["connect"].OutOfRange != 6 {
		t.Errorf("connect out of range %d, want 6", f.Metrics["connect"].OutOfRange)
	}
	if !v.Done || v.Active != 0 || v.Missed != 0 || v.Elapsed < 4*time.Second {
		t.Errorf("view gauges: done %v active %d missed %d elapsed %v", v.Done, v.Active, v.Missed, v.Elapsed)
	}
}

func TestLiveStateDuplicatesAndGaps(t *testing.T) {
	l := NewLiveState("w")
	l.Apply(&Delta{Seq: 1, Counters: DeltaCounters{Events: 3}})
	l.Apply(&Delta{Seq: 1, Counters: DeltaCounters{Events: 3}})
	l.Apply(&Delta{Seq: 4, Counters: DeltaCounters{Events: 2}})
	l.Apply(nil)
	v := l.View()
	if v.Counters.Events != 5 || v.Missed != 2 || v.Seq != 4 {
		t.Errorf("events %d missed %d seq %d, want 5 2 4", v.Counters.Events, v.Missed, v.Seq)
	}
}

func TestMergeViews(t *testing.T) {
	results := synthWithOutliers()
	var even, odd []timed
	for _, r := range results {
		if r.r.Stream%2 == 0 {
			even = append(even, r)
		} else {
			odd = append(odd, r)
		}
	}
	views := make([]LiveView, 2)
	var states []*LiveState
	for k, part := range [][]timed{even, odd} {
		_, ds := consumeWithDeltas(t, part, 4*time.Second)
		l := NewLiveState("")
		for _, d := range ds {
			l.Apply(d)
		}
		views[k] = l.View()
		states = append(states, l)
	}
	l2view := func(LiveView) map[string]*Histogram { return states[0].ViewMetrics("ttft").Hist }
	whole, _ := consumeWithDeltas(t, synthWithOutliers(), 4*time.Second)
	m := MergeViews(views...)
	if diff := cmp.Diff(whole.Counters, m.Counters); diff != "" {
		t.Errorf("merged views differ from the whole run (-whole +merged):\n%s", diff)
	}
	for name, want := range whole.Metrics {
		got, err := statsOf(m.Hist[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.HDR != want.HDR || got.Count != want.Count {
			t.Errorf("metric %s: merged %d values, whole %d", name, got.Count, want.Count)
		}
	}
	if only := l2view(views[0]); len(only) != 1 {
		t.Errorf("ViewMetrics(ttft) copied %d histograms", len(only))
	}
	s := m.Snapshot()
	if s.Events != whole.Counters.Events || s.TTFTP99 == 0 || !s.Done || m.Shard != "merged" {
		t.Errorf("merged snapshot %+v", s)
	}
}

func TestDeltaDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":         `{`,
		"negative counter": `{"seq":1,"counters":{"events":-1}}`,
		"negative active":  `{"seq":1,"active":-3}`,
		"unknown metric":   `{"seq":1,"hist":{"nope":{"hdr":"x"}}}`,
		"bad histogram":    `{"seq":1,"hist":{"ttft":{"hdr":"HISTFAAAA"}}}`,
		"empty histogram":  `{"seq":1,"hist":{"ttft":{"hdr":""}}}`,
		"negative range":   `{"seq":1,"hist":{"ttft":{"hdr":"x","out_of_range":-1}}}`,
		"negative error":   `{"seq":1,"errors":{"dial":-1}}`,
		"long key":         `{"seq":1,"errors":{"` + strings.Repeat("k", 65) + `":1}}`,
	} {
		var d Delta
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s: decoded without error: %+v", name, d)
		}
	}
}

func TestDeltaEmptyRunAndNoCallback(t *testing.T) {
	_, ds := consumeWithDeltas(t, nil, 600*time.Millisecond)
	if len(ds) == 0 || !ds[len(ds)-1].Done {
		t.Fatalf("empty run: %d deltas, last not Done", len(ds))
	}
	for _, d := range ds {
		if d.Hist != nil || d.Counters != (DeltaCounters{}) || d.Errors != nil {
			t.Errorf("empty run delta carries data: %+v", d)
		}
	}
	a := NewAggregator(AggregatorOptions{})
	if a.delta != nil {
		t.Error("an aggregator without OnDelta keeps delta state")
	}
}

// TestDeltaAdd: coalescing Deltas loses nothing: applying the coalesced
// ones gives the same view as applying each, with no Seq counted missing.
func TestDeltaAdd(t *testing.T) {
	_, deltas := consumeWithDeltas(t, synthWithOutliers(), 3*time.Second)
	each, coalesced := NewLiveState(""), NewLiveState("")
	var pending *Delta
	for i, d := range deltas {
		b, _ := json.Marshal(d)
		var cp Delta
		if err := json.Unmarshal(b, &cp); err != nil {
			t.Fatal(err)
		}
		each.Apply(&cp)
		if pending == nil {
			pending = d
		} else if err := pending.Add(d); err != nil {
			t.Fatal(err)
		}
		if i%3 == 2 || i == len(deltas)-1 { // send every third
			coalesced.Apply(pending)
			pending = nil
		}
	}
	a, b := each.View(), coalesced.View()
	if diff := cmp.Diff(a.Counters, b.Counters); diff != "" {
		t.Errorf("coalesced counters differ:\n%s", diff)
	}
	for name, h := range a.Hist {
		if g := b.Hist[name]; g == nil || g.Count() != h.Count() || g.Quantile(0.99) != h.Quantile(0.99) {
			t.Errorf("%s differs after coalescing", name)
		}
	}
	if b.Missed != 0 || !b.Done || b.Seq != a.Seq {
		t.Errorf("coalesced view: missed %d done %v seq %d (want 0 true %d)", b.Missed, b.Done, b.Seq, a.Seq)
	}
}
