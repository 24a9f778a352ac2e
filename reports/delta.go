package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// Delta is what a run recorded since the previous Delta: counter
// differences, failed streams and attempts by class, and the values each
// latency metric recorded. Applying every Delta of a run, in order, to a
// LiveState gives exactly the counters and histograms of the run's final
// File (see LiveState). A Delta is plain data; whoever receives it owns it.
type Delta struct {
	// Seq numbers the Deltas of one aggregator: 1, 2, 3...
	Seq uint64 `json:"seq"`
	// First is the first Seq a coalesced Delta covers (see Add); 0 for a
	// Delta as the aggregator cut it.
	First uint64 `json:"first,omitempty"`
	// Elapsed is the time since the run's Start when the Delta was cut.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Done is set on the last Delta, cut when Consume returns.
	Done bool `json:"done,omitempty"`
	// Active is a gauge: stream attempts open when the Delta was cut.
	Active int64 `json:"active"`
	// LagP99 is a gauge: the schedule lag p99 of the last closed tick.
	LagP99 time.Duration `json:"lag_p99_ns,omitempty"`
	// Counters are differences since the previous Delta.
	Counters DeltaCounters `json:"counters"`
	// Errors counts streams that failed since the previous Delta by the
	// class of their last attempt, keyed as Counters.Errors
	// ("http_status:503"); AttemptErrors counts failed attempts the same
	// way; ContentEncoding counts attempts by Content-Encoding. Only
	// non-zero entries; nil when empty.
	Errors          map[string]int64 `json:"errors,omitempty"`
	AttemptErrors   map[string]int64 `json:"attempt_errors,omitempty"`
	ContentEncoding map[string]int64 `json:"content_encoding,omitempty"`
	// Hist holds, per metric name (scenarios.Metric's String), the values
	// recorded since the previous Delta; only non-empty histograms.
	Hist map[string]*Histogram `json:"-"`
}

// DeltaCounters are counter differences, named as the File's Counters
// (FailedAttempts is the sum of Counters.AttemptErrors).
type DeltaCounters struct {
	StreamsStarted     int64 `json:"streams_started,omitempty"`
	Attempts           int64 `json:"attempts,omitempty"`
	StreamsOK          int64 `json:"streams_ok,omitempty"`
	StreamsFailed      int64 `json:"streams_failed,omitempty"`
	Aborted            int64 `json:"aborted,omitempty"`
	Cancelled          int64 `json:"cancelled,omitempty"`
	CutAfterEvents     int64 `json:"cut_after_events,omitempty"`
	StreamsReconnected int64 `json:"streams_reconnected,omitempty"`
	Events             int64 `json:"events,omitempty"`
	ContentEvents      int64 `json:"content_events,omitempty"`
	Bytes              int64 `json:"bytes,omitempty"`
	Tokens             int64 `json:"tokens,omitempty"`
	Comments           int64 `json:"comments,omitempty"`
	Reconnects         int64 `json:"reconnects,omitempty"`
	Redirects          int64 `json:"redirects,omitempty"`
	IDsLost            int64 `json:"ids_lost,omitempty"`
	IDsDuplicated      int64 `json:"ids_duplicated,omitempty"`
	ArrivalsDropped    int64 `json:"arrivals_dropped,omitempty"`
	FailedAttempts     int64 `json:"failed_attempts,omitempty"`
}

// add adds o to c.
func (c *DeltaCounters) add(o DeltaCounters) {
	c.StreamsStarted += o.StreamsStarted
	c.Attempts += o.Attempts
	c.StreamsOK += o.StreamsOK
	c.StreamsFailed += o.StreamsFailed
	c.Aborted += o.Aborted
	c.Cancelled += o.Cancelled
	c.CutAfterEvents += o.CutAfterEvents
	c.StreamsReconnected += o.StreamsReconnected
	c.Events += o.Events
	c.ContentEvents += o.ContentEvents
	c.Bytes += o.Bytes
	c.Tokens += o.Tokens
	c.Comments += o.Comments
	c.Reconnects += o.Reconnects
	c.Redirects += o.Redirects
	c.IDsLost += o.IDsLost
	c.IDsDuplicated += o.IDsDuplicated
	c.ArrivalsDropped += o.ArrivalsDropped
	c.FailedAttempts += o.FailedAttempts
}

// countersOf returns the aggregator's totals as DeltaCounters.
func countersOf(t *totals) DeltaCounters {
	return DeltaCounters{
		StreamsStarted: t.started, Attempts: t.attempts, StreamsOK: t.ok,
		StreamsFailed: t.failed, Aborted: t.aborted, Cancelled: t.cancelled,
		CutAfterEvents: t.cutAfterEvents, StreamsReconnected: t.reconnected,
		Events: t.events, ContentEvents: t.content, Bytes: t.bytes,
		Tokens: t.tokens, Comments: t.comments, Reconnects: t.reconnects,
		Redirects: t.redirects, IDsLost: t.idsLost, IDsDuplicated: t.idsDup,
		ArrivalsDropped: t.dropped, FailedAttempts: t.failedAttempts,
	}
}

// sub returns c - o.
func (c DeltaCounters) sub(o DeltaCounters) DeltaCounters {
	neg := o
	neg.scale(-1)
	c.add(neg)
	return c
}

// scale multiplies every counter by k.
func (c *DeltaCounters) scale(k int64) {
	for _, p := range []*int64{
		&c.StreamsStarted, &c.Attempts, &c.StreamsOK, &c.StreamsFailed,
		&c.Aborted, &c.Cancelled, &c.CutAfterEvents, &c.StreamsReconnected,
		&c.Events, &c.ContentEvents, &c.Bytes, &c.Tokens, &c.Comments,
		&c.Reconnects, &c.Redirects, &c.IDsLost, &c.IDsDuplicated,
		&c.ArrivalsDropped, &c.FailedAttempts,
	} {
		*p *= k
	}
}

// deltaState is the aggregator's side of the Delta export: histograms of
// the values recorded since the last Delta, and the totals it reported.
// It exists only when AggregatorOptions.OnDelta is set, so a run without
// it pays one nil check per Result and per publish.
type deltaState struct {
	emit     func(*Delta)
	seq      uint64
	hist     [scenarios.NumMetrics]*Histogram // nil until a value arrives
	prev     DeltaCounters
	prevErrs map[string]int64
	prevAtt  map[string]int64
	prevEnc  [scenarios.NumEncodings]int64
}

// histogram returns the histogram of metric m, made on demand.
func (s *deltaState) histogram(m int) *Histogram {
	h := s.hist[m]
	if h == nil {
		h = NewHistogram()
		s.hist[m] = h
	}
	return h
}

// add records r's values, as Aggregator.add records them into the ticks.
func (s *deltaState) add(r *scenarios.Result) {
	for m := range scenarios.NumMetrics {
		if r.Has&(1<<m) != 0 {
			s.histogram(int(m)).Record(r.Values[m])
		}
	}
	if g := r.Gaps(); len(g) > 0 {
		s.histogram(int(scenarios.Gap)).RecordRuns(g)
	}
	if g := r.ITLs(); len(g) > 0 {
		s.histogram(int(scenarios.ITL)).RecordRuns(g)
	}
}

// cut builds the next Delta from the aggregator's state and hands it to
// the callback. The histograms go with it; new ones are made on demand.
func (a *Aggregator) cutDelta(elapsed time.Duration, done bool) {
	s := a.delta
	s.seq++
	cur := countersOf(&a.t)
	d := &Delta{
		Seq:      s.seq,
		Elapsed:  elapsed,
		Done:     done,
		Active:   a.active,
		LagP99:   a.lastLag,
		Counters: cur.sub(s.prev),
	}
	s.prev = cur
	errs, att := a.streamErrs.keyed(), a.attErrs.keyed()
	d.Errors, d.AttemptErrors = diffKeyed(errs, s.prevErrs), diffKeyed(att, s.prevAtt)
	s.prevErrs, s.prevAtt = errs, att
	for e, n := range a.encodings {
		if k := n - s.prevEnc[e]; k > 0 {
			if d.ContentEncoding == nil {
				d.ContentEncoding = map[string]int64{}
			}
			d.ContentEncoding[scenarios.Encoding(e).String()] = k
		}
	}
	s.prevEnc = a.encodings
	for m, h := range s.hist {
		if h == nil || h.Count() == 0 {
			continue
		}
		if d.Hist == nil {
			d.Hist = map[string]*Histogram{}
		}
		d.Hist[scenarios.Metric(m).String()] = h
		s.hist[m] = nil
	}
	s.emit(d)
}

// Add folds o, the next Delta(s) of the same aggregator, into d, so that
// a sender that cannot keep up sends one Delta for several without losing
// anything: counters and class counts add up, histograms merge, gauges
// and Seq are o's, and First keeps the first Seq covered. o's histograms
// are merged, not retained.
func (d *Delta) Add(o *Delta) error {
	if d.First == 0 {
		d.First = d.Seq
	}
	d.Seq, d.Elapsed, d.Done, d.Active, d.LagP99 = o.Seq, o.Elapsed, o.Done, o.Active, o.LagP99
	d.Counters.add(o.Counters)
	addKeyed(&d.Errors, o.Errors)
	addKeyed(&d.AttemptErrors, o.AttemptErrors)
	addKeyed(&d.ContentEncoding, o.ContentEncoding)
	for name, h := range o.Hist {
		if h == nil {
			continue
		}
		if d.Hist == nil {
			d.Hist = map[string]*Histogram{}
		}
		if c := d.Hist[name]; c != nil {
			if err := c.Merge(h); err != nil {
				return fmt.Errorf("delta %d: %s: %w", o.Seq, name, err)
			}
		} else {
			d.Hist[name] = h
		}
	}
	return nil
}

// diffKeyed returns cur - prev, keeping positive entries; nil when none.
func diffKeyed(cur, prev map[string]int64) map[string]int64 {
	var out map[string]int64
	for k, n := range cur {
		if d := n - prev[k]; d > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[k] = d
		}
	}
	return out
}

// addKeyed adds src into *dst, making the map when needed.
func addKeyed(dst *map[string]int64, src map[string]int64) {
	for k, n := range src {
		if *dst == nil {
			*dst = map[string]int64{}
		}
		(*dst)[k] += n
	}
}

// LiveView is the cumulative state of a run (or of several shards of one)
// built from its Deltas. Counters hold what the run's File would hold at
// this point (Errors, AttemptErrors and ContentEncoding never nil); Hist
// the cumulative histograms by metric name. A LiveView is a copy: its
// owner may read and change it freely.
type LiveView struct {
	Shard   string        // the LiveState's shard name; "merged" for MergeViews
	Seq     uint64        // the last Delta applied (merged: the sum)
	Elapsed time.Duration // the latest Delta's Elapsed (merged: the largest)
	Active  int64         // open stream attempts (merged: the sum)
	LagP99  time.Duration // last closed tick's schedule lag p99 (merged: the largest)
	Done    bool          // the last Delta was applied (merged: by every shard)
	// Missed counts Deltas skipped in the Seq numbering (lost frames).
	Missed uint64
	// Counters are cumulative, as a File's.
	Counters Counters
	// FailedAttempts is the number of failed attempts (all classes).
	FailedAttempts int64
	// Hist holds the cumulative histograms by metric name.
	Hist map[string]*Histogram
	// EventsPerS is the event rate over the last second or so of Deltas.
	EventsPerS float64
}

// rateWindow is how far back LiveState looks for EventsPerS.
const rateWindow = time.Second

// ratePoint is one applied Delta's time and event total, for EventsPerS.
type ratePoint struct {
	at     time.Duration
	events int64
}

// LiveState accumulates the Deltas of one run (one shard or worker). It is
// safe for concurrent use: one goroutine may Apply while others call View.
// Its memory is one histogram per metric seen (about 190 KB each) and a
// few bounded maps (error classes are bounded by the aggregator's keys).
type LiveState struct {
	mu     sync.Mutex
	shard  string
	seq    uint64
	missed uint64
	last   Delta // gauges of the latest Delta
	sum    DeltaCounters
	errs   map[string]int64
	att    map[string]int64
	enc    map[string]int64
	hist   map[string]*Histogram
	rate   [8]ratePoint // a ring of the latest Deltas' event totals
	rateN  int
	histEr error
}

// NewLiveState returns an empty LiveState for the named shard ("1/3", a
// worker name; "" is allowed).
func NewLiveState(shard string) *LiveState {
	return &LiveState{shard: shard, hist: map[string]*Histogram{}}
}

// Apply adds d to the state. d's histograms are merged, not retained, so
// the caller may reuse d afterwards. A Delta whose Seq is not above the
// last applied one is ignored (a duplicate); a gap in Seq is counted in
// LiveView.Missed.
func (l *LiveState) Apply(d *Delta) {
	if d == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if d.Seq != 0 && d.Seq <= l.seq {
		return
	}
	first := d.Seq
	if d.First != 0 && d.First <= d.Seq {
		first = d.First
	}
	if first > l.seq+1 {
		l.missed += first - l.seq - 1
	}
	if d.Seq != 0 {
		l.seq = d.Seq
	}
	l.last = Delta{Elapsed: d.Elapsed, Done: d.Done, Active: d.Active, LagP99: d.LagP99}
	l.sum.add(d.Counters)
	addKeyed(&l.errs, d.Errors)
	addKeyed(&l.att, d.AttemptErrors)
	addKeyed(&l.enc, d.ContentEncoding)
	for name, h := range d.Hist {
		if h == nil {
			continue
		}
		c := l.hist[name]
		if c == nil {
			c = NewHistogram()
			l.hist[name] = c
		}
		if err := c.Merge(h); err != nil && l.histEr == nil {
			l.histEr = fmt.Errorf("%s: %w", name, err)
		}
	}
	l.rate[l.rateN%len(l.rate)] = ratePoint{at: d.Elapsed, events: l.sum.Events}
	l.rateN++
}

// Err returns the first error merging a Delta's histogram (which would
// mean a total count past math.MaxInt64), or nil.
func (l *LiveState) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.histEr
}

// View returns a copy of the accumulated state.
func (l *LiveState) View() LiveView { return l.ViewMetrics() }

// ViewMetrics is View with copies of the named metrics' histograms only
// (every metric when none is named): a live view that shows ttft and lag
// need not copy a dozen histograms of about 190 KB each, 4 times a second.
func (l *LiveState) ViewMetrics(names ...string) LiveView {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := LiveView{
		Shard: l.shard, Seq: l.seq, Missed: l.missed,
		Elapsed: l.last.Elapsed, Active: l.last.Active, LagP99: l.last.LagP99, Done: l.last.Done,
		Counters:       countersFromDelta(l.sum, l.errs, l.att, l.enc),
		FailedAttempts: l.sum.FailedAttempts,
		Hist:           make(map[string]*Histogram, len(l.hist)),
		EventsPerS:     l.eventsPerS(),
	}
	for name, h := range l.hist {
		if len(names) == 0 || slices.Contains(names, name) {
			v.Hist[name] = cloneHistogram(h)
		}
	}
	return v
}

// eventsPerS returns the event rate between the newest Delta and the
// oldest one in the ring that is at least rateWindow older (or the oldest
// kept). The caller holds mu.
func (l *LiveState) eventsPerS() float64 {
	if l.rateN < 2 {
		return 0
	}
	n := min(l.rateN, len(l.rate))
	newest := l.rate[(l.rateN-1)%len(l.rate)]
	from := l.rate[(l.rateN-n)%len(l.rate)]
	for k := l.rateN - 2; k >= l.rateN-n; k-- {
		p := l.rate[k%len(l.rate)]
		from = p
		if newest.at-p.at >= rateWindow {
			break
		}
	}
	if dt := newest.at - from.at; dt > 0 {
		return float64(newest.events-from.events) / dt.Seconds()
	}
	return 0
}

// countersFromDelta builds a File's Counters from summed DeltaCounters and
// class maps (copied; never nil).
func countersFromDelta(s DeltaCounters, errs, att, enc map[string]int64) Counters {
	cp := func(m map[string]int64) map[string]int64 {
		out := make(map[string]int64, len(m))
		for k, n := range m {
			out[k] = n
		}
		return out
	}
	return Counters{
		StreamsStarted: s.StreamsStarted, StreamsOK: s.StreamsOK,
		StreamsFailed: s.StreamsFailed, Aborted: s.Aborted, Cancelled: s.Cancelled,
		CutAfterEvents: s.CutAfterEvents, Attempts: s.Attempts,
		StreamsReconnected: s.StreamsReconnected, Events: s.Events,
		ContentEvents: s.ContentEvents, Bytes: s.Bytes, Tokens: s.Tokens,
		Comments: s.Comments, Reconnects: s.Reconnects, Redirects: s.Redirects,
		IDsLost: s.IDsLost, IDsDuplicated: s.IDsDuplicated,
		ArrivalsDropped: s.ArrivalsDropped,
		Errors:          cp(errs), AttemptErrors: cp(att), ContentEncoding: cp(enc),
	}
}

// cloneHistogram returns a copy of h.
func cloneHistogram(h *Histogram) *Histogram {
	c := NewHistogram()
	_ = c.Merge(h) // same geometry, an empty target: cannot drop values
	return c
}

// MergeViews sums the LiveViews of the shards (or workers) of one run into
// one: counters, errors and histograms add up, Active adds up, Elapsed and
// LagP99 are the largest, Done only when every view is done. Shard is
// "merged". The inputs are not changed.
func MergeViews(views ...LiveView) LiveView {
	out := LiveView{Shard: "merged", Hist: map[string]*Histogram{}, Done: len(views) > 0}
	var sum DeltaCounters
	var errs, att, enc map[string]int64
	for _, v := range views {
		out.Seq += v.Seq
		out.Missed += v.Missed
		out.Elapsed = max(out.Elapsed, v.Elapsed)
		out.LagP99 = max(out.LagP99, v.LagP99)
		out.Active += v.Active
		out.Done = out.Done && v.Done
		out.EventsPerS += v.EventsPerS
		sum.add(deltaOf(v.Counters, v.FailedAttempts))
		addKeyed(&errs, v.Counters.Errors)
		addKeyed(&att, v.Counters.AttemptErrors)
		addKeyed(&enc, v.Counters.ContentEncoding)
		for name, h := range v.Hist {
			c := out.Hist[name]
			if c == nil {
				c = NewHistogram()
				out.Hist[name] = c
			}
			_ = c.Merge(h) // same geometry: drops only past MaxInt64 values
		}
	}
	out.Counters = countersFromDelta(sum, errs, att, enc)
	out.FailedAttempts = sum.FailedAttempts
	return out
}

// deltaOf returns a File's scalar Counters as DeltaCounters.
func deltaOf(c Counters, failedAttempts int64) DeltaCounters {
	return DeltaCounters{
		StreamsStarted: c.StreamsStarted, Attempts: c.Attempts, StreamsOK: c.StreamsOK,
		StreamsFailed: c.StreamsFailed, Aborted: c.Aborted, Cancelled: c.Cancelled,
		CutAfterEvents: c.CutAfterEvents, StreamsReconnected: c.StreamsReconnected,
		Events: c.Events, ContentEvents: c.ContentEvents, Bytes: c.Bytes,
		Tokens: c.Tokens, Comments: c.Comments, Reconnects: c.Reconnects,
		Redirects: c.Redirects, IDsLost: c.IDsLost, IDsDuplicated: c.IDsDuplicated,
		ArrivalsDropped: c.ArrivalsDropped, FailedAttempts: failedAttempts,
	}
}

// Snapshot returns the view as the aggregator's Snapshot, for the progress
// view: totals, the recent event rate, ttft percentiles over the run so
// far and the schedule lag. TickErrors is not known from Deltas (0).
func (v LiveView) Snapshot() Snapshot {
	c := v.Counters
	s := Snapshot{
		Elapsed: v.Elapsed, Active: v.Active,
		Started: c.StreamsStarted, Attempts: c.Attempts,
		OK: c.StreamsOK, Failed: c.StreamsFailed, Aborted: c.Aborted, Cancelled: c.Cancelled,
		Reconnects: c.Reconnects, Dropped: c.ArrivalsDropped,
		Events: c.Events, Tokens: c.Tokens, Bytes: c.Bytes,
		Errors: v.FailedAttempts, Redirects: c.Redirects,
		EventsPerS: v.EventsPerS, LagP99: v.LagP99, Done: v.Done,
	}
	if h := v.Hist[scenarios.TTFT.String()]; h != nil {
		s.TTFTP50, s.TTFTP99 = h.Quantile(0.50), h.Quantile(0.99)
	}
	if h := v.Hist[scenarios.Queue.String()]; h != nil {
		s.LagP99Run = h.Quantile(0.99)
	}
	return s
}

// deltaHist is a histogram in a Delta's JSON encoding: the HdrHistogram
// V2 compressed encoding plus the out-of-range count it does not carry.
type deltaHist struct {
	HDR        string `json:"hdr"`
	OutOfRange int64  `json:"out_of_range,omitempty"`
}

// MaxDeltaMetrics bounds the histograms a decoded Delta may carry: the
// metrics ssebench knows.
const MaxDeltaMetrics = int(scenarios.NumMetrics)

// MarshalJSON encodes d, histograms included (HdrHistogram V2 compressed,
// base64, with their out-of-range counts), for a pipe to a parent process.
func (d *Delta) MarshalJSON() ([]byte, error) {
	var hist map[string]deltaHist
	if len(d.Hist) > 0 {
		hist = make(map[string]deltaHist, len(d.Hist))
		for n, h := range d.Hist {
			if h == nil {
				continue
			}
			enc, err := h.Encode()
			if err != nil {
				return nil, fmt.Errorf("delta %d: metric %s: %w", d.Seq, n, err)
			}
			hist[n] = deltaHist{HDR: enc, OutOfRange: h.OutOfRange()}
		}
	}
	return json.Marshal(struct {
		*deltaCore
		Hist map[string]deltaHist `json:"hist,omitempty"`
	}{(*deltaCore)(d), hist})
}

// deltaCore is Delta without its methods, for the JSON codec.
type deltaCore Delta

// UnmarshalJSON decodes a Delta written by MarshalJSON. It rejects unknown
// metric names, more than MaxDeltaMetrics histograms, negative counters and
// histograms that do not decode; a histogram's encoding is decoded into
// sparse storage first (see DecodeHistogram), so hostile input cannot make
// it allocate more than one standard histogram per metric.
func (d *Delta) UnmarshalJSON(b []byte) error {
	var w struct {
		*deltaCore
		Hist map[string]deltaHist `json:"hist"`
	}
	var core deltaCore
	w.deltaCore = &core
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("delta: %w", err)
	}
	nd := Delta(core)
	if err := nd.check(); err != nil {
		return err
	}
	if len(w.Hist) > MaxDeltaMetrics {
		return fmt.Errorf("delta %d: %d histograms, at most %d metrics exist", nd.Seq, len(w.Hist), MaxDeltaMetrics)
	}
	for name, wh := range w.Hist {
		if _, ok := scenarios.ParseMetric(name); !ok {
			return fmt.Errorf("delta %d: unknown metric %q", nd.Seq, name)
		}
		if wh.OutOfRange < 0 {
			return fmt.Errorf("delta %d: metric %s: negative out_of_range", nd.Seq, name)
		}
		h, err := DecodeHistogram(wh.HDR)
		if err != nil {
			return fmt.Errorf("delta %d: metric %s: %w", nd.Seq, name, err)
		}
		h.outOfRange = wh.OutOfRange
		if nd.Hist == nil {
			nd.Hist = map[string]*Histogram{}
		}
		nd.Hist[name] = h
	}
	*d = nd
	return nil
}

// errNegative is wrapped when a decoded Delta has a negative count.
var errNegative = errors.New("negative count")

// check rejects a decoded Delta's negative counts and over-long keys.
func (d *Delta) check() error {
	if d.First > d.Seq {
		return fmt.Errorf("delta %d: first %d is past seq", d.Seq, d.First)
	}
	c := d.Counters
	for _, v := range []int64{
		c.StreamsStarted, c.Attempts, c.StreamsOK, c.StreamsFailed, c.Aborted,
		c.Cancelled, c.CutAfterEvents, c.StreamsReconnected, c.Events,
		c.ContentEvents, c.Bytes, c.Tokens, c.Comments, c.Reconnects,
		c.Redirects, c.IDsLost, c.IDsDuplicated, c.ArrivalsDropped, c.FailedAttempts,
		d.Active, int64(d.Elapsed), int64(d.LagP99),
	} {
		if v < 0 {
			return fmt.Errorf("delta %d: %w", d.Seq, errNegative)
		}
	}
	for _, m := range []map[string]int64{d.Errors, d.AttemptErrors, d.ContentEncoding} {
		if len(m) > maxDeltaKeys {
			return fmt.Errorf("delta %d: %d class keys, at most %d", d.Seq, len(m), maxDeltaKeys)
		}
		for k, n := range m {
			if n < 0 || len(k) > maxDeltaKeyLen || strings.ContainsAny(k, "\n\r") {
				return fmt.Errorf("delta %d: bad class entry %q", d.Seq, truncateKey(k))
			}
		}
	}
	return nil
}

// Bounds of a decoded Delta's class maps: error classes, HTTP statuses
// (100..999) and encodings together stay far below them.
const (
	maxDeltaKeys   = 1024
	maxDeltaKeyLen = 64
)

// truncateKey shortens a key for an error message.
func truncateKey(k string) string {
	if len(k) > maxDeltaKeyLen {
		return k[:maxDeltaKeyLen] + "..."
	}
	return k
}
