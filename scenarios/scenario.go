// Package scenarios defines what ssebench runs: the Scenario (loaded from
// YAML, validated with every problem reported at once, each with file:line),
// the event Classifier the swarm calls for every dispatched event, threshold
// expressions, sharding, and the Result record that flows from the swarm to
// the reports.
//
// A Scenario is plain data. Load or Parse a file, or start from Default;
// change exported fields (CLI flags override the file) and call Validate
// again before running it.
package scenarios

import (
	"net/netip"
	"time"
)

// Scenario is one load test: what to request, how to read the stream, how
// much load to offer and for how long, and which gates decide pass or fail.
// The zero value is not useful: use Load, Parse or Default, which merge the
// defaults. A Scenario is not safe for concurrent mutation; treat it as
// read-only once a run has started.
type Scenario struct {
	// Name is a label for reports. Defaults to the file name without its
	// extension.
	Name string

	// File is the path the scenario was read from ("" for Default): problems
	// are reported against it and "@file" bodies are resolved relative to it.
	File string

	// Request is the stream request. Its fields sit at the top level of the
	// YAML file (url, method, headers, body).
	Request

	// Setup, when not nil, is a request made before each stream (once per
	// stream, not per reconnect) whose JSON response feeds template values
	// of the stream request (the POST-then-GET session pattern).
	Setup *Setup

	// Events says which events are content, terminal, errors or metadata.
	Events Events

	// Load is the load model: closed (connections) or open (arrival rate).
	Load Workload

	// Duration is how long load is offered. With Load.Stages it defaults to
	// the sum of the stage durations; when longer, the last stage's target
	// holds; when shorter, the stages are cut.
	Duration time.Duration

	// Grace is how long streams still open when Duration ends may run on
	// before they are cancelled (and counted as neither ok nor failed).
	Grace time.Duration

	// Deadlines bound each stream attempt.
	Deadlines Deadlines

	// Reconnect is the reconnect policy for streams that end prematurely.
	Reconnect Reconnect

	// Abort, when Fraction > 0, ends a fraction of streams on purpose (the
	// "stop generating" button).
	Abort Abort

	// Thresholds are the pass/fail gates, evaluated by reports.
	Thresholds []Threshold

	// HTTP2 makes the client negotiate HTTP/2 (h2 over TLS via ALPN, h2c
	// prior knowledge over plain http). false means HTTP/1.1 only.
	HTTP2 bool

	// Insecure skips TLS certificate verification. Opt-in only.
	Insecure bool

	// DisableCompression (YAML compression: off) sends no Accept-Encoding
	// and refuses compressed responses (class content_type). By default
	// the stream request asks, as a browser does, for
	// AcceptEncoding, and the swarm decodes the response as it streams,
	// so a server or proxy that holds or batches a compressed body shows
	// as the delay a browser sees.
	DisableCompression bool

	// SourceIPs are local addresses to dial from, used round-robin by
	// stream number, to lift the ~28k ephemeral-port ceiling per source
	// address. Empty means the system's choice.
	SourceIPs []netip.Addr

	// MaxLine is the longest SSE line accepted, in bytes (default, and
	// when 0, DefaultMaxLine). Exceeding it fails the stream with class
	// parse.
	MaxLine int

	// MaxEvent is the largest data of one event accepted, in bytes
	// (default, and when 0, DefaultMaxEvent). Exceeding it fails the
	// stream with class parse.
	MaxEvent int

	// ShardIndex and ShardCount identify this scenario's shard of a split
	// run, 1 <= ShardIndex <= ShardCount (1/1 when not sharded). Set by Shard.
	ShardIndex, ShardCount int

	// Getenv reads environment variables for {{env.NAME}} template values,
	// in Validate and when requests are built; nil means os.Getenv.
	Getenv func(string) string

	// pos maps a YAML path (e.g. "load.rate", "thresholds[2]") to the line
	// it was read from, so Validate can report file:line. Paths changed after
	// loading keep their old line, which is still where the user looks.
	pos map[string]int

	// formProbs are the problems Decode found (unknown keys, bad values):
	// Validate reports them with its own.
	formProbs []Problem
}

// Request is an HTTP request whose URL, header values and body may hold
// template values: {{stream}}, {{shard}}, {{random}}, {{env.NAME}} and,
// after a Setup, the names it extracts. See Template.
type Request struct {
	// Method is the HTTP method. Defaults to GET, or POST when Body is set.
	Method string

	// URL is the absolute http or https URL (a template).
	URL string

	// Headers are sent in order (names may repeat). The stream request
	// adds Accept: text/event-stream, Cache-Control: no-cache and (unless
	// compression is off) Accept-Encoding: gzip, deflate, br, zstd, as a
	// browser's EventSource does, unless set here.
	Headers []Header

	// Body is the request body (a template). In YAML it is a string, a
	// mapping or sequence (sent as JSON), or "@path" naming a file relative
	// to the scenario file, whose contents are read at load time.
	Body string

	// BodyFile is the path Body was read from ("" for an inline body), for
	// reports only.
	BodyFile string
}

// Header is one request header. Value is a template.
type Header struct {
	// Name is the header name as written (sent canonicalised).
	Name string
	// Value is the header value, a Template.
	Value string
}

// Setup is a request made before each stream whose JSON response provides
// template values for the stream request. A response status other than 2xx,
// or a missing field, fails the stream with class http_status or other.
type Setup struct {
	Request

	// Extract maps a template name to a dotted path into the JSON response,
	// e.g. {"session": "id"} or {"tok": "data.token"}; array elements are
	// addressed by index ("items.0.id"). Values are used as strings
	// (numbers and booleans in their JSON spelling).
	Extract map[string]string
}

// Preset names a built-in set of event rules.
type Preset string

// The presets.
const (
	// PresetGeneric fits any SSE endpoint, and is the default: every event
	// with non-empty data is content, no event type is terminal, error or
	// metadata, so a clean end of the body ends the stream ok and an
	// abrupt one (a reset, a body cut before its end, an event cut off by
	// the end of the body) fails it or reconnects. Tokens are content
	// events.
	PresetGeneric Preset = "generic"
	// PresetEventSource fits the mock's /v1/stream convention (and servers
	// that follow it): terminal [finish], error [error], metadata [info];
	// every other event with non-empty data is content, and a clean end
	// of the body before a finish event is eof_before_terminal.
	PresetEventSource Preset = "eventsource"
	// PresetOpenAI fits OpenAI-compatible chat/completions streams: content
	// is a chunk whose choices[].delta has non-empty content,
	// reasoning_content/reasoning or tool_calls (or choices[].text for the
	// legacy completions API); terminal is data [DONE]; tokens come from
	// usage.completion_tokens when present; a chunk with a top-level
	// "error" object is an error.
	PresetOpenAI Preset = "openai"
	// PresetCustom starts from empty lists: the scenario names them all.
	PresetCustom Preset = "custom"
)

// ParsePreset returns the preset named s.
func ParsePreset(s string) (Preset, bool) {
	switch p := Preset(s); p {
	case PresetGeneric, PresetEventSource, PresetOpenAI, PresetCustom:
		return p, true
	}
	return "", false
}

// Events says what dispatched events mean. Lists left nil take the Preset's
// defaults; an empty non-nil list means "none". Event types are compared
// exactly; an event without an event: field has type "message".
type Events struct {
	// Preset is the base rule set. Defaults to PresetGeneric.
	Preset Preset

	// Content lists the event types that are content. Empty means every
	// type not listed in Terminal, Error or Meta is content when its data
	// is non-empty (for PresetOpenAI: when its delta has content).
	Content []string

	// Terminal lists the event types that end a stream successfully.
	Terminal []string

	// Error lists the event types that end a stream with class
	// terminal_error_event.
	Error []string

	// Meta lists event types that are neither content nor terminal (their
	// data is not counted as tokens).
	Meta []string

	// TerminalData lists data payloads that end the stream successfully
	// whatever the event type, e.g. "[DONE]".
	TerminalData []string
}

// Model is the load model.
type Model string

// The load models.
const (
	// Closed keeps a number of streams open: when one ends, the next starts
	// (Load.Connections, ramped by Stages).
	Closed Model = "closed"
	// Open starts streams at an arrival rate whatever the server's speed
	// (Load.Rate, ramped by Stages); arrivals with no free slot are dropped
	// and counted, never delayed.
	Open Model = "open"
)

// Arrival is the spacing of arrivals in the open model.
type Arrival string

// The arrival processes.
const (
	// Constant spaces arrivals evenly (1/rate apart).
	Constant Arrival = "constant"
	// Poisson draws exponential inter-arrival times (seeded, reproducible).
	Poisson Arrival = "poisson"
)

// Workload is the load model: how many streams, how fast, how ramped.
type Workload struct {
	// Model is Closed or Open. Defaults to Open when Rate is set, else Closed.
	Model Model

	// Connections is the closed model's number of concurrent streams, or
	// its level at time 0 when Stages are given. Defaults to 1 (0 with
	// Stages).
	Connections int

	// Rate is the open model's arrival rate in streams per second, or its
	// rate at time 0 when Stages are given. In YAML: "100/s", "6000/m".
	Rate float64

	// Arrival is the open model's arrival process. Defaults to Constant.
	Arrival Arrival

	// Seed seeds every pseudo-random choice of the run: Poisson arrivals,
	// {{random}}, which streams the Abort rule picks. Defaults to 1.
	Seed uint64

	// Stages ramp the level linearly from the previous stage's target (or
	// Connections / Rate at time 0) to each stage's target over its
	// duration.
	Stages []Stage

	// MaxConnections caps the open model's streams in flight; an arrival
	// finding the cap reached is dropped (counter arrivals_dropped). 0 means
	// the swarm's own limit (file descriptors).
	MaxConnections int

	// DialRate bounds how fast the closed model opens new connections,
	// per second, over the whole run (Shard divides it among the shards);
	// DialBurst connections may open at once before the rate applies.
	// 0 means DefaultDialRate and DefaultDialBurst.
	DialRate  float64
	DialBurst int

	// Offset, in [0, 1), delays this shard's open-model arrivals by that
	// fraction of its own inter-arrival interval, so that the shards of a
	// constant or staged schedule interleave into exactly the unsharded
	// schedule. Set by Shard; 0 otherwise.
	Offset float64
}

// Stage is one segment of a ramp.
type Stage struct {
	// Duration is the stage's length.
	Duration time.Duration
	// Target is the level reached at the end of the stage: connections
	// (closed model, an integer) or arrivals per second (open model).
	Target float64
}

// Deadlines bound each stream attempt; 0 disables a deadline.
type Deadlines struct {
	// FirstByte bounds start -> response headers (class timeout_first_byte).
	// Default 30s.
	FirstByte time.Duration
	// Idle bounds the time between two reads that return bytes, comments
	// included (class timeout_idle). Default 60s.
	Idle time.Duration
	// Total bounds start -> end of the attempt (class timeout_total).
	// Default 0 (none).
	Total time.Duration
}

// Reconnect is the policy for a stream that ends prematurely (a reset, a
// body cut before its end, an idle timeout, a clean end before an expected
// terminal event) and, with AfterCleanEnd, after a clean end. A non-200 status, a wrong Content-Type or
// HTTP 204 never reconnects (the SSE processing model).
type Reconnect struct {
	// Max is the number of reconnects allowed per stream; 0 disables
	// reconnecting (the default).
	Max int
	// Delay is the wait before reconnecting when the server sent no retry
	// field, or when HonorRetry is false. Default 3s.
	Delay time.Duration
	// HonorRetry makes the server's retry: field set the delay. Default true.
	HonorRetry bool
	// LastEventID sends the Last-Event-ID header with the last event ID seen
	// (when not empty). Default true.
	LastEventID bool
	// AfterCleanEnd reconnects after a clean end of the body, as a browser's
	// EventSource does, when the events have no terminal rule (a live
	// feed whose server closes connections now and then). Default false:
	// a clean end ends the stream ok, one stream is one request (a finite
	// endpoint). Reconnects still count against Max.
	AfterCleanEnd bool
}

// Abort ends a deterministic fraction of streams on purpose, as a user
// pressing "stop generating" would: the client closes the stream after
// AfterEvents content events or After time since the start, whichever comes
// first. Aborted attempts are counted (counter aborted), not errors.
type Abort struct {
	// Fraction of streams that abort, in [0, 1]. 0 disables the rule.
	Fraction float64
	// AfterEvents aborts after this many content events (0: no event limit).
	AfterEvents int
	// After aborts this long after the attempt's start (0: no time limit).
	After time.Duration
}
