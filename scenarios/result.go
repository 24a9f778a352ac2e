package scenarios

import (
	"sync"
	"time"
)

// Metric names a latency metric (the README's "What is measured"). Its String form is the name
// used in thresholds, reports and the JSON result.
type Metric uint8

// The latency metrics. All are measured on the monotonic clock.
const (
	// Connect is the dial (+TLS) time of a new connection, one value per
	// connection dialled.
	Connect Metric = iota
	// TTFB is the stream's first start -> its first response headers, once
	// per stream (on a reconnect, the first start is still attempt 0's).
	TTFB
	// TTFE is the stream's first start -> its first event dispatched, once
	// per stream.
	TTFE
	// TTFT is the stream's first start -> its first content event, once
	// per stream.
	TTFT
	// Gap is the time between consecutive dispatched events of one
	// stream, across reconnects (the wait a reader sees).
	Gap
	// ITL is the time between consecutive content events of one stream,
	// across reconnects.
	ITL
	// TPOT is (e2e - ttft) / (output tokens - 1) over the whole stream,
	// once per stream that ends ok.
	TPOT
	// E2E is the stream's first start -> its final end (terminal event,
	// clean end of the body, or 204), reconnect waits included, once per
	// stream that ends ok.
	E2E
	// Queue is sched -> the start of the stream (open model: how late the
	// request went out), once per stream.
	Queue
	// TTFTSched is sched -> first content event, once per stream.
	TTFTSched
	// E2ESched is sched -> the final end, once per stream that ends ok.
	E2ESched
	// ResumeGap is, per resume that dispatched an event, the time from the
	// end of the attempt that dropped to the first event dispatched after
	// the reconnect: the reconnection delay, the dial, the new response's
	// headers, failed attempts in between, and the wait for the event.
	ResumeGap
	// NumMetrics is the number of metrics; not a metric.
	NumMetrics
)

var metricNames = [NumMetrics]string{
	Connect: "connect", TTFB: "ttfb", TTFE: "ttfe", TTFT: "ttft", Gap: "gap", ITL: "itl",
	TPOT: "tpot", E2E: "e2e", Queue: "queue", TTFTSched: "ttft_sched", E2ESched: "e2e_sched",
	ResumeGap: "resume_gap",
}

// String returns the metric's name, e.g. "ttft".
func (m Metric) String() string {
	if m < NumMetrics {
		return metricNames[m]
	}
	return "metric?"
}

// ParseMetric returns the metric named s.
func ParseMetric(s string) (Metric, bool) {
	for m, n := range metricNames {
		if n == s {
			return Metric(m), true
		}
	}
	return 0, false
}

// ErrorClass classifies why a stream attempt failed.
type ErrorClass uint8

// The error classes. ErrNone means the attempt did not fail.
const (
	ErrNone ErrorClass = iota
	// ErrDial: the TCP connection could not be made.
	ErrDial
	// ErrTLS: the TLS handshake failed.
	ErrTLS
	// ErrHTTPStatus: the response status was not 200 (Result.Status holds
	// it), or a redirect could not be followed (more than 10, or to a URL
	// that is not http or https).
	ErrHTTPStatus
	// ErrContentType: the Content-Type was not text/event-stream, or the
	// Content-Encoding is one the swarm does not decode or did not ask
	// for (compression off).
	ErrContentType
	// ErrTimeoutFirstByte: no response headers within the first-byte deadline.
	ErrTimeoutFirstByte
	// ErrTimeoutIdle: no bytes within the idle deadline.
	ErrTimeoutIdle
	// ErrTimeoutTotal: the stream outlived its total deadline.
	ErrTimeoutTotal
	// ErrParse: a parser limit was exceeded (line or event too large), or
	// the compressed body does not decode.
	ErrParse
	// ErrEOFMidEvent: the stream ended before an event's empty line.
	ErrEOFMidEvent
	// ErrEOFBeforeTerminal: the body ended cleanly, between events, but
	// before the terminal event the scenario expects (a truncated
	// generation; the stream may resume by reconnecting).
	ErrEOFBeforeTerminal
	// ErrReset: the connection broke before or during the body: a reset,
	// a chunked body without its last chunk, a body shorter than its
	// Content-Length, a compressed body cut before its end, a response
	// head over 1 MiB.
	ErrReset
	// ErrTerminalErrorEvent: the server sent an error event.
	ErrTerminalErrorEvent
	// ErrOther: anything else (request could not be built, ...).
	ErrOther
	// NumErrorClasses is the number of classes; not a class.
	NumErrorClasses
)

var errorClassNames = [NumErrorClasses]string{
	ErrNone: "", ErrDial: "dial", ErrTLS: "tls", ErrHTTPStatus: "http_status",
	ErrContentType: "content_type", ErrTimeoutFirstByte: "timeout_first_byte",
	ErrTimeoutIdle: "timeout_idle", ErrTimeoutTotal: "timeout_total", ErrParse: "parse",
	ErrEOFMidEvent: "eof_mid_event", ErrEOFBeforeTerminal: "eof_before_terminal", ErrReset: "reset",
	ErrTerminalErrorEvent: "terminal_error_event", ErrOther: "other",
}

// String returns the class's name as used in reports, e.g. "timeout_idle".
func (c ErrorClass) String() string {
	if c < NumErrorClasses {
		return errorClassNames[c]
	}
	return "error?"
}

// Kind says what happened to a stream attempt when a Result was sent.
type Kind uint8

// The kinds of Result.
const (
	// KindStart is sent when an attempt begins, just before its request is
	// written: it carries Sched, Start and, on attempt 0 of an open-model
	// stream, the Queue delay. Attempt > 0 marks a reconnect.
	KindStart Kind = iota + 1
	// KindProgress carries what an open stream measured since its previous
	// Result: the first-event metrics once they are known, and batches of
	// gaps. A stream sends one when its first content event arrives (so live
	// views see TTFT at once), whenever its gap batch is full, and when
	// 250 ms passed since its last send with events unsent (so live event
	// rates stay current on slow streams).
	KindProgress
	// KindEnd is the last Result of one attempt (one connection): it carries
	// the end-of-stream metrics and, when the attempt failed, the error.
	KindEnd
	// KindDropped records an arrival the open-model generator could not
	// start (no free worker): Sched holds when it was due.
	KindDropped
)

// BatchSize is how many runs of gaps (and of ITLs) one Result carries at
// most.
const BatchSize = 64

// A Run is a run of consecutive gaps (or ITLs) of one stream that are
// equal in whole microseconds, the resolution of every histogram, packed
// in a word: the count in the top runCountBits bits, the microseconds as a
// signed 40-bit value below (clamped to ±2^39 µs, 6.4 days, well past the
// histograms' 1 h ceiling, so a clamped value is out of range either way).
// A saturated stream reads many events at once, and every event of a read
// but its first has the same gap (0): its batch holds a run per read, not
// a value per event, so a Result carries thousands of events' gaps and is
// sent far less often.
type Run uint64

const (
	runCountBits = 24
	runMicroBits = 64 - runCountBits
	runMaxCount  = 1<<runCountBits - 1
	runMaxMicros = 1<<(runMicroBits-1) - 1
	runMicroMask = 1<<runMicroBits - 1
	runOne       = 1 << runMicroBits           // a count of one, to add to a Run
	runFull      = runMaxCount << runMicroBits // a Run at least this is at its largest count
)

// runOf returns the run of n values of us microseconds (us already
// clamped, 1 <= n <= runMaxCount).
func runOf(us int64, n uint64) Run { return Run(n<<runMicroBits | uint64(us)&runMicroMask) }

// clampMicros returns d in whole microseconds (truncated, as the
// histograms record it), clamped to what a Run holds.
func clampMicros(d time.Duration) int64 {
	return min(max(int64(d/time.Microsecond), -runMaxMicros-1), runMaxMicros)
}

// Micros returns the run's value in microseconds.
func (r Run) Micros() int64 { return int64(uint64(r)<<runCountBits) >> runCountBits }

// Count returns how many values the run holds.
func (r Run) Count() int64 { return int64(uint64(r) >> runMicroBits) }

// Duration returns the run's value as a Duration.
func (r Run) Duration() time.Duration { return time.Duration(r.Micros()) * time.Microsecond }

// Result is the record that flows one way, from the swarm to the reports
// aggregator, for each happening of a stream attempt: progress (first
// event, batches of gaps) and the end of the attempt. Results are pooled:
// get one with NewResult, and the consumer calls Release when done. The
// producer must not touch a Result after sending it.
//
// A stream is the unit of every metric and an attempt (one connection) a
// detail: the once-per-stream metrics (see Metric) are measured from the
// stream's first start and sent once, whichever attempt they fall in.
// Values and the Gaps/ITLs batches hold only what was measured since the
// previous Result of the same stream; counters are deltas likewise, so the
// aggregator simply adds them up.
type Result struct {
	Kind    Kind
	Stream  uint64 // stream number, unique within the run (shard offset included)
	Attempt uint32 // 0 for the first connection, n for the n-th reconnect

	// Sched is when the pacer wanted the stream to start (open model); it
	// equals the first attempt's Start in the closed model. Start is when
	// this attempt's request was written. Both read the monotonic clock.
	Sched time.Time
	Start time.Time

	// Has tells which entries of Values were measured in this record.
	Has    MetricSet
	Values [NumMetrics]time.Duration

	gaps, itls runBatch

	Events   int64 // events dispatched (delta)
	Content  int64 // content events (delta)
	Bytes    int64 // body bytes as received: before decompression, after HTTP framing (delta)
	Comments int64 // comment lines (heartbeats) (delta)
	IDsLost  int64 // ids skipped after a resume (delta)
	IDsDup   int64 // ids seen again after a resume (delta)
	// Tokens are output tokens (delta), credited as content events arrive:
	// each Result carries its content events as tokens. The Final Result
	// of a stream also carries the correction to the server's reported
	// usage when there was one (the last report of any attempt), so the
	// sum over a stream is its usage when reported, else its content
	// events over all attempts; the correction may be negative.
	Tokens int64
	// Redirects is the number of redirects followed (delta).
	Redirects int64

	// Encoding is the response's Content-Encoding, set on the KindEnd of
	// every attempt that received response headers (EncNone otherwise).
	Encoding Encoding

	// Err is the failure class of the attempt (KindEnd only); ErrNone when
	// the attempt ended cleanly. A failed attempt that is not Final was
	// followed by a reconnect; a Final one failed the stream. Status holds
	// the HTTP status for ErrHTTPStatus.
	Err    ErrorClass
	Status int
	// Detail is a stable message that groups failures: no addresses of the
	// client, stream numbers, ids or times in it, secrets scrubbed, e.g.
	// "HTTP 401 Unauthorized". Sample is one example of the evidence, at
	// most MaxSample bytes: the first bytes of the response body for
	// http_status and content_type, the full error text for tls, dial and
	// reset, the event's data for terminal_error_event. Both are allocated
	// only on failure (Detail also marks a cancelled attempt).
	Detail string
	Sample string

	// Aborted marks an attempt the scenario's abort rule ended on purpose
	// ("stop generating"): not an error.
	Aborted bool
	// Cancelled marks an attempt the swarm cut because the run ended (its
	// duration and grace passed, a closed-model ramp lowered the level, or
	// the run was interrupted): neither ok nor failed.
	Cancelled bool
	// Final marks the last Result of the stream (no further attempt).
	Final bool
}

// MaxSample is the most bytes Result.Sample holds.
const MaxSample = 512

// Encoding is a response's Content-Encoding.
type Encoding uint8

// The encodings. EncNone means no response headers arrived.
const (
	EncNone Encoding = iota
	EncIdentity
	EncGzip
	EncDeflate
	EncBrotli
	EncZstd
	// EncOther is an encoding the swarm does not decode (the attempt
	// failed).
	EncOther
	// NumEncodings is the number of encodings; not an encoding.
	NumEncodings
)

var encodingNames = [NumEncodings]string{
	EncNone: "", EncIdentity: "identity", EncGzip: "gzip", EncDeflate: "deflate",
	EncBrotli: "br", EncZstd: "zstd", EncOther: "other",
}

// String returns the encoding's Content-Encoding token ("identity",
// "gzip", "deflate", "br", "zstd", "other"), or "" for EncNone.
func (e Encoding) String() string {
	if e < NumEncodings {
		return encodingNames[e]
	}
	return "other"
}

var resultPool = sync.Pool{New: func() any { return new(Result) }}

// NewResult returns a zeroed Result from the pool. Safe for concurrent use.
func NewResult() *Result { return resultPool.Get().(*Result) }

// Release zeroes r and returns it to the pool. The caller must not use r
// afterwards.
func (r *Result) Release() {
	*r = Result{}
	resultPool.Put(r)
}

// Set records a measured value of metric m.
func (r *Result) Set(m Metric, d time.Duration) {
	r.Values[m] = d
	r.Has |= 1 << m
}

// Get returns the value of metric m and whether it was measured.
func (r *Result) Get(m Metric) (time.Duration, bool) {
	return r.Values[m], r.Has&(1<<m) != 0
}

// runBatch is a batch of runs (a Result's gaps, or its ITLs).
type runBatch struct {
	runs [BatchSize]Run
	n    uint8
	last time.Duration // the last value added, exactly, for extend
}

// extend is add's common case, small enough to inline: when d equals the
// last value added to the nanosecond (the events of one read) and its run
// has room, it counts d in that run and reports true; else it does nothing.
func (b *runBatch) extend(d time.Duration) bool {
	if k := b.n; k > 0 && d == b.last && b.runs[k-1] < runFull {
		b.runs[k-1] += runOne
		return true
	}
	return false
}

// add adds d, clamped to what a Run holds: it extends the last run when
// that holds the same value in microseconds and has room, else starts one
// (unless the batch is full). It reports whether the batch is full now.
func (b *runBatch) add(d time.Duration) (full bool) {
	b.last = d
	us := clampMicros(d)
	if k := int(b.n) - 1; k >= 0 && b.runs[k].Micros() == us && b.runs[k] < runFull {
		b.runs[k] += runOne
		return false
	}
	if int(b.n) < BatchSize {
		b.runs[b.n] = runOf(us, 1)
		b.n++
	}
	return int(b.n) == BatchSize
}

// AddGap adds one gap to the batch and reports whether the batch is now
// full (the producer should send the Result): when the gap equals the
// previous one in microseconds it extends that run, else it starts one.
func (r *Result) AddGap(d time.Duration) (full bool) { return r.gaps.add(d) }

// ExtendGap is AddGap's common case (see runBatch.extend), small enough to
// inline; when it reports false, the caller calls AddGap.
func (r *Result) ExtendGap(d time.Duration) bool { return r.gaps.extend(d) }

// AddITL adds one inter-content-event gap, as AddGap does a gap.
func (r *Result) AddITL(d time.Duration) (full bool) { return r.itls.add(d) }

// ExtendITL is AddITL's common case, as ExtendGap is AddGap's.
func (r *Result) ExtendITL(d time.Duration) bool { return r.itls.extend(d) }

// Gaps returns the gap batch as runs. The slice aliases r.
func (r *Result) Gaps() []Run { return r.gaps.runs[:r.gaps.n] }

// ITLs returns the inter-content-event batch as runs. The slice aliases r.
func (r *Result) ITLs() []Run { return r.itls.runs[:r.itls.n] }

// Values appends every value the runs hold, one per gap, to dst.
func Values(dst []time.Duration, runs []Run) []time.Duration {
	for _, r := range runs {
		for range r.Count() {
			dst = append(dst, r.Duration())
		}
	}
	return dst
}

// MetricSet is a set of Metrics, one bit each.
type MetricSet uint16
