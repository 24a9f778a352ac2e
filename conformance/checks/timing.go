package checks

import (
	"fmt"
	"strings"
	"time"
)

// Timing constants of the stream checks. They are ratios and floors, not
// tight absolute times, so that scheduler noise on a loaded CI machine does
// not flip a verdict.
const (
	// minIncrementalSpan: a response that took less than this overall is
	// too fast for buffering to matter (or to be told from speed).
	minIncrementalSpan = 200 * time.Millisecond
	// burstFraction: a stream counts as held back when at least this
	// fraction of its events arrived in the final burstWindow of it.
	burstFraction = 0.9
	burstWindow   = 0.1
	// minBurst is the smallest final window considered, so that a few
	// milliseconds of jitter cannot count as spread.
	minBurst = 20 * time.Millisecond
	// burstGap: events that arrive less than this apart on average came
	// in one burst (a buffer let go), not at a production pace (a stream
	// that resumes after a stall).
	burstGap = 5 * time.Millisecond
	// heldSlack: headers count as held when the first body bytes followed
	// them within max(heldSlack, a tenth of the time to headers).
	heldSlack = 50 * time.Millisecond
)

// checkFirstEvent: the first event arrives within the deadline.
func checkFirstEvent(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	c := in.Main
	limit := in.Config.FirstEvent
	if len(s.Events) == 0 {
		ev := &Evidence{Connection: c.Label, Detail: fmt.Sprintf("body ended (%s) after %s with %d bytes", c.End, dur(c.EndAt), len(c.Body))}
		if len(c.Body) > 0 {
			ev.Bytes, ev.Offset = Quote(c.Body), ptr(int64(0))
		}
		gz := strings.EqualFold(strings.TrimSpace(c.Header.Get("Content-Encoding")), "gzip")
		switch {
		case c.WireBytes == 0 && c.End == EndTimeout:
			return failf(ev, "no event dispatched: not one body byte in %s after the headers: something holds the stream back "+
				"(a buffering proxy: nginx needs proxy_buffering off, or the header X-Accel-Buffering: no, for a stream)", dur(c.EndAt-c.Headers))
		case gz && len(c.Body) == 0:
			ev.Detail += fmt.Sprintf("; Content-Encoding: gzip, %d bytes on the wire", c.WireBytes)
			return failf(ev, "no event dispatched: the gzip body (%d bytes on the wire, %s) decoded to nothing", c.WireBytes, c.End)
		case gz:
			ev.Detail += fmt.Sprintf("; Content-Encoding: gzip, %d bytes on the wire decoded to %d", c.WireBytes, len(c.Body))
		}
		return failf(ev, "no event dispatched (read for %s, deadline %s)", dur(c.EndAt), dur(limit))
	}
	e := s.Events[0]
	if e.HasAt && limit > 0 && e.At > limit {
		return failf(at(c, s, e.Start, int(e.Size())), "first event after %s (deadline %s)", dur(e.At), dur(limit))
	}
	if !e.HasAt {
		return passf("first event present (no timing recorded)")
	}
	return passf("first event after %s", dur(e.At))
}

// streamEnd returns when the main body stopped delivering: the end of the
// read, or the last read when that came later.
func streamEnd(c *Capture) time.Duration {
	end := c.EndAt
	if n := len(c.Reads); n > 0 && c.Reads[n-1].At > end {
		end = c.Reads[n-1].At
	}
	return end
}

// checkIncremental: events arrive as produced. Each event's arrival is
// compared with the end of the body: a buffering proxy or compressor that
// holds the response delivers (nearly) every event in the final burst.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
// (the note on buffering).
func checkIncremental(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	c := in.Main
	n := len(s.Events)
	if n < 3 {
		return skipf("only %d events: too few to judge", n)
	}
	if !s.Events[0].HasAt {
		return skipf("no read times recorded")
	}
	end := streamEnd(c)
	if end < minIncrementalSpan {
		return passf("the whole response took %s: too fast for buffering to matter", dur(end))
	}
	window := max(time.Duration(float64(end)*burstWindow), minBurst)
	late := 0
	var firstLate time.Duration
	for _, e := range s.Events {
		if e.At >= end-window {
			if late == 0 {
				firstLate = e.At
			}
			late++
		}
	}
	first, last := s.Events[0], s.Events[n-1]
	// Held back: nearly every event arrived in the final stretch, and
	// those events came in one burst (well under burstGap apart on
	// average), not at a production pace after a pause.
	if float64(late) >= burstFraction*float64(n) && (last.At-firstLate) < burstGap*time.Duration(late-1) {
		if f, ok := in.starved(firstLate - c.Headers); ok {
			return f
		}
		ev := at(c, s, first.Start, int(first.Size()))
		ev.Detail = fmt.Sprintf("first event at %s, last at %s, body ended at %s, %d body reads", dur(first.At), dur(last.At), dur(end), len(c.Reads))
		if enc := c.Header.Get("Content-Encoding"); enc != "" {
			ev.Detail += fmt.Sprintf("; Content-Encoding: %s (%d reads on the wire)", enc, len(c.Wire))
		}
		return failf(ev, "%d of %d events arrived within %s at the end of a %s response: held back until the end (buffering or compression)",
			late, n, dur(last.At-firstLate), dur(end))
	}
	return passf("events spread from %s to %s of a %s response", dur(first.At), dur(last.At), dur(end))
}

// wireReads returns the reads as they came off the connection.
func wireReads(c *Capture) []Read {
	if c.Wire != nil {
		return c.Wire
	}
	return c.Reads
}

// checkHeartbeat: no silence on the wire longer than the idle window, from
// the response headers to the end of the read.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#authoring-notes
func checkHeartbeat(in *Input) Finding {
	_, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	c := in.Main
	idle := in.Config.Idle
	prev := c.Headers
	var gap, from time.Duration
	var off, gapOff int64
	gapOff = -1
	for _, r := range wireReads(c) {
		if d := r.At - prev; d > gap {
			gap, from, gapOff = d, prev, off
		}
		prev = r.At
		off += int64(r.N)
	}
	if d := c.EndAt - prev; c.End != EndNone && d > gap {
		gap, from, gapOff = d, prev, -1
	}
	if idle > 0 && gap > idle {
		var ev *Evidence
		if gapOff >= 0 && c.Wire == nil {
			s := c.Stream()
			ev = at(c, s, gapOff, MaxEvidenceBytes)
		} else {
			ev = &Evidence{Connection: c.Label}
		}
		ev.Detail = fmt.Sprintf("silent from %s to %s; idle window %s", dur(from), dur(from+gap), dur(idle))
		return failf(ev, "silent for %s (no byte, not even a comment): longer than the %s idle window", dur(gap), dur(idle))
	}
	return passf("longest silence %s over %s (idle window %s)", dur(gap), dur(c.EndAt), dur(idle))
}

// checkHeadersEarly: the headers do not wait for the first event. When
// the time to headers is long and the first body bytes came with them, the
// server either held the headers until it had something to write, or is
// that slow to answer any request. The yardstick is the headers control:
// an OPTIONS request on the same URL, which a server answers without
// running a stream (a router's 404 or 405, a CORS preflight). Only a
// control that did not itself behave like a held stream counts: one whose
// headers also came with its first body bytes is the same held stream
// (servers that send every method to the stream handler) and confirms the
// finding instead of excusing it.
func checkHeadersEarly(in *Input) Finding {
	_, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	c := in.Main
	first, found := firstBodyByte(c)
	if !found {
		return skipf("no body bytes arrived")
	}
	tth := c.Headers
	if tth < in.Config.HeadersHeld {
		return passf("headers after %s, first body bytes after %s", dur(tth), dur(first))
	}
	slack := max(heldSlack, tth/10)
	if first-tth > slack {
		return passf("headers after %s, %s before the first body bytes", dur(tth), dur(first-tth))
	}
	if f, ok := in.starved(tth); ok {
		return f
	}
	ctl := in.Control
	detail := fmt.Sprintf("headers at %s, first body bytes at %s", dur(tth), dur(first))
	var note string
	switch {
	case ctl == nil:
		note = "no control request ran"
	case !ctl.Responded():
		note = "the OPTIONS control got no response"
	case heldLike(ctl):
		note = fmt.Sprintf("an OPTIONS request on the same URL was held the same way, %s", dur(ctl.Headers))
	case 2*ctl.Headers >= tth:
		return passf("headers after %s, with the first body bytes; but the server is as slow to answer an OPTIONS request that runs no stream (%d after %s): not held back",
			dur(tth), ctl.Status, dur(ctl.Headers))
	default:
		note = fmt.Sprintf("an OPTIONS request on the same URL was answered %d after %s", ctl.Status, dur(ctl.Headers))
	}
	ev := &Evidence{Connection: c.Label}
	if len(c.Body) > 0 {
		ev = at(c, c.Stream(), 0, MaxEvidenceBytes)
	}
	ev.Detail = detail + "; " + note
	return failf(ev, "headers held %s until the first body bytes were ready (%s): send them (or a comment) at once (Node: res.flushHeaders(); behind a proxy: turn its response buffering off)", dur(tth), note)
}

// firstBodyByte returns when the first body bytes came off the wire.
func firstBodyByte(c *Capture) (time.Duration, bool) {
	for _, r := range wireReads(c) {
		if r.N > 0 {
			return r.At, true
		}
	}
	return 0, false
}

// heldLike reports whether a control response looks like a held event
// stream: an event stream whose headers came with its first body bytes.
func heldLike(c *Capture) bool {
	e, _ := mediaType(c.Header.Get("Content-Type"))
	if e != "text/event-stream" {
		return false
	}
	first, ok := firstBodyByte(c)
	return ok && first-c.Headers <= max(heldSlack, c.Headers/10)
}
