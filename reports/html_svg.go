package reports

import (
	"math"
	"strconv"
	"strings"
)

// svgNum is a coordinate or size in SVG user units, printed without exponent.
type svgNum float64

func (n svgNum) String() string { return strconv.FormatFloat(float64(n), 'f', -1, 64) }

func svgRound(v float64) svgNum { return svgNum(math.Round(v*10) / 10) }

// svgChart is what chart.html.tmpl draws: an <svg data-chart=Name> with a grid,
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
