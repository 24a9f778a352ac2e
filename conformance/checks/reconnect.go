package checks

import (
	"fmt"
	"net/http"

	"github.com/ssebench/ssebench/conformance/sse"
)

// checkReconnectAccepted: a reconnect after a client-side drop is answered
// 200 with an event stream.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
func checkReconnectAccepted(in *Input) Finding {
	if _, skip := mainStream(in); skip != nil {
		return *skip
	}
	p := in.Boundary
	if p == nil || p.First == nil {
		return skipf("the reconnect probe did not run")
	}
	if p.First.Status != 200 {
		return skipf("the reconnect probe's first request answered %d", p.First.Status)
	}
	if p.First.End != EndCut {
		f := skipf("%s after %d events, before the drop point", endedHow(p.First), len(p.First.Stream().Events))
		if p.First.End == EndEOF {
			f.Message += " (see lifecycle/finite-end)"
		}
		return f
	}
	r := p.Resumed
	if r == nil {
		return skipf("no reconnect: %s", p.Reason)
	}
	sent := "without Last-Event-ID"
	if r.LastEventID != "" {
		sent = "with Last-Event-ID: " + r.LastEventID
	}
	ev := &Evidence{Connection: r.Label}
	if r.Err != nil {
		ev.Detail = r.Err.Error()
		return failf(ev, "the reconnect %s got no response: %v", sent, r.Err)
	}
	if len(r.Body) > 0 {
		ev.Bytes, ev.Offset = Quote(r.Body), ptr(int64(0))
	}
	ev.Detail = "Content-Type: " + r.Header.Get("Content-Type")
	if r.Status != 200 {
		return failf(ev, "the reconnect %s answered %d %s: a browser fails the connection for good", sent, r.Status, http.StatusText(r.Status))
	}
	if e, _ := mediaType(r.Header.Get("Content-Type")); e != "text/event-stream" {
		if m, _ := mediaType(in.Main.Header.Get("Content-Type")); m == e {
			return passf("the reconnect %s answered 200 (with the same Content-Type as the first request: see http/content-type)", sent)
		}
		return failf(ev, "the reconnect %s answered Content-Type %q: a browser fails the connection", sent, r.Header.Get("Content-Type"))
	}
	return passf("the reconnect %s answered 200 text/event-stream", sent)
}

// checkRetryAdvertised: the stream carries a valid retry field.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#concept-event-stream-reconnection-time
func checkRetryAdvertised(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	if s.ValidRetries > 0 {
		return passf("%d valid retry field(s)", s.ValidRetries)
	}
	ev := &Evidence{Connection: in.Main.Label}
	if n := len(diags(s, sse.DiagBadRetry)); n > 0 {
		ev.Detail = fmt.Sprintf("%d retry field(s), none valid (see framing/retry)", n)
	}
	return failf(ev, "no valid retry field: clients fall back to their own reconnection time")
}

// checkFiniteEnd: after the final event of a stream that ended by itself, a
// browser-style reconnect gets 204 (or another non-200) or no new event,
// not a fresh run. A browser reconnects after every clean end, with the
// last event ID when there is one and without Last-Event-ID otherwise: a
// stream without ids is then served again from its start, every few
// seconds, for ever.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#server-sent-events-intro
// (204 No Content stops reconnection) and
// https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
func checkFiniteEnd(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	c := in.FiniteEnd
	if c == nil {
		if in.FiniteEndReason != "" {
			return skipf("%s", in.FiniteEndReason)
		}
		return skipf("the reconnect-after-end probe did not run")
	}
	sent := "with Last-Event-ID: " + c.LastEventID
	if c.LastEventID == "" {
		sent = "without Last-Event-ID (the stream has no id)"
	}
	if c.Err != nil {
		return failf(&Evidence{Connection: c.Label, Detail: c.Err.Error()}, "the reconnect after the end %s got no response", sent)
	}
	switch {
	case c.Status == 204:
		return passf("the reconnect after the final event %s answered 204: the browser stops", sent)
	case c.Status != 200:
		return passf("the reconnect after the final event %s answered %d: the browser stops (204 is the documented signal)", sent, c.Status)
	}
	rs := c.Stream()
	if len(rs.Events) == 0 {
		return passf("the reconnect after the final event %s answered 200 with no new event (204 would stop the browser's reconnect loop)", sent)
	}
	got := rs.Events[0]
	ev := at(c, rs, got.Start, int(got.Size()))
	ev.Detail = fmt.Sprintf("%d events on the reconnect; a browser waits %s before each reconnect", len(rs.Events), reconnectWait(s))
	if len(s.Events) > 0 {
		ref := s.Events[0]
		if got.Same(ref) || got.ID != "" && got.SameID(ref) || got.SameContent(ref) {
			return failf(ev, "the reconnect after the final event %s got a fresh run from the first event: a browser re-runs the whole stream in a loop", sent)
		}
	}
	if c.LastEventID == "" {
		return failf(ev, "the reconnect after the final event %s got new events (first: %s): a browser reconnects after every end and re-runs the stream in a loop; answer 204 when the stream is over", sent, describe(got))
	}
	return failf(ev, "the reconnect after the final event %s got new events (first: %s): a browser keeps reconnecting; answer 204 when the stream is over", sent, describe(got))
}

// reconnectWait says how long a browser waits before it reconnects: the
// stream's last valid retry, or the browsers' default of about 3s.
func reconnectWait(s *Stream) string {
	if s.ValidRetries > 0 {
		return dur(s.Retry) + " (the stream's retry)"
	}
	return "about 3s (no retry field: the browsers' default)"
}
