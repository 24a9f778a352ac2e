package live

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssebench/ssebench/scenarios"
)

// Namespace prefixes every metric name.
const Namespace = "ssebench"

// Metric describes one exported metric family, for the documentation and
// the tests: its full name, its type, its variable labels and its help.
type Metric struct {
	Name   string
	Type   string // "gauge", "counter" or "histogram"
	Labels []string
	Help   string
}

// histHelp describes each latency metric's histogram.
var histHelp = [scenarios.NumMetrics]string{
	scenarios.Connect:   "Dial (and TLS handshake) time of each new connection.",
	scenarios.TTFB:      "Time from a stream's start to its first response headers, once per stream.",
	scenarios.TTFE:      "Time from a stream's start to its first event, once per stream.",
	scenarios.TTFT:      "Time from a stream's start to its first content event (first token), once per stream.",
	scenarios.Gap:       "Time between consecutive events of a stream, across reconnects.",
	scenarios.ITL:       "Time between consecutive content events of a stream (inter-token latency), across reconnects.",
	scenarios.TPOT:      "Time per output token after the first, once per stream that ended ok.",
	scenarios.E2E:       "Time from a stream's start to its end, reconnects included, once per stream that ended ok.",
	scenarios.Queue:     "How late each stream started against its schedule (open model).",
	scenarios.TTFTSched: "Time from a stream's scheduled start to its first content event (open model).",
	scenarios.E2ESched:  "Time from a stream's scheduled start to its end (open model).",
	scenarios.ResumeGap: "Time from a dropped attempt's end to the first event after the reconnect, per resume.",
}

// catalogue lists every family, in exposition order. descs refers to the
// entries by name; the README's table follows it.
var catalogue = func() []Metric {
	s, sc := []string{"shard"}, []string{"shard", "class", "status"}
	ms := []Metric{
		{"ssebench_run_info", "gauge", []string{"plan", "target", "version"}, "The run: its plan id, the target's origin and the ssebench version (always 1)."},
		{"ssebench_run_start_time_seconds", "gauge", nil, "When load started, in seconds since the Unix epoch."},
		{"ssebench_run_elapsed_seconds", "gauge", s, "Time since load started, as of the shard's latest update."},
		{"ssebench_run_done", "gauge", s, "1 once the shard's run has ended and its values are final, else 0."},
		{"ssebench_streams_active", "gauge", s, "Stream attempts open now."},
		{"ssebench_schedule_lag_p99_seconds", "gauge", s, "99th percentile of how late streams started in the last closed second (open model; generator health)."},
		{"ssebench_streams_started_total", "counter", s, "Streams started (first attempts)."},
		{"ssebench_streams_ok_total", "counter", s, "Streams whose last attempt ended cleanly."},
		{"ssebench_streams_failed_total", "counter", sc, "Streams whose last attempt failed, by error class (and HTTP status for class http_status)."},
		{"ssebench_streams_aborted_total", "counter", s, "Streams ended by the scenario's abort rule."},
		{"ssebench_streams_cancelled_total", "counter", s, "Streams cut because the run ended."},
		{"ssebench_streams_cut_after_events_total", "counter", s, "Aborted or cancelled streams that had received at least one event."},
		{"ssebench_streams_reconnected_total", "counter", s, "Streams that reconnected at least once."},
		{"ssebench_attempts_total", "counter", s, "Stream attempts (connections) begun, reconnects included."},
		{"ssebench_attempts_failed_total", "counter", sc, "Failed stream attempts, recovered or not, by error class (and HTTP status)."},
		{"ssebench_reconnects_total", "counter", s, "Attempts after a stream's first."},
		{"ssebench_events_total", "counter", s, "Events dispatched."},
		{"ssebench_content_events_total", "counter", s, "Content events dispatched."},
		{"ssebench_tokens_total", "counter", s, "Output tokens (the server's usage when it reports one, else content events)."},
		{"ssebench_received_bytes_total", "counter", s, "Response body bytes read."},
		{"ssebench_comments_total", "counter", s, "Comment lines (heartbeats) read."},
		{"ssebench_ids_lost_total", "counter", s, "Event ids skipped after a resume."},
		{"ssebench_ids_duplicated_total", "counter", s, "Event ids seen again after a resume."},
		{"ssebench_redirects_total", "counter", s, "Redirects followed."},
		{"ssebench_arrivals_dropped_total", "counter", s, "Open-model arrivals that found no free worker."},
		{"ssebench_live_updates_missed_total", "counter", s, "Live updates from the shard that never arrived (their values are in the final result only)."},
		{"ssebench_content_encoding_total", "counter", []string{"shard", "encoding"}, "Attempts that got response headers, by Content-Encoding."},
	}
	for m := range scenarios.NumMetrics {
		ms = append(ms, Metric{histName(m), "histogram", s, histHelp[m]})
	}
	return ms
}()

// histName is the family name of a latency metric's histogram.
func histName(m scenarios.Metric) string { return Namespace + "_" + m.String() + "_seconds" }

// Catalogue returns every metric family the collector exports.
func Catalogue() []Metric { return append([]Metric(nil), catalogue...) }

// descs are the collector's descriptions.
type descs struct {
	all                                           []*prometheus.Desc
	info, startTime, elapsed, done, active, lag   *prometheus.Desc
	started, ok, failed, aborted, cancelled, cut  *prometheus.Desc
	reconnected, attempts, attemptsFailed         *prometheus.Desc
	reconnects, events, content, tokens, bytes    *prometheus.Desc
	comments, idsLost, idsDup, redirects, dropped *prometheus.Desc
	missed, encoding                              *prometheus.Desc
	hist                                          [scenarios.NumMetrics]*prometheus.Desc
}

// newDescs builds the descriptions from the catalogue.
func newDescs() descs {
	by := map[string]*prometheus.Desc{}
	var d descs
	for _, m := range catalogue {
		desc := prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
		by[m.Name] = desc
		d.all = append(d.all, desc)
	}
	get := func(name string) *prometheus.Desc {
		desc := by[Namespace+"_"+name]
		if desc == nil {
			panic("live: no metric " + name + " in the catalogue") // a bug, caught by every test
		}
		return desc
	}
	d.info, d.startTime, d.elapsed = get("run_info"), get("run_start_time_seconds"), get("run_elapsed_seconds")
	d.done, d.active, d.lag = get("run_done"), get("streams_active"), get("schedule_lag_p99_seconds")
	d.started, d.ok, d.failed = get("streams_started_total"), get("streams_ok_total"), get("streams_failed_total")
	d.aborted, d.cancelled, d.cut = get("streams_aborted_total"), get("streams_cancelled_total"), get("streams_cut_after_events_total")
	d.reconnected, d.attempts = get("streams_reconnected_total"), get("attempts_total")
	d.attemptsFailed, d.reconnects = get("attempts_failed_total"), get("reconnects_total")
	d.events, d.content, d.tokens = get("events_total"), get("content_events_total"), get("tokens_total")
	d.bytes, d.comments = get("received_bytes_total"), get("comments_total")
	d.idsLost, d.idsDup, d.redirects = get("ids_lost_total"), get("ids_duplicated_total"), get("redirects_total")
	d.dropped, d.missed, d.encoding = get("arrivals_dropped_total"), get("live_updates_missed_total"), get("content_encoding_total")
	for m := range scenarios.NumMetrics {
		d.hist[m] = by[histName(m)]
	}
	return d
}

func (d *descs) describe(ch chan<- *prometheus.Desc) {
	for _, desc := range d.all {
		ch <- desc
	}
}
