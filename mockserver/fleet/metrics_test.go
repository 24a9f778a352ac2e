package fleet

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// workerFamilies builds the families of one worker the way a worker's
// registry does: labelled counters and gauges of the mock, a process gauge,
// a worker gauge and a summary.
func workerFamilies(t *testing.T, events, active, fds float64) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	ev := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ssebench_mock_events_total", Help: "Events."}, []string{"endpoint"})
	act := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssebench_mock_streams_active", Help: "Active."})
	open := prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_open_fds", Help: "Fds."})
	conns := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssebench_mock_worker_connections", Help: "Conns."})
	gc := prometheus.NewSummary(prometheus.SummaryOpts{Name: "go_gc_duration_seconds", Help: "GC."})
	reg.MustRegister(ev, act, open, conns, gc)
	ev.WithLabelValues("stream").Add(events)
	ev.WithLabelValues("chat").Add(1)
	act.Set(active)
	open.Set(fds)
	conns.Set(active)
	gc.Observe(0.001)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func encodeText(t *testing.T, fams []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestMergerSumsAndLabels: the mock's counters and gauges are summed
// exactly, the rest is shown per worker, and a retired worker's counters
// (not its gauges) stay in the sums.
func TestMergerSumsAndLabels(t *testing.T) {
	m := newMerger()
	for i, w := range []struct{ events, active, fds float64 }{{1000003, 7, 20}, {2000005, 11, 30}, {7, 0, 12}} {
		if err := m.addWorker(workerName(i), workerFamilies(t, w.events, w.active, w.fds)); err != nil {
			t.Fatal(err)
		}
	}
	retired := newMerger()
	if err := retired.retire(workerFamilies(t, 100, 50, 99)); err != nil {
		t.Fatal(err)
	}
	for _, f := range retired.fams {
		if err := m.addSummed(f); err != nil {
			t.Fatal(err)
		}
	}
	text := encodeText(t, m.families())
	for _, want := range []string{
		`ssebench_mock_events_total{endpoint="stream"} 3.000115e+06` + "\n",
		`ssebench_mock_events_total{endpoint="chat"} 4` + "\n",
		"ssebench_mock_streams_active 18\n",
		`process_open_fds{worker="0"} 20` + "\n",
		`process_open_fds{worker="2"} 12` + "\n",
		`ssebench_mock_worker_connections{worker="1"} 11` + "\n",
		`go_gc_duration_seconds_count{worker="1"} 1` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("merged view lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, `process_open_fds{worker="3"}`) || strings.Contains(text, "process_open_fds 99") {
		t.Errorf("a retired worker's gauges are shown:\n%s", text)
	}
}

func TestMergerRefusesTypeClash(t *testing.T) {
	m := newMerger()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ssebench_mock_x", Help: "x"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssebench_mock_x", Help: "x"})
	for i, col := range []prometheus.Collector{c, g} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(col)
		fams, _ := reg.Gather()
		err := m.addWorker(workerName(i), fams)
		if i == 1 && (err == nil || !strings.Contains(err.Error(), "ssebench_mock_x")) {
			t.Errorf("a counter and a gauge of one name: %v", err)
		}
	}
}
