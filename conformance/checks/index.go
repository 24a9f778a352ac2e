package checks

import (
	"bytes"
	"hash/maphash"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssebench/ssebench/conformance/sse"
)

// Index builds a Stream incrementally, as a response body arrives: the
// prober feeds it the body buffer after every read, and it processes the
// complete lines it has not seen, in place. It holds no copy of a line: a
// line is an offset and a length in the caller's buffer, the data of an
// event is hashed as it is read (Digest), and only the values of event and
// id fields are kept as strings, shared while they do not change. Its size
// is therefore a few hundred bytes plus about EventCost bytes per event and
// the lengths of the distinct types and ids (Cost); a flood of empty lines
// or comments costs nothing.
//
// It implements the standard's parser
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):
// one leading U+FEFF stripped, lines split at CRLF, LF or CR, comments,
// fields, and dispatch at an empty line; UTF-8 decoded as the Encoding
// Standard's decoder does. An Index is not safe for concurrent use.
type Index struct {
	s Stream

	pos     int64 // the next unprocessed byte of the body
	started bool  // the leading BOM is decided
	lf, cr  seek  // where the next LF and CR are

	// A line that ended with a CR at pos-1 waits for the next byte to tell
	// CR from CRLF; its content is processed already.
	crWait  bool
	crLine  Line
	crEvent int // the event that line dispatched, or -1

	// The parser's buffers, https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
	blockStart, fieldStart int64 // -1 outside a block
	hasData, setMeta       bool
	ownID                  bool
	ownIDValue             string
	typ, idBuf, lastID     string
	data                   maphash.Hash
	dataLen                int64

	scratch []byte
	cost    int64
}

// EventCost is the memory an Index counts for one event, beside the
// strings of its type and id.
const EventCost = 160

// seek caches a byte search: at is the offset of the next occurrence at or
// after the position asked last (-1 for none), and the bytes before to have
// been searched.
type seek struct{ at, to int64 }

func (k *seek) next(body []byte, pos int64, c byte) int64 {
	if k.at >= pos {
		return k.at
	}
	from := max(k.to, pos)
	if from >= int64(len(body)) {
		k.at, k.to = -1, from
		return -1
	}
	if i := bytes.IndexByte(body[from:], c); i >= 0 {
		k.at, k.to = from+int64(i), from+int64(i)+1
		return k.at
	}
	k.at, k.to = -1, int64(len(body))
	return -1
}

var bom = []byte("\xEF\xBB\xBF")

// NewIndex returns an Index of a stream whose last event ID starts as
// lastEventID, as a reconnecting browser's does.
func NewIndex(lastEventID string) *Index {
	x := &Index{blockStart: -1, fieldStart: -1, crEvent: -1, idBuf: lastEventID, lastID: lastEventID}
	x.lf.at, x.cr.at = -1, -1
	x.data.SetSeed(seed)
	x.s.counts = make(map[sse.DiagnosticKind]int)
	return x
}

// Pos returns the number of body bytes processed: the offset just past the
// last complete line.
func (x *Index) Pos() int64 { return x.pos }

// Events returns the events dispatched so far. The slice is the Index's
// own: do not modify it.
func (x *Index) Events() []Event { return x.s.Events }

// Cost returns the memory the Index holds, in bytes, beyond the body.
func (x *Index) Cost() int64 { return x.cost }

// Advance processes the complete lines of body it has not processed yet.
// body is the whole body so far: bytes before Pos must not have changed. It
// stops after an event for which stop (when not nil) returns true, and then
// reports true; Pos is then just past that event's empty line.
func (x *Index) Advance(body []byte, stop func(*Event) bool) bool {
	return x.advance(body, stop, false)
}

func (x *Index) advance(body []byte, stop func(*Event) bool, eof bool) bool {
	if !x.started {
		// One U+FEFF at the very start is dropped; wait for three bytes
		// while they can still be one.
		if !eof && len(body) < 3 && bytes.HasPrefix(bom, body) {
			return false
		}
		x.started = true
		if bytes.HasPrefix(body, bom) {
			x.s.LeadingBOM = true
			x.pos = 3
		}
	}
	for {
		if x.crWait && !x.resolveCR(body) {
			return false
		}
		lf := x.lf.next(body, x.pos, '\n')
		cr := x.cr.next(body, x.pos, '\r')
		eol := lf
		if cr >= 0 && (lf < 0 || cr < lf) {
			eol = cr
		}
		if eol < 0 {
			return false
		}
		l := Line{Off: x.pos, Len: int(eol - x.pos), EOL: EOLLF}
		raw := body[x.pos:eol]
		x.pos = eol + 1
		if body[eol] == '\r' {
			l.EOL = EOLCR
			x.crWait, x.crLine = true, l
		}
		ev := x.line(raw, l)
		if x.crWait {
			x.crEvent = ev
			x.resolveCR(body)
		} else {
			x.ending(l)
		}
		if ev >= 0 && stop != nil && stop(&x.s.Events[ev]) {
			return true
		}
	}
}

// resolveCR tells a line that ended with a CR from one that ended with
// CRLF, once the byte after the CR is there, and reports whether it was.
func (x *Index) resolveCR(body []byte) bool {
	if x.pos >= int64(len(body)) {
		return false
	}
	x.crWait = false
	if body[x.pos] == '\n' {
		x.crLine.EOL = EOLCRLF
		x.pos++
		if x.crEvent >= 0 {
			x.s.Events[x.crEvent].End++
		}
	}
	x.ending(x.crLine)
	return true
}

// Finish processes the rest of body, takes its end as the end of the
// stream, and returns the Stream. body may be longer than what Advance
// saw, but must not be shorter than Pos. An unterminated final line is not
// processed, as the standard says; unless it is a comment, it leaves its
// event pending. reads, when not nil, time the events. The Index must not
// be used afterwards.
func (x *Index) Finish(body []byte, reads []Read) *Stream {
	x.advance(body, nil, true)
	if x.crWait {
		// A CR at the end of the stream ends its line.
		x.crWait = false
		x.ending(x.crLine)
	}
	if tail := body[x.pos:]; len(tail) > 0 {
		if x.blockStart < 0 {
			x.blockStart = x.pos
		}
		if tail[0] != ':' && x.fieldStart < 0 {
			x.fieldStart = x.pos
		}
		x.pos = int64(len(body))
	}
	if x.fieldStart >= 0 {
		x.s.Pending = &Pending{Offset: x.fieldStart, Start: x.blockStart}
	}
	x.s.LastEventID = x.lastID
	x.s.Body = body
	x.s.timeEvents(reads)
	s := &x.s
	return s
}

// ending records the line ending of a line.
func (x *Index) ending(l Line) {
	switch l.EOL {
	case EOLLF:
		x.s.LF++
	case EOLCRLF:
		x.s.CRLF++
	case EOLCR:
		x.s.CR++
	}
	switch {
	case x.s.First.EOL == EOLNone:
		x.s.First = l
	case !x.s.HasMixed && l.EOL != x.s.First.EOL:
		x.s.Mixed, x.s.HasMixed = l, true
	}
}

// line processes one complete raw line and returns the index of the event
// it dispatched, or -1.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
func (x *Index) line(raw []byte, l Line) int {
	valid := utf8.Valid(raw)
	if !valid {
		x.diag(sse.DiagInvalidUTF8, l.Off+int64(sse.FirstInvalidUTF8(raw)), l, l.end())
	}
	if i := bytes.Index(raw, bom); i >= 0 {
		x.diag(sse.DiagBOM, l.Off+int64(i), l, l.end())
	}
	if len(raw) == 0 {
		return x.dispatch(l)
	}
	if x.blockStart < 0 {
		x.blockStart = l.Off
	}
	if raw[0] == ':' {
		x.s.Comments++
		return -1
	}
	if x.fieldStart < 0 {
		x.fieldStart = l.Off
	}
	// The field name is the text before the first colon, the value the
	// text after it minus one leading space. Decoding does not move a
	// colon or a space, so the raw bytes split as the decoded ones do.
	name, value := raw, []byte(nil)
	if i := bytes.IndexByte(raw, ':'); i >= 0 {
		name, value = raw[:i], raw[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if x.hasData {
			x.data.WriteByte('\n')
			x.dataLen++
		}
		x.dataLen += x.hashDecoded(value)
		x.hasData = true
	case "event":
		x.typ = x.decoded(value, x.typ)
		x.setMeta = true
	case "id":
		v := x.decoded(value, x.ownIDValue)
		if v != x.ownIDValue && v != x.idBuf {
			x.cost += int64(len(v))
		}
		x.ownID, x.ownIDValue = true, v
		if strings.IndexByte(v, 0) >= 0 {
			x.diag(sse.DiagNulInID, l.Off, l, l.end())
			break
		}
		x.idBuf = v
		x.setMeta = true
	case "retry":
		if ms, ok := retryValue(value); ok {
			x.s.ValidRetries++
			x.s.Retry = ms
		} else {
			x.diag(sse.DiagBadRetry, l.Off, l, l.end())
		}
	default:
		x.diag(sse.DiagUnknownField, l.Off, l, l.end())
	}
	return -1
}

// dispatch runs the standard's "dispatch the event" steps at an empty line.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
func (x *Index) dispatch(l Line) int {
	// Step 1: the last event ID becomes the buffer's value, whether or not
	// an event is dispatched.
	x.lastID = x.idBuf
	start, fieldStart := x.blockStart, x.fieldStart
	x.blockStart, x.fieldStart = -1, -1
	ownID, ownIDValue := x.ownID, x.ownIDValue
	x.ownID, x.ownIDValue = false, ""
	typ := x.typ
	x.typ = ""
	if !x.hasData {
		// Step 2: an empty data buffer dispatches nothing.
		if x.setMeta {
			x.diag(sse.DiagNoData, fieldStart, Line{Off: fieldStart}, l.end())
		}
		x.setMeta = false
		return -1
	}
	if typ == "" {
		typ = "message"
	}
	if start < 0 {
		start = l.Off
	}
	e := Event{
		Type: typ, ID: x.lastID, Data: Digest{Len: x.dataLen, Sum: x.data.Sum64()},
		Index: len(x.s.Events), Start: start, FieldStart: fieldStart, End: l.end(), Dispatch: l.Off,
		OwnID: ownID, OwnIDValue: ownIDValue,
	}
	x.cost += EventCost
	if n := len(x.s.Events); n == 0 || x.s.Events[n-1].Type != typ {
		x.cost += int64(len(typ))
	}
	x.s.Events = append(x.s.Events, e)
	x.data.Reset()
	x.dataLen, x.hasData, x.setMeta = 0, false, false
	return e.Index
}

// diag records a diagnostic: all are counted, the first MaxDiags of each
// kind kept.
func (x *Index) diag(k sse.DiagnosticKind, off int64, l Line, end int64) {
	x.s.counts[k]++
	if x.s.counts[k] > MaxDiags {
		return
	}
	x.s.Diags = append(x.s.Diags, Diag{Kind: k, Offset: off, Line: l, End: end, Event: len(x.s.Events)})
	x.cost += 64
}

// decoded returns value decoded from UTF-8 as a string, reusing cur when
// they are equal.
func (x *Index) decoded(value []byte, cur string) string {
	if utf8.Valid(value) {
		if string(value) == cur {
			return cur
		}
		return string(value)
	}
	s := string(sse.AppendDecodeUTF8(nil, value))
	if s == cur {
		return cur
	}
	return s
}

// decodeChunk is the most bytes hashDecoded decodes at once.
const decodeChunk = 32 << 10

// hashDecoded adds value, decoded from UTF-8, to the data hash, and returns
// the decoded length. Invalid input is decoded in pieces cut where the
// decoder's state is empty, so a huge line costs no copy of itself.
func (x *Index) hashDecoded(value []byte) int64 {
	if utf8.Valid(value) {
		x.data.Write(value)
		return int64(len(value))
	}
	var n int64
	for len(value) > 0 {
		seg := value
		if len(seg) > decodeChunk {
			seg = value[:safeCut(value, decodeChunk)]
		}
		x.scratch = sse.AppendDecodeUTF8(x.scratch[:0], seg)
		x.data.Write(x.scratch)
		n += int64(len(x.scratch))
		value = value[len(seg):]
	}
	return n
}

// safeCut returns a cut point at or below limit (limit >= 5) where decoding
// b[:cut] and b[cut:] apart gives what decoding b does: before a byte that
// is not a continuation byte (an unfinished sequence before it is replaced
// either way), or after four continuation bytes (no sequence is longer, so
// the decoder is between characters there).
func safeCut(b []byte, limit int) int {
	cont := func(c byte) bool { return c >= 0x80 && c <= 0xBF }
	for i := limit; i > limit-5; i-- {
		if !cont(b[i]) || cont(b[i-1]) && cont(b[i-2]) && cont(b[i-3]) && cont(b[i-4]) {
			return i
		}
	}
	return limit // unreachable: one of five positions qualifies
}

// retryValue returns the reconnection time of a retry value a client
// accepts (ASCII digits only, at least one), saturating; false otherwise.
func retryValue(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const maxMS = int64(1<<63-1) / int64(time.Millisecond)
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= maxMS {
			ms = ms*10 + int64(c-'0')
		}
	}
	return time.Duration(min(ms, maxMS)) * time.Millisecond, true
}
