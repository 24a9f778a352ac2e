package reports

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// shardTicks runs shard i of n of s through an aggregator that started at
// start and returns its File and its ticks, each through its JSON form
// (as a worker sends them).
func shardTicks(t *testing.T, s synth, start time.Time, end time.Duration, i, n int) (*File, []*HLogTick) {
	t.Helper()
	var ticks []*HLogTick
	a := NewAggregator(AggregatorOptions{Start: start, OnHLogTick: func(tk *HLogTick) {
		b, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		var back HLogTick
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		ticks = append(ticks, &back)
	}})
	playTimed(a, s.results(func(st int) bool { return st%n == i-1 }), end)
	f := a.Finish(Meta{Scenario: []byte(`{"name":"m"}`), Shard: fmt.Sprintf("%d/%d", i, n)})
	return f, ticks
}

// TestHLogMergeSumsWorkers: the log HLogMerge writes from two workers'
// ticks (one started 300 ms after the other, their ticks interleaved as
// two pipes deliver them) holds, per metric, exactly the merged result's
// counts, in intervals that are the merged result's; HdrHistogram's own
// log reader decodes it. Nothing is written before the base time is
// known, and each interval is written (and flushed) once both workers
// have passed it.
func TestHLogMergeSumsWorkers(t *testing.T) {
	s := synth{streams: 60, every: 50 * time.Millisecond, events: 4, failEach: 7}
	f1, t1 := shardTicks(t, s, fixedStart, 3500*time.Millisecond, 1, 2)
	f2, t2 := shardTicks(t, s, fixedStart.Add(300*time.Millisecond), 3200*time.Millisecond, 2, 2)
	merged, err := Merge(f1, f2)
	if err != nil {
		t.Fatal(err)
	}
	var disk syncBuffer
	w := bufio.NewWriterSize(&disk, 1<<20) // only the per-interval flush puts lines on disk
	m := NewHLogMerge(w, 2)
	m.Add(0, t1[0])
	m.Add(0, t1[1])
	if disk.String() != "" {
		t.Fatalf("written before worker 2 sent a tick (the base time is not known):\n%s", disk.String())
	}
	m.Add(1, t2[0])
	if counts, lines := readHLog(t, disk.String()); lines == 0 || counts["ttft"] == 0 {
		t.Fatalf("interval 1 is not on disk once both workers passed it:\n%s", disk.String())
	}
	for k := 1; k < max(len(t1), len(t2)); k++ { // worker 1 a tick ahead
		if k+1 < len(t1) {
			m.Add(0, t1[k+1])
		}
		if k < len(t2) {
			m.Add(1, t2[k])
		}
	}
	m.Done(0)
	m.Done(1)
	if err := m.Close(fixedStart); err != nil {
		t.Fatal(err)
	}
	counts, lines := readHLog(t, disk.String())
	for name, ms := range merged.Metrics {
		if counts[name] != ms.Count {
			t.Errorf("%s: the log holds %d values, the merged result %d", name, counts[name], ms.Count)
		}
	}
	if len(counts) != len(merged.Metrics) {
		t.Errorf("the log has metrics %v, the merged result %d", counts, len(merged.Metrics))
	}
	if want := len(merged.Intervals) * len(merged.Metrics); lines > want || lines < len(merged.Intervals) {
		t.Errorf("%d lines for %d intervals of %d metrics", lines, len(merged.Intervals), len(merged.Metrics))
	}
	// The intervals are the merged result's: the ttft of each, exactly.
	r := hdrhistogram.NewHistogramLogReader(strings.NewReader(disk.String()))
	k := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil || h == nil {
			break
		}
		if h.Tag() != "ttft" {
			continue
		}
		if k >= len(merged.Intervals) {
			t.Fatalf("more ttft intervals than the merged result's %d", len(merged.Intervals))
		}
		var want int64
		if enc := merged.Intervals[k].TTFTHDR; enc != "" {
			mh, err := DecodeHistogram(enc)
			if err != nil {
				t.Fatal(err)
			}
			want = mh.Count()
		}
		if h.TotalCount() != want {
			t.Errorf("interval %d: ttft %d values, the merged result's interval %d", k+1, h.TotalCount(), want)
		}
		k++
	}
	if k != len(merged.Intervals) {
		t.Errorf("%d ttft intervals, the merged result has %d", k, len(merged.Intervals))
	}
}

// TestHLogMergeNoTicks: workers that ended without a tick leave a log
// with its header only, based at the fallback time.
func TestHLogMergeNoTicks(t *testing.T) {
	var disk syncBuffer
	m := NewHLogMerge(&disk, 2)
	m.Done(0)
	m.Done(1)
	if err := m.Close(fixedStart); err != nil {
		t.Fatal(err)
	}
	if _, lines := readHLog(t, disk.String()); lines != 0 || !strings.Contains(disk.String(), "#[BaseTime: 1741964966.000") {
		t.Errorf("log:\n%s", disk.String())
	}
}

// TestHLogTickDecoding refuses ticks a worker could not have sent.
func TestHLogTickDecoding(t *testing.T) {
	for name, in := range map[string]string{
		"tick zero":   `{"n":0,"interval_ns":1000000000,"from_ns":0,"to_ns":1}`,
		"no interval": `{"n":1,"interval_ns":0}`,
		"span":        `{"n":1,"interval_ns":1000000000,"from_ns":0,"to_ns":2000000000}`,
		"metric":      `{"n":1,"interval_ns":1000000000,"from_ns":0,"to_ns":1,"hist":{"bogus":"x"}}`,
	} {
		var tk HLogTick
		if err := json.Unmarshal([]byte(in), &tk); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
