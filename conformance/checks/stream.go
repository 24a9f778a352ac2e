package checks

import (
	"bytes"
	"hash/maphash"
	"sort"
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

// Line is one raw line of a stream, as the standard's parser splits it: at
// CRLF, LF or CR. It is a position in Stream.Body, never a copy.
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

// Digest identifies an event's data without holding it: its length in
// bytes (decoded UTF-8, without the final line feed) and a 64-bit hash.
// Two digests are equal when the data are, except with a probability of
// about 2^-64 per pair; the hash is seeded once per process, so digests are
// comparable within one run only.
type Digest struct {
	// Len is the data's length in bytes.
	Len int64
	// Sum is the data's hash.
	Sum uint64
}

// seed is the hash seed of every Digest of this process.
var seed = maphash.MakeSeed()

// Event is one dispatched event: the fields a browser's MessageEvent
// carries (its data as a digest, so that no event is copied out of the
// body), where its block sits in the raw bytes, and when its dispatching
// empty line arrived.
type Event struct {
	// Type is the event type; "message" when the block set none.
	Type string
	// ID is the event's lastEventId: the source's last event ID at
	// dispatch, which persists from earlier events.
	ID string
	// Data identifies the event's data.
	Data Digest
	// Index is the event's position in the stream, from 0.
	Index int
	// Start is the offset of the first line of the event's block (comment
	// lines included).
	Start int64
	// FieldStart is the offset of the block's first field line (the first
	// line that is not a comment).
	FieldStart int64
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
	// OwnIDValue is the value of the block's last id field (which a
	// client ignores when it holds U+0000).
	OwnIDValue string
}

// Size returns the number of raw bytes of the event's block.
func (e Event) Size() int64 { return e.End - e.Start }

// Same reports whether e and o are the same event as a client sees it:
// the same type, data and last event ID.
func (e Event) Same(o Event) bool { return e.Type == o.Type && e.Data == o.Data && e.ID == o.ID }

// SameContent reports whether e and o carry the same type and data,
// whatever their ids.
func (e Event) SameContent(o Event) bool { return e.Type == o.Type && e.Data == o.Data }

// SameID reports whether e and o carry the same type and id, whatever
// their data.
func (e Event) SameID(o Event) bool { return e.Type == o.Type && e.ID == o.ID }

// Diag is one deviation the parser noticed, located in the raw bytes.
type Diag struct {
	// Kind is what was noticed.
	Kind sse.DiagnosticKind
	// Offset is where: the start of the line, except for an invalid
	// UTF-8 sequence (its first byte), a U+FEFF (its first byte) and a
	// block without data (the block's first field line).
	Offset int64
	// Line is the raw line concerned (for a block without data, the line
	// at Offset).
	Line Line
	// End is the offset just past what the diagnostic is about: the line,
	// or for a block without data, the block's empty line.
	End int64
	// Event is the number of events dispatched before.
	Event int
}

// MaxDiags is how many diagnostics of each kind a Stream keeps; it counts
// them all.
const MaxDiags = 8

// Pending is an event that had not ended when the bytes did.
type Pending struct {
	// Offset is the offset of the event's first field line (or of the
	// unterminated final line).
	Offset int64
	// Start is the offset of the event's block, comment lines included.
	Start int64
}

// Stream is a body as a browser's parser reads it, indexed by offsets into
// the body: the dispatched events, the parser's diagnostics, and what a
// lint pass over the raw lines saw (line-ending styles, comments). It
// never copies a line or an event's data out of the body, so its size
// grows with the number of events, not with the bytes. Build it with ParseStream,
// or incrementally with an Index.
//
// The events and diagnostics are those the standard's parser
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
// gives, as the reference parser sse.Reader does; the tests hold the two to
// the same results on every input.
type Stream struct {
	// Body is the indexed bytes.
	Body []byte
	// Events are the dispatched events, in order.
	Events []Event
	// Diags are the first MaxDiags diagnostics of each kind, in order.
	Diags []Diag
	// ValidRetries counts retry fields a client accepted.
	ValidRetries int
	// Retry is the reconnection time of the last accepted retry field.
	Retry time.Duration
	// Comments counts comment lines.
	Comments int
	// Pending is the event that had not ended at the end of Body, or nil.
	Pending *Pending
	// LastEventID is what a browser would send as Last-Event-ID next.
	LastEventID string
	// LeadingBOM is true when the body starts with U+FEFF (legal, stripped).
	LeadingBOM bool
	// LF, CRLF and CR count the line endings by kind.
	LF, CRLF, CR int
	// First is the first line that has a line ending.
	First Line
	// Mixed is the first line whose ending differs from First's; valid
	// when HasMixed.
	Mixed Line
	// HasMixed is true when a line's ending differs from First's.
	HasMixed bool

	counts map[sse.DiagnosticKind]int
}

// ParseStream indexes body (a client's view of a response body) as Index does
// in one go: seeded with lastEventID as a reconnecting browser is, the end
// of body taken as the end of the stream. reads, when not nil, time the
// events' arrival.
func ParseStream(body []byte, lastEventID string, reads []Read) *Stream {
	x := NewIndex(lastEventID)
	return x.Finish(body, reads)
}

// Count returns the number of diagnostics of kind k (kept or not).
func (s *Stream) Count(k sse.DiagnosticKind) int { return s.counts[k] }

// Endings returns the line endings by kind.
func (s *Stream) Endings() (lf, crlf, cr int) { return s.LF, s.CRLF, s.CR }

// Bytes returns the raw bytes of line l, without its ending.
func (s *Stream) Bytes(l Line) []byte { return s.Body[l.Off : l.Off+int64(l.Len)] }

// EventAt returns the index of the event whose block contains offset off,
// or of the next event after it, or -1.
func (s *Stream) EventAt(off int64) int {
	i := sort.Search(len(s.Events), func(i int) bool { return off < s.Events[i].End })
	if i == len(s.Events) {
		return -1
	}
	return i
}

// lineFrom returns the raw line of body that starts at off.
func lineFrom(body []byte, off int64) Line {
	rest := body[off:]
	i := bytes.IndexAny(rest, "\r\n")
	switch {
	case i < 0:
		return Line{Off: off, Len: len(rest), EOL: EOLNone}
	case rest[i] == '\n':
		return Line{Off: off, Len: i, EOL: EOLLF}
	case i+1 < len(rest) && rest[i+1] == '\n':
		return Line{Off: off, Len: i, EOL: EOLCRLF}
	}
	return Line{Off: off, Len: i, EOL: EOLCR}
}

// EachLine calls fn for each raw line of the body that starts in
// [from, to), in order, until fn returns false. from must be a line start.
func (s *Stream) EachLine(from, to int64, fn func(Line) bool) {
	eachLine(s.Body, from, to, fn)
}

func eachLine(body []byte, from, to int64, fn func(Line) bool) {
	to = min(to, int64(len(body)))
	for off := from; off < to; {
		l := lineFrom(body, off)
		if !fn(l) || l.end() == off {
			return
		}
		off = l.end()
	}
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

// timeEvents sets each event's arrival from the reads: the time of the read
// that delivered its dispatching byte.
func (s *Stream) timeEvents(reads []Read) {
	if reads == nil {
		return
	}
	var end int64
	r := 0
	for i := range s.Events {
		e := &s.Events[i]
		for r < len(reads) && end+int64(reads[r].N) <= e.Dispatch {
			end += int64(reads[r].N)
			r++
		}
		if r < len(reads) {
			e.At, e.HasAt = reads[r].At, true
		}
	}
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
