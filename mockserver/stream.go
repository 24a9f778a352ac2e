package mockserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strconv"
	"time"
)

// kind selects the event vocabulary of a stream.
type kind uint8

const (
	kindNamed kind = iota // /v1/stream and sessions: info, add..., finish | error
	kindChat              // chat completions: role chunk, content chunks, finish chunk, [usage], [DONE] | error
)

// mockCreated is the "created" field of the one model GET /v1/models
// lists. Chat completions carry their own (see Server.newCompletion).
const mockCreated = 1735689600 // 2025-01-01T00:00:00Z

// padding is what huge-event pads with; written in slices of it, never
// allocated per event.
var padding = bytes.Repeat([]byte{'x'}, 4096)

// layout is the shape of one stream: n events with ids 0..n-1, of which
// 1..content are content events. It depends only on the parameters.
type layout struct {
	kind     kind
	n        int
	content  int
	errorEnd bool // the final event is an injected error (error-after)
}

func newLayout(p *params, k kind) layout {
	l := layout{kind: k, content: p.contentEvents()}
	if p.faults.has(fErrorAfter) && p.faults.errorAfter < l.content {
		l.content = p.faults.errorAfter
		l.errorEnd = true
	}
	switch {
	case l.errorEnd || k == kindNamed:
		l.n = l.content + 2 // first event, content, finish|error
	case p.includeUsage:
		l.n = l.content + 4 // role, content, finish chunk, usage chunk, [DONE]
	default:
		l.n = l.content + 3 // role, content, finish chunk, [DONE]
	}
	return l
}

func (l *layout) isContent(i int) bool { return i >= 1 && i <= l.content }

// stream is one response being written. It is owned by the handler's
// goroutine and is not safe for concurrent use. Per-event work reuses buf
// and the one timer, so the streaming path does not allocate per event.
type stream struct {
	s      *Server
	ctx    context.Context
	w      http.ResponseWriter
	rc     *http.ResponseController
	m      *endpointMetrics
	p      *params
	l      layout
	prefix []byte // chat: the JSON common to every chunk, up to "choices":
	buf    []byte
	hold   *bytes.Buffer // buffered, gzip-buffered: the body until the end
	timer  *time.Timer

	now        time.Time // the clock as last read: one time.Now per event (it is a syscall on some VMs)
	lastWrite  time.Time // last bytes flushed to the client (heartbeat clock)
	lastEvent  time.Time // last event written (inter-token clock)
	deadlineAt time.Time // write deadline currently set on the connection
	flushed    bool      // response headers are on the wire
	connEvents int       // complete events written on this connection (drop-after)
	err        error     // first write error; the stream ends
}

// eol returns the line ending of event i.
func (st *stream) eol(i int) string {
	f := &st.p.faults
	switch {
	case f.has(fCRLF):
		return "\r\n"
	case f.has(fCR):
		return "\r"
	case f.has(fMixedEndings) && i%2 == 1:
		return "\r\n"
	}
	return "\n"
}

// build renders event i into st.buf: the whole block with its fields, data
// and terminating empty line, with every byte-level fault applied. The
// huge-event padding is not rendered: pad bytes of 'x' belong at padAt.
// The result depends only on the parameters and i, which is what makes
// resume stateless.
func (st *stream) build(i int) (pad, padAt int) {
	f := &st.p.faults
	eol := st.eol(i)
	b := st.buf[:0]
	if i == 1 && f.has(fNoDataBlock) {
		b = append(b, "event: noop"...)
		b = append(b, eol...)
		b = append(b, "id: 0"...)
		b = append(b, eol...)
		b = append(b, eol...)
	}
	if i == 0 && !f.has(fNoRetry) {
		b = append(b, "retry: "...)
		b = strconv.AppendInt(b, st.p.retryMS, 10)
		if f.has(fBadRetry) {
			b = append(b, "ms"...)
		}
		b = append(b, eol...)
	}
	if name := st.eventName(i); name != "" {
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, eol...)
	}
	if !f.has(fNoIDs) {
		b = append(b, "id: "...)
		id := i
		if i == 2 && f.has(fDupIDs) {
			id = 1
		}
		b = appendInt(b, id)
		if f.has(fNulID) {
			b = append(b, 0)
		}
		b = append(b, eol...)
	}
	if i == 1 && f.has(fUnknownField) {
		b = append(b, "dat: typo"...)
		b = append(b, eol...)
	}
	b = append(b, "data: "...)
	if i == 1 && f.has(fBOMMiddle) {
		b = append(b, 0xEF, 0xBB, 0xBF)
	}
	dataStart := len(b)
	b = st.appendData(b, i)
	if i == 1 && f.has(fInvalidUTF8) {
		b = append(b, 0xFF)
	}
	if i == 1 && f.has(fHugeEvent) {
		if n := f.hugeEvent - (len(b) - dataStart); n > 0 {
			pad = n
		}
	}
	padAt = len(b)
	b = append(b, eol...)
	if i != st.l.n-1 || !f.has(fUnterminatedFinal) {
		b = append(b, eol...)
	}
	st.buf = b
	return pad, padAt
}

// eventName is the event field of event i ("" for none).
func (st *stream) eventName(i int) string {
	if st.l.kind == kindChat {
		return ""
	}
	switch {
	case i == 0:
		return "info"
	case st.l.isContent(i):
		return "add"
	case st.l.errorEnd:
		return "error"
	default:
		return "finish"
	}
}

// appendData appends the data value of event i (one line: no LF or CR).
func (st *stream) appendData(b []byte, i int) []byte {
	p, l := st.p, &st.l
	if l.errorEnd && i == l.n-1 {
		b = append(b, `{"error":{"message":"injected failure after `...)
		b = appendInt(b, l.content)
		return append(b, ` content events","type":"server_error","code":"mock_fault"}}`...)
	}
	if l.kind == kindNamed {
		switch {
		case i == 0:
			b = append(b, `{"id":"mock-`...)
			b = appendHex16(b, st.streamHash())
			b = append(b, `","model":`...)
			b = appendJSONString(b, p.model)
			b = append(b, `,"tokens":`...)
			b = appendInt(b, p.tokens)
			b = append(b, `,"chunk":`...)
			b = appendInt(b, p.chunk)
			b = append(b, `,"events":`...)
			b = appendInt(b, l.n)
			b = append(b, `,"last_id":`...)
			b = appendInt(b, l.n-1)
			b = append(b, `,"seed":`...)
			b = strconv.AppendUint(b, p.seed, 10)
			return append(b, '}')
		case l.isContent(i):
			return st.appendChunkText(b, i)
		default:
			b = append(b, `{"text":"`...)
			b = appendTokens(b, p.seed, 0, p.tokens)
			b = append(b, `","finish_reason":"`...)
			b = append(b, st.finishReason()...)
			b = append(b, `",`...)
			return st.appendUsage(b)
		}
	}
	// Chat completion chunks.
	switch {
	case i == l.n-1:
		return append(b, "[DONE]"...)
	case i == l.content+2: // the usage chunk (only laid out with include_usage)
		b = append(b, st.prefix...)
		b = append(b, `[],`...)
		return st.appendUsage(b)
	}
	b = append(b, st.prefix...)
	b = append(b, `[{"index":0,"delta":{`...)
	switch {
	case i == 0:
		b = append(b, `"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]`...)
	case l.isContent(i):
		b = append(b, `"content":"`...)
		b = st.appendChunkText(b, i)
		b = append(b, `"},"logprobs":null,"finish_reason":null}]`...)
	default:
		b = append(b, `},"logprobs":null,"finish_reason":"`...)
		b = append(b, st.finishReason()...)
		b = append(b, `"}]`...)
	}
	if p.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	return append(b, '}')
}

// appendChunkText appends the tokens of content event i.
func (st *stream) appendChunkText(b []byte, i int) []byte {
	from := (i - 1) * st.p.chunk
	return appendTokens(b, st.p.seed, from, min(from+st.p.chunk, st.p.tokens))
}

// appendUsage appends `"usage":{...}}`, closing the enclosing object.
func (st *stream) appendUsage(b []byte) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = appendInt(b, st.p.promptTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, st.p.tokens)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, st.p.promptTokens+st.p.tokens)
	return append(b, "}}"...)
}

func (st *stream) finishReason() string {
	if st.p.finishLength {
		return "length"
	}
	return "stop"
}

// streamHash identifies the generation (not the connection), so the ids in
// the payloads are the same on every resume.
func (st *stream) streamHash() uint64 {
	p := st.p
	return mix(p.seed ^ mix(uint64(p.tokens)<<20^uint64(p.chunk)) ^ uint64(st.l.kind)<<62)
}

// chatPrefix renders the JSON every chunk of chat completion c starts with.
func chatPrefix(p *params, c completion) []byte {
	b := make([]byte, 0, 160+len(p.model))
	b = append(b, `{"id":"chatcmpl-`...)
	b = appendHex16(b, c.id)
	b = append(b, `","object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, p.model)
	b = append(b, `,"system_fingerprint":"fp_ssebench","choices":`...)
	return b
}

// write sends b to the client (or the hold buffer) and counts it.
func (st *stream) write(b []byte) {
	if st.err != nil || len(b) == 0 {
		return
	}
	st.m.bytes.Add(float64(len(b)))
	if st.hold != nil {
		st.hold.Write(b)
		return
	}
	if wt := st.s.cfg.WriteTimeout; wt > 0 {
		if st.now.After(st.deadlineAt.Add(-wt / 2)) {
			st.deadlineAt = st.now.Add(wt)
			_ = st.rc.SetWriteDeadline(st.deadlineAt) // unsupported on some writers: then no deadline
		}
	}
	_, st.err = st.w.Write(b)
}

// writeRange writes bytes [from, to) of the event rendered by build, the
// padding included.
func (st *stream) writeRange(from, to, pad, padAt int) {
	seg := func(lo, hi int) { // a range of the virtual byte sequence inside one segment
		if lo < hi {
			st.write(st.buf[lo:hi])
		}
	}
	// Segment 1: buf[:padAt].
	seg(min(from, padAt), min(to, padAt))
	// Segment 2: pad bytes of 'x' at [padAt, padAt+pad).
	for lo, hi := max(from, padAt), min(to, padAt+pad); lo < hi && st.err == nil; {
		n := min(hi-lo, len(padding))
		st.write(padding[:n])
		lo += n
	}
	// Segment 3: buf[padAt:] at [padAt+pad, len(buf)+pad).
	seg(max(from, padAt+pad)-pad, max(to, padAt+pad)-pad)
}

// flush pushes what was written to the client, unless the body is held.
func (st *stream) flush() {
	if st.err != nil || st.hold != nil && st.flushed {
		return
	}
	// A writer without Flush (a wrapper that hides it) fails here; the
	// bytes then go out when its buffer fills, and nothing better can be done.
	_ = st.rc.Flush()
	st.flushed = true
	st.lastWrite = st.now
}

// emit writes event i whole, or from half of its bytes on (tail), applying
// drop-after. It reports whether the stream may go on.
func (st *stream) emit(i int, tail bool) bool {
	pad, padAt := st.build(i)
	total := len(st.buf) + pad
	f := &st.p.faults
	if f.has(fDropAfter) && st.connEvents >= f.dropAfter && !tail {
		// The negative control for a clean end: half an event, then an
		// abort, so the client sees neither the empty line nor the chunked
		// terminator.
		st.writeRange(0, total/2, pad, padAt)
		st.dumpHeld()
		st.flush()
		panic(http.ErrAbortHandler)
	}
	from := 0
	if tail {
		from = total / 2
	}
	st.writeRange(from, total, pad, padAt)
	if !f.has(fLateHeaders) || st.flushed || st.l.isContent(i) {
		st.flush() // late-headers holds the headers and this event until the first token
	}
	st.connEvents++
	st.m.events.Inc()
	st.lastEvent = st.now
	return st.err == nil
}

// heartbeat writes a comment line followed by an empty line.
func (st *stream) heartbeat() {
	eol := st.eol(0)
	b := append(st.buf[:0], ": heartbeat"...)
	b = append(b, eol...)
	b = append(b, eol...)
	st.buf = b
	st.write(b)
	st.flush()
}

// sleepUntil waits until due (zero: no deadline) or until ready is closed
// (nil: never), writing heartbeats while idle when beats is true. It
// reports false when the stream must end: the client left, the server is
// closing, or a write failed.
func (st *stream) sleepUntil(due time.Time, ready <-chan struct{}, beats bool) bool {
	hb := st.p.heartbeat
	beats = beats && hb > 0 && st.flushed && st.hold == nil
	for st.err == nil {
		now := time.Now()
		st.now = now
		wait := time.Duration(-1)
		if !due.IsZero() {
			if !now.Before(due) {
				return true
			}
			wait = due.Sub(now)
		}
		if beats {
			next := st.lastWrite.Add(hb).Sub(now)
			if next <= 0 {
				st.heartbeat()
				continue
			}
			if wait < 0 || next < wait {
				wait = next
			}
		}
		if wait >= 0 {
			st.timer.Reset(wait)
		}
		select {
		case <-st.ctx.Done():
			st.timer.Stop()
			return false
		case <-st.s.done:
			st.timer.Stop()
			return false
		case <-ready:
			st.timer.Stop()
			return true
		case <-st.timer.C:
		}
	}
	return false
}

// dumpHeld writes the held body (buffered, gzip-buffered) to the client.
func (st *stream) dumpHeld() {
	if st.hold == nil {
		return
	}
	held := st.hold
	st.hold = nil
	if st.p.faults.has(fGzipBuffered) {
		zw := gzip.NewWriter(st.w)
		_, st.err = zw.Write(held.Bytes())
		if err := zw.Close(); st.err == nil {
			st.err = err
		}
		return
	}
	_, st.err = st.w.Write(held.Bytes())
}

// run writes events start..n-1 with their timing. ticket is the stream's
// slot claim (nil when slots are unlimited).
func (st *stream) run(start int, ticket *slotTicket) {
	f := &st.p.faults
	st.timer = time.NewTimer(time.Hour)
	st.timer.Stop()
	defer st.timer.Stop()
	if st.s.cfg.WriteTimeout > 0 {
		defer func() { _ = st.rc.SetWriteDeadline(time.Time{}) }() // the connection may serve another request
	}
	st.now = time.Now()
	if !f.has(fLateHeaders) {
		st.flush() // headers out before the first token is ready
	}
	i := start
	if i == 0 {
		if !st.emit(0, false) {
			return
		}
		i = 1
	}
	if ready := ticket.wait(); ready != nil {
		if !st.sleepUntil(time.Time{}, ready, true) {
			return
		}
	}
	genStart := time.Now()
	firstContent := true
	tail := f.has(fResumePartial) && start > 0 && start%f.dropAfter == 0
	for ; i < st.l.n; i++ {
		if st.l.isContent(i) {
			var due time.Time
			if firstContent {
				due = genStart.Add(st.p.ttft.Sample())
			} else {
				due = st.lastEvent.Add(st.p.itl.Sample())
			}
			firstContent = false
			if !st.sleepUntil(due, nil, true) {
				return
			}
		} else if !st.alive() { // the events after the last token follow at once
			return
		}
		if !st.emit(i, tail) {
			return
		}
		tail = false
		if i == st.l.content {
			ticket.release() // generation is over: the slot goes to the next stream
		}
		if i == 1 && f.has(fStall) && f.stall > 0 && i < st.l.n-1 {
			if !st.sleepUntil(st.now.Add(f.stall), nil, false) {
				return
			}
			st.lastEvent = st.now
		}
	}
	st.dumpHeld()
	st.flush()
}

// alive reports whether the stream may go on: the client is there and the
// server is not closing. It does not block.
func (st *stream) alive() bool {
	select {
	case <-st.ctx.Done():
		return false
	case <-st.s.done:
		return false
	default:
		return st.err == nil
	}
}
