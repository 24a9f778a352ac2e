package fleet

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// Bounds of one scrape of one worker by the supervisor.
const (
	maxScrapeBytes = 16 << 20
	scrapeTimeout  = 5 * time.Second
)

// supervisorLabel is the worker label of the supervisor's own process
// metrics.
const supervisorLabel = "supervisor"

// perWorker reports whether a worker's family is shown once per worker,
// with a "worker" label, instead of summed over the workers: the Go
// runtime's and the process's metrics, the ssebench_mock_worker_* gauges,
// and every summary and histogram. The rest (counters and gauges of the
// mock: streams, events, bytes, requests, faults, queue, slots) is summed.
func perWorker(f *dto.MetricFamily) bool {
	switch f.GetType() {
	case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
	default:
		return true
	}
	n := f.GetName()
	return strings.HasPrefix(n, "go_") || strings.HasPrefix(n, "process_") || strings.HasPrefix(n, "ssebench_mock_worker_")
}

// merger builds the supervisor's one view of its workers' metrics. It is
// not safe for concurrent use.
type merger struct {
	fams map[string]*dto.MetricFamily
	sums map[string]map[string]*dto.Metric // summed family -> label signature -> its metric
}

func newMerger() *merger {
	return &merger{fams: map[string]*dto.MetricFamily{}, sums: map[string]map[string]*dto.Metric{}}
}

// family returns the merged family named like f, creating it, or an error
// when an earlier one of that name has another type.
func (m *merger) family(f *dto.MetricFamily) (*dto.MetricFamily, error) {
	out, ok := m.fams[f.GetName()]
	if !ok {
		out = &dto.MetricFamily{Name: proto.String(f.GetName()), Help: proto.String(f.GetHelp()), Type: f.GetType().Enum()}
		m.fams[f.GetName()] = out
		return out, nil
	}
	if out.GetType() != f.GetType() {
		return nil, fmt.Errorf("fleet: metric %s is a %v in one process and a %v in another", f.GetName(), out.GetType(), f.GetType())
	}
	return out, nil
}

// addWorker merges one worker's families: summed, or labelled with worker.
func (m *merger) addWorker(worker string, fams []*dto.MetricFamily) error {
	for _, f := range fams {
		var err error
		if perWorker(f) {
			err = m.addLabelled(f, worker)
		} else {
			err = m.addSummed(f)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addLabelled adds f's metrics with the label worker="worker" (replacing
// one they carry).
func (m *merger) addLabelled(f *dto.MetricFamily, worker string) error {
	out, err := m.family(f)
	if err != nil {
		return err
	}
	for _, x := range f.GetMetric() {
		c := proto.Clone(x).(*dto.Metric)
		labels := []*dto.LabelPair{{Name: proto.String("worker"), Value: proto.String(worker)}}
		for _, l := range c.GetLabel() {
			if l.GetName() != "worker" {
				labels = append(labels, l)
			}
		}
		sort.Slice(labels, func(i, j int) bool { return labels[i].GetName() < labels[j].GetName() })
		c.Label = labels
		out.Metric = append(out.Metric, c)
	}
	return nil
}

// addSummed adds f's values to the metrics with the same labels.
func (m *merger) addSummed(f *dto.MetricFamily) error {
	out, err := m.family(f)
	if err != nil {
		return err
	}
	idx := m.sums[f.GetName()]
	if idx == nil {
		idx = map[string]*dto.Metric{}
		m.sums[f.GetName()] = idx
	}
	for _, x := range f.GetMetric() {
		sig := signature(x.GetLabel())
		cur, ok := idx[sig]
		if !ok {
			cur = &dto.Metric{Label: cloneLabels(x.GetLabel())}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				cur.Counter = &dto.Counter{Value: proto.Float64(0)}
			case dto.MetricType_GAUGE:
				cur.Gauge = &dto.Gauge{Value: proto.Float64(0)}
			default:
				cur.Untyped = &dto.Untyped{Value: proto.Float64(0)}
			}
			idx[sig] = cur
			out.Metric = append(out.Metric, cur)
		}
		switch {
		case cur.Counter != nil:
			*cur.Counter.Value += x.GetCounter().GetValue()
		case cur.Gauge != nil:
			*cur.Gauge.Value += x.GetGauge().GetValue()
		default:
			*cur.Untyped.Value += x.GetUntyped().GetValue()
		}
	}
	return nil
}

// addAsIs adds f's metrics unchanged.
func (m *merger) addAsIs(f *dto.MetricFamily) error {
	out, err := m.family(f)
	if err != nil {
		return err
	}
	for _, x := range f.GetMetric() {
		out.Metric = append(out.Metric, proto.Clone(x).(*dto.Metric))
	}
	return nil
}

// families returns the merged families, sorted by name, each one's
// metrics sorted by their labels.
func (m *merger) families() []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(m.fams))
	for _, f := range m.fams {
		sort.SliceStable(f.Metric, func(i, j int) bool { return signature(f.Metric[i].GetLabel()) < signature(f.Metric[j].GetLabel()) })
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// retire keeps the counters a dead worker had summed into, so that the
// sums stay monotonic after it is gone: from its last scrape, fams.
func (m *merger) retire(fams []*dto.MetricFamily) error {
	for _, f := range fams {
		if f.GetType() == dto.MetricType_COUNTER && !perWorker(f) {
			if err := m.addSummed(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// signature identifies a label set, whatever the order of its pairs.
func signature(labels []*dto.LabelPair) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.GetName() + "\xff" + l.GetValue()
	}
	sort.Strings(parts)
	return strings.Join(parts, "\xfe")
}

func cloneLabels(labels []*dto.LabelPair) []*dto.LabelPair {
	out := make([]*dto.LabelPair, len(labels))
	for i, l := range labels {
		out[i] = proto.Clone(l).(*dto.LabelPair)
	}
	return out
}

// scrape reads one worker's own metrics from its admin address, in the
// protocol-buffer exposition format, at most maxScrapeBytes.
func scrape(client *http.Client, url string) ([]*dto.MetricFamily, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	lr := &io.LimitedReader{R: resp.Body, N: maxScrapeBytes + 1}
	dec := expfmt.NewDecoder(lr, expfmt.ResponseFormat(resp.Header))
	var fams []*dto.MetricFamily
	for {
		f := &dto.MetricFamily{}
		err := dec.Decode(f)
		if err == io.EOF {
			break
		}
		if lr.N <= 0 {
			return nil, fmt.Errorf("metrics larger than %d bytes", maxScrapeBytes)
		}
		if err != nil {
			return nil, fmt.Errorf("decode metrics: %w", err)
		}
		fams = append(fams, f)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("metrics larger than %d bytes", maxScrapeBytes)
	}
	return fams, nil
}
