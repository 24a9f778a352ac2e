// Package mockserver is ssebench's mock Server-Sent Events and LLM server:
// an http.Handler that streams named events (GET /v1/stream), OpenAI-style
// chat completion chunks (POST /v1/chat/completions), and two-step session
// streams (POST /v1/sessions, GET /v1/sessions/{id}/stream), with
// configurable timing, a slot queue like an inference server's, Prometheus
// metrics, and fault profiles that each make one conformance check fail.
//
// # Ids and resume
//
// Event ids are decimal integers 0..n-1. On /v1/stream, event 0 is "info"
// (its block carries "retry: <ms>"), events 1..T are "add" (one chunk of
// tokens each) and event T+1 is "finish" (the whole text and usage). The chat
// stream numbers its role chunk 0, content chunks 1..T, then the
// finish_reason chunk, the usage chunk (with stream_options.include_usage)
// and "[DONE]". Every byte of event k is a pure function of the request's
// parameters and k, so a request with Last-Event-ID: k continues with exactly
// event k+1, byte for byte, with no stored state; the final id gets 204 (a
// browser EventSource stops instead of re-running the generation), and an id
// that names no event gets 400 with a JSON error. The one exception is a chat
// completion's "id" and "created" fields: every request, a resume included,
// is a completion of its own, with an id no other completion of the Server
// has and the Unix time of its request.
//
// # Requests
//
// A request body is read within Config.BodyTimeout (10s by default) of the
// end of its headers and is at most Config.MaxBodyBytes (1 MiB); a slower
// body gets 408 and the connection is closed, a larger one 413
// (https://www.rfc-editor.org/rfc/rfc9110#name-408-request-timeout). CORS
// follows the Fetch standard
// (https://fetch.spec.whatwg.org/#http-cors-protocol): Access-Control-Allow-
// Origin is Config.CORSOrigin, or, with Config.CORSCredentials, the
// request's own Origin with Access-Control-Allow-Credentials: true and
// Vary: Origin, since a browser refuses "*" on a credentialed request (an
// EventSource with withCredentials). Preflights admit the request headers
// they name (at most 64 valid names) besides Last-Event-ID, Authorization,
// Content-Type, Accept and Cache-Control.
//
// # Faults
//
// Faults() lists the profiles. They write their misbehaving bytes directly,
// not through an SSE encoder, so a bug shared by an encoder and a parser
// cannot hide. This package must not import conformance/checks: a check and
// the server it judges must not share "expected" logic.
//
// # Slots: a known capacity
//
// With Config.Slots = S, at most S streams generate at once; a stream that
// finds every slot busy gets its headers and info event at once and waits
// in a FIFO queue (oldest first; a freed slot goes straight to the head of
// the queue) before its time to first token starts. A stream holds its slot
// from the moment it gets it until its last content event is written:
//
//	hold H = ttft + (ceil(tokens/chunk) - 1) × itl
//
// (the finish event follows at once, after the slot is freed). So the true
// capacity, what 'ssebench capacity' should find, is
//
//	closed model (--by connections): S concurrent streams; beyond, C
//	  streams wait (C-S)/S × H for a slot on average, and as a closed
//	  model's streams keep in step the unlucky ones wait a whole H;
//	open model (--by rate): S / H arrivals per second; beyond, the queue
//	  grows without bound.
//
// For the defaults (ttft 200ms, itl 20ms, 64 tokens, chunk 1) H is 1.46 s,
// so --slots 64 sustains 64 concurrent streams or 43.8 arrivals per second.
// Fixed distributions make H exact; with jitter, use the means.
//
// # Footprint
//
// A stream is served by its request's goroutine alone, with one reusable
// buffer and one timer: no allocation per event. Measured on the 2-core
// development machine (testdata/bench-mock.sh): 15,000 idle streams at about
// 27 KiB of resident memory each, and several hundred thousand events per
// second from one core.
package mockserver
