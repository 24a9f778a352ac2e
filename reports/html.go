package reports

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/scenarios"
)

// The HTML reports are one self-contained file each: the stylesheet is
// inlined, every chart is an inline SVG drawn here, and there is no script and
// no external reference, so a report opens offline, prints, and can be
// attached to a CI run as is. Everything taken from the File is escaped by
// html/template (the scenario text is untrusted).

//go:embed htmlassets
var htmlAssets embed.FS

var (
	htmlStyle        = htmlMustAsset("htmlassets/style.css")
	htmlRunTemplate  = template.Must(template.New("run.html.tmpl").ParseFS(htmlAssets, "htmlassets/run.html.tmpl", "htmlassets/chart.html.tmpl"))
	htmlConfTemplate = template.Must(template.New("conformance.html.tmpl").ParseFS(htmlAssets, "htmlassets/conformance.html.tmpl", "htmlassets/chart.html.tmpl"))
)

func htmlMustAsset(name string) template.CSS {
	b, err := htmlAssets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return template.CSS(b)
}

// Bounds on what a report draws, so its size does not grow with the run.
const (
	// htmlMaxSeriesPoints is the most points a time-series chart draws; longer
	// runs are downsampled by merging consecutive intervals.
	htmlMaxSeriesPoints = 600
	// spectrumPoints is the number of percentiles sampled for a percentile
	// spectrum.
	spectrumPoints = 200
	// spectrumBands is the number of hover columns (tooltips) per spectrum.
	spectrumBands = 100
)

// WriteHTML renders f as one self-contained HTML page: the verdict, headline
// numbers, thresholds, a table of every latency metric, the percentile
// spectrum of each metric computed from its HdrHistogram, the per-interval
// time series, the error breakdown, counters, notes and the run's
// configuration. The page needs no network and no script. WriteHTML does not
// modify f.
func WriteHTML(w io.Writer, f *File) error {
	if f == nil {
		return errors.New("reports: WriteHTML: nil File")
	}
	v := newHTMLRunView(f)
	var buf bytes.Buffer
	if err := htmlRunTemplate.Execute(&buf, v); err != nil {
		return fmt.Errorf("reports: WriteHTML: render: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("reports: WriteHTML: %w", err)
	}
	return nil
}

// ---- view model ----------------------------------------------------------

type htmlRunView struct {
	CSS        template.CSS
	Title      string
	Target     string
	Started    string
	Duration   string
	Tool       string
	Version    string
	Shard      string
	Schema     int
	Verdict    htmlVerdict
	Degraded   bool
	KPIs       []htmlKPI
	Thresh     []htmlThresholdRow
	Metrics    []htmlMetricRow
	Spectra    []*svgChart
	Series     []*svgChart
	Scatter    []*svgChart
	PeakActive string // the highest load, shown when Scatter is empty
	Downsample int
	Errors     []htmlErrorRow
	ErrTotal   string
	Failures   []htmlFailureClass
	Generator  *htmlGenerator
	Shards     *htmlShards
	Counters   []htmlKV
	Notes      []string
	Scenario   string
	Env        []htmlKV
}

type htmlVerdict struct {
	Class  string // "pass", "fail", "none"
	Label  string
	Detail string
}

type htmlKPI struct {
	Label, Value, Sub, Class, Title string
}

type htmlThresholdRow struct {
	Expr, Observed, Error string
	Pass                  bool
}

type htmlMetricRow struct {
	Name, Desc, Count                        string
	Min, Mean, P50, P90, P95, P99, P999, Max htmlCell
	Stddev                                   string
	OutOfRange                               string
	Empty                                    bool
}

type htmlCell struct {
	Text, Exact string
}

type htmlErrorRow struct {
	Class, Hint, Count, Attempts, Share, OfStarted string
	Bar                                            svgNum
}

type htmlKV struct {
	Key, Value, Hint string
}

// newHTMLRunView prepares everything the run template shows. A histogram
// that cannot be decoded is not an error: its chart falls back to the
// summary percentiles and a note says so.
func newHTMLRunView(f *File) *htmlRunView {
	v := &htmlRunView{
		CSS:      htmlStyle,
		Target:   Escape(f.Environment.Target),
		Tool:     cmp.Or(f.Tool, "ssebench"),
		Version:  f.Version,
		Shard:    f.Shard,
		Schema:   f.Schema,
		Degraded: f.Degraded,
		Notes:    f.Notes,
		Duration: humanSeconds(f.DurationS),
	}
	v.Title = "ssebench report"
	if v.Target != "" {
		v.Title += " · " + v.Target
	}
	if !f.Started.IsZero() {
		v.Started = f.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	v.Verdict = htmlVerdictOf(f.Thresholds)
	if why := Unserved(f); why != "" {
		v.Verdict = htmlVerdict{Class: "fail", Label: "FAIL", Detail: Escape(why)}
	}
	v.Thresh = htmlThresholdRows(f.Thresholds)

	names := htmlMetricNames(f.Metrics)
	hists := make(map[string]*hdrhistogram.Histogram, len(names))
	var decodeErrs []string
	for _, name := range names {
		m := f.Metrics[name]
		if m == nil || m.HDR == "" || m.Count == 0 {
			continue
		}
		h, err := hdrhistogram.Decode([]byte(m.HDR))
		if err != nil {
			decodeErrs = append(decodeErrs, fmt.Sprintf("metric %q: histogram unreadable (%v); its chart uses the summary percentiles", name, err))
			continue
		}
		hists[name] = h
	}
	v.Notes = append(slices.Clip(v.Notes), decodeErrs...)
	v.Metrics = htmlMetricRows(f.Metrics, names)
	v.KPIs = htmlKPIs(f)
	v.Spectra = spectrumCharts(f.Metrics, names, hists)

	ivs, k := downsampleIntervals(f.Intervals, htmlMaxSeriesPoints)
	v.Downsample = k
	v.Series = timeSeriesCharts(ivs)
	v.Scatter = loadCharts(ivs)
	if len(ivs) > 0 {
		var hi int64
		for _, iv := range ivs {
			hi = max(hi, iv.Active)
		}
		v.PeakActive = humanCount(hi)
	}

	v.Errors, v.ErrTotal = htmlErrorRows(f.Counters)
	v.Failures = htmlFailures(f.Failures)
	v.Generator = htmlGeneratorOf(f)
	v.Shards = htmlShardsOf(f)
	v.Counters = htmlCounterRows(f.Counters, f.Rates)
	v.Env = htmlEnvRows(f)
	v.Scenario = htmlPrettyJSON(f.Scenario)
	return v
}

func htmlVerdictOf(ths []ThresholdResult) htmlVerdict {
	if len(ths) == 0 {
		return htmlVerdict{Class: "none", Label: "NO THRESHOLDS", Detail: "no gate was set for this run"}
	}
	failed := 0
	for _, t := range ths {
		if !t.Pass {
			failed++
		}
	}
	if failed > 0 {
		return htmlVerdict{Class: "fail", Label: "FAIL", Detail: fmt.Sprintf("%d of %d thresholds failed", failed, len(ths))}
	}
	return htmlVerdict{Class: "pass", Label: "PASS", Detail: fmt.Sprintf("all %d thresholds passed", len(ths))}
}

func htmlThresholdRows(ths []ThresholdResult) []htmlThresholdRow {
	rows := make([]htmlThresholdRow, 0, len(ths))
	for _, t := range ths {
		r := htmlThresholdRow{Expr: t.Expr, Pass: t.Pass, Error: t.Error}
		if t.Error == "" {
			r.Observed = humanWithUnit(t.Observed, t.Unit)
		} else {
			r.Observed = "–"
		}
		rows = append(rows, r)
	}
	return rows
}

// humanWithUnit formats a threshold's observed value in its unit.
func humanWithUnit(v float64, unit string) string {
	switch unit {
	case scenarios.UnitMillis:
		return humanMs(v)
	case scenarios.UnitPerSecond:
		return humanRate(v) + "/s"
	case scenarios.UnitFraction:
		return humanPercent(v)
	case scenarios.UnitCount:
		return humanFloat(v)
	case "%":
		return humanFloat(v) + "%"
	}
	return humanFloat(v) + " " + unit
}

// htmlMetricOrder is the display order of the known metrics: the ones a reader
// looks at first, then the rest in the order of scenarios.Metric.
var htmlMetricOrder = []string{"ttft", "gap", "e2e", "ttfb", "ttfe", "connect", "itl", "tpot", "queue", "ttft_sched", "e2e_sched", "resume_gap"}

// htmlMetricDesc says in a few words what each metric measures, per stream
// (the unit of every metric; its reconnects included).
var htmlMetricDesc = map[string]string{
	"connect":    "dial + TLS handshake, per connection",
	"ttfb":       "stream's first request → response headers",
	"ttfe":       "stream's first request → first event",
	"ttft":       "stream's first request → first content event",
	"gap":        "between consecutive events of a stream, across reconnects",
	"itl":        "between consecutive content events, across reconnects",
	"tpot":       "(e2e − ttft) / (tokens − 1), per stream",
	"e2e":        "stream's first request → its end, reconnect waits included",
	"queue":      "scheduled start → request sent (generator lag)",
	"ttft_sched": "scheduled start → first content event",
	"e2e_sched":  "scheduled start → end of stream",
	"resume_gap": "drop → first event after the resume",
}

// htmlMetricNames returns the names in m in display order: known metrics first,
// then unknown ones alphabetically.
func htmlMetricNames(m map[string]*MetricStats) []string {
	rank := func(n string) int {
		if i := slices.Index(htmlMetricOrder, n); i >= 0 {
			return i
		}
		if mt, ok := scenarios.ParseMetric(n); ok {
			return len(htmlMetricOrder) + int(mt)
		}
		return math.MaxInt
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	return names
}

func htmlMetricRows(ms map[string]*MetricStats, names []string) []htmlMetricRow {
	rows := make([]htmlMetricRow, 0, len(names))
	mk := func(v float64) htmlCell {
		return htmlCell{Text: humanMs(v), Exact: strconv.FormatFloat(v, 'f', 3, 64) + " ms"}
	}
	for _, n := range names {
		m := ms[n]
		if m == nil {
			continue
		}
		r := htmlMetricRow{Name: n, Desc: htmlMetricDesc[n], Count: humanCount(m.Count)}
		if m.Count == 0 {
			r.Empty = true
			rows = append(rows, r)
			continue
		}
		r.Min, r.Mean, r.P50, r.P90 = mk(m.Min), mk(m.Mean), mk(m.P50), mk(m.P90)
		r.P95, r.P99, r.P999, r.Max = mk(m.P95), mk(m.P99), mk(m.P999), mk(m.Max)
		r.Stddev = humanMs(m.Stddev)
		if m.OutOfRange > 0 {
			r.OutOfRange = humanCount(m.OutOfRange)
		}
		rows = append(rows, r)
	}
	return rows
}

func htmlKPIs(f *File) []htmlKPI {
	c := f.Counters
	var out []htmlKPI
	out = append(out, htmlKPI{Label: "Duration", Value: humanSeconds(f.DurationS), Sub: "shard " + cmp.Or(f.Shard, "1/1")})
	out = append(out, htmlKPI{
		Label: "Streams started", Value: humanCount(c.StreamsStarted),
		Sub: fmt.Sprintf("%s ok · %s failed", humanCount(c.StreamsOK), humanCount(c.StreamsFailed)),
	})
	errRate := htmlKPI{Label: "Error rate", Value: "–", Sub: fmt.Sprintf("%s of %s streams", humanCount(c.StreamsFailed), humanCount(c.StreamsStarted))}
	if c.StreamsStarted > 0 {
		errRate.Value = humanPercent(float64(c.StreamsFailed) / float64(c.StreamsStarted))
		if c.StreamsFailed > 0 {
			errRate.Class = "bad"
		} else {
			errRate.Class = "good"
		}
	}
	out = append(out, errRate)
	thr := htmlKPI{Label: "Events / s", Value: humanRate(f.Rates.EventsPerS), Sub: humanRate(f.Rates.StreamsPerS) + " streams/s"}
	if f.Rates.TokensPerS > 0 {
		thr.Sub += " · " + humanRate(f.Rates.TokensPerS) + " tokens/s"
	}
	out = append(out, thr)
	for _, n := range []string{"ttft", "gap", "e2e"} {
		m := f.Metrics[n]
		if m == nil || m.Count == 0 {
			continue
		}
		out = append(out, htmlKPI{Label: n + " p99", Value: humanMs(m.P99), Sub: "p50 " + humanMs(m.P50) + " · max " + humanMs(m.Max)})
	}
	if m := f.Metrics["queue"]; m != nil && m.Count > 0 {
		k := htmlKPI{Label: "Schedule lag p99", Value: humanMs(m.P99), Sub: humanCount(c.ArrivalsDropped) + " arrivals dropped",
			Title: "how late requests went out against the arrival schedule (queue metric)"}
		if c.ArrivalsDropped > 0 || f.Degraded {
			k.Class = "bad"
		}
		out = append(out, k)
	} else if c.ArrivalsDropped > 0 {
		out = append(out, htmlKPI{Label: "Arrivals dropped", Value: humanCount(c.ArrivalsDropped), Class: "bad"})
	}
	return out
}

var htmlErrorHints = map[string]string{
	"dial":                 "TCP connection could not be made",
	"tls":                  "TLS handshake failed",
	"http_status":          "response status was not 200",
	"content_type":         "Content-Type was not text/event-stream",
	"timeout_first_byte":   "no response headers within the deadline",
	"timeout_idle":         "no bytes within the idle deadline",
	"timeout_total":        "stream outlived its total deadline",
	"parse":                "a parser limit was exceeded",
	"eof_mid_event":        "stream ended inside an event (data lost)",
	"eof_before_terminal":  "stream ended before its terminal event",
	"reset":                "connection broke mid-stream",
	"terminal_error_event": "server sent an error event",
	"other":                "request could not be made",
}

func htmlEnvRows(f *File) []htmlKV {
	e := f.Environment
	rows := []htmlKV{
		{Key: "target", Value: cmp.Or(e.Target, "–")},
		{Key: "started", Value: htmlTime(f.Started)},
		{Key: "duration", Value: humanSeconds(f.DurationS)},
		{Key: "tool", Value: strings.TrimSpace(cmp.Or(f.Tool, "ssebench") + " " + f.Version)},
		{Key: "schema", Value: strconv.Itoa(f.Schema)},
		{Key: "shard", Value: cmp.Or(f.Shard, "–")},
		{Key: "host", Value: cmp.Or(e.Host, "–")},
		{Key: "os / arch", Value: e.OS + " / " + e.Arch},
		{Key: "CPUs", Value: strconv.Itoa(e.CPUs)},
		{Key: "Go", Value: cmp.Or(e.GoVersion, "–")},
	}
	if e.FDLimit > 0 {
		rows = append(rows, htmlKV{Key: "file descriptor limit", Value: strconv.FormatUint(e.FDLimit, 10)})
	}
	if e.EmbeddedMock {
		rows = append(rows, htmlKV{Key: "mock server", Value: "embedded (in process)"})
	}
	return rows
}

func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format(time.RFC3339)
}

func htmlPrettyJSON(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// ---- charts ----------------------------------------------------------------

// num is a coordinate or size in SVG user units, printed without exponent.
type svgNum float64

func (n svgNum) String() string { return strconv.FormatFloat(float64(n), 'f', -1, 64) }

func svgRound(v float64) svgNum { return svgNum(math.Round(v*10) / 10) }

// chart is what chart.html.tmpl draws: an <svg data-chart=Name> with a grid,
// axes, series paths, optional dots, and hover bands carrying tooltips.
type svgChart struct {
	Name    string // the data-chart attribute
	Title   string
	Caption string
	Summary []svgSummaryRow // lines of key numbers under the chart
	W, H    svgNum
	PL, PT  svgNum // plot left, top
	PR, PB  svgNum // plot right, bottom
	XTicks  []svgTick
	YTicks  []svgTick
	XTitle  string
	YUnit   string
	Series  []svgSeries
	Dots    []svgDot
	Bands   []svgBand
	Note    string // text drawn in the plot, e.g. "no errors"
	Wide    bool
	NoFrame bool // no axis lines (bar-only charts)
}

// svgSummaryRow is one line of numbers under a chart, optionally labelled
// with the series it describes.
type svgSummaryRow struct {
	Label string
	Class string // the series' colour class, for the label's swatch
	Kind  string
	Items []htmlKV
}

type svgTick struct {
	Pos   svgNum
	Label string
	Minor bool
}

type svgSeries struct {
	Label string
	Class string // colour class: s0..s7
	D     string // path data
	Area  string // optional filled area path data
	Kind  string // "line", "dash", "bars", "zero"
}

type svgDot struct {
	X, Y  svgNum
	R     svgNum
	Class string
	Open  bool
	Title string
}

type svgBand struct {
	X, W  svgNum
	Title string
}

// YLabelX is where the y tick labels end (they are right-aligned).
func (c *svgChart) YLabelX() svgNum { return c.PL - 7 }

// XLabelY is the baseline of the x tick labels.
func (c *svgChart) XLabelY() svgNum { return c.PB + 16 }

// YUnitY is the baseline of the y unit, above the top tick label.
func (c *svgChart) YUnitY() svgNum { return c.PT - 10 }

// XMid is the middle of the plot area, horizontally.
func (c *svgChart) XMid() svgNum { return svgRound(float64(c.PL+c.PR) / 2) }

// YMid is the middle of the plot area, vertically.
func (c *svgChart) YMid() svgNum { return svgRound(float64(c.PT+c.PB) / 2) }

// XTitleY is the baseline of the x axis title.
func (c *svgChart) XTitleY() svgNum { return c.PB + 36 }

// PlotH is the height of the plot area.
func (c *svgChart) PlotH() svgNum { return c.PB - c.PT }

// linear maps a data range onto a pixel range.
type svgScale struct{ d0, d1, p0, p1 float64 }

func (s svgScale) at(v float64) float64 {
	if s.d1 == s.d0 {
		return s.p0
	}
	return s.p0 + (v-s.d0)/(s.d1-s.d0)*(s.p1-s.p0)
}

// svgNiceStep returns the smallest step of 1, 2, 2.5 or 5 times a power of
// ten that covers span in at most n+1 steps; with integer, only whole steps.
func svgNiceStep(span float64, n int, integer bool) float64 {
	if !(span > 0) || math.IsInf(span, 0) || n < 1 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, base := range []float64{mag, 10 * mag, 100 * mag} {
		for _, m := range []float64{1, 2, 2.5, 5} {
			step := m * base
			if integer && (step < 1 || step != math.Trunc(step)) {
				continue
			}
			if math.Ceil(span/step-1e-9) <= float64(n+1) {
				return step
			}
		}
	}
	return max(1000*mag, 1)
}

// svgNiceTicks returns tick values from 0 to a nice maximum at least max.
func svgNiceTicks(max float64, n int, integer bool) []float64 {
	if !(max > 0) {
		max = 1
	}
	step := svgNiceStep(max, n, integer)
	top := math.Ceil(max/step-1e-9) * step
	var out []float64
	for i := 0; ; i++ {
		// Round away float noise (3 × 0.2 = 0.6000000000000001).
		v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(i)*step, 'g', 12, 64), 64)
		if v > top+step/1e6 {
			break
		}
		out = append(out, v)
	}
	return out
}

// svgLatencyTicks returns nice y ticks for latencies up to maxMs (ms), in a
// unit that keeps tick labels short: µs below 1 ms, seconds once the axis
// reaches 10 s, else ms. Ticks are in the returned unit; scale converts ms
// to it.
func svgLatencyTicks(maxMs float64, n int) (ticks []float64, unit string, scale float64) {
	unit, scale = "ms", 1
	if maxMs > 0 && maxMs < 1 {
		unit, scale = "µs", 1000
	}
	ticks = svgNiceTicks(maxMs*scale, n, false)
	if unit == "ms" && ticks[len(ticks)-1] >= 10000 {
		unit, scale = "s", 0.001
		ticks = svgNiceTicks(maxMs*scale, n, false)
	}
	return ticks, unit, scale
}

// svgTickLabel formats an axis value compactly: 1500 stays, 25000 → "25k".
func svgTickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return humanTrim(v/1e6, 2) + "M"
	case a >= 1e4:
		return humanTrim(v/1e3, 1) + "k"
	}
	return humanTrim(v, 3)
}

func humanTrim(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// svgPath writes SVG path data with one decimal.
type svgPath struct {
	b    strings.Builder
	open bool
	lx   float64
	ly   float64
}

func (p *svgPath) num(v float64) {
	p.b.WriteString(humanTrim(math.Round(v*10)/10, 1))
}

func (p *svgPath) move(x, y float64) {
	if p.b.Len() > 0 {
		p.b.WriteByte(' ')
	}
	p.b.WriteByte('M')
	p.num(x)
	p.b.WriteByte(' ')
	p.num(y)
	p.open, p.lx, p.ly = true, x, y
}

// line draws to (x, y), or moves there when no subpath is open.
func (p *svgPath) line(x, y float64) {
	if !p.open {
		p.move(x, y)
		return
	}
	p.b.WriteString(" L")
	p.num(x)
	p.b.WriteByte(' ')
	p.num(y)
	p.lx, p.ly = x, y
}

// step draws a horizontal then a vertical segment to (x, y).
func (p *svgPath) step(x, y float64) {
	if !p.open {
		p.move(x, y)
		return
	}
	if math.Round(x*10) != math.Round(p.lx*10) {
		p.b.WriteString(" H")
		p.num(x)
	}
	if math.Round(y*10) != math.Round(p.ly*10) {
		p.b.WriteString(" V")
		p.num(y)
	}
	p.lx, p.ly = x, y
}

// level draws a flat segment at y from x0 to x1, joined to the previous
// segment by a vertical step: one interval of a time series.
func (p *svgPath) level(x0, x1, y float64) {
	switch {
	case !p.open:
		p.move(x0, y)
	case math.Round(x0*10) == math.Round(p.lx*10):
		if math.Round(y*10) != math.Round(p.ly*10) {
			p.b.WriteString(" V")
			p.num(y)
		}
	default:
		p.line(x0, y)
	}
	p.b.WriteString(" H")
	p.num(x1)
	p.lx, p.ly = x1, y
}

func (p *svgPath) breakLine() { p.open = false }

func (p *svgPath) rect(x0, y0, x1, y1 float64) {
	p.move(x0, y0)
	p.b.WriteString(" H")
	p.num(x1)
	p.b.WriteString(" V")
	p.num(y1)
	p.b.WriteString(" H")
	p.num(x0)
	p.b.WriteString(" Z")
	p.open = false
}

func (p *svgPath) String() string { return p.b.String() }

// ---- percentile spectrum ---------------------------------------------------

// spectrumDecades is how far right a percentile axis goes, in decades of
// 1/(1-p): 4 is 99.99%. n samples resolve about log10(n) decades, so the axis
// follows the sample count (rounded, 4 to 6): the tail of a large run is
// drawn, and a small one does not end in a long flat line.
func spectrumDecades(n int64) int {
	d := 4
	if n > 1 {
		d = int(math.Ceil(math.Log10(float64(n)) - 0.3))
	}
	return min(max(d, 4), 6)
}

// spectrumGroups pairs a service-time metric with its from-schedule twin, so
// one chart shows how much of the response time was spent waiting for the
// load generator (coordinated omission made visible).
var spectrumGroups = map[string]string{"ttft": "ttft_sched", "e2e": "e2e_sched"}

type spectrumLine struct {
	name string
	pct  []float64 // percentile, 0..100
	xs   []float64 // log10(1/(1-p))
	ms   []float64
}

// spectrumPercentile returns the percentile at x = log10(1/(1-p)).
func spectrumPercentile(x float64) float64 { return 100 * (1 - math.Pow(10, -x)) }

// spectrumLabel formats a percentile with as many decimals as its position
// on the log axis warrants: 50, 96.8, 99.68, 99.968.
func spectrumLabel(p, x float64) string {
	dec := 1
	if x >= 1 {
		dec = int(math.Floor(x))
	}
	if p >= 100 {
		return "100"
	}
	return humanTrim(p, dec)
}

func spectrumFromHist(name string, h *hdrhistogram.Histogram, decades int) spectrumLine {
	l := spectrumLine{name: name}
	l.pct = make([]float64, spectrumPoints)
	l.xs = make([]float64, spectrumPoints)
	for i := range spectrumPoints {
		x := float64(decades) * float64(i) / float64(spectrumPoints-1)
		l.xs[i] = x
		l.pct[i] = spectrumPercentile(x)
	}
	vals := h.ValueAtPercentilesSlice(l.pct)
	l.ms = make([]float64, len(vals))
	for i, v := range vals {
		l.ms[i] = float64(v) / 1000 // µs → ms
	}
	return l
}

// spectrumFromStats approximates the spectrum from the summary percentiles
// when a histogram is missing or unreadable.
func spectrumFromStats(name string, m *MetricStats, decades int) spectrumLine {
	l := spectrumLine{name: name}
	type pv struct{ p, v float64 }
	pts := []pv{{0, m.Min}, {50, m.P50}, {90, m.P90}, {95, m.P95}, {99, m.P99}, {99.9, m.P999}}
	for i := range spectrumPoints {
		x := float64(decades) * float64(i) / float64(spectrumPoints-1)
		p := spectrumPercentile(x)
		v := m.Max
		for j := len(pts) - 1; j >= 0; j-- {
			if p <= pts[j].p {
				v = pts[j].v
			}
		}
		l.xs = append(l.xs, x)
		l.pct = append(l.pct, p)
		l.ms = append(l.ms, v)
	}
	return l
}

func spectrumCharts(ms map[string]*MetricStats, names []string, hists map[string]*hdrhistogram.Histogram) []*svgChart {
	grouped := map[string]bool{}
	for a, b := range spectrumGroups {
		if ms[a] != nil && ms[a].Count > 0 && ms[b] != nil && ms[b].Count > 0 {
			grouped[b] = true
		}
	}
	var charts []*svgChart
	for _, n := range names {
		m := ms[n]
		if m == nil || m.Count == 0 || grouped[n] {
			continue
		}
		members := []string{n}
		if twin, ok := spectrumGroups[n]; ok && grouped[twin] {
			members = append(members, twin)
		}
		var lines []spectrumLine
		approx := false
		var most int64
		for _, mn := range members {
			most = max(most, ms[mn].Count)
		}
		decades := spectrumDecades(most)
		for _, mn := range members {
			if h, ok := hists[mn]; ok {
				lines = append(lines, spectrumFromHist(mn, h, decades))
			} else {
				lines = append(lines, spectrumFromStats(mn, ms[mn], decades))
				approx = true
			}
		}
		charts = append(charts, spectrumChart(n, lines, ms, decades, approx))
	}
	return charts
}

func spectrumChart(name string, lines []spectrumLine, ms map[string]*MetricStats, decades int, approx bool) *svgChart {
	c := &svgChart{Name: "spectrum-" + name, W: 600, H: 300, PL: 58, PT: 22, PR: 560, PB: 252}
	c.Title = name + " — latency by percentile"
	if d := htmlMetricDesc[name]; d != "" {
		c.Title = name + " (" + d + ")"
	}
	c.XTitle = "percentile (log scale of 1/(1−p))"
	maxV := 0.0
	for _, l := range lines {
		for _, v := range l.ms {
			maxV = max(maxV, v)
		}
	}
	yt, unit, scale := svgLatencyTicks(maxV, 5)
	c.YUnit = unit
	xs := svgScale{0, float64(decades), float64(c.PL), float64(c.PR)}
	ys := svgScale{0, yt[len(yt)-1], float64(c.PB), float64(c.PT)}
	for _, v := range yt {
		c.YTicks = append(c.YTicks, svgTick{Pos: svgRound(ys.at(v)), Label: svgTickLabel(v)})
	}
	// Decade ticks, and the median, which a reader looks for first.
	c.XTicks = append(c.XTicks, svgTick{Pos: svgRound(xs.at(0)), Label: "0%"})
	c.XTicks = append(c.XTicks, svgTick{Pos: svgRound(xs.at(math.Log10(2))), Label: "50%", Minor: true})
	for d := 1; d <= decades; d++ {
		c.XTicks = append(c.XTicks, svgTick{Pos: svgRound(xs.at(float64(d))), Label: spectrumLabel(spectrumPercentile(float64(d)), float64(d)) + "%"})
	}
	for i, l := range lines {
		var p svgPath
		for j := range l.xs {
			p.step(xs.at(l.xs[j]), ys.at(l.ms[j]*scale))
		}
		s := svgSeries{Class: "s" + strconv.Itoa(i), D: p.String(), Kind: "line"}
		if len(lines) > 1 {
			s.Label = l.name + " (from send)"
		}
		if i > 0 {
			s.Kind = "dash"
			s.Label = l.name + " (from schedule)"
		}
		c.Series = append(c.Series, s)
		// Markers at the summary percentiles, with exact values.
		m := ms[l.name]
		for _, q := range []struct {
			label string
			p, v  float64
		}{{"p50", 50, m.P50}, {"p90", 90, m.P90}, {"p99", 99, m.P99}, {"p99.9", 99.9, m.P999}} {
			x := math.Log10(1 / (1 - q.p/100))
			if x > float64(decades) {
				continue
			}
			c.Dots = append(c.Dots, svgDot{X: svgRound(xs.at(x)), Y: svgRound(ys.at(q.v * scale)), R: 3.5, Class: s.Class, Open: i > 0,
				Title: fmt.Sprintf("%s %s = %s", l.name, q.label, humanMs(q.v))})
		}
	}
	// Hover bands: each covers a slice of the percentile axis and lists
	// every line's value there.
	per := spectrumPoints / spectrumBands
	for b := range spectrumBands {
		i0 := b * per
		i1 := min(i0+per, spectrumPoints-1)
		x0, x1 := xs.at(lines[0].xs[i0]), xs.at(lines[0].xs[i1])
		j := min(i0+per-1, spectrumPoints-1)
		var sb strings.Builder
		fmt.Fprintf(&sb, "p%s", spectrumLabel(lines[0].pct[j], lines[0].xs[j]))
		for _, l := range lines {
			fmt.Fprintf(&sb, "\n%s: %s", l.name, humanMs(l.ms[j]))
		}
		c.Bands = append(c.Bands, svgBand{X: svgRound(x0), W: svgRound(x1 - x0), Title: sb.String()})
	}
	for i, l := range lines {
		m := ms[l.name]
		row := svgSummaryRow{Items: []htmlKV{
			{Key: "p50", Value: humanMs(m.P50)},
			{Key: "p90", Value: humanMs(m.P90)},
			{Key: "p99", Value: humanMs(m.P99)},
			{Key: "p99.9", Value: humanMs(m.P999)},
			{Key: "max", Value: humanMs(m.Max)},
			{Key: "n", Value: humanCount(m.Count)},
		}}
		if len(lines) > 1 {
			row.Label, row.Class, row.Kind = l.name, c.Series[i].Class, c.Series[i].Kind
		}
		c.Summary = append(c.Summary, row)
	}
	if len(lines) > 1 {
		c.Caption = "Solid: measured from when the request was sent (service time). Dashed: from when the schedule wanted it sent (response time); the gap between them is time spent waiting on the load generator."
	}
	if approx {
		c.Caption = strings.TrimSpace(c.Caption + " Drawn from the summary percentiles: the histogram was missing.")
	}
	return c
}

// ---- time series -----------------------------------------------------------

// downsampleIntervals merges runs of consecutive intervals so at most n remain. Counts
// are summed, Active and the p99s take the group's maximum (an upper bound),
// the p50 the mean of the non-empty intervals. It returns the group size.
func downsampleIntervals(in []Interval, n int) ([]Interval, int) {
	ivs := slices.Clone(in)
	slices.SortStableFunc(ivs, func(a, b Interval) int { return cmp.Compare(a.TS, b.TS) })
	if len(ivs) <= n {
		return ivs, 1
	}
	k := (len(ivs) + n - 1) / n
	out := make([]Interval, 0, n)
	for i := 0; i < len(ivs); i += k {
		g := ivs[i:min(i+k, len(ivs))]
		m := Interval{TS: g[len(g)-1].TS, At: g[len(g)-1].At}
		var p50sum float64
		var p50n int
		for _, iv := range g {
			m.Active = max(m.Active, iv.Active)
			m.Started += iv.Started
			m.Events += iv.Events
			m.Tokens += iv.Tokens
			m.Errors += iv.Errors
			m.TTFTP99 = max(m.TTFTP99, iv.TTFTP99)
			m.LagP99 = max(m.LagP99, iv.LagP99)
			if iv.TTFTP50 > 0 {
				p50sum += iv.TTFTP50
				p50n++
			}
		}
		if p50n > 0 {
			m.TTFTP50 = p50sum / float64(p50n)
		}
		out = append(out, m)
	}
	return out, k
}

// svgTimeAxis is the shared x axis of the time-series charts.
type svgTimeAxis struct {
	start []float64 // start of each interval, s
	end   []float64 // end of each interval, s
	dt    []float64
	x     svgScale
	ticks []svgTick
}

const (
	svgTSW  = 1200
	svgTSH  = 180
	svgTSPL = 64
	svgTSPR = 1176
	svgTSPT = 16
	svgTSPB = 152
)

func newTSFrame(ivs []Interval) svgTimeAxis {
	f := svgTimeAxis{}
	typical := 1.0
	if len(ivs) > 1 {
		typical = (ivs[len(ivs)-1].TS - ivs[0].TS) / float64(len(ivs)-1)
	}
	if !(typical > 0) {
		typical = 1
	}
	for i, iv := range ivs {
		s := iv.TS - typical // the first interval: assume the typical length
		if i > 0 {
			s = ivs[i-1].TS
		}
		if iv.TS-s <= 0 {
			s = iv.TS - typical
		}
		f.start = append(f.start, s)
		f.end = append(f.end, iv.TS)
		f.dt = append(f.dt, iv.TS-s)
	}
	x0 := min(0, f.start[0])
	x1 := f.end[len(f.end)-1]
	step := svgNiceStep(x1-x0, 12, true)
	if step >= 60 || x1 > 300 {
		step = svgMinuteStep(x1-x0, 12)
	}
	f.x = svgScale{x0, x1, svgTSPL, svgTSPR}
	for v := math.Ceil(x0/step) * step; v <= x1+1e-9; v += step {
		f.ticks = append(f.ticks, svgTick{Pos: svgRound(f.x.at(v)), Label: svgClock(v, x1)})
	}
	return f
}

// svgMinuteStep picks a tick step in seconds that is a whole number of
// seconds or minutes reading well on a clock: 5, 10, 15, 30 s, 1, 2, 5, 10,
// 15, 30, 60 min.
func svgMinuteStep(span float64, n int) float64 {
	raw := span / float64(n)
	for _, s := range []float64{5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400} {
		if s >= raw {
			return s
		}
	}
	return math.Ceil(raw/3600) * 3600
}

// svgClock labels a time axis: "40 s" for short runs, "m:ss" or "h:mm:ss" for
// long ones.
func svgClock(s, span float64) string {
	if span <= 300 {
		return humanTrim(s, 1) + " s"
	}
	t := int64(math.Round(s))
	if t >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	return fmt.Sprintf("%d:%02d", t/60, t%60)
}

func timeSeriesCharts(ivs []Interval) []*svgChart {
	if len(ivs) == 0 {
		return nil
	}
	fr := newTSFrame(ivs)
	tips := make([]string, len(ivs))
	for i, iv := range ivs {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s – %s\nactive streams: %s\nstreams started: %s\nevents/s: %s",
			svgClock(fr.start[i], fr.end[len(fr.end)-1]), svgClock(fr.end[i], fr.end[len(fr.end)-1]),
			humanCount(iv.Active), humanCount(iv.Started), humanRate(float64(iv.Events)/fr.dt[i]))
		if iv.Tokens > 0 {
			fmt.Fprintf(&sb, "\ntokens/s: %s", humanRate(float64(iv.Tokens)/fr.dt[i]))
		}
		fmt.Fprintf(&sb, "\nerrors: %s", humanCount(iv.Errors))
		if iv.TTFTP99 > 0 {
			fmt.Fprintf(&sb, "\nttft p50: %s\nttft p99: %s", humanMs(iv.TTFTP50), humanMs(iv.TTFTP99))
		}
		fmt.Fprintf(&sb, "\nschedule lag p99: %s", humanMs(iv.LagP99))
		tips[i] = sb.String()
	}
	get := func(fn func(i int, iv Interval) float64) []float64 {
		out := make([]float64, len(ivs))
		for i, iv := range ivs {
			out[i] = fn(i, iv)
		}
		return out
	}
	active := get(func(_ int, iv Interval) float64 { return float64(iv.Active) })
	events := get(func(i int, iv Interval) float64 { return float64(iv.Events) / fr.dt[i] })
	tokens := get(func(i int, iv Interval) float64 { return float64(iv.Tokens) / fr.dt[i] })
	errs := get(func(_ int, iv Interval) float64 { return float64(iv.Errors) })
	p50 := get(func(_ int, iv Interval) float64 { return iv.TTFTP50 })
	p99 := get(func(_ int, iv Interval) float64 { return iv.TTFTP99 })
	lag := get(func(_ int, iv Interval) float64 { return iv.LagP99 })

	var charts []*svgChart
	c := timeSeriesChart(fr, "ts-active", "Active streams", "streams open at the end of each interval", tips)
	c.addLines(fr, svgCountAxis(c, slices.Max(active), true), []svgTSLine{{"active streams", "s0", "line", active, true, false}})
	charts = append(charts, c)

	c = timeSeriesChart(fr, "ts-events", "Throughput", "events per second (and output tokens per second when counted)", tips)
	lines := []svgTSLine{{"events/s", "s0", "line", events, false, false}}
	hi := slices.Max(events)
	if slices.Max(tokens) > 0 {
		lines = append(lines, svgTSLine{"tokens/s", "s1", "dash", tokens, false, false})
		hi = max(hi, slices.Max(tokens))
	}
	c.addLines(fr, svgCountAxis(c, hi, false), lines)
	charts = append(charts, c)

	c = timeSeriesChart(fr, "ts-errors", "Errors", "failed stream attempts per interval", tips)
	c.addBars(fr, svgCountAxis(c, slices.Max(errs), true), errs, "s3")
	charts = append(charts, c)

	c = timeSeriesChart(fr, "ts-ttft", "Time to first token", "ttft per interval, from when each request was sent", tips)
	y := svgLatencyAxis(c, max(slices.Max(p99), slices.Max(p50)))
	c.addLines(fr, y, []svgTSLine{{"ttft p99", "s0", "line", p99, false, true}, {"ttft p50", "s1", "dash", p50, false, true}})
	charts = append(charts, c)

	c = timeSeriesChart(fr, "ts-lag", "Schedule lag p99", "how late requests went out against the arrival schedule; a rising line means the load generator fell behind and latency includes client-side delay", tips)
	y = svgLatencyAxis(c, slices.Max(lag))
	c.addLines(fr, y, []svgTSLine{{"schedule lag p99", "s4", "line", lag, false, false}})
	charts = append(charts, c)
	return charts
}

func timeSeriesChart(fr svgTimeAxis, name, title, caption string, tips []string) *svgChart {
	c := &svgChart{Name: name, Title: title, Caption: caption, W: svgTSW, H: svgTSH, PL: svgTSPL, PT: svgTSPT, PR: svgTSPR, PB: svgTSPB, Wide: true}
	c.XTicks = fr.ticks
	for i := range fr.end {
		x0, x1 := fr.x.at(fr.start[i]), fr.x.at(fr.end[i])
		c.Bands = append(c.Bands, svgBand{X: svgRound(x0), W: svgRound(x1 - x0), Title: tips[i]})
	}
	return c
}

// svgCountAxis sets y ticks for counts (whole ticks) or rates (whole ticks
// from 4 up) reaching hi.
func svgCountAxis(c *svgChart, hi float64, whole bool) svgScale {
	yt := svgNiceTicks(hi, 4, whole || hi >= 4)
	y := svgScale{0, yt[len(yt)-1], float64(c.PB), float64(c.PT)}
	for _, v := range yt {
		c.YTicks = append(c.YTicks, svgTick{Pos: svgRound(y.at(v)), Label: svgTickLabel(v)})
	}
	return y
}

// svgLatencyAxis sets y ticks in a latency unit chosen for hi (ms) and returns
// a scale that takes milliseconds.
func svgLatencyAxis(c *svgChart, hi float64) svgScale {
	yt, unit, scale := svgLatencyTicks(hi, 4)
	c.YUnit = unit
	y := svgScale{0, yt[len(yt)-1], float64(c.PB), float64(c.PT)}
	for _, v := range yt {
		c.YTicks = append(c.YTicks, svgTick{Pos: svgRound(y.at(v)), Label: svgTickLabel(v)})
	}
	return svgScale{0, yt[len(yt)-1] / scale, float64(c.PB), float64(c.PT)}
}

type svgTSLine struct {
	label, class, kind string
	v                  []float64
	area               bool
	gapsAtZero         bool // a zero value means "no samples": break the line
}

func (c *svgChart) addLines(fr svgTimeAxis, y svgScale, lines []svgTSLine) {
	for _, l := range lines {
		// Each value holds for its whole interval, so it is drawn as a
		// level from the interval's start to its end.
		var p svgPath
		for i, v := range l.v {
			if l.gapsAtZero && v <= 0 {
				p.breakLine()
				continue
			}
			p.level(fr.x.at(fr.start[i]), fr.x.at(fr.end[i]), y.at(v))
		}
		s := svgSeries{Label: l.label, Class: l.class, D: p.String(), Kind: l.kind}
		if l.area && len(l.v) > 0 {
			var a svgPath
			a.move(fr.x.at(fr.start[0]), y.at(0))
			for i, v := range l.v {
				a.level(fr.x.at(fr.start[i]), fr.x.at(fr.end[i]), y.at(v))
			}
			a.line(fr.x.at(fr.end[len(fr.end)-1]), y.at(0))
			s.Area = a.String() + " Z"
		}
		if s.D == "" {
			// Nothing to draw (no samples at all): keep the chart honest
			// with a baseline and a note rather than an empty frame.
			var z svgPath
			z.move(float64(c.PL), float64(c.PB))
			z.line(float64(c.PR), float64(c.PB))
			s.D, s.Kind = z.String(), "zero"
			c.Note = "no samples"
		}
		c.Series = append(c.Series, s)
	}
}

func (c *svgChart) addBars(fr svgTimeAxis, y svgScale, v []float64, class string) {
	var p svgPath
	drawn := false
	for i, n := range v {
		if n <= 0 {
			continue
		}
		drawn = true
		x0, x1 := fr.x.at(fr.start[i]), fr.x.at(fr.end[i])
		gap := min(1.0, (x1-x0)/4)
		p.rect(x0+gap, y.at(0), x1-gap, y.at(n))
	}
	s := svgSeries{Label: "errors", Class: class, D: p.String(), Kind: "bars"}
	if !drawn {
		var z svgPath
		z.move(float64(c.PL), float64(c.PB))
		z.line(float64(c.PR), float64(c.PB))
		s.D, s.Kind = z.String(), "zero"
		c.Note = "no errors"
	}
	c.Series = append(c.Series, s)
}

// loadVaries reports whether the number of active streams changed enough
// during the run (at least three distinct levels spanning 10% of the peak)
// for latency and throughput to be plotted against it.
func loadVaries(ivs []Interval) bool {
	levels := map[int64]bool{}
	var lo, hi int64 = math.MaxInt64, 0
	for _, iv := range ivs {
		levels[iv.Active] = true
		lo, hi = min(lo, iv.Active), max(hi, iv.Active)
	}
	return len(levels) >= 3 && float64(hi-lo) >= 0.1*float64(hi)
}

// loadCharts plot, one dot per interval against the streams open at the
// time, ttft p99 and p50, and throughput. Where latency turns up and
// throughput flattens is the capacity knee. Latency is left out when fewer
// than two intervals have TTFT samples; nothing is drawn when the load did
// not vary (see loadVaries).
func loadCharts(ivs []Interval) []*svgChart {
	if !loadVaries(ivs) {
		return nil
	}
	fr := newTSFrame(ivs)
	var hiX float64
	for _, iv := range ivs {
		hiX = max(hiX, float64(iv.Active))
	}
	xt := svgNiceTicks(hiX, 6, true)
	frame := func(name, title, caption string) (*svgChart, svgScale) {
		c := &svgChart{Name: name, Title: title, Caption: caption, W: 600, H: 300, PL: 58, PT: 22, PR: 568, PB: 252, XTitle: "active streams"}
		xs := svgScale{0, xt[len(xt)-1], float64(c.PL), float64(c.PR)}
		for _, v := range xt {
			c.XTicks = append(c.XTicks, svgTick{Pos: svgRound(xs.at(v)), Label: svgTickLabel(v)})
		}
		return c, xs
	}
	tip := func(i int, iv Interval) string {
		return fmt.Sprintf("t = %s\nactive streams: %s\nevents/s: %s\nttft p99: %s\nttft p50: %s",
			humanTrim(iv.TS, 1)+" s", humanCount(iv.Active), humanRate(float64(iv.Events)/fr.dt[i]), humanMs(iv.TTFTP99), humanMs(iv.TTFTP50))
	}
	var charts []*svgChart

	var lat []int
	var hiY float64
	for i, iv := range ivs {
		if iv.TTFTP99 > 0 {
			lat = append(lat, i)
			hiY = max(hiY, iv.TTFTP99, iv.TTFTP50)
		}
	}
	if len(lat) >= 2 {
		c, xs := frame("load-latency", "TTFT against load",
			"ttft p99 (filled) and p50 (hollow) per interval, joined in time order. Where the dots turn upward is the knee: past it, more concurrency buys latency, not throughput.")
		ys := svgLatencyAxis(c, hiY)
		var p99, p50 svgPath
		for _, i := range lat {
			iv := ivs[i]
			x := xs.at(float64(iv.Active))
			p99.line(x, ys.at(iv.TTFTP99))
			c.Dots = append(c.Dots, svgDot{X: svgRound(x), Y: svgRound(ys.at(iv.TTFTP99)), R: 3.5, Class: "s0", Title: tip(i, iv)})
			if iv.TTFTP50 > 0 {
				p50.line(x, ys.at(iv.TTFTP50))
				c.Dots = append(c.Dots, svgDot{X: svgRound(x), Y: svgRound(ys.at(iv.TTFTP50)), R: 3, Class: "s1", Open: true, Title: tip(i, iv)})
			}
		}
		c.Series = append(c.Series,
			svgSeries{Label: "ttft p99", Class: "s0", D: p99.String(), Kind: "trail"},
			svgSeries{Label: "ttft p50", Class: "s1", D: p50.String(), Kind: "trail"})
		charts = append(charts, c)
	}

	c, xs := frame("load-throughput", "Throughput against load",
		"events per second per interval; the ring marks the peak. Throughput that stops growing, or falls, while streams keep being added marks saturation: the capacity is at or below the peak.")
	hiE := 0.0
	for i, iv := range ivs {
		hiE = max(hiE, float64(iv.Events)/fr.dt[i])
	}
	ys := svgCountAxis(c, hiE, false)
	c.YUnit = "events/s"
	var p svgPath
	peak := 0
	for i, iv := range ivs {
		x, y := xs.at(float64(iv.Active)), ys.at(float64(iv.Events)/fr.dt[i])
		p.line(x, y)
		c.Dots = append(c.Dots, svgDot{X: svgRound(x), Y: svgRound(y), R: 3.5, Class: "s2", Title: tip(i, iv)})
		if float64(iv.Events)/fr.dt[i] > float64(ivs[peak].Events)/fr.dt[peak] {
			peak = i
		}
	}
	c.Series = append(c.Series, svgSeries{Label: "events/s", Class: "s2", D: p.String(), Kind: "trail"})
	if iv := ivs[peak]; iv.Events > 0 {
		pk := c.Dots[peak]
		c.Dots = append(c.Dots, svgDot{X: pk.X, Y: pk.Y, R: 8, Class: "s6 ring", Open: true, Title: "peak throughput\n" + tip(peak, iv)})
		c.Summary = []svgSummaryRow{{Items: []htmlKV{
			{Key: "peak events/s", Value: humanRate(float64(iv.Events) / fr.dt[peak])},
			{Key: "at active streams", Value: humanCount(iv.Active)},
			{Key: "at t", Value: humanTrim(iv.TS, 1) + " s"},
			{Key: "ttft p99 then", Value: humanMs(iv.TTFTP99)},
		}}}
	}
	charts = append(charts, c)
	return charts
}

// ---- formatting ------------------------------------------------------------

// humanMs formats a latency given in milliseconds with a unit that suits it:
// "850 µs", "12.3 ms", "1.52 s".
func humanMs(ms float64) string {
	a := math.Abs(ms)
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return "–"
	case ms == 0:
		return "0 ms"
	case a < 1:
		return humanTrim(ms*1000, 0) + " µs"
	case a < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	case a < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case a < 10000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case a < 600000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	}
	return (time.Duration(ms * float64(time.Millisecond))).Round(time.Second).String()
}

// humanCount formats an integer with thousands separators.
func humanCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// humanRate formats a per-second rate: separators above 100, one decimal below.
func humanRate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if math.Abs(v) >= 100 {
		return humanCount(int64(math.Round(v)))
	}
	return humanTrim(v, 1)
}

// humanFloat formats a plain number with up to four significant digits.
func humanFloat(v float64) string {
	if math.Abs(v) >= 10000 {
		return humanCount(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// humanPercent formats a fraction as a percentage with useful precision.
func humanPercent(f float64) string {
	p := f * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return "<0.01%"
	case p < 10:
		return humanTrim(p, 2) + "%"
	}
	return humanTrim(p, 1) + "%"
}

func humanSeconds(s float64) string {
	switch {
	case s <= 0:
		return "–"
	case s < 120:
		return humanTrim(s, 1) + " s"
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		v /= unit
		if v < unit {
			return humanTrim(v, 1) + " " + u
		}
	}
	return humanTrim(v, 1) + " PB"
}
