package sse

import (
	"bytes"
	"io"
	"strings"
	"time"
)

// Default limits. A hostile server cannot make a Reader hold more than
// MaxLine+2 bytes of read buffer plus MaxEvent bytes of one event's data
// (the buffers grow geometrically, never past their limit). A buffer
// grown past RetainMax is released once what it held is done: the data
// buffer after its event is dispatched, the read buffer when the unread
// bytes fit the initial size again; so a stream that met one large event
// does not keep its memory.
const (
	DefaultMaxLine    = 1 << 20  // 1 MiB
	DefaultMaxEvent   = 8 << 20  // 8 MiB
	DefaultBufferSize = 4096     // initial read buffer, grows up to MaxLine
	RetainMax         = 64 << 10 // the largest buffer kept between large events
)

// Event is one dispatched event, as a browser's MessageEvent would carry it.
type Event struct {
	// Type is the event type; "message" when the stream set none.
	Type string `json:"type"`
	// Data is the event's data, without the final line feed.
	Data string `json:"data"`
	// ID is the event's lastEventId: the source's last event ID at dispatch,
	// which persists from earlier events until an id field changes it.
	ID string `json:"id"`
}

// View is a dispatched event whose fields alias the Reader's buffers. It is
// valid only until the next call to a Reader method, and must not be
// modified.
type View struct {
	Type []byte // "message" when the stream set none
	Data []byte
	ID   []byte // the event's lastEventId
	// TypeSeq is equal for two events of one Reader only if their Types
	// are equal (it may change when the Type does not), so that a caller
	// that decides something by the type can decide it once per change.
	TypeSeq uint64
}

// Options configure a Reader. The zero value is valid: default limits, no
// callbacks, empty initial last event ID.
type Options struct {
	// MaxLine is the longest line accepted, in bytes as received (before
	// UTF-8 replacement, which can make a line up to three times longer),
	// excluding the line ending. It applies to every line, comments
	// included. 0 means DefaultMaxLine.
	MaxLine int
	// MaxEvent is the largest data buffer of one event accepted, in bytes
	// of decoded UTF-8: the event's data plus one LF per data line, so a
	// dispatched Data is at most MaxEvent-1 bytes. 0 means DefaultMaxEvent.
	MaxEvent int
	// BufferSize is the initial size of the read buffer in bytes. 0 means
	// DefaultBufferSize. The buffer grows when a line does not fit, up to
	// MaxLine.
	BufferSize int
	// LastEventID seeds the last event ID, as a browser does when it
	// reconnects: the ID persists across connections.
	LastEventID string
	// OnComment, if set, is called for every comment line with the text
	// after the colon (the slice is valid only during the call). Load tests
	// use it to time heartbeats.
	OnComment func(text []byte)
	// OnRetry, if set, is called for every valid retry field with the new
	// reconnection time.
	OnRetry func(d time.Duration)
	// OnDiagnostic, if set, is called for every deviation the Reader notices:
	// things a conforming client handles but that indicate a server bug.
	// Diagnostics cost nothing when OnDiagnostic is nil.
	OnDiagnostic func(Diagnostic)
}

// Reader parses an event stream incrementally. It is not safe for concurrent
// use. After Next or NextView returns an error, every later call returns the
// same error.
type Reader struct {
	src  io.Reader
	opts Options

	buf     []byte // read buffer; buf[r:w] is unread
	r, w    int
	size0   int   // the read buffer's initial size
	short   bool  // the limits allow scanShort (both at least shortLine)
	srcErr  error // error from src, returned once buf is drained
	off     int64 // stream offset of buf[r]
	started bool  // BOM check done
	skipLF  bool  // the previous line ended with CR: a leading LF belongs to it
	// crAt caches where the next CR is, so that finding a line end costs one
	// pass over the line: buf[crFrom:crAt] holds no CR and buf[crAt] is one;
	// or crAt is -1 and buf[crFrom:crTo] holds no CR. Streams that use LF
	// only then cost one CR search per read, not one per line.
	crAt, crFrom, crTo int
	// buf[validFrom:validTo] is known to be valid UTF-8: the bytes of a
	// read are checked once, not once per line.
	validFrom, validTo int
	err                error // sticky error
	dispatched         int64 // events dispatched

	// The three buffers of the standard, plus bookkeeping.
	data    []byte
	hasData bool // a data field was seen in this block
	// The common event has one data line: its value is not copied into
	// data but aliased where it was read, buf[dataAt:dataEnd], while
	// dataAlias (until a second data line, or until fill moves the bytes).
	dataAt, dataEnd int
	dataAlias       bool
	lineAt          int    // where the line being processed starts in buf; -1 when it was decoded into utf8buf
	typ             []byte // the event type buffer: the value of the last event field, when typSet
	typSet          bool   // an event field set typ in this block
	typChanged      bool   // an event field changed typ since the last dispatch
	typMsg          bool   // the last event dispatched had type "message"
	typSeq          uint64 // View.TypeSeq
	idBuf           []byte // the last event ID buffer, when idSet; else it equals lastID
	idSet           bool   // an id field set idBuf in this block
	lastID          []byte // the source's last event ID string (set on dispatch)
	pending         bool   // a field line was seen since the last empty line
	setMeta         bool   // event or id was set in this block (for DiagNoData)
	blockOff        int64  // offset of the first field line of the pending block
	blockHead       []byte // first bytes of the pending block (for errors), see head.go
	headAt, headLen int    // buf[headAt:r] is not in blockHead yet; blockHead's decoded length
	// clean is where the fast path (scan) stops: buf[r:clean] holds no CR
	// and is valid UTF-8, when r < clean. Only readLine's checks may move
	// it (extendClean), and fill resets it.
	clean int

	utf8buf []byte // scratch for replacement decoding
	strType string // the last type returned by Next, reused while unchanged
	strID   string // the last id returned by Next, reused while unchanged
}

// NewReader returns a Reader that parses src. opts may be nil.
func NewReader(src io.Reader, opts *Options) *Reader {
	rd := &Reader{src: src}
	if opts != nil {
		rd.opts = *opts
	}
	if rd.opts.MaxLine <= 0 {
		rd.opts.MaxLine = DefaultMaxLine
	}
	if rd.opts.MaxEvent <= 0 {
		rd.opts.MaxEvent = DefaultMaxEvent
	}
	rd.short = rd.opts.MaxLine >= shortLine && rd.opts.MaxEvent >= shortLine
	size := rd.opts.BufferSize
	if size <= 0 {
		size = DefaultBufferSize
	}
	if size > rd.opts.MaxLine+2 {
		size = rd.opts.MaxLine + 2
	}
	rd.buf = make([]byte, size)
	rd.size0 = size
	rd.typ = make([]byte, 0, 16) // EqualShort compares up to 8 bytes in one load
	rd.crAt = -1
	// The two last event ID buffers (swapped on dispatch) share one
	// allocation; 16 bytes each, so that copyShort copies an id of up to
	// 8 bytes in one load and store.
	ids := make([]byte, 32)
	rd.lastID, rd.idBuf = ids[:0:16], ids[16:16:32]
	rd.lastID = append(rd.lastID, rd.opts.LastEventID...)
	rd.strType = "message"
	rd.strID = rd.opts.LastEventID
	return rd
}

// LastEventID returns the source's last event ID: the value a browser would
// send as Last-Event-ID on its next reconnect. It changes only when an event
// block ends (even one that dispatched nothing), never mid-block.
func (rd *Reader) LastEventID() string { return string(rd.lastID) }

// Offset returns the number of raw bytes consumed from the stream so far.
func (rd *Reader) Offset() int64 { return rd.off }

// Dispatched returns the number of events dispatched so far.
func (rd *Reader) Dispatched() int64 { return rd.dispatched }

// Next reads until the next event is dispatched and returns it. At a clean
// end of stream it returns io.EOF; when the stream ends inside an event it
// returns an error matching ErrEOFMidEvent; a line or event over the limits
// gives a *LimitError; errors of the underlying reader are returned as they
// are. Next makes at most one allocation per event: Type and ID are shared
// with the previous event when unchanged, and otherwise share one allocation
// with Data (except after an event over 1 KiB, whose data a cached Type or ID
// string must not keep alive).
func (rd *Reader) Next() (Event, error) {
	v, err := rd.NextView()
	if err != nil {
		return Event{}, err
	}
	newType := string(v.Type) != rd.strType
	newID := string(v.ID) != rd.strID
	if !newType && !newID {
		return Event{Type: rd.strType, Data: string(v.Data), ID: rd.strID}, nil
	}
	if len(v.Data) > maxShared {
		if newType {
			rd.strType = string(v.Type)
		}
		if newID {
			rd.strID = string(v.ID)
		}
		return Event{Type: rd.strType, Data: string(v.Data), ID: rd.strID}, nil
	}
	// One allocation holds the data and whichever of type and id changed.
	n := len(v.Data)
	if newType {
		n += len(v.Type)
	}
	if newID {
		n += len(v.ID)
	}
	var b strings.Builder
	b.Grow(n)
	b.Write(v.Data)
	if newID {
		b.Write(v.ID)
	}
	if newType {
		b.Write(v.Type)
	}
	s := b.String()
	data, rest := s[:len(v.Data)], s[len(v.Data):]
	if newID {
		rd.strID, rest = rest[:len(v.ID)], rest[len(v.ID):]
	}
	if newType {
		rd.strType = rest
	}
	return Event{Type: rd.strType, Data: data, ID: rd.strID}, nil
}

// maxShared is the largest event data that Next stores in one allocation
// with a changed Type or ID.
const maxShared = 1024

var messageType = []byte("message")

// NextView is Next without allocation: the returned View aliases the
// Reader's buffers and is valid only until the next call.
func (rd *Reader) NextView() (View, error) {
	var v View
	err := rd.NextInto(&v)
	return v, err
}

// NextInto is NextView writing the View into *v (unchanged on error). A
// loop that calls it with the same v avoids copying the View out of the
// call: 11 words of results do not fit Go's result registers, and the copy
// from the results area to the caller's variable was a measurable part of
// the load generator's per-event cost.
func (rd *Reader) NextInto(v *View) error {
	if rd.err != nil {
		return rd.err
	}
	if cap(rd.data) > RetainMax && !rd.hasData {
		rd.data = nil // the large event is done (its View is no longer valid)
	}
	for {
		// scan takes the lines it can (most of them), the general path
		// one line at a time the others, until an empty line ends a block
		// that has data.
		ok, err := rd.scan()
		if !ok && err == nil {
			ok, err = rd.slowLine()
		}
		if err != nil {
			rd.err = err
			return err
		}
		if !ok {
			continue
		}
		// The standard's "dispatch the event", steps 1 and 3 to 6 (step 2
		// is endBlock's, for a block without data). Step 1 as endBlock
		// runs it, inline.
		// https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
		if rd.idSet {
			rd.lastID, rd.idBuf = rd.idBuf, rd.lastID
			rd.idSet = false
		}
		rd.pending = false
		if rd.headLen != 0 {
			rd.resetHead()
		}
		data := rd.data
		if rd.dataAlias {
			data = rd.buf[rd.dataAt:rd.dataEnd]
			rd.dataAlias = false
		} else {
			data = data[:len(data)-1] // step 3: the one trailing LF
		}
		// Step 4: the type, "message" when the type buffer is empty.
		typ, msg := rd.typ, !rd.typSet || len(rd.typ) == 0
		if msg {
			typ = messageType
		}
		if msg != rd.typMsg || !msg && rd.typChanged {
			rd.typSeq++
		}
		rd.typMsg, rd.typChanged = msg, false
		// Steps 5-6: clear the data and type buffers (not the id). The
		// view still aliases their backing arrays until the next call;
		// the type buffer keeps its bytes (typSet says it is empty), so
		// that the next event field that sets the same type copies
		// nothing.
		rd.data = rd.data[:0]
		rd.hasData = false
		rd.typSet = false
		rd.setMeta = false
		rd.dispatched++
		v.Type, v.Data, v.ID, v.TypeSeq = typ, data, rd.lastID, rd.typSeq
		return nil
	}
}

// slowLine reads and processes one line by the general path. ok is true
// when the line is the empty line of a block that has data: the caller
// dispatches the event.
func (rd *Reader) slowLine() (ok bool, err error) {
	line, lineOff, err := rd.readLine()
	if err != nil {
		return false, rd.endError(err)
	}
	if len(line) > 0 {
		return false, rd.processLine(line, lineOff)
	}
	if rd.hasData {
		return true, nil
	}
	rd.endBlock()
	return false, nil
}

// endError turns the end of the source into the Reader's final error. "Once
// the end of the file is reached, any pending data must be discarded": an
// event that has not seen its empty line is not dispatched, and is reported
// (rule A7 of the package doc).
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
func (rd *Reader) endError(err error) error {
	if err != io.EOF {
		return err
	}
	if !rd.pending {
		return io.EOF
	}
	rd.copyHead()
	if rd.opts.OnDiagnostic != nil {
		rd.diag(DiagEOFMidEvent, rd.blockOff, rd.blockHead)
	}
	return &EOFMidEventError{Offset: rd.blockOff, Pending: bytes.Clone(rd.blockHead)}
}

// endBlock runs, at an empty line, the steps of the standard's "dispatch
// the event" that do not depend on whether it has data (step 1), and when
// it has none, step 2: the data and type buffers are cleared and nothing
// is dispatched. (A data buffer holding "\n" is not empty: "data" alone
// dispatches "".)
// https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
func (rd *Reader) endBlock() {
	// Step 1: the source's last event ID string becomes the buffer's value,
	// whether or not an event is dispatched. (The two buffers swap: no
	// copy.)
	if rd.idSet {
		rd.lastID, rd.idBuf = rd.idBuf, rd.lastID
		rd.idSet = false
	}
	rd.pending = false
	rd.resetHead()
	if !rd.hasData {
		if rd.setMeta && rd.opts.OnDiagnostic != nil {
			rd.diag(DiagNoData, rd.blockOff, nil)
		}
		rd.typSet = false
		rd.setMeta = false
	}
}

// processLine handles one non-empty line (already UTF-8 decoded) that
// started at stream offset off.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
func (rd *Reader) processLine(line []byte, off int64) error {
	if line[0] == ':' {
		if rd.opts.OnComment != nil {
			rd.opts.OnComment(line[1:])
		}
		return nil
	}
	if !rd.pending {
		rd.pending = true
		rd.blockOff = off
		rd.headAt = rd.r - int(rd.off-off) // the line's raw start in buf
	}
	// The field name is the text before the first colon, the value the text
	// after it minus one leading space (rule A4 of the package doc). The four names the
	// standard knows hold no colon, so a line that starts with one of them
	// followed by a colon or the end of the line splits there without a
	// search.
	// Field names are compared literally (rule A4 of the package doc): a
	// line whose name is none of the four is an unknown field.
	var value []byte
	f, n := knownField(line)
	if n > 0 {
		value = line[min(n+1, len(line)):]
	}
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch f {
	case fieldData:
		if !rd.hasData && rd.lineAt >= 0 {
			if len(value)+1 > rd.opts.MaxEvent {
				return &LimitError{What: "event", Limit: rd.opts.MaxEvent, Offset: off}
			}
			rd.dataAt = rd.lineAt + len(line) - len(value)
			rd.dataEnd = rd.dataAt + len(value)
			rd.dataAlias, rd.hasData = true, true
			return nil
		}
		if rd.dataAlias {
			rd.unalias() // fits: it was checked against the limit
		}
		if err := rd.appendData(value); err != nil {
			err.Offset = off
			return err
		}
	case fieldEvent:
		rd.setType(value)
	case fieldID:
		if bytes.IndexByte(value, 0) >= 0 {
			if rd.opts.OnDiagnostic != nil {
				rd.diag(DiagNulInID, off, line)
			}
			return nil
		}
		rd.idBuf = append(rd.idBuf[:0], value...)
		rd.idSet = true
		rd.setMeta = true
	case fieldRetry:
		ms, ok := parseRetry(value)
		if !ok {
			if rd.opts.OnDiagnostic != nil {
				rd.diag(DiagBadRetry, off, line)
			}
			return nil
		}
		if rd.opts.OnRetry != nil {
			rd.opts.OnRetry(ms)
		}
	default:
		if rd.opts.OnDiagnostic != nil {
			rd.diag(DiagUnknownField, off, line)
		}
	}
	return nil
}

// setType sets the event type buffer to v (an event field), copying it
// only when it changes.
func (rd *Reader) setType(v []byte) {
	if !EqualShort(v, rd.typ) {
		rd.copyType(v)
	}
	rd.typSet, rd.setMeta = true, true
}

func (rd *Reader) copyType(v []byte) {
	rd.typ = append(rd.typ[:0], v...)
	rd.typChanged = true
}

// appendData appends a data line's value and a LF to the data buffer,
// within MaxEvent.
func (rd *Reader) appendData(value []byte) *LimitError {
	need := len(rd.data) + len(value) + 1
	if need > rd.opts.MaxEvent {
		return &LimitError{What: "event", Limit: rd.opts.MaxEvent}
	}
	if need > cap(rd.data) {
		// Grow geometrically, but never past the limit: append's own
		// growth could reserve up to twice MaxEvent.
		nd := make([]byte, len(rd.data), min(max(2*cap(rd.data), need, 512), rd.opts.MaxEvent))
		copy(nd, rd.data)
		rd.data = nd
	}
	rd.data = append(rd.data, value...)
	rd.data = append(rd.data, '\n')
	rd.hasData = true
	return nil
}

// unalias copies the aliased data line into the data buffer.
func (rd *Reader) unalias() {
	rd.dataAlias = false
	_ = rd.appendData(rd.buf[rd.dataAt:rd.dataEnd])
}

// The fields a line can set.
const (
	fieldUnknown = iota
	fieldData
	fieldEvent
	fieldID
	fieldRetry
)

// knownField returns the field a line sets and the length of its name,
// when the name is data, event, id or retry, followed by a colon or the
// end of the line; otherwise fieldUnknown and 0. (The four names hold no
// colon, so a line whose name is one of them always starts so.)
func knownField(line []byte) (field, n int) {
	var name string
	switch line[0] {
	case 'd':
		field, name = fieldData, "data"
	case 'e':
		field, name = fieldEvent, "event"
	case 'i':
		field, name = fieldID, "id"
	case 'r':
		field, name = fieldRetry, "retry"
	default:
		return fieldUnknown, 0
	}
	n = len(name)
	if len(line) < n || string(line[:n]) != name || len(line) > n && line[n] != ':' {
		return fieldUnknown, 0
	}
	return field, n
}

// parseRetry accepts ASCII digits only (at least one) and returns the
// reconnection time. Values too large for a Duration saturate.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#processField
func parseRetry(v []byte) (time.Duration, bool) {
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
	if ms > maxMS {
		ms = maxMS
	}
	return time.Duration(ms) * time.Millisecond, true
}
