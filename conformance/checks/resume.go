package checks

import (
	"fmt"
	"strings"
)

// checkIDsPresent: every event has an id, as the client sees it (the last
// event ID persists from an earlier event; an id with U+0000 does not
// count, because clients ignore it).
func checkIDsPresent(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	if len(s.Events) == 0 {
		return skipf("no event")
	}
	missing := 0
	first := -1
	for i, e := range s.Events {
		if e.ID == "" {
			missing++
			if first < 0 {
				first = i
			}
		}
	}
	if missing == 0 {
		return passf("all %d events have an id", len(s.Events))
	}
	e := s.Events[first]
	ev := at(in.Main, s, e.Start, int(e.Size()))
	if missing == len(s.Events) {
		return failf(ev, "no event has an id: a reconnecting client sends no Last-Event-ID and cannot resume")
	}
	return failf(ev, "%d of %d events have no id (first: event %d)", missing, len(s.Events), first)
}

// checkIDsUnique: no id value is set twice within a stream.
func checkIDsUnique(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	if !s.IDs() {
		return skipf("the stream carries no ids")
	}
	seen := make(map[string]int)
	n := 0
	for _, e := range s.Events {
		if !e.OwnID || e.OwnIDValue == "" || strings.IndexByte(e.OwnIDValue, 0) >= 0 {
			continue
		}
		n++
		if j, dup := seen[e.OwnIDValue]; dup {
			ev := at(in.Main, s, e.Start, int(e.Size()))
			ev.Detail = fmt.Sprintf("id %q was first set by event %d", e.OwnIDValue, j)
			return failf(ev, "event %d repeats id %q of event %d: a resume from it is ambiguous", e.Index, e.OwnIDValue, j)
		}
		seen[e.OwnIDValue] = e.Index
	}
	return passf("%d ids, all distinct", n)
}

// checkLastEventID: after a drop right after event k, a reconnect with
// Last-Event-ID: id(k) continues with exactly the events that followed k
// in an uninterrupted read: no duplicate, no gap. Events are matched by the
// run's identity (see identity).
// https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
func checkLastEventID(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	if !s.IDs() {
		return skipf("the stream carries no ids (see resume/ids-present)")
	}
	p := in.Boundary
	if p == nil || p.First == nil {
		return skipf("the resume probe did not run")
	}
	if p.First.Status != 200 {
		return skipf("the resume probe's first request answered %d", p.First.Status)
	}
	fs := p.First.Stream()
	k := len(fs.Events)
	if p.First.End != EndCut {
		return skipf("%s after %d events, before the drop point", endedHow(p.First), k)
	}
	if fs.LastEventID == "" {
		return skipf("event %d has no id: a browser reconnects without Last-Event-ID", k-1)
	}
	if f := reconnected(p); f != nil {
		return *f
	}
	id := identityOf(in)
	if id.same == nil {
		return skipf("%s", id.reason)
	}
	// Where the drop was, in the uninterrupted read: at the same position
	// when the stream is replayed to every connection; where the first
	// connection's events are, in a live feed.
	drop := k - 1
	if id.live {
		p0 := id.align(s.Events, fs.Events)
		if p0 < 0 {
			return skipf("the resume probe's events are not in the uninterrupted read (a live feed read at other times)")
		}
		drop = p0 + k - 1
	}
	if len(s.Events) <= drop+1 {
		return skipf("the uninterrupted read has only %d events; the drop was after its event %d", len(s.Events), drop)
	}
	return continuation(s, drop+1, p.Resumed, id)
}

// continuation compares the events of a resumed connection r with those of
// the uninterrupted read ref from its event next on, and explains a
// mismatch by where the resumed events are in ref.
func continuation(ref *Stream, next int, r *Capture, id identity) Finding {
	rs := r.Stream()
	exp := ref.Events[next:]
	got := rs.Events
	lastID := r.LastEventID
	if len(got) == 0 {
		ev := &Evidence{Connection: r.Label, Detail: fmt.Sprintf("the resumed body ended (%s) after %d bytes", r.End, len(r.Body))}
		if len(r.Body) > 0 {
			ev = at(r, rs, 0, MaxEvidenceBytes)
			ev.Detail = fmt.Sprintf("the resumed body ended (%s) after %d bytes", r.End, len(r.Body))
		}
		return failf(ev, "after Last-Event-ID: %s the server sent no event; expected event %d, %s", lastID, next, describe(exp[0]))
	}
	evidence := func(i int, want Event) *Evidence {
		ev := at(r, rs, got[i].Start, int(got[i].Size()))
		ev.Detail = fmt.Sprintf("expected event %d of the uninterrupted read: %s", want.Index, Quote(ref.Body[want.Start:want.End]))
		return ev
	}
	if id.same(got[0], exp[0]) {
		n := min(len(got), len(exp))
		for i := 1; i < n; i++ {
			if !id.same(got[i], exp[i]) {
				return failf(evidence(i, exp[i]), "after resuming, event %d differs from the uninterrupted read: got %s, expected %s", next+i, describe(got[i]), describe(exp[i]))
			}
		}
		return passf("after Last-Event-ID: %s the server resumed at event %d; %d events match an uninterrupted read (same %s)", lastID, next, n, id.by)
	}
	ev := evidence(0, exp[0])
	switch p := id.align(ref.Events, got); {
	case p >= 0 && p < next:
		return failf(ev, "duplicate: after Last-Event-ID: %s the server re-sent %d event(s) the client already had (%s of the uninterrupted read, from %s) instead of continuing with event %d",
			lastID, next-p, span(p, next-1), describe(got[0]), next)
	case p > next:
		return failf(ev, "gap: after Last-Event-ID: %s the server resumed at event %d (%s); %s lost", lastID, p, describe(got[0]), span(next, p-1)+" are")
	}
	if q := id.index(got, exp[0]); q > 0 {
		return failf(ev, "after Last-Event-ID: %s the server sent %d event(s) the uninterrupted read never had (from %s) before the event that followed (%s)", lastID, q, describe(got[0]), describe(exp[0]))
	}
	return failf(ev, "after Last-Event-ID: %s the server sent %s, which is not in the uninterrupted read (%d events); expected event %d, %s", lastID, describe(got[0]), len(ref.Events), next, describe(exp[0]))
}

// resetMarkers are words in an event type that announce a replay or reset.
var resetMarkers = []string{"reset", "resync", "stale", "replay", "restart", "snapshot"}

// checkUnknownID: an unknown Last-Event-ID gets a defined answer: 204, a
// 4xx, a reset marker, or a full replay from the first event. A replay is
// told by the run's identity (see identity): a live feed that serves an
// unknown id from where it is now gives the client a gap it cannot see.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header
// (the value space and its handling are the application's; whatwg/html#8297).
func checkUnknownID(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	if !s.IDs() {
		return skipf("the stream carries no ids: clients never send Last-Event-ID")
	}
	c := in.UnknownID
	if c == nil {
		return skipf("the unknown-id probe did not run")
	}
	if c.Err != nil {
		return failf(&Evidence{Connection: c.Label, Detail: c.Err.Error()}, "no answer to Last-Event-ID: %s", c.LastEventID)
	}
	if b := in.Boundary; c.Status != 200 && b != nil && b.Resumed != nil && b.Resumed.Status == c.Status {
		return skipf("every reconnect is answered %d, known id or not (see reconnect/accepted)", c.Status)
	}
	ev := &Evidence{Connection: c.Label, Detail: "Content-Type: " + c.Header.Get("Content-Type")}
	if len(c.Body) > 0 {
		ev.Bytes, ev.Offset = Quote(c.Body), ptr(int64(0))
	}
	switch {
	case c.Status == 204:
		return passf("Last-Event-ID: %s answered 204 (the client stops)", c.LastEventID)
	case c.Status >= 400 && c.Status < 500:
		kind := "body"
		if strings.Contains(c.Header.Get("Content-Type"), "json") {
			kind = "JSON error"
		}
		return passf("Last-Event-ID: %s answered %d with a %s", c.LastEventID, c.Status, kind)
	case c.Status != 200:
		return failf(ev, "Last-Event-ID: %s answered %d: a browser stops for good; answer 4xx or a marked replay", c.LastEventID, c.Status)
	}
	rs := c.Stream()
	if len(rs.Events) == 0 {
		return failf(ev, "Last-Event-ID: %s answered 200 with no event: a silent stream, the client cannot tell it missed events", c.LastEventID)
	}
	got := rs.Events[0]
	for _, m := range resetMarkers {
		if strings.Contains(strings.ToLower(got.Type), m) {
			return passf("Last-Event-ID: %s answered 200, marked by a %q event", c.LastEventID, got.Type)
		}
	}
	id := identityOf(in)
	if id.same == nil {
		return skipf("cannot tell a full replay from a partial stream: %s", id.reason)
	}
	ev = at(c, rs, got.Start, int(got.Size()))
	if id.live {
		ev.Detail = "two reads of the stream from its start began at different events: a live feed"
		return failf(ev, "Last-Event-ID: %s answered 200 with the live feed (from %s) and no reset marker: the client cannot tell it missed events", c.LastEventID, describe(got))
	}
	if matchesAt(s.Events, 0, rs.Events, id.same) {
		return passf("Last-Event-ID: %s answered with a full replay from the first event (same %s)", c.LastEventID, id.by)
	}
	where := ""
	if j := id.align(s.Events, rs.Events); j >= 0 {
		where = fmt.Sprintf(" (event %d of the uninterrupted read)", j)
	}
	return failf(ev, "Last-Event-ID: %s answered 200 starting at %s%s with no reset marker: a silent partial stream", c.LastEventID, describe(got), where)
}
