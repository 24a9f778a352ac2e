package reports

import (
	"fmt"
	"strings"
)

// Unserved says why a run served no stream at all, or returns "" when it
// served at least one. A stream is served when it ended ok, or when the
// abort rule or the end of the run cut it after it had received at least
// one event (an endless live feed cut by the run's duration is healthy). A
// failed stream is never served, whatever it received before it failed.
// A run that started no stream served none. A File written before
// cut_after_events was counted (it has no Generator) cannot tell a live
// feed from a silent one, so its cut streams are not judged.
//
// ssebench run and report fail such a run (exit 1) even without a
// threshold: a load test that measured nothing but errors must not pass.
func Unserved(f *File) string {
	c := f.Counters
	if c.StreamsStarted == 0 {
		if c.ArrivalsDropped > 0 {
			return fmt.Sprintf("no stream started: all %d arrivals were dropped (raise the scenario's maximum concurrency)", c.ArrivalsDropped)
		}
		return "no stream started (is the duration or the load too small?)"
	}
	if c.StreamsOK+c.CutAfterEvents > 0 || (f.Generator == nil && c.Cancelled+c.Aborted > 0) {
		return ""
	}
	var parts []string
	if c.StreamsFailed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", c.StreamsFailed))
	}
	if n := c.Cancelled + c.Aborted; n > 0 {
		parts = append(parts, fmt.Sprintf("%d were cut (%d cancelled at the end of the run, %d aborted) before any event arrived", n, c.Cancelled, c.Aborted))
	}
	if u := c.StreamsStarted - c.StreamsOK - c.StreamsFailed - c.Aborted - c.Cancelled; u > 0 {
		parts = append(parts, fmt.Sprintf("%d did not finish", u))
	}
	msg := fmt.Sprintf("no stream succeeded: of %d started, %s", c.StreamsStarted, strings.Join(parts, ", "))
	if top := TopFailure(f); top != "" {
		msg += "; top error " + top
	}
	return msg
}
