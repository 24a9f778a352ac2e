package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

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
