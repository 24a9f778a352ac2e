package live

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// Info describes the run, for ssebench_run_info and
// ssebench_run_start_time_seconds.
type Info struct {
	// Plan is the plan id (reports.PlanID); "" when unknown.
	Plan string
	// Target is the target URL. Only its origin (scheme, host, port) is
	// shown; user information, path and query never are.
	Target string
	// Version is the ssebench version.
	Version string
	// Started is when load started; the zero time means now.
	Started time.Time
}

// Views returns the live state of every shard of the run: one for a
// single process, one per worker or shard otherwise. It is called on every
// scrape, from the scraping goroutine, and must be safe for concurrent use
// (reports.LiveState.View is).
type Views func() []reports.LiveView

// Collector is a prometheus.Collector of a run's live state: for each
// LiveView, labelled shard="I/N", the gauges, counters and histograms
// named in this package's documentation. Build it with NewCollector.
type Collector struct {
	info    Info
	target  string // Info.Target's origin
	views   Views
	d       descs
	classes []string // every stream error class but http_status:CODE ones

	// finals counts the collections that saw every view Done: those
	// scrapes read the run's final values.
	finals atomic.Int64
}

// NewCollector returns the collector of the run described by info, over
// views (nil: no shard at all, only the run's info).
func NewCollector(info Info, views Views) *Collector {
	if info.Started.IsZero() {
		info.Started = time.Now()
	}
	if views == nil {
		views = func() []reports.LiveView { return nil }
	}
	c := &Collector{info: info, target: Origin(info.Target), views: views, d: newDescs()}
	for e := scenarios.ErrorClass(1); e < scenarios.NumErrorClasses; e++ {
		c.classes = append(c.classes, e.String())
	}
	return c
}

// Origin returns the origin of a URL, "scheme://host[:port]", the only part
// of the target that the metrics show (the path and query may carry
// secrets, and the user information always does). A URL that does not
// parse or has no host gives "unknown".
func Origin(raw string) string {
	u, err := url.Parse(secret.URL(raw))
	if err != nil || u.Host == "" || u.Scheme == "" || strings.Contains(u.Host, "{{") {
		return "unknown"
	}
	return u.Scheme + "://" + u.Host
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { c.d.describe(ch) }

// Collect sends the run's info and, for each view, its metrics. Two views
// with the same shard name would make the scrape fail; the second one is
// labelled with a "#2" suffix (and so on) instead.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.d.info, prometheus.GaugeValue, 1, c.info.Plan, c.target, c.info.Version)
	ch <- prometheus.MustNewConstMetric(c.d.startTime, prometheus.GaugeValue,
		float64(c.info.Started.UnixNano())/1e9)
	seen := map[string]int{}
	views := c.views()
	final := len(views) > 0
	for _, v := range views {
		final = final && v.Done
		shard := v.Shard
		if shard == "" {
			shard = "1/1"
		}
		if n := seen[shard]; n > 0 {
			seen[shard]++
			shard += "#" + strconv.Itoa(n+1)
		} else {
			seen[shard] = 1
		}
		c.collectView(ch, v, shard)
	}
	if final {
		c.finals.Add(1)
	}
}

// Finals returns how many collections saw every view done, their values
// final.
func (c *Collector) Finals() int64 { return c.finals.Load() }

// collectView sends one view's metrics, labelled shard.
func (c *Collector) collectView(ch chan<- prometheus.Metric, v reports.LiveView, shard string) {
	gauge := func(d *prometheus.Desc, x float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, x, shard)
	}
	counter := func(d *prometheus.Desc, n int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), append([]string{shard}, labels...)...)
	}
	done := 0.0
	if v.Done {
		done = 1
	}
	gauge(c.d.active, float64(v.Active))
	gauge(c.d.elapsed, v.Elapsed.Seconds())
	gauge(c.d.done, done)
	gauge(c.d.lag, v.LagP99.Seconds())
	k := v.Counters
	for _, s := range []struct {
		d *prometheus.Desc
		n int64
	}{
		{c.d.started, k.StreamsStarted}, {c.d.ok, k.StreamsOK}, {c.d.aborted, k.Aborted},
		{c.d.cancelled, k.Cancelled}, {c.d.cut, k.CutAfterEvents}, {c.d.reconnected, k.StreamsReconnected},
		{c.d.attempts, k.Attempts}, {c.d.reconnects, k.Reconnects}, {c.d.events, k.Events},
		{c.d.content, k.ContentEvents}, {c.d.tokens, k.Tokens}, {c.d.bytes, k.Bytes},
		{c.d.comments, k.Comments}, {c.d.idsLost, k.IDsLost}, {c.d.idsDup, k.IDsDuplicated},
		{c.d.redirects, k.Redirects}, {c.d.dropped, k.ArrivalsDropped}, {c.d.missed, int64(v.Missed)},
	} {
		counter(s.d, s.n)
	}
	c.collectClasses(counter, c.d.failed, k.Errors)
	c.collectClasses(counter, c.d.attemptsFailed, k.AttemptErrors)
	for enc, n := range k.ContentEncoding {
		counter(c.d.encoding, n, enc)
	}
	for m := range scenarios.NumMetrics {
		h := v.Hist[m.String()]
		if h == nil || h.Count() == 0 {
			continue
		}
		if hm, err := histogramMetric(c.d.hist[m], h, c.info.Started, shard); err == nil {
			ch <- hm
		} else {
			ch <- prometheus.NewInvalidMetric(c.d.hist[m], err)
		}
	}
}

// collectClasses sends a counter per error class: every class, 0 when it
// did not happen (so that rate() and increase() see it from the start),
// and each HTTP status that did, as class="http_status", status="503".
func (c *Collector) collectClasses(counter func(*prometheus.Desc, int64, ...string), d *prometheus.Desc, byKey map[string]int64) {
	for _, class := range c.classes {
		counter(d, byKey[class], class, "")
	}
	for key, n := range byKey {
		class, status, ok := strings.Cut(key, ":")
		if !ok {
			if !slices.Contains(c.classes, key) { // a class this build does not know
				counter(d, n, key, "")
			}
			continue
		}
		counter(d, n, class, status)
	}
}
