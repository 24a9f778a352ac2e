package capacity

import (
	"fmt"
	"strings"

	"github.com/ssebench/ssebench/reports"
)

// Bounds of the backlog check (reports.Backlog): from the middle third of
// a step's intervals to the last third, the backlog grows when streams in
// flight rise by more than backlogActiveFrac plus backlogActiveAbs, the
// ttft p50 by more than backlogTTFTFrac plus backlogTTFTAbsMs, or the
// schedule lag p99 by more than backlogLagAbsMs. The first third is left
// out: streams in flight ramp up over one stream duration from the start
// of the measured part (the warm-up's streams are not counted), and the
// active-streams rule is skipped when the streams' e2e p50 is longer than
// that third.
const (
	backlogMinIntervals = 6
	backlogActiveFrac   = 0.10
	backlogActiveAbs    = 2
	backlogTTFTFrac     = 0.20
	backlogTTFTAbsMs    = 20
	backlogLagAbsMs     = 10
)

// judgeBacklog checks that an open-model step was sustainable.
func judgeBacklog(f *reports.File) *reports.Backlog {
	b := &reports.Backlog{}
	iv := f.Intervals
	if n := len(iv); n > 0 && f.IntervalS > 0 && iv[n-1].DurationS < f.IntervalS/2 {
		iv = iv[:n-1] // a final partial tick
	}
	n := len(iv)
	if n < backlogMinIntervals {
		b.Why = fmt.Sprintf("not judged: %d intervals, fewer than %d", n, backlogMinIntervals)
		return b
	}
	b.Judged = true
	mid, end := iv[n/3:2*n/3], iv[2*n/3:]
	b.ActiveMid, b.TTFTMidMs, b.LagMidMs = means(mid)
	b.ActiveEnd, b.TTFTEndMs, b.LagEndMs = means(end)
	var why []string
	rampS := float64(n/3) * f.IntervalS
	e2e := f.Metrics["e2e"]
	if e2e == nil || e2e.P50 <= rampS*1000 {
		if b.ActiveEnd > b.ActiveMid*(1+backlogActiveFrac)+backlogActiveAbs {
			why = append(why, fmt.Sprintf("streams in flight grew from %.1f to %.1f", b.ActiveMid, b.ActiveEnd))
		}
	}
	if b.TTFTMidMs > 0 && b.TTFTEndMs > b.TTFTMidMs*(1+backlogTTFTFrac)+backlogTTFTAbsMs {
		why = append(why, fmt.Sprintf("ttft p50 grew from %.0f ms to %.0f ms", b.TTFTMidMs, b.TTFTEndMs))
	}
	if b.LagEndMs > b.LagMidMs+backlogLagAbsMs {
		why = append(why, fmt.Sprintf("schedule lag p99 grew from %.1f ms to %.1f ms", b.LagMidMs, b.LagEndMs))
	}
	if len(why) > 0 {
		b.Grows = true
		b.Why = strings.Join(why, ", ") + " across the step"
	}
	return b
}

// means returns the mean streams in flight, ttft p50 (of the ticks that
// measured one) and schedule lag p99 of iv.
func means(iv []reports.Interval) (active, ttft, lag float64) {
	var nt int
	for _, x := range iv {
		active += float64(x.Active)
		lag += x.LagP99
		if x.TTFTP50 > 0 {
			ttft += x.TTFTP50
			nt++
		}
	}
	active /= float64(len(iv))
	lag /= float64(len(iv))
	if nt > 0 {
		ttft /= float64(nt)
	}
	return active, ttft, lag
}
