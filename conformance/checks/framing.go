package checks

import (
	"bytes"
	"fmt"

	"github.com/ssebench/ssebench/conformance/sse"
)

// diags returns the main stream's diagnostics of kind k.
func diags(s *Stream, k sse.DiagnosticKind) []sse.Diagnostic {
	var out []sse.Diagnostic
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
	ev.Detail = "in line " + Quote(d.Line)
	return failf(ev, "invalid UTF-8 at byte %d%s: clients show U+FFFD instead", d.Offset, more(len(ds)))
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
	off := d.Offset
	bom := []byte("\xEF\xBB\xBF")
	if off >= 0 && off < int64(len(s.Body)) && !bytes.HasPrefix(s.Body[off:], bom) {
		if i := bytes.Index(s.Body[off:], bom); i >= 0 {
			off += int64(i)
		}
	}
	where := "inside a line"
	for _, l := range s.Lines {
		if l.Off == off {
			where = "at a line start, where it renames the field"
			break
		}
	}
	return failf(at(in.Main, s, off, 24), "U+FEFF at byte %d, %s%s", off, where, more(len(ds)))
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
	return failf(lineAt(in.Main, s, ds[0].Offset), "retry value is not ASCII digits only%s: clients ignore it", more(len(ds)))
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
	return failf(lineAt(in.Main, s, ds[0].Offset), "id contains U+0000%s: clients ignore the whole id field", more(len(ds)))
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
	name, _ := FieldName(ds[0].Line)
	return failf(lineAt(in.Main, s, ds[0].Offset), "unknown field %q%s: clients drop the line silently", Quote(name), more(len(ds)))
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
	off := ds[0].Offset
	end := off
	for _, l := range s.Lines {
		if l.Off < off {
			continue
		}
		end = l.end()
		if l.Len == 0 {
			break
		}
	}
	return failf(at(in.Main, s, off, int(end-off)), "a block sets event or id but has no data line%s: clients dispatch nothing", more(len(ds)))
}

// checkLineEndings: one line-ending style, LF or CRLF.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
func checkLineEndings(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	lf, crlf, cr := s.Endings()
	kinds := 0
	for _, n := range []int{lf, crlf, cr} {
		if n > 0 {
			kinds++
		}
	}
	counts := fmt.Sprintf("%d LF, %d CRLF, %d CR", lf, crlf, cr)
	if kinds > 1 {
		var first EOL
		for _, l := range s.Lines {
			if l.EOL == EOLNone {
				continue
			}
			if first == EOLNone {
				first = l.EOL
				continue
			}
			if l.EOL != first {
				ev := at(in.Main, s, l.Off, int(l.end()-l.Off))
				ev.Detail = fmt.Sprintf("the stream starts with %s; this line ends with %s; %s", first, l.EOL, counts)
				return failf(ev, "mixed line endings (%s): legal, but breaks parsers that split on one style", counts)
			}
		}
	}
	switch {
	case cr > 0:
		l := s.Lines[0]
		ev := at(in.Main, s, l.Off, int(l.end()-l.Off))
		return failf(ev, "bare CR line endings (%d): legal, but many parsers that split on \\n never see an event", cr)
	case crlf > 0:
		return passf("CRLF line endings (%d; legal)", crlf)
	}
	return passf("LF line endings (%d)", lf)
}

// checkEventSize: no event over 64 KiB (warn) or 1 MiB.
func checkEventSize(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	var big *Event
	for i := range s.Events {
		if big == nil || s.Events[i].Size() > big.Size() {
			big = &s.Events[i]
		}
	}
	if big == nil {
		return passf("no event")
	}
	size := big.Size()
	var limit int
	switch {
	case in.Config.EventMax > 0 && size > int64(in.Config.EventMax):
		limit = in.Config.EventMax
	case in.Config.EventWarn > 0 && size > int64(in.Config.EventWarn):
		limit = in.Config.EventWarn
	default:
		return passf("largest event %d bytes (event %d)", size, big.Index)
	}
	ev := at(in.Main, s, big.Start, MaxEvidenceBytes)
	ev.Detail = fmt.Sprintf("event %d spans bytes %d..%d", big.Index, big.Start, big.End)
	return failf(ev, "event %d is %d bytes, over %s: clients with a 64 KiB line or event limit fail on it", big.Index, size, sizeString(limit))
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
