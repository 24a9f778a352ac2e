package mockserver

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// The endpoints, as the "endpoint" label of the metrics.
const (
	epStream  = "stream"  // GET /v1/stream
	epChat    = "chat"    // POST /v1/chat/completions
	epSession = "session" // GET /v1/sessions/{id}/stream
)

// endpointMetrics are one endpoint's children of the labelled metrics,
// resolved once so the streaming path does no label lookups.
type endpointMetrics struct {
	active  prometheus.Gauge
	streams prometheus.Counter
	events  prometheus.Counter
	bytes   prometheus.Counter
}

// metrics are a Server's Prometheus metrics, in its own registry.
type metrics struct {
	reg       *prometheus.Registry
	endpoints map[string]*endpointMetrics
	requests  *prometheus.CounterVec
	faults    *prometheus.CounterVec
	queue     prometheus.Gauge
	slotsBusy prometheus.Gauge
	slotsCap  prometheus.Gauge
}

func newMetrics(slotCap int) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), endpoints: map[string]*endpointMetrics{}}
	const ns = "ssebench_mock"
	active := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "streams_active",
		Help: "Streams open now, by endpoint (queued ones included)."}, []string{"endpoint"})
	streams := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "streams_total",
		Help: "Streams started (200 responses), by endpoint."}, []string{"endpoint"})
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_total",
		Help: "Events written, by endpoint (heartbeat comments excluded)."}, []string{"endpoint"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_total",
		Help: "Stream body bytes written before any compression, by endpoint (heartbeats included)."}, []string{"endpoint"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_total",
		Help: "Requests answered, by endpoint and status code."}, []string{"endpoint", "code"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "faults_injected_total",
		Help: "Requests served with a fault profile, by profile name."}, []string{"fault"})
	m.queue = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "queue_depth",
		Help: "Streams waiting for a slot."})
	m.slotsBusy = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "slots_busy",
		Help: "Slots generating now."})
	m.slotsCap = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "slots",
		Help: "Configured slots (0 = unlimited)."})
	m.slotsCap.Set(float64(slotCap))
	m.reg.MustRegister(active, streams, events, bytes, m.requests, m.faults, m.queue, m.slotsBusy, m.slotsCap,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, ep := range []string{epStream, epChat, epSession} {
		m.endpoints[ep] = &endpointMetrics{
			active:  active.WithLabelValues(ep),
			streams: streams.WithLabelValues(ep),
			events:  events.WithLabelValues(ep),
			bytes:   bytes.WithLabelValues(ep),
		}
	}
	for _, fi := range faultTable {
		m.faults.WithLabelValues(fi.Name) // every profile shows, at 0
	}
	return m
}
