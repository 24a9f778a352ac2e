package reports

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

var htmlCapacityTemplate = template.Must(template.New("capacity.html.tmpl").ParseFS(htmlAssets, "htmlassets/capacity.html.tmpl", "htmlassets/chart.html.tmpl"))

type htmlCapacityView struct {
	Version, Target, By, Wall string
	Steps                     int
	Verdict, Class, Label     string
	Answer, Limit, Fix        string
	Limited                   bool
	SLOs                      []htmlCapacitySLO
	Charts                    []*svgChart
	Rows                      []htmlCapacityRow
	Notes                     []string
	CSS                       template.CSS
}

type htmlCapacitySLO struct {
	Expr, Judged, Observed, Need string
	Pass                         bool
}

type htmlCapacityRow struct {
	N                                             int
	Phase, Load, Measured, Result, Class, Goodput string
	Streams, Why                                  string
	Observed                                      []string
}

// WriteCapacityHTML renders a capacity search (f.Capacity) as one
// self-contained page: the answer, each objective at the answer, a chart
// of throughput and goodput against load and one of each objective's
// observed value against load (the objective's bound as a line, the
// passing region shaded, the knee marked), and the table of steps. Like
// WriteHTML it needs no network and no script.
func WriteCapacityHTML(w io.Writer, f *File) error {
	c := f.Capacity
	if c == nil {
		return fmt.Errorf("not a capacity result (no \"capacity\" object)")
	}
	v := &htmlCapacityView{
		Version: f.Version, Target: f.Environment.Target, By: c.By, Steps: len(c.Steps),
		Wall:    (time.Duration(c.WallS * float64(time.Second))).Round(time.Second).String(),
		Verdict: c.Verdict, Answer: c.Answer, Limited: c.GeneratorLimited, Limit: c.Limit, Fix: c.Fix,
		Notes: c.Notes, CSS: htmlStyle + capacityCSS,
	}
	switch c.Verdict {
	case "found", "max_passes":
		v.Class, v.Label = "pass", "capacity "+c.MaxPassing.String()
	case "generator_limited":
		v.Class, v.Label = "fail", "generator-limited"
	default:
		v.Class, v.Label = "fail", "no load passed"
	}
	at := answerStep(c)
	for i, s := range c.SLOs {
		row := htmlCapacitySLO{Expr: s.Expr, Judged: s.Judged, Observed: "-", Need: "-"}
		if s.MinSamples > 0 {
			row.Need = fmt.Sprint(s.MinSamples)
		}
		if at != nil && i < len(at.Observed) {
			row.Observed = stepObserved(*at, i) + " at " + at.Load.String()
			row.Pass = at.Observed[i].Pass
		}
		v.SLOs = append(v.SLOs, row)
	}
	for _, st := range c.Steps {
		r := htmlCapacityRow{N: st.N, Phase: st.Phase, Load: st.Load.String(), Measured: fmt.Sprintf("%.0f s", st.DurationS),
			Result: passWord(st), Goodput: goodputCell(st.Goodput), Streams: fmtFloat(st.StreamsPerS, 1), Why: st.Why, Class: "fail"}
		if st.Pass {
			r.Class = "pass"
		}
		for i := range c.SLOs {
			r.Observed = append(r.Observed, stepObserved(st, i))
		}
		v.Rows = append(v.Rows, r)
	}
	v.Charts = capacityCharts(c)
	return htmlCapacityTemplate.Execute(w, v)
}

// capacityCSS adds the few rules the capacity page needs.
const capacityCSS = `
p.lead { font-size: 18px; font-weight: 600; }
table.steps td, table.steps th { padding: 3px 8px; }
path.knee { fill: none; stroke: var(--c3); stroke-width: 2; stroke-dasharray: 6 4; }
path.passing { fill: var(--c2); opacity: 0.13; stroke: none; }
.legend path.passing { stroke: var(--c2); stroke-width: 8; opacity: 0.3; }
`

// capacityPoint is the last verdict at one load, for the charts.
type capacityPoint struct {
	load float64
	st   *CapacityStep
}

// capacityPoints returns, per load run, its last step, by load.
func capacityPoints(c *Capacity) []capacityPoint {
	byLoad := map[float64]*CapacityStep{}
	for i := range c.Steps {
		byLoad[c.Steps[i].Load.Value] = &c.Steps[i]
	}
	pts := make([]capacityPoint, 0, len(byLoad))
	for l, st := range byLoad {
		pts = append(pts, capacityPoint{l, st})
	}
	slices.SortFunc(pts, func(a, b capacityPoint) int { return int(math.Copysign(1, a.load-b.load)) })
	return pts
}

// capacityCharts draws throughput against load and one chart per SLO.
func capacityCharts(c *Capacity) []*svgChart {
	pts := capacityPoints(c)
	if len(pts) == 0 {
		return nil
	}
	unit := "concurrent streams"
	if c.By == "rate" {
		unit = "arrival rate (streams/s)"
	}
	maxLoad := pts[len(pts)-1].load
	xt := svgNiceTicks(maxLoad, 8, c.By != "rate")
	xs := svgScale{0, xt[len(xt)-1], 64, 700}
	frame := func(name, title, yunit string, ymax float64) (*svgChart, svgScale) {
		yt := svgNiceTicks(ymax, 5, false)
		ch := &svgChart{Name: name, Title: title, W: 720, H: 290, PL: 64, PT: 30, PR: 700, PB: 240,
			XTitle: "load: " + unit, YUnit: yunit, Wide: true}
		ys := svgScale{0, yt[len(yt)-1], 240, 30}
		for _, t := range xt {
			ch.XTicks = append(ch.XTicks, svgTick{Pos: svgRound(xs.at(t)), Label: svgTickLabel(t)})
		}
		for _, t := range yt {
			ch.YTicks = append(ch.YTicks, svgTick{Pos: svgRound(ys.at(t)), Label: svgTickLabel(t)})
		}
		capacityRegions(ch, c, xs)
		return ch, ys
	}
	// Throughput and goodput.
	var ymax float64
	for _, p := range pts {
		ymax = max(ymax, p.st.StreamsPerS, p.st.Goodput.PerS)
	}
	ch, ys := frame("capacity-throughput", "Throughput against load", "streams/s", ymax)
	ch.Series = append(ch.Series,
		capacityLine(pts, xs, ys, "streams started/s", "s0", "line", func(st *CapacityStep) (float64, bool) { return st.StreamsPerS, true }),
		capacityLine(pts, xs, ys, "goodput/s (met every SLO)", "s1", "dash", func(st *CapacityStep) (float64, bool) { return st.Goodput.PerS, true }))
	ch.Dots = capacityDots(pts, xs, ys, func(st *CapacityStep) (float64, bool) { return st.StreamsPerS, true }, "streams/s")
	ch.Caption = "Each dot is a step (filled: passed, open: failed). Goodput counts the streams that met every objective."
	charts := []*svgChart{ch}
	for i, s := range c.SLOs {
		charts = append(charts, capacitySLOChart(c, pts, i, s, frame, xs))
	}
	return charts
}

// capacitySLOChart draws SLO i's observed value against load with its bound.
func capacitySLOChart(c *Capacity, pts []capacityPoint, i int, s CapacitySLO,
	frame func(name, title, yunit string, ymax float64) (*svgChart, svgScale), xs svgScale) *svgChart {
	obs := func(st *CapacityStep) (float64, bool) {
		if i >= len(st.Observed) || st.Observed[i].Error != "" {
			return 0, false
		}
		return st.Observed[i].Observed, true
	}
	th, err := scenarios.ParseThreshold(s.Judged)
	bound := math.NaN()
	yunit := ""
	if err == nil {
		bound, yunit = th.Value, string(th.Unit)
	}
	if err == nil && th.Unit == scenarios.UnitFraction {
		yunit = "fraction"
	}
	ymax := bound
	if math.IsNaN(ymax) {
		ymax = 0
	}
	for _, p := range pts {
		if v, ok := obs(p.st); ok {
			ymax = max(ymax, v)
		}
	}
	// Keep the bound readable when one failing step is far above it.
	ymax = min(ymax, max(bound*4, 1e-9))
	ch, ys := frame(fmt.Sprintf("capacity-slo-%d", i), s.Judged+" against load", yunit, ymax)
	ch.Series = append(ch.Series, capacityLine(pts, xs, ys, "observed "+s.Judged[:strings.IndexAny(s.Judged+" ", " <>")], "s0", "line", obs))
	if !math.IsNaN(bound) {
		var p svgPath
		y := ys.at(bound)
		p.move(float64(ch.PL), y)
		p.line(float64(ch.PR), y)
		ch.Series = append(ch.Series, svgSeries{Label: "objective " + th.Op.String() + " " + FormatObserved(bound, th.Unit), Class: "s2", D: p.String(), Kind: "dash"})
	}
	ch.Dots = capacityDots(pts, xs, ys, obs, s.Judged)
	ch.Caption = fmt.Sprintf("Values above the chart's top (4× the objective) are drawn at the top; the table below has them all. Objective as written: %s.", s.Expr)
	return ch
}

// capacityRegions shades the passing region and marks the knee.
func capacityRegions(ch *svgChart, c *Capacity, xs svgScale) {
	top, bottom := float64(ch.PT), float64(ch.PB)
	if c.MaxPassing != nil {
		var p svgPath
		p.rect(xs.at(0), top, xs.at(c.MaxPassing.Value), bottom)
		ch.Series = append(ch.Series, svgSeries{Label: "passed up to " + c.MaxPassing.String(), Class: "s2", D: p.String(), Kind: "passing"})
	}
	if c.FirstFailing != nil && !c.GeneratorLimited {
		var p svgPath
		x := xs.at(c.FirstFailing.Value)
		p.move(x, top)
		p.line(x, bottom)
		ch.Series = append(ch.Series, svgSeries{Label: "knee: fails at " + c.FirstFailing.String(), Class: "s3", D: p.String(), Kind: "knee"})
	}
}

// capacityLine joins the points' values in load order.
func capacityLine(pts []capacityPoint, xs, ys svgScale, label, class, kind string, val func(*CapacityStep) (float64, bool)) svgSeries {
	var p svgPath
	top := ys.d1
	for _, pt := range pts {
		v, ok := val(pt.st)
		if !ok {
			p.breakLine()
			continue
		}
		p.line(xs.at(pt.load), ys.at(min(v, top)))
	}
	return svgSeries{Label: label, Class: class, D: p.String(), Kind: kind}
}

// capacityDots marks each step: filled when it passed, open when not.
func capacityDots(pts []capacityPoint, xs, ys svgScale, val func(*CapacityStep) (float64, bool), what string) []svgDot {
	var dots []svgDot
	for _, pt := range pts {
		v, ok := val(pt.st)
		if !ok {
			continue
		}
		verdict := "passed"
		if !pt.st.Pass {
			verdict = "failed"
		}
		dots = append(dots, svgDot{X: svgRound(xs.at(pt.load)), Y: svgRound(ys.at(min(v, ys.d1))), R: 4, Class: "s0", Open: !pt.st.Pass,
			Title: fmt.Sprintf("step %d, load %s: %s %s, %s", pt.st.N, pt.st.Load.String(), what, humanTrim(v, 4), verdict)})
	}
	return dots
}
