// Package sse reads and writes the text/event-stream wire format exactly as
// the HTML Living Standard, section 9.2 "Server-sent events", defines it
// (https://html.spec.whatwg.org/multipage/server-sent-events.html).
//
// The Reader is the reference parser of ssebench: every load-test metric and
// every conformance verdict is computed from what it dispatches. It follows
// the standard's "Interpreting an event stream" algorithm to the letter,
// including the two rules that popular libraries get wrong: a block without
// data dispatches nothing (A6), and an event that has not seen its empty line
// when the stream ends is discarded and reported, because it is lost data
// (A7).
//
// The package uses the standard library only.
//
// # Parsing rules
//
// The code, its tests and its comments refer to these rules by number (A1 to
// A8). Each rule names the part of the standard it implements.
//
// A1. Decoding. The stream is decoded as UTF-8 the way the Encoding
// Standard's decoder does it: one U+FFFD per maximal invalid subpart (a
// truncated "e4 bd" is one U+FFFD, "f0 80 80" is three), as a browser's
// TextDecoder does, never one per byte. A character split across two reads
// is still one character. One leading U+FEFF (byte order mark) is removed at
// the very start of the stream only; a later one is data.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
// and https://encoding.spec.whatwg.org/#utf-8-decode
//
// A2. Line ends. A line ends at CRLF, at LF or at a lone CR. A CR at the end
// of one read and an LF at the start of the next are one line end; LF
// followed by CR is two. A line that ends in CR is dispatched at once,
// without waiting for the next byte.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
//
// A3. Empty lines and comments. An empty line dispatches the event (A6). A
// line that starts with ":" is a comment: ignored by the event model, but
// reported to the caller (OnComment), which may time it as a heartbeat.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//
// A4. Fields. In a line with a colon, the field name is the text before the
// first colon and the value is the text after it, minus ONE leading space
// if there is one. A line without a colon is a field name with an empty
// value. Field names are compared literally: "Data" and " data" are unknown
// fields, and unknown fields are ignored.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//
// A5. The four fields. "event" sets the event type buffer. "data" appends
// the value and one LF to the data buffer. "id" sets the last event ID
// buffer to the value unless the value contains U+0000 (an empty value
// resets it). "retry" sets the reconnection time, in milliseconds, when the
// value is ASCII digits only, and is ignored otherwise.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#processField
//
// A6. Dispatch, on an empty line: (a) the source's last event ID becomes
// the buffer's value, even when nothing is dispatched; (b) if the data
// buffer is empty, the data and type buffers are cleared and nothing is
// dispatched; (c) one trailing LF is removed from the data; (d) the type is
// the type buffer, or "message" when it is empty, and the event's
// lastEventId is the source's last event ID; (e) the data and type buffers
// are cleared, the last event ID is not. The last event ID persists from
// event to event, and across reconnects (the web-platform-tests and the
// common client libraries agree on that reading).
// https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
//
// A7. End of stream. An event that has not seen its empty line when the
// stream ends is discarded, as the standard says ("If the file ends in the
// middle of an event, before the final empty line, the incomplete event is
// not dispatched"), and the Reader reports it with ErrEOFMidEvent, because
// it is data the client lost.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//
// A8. Limits. The standard sets none; a reader of hostile input needs them.
// A line longer than Options.MaxLine, or an event whose data grows past
// Options.MaxEvent, ends the read with a *LimitError (errors.Is ErrLimit)
// instead of growing without bound; see the Default limits for the memory
// a Reader may hold.
//
// # Vectors
//
// The tests name each case after where it comes from: "format-*" and
// "event-data" after the web-platform-tests files in eventsource/
// (https://github.com/web-platform-tests/wpt/tree/master/eventsource),
// "ld/..." after LaunchDarkly's sse-contract-tests parsing cases, and
// "An/..." after rule n above for what the others leave out.
package sse
