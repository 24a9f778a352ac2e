// Package checks is ssebench's conformance check catalogue: every check as
// plain Go, with a stable ID, a level, the section of the standard it rests
// on, the probes it needs, and a function from captured HTTP exchanges to a
// finding.
//
// The checks never do I/O. The prober in package conformance records
// Captures at the socket level (status, raw headers, redirects, every body
// read with its monotonic time, how the body ended) and the checks judge
// them; tests build Captures from byte strings. A capture's body is seen
// through a Stream: an index of offsets into it (Index), built as the bytes
// arrive, that gives the events, diagnostics and line endings the
// standard's parser
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
// gives, without copying a line or an event's data: its size grows with the
// number of events, not with the bytes. The tests hold it to the reference
// parser, sse.Reader, on every input (TestIndexMatchesReader, FuzzIndex).
//
// Every check that compares events across connections uses one notion of
// "the same event" (see identity in identity.go), so the resume checks
// agree with each other.
//
// Levels: a violated MUST gives status "fail", a violated SHOULD "warn"; a
// check that does not apply gives "skip" with the reason.
//
// The package uses the standard library and conformance/sse only.
//
// # Catalogue
//
// Every check, in report order: ID (level), the rule, why it matters, and
// the section of the standard it rests on.
//
// Group http:
//
//   - http/status (MUST): the stream request answers 200. Any other status
//     makes a browser fail the connection for good: EventSource never
//     retries it.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
//
//   - http/content-type (MUST): Content-Type is text/event-stream (charset,
//     if any, utf-8). A browser fails the connection on any other type; the
//     stream is always decoded as UTF-8.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
//
//   - http/cache-control (SHOULD): Cache-Control has no-cache or no-store.
//     Caches and proxies may store, coalesce or replay a cacheable stream.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
//
//   - http/body-framing (MUST): every response body is framed as its headers
//     say: valid chunked encoding, the declared Content-Length, a whole gzip
//     stream. A client fails the connection where the framing breaks and
//     loses what the rest of the body held.
//     https://www.rfc-editor.org/rfc/rfc9112#section-6.3
//
//   - http/redirect (SHOULD): the stream URL answers without a redirect. A
//     browser follows redirects but reconnects to the URL it was given, so
//     every reconnect repeats them; a hop to another origin loses the
//     request's credentials.
//     https://fetch.spec.whatwg.org/#http-redirect-fetch
//
//   - http/cors (MUST): with --origin: Access-Control-Allow-Origin admits
//     the origin. Without it a cross-origin browser EventSource fails the
//     connection and never sees an event.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
//
// Group stream:
//
//   - stream/first-event (MUST): the first event arrives within the deadline
//     (default 10s). Clients, proxies and users give up on a stream that
//     stays silent.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model
//
//   - stream/incremental (MUST): events arrive as produced, not held back
//     until the end by buffering or compression. A buffered stream delivers
//     every event at once when it closes: no streaming at all.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
//
//   - stream/heartbeat (SHOULD): no silence longer than the idle window
//     (default 15s; comments count). Proxies and load balancers drop idle
//     connections (AWS ALB 60s, CloudFront 30s); the standard suggests a
//     comment every 15s.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#authoring-notes
//
//   - stream/headers-early (SHOULD): response headers arrive before the
//     first event is ready. Headers held until the first token make fetch()
//     block and EventSource never fire open; proxies time out.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model
//
// Group framing:
//
//   - framing/utf8 (MUST): the byte stream is valid UTF-8. Clients decode as
//     UTF-8 and show U+FFFD for invalid bytes: the data is corrupted.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
//
//   - framing/bom (MUST): no U+FEFF except as the very first character. A
//     BOM anywhere else is data: at a line start it renames the field
//     (\ufeffdata) and the event is lost.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
//
//   - framing/terminated (MUST): every event ends with its empty line before
//     the stream closes. A conforming client discards an event that has not
//     seen its empty line when the stream ends.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//
//   - framing/retry (MUST): every retry value is ASCII digits only. Clients
//     silently ignore any other value (3000ms, 1.5, -1, empty).
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//
//   - framing/id (MUST): no id contains U+0000. Clients ignore such an id
//     field, so the next reconnect resumes from an older id.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//
//   - framing/known-fields (SHOULD): only data, event, id, retry and
//     comments. Clients silently drop unknown fields: a typo such as dat:
//     loses the data.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//
//   - framing/dispatchable (SHOULD): no block sets event or id without data.
//     A block without data dispatches nothing: the named event never reaches
//     a listener.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
//
//   - framing/line-endings (SHOULD): one line-ending style, LF or CRLF. Bare
//     CR and mixed endings are legal but break common hand-written parsers
//     that split on \n\n.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
//
//   - framing/event-size (SHOULD): no single event over 64 KiB (and none
//     over 1 MiB). Common clients cap a line or event at 64 KiB
//     (bufio.Scanner's default) and fail on larger ones.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
//
// Group resume:
//
//   - resume/ids-present (SHOULD): every event has an id, so a client can
//     resume. Without an id a reconnecting client sends no Last-Event-ID and
//     the server cannot resume.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header
//
//   - resume/ids-unique (MUST): when ids are present: no id repeats within a
//     stream. A repeated id makes a resume ambiguous: events are replayed or
//     lost.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header
//
//   - resume/last-event-id (MUST): when ids are present: after a drop at
//     event k, Last-Event-ID: id(k) continues with exactly the event that
//     followed k. Browsers reconnect with Last-Event-ID after every drop: a
//     duplicate or a gap corrupts the client's state.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
//
//   - resume/mid-event (MUST): when ids are present: after a drop inside an
//     event, resuming with the last complete id re-sends that event whole.
//     The client discarded the half event; a server that resumes from what
//     it wrote loses it or sends a fragment.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
//
//   - resume/unknown-id (SHOULD): an unknown Last-Event-ID gets a defined
//     answer: a full replay or one marked as a reset, or a 4xx. A silent
//     partial stream leaves the client with a gap it cannot see.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header
//
// Group reconnect:
//
//   - reconnect/accepted (MUST): a reconnect after a client-side drop is
//     answered 200 with a stream. A browser reconnects after every drop; any
//     other answer ends the EventSource for good.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
//
//   - reconnect/retry-advertised (SHOULD): the server sends a retry field.
//     Without it clients use their own default (3s in browsers, 500ms in
//     some libraries): reconnect storms or slow recovery.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#concept-event-stream-reconnection-time
//
// Group lifecycle:
//
//   - lifecycle/finite-end (SHOULD): after a finite stream's final event, a
//     browser-style reconnect (with its last id, or without Last-Event-ID
//     when it has none) gets 204 or no new event. A browser reconnects after
//     every clean end: a server that answers with a fresh run re-generates
//     (and re-bills) the whole stream in a loop.
//     https://html.spec.whatwg.org/multipage/server-sent-events.html#server-sent-events-intro
//
// (End of the catalogue.)
package checks
