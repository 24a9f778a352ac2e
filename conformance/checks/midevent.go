package checks

import (
	"bytes"
	"fmt"
	"strings"
)

// fragment returns the evidence of a resumed stream that begins with a
// piece of an event: a line, up to the end of its first event, that is
// neither a known field nor a whole line the reference stream ref also
// carried (so that a stream whose events legitimately hold unknown fields
// is not taken for a fragment). Nil when there is none.
func fragment(r *Capture, rs *Stream, ref *Stream) *Evidence {
	limit := int64(len(rs.Body))
	if len(rs.Events) > 0 {
		limit = rs.Events[0].End
	}
	from := int64(0)
	if rs.LeadingBOM {
		from = 3
	}
	var found *Evidence
	rs.EachLine(from, limit, func(l Line) bool {
		line := rs.Bytes(l)
		name, ok := FieldName(line)
		if !ok {
			return true
		}
		switch string(name) {
		case "data", "event", "id", "retry":
			return true
		}
		if hasLine(ref.Body, line) {
			return true
		}
		found = at(r, rs, l.Off, int(min(l.end()-l.Off, MaxEvidenceBytes)))
		found.Detail = "the resumed body starts: " + Quote(rs.Body[:min(len(rs.Body), MaxEvidenceBytes)])
		return false
	})
	return found
}

// hasLine reports whether body holds line as a whole raw line, ended by a
// line ending.
func hasLine(body, line []byte) bool {
	for from := 0; from <= len(body); {
		i := bytes.Index(body[from:], line)
		if i < 0 {
			return false
		}
		i += from
		startOK := i == 0 || body[i-1] == '\n' || body[i-1] == '\r' || i == 3 && bytes.HasPrefix(body, bom)
		j := i + len(line)
		if startOK && j < len(body) && (body[j] == '\n' || body[j] == '\r') {
			return true
		}
		from = i + 1
	}
	return false
}

// checkMidEvent: after a drop inside an event, resuming with the last
// complete id re-sends that event whole. Two drops are judged: one the
// prober makes inside event k, and (when it happened) the server's own
// abort inside an event of the main read. Events are matched by the run's
// identity (see identity).
// https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
func checkMidEvent(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	if !s.IDs() {
		return skipf("the stream carries no ids (see resume/ids-present)")
	}
	id := identityOf(in)
	var passes, skips []string
	for _, judge := range []func(*Input, *Stream, identity) Finding{clientCut, serverDrop} {
		f := judge(in, s, id)
		switch f.Status {
		case Fail:
			return f
		case Pass:
			passes = append(passes, f.Message)
		case Skip:
			if f.Message != "" {
				skips = append(skips, f.Message)
			}
		}
	}
	if len(passes) == 0 {
		return skipf("%s", strings.Join(skips, "; "))
	}
	return passf("%s", strings.Join(passes, "; "))
}

// clientCut judges the prober's drop inside event k (ProbeMidEvent).
func clientCut(in *Input, s *Stream, id identity) Finding {
	p := in.MidEvent
	if p == nil || p.First == nil {
		return skipf("the mid-event probe did not run")
	}
	if p.First.Status != 200 {
		return skipf("the mid-event probe's first request answered %d", p.First.Status)
	}
	fs := p.First.Stream()
	if p.First.End != EndCut || fs.Pending == nil {
		return skipf("%s after %d events, before the mid-event drop point", endedHow(p.First), len(fs.Events))
	}
	k := len(fs.Events)
	if fs.LastEventID == "" {
		return skipf("event %d has no id: nothing to resume from", k-1)
	}
	if f := reconnected(p); f != nil {
		return *f
	}
	// The whole of the cut event, as the first connection delivered it.
	whole := ParseStream(p.First.Body, p.First.LastEventID, nil)
	if len(whole.Events) <= k {
		return skipf("the cut event never completed on the first connection")
	}
	want := whole.Events[k]
	r := p.Resumed
	rs := r.Stream()
	if ev := fragment(r, rs, whole); ev != nil {
		return failf(ev, "cut inside event %d; after Last-Event-ID: %s the server sent a fragment of an event", k, fs.LastEventID)
	}
	if len(rs.Events) == 0 {
		return failf(&Evidence{Connection: r.Label, Detail: fmt.Sprintf("body ended (%s) after %d bytes", r.End, len(r.Body))},
			"cut inside event %d; after Last-Event-ID: %s the server sent no event", k, fs.LastEventID)
	}
	if id.same == nil {
		return skipf("%s", id.reason)
	}
	got := rs.Events[0]
	if id.same(got, want) {
		return passf("cut inside event %d at byte %d; Last-Event-ID: %s re-sent it whole (same %s)", k, p.First.Cut, fs.LastEventID, id.by)
	}
	ev := at(r, rs, got.Start, int(got.Size()))
	ev.Detail = "expected the event that was cut: " + Quote(whole.Body[want.Start:want.End])
	if len(whole.Events) > k+1 && id.same(got, whole.Events[k+1]) {
		return failf(ev, "cut inside event %d (%s); the server resumed after it: the half-received event is lost", k, describe(want))
	}
	if j := id.align(whole.Events[:k], rs.Events); j >= 0 {
		return failf(ev, "cut inside event %d; the server re-sent %d event(s) the client already had (%s, from %s)", k, k-j, span(j, k-1), describe(got))
	}
	return failf(ev, "cut inside event %d (%s); the server resumed with %s", k, describe(want), describe(got))
}

// serverDrop judges the resume after the server aborted the main read
// inside an event (ProbeServerDrop): the event it cut must come back whole.
func serverDrop(in *Input, s *Stream, id identity) Finding {
	p := in.ServerDrop
	if p == nil || p.First == nil {
		return skipf("")
	}
	if s.Pending == nil || in.Main.End != EndAbort {
		return skipf("")
	}
	if s.LastEventID == "" {
		return skipf("the server dropped the connection before any id")
	}
	if f := reconnected(p); f != nil {
		return *f
	}
	partial := s.Body[s.Pending.Offset:]
	r := p.Resumed
	rs := r.Stream()
	if ev := fragment(r, rs, s); ev != nil {
		return failf(ev, "the server dropped the connection inside event %d; after Last-Event-ID: %s it sent a fragment, not the event whole", len(s.Events), s.LastEventID)
	}
	if len(rs.Events) == 0 {
		return failf(&Evidence{Connection: r.Label, Detail: fmt.Sprintf("body ended (%s) after %d bytes", r.End, len(r.Body))},
			"the server dropped the connection inside event %d; after Last-Event-ID: %s it sent no event", len(s.Events), s.LastEventID)
	}
	got := rs.Events[0]
	block := rs.Body[got.Start:got.End]
	ev := at(r, rs, got.Start, int(got.Size()))
	ev.Detail = "the main connection broke after: " + Quote(partial)
	// With ids made up per request, the re-sent event carries a new id:
	// then compare what the server sent apart from id lines.
	if pid, ok := partialID(partial); ok && !id.content {
		if got.OwnID && got.OwnIDValue == pid {
			return passf("the server dropped the connection inside event %d (id %q); the resume re-sent it whole", len(s.Events), pid)
		}
		return failf(ev, "the server dropped the connection inside event %d (id %q); the resume started with %s instead", len(s.Events), pid, describe(got))
	}
	if id.content {
		block, partial = withoutField(block, "id"), withoutField(partial, "id")
	}
	if bytes.Contains(block, partial) {
		return passf("the server dropped the connection inside event %d; the resume re-sent it whole", len(s.Events))
	}
	same := Event.Same
	if id.same != nil {
		same = id.same
	}
	for j, e := range s.Events {
		if same(e, got) {
			return failf(ev, "the server dropped the connection inside event %d; the resume re-sent event %d, which the client already had", len(s.Events), j)
		}
	}
	if typ, ok := partialField(partial, "event"); ok && typ != got.Type {
		return failf(ev, "the server dropped the connection inside a %q event; the resume started with a %q event instead (a fragment of it?)", typ, got.Type)
	}
	allOwn := len(s.Events) > 0
	for _, e := range s.Events {
		allOwn = allOwn && e.OwnID
	}
	if allOwn && !got.OwnID {
		return failf(ev, "the server dropped the connection inside event %d; the resume started with an event without an id of its own, where every event had one (a fragment of the cut event?)", len(s.Events))
	}
	return passf("the server dropped the connection inside event %d before its id; the resume started with %s (not comparable)", len(s.Events), describe(got))
}

// withoutField returns a copy of the raw bytes b without the complete
// lines of field name.
func withoutField(b []byte, name string) []byte {
	out := make([]byte, 0, len(b))
	eachLine(b, 0, int64(len(b)), func(l Line) bool {
		line := b[l.Off : l.Off+int64(l.Len)]
		if n, ok := FieldName(line); ok && string(n) == name && l.EOL != EOLNone {
			return true
		}
		out = append(out, b[l.Off:l.end()]...)
		return true
	})
	return out
}

// partialID returns the value of the last complete id line in the partial
// bytes of an event, if any.
func partialID(b []byte) (string, bool) { return partialField(b, "id") }

// partialField returns the value of the last complete line of field name in
// the partial bytes of an event, if any.
func partialField(b []byte, name string) (string, bool) {
	val, ok := "", false
	eachLine(b, 0, int64(len(b)), func(l Line) bool {
		if l.EOL == EOLNone {
			return false
		}
		line := b[l.Off : l.Off+int64(l.Len)]
		if n, isField := FieldName(line); isField && string(n) == name {
			val, ok = string(fieldValue(line)), true
		}
		return true
	})
	return val, ok
}
