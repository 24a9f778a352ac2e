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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
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
	return renderHTMLPage(w, htmlRunTemplate, newHTMLRunView(f), "WriteHTML")
}

// renderHTMLPage renders view with page template t into memory and writes
// the page to w in one Write, so a template error writes nothing; errors
// name the caller (who).
func renderHTMLPage(w io.Writer, t *template.Template, view any, who string) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, view); err != nil {
		return fmt.Errorf("reports: %s: render: %w", who, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("reports: %s: %w", who, err)
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

	names := metricOrder(f.Metrics)
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
			r.Observed = fmtObserved(t.Observed, t.Unit)
		} else {
			r.Observed = "–"
		}
		rows = append(rows, r)
	}
	return rows
}

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
