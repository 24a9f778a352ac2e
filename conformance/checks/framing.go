package checks

import (
	"fmt"

	"github.com/ssebench/ssebench/conformance/sse"
)

// diags returns the kept diagnostics of kind k (see Stream.Count for how
// many there were).
func diags(s *Stream, k sse.DiagnosticKind) []Diag {
	var out []Diag
	for _, d := range s.Diags {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}

// more describes how many further occurrences there are.
func more(n int) string {
	switch n {
	case 0, 1:
		return ""
	case 2:
		return " (and 1 more)"
	}
	return fmt.Sprintf(" (and %d more)", n-1)
}

// checkUTF8: the stream is valid UTF-8.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
func checkUTF8(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	ds := diags(s, sse.DiagInvalidUTF8)
	if len(ds) == 0 {
		return passf("valid UTF-8 (%d bytes)", len(s.Body))
	}
	d := ds[0]
	ev := at(in.Main, s, d.Offset, 16)
	ev.Detail = "in line " + Quote(s.Bytes(d.Line))
	return failf(ev, "invalid UTF-8 at byte %d%s: clients show U+FFFD instead", d.Offset, more(s.Count(sse.DiagInvalidUTF8)))
}

// checkBOM: U+FEFF only as the very first character (which clients strip).
func checkBOM(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	ds := diags(s, sse.DiagBOM)
	if len(ds) == 0 {
		if s.LeadingBOM {
			return passf("one leading BOM (legal: clients strip it)")
		}
		return passf("no BOM after the start")
	}
	d := ds[0]
	where := "inside a line"
	if d.Offset == d.Line.Off {
		where = "at a line start, where it renames the field"
	}
	return failf(at(in.Main, s, d.Offset, 24), "U+FEFF at byte %d, %s%s", d.Offset, where, more(s.Count(sse.DiagBOM)))
}

// checkTerminated: no event is left without its empty line when the server
// ends the stream.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
// ("Once the end of the file is reached, any pending data must be
// discarded").
func checkTerminated(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	c := in.Main
	if s.Pending == nil {
		return passf("every event ended with its empty line (%d events)", len(s.Events))
	}
	switch c.End {
	case EndEOF:
		return failf(at(c, s, s.Pending.Offset, len(s.Body)-int(s.Pending.Offset)),
			"the stream ended cleanly inside an event at byte %d: every conforming client discards it", s.Pending.Offset)
	case EndAbort:
		return passf("the connection broke inside an event at byte %d: a network drop, not framing (resume/mid-event judges the recovery)", s.Pending.Offset)
	}
	return passf("every complete event ended with its empty line (the read stopped: %s)", c.End)
}

// checkRetry: every retry value is ASCII digits only.
func checkRetry(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	ds := diags(s, sse.DiagBadRetry)
	if len(ds) == 0 {
		return passf("%d retry field(s), all ASCII digits", s.ValidRetries)
	}
	return failf(lineOf(in.Main, s, ds[0].Line), "retry value is not ASCII digits only%s: clients ignore it", more(s.Count(sse.DiagBadRetry)))
}

// checkNulID: no id contains U+0000.
func checkNulID(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	ds := diags(s, sse.DiagNulInID)
	if len(ds) == 0 {
		return passf("no id contains U+0000")
	}
	return failf(lineOf(in.Main, s, ds[0].Line), "id contains U+0000%s: clients ignore the whole id field", more(s.Count(sse.DiagNulInID)))
}

// checkKnownFields: only data, event, id and retry fields.
func checkKnownFields(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	ds := diags(s, sse.DiagUnknownField)
	if len(ds) == 0 {
		return passf("only data, event, id, retry and comments")
	}
	name, _ := FieldName(s.Bytes(ds[0].Line))
	return failf(lineOf(in.Main, s, ds[0].Line), "unknown field %q%s: clients drop the line silently", Quote(name), more(s.Count(sse.DiagUnknownField)))
}

// checkDispatchable: no block sets event or id without data.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
// (step 2: an empty data buffer dispatches nothing).
func checkDispatchable(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	ds := diags(s, sse.DiagNoData)
	if len(ds) == 0 {
		return passf("every block that sets event or id carries data")
	}
	d := ds[0]
	return failf(at(in.Main, s, d.Offset, int(min(d.End-d.Offset, MaxEvidenceBytes))), "a block sets event or id but has no data line%s: clients dispatch nothing", more(s.Count(sse.DiagNoData)))
}

// checkLineEndings: one line-ending style, LF or CRLF.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
func checkLineEndings(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	lf, crlf, cr := s.Endings()
	counts := fmt.Sprintf("%d LF, %d CRLF, %d CR", lf, crlf, cr)
	if s.HasMixed {
		l := s.Mixed
		ev := lineOf(in.Main, s, l)
		ev.Detail = fmt.Sprintf("the stream starts with %s; this line ends with %s; %s", s.First.EOL, l.EOL, counts)
		return failf(ev, "mixed line endings (%s): legal, but breaks parsers that split on one style", counts)
	}
	switch {
	case cr > 0:
		ev := lineOf(in.Main, s, s.First)
		return failf(ev, "bare CR line endings (%d): legal, but many parsers that split on \\n never see an event", cr)
	case crlf > 0:
		return passf("CRLF line endings (%d; legal)", crlf)
	}
	return passf("LF line endings (%d)", lf)
}

// checkEventSize: no event over 64 KiB (warn) or 1 MiB. An event that had
// not ended when the read did (a never-ending event, or one larger than
// the capture's share of the memory budget) is measured as far as it went:
// its size is at least that.
func checkEventSize(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	c := in.Main
	var big *Event
	for i := range s.Events {
		if big == nil || s.Events[i].Size() > big.Size() {
			big = &s.Events[i]
		}
	}
	size, index, start, open := int64(0), 0, int64(0), false
	if big != nil {
		size, index, start = big.Size(), big.Index, big.Start
	}
	if p := s.Pending; p != nil && int64(len(s.Body))-p.Start > size {
		size, index, start, open = int64(len(s.Body))-p.Start, len(s.Events), p.Start, true
	}
	if size == 0 {
		return passf("no event")
	}
	var limit int
	switch {
	case in.Config.EventMax > 0 && size > int64(in.Config.EventMax):
		limit = in.Config.EventMax
	case in.Config.EventWarn > 0 && size > int64(in.Config.EventWarn):
		limit = in.Config.EventWarn
	case open:
		return passf("largest complete event %d bytes; event %d had %d bytes when %s", bigSize(big), index, size, endedHow(c))
	default:
		return passf("largest event %d bytes (event %d)", size, index)
	}
	ev := at(c, s, start, MaxEvidenceBytes)
	if !open {
		ev.Detail = fmt.Sprintf("event %d spans bytes %d..%d", index, start, start+size)
		return failf(ev, "event %d is %d bytes, over %s: clients with a 64 KiB line or event limit fail on it", index, size, sizeString(limit))
	}
	ev.Detail = fmt.Sprintf("event %d starts at byte %d and had not ended at byte %d, when %s", index, start, len(s.Body), endedHow(c))
	if c.End == EndLimit && c.Share > 0 {
		ev.Detail += fmt.Sprintf(" (%s; raise --max-memory to measure it whole)", sizeString(int(c.Share)))
	}
	return failf(ev, "event %d is at least %d bytes (it had not ended when the read stopped), over %s: clients with a 64 KiB line or event limit fail on it", index, size, sizeString(limit))
}

func bigSize(e *Event) int64 {
	if e == nil {
		return 0
	}
	return e.Size()
}

// sizeString formats a byte count as "64 KiB", "1 MiB" or "1500 bytes".
func sizeString(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
