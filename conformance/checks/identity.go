package checks

import (
	"fmt"
)

// identity is the run's one notion of "the same event" across two
// connections, which every resume check uses. It is decided by comparing
// the uninterrupted read with a second read of the stream from its start
// that the prober opened only after the first had dispatched an event
// (ProbeBoundary's first connection), so that two connections that merely
// opened at the same moment never decide it:
//
//   - the second read repeats the first one's events, position by
//     position: the stream is replayed to every new connection, and its
//     events are the same when their type, data and id are (a
//     deterministic stream), their type and id (ids stable across
//     requests, data generated anew each time), or their type and data at
//     the same position (ids made up per request, as many libraries do by
//     default);
//   - the second read starts inside the first one (by id, or by data): a
//     live feed, whose connections join where it is now; events are
//     matched the same way, without positions;
//   - nothing matches: the events cannot be compared across connections,
//     and every check that would have to is skipped with the same reason.
type identity struct {
	// same reports whether two events are the same; nil when the events
	// cannot be compared (reason says why).
	same func(a, b Event) bool
	// by names what same compares, for messages.
	by string
	// content is true when events are told by type and data alone: the
	// ids differ between requests.
	content bool
	// live is true for a live feed.
	live   bool
	reason string
}

// identities are the candidate notions, strictest first.
var identities = []identity{
	{by: "type, data and id", same: Event.Same},
	{by: "id (the data differs between requests)", same: func(a, b Event) bool { return a.ID != "" && a.SameID(b) }},
	{by: "type and data (the ids differ between requests)", same: Event.SameContent, content: true},
}

// identityOf decides the run's identity from the main read and the second
// read of the stream from its start (the resume probe's first connection,
// or the mid-event probe's).
func identityOf(in *Input) identity {
	ref := in.Main.Stream()
	var later *Capture
	for _, p := range []*ResumeProbe{in.Boundary, in.MidEvent} {
		if p != nil && p.First != nil && p.First.Status == 200 && len(p.First.Stream().Events) > 0 {
			later = p.First
			break
		}
	}
	switch {
	case later == nil:
		return identity{reason: "no second read of the stream got an event to compare with the uninterrupted read"}
	case len(ref.Events) == 0:
		return identity{reason: "the uninterrupted read got no event"}
	}
	ls := later.Stream().Events
	for _, c := range identities {
		if matchesAt(ref.Events, 0, ls, c.same) {
			return c
		}
	}
	for _, c := range identities {
		for j := 1; j < len(ref.Events); j++ {
			if matchesAt(ref.Events, j, ls, c.same) {
				c.live = true
				return c
			}
		}
	}
	return identity{reason: fmt.Sprintf("two reads of the stream from its start share no event (the second began with %s, the first with %s): "+
		"a resume cannot be compared with an uninterrupted read", describe(ls[0]), describe(ref.Events[0]))}
}

// matchesAt reports whether got matches ref from position p on, as far as
// both go (at least one event).
func matchesAt(ref []Event, p int, got []Event, same func(a, b Event) bool) bool {
	n := min(len(got), len(ref)-p)
	if n <= 0 {
		return false
	}
	for i := range n {
		if !same(ref[p+i], got[i]) {
			return false
		}
	}
	return true
}

// align returns the first position of ref from which got matches it, or -1.
func (id identity) align(ref []Event, got []Event) int {
	for p := range ref {
		if matchesAt(ref, p, got, id.same) {
			return p
		}
	}
	return -1
}

// index returns the index of the first event of evs that is e, or -1.
func (id identity) index(evs []Event, e Event) int {
	for i := range evs {
		if id.same(evs[i], e) {
			return i
		}
	}
	return -1
}

// describe renders an event for a message: its id and type.
func describe(e Event) string {
	if e.ID == "" {
		return fmt.Sprintf("%s event without id", e.Type)
	}
	return fmt.Sprintf("id %q (%s)", e.ID, e.Type)
}

// span renders a range of event indexes: "event 3", "events 3..7".
func span(from, to int) string {
	if from == to {
		return fmt.Sprintf("event %d", from)
	}
	return fmt.Sprintf("events %d..%d", from, to)
}

// endedHow says how a capture's body ended, for messages: "the stream
// ended by itself", "the read timed out after 30s", ...
func endedHow(c *Capture) string {
	switch c.End {
	case EndEOF:
		return "the stream ended by itself"
	case EndAbort:
		return "the connection broke"
	case EndBroken:
		return "the body's framing broke (see http/body-framing)"
	case EndTimeout:
		return "the read timed out after " + dur(c.EndAt)
	case EndLimit:
		return "the read reached its share of the memory budget"
	case EndInterrupted:
		return "the run was interrupted"
	case EndCut:
		return "the prober dropped the connection"
	}
	return "no body was read"
}

// reconnected returns a skip finding when a resume probe's reconnect did not
// produce a stream (reconnect/accepted reports that), or nil.
func reconnected(p *ResumeProbe) *Finding {
	r := p.Resumed
	if r == nil {
		f := skipf("no reconnect: %s", p.Reason)
		return &f
	}
	if r.Err != nil {
		f := skipf("the reconnect got no response (see reconnect/accepted)")
		return &f
	}
	if r.Status != 200 {
		f := skipf("the reconnect answered %d (see reconnect/accepted)", r.Status)
		return &f
	}
	return nil
}
