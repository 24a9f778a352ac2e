package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ssebench/ssebench/scenarios"
)

// res builds a Result for table tests.
func res(kind scenarios.Kind, set func(r *scenarios.Result)) *scenarios.Result {
	r := scenarios.NewResult()
	r.Kind = kind
	if set != nil {
		set(r)
	}
	return r
}

func TestAggregatorKinds(t *testing.T) {
	tests := []struct {
		name     string
		results  []*scenarios.Result
		want     Counters
		metrics  map[string]int64 // metric -> count
		notes    int
		snapshot func(t *testing.T, s Snapshot)
	}{
		{
			name: "start counts streams and reconnects",
			results: []*scenarios.Result{
				res(scenarios.KindStart, func(r *scenarios.Result) { r.Set(scenarios.Queue, 3*time.Millisecond) }),
				res(scenarios.KindStart, func(r *scenarios.Result) { r.Attempt = 1 }),
				res(scenarios.KindStart, nil),
			},
			want:    Counters{StreamsStarted: 2, Attempts: 3, Reconnects: 1, StreamsReconnected: 1, Errors: map[string]int64{}, AttemptErrors: map[string]int64{}, ContentEncoding: map[string]int64{}},
			metrics: map[string]int64{"queue": 1},
			snapshot: func(t *testing.T, s Snapshot) {
				if s.Active != 3 || s.Attempts != 3 {
					t.Errorf("active %d attempts %d, want 3 3", s.Active, s.Attempts)
				}
			},
		},
		{
			name: "progress adds values, batches and deltas",
			results: []*scenarios.Result{
				res(scenarios.KindProgress, func(r *scenarios.Result) {
					r.Set(scenarios.TTFB, time.Millisecond)
					r.Set(scenarios.TTFT, 20*time.Millisecond)
					for i := 0; i < 10; i++ {
						r.AddGap(time.Millisecond)
					}
					r.AddITL(time.Millisecond)
					r.Events, r.Content, r.Bytes, r.Tokens, r.Comments, r.IDsLost, r.IDsDup = 11, 10, 500, 9, 2, 1, 3
				}),
			},
			want: Counters{Events: 11, ContentEvents: 10, Bytes: 500, Tokens: 9, Comments: 2, IDsLost: 1, IDsDuplicated: 3,
				Errors: map[string]int64{}, AttemptErrors: map[string]int64{}, ContentEncoding: map[string]int64{}},
			metrics: map[string]int64{"ttfb": 1, "ttft": 1, "gap": 10, "itl": 1},
		},
		{
			name: "end classifies outcomes and errors",
			results: []*scenarios.Result{
				res(scenarios.KindStart, nil), res(scenarios.KindStart, nil), res(scenarios.KindStart, nil),
				res(scenarios.KindStart, nil), res(scenarios.KindStart, func(r *scenarios.Result) { r.Attempt = 1 }),
				res(scenarios.KindEnd, func(r *scenarios.Result) { r.Final = true; r.Set(scenarios.E2E, time.Second) }),
				res(scenarios.KindEnd, func(r *scenarios.Result) { r.Final = true; r.Aborted = true }),
				res(scenarios.KindEnd, func(r *scenarios.Result) { r.Err, r.Status = scenarios.ErrHTTPStatus, 503 }),
				res(scenarios.KindEnd, func(r *scenarios.Result) {
					r.Final = true
					r.Err, r.Status = scenarios.ErrHTTPStatus, 503
				}),
				res(scenarios.KindEnd, func(r *scenarios.Result) { r.Final = true; r.Err = scenarios.ErrTimeoutIdle }),
				res(scenarios.KindStart, nil),
				res(scenarios.KindEnd, func(r *scenarios.Result) { r.Final = true; r.Cancelled = true; r.Detail = "run ended" }),
			},
			want: Counters{StreamsStarted: 5, StreamsOK: 1, StreamsFailed: 2, Aborted: 1, Cancelled: 1, Reconnects: 1,
				Attempts: 6, StreamsReconnected: 1,
				Errors:          map[string]int64{"http_status:503": 1, "timeout_idle": 1},
				AttemptErrors:   map[string]int64{"http_status:503": 2, "timeout_idle": 1},
				ContentEncoding: map[string]int64{}},
			metrics: map[string]int64{"e2e": 1},
			snapshot: func(t *testing.T, s Snapshot) {
				if s.Active != 0 || s.Errors != 3 || s.Failed != 2 {
					t.Errorf("active %d errors %d failed %d, want 0 3 2", s.Active, s.Errors, s.Failed)
				}
			},
		},
		{
			name: "dropped arrivals and unknown kinds",
			results: []*scenarios.Result{
				res(scenarios.KindDropped, nil), res(scenarios.KindDropped, nil), res(scenarios.Kind(99), nil),
			},
			want:  Counters{ArrivalsDropped: 2, Errors: map[string]int64{}, AttemptErrors: map[string]int64{}, ContentEncoding: map[string]int64{}},
			notes: 2, // dropped arrivals, unknown kind
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAggregator(AggregatorOptions{Start: fixedStart})
			var ts []timed
			for _, r := range tt.results {
				ts = append(ts, timed{0, r})
			}
			playTimed(a, ts, 500*time.Millisecond)
			if tt.snapshot != nil {
				tt.snapshot(t, a.Snapshot())
			}
			f := a.Finish(Meta{})
			if d := cmp.Diff(tt.want, f.Counters); d != "" {
				t.Errorf("counters (-want +got):\n%s", d)
			}
			got := map[string]int64{}
			for n, m := range f.Metrics {
				got[n] = m.Count
			}
			if tt.metrics == nil {
				tt.metrics = map[string]int64{}
			}
			if d := cmp.Diff(tt.metrics, got); d != "" {
				t.Errorf("metric counts (-want +got):\n%s", d)
			}
			if len(f.Notes) != tt.notes {
				t.Errorf("notes = %q, want %d", f.Notes, tt.notes)
			}
		})
	}
}

func TestFinishFile(t *testing.T) {
	f := buildSynth(synth{streams: 100, every: 30 * time.Millisecond, events: 10, failEach: 10},
		fixedStart, 3500*time.Millisecond, nil, "")
	if f.Schema != SchemaVersion || f.Tool != "ssebench" || f.Shard != "1/1" || f.IntervalS != 1 {
		t.Errorf("header: schema %d tool %q shard %q interval %v", f.Schema, f.Tool, f.Shard, f.IntervalS)
	}
	if f.DurationS != 3.5 {
		t.Errorf("duration_s = %v, want 3.5", f.DurationS)
	}
	if got, want := f.Rates.EventsPerS, float64(f.Counters.Events)/3.5; got != want {
		t.Errorf("events_per_s = %v, want %v", got, want)
	}
	// 3 full ticks and a final half tick.
	if len(f.Intervals) != 4 {
		t.Fatalf("%d intervals, want 4", len(f.Intervals))
	}
	last := f.Intervals[3]
	if last.TS != 3.5 || last.DurationS != 0.5 || !last.At.Equal(fixedStart.Add(4*time.Second)) {
		t.Errorf("final partial tick: t_s %v duration %v at %v", last.TS, last.DurationS, last.At)
	}
	var events, started, errs int64
	ttft := NewHistogram()
	for _, iv := range f.Intervals {
		events += iv.Events
		started += iv.Started
		errs += iv.Errors
		if iv.TTFTHDR != "" {
			h, err := DecodeHistogram(iv.TTFTHDR)
			if err != nil {
				t.Fatal(err)
			}
			if err := ttft.Merge(h); err != nil {
				t.Fatal(err)
			}
		}
	}
	if events != f.Counters.Events || started != f.Counters.StreamsStarted || errs != f.Counters.StreamsFailed {
		t.Errorf("intervals sum to events %d started %d errors %d; totals %d %d %d",
			events, started, errs, f.Counters.Events, f.Counters.StreamsStarted, f.Counters.StreamsFailed)
	}
	if ttft.Count() != f.Metrics["ttft"].Count {
		t.Errorf("tick ttft histograms hold %d values, the run %d", ttft.Count(), f.Metrics["ttft"].Count)
	}
	if f.Degraded {
		t.Error("a closed-model run without lag is degraded")
	}
	// Stats come from the histogram, in ms with µs resolution.
	m := f.Metrics["ttft"]
	h, err := DecodeHistogram(m.HDR)
	if err != nil {
		t.Fatal(err)
	}
	if m.P99 != ms(h.Quantile(0.99)) || m.Count != h.Count() || m.Unit != "ms" {
		t.Errorf("ttft stats %+v disagree with the histogram", m)
	}
}

func TestDegraded(t *testing.T) {
	tests := []struct {
		lag  time.Duration
		want bool
	}{
		{0, false},
		{5 * time.Millisecond, false},
		{15 * time.Millisecond, true},
	}
	for _, tt := range tests {
		f := buildSynth(synth{streams: 50, every: 10 * time.Millisecond, events: 3, queue: true, lagBase: tt.lag},
			fixedStart, time.Second, nil, "")
		if f.Degraded != tt.want {
			t.Errorf("lag %v: degraded = %v, want %v", tt.lag, f.Degraded, tt.want)
		}
		if tt.want && (len(f.Generator.Reasons) == 0 || !strings.Contains(f.Generator.Reasons[0], "schedule lag")) {
			t.Errorf("lag %v: reasons %q do not explain the degradation", tt.lag, f.Generator.Reasons)
		}
	}
}

// TestConsume runs the real Consume loop on synctest's fake clock: ticks
// close on time, snapshots are published, OnTick sees every tick, and every
// Result is released.
func TestConsume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var ticks []Interval
		a := NewAggregator(AggregatorOptions{Start: start, OnTick: func(iv Interval) { ticks = append(ticks, iv) }})
		ch := make(chan *scenarios.Result)
		done := make(chan struct{})
		go func() {
			a.Consume(ch)
			close(done)
		}()

		send := func(r *scenarios.Result) { ch <- r }
		for i := 0; i < 10; i++ {
			send(res(scenarios.KindStart, nil))
			send(res(scenarios.KindProgress, func(r *scenarios.Result) {
				r.Set(scenarios.TTFT, time.Duration(10+i)*time.Millisecond)
				r.Events = 5
			}))
		}
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		s := a.Snapshot()
		if s.Started != 10 || s.Active != 10 || s.Events != 50 || s.Done {
			t.Errorf("snapshot at 300ms: %+v", s)
		}
		if s.TTFTP50 < 14*time.Millisecond || s.TTFTP50 > 15*time.Millisecond {
			t.Errorf("live ttft p50 = %v, want ~14ms", s.TTFTP50)
		}
		if s.Elapsed < 250*time.Millisecond {
			t.Errorf("no snapshot published after 300ms (elapsed %v)", s.Elapsed)
		}

		time.Sleep(time.Second) // into the second tick
		synctest.Wait()
		s = a.Snapshot()
		if len(ticks) != 1 || ticks[0].Events != 50 || ticks[0].Started != 10 {
			t.Fatalf("after 1.3s: ticks %+v", ticks)
		}
		if s.EventsPerS != 50 {
			t.Errorf("events/s over the last tick = %v, want 50", s.EventsPerS)
		}
		for i := 0; i < 10; i++ {
			send(res(scenarios.KindEnd, func(r *scenarios.Result) { r.Final = true }))
		}
		time.Sleep(200 * time.Millisecond)
		close(ch)
		<-done
		s = a.Snapshot()
		if !s.Done || s.OK != 10 || s.Active != 0 {
			t.Errorf("final snapshot: %+v", s)
		}
		f := a.Finish(Meta{Version: "test"})
		if len(f.Intervals) != 2 || len(ticks) != 2 {
			t.Fatalf("%d intervals, %d ticks; want 2 (one full, one partial)", len(f.Intervals), len(ticks))
		}
		if f.DurationS != 1.5 || f.Intervals[1].DurationS != 0.5 {
			t.Errorf("duration %v, last tick %v; want 1.5 and 0.5", f.DurationS, f.Intervals[1].DurationS)
		}
	})
}

// TestConsumeSnapshotsConcurrently reads snapshots while the consumer
// writes (run with -race).
func TestConsumeSnapshotsConcurrently(t *testing.T) {
	a := NewAggregator(AggregatorOptions{Interval: time.Second}) // ticks cost CPU under -race: few of them, the snapshots come every snapshotEvery anyway
	ch := make(chan *scenarios.Result, 64)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = a.Snapshot()
			}
		}
	}()
	done := make(chan struct{})
	go func() { a.Consume(ch); close(done) }()
	for i := 0; i < 5000; i++ {
		ch <- res(scenarios.KindProgress, func(r *scenarios.Result) {
			r.Set(scenarios.TTFT, time.Millisecond)
			r.AddGap(time.Millisecond)
			r.Events = 1
		})
	}
	close(ch)
	<-done
	close(stop)
	wg.Wait()
	if s := a.Snapshot(); !s.Done || s.Events != 5000 {
		t.Errorf("final snapshot %+v", s)
	}
}

// TestHLogReadBack writes an interval log and reads it back with
// hdrhistogram-go's own log reader: every line decodes, tags name the
// metrics, and the intervals add up to the run's histograms.
func TestHLogReadBack(t *testing.T) {
	var log bytes.Buffer
	a := NewAggregator(AggregatorOptions{Start: fixedStart, HLog: &log})
	playTimed(a, synth{streams: 60, every: 40 * time.Millisecond, events: 30, queue: true}.results(nil), 2600*time.Millisecond)
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	f := a.Finish(Meta{})

	text := log.String()
	for _, want := range []string{"#[StartTime: 1741964966.000", "#[BaseTime: 1741964966.000",
		`"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"`, "Tag=ttft,0.000,1.000,"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text[:min(len(text), 600)])
		}
	}

	r := hdrhistogram.NewHistogramLogReader(strings.NewReader(text))
	sums := map[string]int64{}
	lines := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		lines++
		sums[h.Tag()] += h.TotalCount()
		if h.StartTimeMs() < fixedStart.UnixMilli() || h.EndTimeMs() > fixedStart.Add(3*time.Second).UnixMilli() {
			t.Errorf("%s interval %d..%d ms is outside the run", h.Tag(), h.StartTimeMs(), h.EndTimeMs())
		}
	}
	if lines != 3*len(f.Metrics) {
		t.Errorf("%d interval lines, want 3 ticks × %d metrics", lines, len(f.Metrics))
	}
	for name, m := range f.Metrics {
		if sums[name] != m.Count {
			t.Errorf("log holds %d %s values, the run %d", sums[name], name, m.Count)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestHLogWriteError(t *testing.T) {
	a := NewAggregator(AggregatorOptions{Start: fixedStart, HLog: &failWriter{n: 1}})
	playTimed(a, synth{streams: 10, every: 100 * time.Millisecond, events: 3}.results(nil), 2*time.Second)
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Err() = %v, want the write error", err)
	}
	f := a.Finish(Meta{})
	if !strings.Contains(strings.Join(f.Notes, "\n"), "disk full") {
		t.Errorf("notes %q do not mention the interval log failure", f.Notes)
	}
}

func TestFinishJSONRoundTrip(t *testing.T) {
	f := buildSynth(synth{streams: 30, every: 20 * time.Millisecond, events: 5, failEach: 7}, fixedStart, time.Second, nil, "3/4")
	var b bytes.Buffer
	if err := WriteJSON(&b, f); err != nil {
		t.Fatal(err)
	}
	g, err := decodeFile(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(f, g, cmp.Comparer(func(a, b json.RawMessage) bool { return sameJSON(a, b) })); d != "" {
		t.Errorf("round trip (-wrote +read):\n%s", d)
	}
}

var _ io.Writer = (*failWriter)(nil)

// TestFinishKeepsResultsAtTheLastInstant: Results that arrive exactly when
// the run ends (on a tick boundary) are not lost.
func TestFinishKeepsResultsAtTheLastInstant(t *testing.T) {
	a := NewAggregator(AggregatorOptions{Start: fixedStart})
	r := res(scenarios.KindProgress, func(r *scenarios.Result) { r.AddGap(time.Millisecond); r.Events = 1 })
	playTimed(a, []timed{{2 * time.Second, r}}, 2*time.Second)
	f := a.Finish(Meta{})
	if f.Metrics["gap"] == nil || f.Metrics["gap"].Count != 1 || f.Counters.Events != 1 {
		t.Fatalf("the last gap was lost: %+v", f.Metrics)
	}
	var ev int64
	for _, iv := range f.Intervals {
		ev += iv.Events
	}
	if ev != 1 {
		t.Errorf("intervals hold %d events, want 1", ev)
	}
}
