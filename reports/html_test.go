package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports/golden"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ssebench/ssebench/scenarios"
	"golang.org/x/net/html"
)

// ---- fixtures --------------------------------------------------------------

// htmlFixtureStart is the fixed start time of every fixture run.
var htmlFixtureStart = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func newHTMLFixtureHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 3_600_000_000, 3) }

// htmlRecordMs records a latency in milliseconds n times (values in µs, as the
// aggregator records them).
func htmlRecordMs(tb testing.TB, h *hdrhistogram.Histogram, v float64, n int64) {
	tb.Helper()
	if err := h.RecordValues(max(1, int64(math.Round(v*1000))), n); err != nil {
		tb.Fatalf("record %v: %v", v, err)
	}
}

func htmlMsOf(us int64) float64 { return float64(us) / 1000 }

// htmlStatsOf builds the MetricStats the aggregator would write for h.
func htmlStatsOf(tb testing.TB, h *hdrhistogram.Histogram) *MetricStats {
	tb.Helper()
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		tb.Fatalf("encode: %v", err)
	}
	return &MetricStats{
		Unit: "ms", Count: h.TotalCount(),
		Min: htmlMsOf(h.Min()), Mean: math.Round(h.Mean()) / 1000, Stddev: math.Round(h.StdDev()) / 1000,
		P50: htmlMsOf(h.ValueAtQuantile(50)), P90: htmlMsOf(h.ValueAtQuantile(90)), P95: htmlMsOf(h.ValueAtQuantile(95)),
		P99: htmlMsOf(h.ValueAtQuantile(99)), P999: htmlMsOf(h.ValueAtQuantile(99.9)), Max: htmlMsOf(h.Max()),
		HDR: string(enc),
	}
}

// htmlRunFixture describes a synthetic run: a closed-model ramp whose latency
// turns up past a knee, with errors and generator lag at the top.
type htmlRunFixture struct {
	seconds   int
	rampTo    int     // active streams at the top of the ramp
	rampSecs  int     // seconds to reach rampTo
	knee      float64 // active streams where latency starts to climb
	perStream int     // events per stream
	gapWeight int64   // each recorded gap sample stands for this many events
	scenario  string
}

var htmlRampFixture = htmlRunFixture{seconds: 60, rampTo: 2400, rampSecs: 40, knee: 1500, perStream: 64, gapWeight: 16,
	scenario: `{"name":"capacity-ramp","url":"http://127.0.0.1:8080/v1/chat/completions","method":"POST",` +
		`"headers":{"Authorization":"[redacted]"},"events":"openai",` +
		`"load":{"model":"closed","stages":[{"duration":"40s","target":2400},{"duration":"20s","target":2400}]},` +
		`"duration":"60s","timeouts":{"first_byte":"10s","idle":"15s"}}`}

// build makes the File deterministically (fixed seed, fixed times).
func (fx htmlRunFixture) build(tb testing.TB) *File {
	tb.Helper()
	rng := rand.New(rand.NewPCG(2026, 314))
	names := []string{"connect", "ttfb", "ttfe", "ttft", "gap", "itl", "tpot", "e2e", "queue", "ttft_sched", "e2e_sched"}
	hs := map[string]*hdrhistogram.Histogram{}
	for _, n := range names {
		hs[n] = newHTMLFixtureHist()
	}
	f := &File{
		Schema: SchemaVersion, Tool: "ssebench", Version: "v0.1.0-test", Started: htmlFixtureStart,
		DurationS: float64(fx.seconds), Scenario: json.RawMessage(fx.scenario), Shard: "1/1",
		Environment: Environment{Host: "bench-01", OS: "linux", Arch: "amd64", CPUs: 16, GoVersion: "go1.26.8",
			FDLimit: 20000, Target: "http://127.0.0.1:8080"},
		Counters: Counters{Errors: map[string]int64{}},
	}
	c := &f.Counters
	for s := 1; s <= fx.seconds; s++ {
		active := min(fx.rampTo, fx.rampTo*s/fx.rampSecs)
		load := float64(active)
		over := max(0, (load-fx.knee)/(0.3*fx.knee))
		slow := 1 + over*over
		// A closed model: each active stream starts its next one when the
		// previous ends, so starts per second are active / e2e.
		e2eMean := (150*slow + float64(fx.perStream)*20*(1+0.3*(slow-1))) / 1000
		started := int(math.Round(load / e2eMean))
		tt, q := newHTMLFixtureHist(), newHTMLFixtureHist()
		var errs, events, tokens int64
		for range started {
			queue := 0.2 + rng.ExpFloat64()*0.3
			if load > 0.8*float64(fx.rampTo) {
				queue += rng.ExpFloat64() * (load - 0.8*float64(fx.rampTo)) / 12
			}
			htmlRecordMs(tb, q, queue, 1)
			htmlRecordMs(tb, hs["queue"], queue, 1)
			if load > fx.knee && rng.Float64() < (load-fx.knee)/30000 {
				errs++
				switch r := rng.Float64(); {
				case r < 0.7:
					c.Errors["http_status:503"]++
				case r < 0.95:
					c.Errors["timeout_first_byte"]++
				default:
					c.Errors["reset"]++
				}
				continue
			}
			connect := 0.6 + rng.ExpFloat64()*0.4
			ttft := 150 * slow * math.Exp(rng.NormFloat64()*0.25)
			if rng.Float64() < 0.01 {
				ttft *= 2 + 3*rng.Float64()
			}
			gapMean := 20 * (1 + 0.3*(slow-1))
			var sum float64
			for range fx.perStream / int(fx.gapWeight) {
				g := gapMean * (0.5 + rng.ExpFloat64()*0.5)
				if rng.Float64() < 0.002 {
					g *= 10
				}
				sum += g * float64(fx.gapWeight)
				htmlRecordMs(tb, hs["gap"], g, fx.gapWeight)
				htmlRecordMs(tb, hs["itl"], g, fx.gapWeight)
			}
			e2e := ttft + sum
			htmlRecordMs(tb, hs["connect"], connect, 1)
			htmlRecordMs(tb, hs["ttfb"], connect+2+ttft*0.05, 1)
			htmlRecordMs(tb, hs["ttfe"], ttft*0.98, 1)
			htmlRecordMs(tb, hs["ttft"], ttft, 1)
			htmlRecordMs(tb, tt, ttft, 1)
			htmlRecordMs(tb, hs["tpot"], (e2e-ttft)/float64(fx.perStream-1), 1)
			htmlRecordMs(tb, hs["e2e"], e2e, 1)
			htmlRecordMs(tb, hs["ttft_sched"], ttft+queue, 1)
			htmlRecordMs(tb, hs["e2e_sched"], e2e+queue, 1)
			events += int64(fx.perStream + 1)
			tokens += int64(fx.perStream)
		}
		c.StreamsStarted += int64(started)
		c.StreamsFailed += errs
		c.StreamsOK += int64(started) - errs
		c.Events += events
		c.ContentEvents += tokens
		c.Tokens += tokens
		c.Bytes += events * 180
		f.Intervals = append(f.Intervals, Interval{
			TS: float64(s), At: htmlFixtureStart.Add(time.Duration(s) * time.Second),
			Active: int64(active), Started: int64(started), Events: events, Tokens: tokens, Errors: errs,
			TTFTP50: htmlMsOf(tt.ValueAtQuantile(50)), TTFTP99: htmlMsOf(tt.ValueAtQuantile(99)), LagP99: htmlMsOf(q.ValueAtQuantile(99)),
		})
	}
	c.Aborted = int64(f.Intervals[len(f.Intervals)-1].Active)
	f.Metrics = map[string]*MetricStats{}
	for _, n := range names {
		f.Metrics[n] = htmlStatsOf(tb, hs[n])
	}
	d := float64(fx.seconds)
	f.Rates = Rates{EventsPerS: float64(c.Events) / d, StreamsPerS: float64(c.StreamsStarted) / d, TokensPerS: float64(c.Tokens) / d}
	errRate := float64(c.StreamsFailed) / float64(c.StreamsStarted)
	f.Thresholds = []ThresholdResult{
		{Expr: "ttft.p99 < 1000ms", Observed: f.Metrics["ttft"].P99, Unit: "ms", Pass: f.Metrics["ttft"].P99 < 1000},
		{Expr: "gap.p50 <= 30ms", Observed: f.Metrics["gap"].P50, Unit: "ms", Pass: f.Metrics["gap"].P50 <= 30},
		{Expr: "errors.rate < 1%", Observed: errRate, Unit: "fraction", Pass: errRate < 0.01},
		{Expr: "events.rate > 10000/s", Observed: f.Rates.EventsPerS, Unit: "/s", Pass: f.Rates.EventsPerS > 10000},
		{Expr: "tpot.p99 < 50ms", Error: "metric tpot has no samples in the baseline window"},
	}
	f.Degraded = f.Metrics["queue"].P99 > 10
	f.Notes = []string{
		"schedule lag p99 exceeded 10 ms: the load generator was saturated in the last stage",
		fmt.Sprintf("%d streams were still open when the run ended and were aborted", c.Aborted),
	}
	return f
}

// htmlDefaultRunFile is shaped like the default run (1,000 streams, 10 s,
// ~64 events each, every metric present), for the size bound.
func htmlDefaultRunFile(tb testing.TB) *File {
	fx := htmlRunFixture{seconds: 10, rampTo: 1000, rampSecs: 1, knee: 5000, perStream: 64, gapWeight: 1, scenario: `{"name":"default"}`}
	return fx.build(tb)
}

func htmlConformanceFixture() *ConformanceReport {
	const spec = "https://html.spec.whatwg.org/multipage/server-sent-events.html"
	at := func(off int64, ev int, bytes string) *ConformanceEvidence {
		return &ConformanceEvidence{Connection: "main", Offset: &off, Event: &ev, Bytes: bytes}
	}
	r := &ConformanceReport{
		Target:    "https://api.example.test/v1/stream",
		Method:    "GET",
		Started:   htmlFixtureStart,
		DurationS: 12.4,
		Checks: []ConformanceCheck{
			{ID: "http/status", Level: "MUST", Status: "pass", Message: "200 OK", Spec: spec + "#the-eventsource-interface"},
			{ID: "http/content-type", Level: "MUST", Status: "pass", Message: "text/event-stream; charset=utf-8", Spec: spec + "#the-eventsource-interface"},
			{ID: "http/cache-control", Level: "SHOULD", Status: "warn", Message: "Cache-Control is missing: a proxy may buffer or cache the stream", Spec: spec + "#authoring-notes",
				Rule: "Cache-Control has no-cache or no-store", Evidence: &ConformanceEvidence{Connection: "main"}},
			{ID: "http/cors", Level: "MUST", Status: "skip", Message: "no --origin given"},
			{ID: "stream/first-event", Level: "MUST", Status: "pass", Message: "first event after 212 ms (deadline 10 s)"},
			{ID: "stream/incremental", Level: "MUST", Status: "fail", Message: "all 64 events arrived within 3 ms of the end of the body: the response is buffered (proxy or compression)", Spec: spec + "#authoring-notes",
				Evidence: &ConformanceEvidence{Connection: "main", Event: new(int), Detail: "first event at 1.2s, last at 1.2s"}},
			{ID: "stream/heartbeat", Level: "SHOULD", Status: "pass", Message: "longest silence 1.2 s (window 15 s)"},
			{ID: "framing/utf8", Level: "MUST", Status: "fail", Message: "invalid UTF-8 in a data field", Spec: spec + "#parsing-an-event-stream",
				Evidence: at(1834, 12, `data: caf\xc3 \xff\r\n`)},
			{ID: "framing/bom", Level: "MUST", Status: "pass", Message: "no BOM after the start"},
			{ID: "framing/retry", Level: "MUST", Status: "fail", Message: "retry value is not ASCII digits: clients ignore it", Spec: spec + "#parsing-an-event-stream",
				Evidence: at(0, 0, `retry: 3s\n\n`)},
			{ID: "framing/known-fields", Level: "SHOULD", Status: "warn", Message: "unknown field \"dat\": clients drop the line silently", Spec: spec + "#parsing-an-event-stream",
				Evidence: at(4096, 31, `dat: {"delta":"hi"}\n`)},
			{ID: "framing/line-endings", Level: "SHOULD", Status: "warn", Message: "mixed line endings: CRLF and bare CR", Spec: spec + "#parsing-an-event-stream",
				Evidence: at(77, 3, `data: a\r\ndata: b\rdata: c\n\n`)},
			{ID: "resume/ids-present", Level: "SHOULD", Status: "pass", Message: "every event has an id"},
			{ID: "resume/ids-unique", Level: "MUST", Status: "pass", Message: "64 ids, none repeated"},
			{ID: "resume/last-event-id", Level: "MUST", Status: "pass", Message: "resumed after event 17 with exactly event 18"},
			{ID: "reconnect/accepted", Level: "MUST", Status: "pass", Message: "200 with a stream"},
			{ID: "lifecycle/finite-end", Level: "SHOULD", Status: "skip", Message: "the stream is infinite"},
		},
	}
	for i := range r.Checks {
		r.Checks[i].Group, _, _ = strings.Cut(r.Checks[i].ID, "/")
	}
	r.Summarize()
	return r
}

// ---- helpers ---------------------------------------------------------------

func renderHTMLRun(tb testing.TB, f *File) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, f); err != nil {
		tb.Fatalf("WriteHTML: %v", err)
	}
	return buf.Bytes()
}

func renderHTMLConformance(tb testing.TB, r *ConformanceReport) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := WriteConformanceHTML(&buf, r); err != nil {
		tb.Fatalf("WriteConformanceHTML: %v", err)
	}
	return buf.Bytes()
}

func checkHTMLGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "html", name+".golden.html"), got)
}

// htmlParsedChart is one parsed <svg data-chart> element.
type htmlParsedChart struct {
	name  string
	paths []string // d attributes
}

// parseHTMLReport parses page as HTML and returns its charts and every URL-like
// attribute value (href, src, ...) with the element it is on.
func parseHTMLReport(tb testing.TB, page []byte) (charts []htmlParsedChart, refs []string, doc *html.Node) {
	tb.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		tb.Fatalf("parse HTML: %v", err)
	}
	var walk func(n *html.Node, cur int)
	walk = func(n *html.Node, cur int) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch strings.ToLower(a.Key) {
				case "href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href", "background", "ping", "manifest":
					refs = append(refs, n.Data+" "+a.Key+"="+a.Val)
				}
			}
			if n.Data == "svg" {
				if name, ok := htmlAttr(n, "data-chart"); ok {
					charts = append(charts, htmlParsedChart{name: name})
					cur = len(charts) - 1
				}
			}
			if cur >= 0 && n.Data == "path" {
				d, _ := htmlAttr(n, "d")
				charts[cur].paths = append(charts[cur].paths, d)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, -1)
	return charts, refs, doc
}

// htmlElementsNamed returns the elements of page with one of the names.
func htmlElementsNamed(tb testing.TB, page string, names ...string) []string {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		tb.Fatalf("parse HTML: %v", err)
	}
	var out []string
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		if n.Type == html.ElementNode && slices.Contains(names, n.Data) {
			out = append(out, n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	return out
}

func htmlAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func htmlChartNames(cs []htmlParsedChart) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.name)
	}
	return out
}

// pathPoints counts the coordinates pairs a path's data draws, roughly.
var htmlPathCmd = regexp.MustCompile(`[MLHVZ]`)

// ---- tests -----------------------------------------------------------------

func TestHTMLGolden(t *testing.T) {
	f := htmlRampFixture.build(t)
	checkHTMLGolden(t, "run", renderHTMLRun(t, f))
	checkHTMLGolden(t, "conformance", renderHTMLConformance(t, htmlConformanceFixture()))
}

func TestHTMLDeterministic(t *testing.T) {
	f := htmlRampFixture.build(t)
	a, b := renderHTMLRun(t, f), renderHTMLRun(t, f)
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same File differ")
	}
}

var htmlWantRunCharts = []string{
	"spectrum-connect", "spectrum-ttfb", "spectrum-ttfe", "spectrum-ttft", "spectrum-gap",
	"spectrum-itl", "spectrum-tpot", "spectrum-e2e", "spectrum-queue",
	"ts-active", "ts-events", "ts-errors", "ts-ttft", "ts-lag",
	"load-latency", "load-throughput",
}

// htmlWantSteadyCharts are the charts of a run at constant load: no load
// axis to plot against.
var htmlWantSteadyCharts = htmlWantRunCharts[:len(htmlWantRunCharts)-2]

func TestHTMLStructure(t *testing.T) {
	f := htmlRampFixture.build(t)
	page := renderHTMLRun(t, f)
	charts, refs, _ := parseHTMLReport(t, page)
	if got := htmlChartNames(charts); !slices.Equal(got, htmlWantRunCharts) {
		t.Errorf("charts = %q\nwant     %q", got, htmlWantRunCharts)
	}
	for _, c := range charts {
		drawn := false
		for _, d := range c.paths {
			if strings.HasPrefix(d, "M") && len(htmlPathCmd.FindAllString(d, -1)) >= 2 {
				drawn = true
			}
		}
		if !drawn {
			t.Errorf("chart %s draws no path: %q", c.name, c.paths)
		}
	}
	for _, r := range refs {
		val := r[strings.Index(r, "=")+1:]
		if !strings.HasPrefix(val, "#") {
			t.Errorf("run report references something outside the page: %s", r)
		}
	}
	s := string(page)
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "@import", "url(", "http-equiv"} {
		if strings.Contains(strings.ToLower(s), bad) {
			t.Errorf("run report contains %q", bad)
		}
	}
	for _, want := range []string{
		`data-verdict="fail"`, "ttft.p99 &lt; 1000ms", "Degraded run", "http_status:503", "HTTP 503 response",
		"capacity-ramp", "schedule lag p99 exceeded 10 ms", "ttft_sched (from schedule)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("run report lacks %q", want)
		}
	}
	// The grouped twin has a line in the ttft chart and no chart of its own.
	if strings.Contains(s, `data-chart="spectrum-ttft_sched"`) {
		t.Error("ttft_sched has its own chart; it belongs in the ttft chart")
	}
}

func TestHTMLSpectrumMatchesHistogram(t *testing.T) {
	f := htmlRampFixture.build(t)
	m := f.Metrics["ttft"]
	h, err := hdrhistogram.Decode([]byte(m.HDR))
	if err != nil {
		t.Fatal(err)
	}
	l := spectrumFromHist("ttft", h, 4)
	if len(l.xs) != spectrumPoints {
		t.Fatalf("spectrum has %d points, want %d", len(l.xs), spectrumPoints)
	}
	if l.ms[0] != m.Min {
		t.Errorf("spectrum starts at %v, want the minimum %v", l.ms[0], m.Min)
	}
	// x = 2 is p99 exactly: the curve must pass through the file's p99.
	i := slices.IndexFunc(l.xs, func(x float64) bool { return math.Abs(x-2) < 1e-9 })
	if i < 0 {
		// 200 points over 4 decades do not hit x=2 exactly; compare the
		// value at p99 through the same path instead.
		if got := htmlMsOf(h.ValueAtQuantile(99)); got != m.P99 {
			t.Errorf("p99 from the histogram %v != file %v", got, m.P99)
		}
	} else if l.ms[i] != m.P99 {
		t.Errorf("spectrum at p99 = %v, want %v", l.ms[i], m.P99)
	}
	if !slices.IsSorted(l.ms) {
		t.Error("spectrum is not monotonic")
	}
	if last := l.ms[len(l.ms)-1]; last > m.Max || last < m.P999 {
		t.Errorf("spectrum ends at %v, want within [p99.9 %v, max %v]", last, m.P999, m.Max)
	}
}

func TestHTMLSizeBound(t *testing.T) {
	const limit = 2 << 20
	f := htmlDefaultRunFile(t)
	page := renderHTMLRun(t, f)
	t.Logf("default-shaped run (%s streams, %s gap samples): %d bytes", humanCount(f.Counters.StreamsStarted), humanCount(f.Metrics["gap"].Count), len(page))
	if len(page) > limit {
		t.Errorf("default run report is %d bytes, limit %d", len(page), limit)
	}

	// An hour of 1 s intervals: downsampled, still bounded.
	long := htmlDefaultRunFile(t)
	long.DurationS = 3600
	base := long.Intervals
	long.Intervals = nil
	for s := 1; s <= 3600; s++ {
		iv := base[s%len(base)]
		iv.TS = float64(s)
		iv.Active = int64(500 + 500*math.Sin(float64(s)/300))
		long.Intervals = append(long.Intervals, iv)
	}
	page = renderHTMLRun(t, long)
	t.Logf("one-hour run: %d bytes", len(page))
	if len(page) > limit {
		t.Errorf("one-hour report is %d bytes, limit %d", len(page), limit)
	}
	charts, _, _ := parseHTMLReport(t, page)
	for _, c := range charts {
		for _, d := range c.paths {
			if n := len(htmlPathCmd.FindAllString(d, -1)); n > 2*htmlMaxSeriesPoints+8 {
				t.Errorf("chart %s: a path has %d commands, more than the point budget", c.name, n)
			}
		}
	}
	if !strings.Contains(string(page), "each point merges 6 consecutive intervals") {
		t.Error("downsampling is not stated")
	}
}

func TestHTMLEscapesHostileInput(t *testing.T) {
	const evil = `</script><script>alert(1)</script>`
	f := htmlDefaultRunFile(t)
	f.Scenario = json.RawMessage(`{"name":"` + evil + `","url":"javascript:alert(2)"}`)
	f.Environment.Target = evil
	f.Environment.Host = `"><img src=x onerror=alert(3)>`
	f.Notes = append(f.Notes, evil)
	f.Thresholds = append(f.Thresholds, ThresholdResult{Expr: evil, Error: evil})
	f.Counters.Errors[evil] = 3
	f.Metrics[evil] = f.Metrics["connect"]
	f.Version = evil

	page := string(renderHTMLRun(t, f))
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("hostile input reached the page unescaped: found %q", bad)
		}
	}
	if els := htmlElementsNamed(t, page, "script", "img"); len(els) > 0 {
		t.Errorf("hostile input made elements: %q", els)
	}
	if !strings.Contains(page, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile scenario text is not shown escaped")
	}
	charts, refs, _ := parseHTMLReport(t, []byte(page))
	for _, r := range refs {
		if !strings.Contains(r, "=#") {
			t.Errorf("hostile input made a reference: %s", r)
		}
	}
	if !slices.Contains(htmlChartNames(charts), "spectrum-"+evil) {
		t.Error("a metric with a strange name lost its chart")
	}

	// Invalid scenario JSON is shown raw (escaped), not dropped.
	f.Scenario = json.RawMessage(`{"broken": ` + evil)
	page = string(renderHTMLRun(t, f))
	if strings.Contains(page, "<script") || !strings.Contains(page, `{&#34;broken&#34;: &lt;/script&gt;`) {
		t.Error("invalid scenario JSON is not shown escaped")
	}

	// The conformance page: evidence and messages are data, and only
	// http(s) spec links become links.
	r := htmlConformanceFixture()
	r.Target = evil
	r.Checks = append(r.Checks,
		ConformanceCheck{ID: "framing/" + evil, Level: "MUST", Status: "fail", Message: evil, Evidence: &ConformanceEvidence{Bytes: evil + `\x00`, Detail: evil}, Spec: "javascript:alert(4)"},
		ConformanceCheck{ID: "http/x", Level: "MUST", Status: "fail", Message: "m", Spec: `https://example.test/"><script>alert(5)</script>`},
	)
	page = string(renderHTMLConformance(t, r))
	if strings.Contains(page, "<script") || strings.Contains(page, `href="javascript:`) {
		t.Error("hostile conformance input reached the page unescaped")
	}
	if els := htmlElementsNamed(t, page, "script", "img"); len(els) > 0 {
		t.Errorf("hostile conformance input made elements: %q", els)
	}
}

func TestConformanceHTMLStructure(t *testing.T) {
	r := htmlConformanceFixture()
	page := renderHTMLConformance(t, r)
	charts, refs, doc := parseHTMLReport(t, page)
	if got := htmlChartNames(charts); !slices.Equal(got, []string{"conformance-summary"}) {
		t.Errorf("charts = %q", got)
	}
	for _, ref := range refs {
		val := ref[strings.Index(ref, "=")+1:]
		switch {
		case strings.HasPrefix(val, "#"):
		case strings.HasPrefix(val, "https://html.spec.whatwg.org/"):
			if !strings.HasPrefix(ref, "a ") {
				t.Errorf("spec URL used as a resource: %s", ref)
			}
		default:
			t.Errorf("conformance report references %s", ref)
		}
	}
	s := string(page)
	for _, bad := range []string{"<script", "<link", "<img", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("conformance report contains %q", bad)
		}
	}
	// Areas in catalogue order, each check once.
	var sections []string
	var articles int
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if id, _ := htmlAttr(n, "id"); n.Data == "section" && strings.HasPrefix(id, "area-") {
				sections = append(sections, strings.TrimPrefix(id, "area-"))
			}
			if n.Data == "article" {
				articles++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	if want := []string{"http", "stream", "framing", "resume", "reconnect", "lifecycle"}; !slices.Equal(sections, want) {
		t.Errorf("areas = %q, want %q", sections, want)
	}
	if articles != len(r.Checks) {
		t.Errorf("%d checks drawn, want %d", articles, len(r.Checks))
	}
	for _, want := range []string{
		`data-verdict="fail"`,
		`<span class="esc">\xc3</span>`, `<span class="esc">\xff</span>`, `<span class="esc">\r</span><span class="esc">\n</span>`,
		"main · byte offset 1,834 · event 12", "main · byte offset 0 · event 0 · 11 bytes", `href="#check-framing-utf8"`,
		"first event at 1.2s, last at 1.2s", "SHOULD: Cache-Control has no-cache or no-store",
		"spec: parsing-an-event-stream",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("conformance report lacks %q", want)
		}
	}
}

func TestConformanceHTMLDerivedVerdict(t *testing.T) {
	r := &ConformanceReport{Target: "http://127.0.0.1:1/", Checks: []ConformanceCheck{
		{ID: "http/status", Level: "MUST", Status: "pass"},
		{ID: "http/cache-control", Level: "SHOULD", Status: "fail"},
		{ID: "custom/thing", Level: "MUST", Status: "warn"},
	}}
	v := newConfView(r)
	if v.Verdict.Class != "pass" {
		t.Errorf("verdict = %q: a failed SHOULD must not fail the run", v.Verdict.Class)
	}
	got := map[string]int{}
	for _, c := range v.Counts {
		got[c.Status] = c.N
	}
	if want := map[string]int{"pass": 1, "fail": 1, "warn": 1, "skip": 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	if n := len(v.Areas); n != 2 || v.Areas[1].ID != "custom" {
		t.Errorf("areas = %+v: groups in the report's order", v.Areas)
	}
	r.Checks[0].Status = "fail"
	if v := newConfView(r); v.Verdict.Class != "fail" {
		t.Errorf("verdict = %q after a MUST failure", v.Verdict.Class)
	}
	if page := renderHTMLConformance(t, &ConformanceReport{}); !bytes.Contains(page, []byte("No checks were run")) {
		t.Error("an empty report does not say so")
	}
}

func TestConformanceJSONShape(t *testing.T) {
	off, ev := int64(3), 2
	r := &ConformanceReport{Target: "t", Checks: []ConformanceCheck{{ID: "a/b", Group: "a", Level: "MUST", Status: "fail", Message: "m",
		Evidence: &ConformanceEvidence{Bytes: "e", Offset: &off, Event: &ev}, Spec: "s", Rule: "r"}}}
	r.Summarize()
	var b bytes.Buffer
	if err := WriteConformanceJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["schema"] != float64(ConformanceSchema) || m["kind"] != "conformance" || m["tool"] != "ssebench" {
		t.Errorf("header: %s", b.Bytes())
	}
	for _, k := range []string{"target", "method", "started", "duration_s", "checks", "summary"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b.Bytes())
		}
	}
	check := m["checks"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "group", "level", "status", "message", "rule", "spec", "evidence", "duration_s"} {
		if _, ok := check[k]; !ok {
			t.Errorf("check JSON lacks %q: %s", k, b.Bytes())
		}
	}
	if e := check["evidence"].(map[string]any); e["event"] != float64(2) || e["offset"] != float64(3) {
		t.Errorf("evidence %v: events are counted from 0 in the JSON too", e)
	}
	if s := m["summary"].(map[string]any); s["fail"] != float64(1) || s["passed"] != false {
		t.Errorf("summary %v", s)
	}
}

func TestHTMLEmptyAndSparseFiles(t *testing.T) {
	if err := WriteHTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteHTML(nil) did not fail")
	}
	cases := map[string]*File{
		"empty": {},
		"no histograms": {Metrics: map[string]*MetricStats{
			"ttft": {Count: 10, Min: 1, P50: 2, P90: 3, P95: 4, P99: 5, P999: 6, Max: 7},
			"gap":  {Count: 0},
		}},
		"bad histogram": {Metrics: map[string]*MetricStats{"ttft": {Count: 1, Min: 1, Max: 1, HDR: "not base64!"}}},
		"one interval":  {Intervals: []Interval{{TS: 1, Active: 3, Events: 10}}},
		"zeros": {Intervals: []Interval{{TS: 1}, {TS: 2}, {TS: 2}, {TS: 3}},
			Metrics: map[string]*MetricStats{"ttft": htmlStatsOf(t, newHTMLFixtureHist())}},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			page := renderHTMLRun(t, f)
			charts, _, _ := parseHTMLReport(t, page)
			for _, c := range charts {
				if len(c.paths) == 0 || !slices.ContainsFunc(c.paths, func(d string) bool { return strings.HasPrefix(d, "M") }) {
					t.Errorf("chart %s has no path", c.name)
				}
			}
			s := string(page)
			if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
				t.Error("page contains NaN or Inf")
			}
		})
	}
	page := string(renderHTMLRun(t, cases["bad histogram"]))
	if !strings.Contains(page, "histogram unreadable") {
		t.Error("an unreadable histogram is not reported")
	}
}

func TestHTMLNiceTicks(t *testing.T) {
	tests := []struct {
		max     float64
		n       int
		integer bool
		want    []float64
	}{
		{0, 4, false, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0, 4, true, []float64{0, 1}},
		{3, 4, true, []float64{0, 1, 2, 3}},
		{7, 4, true, []float64{0, 2, 4, 6, 8}},
		{97, 5, false, []float64{0, 20, 40, 60, 80, 100}},
		{1234, 4, true, []float64{0, 250, 500, 750, 1000, 1250}},
		{0.42, 4, false, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5}},
		{1, 3, false, []float64{0, 0.25, 0.5, 0.75, 1}},
		{812, 5, false, []float64{0, 200, 400, 600, 800, 1000}},
		{2400, 6, true, []float64{0, 500, 1000, 1500, 2000, 2500}},
	}
	for _, tt := range tests {
		got := svgNiceTicks(tt.max, tt.n, tt.integer)
		if len(got) != len(tt.want) {
			t.Errorf("svgNiceTicks(%v, %d, %v) = %v, want %v", tt.max, tt.n, tt.integer, got, tt.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-9 {
				t.Errorf("svgNiceTicks(%v, %d, %v) = %v, want %v", tt.max, tt.n, tt.integer, got, tt.want)
				break
			}
		}
	}
}

func TestHTMLFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{humanMs(0), "0 ms"},
		{humanMs(0.85), "850 µs"},
		{humanMs(4.567), "4.57 ms"},
		{humanMs(12.34), "12.3 ms"},
		{humanMs(812.4), "812 ms"},
		{humanMs(15234), "15.23 s"},
		{humanMs(3_600_000), "1h0m0s"},
		{humanCount(0), "0"},
		{humanCount(1234567), "1,234,567"},
		{humanCount(-1234), "-1,234"},
		{humanRate(12.345), "12.3"},
		{humanRate(12345.6), "12,346"},
		{humanPercent(0.0123), "1.23%"},
		{humanPercent(0.00001), "0.001%"},
		{humanPercent(0.0000123), "0.0012%"},
		{humanPercent(0.5), "50%"},
		{humanBytes(999), "999 B"},
		{humanBytes(12_345_678), "11.8 MiB"},
		{humanSeconds(10), "10 s"},
		{humanSeconds(3600), "1h0m0s"},
		{svgTickLabel(1500), "1500"},
		{svgTickLabel(25000), "25k"},
		{svgTickLabel(1_500_000), "1.5M"},
		{svgClock(90, 120), "90 s"},
		{svgClock(90, 600), "1:30"},
		{svgClock(3725, 7200), "1:02:05"},
		{spectrumLabel(spectrumPercentile(2.5), 2.5), "99.68"},
		{spectrumLabel(spectrumPercentile(0.5), 0.5), "68.4"},
		{fmtObserved(0.0123, scenarios.UnitFraction), "1.23%"},
		{fmtObserved(12000, scenarios.UnitPerSecond), "12,000/s"},
		{fmtObserved(212.4, scenarios.UnitMillis), "212.4 ms"},
		{fmtObserved(3, scenarios.UnitCount), "3"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestHTMLEvidenceSegments(t *testing.T) {
	got := evidenceSegments("a\r\nb\x00\xff\ufeffc\tok")
	var b strings.Builder
	for _, s := range got {
		if s.Esc {
			b.WriteString("[" + s.Text + "]")
		} else {
			b.WriteString(s.Text)
		}
	}
	if want := "a[\\r][\\n]\nb[\\x00][\\xff][\\uFEFF]c[\\t]ok"; b.String() != want {
		t.Errorf("segments = %q, want %q", b.String(), want)
	}
}

func TestHTMLDownsample(t *testing.T) {
	var ivs []Interval
	for i := 1; i <= 1000; i++ {
		ivs = append(ivs, Interval{TS: float64(i), Active: int64(i), Events: 10, Errors: 1, TTFTP50: 5, TTFTP99: float64(i), LagP99: 1})
	}
	out, k := downsampleIntervals(ivs, 600)
	if k != 2 || len(out) != 500 {
		t.Fatalf("got %d points in groups of %d, want 500 of 2", len(out), k)
	}
	if o := out[0]; o.TS != 2 || o.Active != 2 || o.Events != 20 || o.Errors != 2 || o.TTFTP99 != 2 || o.TTFTP50 != 5 {
		t.Errorf("first merged interval = %+v", o)
	}
	same, k := downsampleIntervals(ivs[:10], 600)
	if k != 1 || len(same) != 10 {
		t.Errorf("short series changed: %d points, k=%d", len(same), k)
	}
}
