package checks

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
)

// EOL is the line ending of one raw line.
type EOL uint8

// Line endings, https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
const (
	EOLNone EOL = iota // the last line of a stream that ends without one
	EOLLF
	EOLCRLF
	EOLCR
)

// String returns "LF", "CRLF", "CR" or "none".
func (e EOL) String() string {
	switch e {
	case EOLLF:
		return "LF"
	case EOLCRLF:
		return "CRLF"
	case EOLCR:
		return "CR"
	}
	return "none"
}

// Line is one raw line of a stream, as the lint pass splits it: at CRLF, LF
// or CR, exactly as the standard's parser does.
type Line struct {
	// Off is the byte offset of the line's first byte.
	Off int64
	// Len is the line's length in bytes, without the line ending.
	Len int
	// EOL is the line's ending.
	EOL EOL
}

// end returns the offset just past the line's ending.
func (l Line) end() int64 {
	switch l.EOL {
	case EOLLF, EOLCR:
		return l.Off + int64(l.Len) + 1
	case EOLCRLF:
		return l.Off + int64(l.Len) + 2
	}
	return l.Off + int64(l.Len)
}

// Event is one dispatched event with where it sat in the raw bytes and when
// its dispatching empty line arrived.
type Event struct {
	sse.Event
	// Index is the event's position in the stream, from 0.
	Index int
	// Start is the offset of the first line of the event's block (comment
	// lines included).
	Start int64
	// End is the offset just past the event's empty line.
	End int64
	// Dispatch is the offset of the empty line that dispatched the event.
	Dispatch int64
	// At is when the dispatching byte arrived, since the capture's start.
	At time.Duration
	// HasAt is false when the capture has no read times (a synthetic
	// capture): At is then meaningless.
	HasAt bool
	// OwnID is true when the event's block has an id field of its own.
	OwnID bool
	// OwnIDValue is the raw value of the block's last id field (which a
	// client ignores when it holds U+0000).
	OwnIDValue string
}

// Size returns the number of raw bytes of the event's block.
func (e Event) Size() int64 { return e.End - e.Start }

// Stream is a captured body parsed by the reference parser (sse.Reader)
// together with what a lint pass over its raw lines saw.
type Stream struct {
	// Body is the parsed bytes.
	Body []byte
	// Events are the dispatched events, in order.
	Events []Event
	// Diags are the Reader's diagnostics, in order.
	Diags []sse.Diagnostic
	// ValidRetries counts retry fields a client accepted.
	ValidRetries int
	// Comments counts comment lines.
	Comments int
	// Pending is the unfinished event discarded at the end of Body, or
	// nil.
	Pending *sse.EOFMidEventError
	// Err is the Reader's error other than a clean end or Pending (a size
	// limit), or nil.
	Err error
	// LastEventID is what a browser would send as Last-Event-ID next.
	LastEventID string
	// LeadingBOM is true when the body starts with U+FEFF (legal, stripped).
	LeadingBOM bool
	// Lines are the raw lines, in order.
	Lines []Line
}

// Parse parses body (a client's view of a response body) with the reference
// parser, seeding its last event ID with lastEventID as a reconnecting
// browser does, and splits it into raw lines for the lint checks. reads,
// when not nil, time the events' arrival.
func Parse(body []byte, lastEventID string, reads []Read) *Stream {
	s := &Stream{Body: body}
	opts := &sse.Options{
		// The body is in memory: no limit can protect anything, and a
		// huge event must be measured, not refused.
		MaxLine:      len(body) + 2,
		MaxEvent:     2*len(body) + 16,
		LastEventID:  lastEventID,
		OnComment:    func([]byte) { s.Comments++ },
		OnRetry:      func(time.Duration) { s.ValidRetries++ },
		OnDiagnostic: func(d sse.Diagnostic) { s.Diags = append(s.Diags, d) },
	}
	rd := sse.NewReader(bytes.NewReader(body), opts)
	for {
		ev, err := rd.Next()
		if err != nil {
			var mid *sse.EOFMidEventError
			switch {
			case errors.Is(err, io.EOF):
			case errors.As(err, &mid):
				s.Pending = mid
			default:
				s.Err = err
			}
			break
		}
		s.Events = append(s.Events, Event{Event: ev, Index: len(s.Events)})
	}
	s.LastEventID = rd.LastEventID()
	s.LeadingBOM = bytes.HasPrefix(body, []byte("\xEF\xBB\xBF"))
	s.Lines = splitLines(body)
	s.locate(reads)
	return s
}

// splitLines splits b at CRLF, LF and CR after one leading BOM, the way the
// standard's parser does.
func splitLines(b []byte) []Line {
	var lines []Line
	i := 0
	if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		i = 3
	}
	for i < len(b) {
		j := i
		for j < len(b) && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		l := Line{Off: int64(i), Len: j - i}
		switch {
		case j == len(b):
			l.EOL = EOLNone
			i = j
		case b[j] == '\n':
			l.EOL = EOLLF
			i = j + 1
		case j+1 < len(b) && b[j+1] == '\n':
			l.EOL = EOLCRLF
			i = j + 2
		default:
			l.EOL = EOLCR
			i = j + 1
		}
		lines = append(lines, l)
	}
	return lines
}

// FieldName returns the field name of a raw line (the bytes before the first
// colon, or the whole line), and false for a comment or an empty line.
func FieldName(line []byte) ([]byte, bool) {
	if len(line) == 0 || line[0] == ':' {
		return nil, false
	}
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		return line[:i], true
	}
	return line, true
}

// fieldValue returns the value of a raw field line: the bytes after the
// first colon minus one leading space, or nothing when there is no colon.
func fieldValue(line []byte) []byte {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return nil
	}
	v := line[i+1:]
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return v
}

// Bytes returns the raw bytes of line l, without its ending.
func (s *Stream) Bytes(l Line) []byte { return s.Body[l.Off : l.Off+int64(l.Len)] }

// locate finds each dispatched event's block in the raw lines: the i-th
// block that holds a data field and is closed by an empty line is the i-th
// dispatched event (the standard's dispatch rule, step 2).
func (s *Stream) locate(reads []Read) {
	ev := 0
	blockStart := int64(-1)
	hasData, ownID := false, false
	var idVal []byte
	for _, l := range s.Lines {
		if l.Len == 0 {
			if l.EOL == EOLNone {
				break
			}
			if hasData && ev < len(s.Events) {
				e := &s.Events[ev]
				e.Start, e.End, e.Dispatch, e.OwnID = blockStart, l.end(), l.Off, ownID
				if ownID {
					e.OwnIDValue = string(idVal)
				}
				if reads != nil {
					e.At, e.HasAt = arrival(reads, l.Off)
				}
				ev++
			}
			blockStart, hasData, ownID, idVal = -1, false, false, nil
			continue
		}
		if blockStart < 0 {
			blockStart = l.Off
		}
		name, ok := FieldName(s.Bytes(l))
		if !ok || l.EOL == EOLNone {
			continue
		}
		switch string(name) {
		case "data":
			hasData = true
		case "id":
			ownID = true
			idVal = fieldValue(s.Bytes(l))
		}
	}
}

// EventAt returns the index of the event whose block contains offset off,
// or of the next event after it, or -1.
func (s *Stream) EventAt(off int64) int {
	for i, e := range s.Events {
		if off < e.End {
			return i
		}
	}
	return -1
}

// Endings counts the line endings of the stream by kind.
func (s *Stream) Endings() (lf, crlf, cr int) {
	for _, l := range s.Lines {
		switch l.EOL {
		case EOLLF:
			lf++
		case EOLCRLF:
			crlf++
		case EOLCR:
			cr++
		}
	}
	return lf, crlf, cr
}

// IDs reports whether any event carries a non-empty last event ID, as a
// browser sees it.
func (s *Stream) IDs() bool {
	for _, e := range s.Events {
		if e.ID != "" {
			return true
		}
	}
	return false
}
