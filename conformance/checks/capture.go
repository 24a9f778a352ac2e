package checks

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// End says how a captured response body ended.
type End uint8

// How a capture ends.
const (
	// EndNone: no body was read (the request failed or the status was not
	// 200).
	EndNone End = iota
	// EndEOF: the server closed the body cleanly (chunked terminator, or
	// the connection closed on a close-delimited body).
	EndEOF
	// EndAbort: the connection broke before a clean end (a reset, a
	// missing chunked terminator, a truncated gzip stream).
	EndAbort
	// EndCut: the prober dropped the connection on purpose (enough
	// events, or a resume probe's drop point).
	EndCut
	// EndTimeout: the read time limit passed.
	EndTimeout
	// EndLimit: the capture used up its share of the run's memory budget.
	EndLimit
	// EndInterrupted: the run was interrupted.
	EndInterrupted
	// EndBroken: the body's framing on the wire was invalid: malformed
	// chunked encoding, fewer bytes than the Content-Length declared, or a
	// gzip stream that is corrupt or that the body ended inside.
	EndBroken
)

var endNames = [...]string{
	EndNone:        "none",
	EndEOF:         "eof",
	EndAbort:       "abort",
	EndCut:         "cut",
	EndTimeout:     "timeout",
	EndLimit:       "limit",
	EndInterrupted: "interrupted",
	EndBroken:      "broken",
}

// String returns the end's name: "eof", "abort", "cut", ...
func (e End) String() string {
	if int(e) < len(endNames) {
		return endNames[e]
	}
	return "end?"
}

// Read is one read of a response body: when it returned and how many bytes
// it delivered.
type Read struct {
	// At is the time since the capture's start (the request being sent),
	// from the monotonic clock.
	At time.Duration
	// N is the number of bytes the read returned.
	N int
}

// Capture is one HTTP exchange recorded at the socket level: the request
// as sent, the status and raw headers, every body read with its time, and
// how the body ended. It is plain data: the prober fills it, the checks only
// read it, and tests build it from byte strings. A Capture must not be
// modified once a check has seen it; its methods are safe for concurrent use
// after that.
type Capture struct {
	// Label names the connection in evidence: "main", "resumed", ...
	Label string
	// Method is the request's method.
	Method string
	// URL is the request's URL, credentials redacted.
	URL string
	// LastEventID is the Last-Event-ID header the request carried ("" when
	// none). A parse of the body starts from it, as a browser's does.
	LastEventID string
	// Err is the transport error when no response arrived (dial, TLS,
	// request write, timeout before the headers, too many redirects).
	Err error
	// Connected is true when a connection to the server was made and the
	// request written on it, even if no response followed: the server is
	// reachable.
	Connected bool
	// Redirects are the redirects followed before the final response, in
	// order.
	Redirects []Redirect
	// Status is the final status code (after redirects); 0 without a
	// response.
	Status int
	// Header is the final response's header block as received.
	Header http.Header
	// Headers is the time from the start to the response headers.
	Headers time.Duration
	// Proto is the final response's protocol ("HTTP/1.1", "HTTP/2.0").
	Proto string
	// Chunked is true when the body came with chunked transfer coding.
	Chunked bool
	// ContentLength is the body length the response declared, or -1.
	ContentLength int64
	// Body holds the decoded body bytes as the event-stream parser sees
	// them (after gzip, when the response was compressed).
	Body []byte
	// Reads are the decoded body reads, in order; their N add up to
	// len(Body).
	Reads []Read
	// Wire are the reads of the bytes as they came off the connection,
	// before decompression. Nil when the body was not compressed (Reads
	// are then the wire reads).
	Wire []Read
	// Cut is the number of Body bytes a client saw before the connection
	// was dropped on purpose: a resume probe keeps reading into its buffer
	// but pretends the connection broke at Cut. Zero means all of Body.
	Cut int64
	// End says how the body ended.
	End End
	// EndErr is the error behind an abort, a broken body, a timeout or an
	// interrupt.
	EndErr error
	// WireBytes is the number of body bytes read off the connection
	// (before gzip decoding, after chunked decoding).
	WireBytes int64
	// Share is the capture's share of the memory budget in bytes (0 when
	// unknown): what ended a read with EndLimit.
	Share int64
	// EndAt is when the body ended (or the request failed), since the
	// start.
	EndAt time.Duration

	once   sync.Once
	stream *Stream
}

// Visible returns the body bytes a client processed: Body up to Cut.
func (c *Capture) Visible() []byte {
	if c.Cut > 0 && c.Cut < int64(len(c.Body)) {
		return c.Body[:c.Cut]
	}
	return c.Body
}

// Responded reports whether a response (any status) arrived.
func (c *Capture) Responded() bool { return c != nil && c.Err == nil && c.Status != 0 }

// Stream returns the visible body indexed as a browser parses it. It is
// computed once (the prober sets it while it reads, see SetStream).
func (c *Capture) Stream() *Stream {
	c.once.Do(func() {
		if c.stream == nil {
			c.stream = ParseStream(c.Visible(), c.LastEventID, c.Reads)
		}
	})
	return c.stream
}

// SetStream installs s, the index of Visible() built while the body was
// read, as what Stream returns. Call it before any check sees c.
func (c *Capture) SetStream(s *Stream) { c.stream = s }

// Redirect is one redirect the client followed.
type Redirect struct {
	// Status is the redirect response's status (301, 302, 303, 307, 308).
	Status int
	// From and To are the URLs before and after, credentials redacted.
	From, To string
	// CrossOrigin is true when To's origin (scheme, host, port) differs
	// from From's.
	CrossOrigin bool
	// Dropped lists the credential headers not sent to To (canonical
	// names): a request loses them for good at its first cross-origin hop.
	Dropped []string
	// Method is the method of the request to To (a 303, or a 301 or 302
	// after a POST, turn it into GET).
	Method string
}

// captures returns every capture of in that a probe made, main first.
func (in *Input) captures() []*Capture {
	var out []*Capture
	add := func(c *Capture) {
		if c != nil && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	add(in.Main)
	for _, p := range []*ResumeProbe{in.Boundary, in.MidEvent, in.ServerDrop} {
		if p != nil {
			add(p.First)
			add(p.Resumed)
		}
	}
	add(in.UnknownID)
	add(in.FiniteEnd)
	add(in.Control)
	return out
}

// ResumeProbe is a browser-style reconnect: a first connection read up to
// a drop point, then a second request carrying Last-Event-ID.
type ResumeProbe struct {
	// First is the interrupted connection; First.Cut is where the client
	// stopped processing (for a mid-event drop, inside the event).
	First *Capture
	// After is the number of events the client had received when it
	// dropped the connection (k).
	After int
	// Resumed is the reconnect, nil when it was not attempted (Reason
	// says why).
	Resumed *Capture
	// Reason explains why the probe could not run to its end, or is empty.
	Reason string
}

// Probe names one exchange (or sequence of exchanges) the prober performs
// for the checks that need it.
type Probe uint8

// The probes. A check lists the ones it reads, so a run that selects a few
// checks performs only the probes they need.
const (
	// ProbeMain is the browser-like read of the stream: the reference,
	// read until the stream ends or the read limits.
	ProbeMain Probe = iota
	// ProbeBoundary reads k events, drops the connection right after event
	// k's empty line and reconnects with Last-Event-ID: id(k).
	ProbeBoundary
	// ProbeMidEvent cuts inside event k+1 and resumes with id(k).
	ProbeMidEvent
	// ProbeServerDrop resumes after the server itself aborted the main
	// connection in the middle of an event (only when it did).
	ProbeServerDrop
	// ProbeUnknownID sends a Last-Event-ID the server cannot know.
	ProbeUnknownID
	// ProbeFiniteEnd reconnects, as a browser does, after the main
	// stream's final event: with its last event ID when it has one,
	// without Last-Event-ID otherwise.
	ProbeFiniteEnd
	// ProbeControl sends a request the server can answer without
	// generating a stream (OPTIONS on the stream's URL), the yardstick of
	// stream/headers-early.
	ProbeControl
	numProbes
)

var probeNames = [...]string{
	ProbeMain:       "main",
	ProbeBoundary:   "resume-boundary",
	ProbeMidEvent:   "resume-mid-event",
	ProbeServerDrop: "resume-after-server-drop",
	ProbeUnknownID:  "unknown-id",
	ProbeFiniteEnd:  "reconnect-after-end",
	ProbeControl:    "headers-control",
}

// String returns the probe's name.
func (p Probe) String() string {
	if int(p) < len(probeNames) {
		return probeNames[p]
	}
	return "probe?"
}

// Probes returns every probe, in the order above.
func Probes() []Probe {
	out := make([]Probe, numProbes)
	for i := range out {
		out[i] = Probe(i)
	}
	return out
}

// Config holds the thresholds the checks judge against. The zero value is
// not useful: start from DefaultConfig.
type Config struct {
	// FirstEvent is the deadline for the first event (stream/first-event).
	FirstEvent time.Duration
	// Idle is the longest silence allowed on the wire (stream/heartbeat).
	Idle time.Duration
	// HeadersHeld is the time to headers from which headers that arrive
	// together with the first event count as held back
	// (stream/headers-early).
	HeadersHeld time.Duration
	// EventWarn is the event size in bytes above which
	// framing/event-size warns.
	EventWarn int
	// EventMax is the size in bytes above which the warning says the
	// event is over the hard limit of common clients.
	EventMax int
	// Origin is the origin sent in the Origin header; empty skips
	// http/cors.
	Origin string
}

// DefaultConfig returns the default thresholds: first event within 10s, no
// silence over 15s (the spec's authoring note), headers held from 500ms,
// events up to 64 KiB (warn above; "over 1 MiB" above EventMax).
func DefaultConfig() Config {
	return Config{
		FirstEvent:  10 * time.Second,
		Idle:        15 * time.Second,
		HeadersHeld: 500 * time.Millisecond,
		EventWarn:   64 << 10,
		EventMax:    1 << 20,
	}
}

// Input is everything the checks judge: the captures of every probe that
// ran (nil for one that did not) and the thresholds.
type Input struct {
	// Config holds the thresholds.
	Config Config
	// Main is the reference read (ProbeMain).
	Main *Capture
	// Boundary is the drop after event k and the resume (ProbeBoundary).
	Boundary *ResumeProbe
	// MidEvent is the drop inside event k+1 and the resume
	// (ProbeMidEvent).
	MidEvent *ResumeProbe
	// ServerDrop is the resume after the server aborted Main inside an
	// event (ProbeServerDrop); nil when it did not.
	ServerDrop *ResumeProbe
	// UnknownID is the request with an unknown Last-Event-ID.
	UnknownID *Capture
	// FiniteEnd is the reconnect after the final event; nil when the main
	// stream did not end by itself or carried no id.
	FiniteEnd *Capture
	// FiniteEndReason says why FiniteEnd is nil.
	FiniteEndReason string
	// Control is the OPTIONS request on the stream's URL (ProbeControl).
	Control *Capture
	// Client is how late the checking process itself ran while the main
	// read went on: the timing checks do not blame the server for what a
	// starved client did (see Lateness).
	Client Lateness
}

// Lateness is how late the checking process ran during a read, measured
// by a timer that wakes up every few milliseconds (package
// scenarios/health). A process starved of CPU reads late: events that the
// server sent over a second then come out of the socket at once, and look
// exactly like a response held back by a buffer. The timing checks
// (stream/incremental, stream/headers-early) therefore give no verdict
// (skip, saying why) when the client was late by a large part of the delay
// they would blame on the server.
type Lateness struct {
	// Measured is false when nothing was measured (the checks then judge
	// as if the client were never late).
	Measured bool
	// TimerMax is the largest lateness of a wake-up during the read;
	// TimerP99 its p99; SchedP99 the Go scheduler latency p99.
	TimerMax, TimerP99, SchedP99 time.Duration
}

// starved returns a skip finding when the client was late by at least
// half of delay, the time a timing check is about to blame on the server.
func (in *Input) starved(delay time.Duration) (Finding, bool) {
	l := in.Client
	if !l.Measured || delay <= 0 || l.TimerMax < delay/2 {
		return Finding{}, false
	}
	return skipf("no verdict: ssebench itself was starved of CPU during the read (a timer of its own woke up as much as %s late; scheduler latency p99 %s), so a late read cannot be told from a held response; run it again on a less loaded machine",
		dur(l.TimerMax), dur(l.SchedP99)), true
}
