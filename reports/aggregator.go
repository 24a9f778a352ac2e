package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/health"
)

// DefaultInterval is the default tick length of the aggregator's time
// series (File.Intervals) and of the HdrHistogram interval log.
const DefaultInterval = time.Second

// snapshotEvery is the longest time between two published Snapshots.
const snapshotEvery = 250 * time.Millisecond

// AggregatorOptions configure an Aggregator.
type AggregatorOptions struct {
	// Interval is the tick length of the time series. Default 1 s.
	Interval time.Duration
	// Start is when load started (the run's time zero). It should carry a
	// monotonic clock reading (come from time.Now). Default: time.Now() in
	// NewAggregator.
	Start time.Time
	// HLog, when not nil, receives an HdrHistogram interval log (the
	// standard format that HdrHistogram's HistogramLogProcessor reads):
	// one line per metric per tick, tagged with the metric's name, values
	// in µs. Written by the consumer goroutine only, as ticks close, and
	// flushed after every tick when it has a Flush() error method.
	HLog io.Writer
	// OnHLogTick, when not nil, is called by the consumer goroutine with
	// each closed tick's histograms, as the interval log holds them (see
	// HLogTick), so that another process can write the log. The callee
	// owns the HLogTick.
	OnHLogTick func(*HLogTick)
	// OnTick, when not nil, is called by the consumer goroutine with each
	// tick's Interval as soon as the tick closes. It must return quickly
	// and must not retain the Interval's histograms' encodings beyond use.
	OnTick func(Interval)
	// OnDelta, when not nil, is called by the consumer goroutine at every
	// publish (at least 4 times a second) and once more with Done when
	// Consume returns, with what was recorded since the previous call (see
	// Delta). The callee owns the Delta. It must return quickly.
	OnDelta func(*Delta)
}

// Snapshot is the aggregator's live state, for the progress view. Values
// are totals since Start unless said otherwise.
type Snapshot struct {
	// Elapsed is the time since Start.
	Elapsed time.Duration
	// Active is the number of stream attempts open now.
	Active int64
	// Started is the number of streams started (first attempts); Attempts
	// counts reconnects too.
	Started, Attempts int64
	// OK, Failed, Aborted and Cancelled count finished streams by outcome.
	OK, Failed, Aborted, Cancelled int64
	// Reconnects counts attempts after the first; Dropped counts arrivals
	// the open model could not start.
	Reconnects, Dropped int64
	// Events, Tokens and Bytes are totals.
	Events, Tokens, Bytes int64
	// Errors is the number of failed stream attempts (all classes).
	Errors int64
	// Redirects is the number of redirects followed.
	Redirects int64
	// EventsPerS is the event rate over the last complete tick, per
	// second; TickErrors the failed attempts in that tick.
	EventsPerS float64
	TickErrors int64
	// TTFTP50 and TTFTP99 are time-to-first-token percentiles over the
	// whole run so far (0: no sample yet).
	TTFTP50, TTFTP99 time.Duration
	// LagP99 is the schedule lag (queue) p99 over the last complete tick;
	// LagP99Run over the whole run so far (one input of the degraded
	// verdict, see health.Judge).
	LagP99, LagP99Run time.Duration
	// Done is set on the last Snapshot, published when Consume returns.
	Done bool
}

// totals are the run's counters, as the consumer keeps them.
type totals struct {
	started, attempts, ok, failed, aborted, cancelled    int64
	events, content, bytes, tokens, comments             int64
	reconnects, idsLost, idsDup, dropped, failedAttempts int64
	redirects, reconnected, cutAfterEvents               int64
}

// errorCounts count failures by class, HTTP status failures by status too.
type errorCounts struct {
	classes  [scenarios.NumErrorClasses]int64
	statuses map[int]int64
}

// add counts one failure of class c (status for ErrHTTPStatus).
func (e *errorCounts) add(c scenarios.ErrorClass, status int) {
	if c >= scenarios.NumErrorClasses {
		c = scenarios.ErrOther
	}
	if c == scenarios.ErrHTTPStatus {
		if e.statuses == nil {
			e.statuses = map[int]int64{}
		}
		e.statuses[status]++
		return
	}
	e.classes[c]++
}

// keyed returns the counts keyed by class name, with HTTP status failures
// keyed "http_status:CODE".
func (e *errorCounts) keyed() map[string]int64 {
	m := map[string]int64{}
	for c, n := range e.classes {
		if n > 0 {
			m[scenarios.ErrorClass(c).String()] = n
		}
	}
	for code, n := range e.statuses {
		key := scenarios.ErrHTTPStatus.String()
		if code != 0 {
			key += ":" + strconv.Itoa(code)
		}
		m[key] += n
	}
	return m
}

// tickCounts are what one tick counts.
type tickCounts struct {
	started, events, tokens, errors int64
}

// liveMetrics are recorded into the cumulative histograms at once, so the
// live Snapshot's run-wide quantiles are fresh. Every other metric is
// recorded into its tick histogram only, and the tick is folded into the
// cumulative histogram when it closes: one RecordValue per gap, not two.
const liveMetrics = 1<<scenarios.TTFT | 1<<scenarios.Queue

// Aggregator turns the swarm's Results into histograms, counters and a
// time series (redis-benchmark-go style: one goroutine, the one running
// Consume, owns a cumulative histogram per metric and a per-tick one that
// is reset every tick). Snapshot is safe for concurrent use; Consume must
// run in exactly one goroutine, and Finish must be called after Consume has
// returned (or instead of it, for a run without results).
//
// Cost: one RecordValues per run of gaps and of ITLs (about 5 ns each; a
// run is consecutive values equal in microseconds, so a saturated stream
// has about one per read), a channel receive and a Release per Result (a
// Result carries up to 64 runs of each); the
// per-tick work (folding, encoding two histograms, resetting) is about a
// millisecond and off the per-event path. BenchmarkAggregator measures it.
type Aggregator struct {
	interval time.Duration
	start    time.Time
	hlog     io.Writer
	onHLog   func(*HLogTick)
	onTick   func(Interval)

	cum  [scenarios.NumMetrics]*Histogram
	tick [scenarios.NumMetrics]*Histogram

	t          totals
	streamErrs errorCounts // failed streams, by their final attempt's class
	attErrs    errorCounts // failed attempts
	encodings  [scenarios.NumEncodings]int64
	failures   failureTable
	// withEvents holds the open streams that have dispatched an event, so
	// that an aborted or cancelled stream can be told apart from one that
	// never received anything. Entries leave at the stream's final Result,
	// so it holds at most the streams open at once.
	withEvents map[uint64]struct{}
	unknown    int64
	active     int64

	tc        tickCounts
	tickN     int           // ticks closed so far
	tickStart time.Duration // elapsed at the start of the open tick
	intervals []Interval
	lastTick  tickCounts
	lastLen   time.Duration
	lastLag   time.Duration

	end     time.Duration // elapsed when Consume returned; 0 before
	hlogErr error
	hlogHdr bool
	encErr  error

	snap  atomic.Pointer[Snapshot]
	delta *deltaState // nil unless OnDelta is set
}

// NewAggregator returns an Aggregator ready to Consume.
func NewAggregator(opts AggregatorOptions) *Aggregator {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	a := &Aggregator{
		interval: opts.Interval,
		start:    opts.Start,
		hlog:     opts.HLog,
		onHLog:   opts.OnHLogTick,
		onTick:   opts.OnTick,

		withEvents: map[uint64]struct{}{},
	}
	for m := range scenarios.NumMetrics {
		a.cum[m] = NewHistogram()
		a.tick[m] = NewHistogram()
	}
	if opts.OnDelta != nil {
		a.delta = &deltaState{emit: opts.OnDelta}
	}
	a.snap.Store(&Snapshot{})
	return a
}

// Consume reads results until the channel is closed, recording each one and
// releasing it (Result.Release). It closes a tick every Interval after
// Start and publishes a Snapshot at least 4 times a second. Call it from
// exactly one goroutine, once.
func (a *Aggregator) Consume(results <-chan *scenarios.Result) {
	a.writeHLogHeader()
	step := a.interval
	if step > snapshotEvery {
		step = a.interval / time.Duration((a.interval+snapshotEvery-1)/snapshotEvery)
	}
	timer := time.NewTimer(a.untilNext(time.Since(a.start), step))
	defer timer.Stop()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				a.finishTicks(time.Since(a.start))
				return
			}
			a.add(r)
			r.Release()
		case <-timer.C:
			now := time.Since(a.start)
			a.closeTicksUntil(now)
			a.publish(now, false)
			timer.Reset(a.untilNext(now, step))
		}
	}
}

// untilNext returns how long after elapsed the next wake-up is due: the
// next multiple of step, so that tick boundaries fall on wake-ups.
func (a *Aggregator) untilNext(elapsed, step time.Duration) time.Duration {
	if elapsed < 0 {
		return -elapsed + step
	}
	return step - elapsed%step
}

// add records one Result. It does not release it.
func (a *Aggregator) add(r *scenarios.Result) {
	if a.delta != nil {
		a.delta.add(r)
	}
	for has := uint16(r.Has); has != 0; has &= has - 1 {
		m := bits.TrailingZeros16(has)
		if m >= int(scenarios.NumMetrics) {
			break
		}
		d := r.Values[m]
		a.tick[m].Record(d)
		if liveMetrics&(1<<m) != 0 {
			a.cum[m].Record(d)
		}
	}
	if r.Events > 0 && r.Kind != scenarios.KindDropped {
		a.withEvents[r.Stream] = struct{}{}
	}
	switch r.Kind {
	case scenarios.KindStart:
		a.t.attempts++
		switch r.Attempt {
		case 0:
			a.t.started++
			a.tc.started++
		case 1:
			a.t.reconnected++
			a.t.reconnects++
		default:
			a.t.reconnects++
		}
		a.active++
	case scenarios.KindProgress:
	case scenarios.KindEnd:
		a.addEnd(r)
	case scenarios.KindDropped:
		a.t.dropped++
	default:
		a.unknown++
	}
	a.tick[scenarios.Gap].RecordRuns(r.Gaps())
	a.tick[scenarios.ITL].RecordRuns(r.ITLs())
	a.t.events += r.Events
	a.t.content += r.Content
	a.t.bytes += r.Bytes
	a.t.tokens += r.Tokens
	a.t.comments += r.Comments
	a.t.idsLost += r.IDsLost
	a.t.idsDup += r.IDsDup
	a.t.redirects += r.Redirects
	a.tc.events += r.Events
	a.tc.tokens += r.Tokens
}

// addEnd records the end of an attempt: its encoding, its failure (an
// attempt error, and a stream error when it was the stream's last
// attempt) and, on the final Result, the stream's outcome.
func (a *Aggregator) addEnd(r *scenarios.Result) {
	a.active--
	if r.Encoding != scenarios.EncNone {
		e := r.Encoding
		if e >= scenarios.NumEncodings {
			e = scenarios.EncOther
		}
		a.encodings[e]++
	}
	if r.Err != scenarios.ErrNone {
		a.t.failedAttempts++
		a.tc.errors++
		a.attErrs.add(r.Err, r.Status)
		a.failures.add(r.Err, r.Detail, r.Sample, r.Final)
	}
	if !r.Final {
		return
	}
	_, hadEvents := a.withEvents[r.Stream]
	delete(a.withEvents, r.Stream)
	switch {
	case r.Aborted:
		a.t.aborted++
	case r.Cancelled:
		a.t.cancelled++
	case r.Err != scenarios.ErrNone:
		a.t.failed++
		a.streamErrs.add(r.Err, r.Status)
		return
	default:
		a.t.ok++
		return
	}
	if hadEvents {
		a.t.cutAfterEvents++
	}
}

// closeTicksUntil closes every tick that ended at or before elapsed.
func (a *Aggregator) closeTicksUntil(elapsed time.Duration) {
	for {
		end := time.Duration(a.tickN+1) * a.interval
		if elapsed < end {
			return
		}
		a.closeTick(end)
	}
}

// finishTicks closes the ticks up to elapsed and the final partial tick,
// and publishes the last Snapshot.
func (a *Aggregator) finishTicks(elapsed time.Duration) {
	a.closeTicksUntil(elapsed)
	if elapsed > a.tickStart || a.tickHasData() {
		a.closeTick(max(elapsed, a.tickStart))
	}
	a.end = elapsed
	a.publish(elapsed, true)
}

// tickHasData reports whether the open tick recorded anything.
func (a *Aggregator) tickHasData() bool {
	if a.tc != (tickCounts{}) {
		return true
	}
	for _, h := range a.tick {
		if h.Count() > 0 {
			return true
		}
	}
	return false
}

// closeTick closes the open tick at elapsed end (a tick boundary, or the
// run's end for the final partial tick): it appends its Interval, writes
// the interval log, and resets the tick's histograms and counters.
func (a *Aggregator) closeTick(end time.Duration) {
	n := a.tickN + 1
	ttft, queue := a.tick[scenarios.TTFT], a.tick[scenarios.Queue]
	iv := Interval{
		TS:        end.Seconds(),
		At:        a.start.Add(time.Duration(n) * a.interval).Round(0).UTC(),
		DurationS: (end - a.tickStart).Seconds(),
		Active:    a.active,
		Started:   a.tc.started,
		Events:    a.tc.events,
		Tokens:    a.tc.tokens,
		Errors:    a.tc.errors,
		TTFTP50:   ms(ttft.Quantile(0.50)),
		TTFTP99:   ms(ttft.Quantile(0.99)),
		LagP99:    ms(queue.Quantile(0.99)),
	}
	iv.TTFTHDR = a.encodeIfAny(ttft)
	iv.QueueHDR = a.encodeIfAny(queue)
	a.intervals = append(a.intervals, iv)
	a.writeHLogTick(n, a.tickStart, end)
	if a.onTick != nil {
		a.onTick(iv)
	}
	a.lastTick = a.tc
	a.lastLen = end - a.tickStart
	a.lastLag = queue.Quantile(0.99)
	a.tc = tickCounts{}
	for m, h := range a.tick {
		if liveMetrics&(1<<m) == 0 && h.Count() > 0 {
			if err := a.cum[m].Merge(h); err != nil && a.encErr == nil {
				a.encErr = fmt.Errorf("%s: %w", scenarios.Metric(m), err)
			}
		}
		h.Reset()
	}
	a.tickN = n
	a.tickStart = end
}

// encodeIfAny encodes h when it holds values, and "" otherwise. An
// encoding error (which would be a bug) is kept for Finish's notes.
func (a *Aggregator) encodeIfAny(h *Histogram) string {
	if h.Count() == 0 {
		return ""
	}
	s, err := h.Encode()
	if err != nil && a.encErr == nil {
		a.encErr = err
	}
	return s
}

// publish stores a new Snapshot for concurrent readers.
func (a *Aggregator) publish(elapsed time.Duration, done bool) {
	s := &Snapshot{
		Elapsed:    elapsed,
		Active:     a.active,
		Started:    a.t.started,
		Attempts:   a.t.attempts,
		OK:         a.t.ok,
		Failed:     a.t.failed,
		Aborted:    a.t.aborted,
		Cancelled:  a.t.cancelled,
		Reconnects: a.t.reconnects,
		Dropped:    a.t.dropped,
		Events:     a.t.events,
		Tokens:     a.t.tokens,
		Bytes:      a.t.bytes,
		Errors:     a.t.failedAttempts,
		Redirects:  a.t.redirects,
		TickErrors: a.lastTick.errors,
		TTFTP50:    a.cum[scenarios.TTFT].Quantile(0.50),
		TTFTP99:    a.cum[scenarios.TTFT].Quantile(0.99),
		LagP99:     a.lastLag,
		LagP99Run:  a.cum[scenarios.Queue].Quantile(0.99),
		Done:       done,
	}
	if a.lastLen > 0 {
		s.EventsPerS = float64(a.lastTick.events) / a.lastLen.Seconds()
	}
	a.snap.Store(s)
	if a.delta != nil {
		a.cutDelta(elapsed, done)
	}
}

// Snapshot returns the most recently published live state. Safe for
// concurrent use, cheap (no locking, no computation): the consumer
// publishes a new one at least 4 times a second.
func (a *Aggregator) Snapshot() Snapshot { return *a.snap.Load() }

// Meta is what Finish needs to know about the run beyond the Results.
type Meta struct {
	// Version is the ssebench version that ran.
	Version string
	// Scenario is the whole plan as run (with --shard, before the split),
	// as JSON, with secrets already redacted by the caller (it is copied
	// to the File verbatim).
	Scenario json.RawMessage
	// Plan identifies the plan (see PlanID); "" when unknown.
	Plan string
	// Health is what the process measured of itself over the run
	// (health.Monitor.Stop); nil when it did not, and then only the
	// schedule lag decides Degraded.
	Health *health.Measures
	// Shard is "I/N"; "" means "1/1".
	Shard string
	// Environment describes where the run happened (see HostEnvironment).
	Environment Environment
	// Notes are added to the File's notes, before the aggregator's own.
	Notes []string
}

// HostEnvironment returns the Environment fields this process knows about
// itself: OS, architecture, CPUs and Go version. The caller adds the host
// name, the file-descriptor limit and the target when it wants them.
func HostEnvironment() Environment {
	return Environment{
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
	}
}

// Finish builds the run's File from everything consumed: a MetricStats for
// every metric with samples, counters, rates over the measured duration
// (Start to the end of Consume), the time series, and the degraded flag
// with its note when the schedule lag p99 exceeds DegradedLag. Thresholds
// are left empty (see Evaluate). Call it once, after Consume has returned.
func (a *Aggregator) Finish(meta Meta) *File {
	dur := a.end
	if dur <= 0 {
		dur = time.Since(a.start)
	}
	f := &File{
		Schema:      SchemaVersion,
		Tool:        ToolName,
		Version:     meta.Version,
		Started:     a.start.Round(0).UTC(),
		DurationS:   dur.Seconds(),
		IntervalS:   a.interval.Seconds(),
		Plan:        meta.Plan,
		Scenario:    meta.Scenario,
		Shard:       meta.Shard,
		Environment: meta.Environment,
		Metrics:     map[string]*MetricStats{},
		Failures:    a.failures.list(),
		Intervals:   a.intervals,
		Thresholds:  []ThresholdResult{},
		Notes:       append([]string{}, meta.Notes...),
	}
	if f.Shard == "" {
		f.Shard = "1/1"
	}
	if f.Intervals == nil {
		f.Intervals = []Interval{}
	}
	for m, h := range a.cum {
		if h.Count() == 0 {
			continue
		}
		st, err := statsOf(h)
		if err != nil {
			f.Notes = append(f.Notes, fmt.Sprintf("metric %s: %v", scenarios.Metric(m), err))
			continue
		}
		f.Metrics[scenarios.Metric(m).String()] = st
	}
	f.Counters = Counters{
		StreamsStarted:     a.t.started,
		StreamsOK:          a.t.ok,
		StreamsFailed:      a.t.failed,
		Aborted:            a.t.aborted,
		Cancelled:          a.t.cancelled,
		CutAfterEvents:     a.t.cutAfterEvents,
		Attempts:           a.t.attempts,
		StreamsReconnected: a.t.reconnected,
		Events:             a.t.events,
		ContentEvents:      a.t.content,
		Bytes:              a.t.bytes,
		Tokens:             a.t.tokens,
		Comments:           a.t.comments,
		Reconnects:         a.t.reconnects,
		Redirects:          a.t.redirects,
		IDsLost:            a.t.idsLost,
		IDsDuplicated:      a.t.idsDup,
		ArrivalsDropped:    a.t.dropped,
		Errors:             a.streamErrs.keyed(),
		AttemptErrors:      a.attErrs.keyed(),
		ContentEncoding:    map[string]int64{},
	}
	for e, n := range a.encodings {
		if n > 0 {
			f.Counters.ContentEncoding[scenarios.Encoding(e).String()] = n
		}
	}
	f.Rates = ratesOf(f.Counters, f.DurationS)
	if a.unknown > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("%d results of an unknown kind were ignored", a.unknown))
	}
	if a.encErr != nil {
		f.Notes = append(f.Notes, fmt.Sprintf("interval histograms: %v", a.encErr))
	}
	if a.hlogErr != nil {
		f.Notes = append(f.Notes, fmt.Sprintf("interval log: %v", a.hlogErr))
	}
	judgeGenerator(f, meta.Health, meta.Environment.EmbeddedMock)
	f.Notes = append(f.Notes, derivedNotes(f)...)
	return f
}

// statsOf summarises h as a MetricStats (milliseconds, µs resolution).
func statsOf(h *Histogram) (*MetricStats, error) {
	enc, err := h.Encode()
	if err != nil {
		return nil, err
	}
	return &MetricStats{
		Unit:       "ms",
		Count:      h.Count(),
		Min:        ms(h.Min()),
		Mean:       ms(h.Mean()),
		Stddev:     ms(h.StdDev()),
		P50:        ms(h.Quantile(0.50)),
		P90:        ms(h.Quantile(0.90)),
		P95:        ms(h.Quantile(0.95)),
		P99:        ms(h.Quantile(0.99)),
		P999:       ms(h.Quantile(0.999)),
		Max:        ms(h.Max()),
		OutOfRange: h.OutOfRange(),
		HDR:        enc,
	}, nil
}

// ratesOf divides the counters by the duration in seconds.
func ratesOf(c Counters, durationS float64) Rates {
	if durationS <= 0 {
		return Rates{}
	}
	return Rates{
		EventsPerS:  float64(c.Events) / durationS,
		StreamsPerS: float64(c.StreamsStarted) / durationS,
		TokensPerS:  float64(c.Tokens) / durationS,
	}
}

// derivedNotes returns the notes a File derives from its own data: the
// shard hint, dropped arrivals, out-of-range values. Finish adds them, and
// Merge recomputes them for the merged File instead of repeating each
// shard's.
func derivedNotes(f *File) []string {
	var notes []string
	if i, n, ok := singleShard(f.Shard); ok && n > 1 {
		notes = append(notes, fmt.Sprintf("shard %d/%d: merge the shards' JSON results with 'ssebench report'", i, n))
	}
	if d := f.Counters.ArrivalsDropped; d > 0 {
		notes = append(notes, fmt.Sprintf(
			"%d arrivals were dropped: no free worker when they were due (raise the scenario's maximum concurrency)", d))
	}
	names := make([]string, 0, len(f.Metrics))
	for n := range f.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if o := f.Metrics[n].OutOfRange; o > 0 {
			notes = append(notes, fmt.Sprintf(
				"%s: %d values outside 0 .. 1 h were clamped into the histogram", n, o))
		}
	}
	return notes
}

// singleShard parses a Shard field "I/N" (not a merged one).
func singleShard(s string) (i, n int, ok bool) {
	is, ns, found := strings.Cut(s, "/")
	if !found || strings.Contains(s, ":") {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	return i, n, err1 == nil && err2 == nil && i >= 1 && i <= n
}
