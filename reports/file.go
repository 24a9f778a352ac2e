// Package reports turns swarm Results into HdrHistograms, summaries and
// verdicts: the aggregator, the JSON result file (schema 1), text, HTML and
// JUnit renderers, thresholds, shard merge and baseline comparison. It is
// the only package that imports hdrhistogram-go.
//
// A stream is the unit of every count: Counters.Errors counts failed
// streams by the class of their last attempt, Counters.AttemptErrors every
// failed attempt. Failure reasons are bounded whatever a server sends: per
// class at most MaxFailureMessages messages of at most MaxDetailBytes, each
// with one sample of at most MaxSampleBytes; the aggregator tracks at most
// 64 distinct messages per class while a run goes on. A run that served no
// stream (Unserved) fails closed. The generator's health (Generator) is
// judged by scenarios/health.
package reports

import (
	"encoding/json"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// SchemaVersion is the version of the JSON result File this code writes and
// reads. A reader rejects files with a different version.
const SchemaVersion = 1

// ToolName is the File's "tool" field; ReadFile rejects other tools' files.
const ToolName = "ssebench"

// File is the JSON result of a run (or of several merged shards). Every
// histogram is stored in HdrHistogram's standard V2 compressed encoding
// (base64), so files merge losslessly and any report can be rendered again.
// Latencies are milliseconds as floats with µs resolution. A File is plain
// data: not safe for concurrent mutation.
type File struct {
	Schema    int       `json:"schema"`     // SchemaVersion
	Tool      string    `json:"tool"`       // ToolName
	Version   string    `json:"version"`    // ssebench version that ran
	Started   time.Time `json:"started"`    // when load started (UTC)
	DurationS float64   `json:"duration_s"` // measured duration, seconds (merged: union of the shards' wall time)
	IntervalS float64   `json:"interval_s"` // tick length of Intervals, seconds (normally 1)
	// Plan identifies what was run: a hash of the scenario as run (flags
	// applied, secrets redacted) before --shard split it, so every shard of
	// one run carries the same plan and Merge refuses files of different
	// plans. "" in files that predate it.
	Plan        string          `json:"plan,omitempty"`
	Scenario    json.RawMessage `json:"scenario,omitempty"` // the whole plan as run (every shard's share together), secrets redacted
	Shard       string          `json:"shard"`              // "1/1", "2/4", or "merged:1/2,2/2"
	Attempt     *Attempt        `json:"attempt,omitempty"`  // which run and attempt of its shard this is, and its start offset (not in a merged File)
	Shards      []ShardSummary  `json:"shards,omitempty"`   // merged File: each shard kept, its attempt, start offset and generator health
	Environment Environment     `json:"environment"`        // where it ran

	Metrics    map[string]*MetricStats `json:"metrics"`            // latency metrics with samples, keyed by scenarios.Metric names
	Counters   Counters                `json:"counters"`           // totals
	Rates      Rates                   `json:"rates"`              // totals per second of DurationS
	Failures   []FailureClass          `json:"failures"`           // why attempts failed: per error class, the most frequent messages
	Intervals  []Interval              `json:"intervals"`          // the time series, one per tick
	Thresholds []ThresholdResult       `json:"thresholds"`         // verdicts (see Evaluate); cleared by Merge
	Degraded   bool                    `json:"degraded"`           // the load generator, not the target, limited the numbers: see Generator
	Generator  *Generator              `json:"generator"`          // the load generator's own health: the measures and the reasons behind Degraded
	Notes      []string                `json:"notes"`              // caveats for the reader, one sentence each
	Goodput    *Goodput                `json:"goodput,omitempty"`  // streams that met every SLO (capacity steps only)
	Capacity   *Capacity               `json:"capacity,omitempty"` // the capacity search's answer (ssebench capacity only)
}

// Environment describes where the run happened.
type Environment struct {
	Host         string `json:"host,omitempty"`          // host name (merged: the shards' hosts, comma-separated)
	OS           string `json:"os"`                      // runtime.GOOS
	Arch         string `json:"arch"`                    // runtime.GOARCH
	CPUs         int    `json:"cpus"`                    // logical CPUs
	GoVersion    string `json:"go_version"`              // Go toolchain that built ssebench
	FDLimit      uint64 `json:"fd_limit,omitempty"`      // open-files limit of the process
	Target       string `json:"target,omitempty"`        // the target URL (scheme, host, path, query), secrets redacted
	EmbeddedMock bool   `json:"embedded_mock,omitempty"` // the target was the in-process mock server
}

// MetricStats summarises one latency metric. Latencies are milliseconds as
// floats (µs resolution), computed from the histogram. HDR is the histogram
// (values recorded in µs, 1 µs .. 1 h, 3 significant digits) in
// HdrHistogram's V2 compressed encoding, base64: the source of truth, from
// which thresholds, merges and comparisons compute exact quantiles.
type MetricStats struct {
	Unit   string  `json:"unit"`   // "ms"
	Count  int64   `json:"count"`  // number of samples
	Min    float64 `json:"min"`    // smallest sample, ms
	Mean   float64 `json:"mean"`   // arithmetic mean, ms
	Stddev float64 `json:"stddev"` // population standard deviation, ms
	P50    float64 `json:"p50"`    // median, ms
	P90    float64 `json:"p90"`    // 90th percentile, ms
	P95    float64 `json:"p95"`    // 95th percentile, ms
	P99    float64 `json:"p99"`    // 99th percentile, ms
	P999   float64 `json:"p999"`   // 99.9th percentile, ms
	Max    float64 `json:"max"`    // largest sample, ms
	// OutOfRange counts values outside the histogram's 0 .. 1 h range
	// (clamped into it when recorded).
	OutOfRange int64  `json:"out_of_range,omitempty"`
	HDR        string `json:"hdr"` // the histogram, V2 compressed, base64
}

// Counters are the run's totals. A stream is the unit: it starts once and
// may make several attempts (connections) when it reconnects. A stream
// ends ok, failed (its last attempt failed), aborted (ended on purpose by
// the scenario's abort rule) or cancelled (cut because the run ended: its
// duration and grace passed, a ramp lowered the level, or an interrupt).
// Errors count failed streams by the class of their last attempt;
// AttemptErrors count every failed attempt, recovered by a reconnect or not.
type Counters struct {
	StreamsStarted     int64            `json:"streams_started"`     // streams started (first attempts)
	StreamsOK          int64            `json:"streams_ok"`          // streams whose last attempt ended cleanly
	StreamsFailed      int64            `json:"streams_failed"`      // streams whose last attempt failed
	Aborted            int64            `json:"aborted"`             // streams ended by the abort rule
	Cancelled          int64            `json:"cancelled"`           // streams cut because the run ended: neither ok nor failed
	CutAfterEvents     int64            `json:"cut_after_events"`    // aborted or cancelled streams that had received at least one event
	Attempts           int64            `json:"attempts"`            // stream attempts (connections) begun, reconnects included
	StreamsReconnected int64            `json:"streams_reconnected"` // streams that reconnected at least once
	Events             int64            `json:"events"`              // events dispatched
	ContentEvents      int64            `json:"content_events"`      // content events (tokens, when the server reports no usage)
	Bytes              int64            `json:"bytes"`               // response body bytes read
	Tokens             int64            `json:"tokens"`              // output tokens (per stream: the server's final usage, else content events over all attempts)
	Comments           int64            `json:"comments"`            // comment lines (heartbeats)
	Reconnects         int64            `json:"reconnects"`          // attempts after the first
	Redirects          int64            `json:"redirects"`           // redirects followed
	IDsLost            int64            `json:"ids_lost"`            // event ids skipped after a resume
	IDsDuplicated      int64            `json:"ids_duplicated"`      // event ids seen again after a resume
	ArrivalsDropped    int64            `json:"arrivals_dropped"`    // open-model arrivals that found no free worker
	Errors             map[string]int64 `json:"errors"`              // failed streams by the class of their last attempt: "dial", "http_status:503", ...
	AttemptErrors      map[string]int64 `json:"attempt_errors"`      // failed attempts by class, recovered or not (same keys)
	ContentEncoding    map[string]int64 `json:"content_encoding"`    // attempts that got response headers, by Content-Encoding: "identity", "gzip", ...
}

// Rates are totals divided by the run's duration, per second.
type Rates struct {
	EventsPerS  float64 `json:"events_per_s"`  // events per second
	StreamsPerS float64 `json:"streams_per_s"` // streams started per second
	TokensPerS  float64 `json:"tokens_per_s"`  // output tokens per second
}

// Interval is one tick (normally 1 s) of the run's time series. At is the
// nominal wall-clock end of the tick (Started + n × interval_s), so shards'
// intervals align when merged; TS is the actual end in seconds since the
// run started, which differs from n × interval_s only for a final partial
// tick (DurationS shorter than the interval). Counts are this tick's;
// latencies are milliseconds.
type Interval struct {
	TS        float64   `json:"t_s"`                 // seconds since the run started, end of tick
	At        time.Time `json:"at"`                  // nominal wall-clock end of the tick (UTC)
	DurationS float64   `json:"duration_s"`          // length of this tick, seconds
	Active    int64     `json:"active"`              // attempts open at the end of the tick
	Started   int64     `json:"started"`             // streams started in the tick
	Events    int64     `json:"events"`              // events dispatched in the tick
	Tokens    int64     `json:"tokens"`              // output tokens counted in the tick
	Errors    int64     `json:"errors"`              // attempts that failed in the tick
	TTFTP50   float64   `json:"ttft_p50"`            // this tick's ttft median, ms
	TTFTP99   float64   `json:"ttft_p99"`            // this tick's ttft p99, ms
	LagP99    float64   `json:"lag_p99"`             // schedule lag (queue) p99, ms
	TTFTHDR   string    `json:"ttft_hdr,omitempty"`  // this tick's ttft histogram, for exact merges
	QueueHDR  string    `json:"queue_hdr,omitempty"` // this tick's queue histogram, for exact merges
}

// ThresholdResult is the verdict of one threshold expression.
type ThresholdResult struct {
	Expr     string         `json:"expr"`            // as written, e.g. "ttft.p99 < 500ms"
	Observed float64        `json:"observed"`        // the statistic, in Unit (0 when Error is set)
	Unit     scenarios.Unit `json:"unit,omitempty"`  // "ms", "/s", "fraction" or "" (a count)
	Pass     bool           `json:"pass"`            // the threshold held
	Error    string         `json:"error,omitempty"` // why nothing was observed, e.g. "no samples" (then Pass is false)
}
