package checks

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ssebench/ssebench/conformance/sse"
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

// compareMode says how two reads of the same stream can be compared.
type compareMode uint8

const (
	// cmpNone: the two reads differ even in their ids (per-request ids):
	// no comparison is possible.
	cmpNone compareMode = iota
	// cmpIDs: ids and types repeat but data does not (a nondeterministic
	// generator with positional ids): compare ids and types.
	cmpIDs
	// cmpFull: the reads are identical: compare type, data and id.
	cmpFull
)

func (m compareMode) same(a, b sse.Event) bool {
	switch m {
	case cmpFull:
		return a == b
	case cmpIDs:
		return a.ID == b.ID && a.Type == b.Type
	}
	return false
}

// modeOf decides how a second read whose first events are prefix relates
// to the reference read ref.
func modeOf(ref []Event, prefix []Event) compareMode {
	n := min(len(ref), len(prefix))
	full, ids := true, true
	for i := range n {
		a, b := ref[i].Event, prefix[i].Event
		full = full && a == b
		ids = ids && a.ID == b.ID && a.Type == b.Type
	}
	switch {
	case full:
		return cmpFull
	case ids:
		return cmpIDs
	}
	return cmpNone
}

// find returns the index in evs of the first event equal to e, or -1.
func find(evs []Event, e sse.Event, m compareMode) int {
	for i := range evs {
		if m.same(evs[i].Event, e) {
			return i
		}
	}
	return -1
}

// describe renders an event for a message: its id and type.
func describe(e sse.Event) string {
	if e.ID == "" {
		return fmt.Sprintf("%s event without id", e.Type)
	}
	return fmt.Sprintf("id %q (%s)", e.ID, e.Type)
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

// checkLastEventID: after a drop right after event k, a reconnect with
// Last-Event-ID: id(k) continues with exactly the events that followed k
// in an uninterrupted read: no duplicate, no gap.
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
		return skipf("the stream ended after %d events, before the drop point", k)
	}
	if fs.LastEventID == "" {
		return skipf("event %d has no id: a browser reconnects without Last-Event-ID", k-1)
	}
	if f := reconnected(p); f != nil {
		return *f
	}
	mode := modeOf(s.Events, fs.Events)
	if mode == cmpNone {
		return skipf("two requests give different ids (per-request ids): the resume cannot be compared with an uninterrupted read")
	}
	if len(s.Events) <= k {
		return skipf("the uninterrupted read has only %d events; the drop was after %d", len(s.Events), k)
	}
	return continuation(in.Main, s, k, p.Resumed, mode)
}

// continuation compares the events of a resumed connection with those that
// followed event k-1 in the reference read.
func continuation(main *Capture, ref *Stream, k int, r *Capture, mode compareMode) Finding {
	rs := r.Stream()
	exp := ref.Events[k:]
	got := rs.Events
	lastID := r.LastEventID
	if len(got) == 0 {
		ev := &Evidence{Connection: r.Label, Detail: fmt.Sprintf("the resumed body ended (%s) after %d bytes", r.End, len(r.Body))}
		if len(r.Body) > 0 {
			ev = at(r, rs, 0, MaxEvidenceBytes)
			ev.Detail = fmt.Sprintf("the resumed body ended (%s) after %d bytes", r.End, len(r.Body))
		}
		return failf(ev, "after Last-Event-ID: %s the server sent no event; expected event %d, %s", lastID, k, describe(exp[0].Event))
	}
	n := min(len(got), len(exp))
	for i := range n {
		if mode.same(got[i].Event, exp[i].Event) {
			continue
		}
		ev := at(r, rs, got[i].Start, int(got[i].Size()))
		want := exp[i]
		ev.Detail = fmt.Sprintf("expected event %d of the uninterrupted read: %s", k+i, Quote(ref.Body[want.Start:want.End]))
		if i > 0 {
			return failf(ev, "after resuming, event %d differs from the uninterrupted read: got %s, expected %s", k+i, describe(got[i].Event), describe(want.Event))
		}
		j := find(ref.Events, got[0].Event, mode)
		switch {
		case j >= 0 && j < k:
			return failf(ev, "duplicate: after Last-Event-ID: %s the server resent event %d (%s), which the client already had", lastID, j, describe(got[0].Event))
		case j > k:
			return failf(ev, "gap: after Last-Event-ID: %s the server resumed at event %d (%s); events %d..%d are lost", lastID, j, describe(got[0].Event), k, j-1)
		}
		return failf(ev, "after Last-Event-ID: %s the server sent %s, which is not the event that followed (%s)", lastID, describe(got[0].Event), describe(want.Event))
	}
	return passf("after Last-Event-ID: %s the server resumed at event %d; %d events match an uninterrupted read", lastID, k, n)
}

// fragment returns the evidence of a resumed stream that begins with a
// piece of an event: a line, up to the end of its first event, that is
// neither a known field nor a whole line the reference stream also carried
// (so that a stream whose events legitimately hold unknown fields is not
// taken for a fragment). Nil when there is none.
func fragment(r *Capture, rs *Stream, known map[string]bool) *Evidence {
	limit := int64(len(rs.Body))
	if len(rs.Events) > 0 {
		limit = rs.Events[0].End
	}
	for _, l := range rs.Lines {
		if l.Off >= limit {
			break
		}
		line := rs.Bytes(l)
		name, ok := FieldName(line)
		if !ok {
			continue
		}
		switch string(name) {
		case "data", "event", "id", "retry":
			continue
		}
		if known[string(line)] {
			continue
		}
		ev := at(r, rs, l.Off, int(l.end()-l.Off))
		ev.Detail = "the resumed body starts: " + Quote(rs.Body[:min(len(rs.Body), MaxEvidenceBytes)])
		return ev
	}
	return nil
}

// lineSet returns the raw lines of s, as a set.
func lineSet(s *Stream) map[string]bool {
	m := make(map[string]bool, len(s.Lines))
	for _, l := range s.Lines {
		if l.EOL != EOLNone {
			m[string(s.Bytes(l))] = true
		}
	}
	return m
}

// checkMidEvent: after a drop inside an event, resuming with the last
// complete id re-sends that event whole. Two drops are judged: one the
// prober makes inside event k, and (when it happened) the server's own
// abort inside an event of the main read.
func checkMidEvent(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	if !s.IDs() {
		return skipf("the stream carries no ids (see resume/ids-present)")
	}
	var passes, skips []string
	for _, judge := range []func(*Input, *Stream) Finding{clientCut, serverDrop} {
		f := judge(in, s)
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
func clientCut(in *Input, s *Stream) Finding {
	p := in.MidEvent
	if p == nil || p.First == nil {
		return skipf("the mid-event probe did not run")
	}
	if p.First.Status != 200 {
		return skipf("the mid-event probe's first request answered %d", p.First.Status)
	}
	fs := p.First.Stream()
	if p.First.End != EndCut || fs.Pending == nil {
		return skipf("the stream ended after %d events, before the mid-event drop point", len(fs.Events))
	}
	k := len(fs.Events)
	if fs.LastEventID == "" {
		return skipf("event %d has no id: nothing to resume from", k-1)
	}
	if f := reconnected(p); f != nil {
		return *f
	}
	// The whole of the cut event, as the first connection delivered it.
	whole := Parse(p.First.Body, p.First.LastEventID, nil)
	if len(whole.Events) <= k {
		return skipf("the cut event never completed on the first connection")
	}
	want := whole.Events[k]
	r := p.Resumed
	rs := r.Stream()
	if ev := fragment(r, rs, lineSet(whole)); ev != nil {
		return failf(ev, "cut inside event %d; after Last-Event-ID: %s the server sent a fragment of an event", k, fs.LastEventID)
	}
	if len(rs.Events) == 0 {
		return failf(&Evidence{Connection: r.Label, Detail: fmt.Sprintf("body ended (%s) after %d bytes", r.End, len(r.Body))},
			"cut inside event %d; after Last-Event-ID: %s the server sent no event", k, fs.LastEventID)
	}
	got := rs.Events[0]
	mode := cmpFull
	if want.Data != got.Data && want.OwnID && got.OwnID {
		mode = cmpIDs
	}
	if mode.same(got.Event, want.Event) {
		return passf("cut inside event %d at byte %d; Last-Event-ID: %s re-sent it whole", k, p.First.Cut, fs.LastEventID)
	}
	ev := at(r, rs, got.Start, int(got.Size()))
	ev.Detail = "expected the event that was cut: " + Quote(whole.Body[want.Start:want.End])
	if len(whole.Events) > k+1 && mode.same(got.Event, whole.Events[k+1].Event) {
		return failf(ev, "cut inside event %d (%s); the server resumed after it: the half-received event is lost", k, describe(want.Event))
	}
	if j := find(whole.Events[:k], got.Event, mode); j >= 0 {
		return failf(ev, "cut inside event %d; the server resent event %d (%s), which the client already had", k, j, describe(got.Event))
	}
	return failf(ev, "cut inside event %d (%s); the server resumed with %s", k, describe(want.Event), describe(got.Event))
}

// serverDrop judges the resume after the server aborted the main read
// inside an event (ProbeServerDrop): the event it cut must come back whole.
func serverDrop(in *Input, s *Stream) Finding {
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
	if ev := fragment(r, rs, lineSet(s)); ev != nil {
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
	if id, ok := partialID(partial); ok {
		if got.OwnID && got.OwnIDValue == id {
			return passf("the server dropped the connection inside event %d (id %q); the resume re-sent it whole", len(s.Events), id)
		}
		return failf(ev, "the server dropped the connection inside event %d (id %q); the resume started with %s instead", len(s.Events), id, describe(got.Event))
	}
	if bytes.Contains(block, partial) {
		return passf("the server dropped the connection inside event %d; the resume re-sent it whole", len(s.Events))
	}
	if j := find(s.Events, got.Event, cmpFull); j >= 0 {
		return failf(ev, "the server dropped the connection inside event %d; the resume resent event %d, which the client already had", len(s.Events), j)
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
	return passf("the server dropped the connection inside event %d before its id; the resume started with %s (not comparable)", len(s.Events), describe(got.Event))
}

// partialID returns the value of the last complete id line in the partial
// bytes of an event, if any.
func partialID(b []byte) (string, bool) { return partialField(b, "id") }

// partialField returns the value of the last complete line of field name in
// the partial bytes of an event, if any.
func partialField(b []byte, name string) (string, bool) {
	val, ok := "", false
	for _, l := range splitLines(b) {
		if l.EOL == EOLNone {
			break
		}
		line := b[l.Off : l.Off+int64(l.Len)]
		if n, isField := FieldName(line); isField && string(n) == name {
			val, ok = string(fieldValue(line)), true
		}
	}
	return val, ok
}

// resetMarkers are words in an event type that announce a replay or reset.
var resetMarkers = []string{"reset", "resync", "stale", "replay", "restart", "snapshot"}

// checkUnknownID: an unknown Last-Event-ID gets a defined answer.
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
	if len(s.Events) > 0 {
		ref := s.Events[0].Event
		if got.Event == ref || got.ID == ref.ID && got.Type == ref.Type {
			return passf("Last-Event-ID: %s answered with a full replay from the first event", c.LastEventID)
		}
	}
	ev = at(c, rs, got.Start, int(got.Size()))
	where := ""
	if j := find(s.Events, got.Event, cmpIDs); j >= 0 {
		where = fmt.Sprintf(" (event %d of the uninterrupted read)", j)
	}
	return failf(ev, "Last-Event-ID: %s answered 200 starting at %s%s with no reset marker: a silent partial stream", c.LastEventID, describe(got.Event), where)
}
