// Package reports turns swarm Results into HdrHistograms, summaries and
// verdicts: the aggregator, the JSON result file (schema 1, DESIGN.md §4),
// text, HTML and JUnit renderers, thresholds, shard merge and baseline
// comparison. It is the only package that imports hdrhistogram-go.
package reports

import (
	"encoding/json"
	"time"
)

// SchemaVersion is the version of the JSON result File this code writes and
// reads. A reader rejects files with a different version.
const SchemaVersion = 1

// File is the JSON result of a run (or of several merged shards). Every
// histogram is stored in HdrHistogram's standard V2 compressed encoding
// (base64), so files merge losslessly and any report can be rendered again.
type File struct {
	Schema      int             `json:"schema"`
	Tool        string          `json:"tool"`
	Version     string          `json:"version"`
	Started     time.Time       `json:"started"`
	DurationS   float64         `json:"duration_s"`
	Scenario    json.RawMessage `json:"scenario,omitempty"` // as run, secrets redacted
	Shard       string          `json:"shard"`              // "1/1", "2/4", or "merged:1/2,2/2"
	Environment Environment     `json:"environment"`

	Metrics    map[string]*MetricStats `json:"metrics"` // keyed by scenarios.Metric names
	Counters   Counters                `json:"counters"`
	Rates      Rates                   `json:"rates"`
	Intervals  []Interval              `json:"intervals"`
	Thresholds []ThresholdResult       `json:"thresholds"`
	Degraded   bool                    `json:"degraded"`
	Notes      []string                `json:"notes"`
}

// Environment describes where the run happened.
type Environment struct {
	Host         string `json:"host,omitempty"`
	OS           string `json:"os"`
	Arch         string `json:"arch"`
	CPUs         int    `json:"cpus"`
	GoVersion    string `json:"go_version"`
	FDLimit      uint64 `json:"fd_limit,omitempty"`
	Target       string `json:"target,omitempty"` // scheme://host of the target, no credentials
	EmbeddedMock bool   `json:"embedded_mock,omitempty"`
}

// MetricStats summarises one latency metric. Latencies are milliseconds as
// floats (µs resolution). HDR is the histogram (values recorded in µs) in
// HdrHistogram's V2 compressed encoding, base64.
type MetricStats struct {
	Unit   string  `json:"unit"` // "ms"
	Count  int64   `json:"count"`
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	Stddev float64 `json:"stddev"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	P999   float64 `json:"p999"`
	Max    float64 `json:"max"`
	// OutOfRange counts values outside the histogram's 1 µs .. 1 h range
	// (clamped into it when recorded).
	OutOfRange int64  `json:"out_of_range,omitempty"`
	HDR        string `json:"hdr"`
}

// Counters are the run's totals.
type Counters struct {
	StreamsStarted  int64            `json:"streams_started"`
	StreamsOK       int64            `json:"streams_ok"`
	StreamsFailed   int64            `json:"streams_failed"`
	Aborted         int64            `json:"aborted"`
	Events          int64            `json:"events"`
	ContentEvents   int64            `json:"content_events"`
	Bytes           int64            `json:"bytes"`
	Tokens          int64            `json:"tokens"`
	Comments        int64            `json:"comments"`
	Reconnects      int64            `json:"reconnects"`
	IDsLost         int64            `json:"ids_lost"`
	IDsDuplicated   int64            `json:"ids_duplicated"`
	ArrivalsDropped int64            `json:"arrivals_dropped"`
	Errors          map[string]int64 `json:"errors"` // "dial", "http_status:503", ...
}

// Rates are totals divided by the run's duration, per second.
type Rates struct {
	EventsPerS  float64 `json:"events_per_s"`
	StreamsPerS float64 `json:"streams_per_s"`
	TokensPerS  float64 `json:"tokens_per_s"`
}

// Interval is one tick (normally 1 s) of the run's time series. At is the
// wall-clock end of the tick, so shards' intervals align when merged.
type Interval struct {
	TS       float64   `json:"t_s"` // seconds since the run started, end of tick
	At       time.Time `json:"at"`
	Active   int64     `json:"active"`
	Started  int64     `json:"started"`
	Events   int64     `json:"events"`
	Tokens   int64     `json:"tokens"`
	Errors   int64     `json:"errors"`
	TTFTP50  float64   `json:"ttft_p50"`
	TTFTP99  float64   `json:"ttft_p99"`
	LagP99   float64   `json:"lag_p99"`            // schedule lag (queue) p99, ms
	TTFTHDR  string    `json:"ttft_hdr,omitempty"` // this tick's ttft histogram, for exact merges
	QueueHDR string    `json:"queue_hdr,omitempty"`
}

// ThresholdResult is the verdict of one threshold expression.
type ThresholdResult struct {
	Expr     string  `json:"expr"`
	Observed float64 `json:"observed"`
	Unit     string  `json:"unit,omitempty"`
	Pass     bool    `json:"pass"`
	Error    string  `json:"error,omitempty"` // e.g. metric has no samples
}
