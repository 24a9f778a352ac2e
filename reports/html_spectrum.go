package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

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
