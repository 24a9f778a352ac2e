package live

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

// testInfo has secrets in every part of the target but its origin.
var testInfo = Info{
	Plan:    "p-0123456789abcdef",
	Target:  "https://alice:hunter2@sse.example.com:8443/v1/stream/s3cr3tpath?api_key=k3y&model=x",
	Version: "test",
	Started: time.Unix(1700000000, 0),
}

// shardState builds a LiveState from two Deltas: counters, failures
// (one HTTP status), encodings and a ttft and a gap histogram.
func shardState(shard string, scale int64) *reports.LiveState {
	ttft, gap := reports.NewHistogram(), reports.NewHistogram()
	for i := range 10 * scale {
		ttft.Record(time.Duration(20+i) * time.Millisecond)
		gap.Record(time.Duration(100+i) * time.Microsecond)
	}
	l := reports.NewLiveState(shard)
	l.Apply(&reports.Delta{Seq: 1, Elapsed: time.Second, Active: 5 * scale,
		Counters: reports.DeltaCounters{StreamsStarted: 7 * scale, Attempts: 9 * scale, Events: 100 * scale,
			Tokens: 90 * scale, Bytes: 4000 * scale, Reconnects: 2 * scale, IDsLost: 1, IDsDuplicated: 2, Redirects: 3},
		Hist: map[string]*reports.Histogram{"ttft": ttft}})
	l.Apply(&reports.Delta{Seq: 2, Elapsed: 2 * time.Second, Active: 4 * scale, LagP99: 3 * time.Millisecond,
		Counters:        reports.DeltaCounters{StreamsOK: 1, StreamsFailed: 2, FailedAttempts: 3, Events: 10},
		Errors:          map[string]int64{"http_status:503": 1, "timeout_idle": 1},
		AttemptErrors:   map[string]int64{"http_status:503": 2, "timeout_idle": 1},
		ContentEncoding: map[string]int64{"gzip": 4},
		Hist:            map[string]*reports.Histogram{"gap": gap}})
	return l
}

// gather collects c through a pedantic registry (which checks every
// metric against its description).
func gather(t *testing.T, c *Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value returns the value of the family's metric with the given labels
// (name=value pairs), and whether it exists.
func value(mf *dto.MetricFamily, labels ...string) (float64, bool) {
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestCollectorValues(t *testing.T) {
	a, b := shardState("1/2", 1), shardState("2/2", 3)
	c := NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{a.View(), b.View()} })
	fams := gather(t, c)
	for _, tc := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"ssebench_run_info", []string{"plan", "p-0123456789abcdef", "target", "https://sse.example.com:8443", "version", "test"}, 1},
		{"ssebench_run_start_time_seconds", nil, 1700000000},
		{"ssebench_streams_started_total", []string{"shard", "1/2"}, 7},
		{"ssebench_streams_started_total", []string{"shard", "2/2"}, 21},
		{"ssebench_streams_active", []string{"shard", "2/2"}, 12},
		{"ssebench_run_elapsed_seconds", []string{"shard", "1/2"}, 2},
		{"ssebench_run_done", []string{"shard", "1/2"}, 0},
		{"ssebench_schedule_lag_p99_seconds", []string{"shard", "1/2"}, 0.003},
		{"ssebench_events_total", []string{"shard", "2/2"}, 310},
		{"ssebench_tokens_total", []string{"shard", "2/2"}, 270},
		{"ssebench_received_bytes_total", []string{"shard", "1/2"}, 4000},
		{"ssebench_attempts_total", []string{"shard", "1/2"}, 9},
		{"ssebench_reconnects_total", []string{"shard", "1/2"}, 2},
		{"ssebench_ids_lost_total", []string{"shard", "1/2"}, 1},
		{"ssebench_ids_duplicated_total", []string{"shard", "1/2"}, 2},
		{"ssebench_redirects_total", []string{"shard", "1/2"}, 3},
		{"ssebench_streams_ok_total", []string{"shard", "1/2"}, 1},
		{"ssebench_streams_failed_total", []string{"shard", "1/2", "class", "http_status", "status", "503"}, 1},
		{"ssebench_streams_failed_total", []string{"shard", "1/2", "class", "timeout_idle", "status", ""}, 1},
		{"ssebench_streams_failed_total", []string{"shard", "1/2", "class", "dial", "status", ""}, 0},
		{"ssebench_attempts_failed_total", []string{"shard", "2/2", "class", "http_status", "status", "503"}, 2},
		{"ssebench_content_encoding_total", []string{"shard", "1/2", "encoding", "gzip"}, 4},
		{"ssebench_ttft_seconds", []string{"shard", "1/2"}, 10},
		{"ssebench_ttft_seconds", []string{"shard", "2/2"}, 30},
		{"ssebench_gap_seconds", []string{"shard", "2/2"}, 30},
	} {
		got, ok := value(fams[tc.family], tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.family, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := value(fams["ssebench_e2e_seconds"]); ok {
		t.Error("an empty histogram (e2e) is exported")
	}
	// Every class is there from the start, at 0 when it did not happen.
	var classes int
	for _, m := range fams["ssebench_streams_failed_total"].GetMetric() {
		if m.GetLabel()[1].GetValue() == "1/2" { // labels sort: class, shard, status
			classes++
		}
	}
	if want := int(scenarios.NumErrorClasses) - 1 + 1; classes != want {
		t.Errorf("shard 1/2 has %d failed-stream series, want %d (every class, and http_status 503)", classes, want)
	}
}

// TestCollectorNoSecrets: the exposition carries the target's origin and
// nothing else of it.
func TestCollectorNoSecrets(t *testing.T) {
	text := exposition(t, NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{shardState("1/1", 1).View()} }))
	for _, bad := range []string{"alice", "hunter2", "s3cr3tpath", "k3y", "api_key", "/v1/stream"} {
		if strings.Contains(text, bad) {
			t.Errorf("the exposition holds %q", bad)
		}
	}
	if !strings.Contains(text, `target="https://sse.example.com:8443"`) {
		t.Errorf("the exposition lacks the target's origin:\n%s", text[:min(len(text), 400)])
	}
}

func TestOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:8080/v1/stream":     "http://127.0.0.1:8080",
		"https://u:p@host/x?token=y":          "https://host",
		"http://[::1]:9/":                     "http://[::1]:9",
		"not a url":                           "unknown",
		"http://{{env.HOST}}/v1":              "unknown",
		"":                                    "unknown",
		"https://h.example/p?password=1#frag": "https://h.example",
		"https://user%40corp:pa%3Ass@h.example:1/": "https://h.example:1",
	} {
		if got := Origin(raw); got != want {
			t.Errorf("Origin(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestCollectorDuplicateShards: two views of one shard name do not break
// the scrape; the second is told apart.
func TestCollectorDuplicateShards(t *testing.T) {
	a, b := shardState("1/1", 1), shardState("1/1", 2)
	fams := gather(t, NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{a.View(), b.View(), {}} }))
	for shard, want := range map[string]float64{"1/1": 7, "1/1#2": 14, "1/1#3": 0} {
		if got, ok := value(fams["ssebench_streams_started_total"], "shard", shard); !ok || got != want {
			t.Errorf("shard %s started = %v (present %v), want %v", shard, got, ok, want)
		}
	}
}

// TestCatalogueIsTheExposition: every family the collector sends is in
// the catalogue with its type and labels, and every catalogue entry is
// sent once its shard has values.
func TestCatalogueIsTheExposition(t *testing.T) {
	l := shardState("1/1", 1)
	all := map[string]*reports.Histogram{}
	for m := range scenarios.NumMetrics {
		h := reports.NewHistogram()
		h.Record(time.Millisecond)
		all[m.String()] = h
	}
	l.Apply(&reports.Delta{Seq: 3, Done: true, Hist: all})
	fams := gather(t, NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{l.View()} }))
	for _, m := range Catalogue() {
		mf := fams[m.Name]
		if mf == nil {
			t.Errorf("%s is not exported", m.Name)
			continue
		}
		if got := strings.ToLower(mf.GetType().String()); got != m.Type {
			t.Errorf("%s is a %s, the catalogue says %s", m.Name, got, m.Type)
		}
		if mf.GetHelp() != m.Help || m.Help == "" {
			t.Errorf("%s help %q, catalogue %q", m.Name, mf.GetHelp(), m.Help)
		}
		delete(fams, m.Name)
	}
	for name := range fams {
		t.Errorf("%s is exported but not in the catalogue", name)
	}
	if d, _ := value(gather(t, NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{l.View()} }))["ssebench_run_done"]); d != 1 {
		t.Errorf("ssebench_run_done = %v after the Done delta, want 1", d)
	}
}

// exposition renders c in the Prometheus text format.
func exposition(t *testing.T, c *Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// promtool returns the path of Debian's promtool, skipping the test when
// it is absent (failing under CI, which installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (.ci/run installs the prometheus package)")
		}
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	return p
}

// TestPromtoolCheckMetrics: promtool's linter finds nothing in the text
// exposition of a run with every kind of metric.
func TestPromtoolCheckMetrics(t *testing.T) {
	tool := promtool(t)
	a, b := shardState("1/2", 1), shardState("2/2", 2)
	text := exposition(t, NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{a.View(), b.View()} }))
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	// 20..24 ms, and 25 ms too: HdrHistogram holds it in a 16 µs bucket
	// whose middle is 25 ms, on the bound.
	if !strings.Contains(text, `ssebench_ttft_seconds_bucket{shard="1/2",le="0.025"} 6`) {
		t.Errorf("the classic ttft buckets are not in the text exposition:\n%s", grep(text, "ssebench_ttft_seconds"))
	}
}

func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
