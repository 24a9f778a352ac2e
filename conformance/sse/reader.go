package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// DiagnosticKind names a deviation noticed while parsing.
type DiagnosticKind uint8

// The diagnostics a Reader reports.
const (
	// DiagInvalidUTF8: bytes that are not valid UTF-8; each maximal invalid
	// subpart was replaced with U+FFFD.
	DiagInvalidUTF8 DiagnosticKind = iota + 1
	// DiagBOM: a U+FEFF anywhere but the first character of the stream.
	DiagBOM
	// DiagUnknownField: a field name other than data, event, id and retry.
	DiagUnknownField
	// DiagBadRetry: a retry field whose value is not ASCII digits only.
	DiagBadRetry
	// DiagNulInID: an id field containing U+0000, which clients ignore.
	DiagNulInID
	// DiagNoData: a block that set event or id (but no data) and so
	// dispatched nothing.
	DiagNoData
	// DiagEOFMidEvent: the stream ended before the pending event's empty
	// line; the event was discarded.
	DiagEOFMidEvent
)

var diagNames = [...]string{
	DiagInvalidUTF8:  "invalid-utf8",
	DiagBOM:          "bom-not-at-start",
	DiagUnknownField: "unknown-field",
	DiagBadRetry:     "bad-retry",
	DiagNulInID:      "nul-in-id",
	DiagNoData:       "block-without-data",
	DiagEOFMidEvent:  "eof-mid-event",
}

// String returns the diagnostic's stable name, e.g. "bad-retry".
func (k DiagnosticKind) String() string {
	if int(k) < len(diagNames) && diagNames[k] != "" {
		return diagNames[k]
	}
	return "diagnostic(" + strconv.Itoa(int(k)) + ")"
}

// Diagnostic is one deviation noticed while parsing.
type Diagnostic struct {
	Kind DiagnosticKind
	// Offset is the byte offset in the raw stream of the start of the line
	// concerned; for DiagInvalidUTF8, of the first invalid byte, and for
	// DiagBOM, of the first byte of the U+FEFF.
	Offset int64
	// Line is a copy of the raw line concerned, at most 256 bytes.
	Line []byte
	// Event is the number of events dispatched before this line.
	Event int64
}

// String formats d as "KIND at byte OFFSET: "LINE"", the line quoted and
// escaped as Go does.
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s at byte %d: %q", d.Kind, d.Offset, d.Line)
}

// ErrEOFMidEvent is matched (with errors.Is) by the error a Reader returns
// when the stream ends in the middle of an event.
var ErrEOFMidEvent = errors.New("sse: stream ended in the middle of an event")

// ErrLimit is matched (with errors.Is) by every *LimitError.
var ErrLimit = errors.New("sse: size limit exceeded")

// EOFMidEventError reports an event lost because the stream ended before
// its terminating empty line (rule A7 of the package doc).
type EOFMidEventError struct {
	// Offset is the byte offset where the unfinished event began.
	Offset int64
	// Pending holds the first bytes (at most 256) of the unfinished event.
	Pending []byte
}

// Error says where the lost event began and what it held.
func (e *EOFMidEventError) Error() string {
	return fmt.Sprintf("sse: stream ended in the middle of an event starting at byte %d: %q", e.Offset, e.Pending)
}

// Is makes errors.Is(err, ErrEOFMidEvent) true.
func (e *EOFMidEventError) Is(target error) bool { return target == ErrEOFMidEvent }

// LimitError reports a line or an event larger than the Reader accepts.
type LimitError struct {
	What   string // "line" or "event"
	Limit  int    // bytes
	Offset int64  // byte offset of the line that crossed the limit
}

// Error says what crossed which limit, and where.
func (e *LimitError) Error() string {
	return fmt.Sprintf("sse: %s at byte %d exceeds the %d-byte limit", e.What, e.Offset, e.Limit)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// Reader parses an event stream incrementally. It is not safe for concurrent
// use. After Next or NextView returns an error, every later call returns the
// same error.
type Reader struct {
	src  io.Reader
	opts Options

	buf     []byte // read buffer; buf[r:w] is unread
	r, w    int
	size0   int   // the read buffer's initial size
	srcErr  error // error from src, returned once buf is drained
	off     int64 // stream offset of buf[r]
	started bool  // BOM check done
	skipLF  bool  // the previous line ended with CR: a leading LF belongs to it
	// crAt caches where the next CR is, so that finding a line end costs one
	// pass over the line: buf[crFrom:crAt] holds no CR and buf[crAt] is one;
	// or crAt is -1 and buf[crFrom:crTo] holds no CR. Streams that use LF
	// only then cost one CR search per read, not one per line.
	crAt, crFrom, crTo int
	err                error // sticky error
	dispatched         int64 // events dispatched

	// The three buffers of the standard, plus bookkeeping.
	data      []byte
	hasData   bool // a data field was seen in this block
	typ       []byte
	idBuf     []byte // the last event ID buffer
	lastID    []byte // the source's last event ID string (set on dispatch)
	pending   bool   // a field line was seen since the last empty line
	setMeta   bool   // event or id was set in this block (for DiagNoData)
	blockOff  int64  // offset of the first field line of the pending block
	blockHead []byte // first bytes of the pending block (for errors)

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
	size := rd.opts.BufferSize
	if size <= 0 {
		size = DefaultBufferSize
	}
	if size > rd.opts.MaxLine+2 {
		size = rd.opts.MaxLine + 2
	}
	rd.buf = make([]byte, size)
	rd.size0 = size
	rd.crAt = -1
	rd.idBuf = append(rd.idBuf, rd.opts.LastEventID...)
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
	if rd.err != nil {
		return View{}, rd.err
	}
	if cap(rd.data) > RetainMax && !rd.hasData {
		rd.data = nil // the large event is done (its View is no longer valid)
	}
	for {
		line, lineOff, err := rd.readLine()
		if err != nil {
			rd.err = rd.endError(err)
			return View{}, rd.err
		}
		if len(line) == 0 {
			if v, ok := rd.dispatch(); ok {
				return v, nil
			}
			continue
		}
		if err := rd.processLine(line, lineOff); err != nil {
			rd.err = err
			return View{}, err
		}
	}
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
	if rd.opts.OnDiagnostic != nil {
		rd.diag(DiagEOFMidEvent, rd.blockOff, rd.blockHead)
	}
	return &EOFMidEventError{Offset: rd.blockOff, Pending: bytes.Clone(rd.blockHead)}
}

// dispatch runs the standard's "dispatch the event" steps at an empty line.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
func (rd *Reader) dispatch() (View, bool) {
	// Step 1: the source's last event ID string becomes the buffer's value,
	// whether or not an event is dispatched.
	rd.lastID = append(rd.lastID[:0], rd.idBuf...)
	rd.pending = false
	rd.blockHead = rd.blockHead[:0]
	// Step 2: with an empty data buffer, clear the buffers and stop. (A data
	// buffer holding "\n" is not empty: "data" alone dispatches "".)
	if !rd.hasData {
		if rd.setMeta && rd.opts.OnDiagnostic != nil {
			rd.diag(DiagNoData, rd.blockOff, nil)
		}
		rd.typ = rd.typ[:0]
		rd.setMeta = false
		return View{}, false
	}
	// Step 3: remove the one trailing LF.
	data := rd.data[:len(rd.data)-1]
	typ := rd.typ
	if len(typ) == 0 {
		typ = messageType
	}
	v := View{Type: typ, Data: data, ID: rd.lastID}
	// Steps 5-6: clear the data and type buffers (not the id). The view
	// still aliases their backing arrays until the next call.
	rd.data = rd.data[:0]
	rd.hasData = false
	rd.typ = rd.typ[:0]
	rd.setMeta = false
	rd.dispatched++
	return v, true
}

// processLine handles one non-empty line (already UTF-8 decoded).
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
	}
	if len(rd.blockHead) < 256 {
		n := min(256-len(rd.blockHead), len(line)+1)
		rd.blockHead = append(rd.blockHead, line[:n-1]...)
		rd.blockHead = append(rd.blockHead, '\n')
	}
	// The field name is the text before the first colon, the value the text
	// after it minus one leading space (rule A4 of the package doc). The four names the
	// standard knows hold no colon, so a line that starts with one of them
	// followed by a colon or the end of the line splits there without a
	// search.
	var name, value []byte
	if n := knownFieldLen(line); n > 0 {
		name, value = line[:n], line[min(n+1, len(line)):]
	} else if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
	} else {
		name = line
	}
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	// Field names are compared literally (rule A4 of the package doc); the switch on a
	// converted byte slice does not allocate.
	switch string(name) {
	case "data":
		need := len(rd.data) + len(value) + 1
		if need > rd.opts.MaxEvent {
			return &LimitError{What: "event", Limit: rd.opts.MaxEvent, Offset: off}
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
	case "event":
		rd.typ = append(rd.typ[:0], value...)
		rd.setMeta = true
	case "id":
		if bytes.IndexByte(value, 0) >= 0 {
			if rd.opts.OnDiagnostic != nil {
				rd.diag(DiagNulInID, off, line)
			}
			return nil
		}
		rd.idBuf = append(rd.idBuf[:0], value...)
		rd.setMeta = true
	case "retry":
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

// knownFieldLen returns the length of the field name line starts with when
// it is data, event, id or retry followed by a colon or the end of the line,
// and 0 otherwise.
func knownFieldLen(line []byte) int {
	var name string
	switch line[0] {
	case 'd':
		name = "data"
	case 'e':
		name = "event"
	case 'i':
		name = "id"
	case 'r':
		name = "retry"
	default:
		return 0
	}
	n := len(name)
	if len(line) < n || string(line[:n]) != name || len(line) > n && line[n] != ':' {
		return 0
	}
	return n
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

func (rd *Reader) diag(k DiagnosticKind, off int64, line []byte) {
	if len(line) > 256 {
		line = line[:256]
	}
	rd.opts.OnDiagnostic(Diagnostic{Kind: k, Offset: off, Line: bytes.Clone(line), Event: rd.dispatched})
}

// readLine returns the next line without its line ending, decoded from
// UTF-8 as the Encoding Standard's decoder does, and its raw stream offset.
// The slice is valid until the next call. A line ends at CRLF, at a CR not
// followed by LF, or at an LF (rule A2 of the package doc); a CR that ends a read ends
// its line at once, and an LF at the start of the next read is then skipped.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
func (rd *Reader) readLine() ([]byte, int64, error) {
	if !rd.started {
		rd.stripBOM()
	}
	scanned := 0 // bytes of buf[r:w] already known to hold no line ending
	for {
		if rd.skipLF && rd.r < rd.w {
			rd.skipLF = false
			if rd.buf[rd.r] == '\n' {
				rd.r++
				rd.off++
			}
		}
		if rd.r < rd.w && !rd.skipLF {
			i := rd.indexEOL(rd.r + scanned)
			if i >= 0 {
				i -= rd.r
				line := rd.buf[rd.r : rd.r+i]
				if len(line) > rd.opts.MaxLine {
					return nil, rd.off, &LimitError{What: "line", Limit: rd.opts.MaxLine, Offset: rd.off}
				}
				off := rd.off
				n := i + 1
				if rd.buf[rd.r+i] == '\r' {
					// CRLF is one line end, even across reads: skip an LF
					// that follows, now or at the next read. The line is
					// dispatched without waiting for that byte.
					if rd.r+n < rd.w {
						if rd.buf[rd.r+n] == '\n' {
							n++
						}
					} else {
						rd.skipLF = true
					}
				}
				rd.r += n
				rd.off += int64(n)
				return rd.decode(line, off), off, nil
			}
			scanned = rd.w - rd.r
			if scanned > rd.opts.MaxLine {
				return nil, rd.off, &LimitError{What: "line", Limit: rd.opts.MaxLine, Offset: rd.off}
			}
		}
		if rd.srcErr != nil {
			err := rd.srcErr
			if rd.r < rd.w {
				// An unterminated final line is never processed (it has no
				// line ending); it still counts as a pending event unless it
				// is a comment.
				line := rd.buf[rd.r:rd.w]
				if line[0] != ':' && !rd.pending {
					rd.pending = true
					rd.blockOff = rd.off
				}
				if line[0] != ':' && len(rd.blockHead) < 256 {
					rd.blockHead = append(rd.blockHead, line[:min(len(line), 256-len(rd.blockHead))]...)
				}
				rd.off += int64(len(line))
				rd.r = rd.w
			}
			return nil, rd.off, err
		}
		if err := rd.fill(); err != nil {
			rd.srcErr = err
		}
	}
}

// indexEOL returns the index in buf of the first CR or LF in buf[p:w], or
// -1. The LF search stops at the next CR, so it never runs past the line
// either (a stream that ends its lines with CR only has no LF to stop it).
func (rd *Reader) indexEOL(p int) int {
	cr := rd.nextCR(p)
	end := rd.w
	if cr >= 0 {
		end = cr
	}
	if i := bytes.IndexByte(rd.buf[p:end], '\n'); i >= 0 {
		return p + i
	}
	return cr
}

// nextCR returns the index in buf of the first CR in buf[p:w], or -1,
// searching only what the cache does not already know.
func (rd *Reader) nextCR(p int) int {
	switch {
	case rd.crAt >= p && p >= rd.crFrom:
		return rd.crAt
	case rd.crAt < 0 && p >= rd.crFrom && p <= rd.crTo:
		if rd.crTo < rd.w {
			if i := bytes.IndexByte(rd.buf[rd.crTo:rd.w], '\r'); i >= 0 {
				rd.crAt = rd.crTo + i
			}
			rd.crTo = rd.w
		}
		return rd.crAt
	default:
		rd.crAt, rd.crFrom, rd.crTo = -1, p, rd.w
		if i := bytes.IndexByte(rd.buf[p:rd.w], '\r'); i >= 0 {
			rd.crAt = p + i
		}
		return rd.crAt
	}
}

// fill reads more bytes into the buffer, compacting or growing it first.
func (rd *Reader) fill() error {
	if rd.r > 0 {
		n := copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.w = n
		rd.r = 0
		rd.crAt, rd.crFrom, rd.crTo = -1, 0, 0 // indexes moved: forget
	}
	if len(rd.buf) > RetainMax && rd.w < rd.size0 {
		// The long line that grew the buffer is done: release it.
		nb := make([]byte, rd.size0)
		copy(nb, rd.buf[:rd.w])
		rd.buf = nb
	}
	if rd.w == len(rd.buf) {
		if len(rd.buf) >= rd.opts.MaxLine+2 {
			// Cannot happen: readLine reports the limit before the buffer
			// is full of one line.
			return &LimitError{What: "line", Limit: rd.opts.MaxLine, Offset: rd.off}
		}
		// Double, but jump to the cap when doubling would get close to it:
		// a power-of-two MaxLine would otherwise end with a copy of MaxLine
		// bytes to gain two.
		size := 2 * len(rd.buf)
		if size+size/4 > rd.opts.MaxLine+2 {
			size = rd.opts.MaxLine + 2
		}
		nb := make([]byte, size)
		copy(nb, rd.buf[:rd.w])
		rd.buf = nb
	}
	for range 100 {
		n, err := rd.src.Read(rd.buf[rd.w:])
		if n < 0 || n > len(rd.buf)-rd.w {
			return errors.New("sse: source returned an invalid count")
		}
		rd.w += n
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// stripBOM removes one leading U+FEFF at the very start of the stream
// (rule A1 of the package doc), as the Encoding Standard's "UTF-8 decode" does. It waits
// for up to three bytes to decide, and only while they can still be a BOM.
// https://encoding.spec.whatwg.org/#utf-8-decode
func (rd *Reader) stripBOM() {
	for rd.w-rd.r < 3 && rd.srcErr == nil {
		if !bytes.HasPrefix(bom, rd.buf[rd.r:rd.w]) {
			break
		}
		if err := rd.fill(); err != nil {
			rd.srcErr = err
		}
	}
	rd.started = true
	if bytes.HasPrefix(rd.buf[rd.r:rd.w], bom) {
		rd.r += 3
		rd.off += 3
	}
}

// decode returns line decoded as UTF-8 the way the Encoding Standard's UTF-8
// decoder does: each maximal invalid subpart becomes one U+FFFD. Valid input
// (the common case) is returned as it is, without copying.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
// ("Streams must be decoded using the UTF-8 decode algorithm.")
//
// Decoding line by line gives the same characters as decoding the whole
// stream: CR and LF are ASCII, and the decoder never folds an ASCII byte into
// a replacement (it ends the invalid subpart before it), so line ends are
// found identically in bytes and in characters. For the same reason a raw
// EF BB BF always decodes to U+FEFF, which lets DiagBOM point at raw bytes.
func (rd *Reader) decode(line []byte, off int64) []byte {
	valid := utf8.Valid(line)
	if rd.opts.OnDiagnostic != nil {
		if !valid {
			rd.diag(DiagInvalidUTF8, off+int64(firstInvalid(line)), line)
		}
		if i := bytes.Index(line, bom); i >= 0 {
			rd.diag(DiagBOM, off+int64(i), line)
		}
	}
	if valid {
		return line
	}
	rd.utf8buf = AppendDecodeUTF8(rd.utf8buf[:0], line)
	return rd.utf8buf
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// AppendDecodeUTF8 appends src to dst decoded as UTF-8 by the Encoding
// Standard's decoder (https://encoding.spec.whatwg.org/#utf-8-decoder): a
// maximal invalid subpart becomes one U+FFFD, so "\xe4\xbd" (truncated)
// gives one replacement character and "\xf0\x80\x80" gives three. src must
// be complete: a truncated sequence at its end is replaced too.
func AppendDecodeUTF8(dst, src []byte) []byte {
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(src); i++ {
		b := src[i]
		if needed == 0 {
			switch {
			case b < 0x80:
				dst = append(dst, b)
			case b >= 0xC2 && b <= 0xDF:
				needed, cp = 1, rune(b&0x1F)
			case b >= 0xE0 && b <= 0xEF:
				if b == 0xE0 {
					lower = 0xA0
				} else if b == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(b&0x0F)
			case b >= 0xF0 && b <= 0xF4:
				if b == 0xF0 {
					lower = 0x90
				} else if b == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(b&0x07)
			default:
				dst = utf8.AppendRune(dst, utf8.RuneError)
			}
			continue
		}
		if b < lower || b > upper {
			// The subpart ends before b: one U+FFFD, then b is processed
			// afresh ("prepend byte to stream").
			needed, seen, cp = 0, 0, 0
			lower, upper = 0x80, 0xBF
			dst = utf8.AppendRune(dst, utf8.RuneError)
			i--
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(b&0x3F)
		seen++
		if seen == needed {
			dst = utf8.AppendRune(dst, cp)
			needed, seen, cp = 0, 0, 0
		}
	}
	if needed != 0 {
		dst = utf8.AppendRune(dst, utf8.RuneError)
	}
	return dst
}
