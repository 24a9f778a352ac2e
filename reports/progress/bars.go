package progress

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/cwriter"
	"github.com/vbauerster/mpb/v8/decor"
)

// barWidth is the width of the bars' fill, in columns.
const barWidth = 40

// runBars draws three rows with mpb (written against v8.9.3's API):
//
//	run           [=========>------------------------------]  4.2s / 10s
//	streams 1000/1000 [========================================]  started 1000
//	events 20041/s (84211)  errors 0  ttft p50 201.3ms p99 214.9ms
//
// mpb's own ticker is disabled (WithManualRefresh): each tick reads one
// Snapshot, updates the bars and asks for exactly one redraw, so the source
// is read Options.Refresh apart and the view never touches the hot path.
func (v *View) runBars(ctx context.Context, source func() Snapshot) {
	refresh := make(chan interface{})
	p := mpb.New(
		mpb.WithOutput(sizedOutput(v.w)),
		mpb.WithWidth(v.opts.Width),
		mpb.WithManualRefresh(refresh),
	)
	style := mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding("-").Rbound("]")
	snap := func() *Snapshot { return v.last.Load() }

	// Bars are created with total 0 so that mpb never completes (and stops
	// drawing) them on its own; SetTotal(n, false) then moves the total.
	run := p.New(0, style,
		mpb.BarWidth(barWidth),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			if s := snap(); s.Stage != "" {
				return s.Stage
			}
			return "run"
		}, decor.WC{W: 18, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			return clock(*snap())
		})),
	)
	active := p.New(0, style,
		mpb.BarWidth(barWidth),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			return streams(*snap())
		}, decor.WC{W: 18, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			return fmt.Sprintf("started %d", snap().Started)
		})),
	)
	stats := p.New(0, mpb.NopStyle(),
		mpb.BarFillerTrim(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			s := snap()
			line := fmt.Sprintf("events %s/s (%d)  errors %d  %s", count(s.EventsPerS), s.Events, s.Errors, ttft(*s))
			if s.Open && s.LagP99 > 0 {
				line += "  lag p99 " + ms(s.LagP99)
			}
			if s.Generator != "" {
				line += "  generator " + s.Generator
			}
			return line
		})),
	)

	var peak int64
	update := func() {
		s := source()
		v.last.Store(&s)

		total, cur := int64(s.Duration/time.Millisecond), int64(s.Elapsed/time.Millisecond)
		if total <= 0 {
			total = max(cur, 1)
		}
		run.SetTotal(total, false)
		run.SetCurrent(min(cur, total))

		peak = max(peak, s.Active)
		target := int64(s.Target)
		if s.Open || target <= 0 {
			target = peak // no fixed ceiling: show against the peak so far
		}
		target = max(target, 1)
		active.SetTotal(target, false)
		active.SetCurrent(min(s.Active, target))
		stats.SetCurrent(0)

		refresh <- time.Now()
	}

	t := time.NewTicker(v.opts.Refresh)
	defer t.Stop()
	update()
	for {
		select {
		case <-t.C:
			if ctx.Err() != nil {
				continue // the run ended: draw the final state once, below
			}
			update()
		case <-ctx.Done():
			// Draw the final state, then stop mpb. The manual refresh
			// above is rendered before Shutdown returns: mpb's listener
			// hands it to the render loop before it notices the shutdown.
			update()
			p.Shutdown()
			return
		}
	}
}

// sizedOutput returns w for mpb. A terminal that reports no size (a
// pseudo-terminal nobody sized, as `script` or some CI runners make) would
// make mpb draw zero rows: it is handed over hidden behind a plain writer,
// so that mpb draws at Options.Width instead.
func sizedOutput(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok || !cwriter.IsTerminal(int(f.Fd())) {
		return w
	}
	if cols, rows, err := cwriter.GetSize(int(f.Fd())); err == nil && cols > 0 && rows > 0 {
		return w
	}
	return struct{ io.Writer }{w}
}
