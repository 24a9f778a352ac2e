package mockserver

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// FaultInfo describes one fault profile: how to ask for it, what the server
// then does wrong, and which conformance check it is the negative control
// for. It is plain data.
type FaultInfo struct {
	// Name is the profile's name as used in ?fault= and --fault.
	Name string
	// Arg names the value the profile takes after '=' ("N", "D", "CODE",
	// "BYTES"), or is empty for a profile without one.
	Arg string
	// Description says what the server does differently, byte by byte.
	Description string
	// Check is the ID of the conformance check (the catalogue in package conformance/checks) this
	// profile must make fail or warn; empty when the profile is a legal
	// variation that exercises clients rather than a violation.
	Check string
}

// Usage returns the way to ask for the profile: "name" or "name=ARG".
func (f FaultInfo) Usage() string {
	if f.Arg == "" {
		return f.Name
	}
	return f.Name + "=" + f.Arg
}

type fault uint8

// The fault profiles. The order is the order of Faults().
const (
	fBuffered fault = iota
	fGzipBuffered
	fWrongContentType
	fNoCacheControl
	fLateHeaders
	fNoCORS
	fNoIDs
	fDupIDs
	fNulID
	fIgnoreLastEventID
	fSkipOnResume
	fResumePartial
	fRerunOnReconnect
	fUnknownIDSilent
	fRefuseReconnect
	fUnterminatedFinal
	fBadRetry
	fNoRetry
	fInvalidUTF8
	fBOMMiddle
	fUnknownField
	fNoDataBlock
	fCRLF
	fCR
	fMixedEndings
	fDropAfter
	fStall
	fStatus
	fHugeEvent
	fErrorAfter
	numFaults
)

// Limits on fault arguments, so hostile parameters get a 400, not an
// unbounded allocation or loop.
const (
	maxHugeEvent  = 64 << 20 // bytes
	maxDropAfter  = 1_000_000
	maxErrorAfter = 1_000_000
	maxHeldEvent  = 1 << 20 // huge-event with a held body (buffered, gzip-buffered)
)

var faultTable = [numFaults]FaultInfo{
	fBuffered:          {"buffered", "", "response headers are flushed at once, but every event is held in memory and written in one piece when the stream ends (a buffering proxy)", "stream/incremental"},
	fGzipBuffered:      {"gzip-buffered", "", "Content-Encoding: gzip whatever the request's Accept-Encoding; the whole body is compressed and written only when the stream ends (compression middleware)", "stream/incremental"},
	fWrongContentType:  {"wrong-content-type", "", "Content-Type: text/plain; charset=utf-8 instead of text/event-stream", "http/content-type"},
	fNoCacheControl:    {"no-cache-control", "", "no Cache-Control header", "http/cache-control"},
	fLateHeaders:       {"late-headers", "", "response headers (and the first event) are held until the first token is ready; no heartbeat before it", "stream/headers-early"},
	fNoCORS:            {"no-cors", "", "no Access-Control-Allow-Origin on responses and preflights", "http/cors"},
	fNoIDs:             {"no-ids", "", "no id: lines at all", "resume/ids-present"},
	fDupIDs:            {"dup-ids", "", "event 2 carries id 1 again (the id of event 1); later ids are normal", "resume/ids-unique"},
	fNulID:             {"nul-id", "", "every id is the decimal index followed by a U+0000 byte (clients ignore such ids)", "framing/id"},
	fIgnoreLastEventID: {"ignore-last-event-id", "", "Last-Event-ID is ignored: a reconnect replays the stream from event 0 (duplicates)", "resume/last-event-id"},
	fSkipOnResume:      {"skip-on-resume", "", "a reconnect with Last-Event-ID: k continues at event k+2 (event k+1 is lost)", "resume/last-event-id"},
	fResumePartial:     {"resume-partial", "", "needs drop-after=N. A reconnect with Last-Event-ID: k where k+1 is a multiple of N (the event drop-after cut in half) gets only the second half of event k+1's bytes, as a byte-offset resume would, then the rest; any other k resumes correctly", "resume/mid-event"},
	fRerunOnReconnect:  {"rerun-on-reconnect", "", "Last-Event-ID equal to the final event's id gets a fresh 200 run of the whole generation instead of 204", "lifecycle/finite-end"},
	fUnknownIDSilent:   {"unknown-id-silent", "", "an unknown Last-Event-ID (not an integer, or past the end) gets a 200 stream starting at the middle event, with no marker", "resume/unknown-id"},
	fRefuseReconnect:   {"refuse-reconnect", "", "any request carrying Last-Event-ID gets 503 with a JSON error", "reconnect/accepted"},
	fUnterminatedFinal: {"unterminated-final", "", "the final event lacks its closing empty line, so clients discard it at EOF", "framing/terminated"},
	fBadRetry:          {"bad-retry", "", "the retry line reads \"retry: 3000ms\" (not ASCII digits only; clients ignore it)", "framing/retry"},
	fNoRetry:           {"no-retry", "", "no retry: line", "reconnect/retry-advertised"},
	fInvalidUTF8:       {"invalid-utf8", "", "event 1's data value ends with the byte 0xFF", "framing/utf8"},
	fBOMMiddle:         {"bom-middle", "", "event 1's data value starts with U+FEFF (EF BB BF)", "framing/bom"},
	fUnknownField:      {"unknown-field", "", "event 1 carries an extra \"dat: typo\" line (an unknown field clients drop)", "framing/known-fields"},
	fNoDataBlock:       {"no-data-block", "", "a block \"event: noop\" + \"id: 0\" with no data: line is sent before event 1 (clients dispatch nothing)", "framing/dispatchable"},
	fCRLF:              {"crlf", "", "every line ends with CRLF (legal)", ""},
	fCR:                {"cr", "", "every line ends with a bare CR (legal, breaks common parsers)", "framing/line-endings"},
	fMixedEndings:      {"mixed-endings", "", "events with an even id end their lines with LF, odd ones with CRLF", "framing/line-endings"},
	fDropAfter:         {"drop-after", "N", "after N complete events on a connection, the first half of the next event's bytes is written and flushed, then the connection is aborted (no chunked terminator); a resumed connection drops again after N more", "framing/terminated"},
	fStall:             {"stall", "D", "after event 1, complete silence (no heartbeat) for duration D, then the stream goes on", "stream/heartbeat"},
	fStatus:            {"status", "CODE", "the response has status CODE (200-599), Content-Type text/event-stream and, where a body is allowed, one event \"data: status CODE\"", "http/status"},
	fHugeEvent:         {"huge-event", "BYTES", "event 1's data value is padded with 'x' to BYTES bytes (at most 64 MiB)", "framing/event-size"},
	fErrorAfter:        {"error-after", "N", "after N content events, an error event (event: error on /v1/stream, a data: {\"error\":...} chunk on the chat stream) is the final event; no finish, no [DONE]", ""},
}

// Faults returns the fault profiles, in a stable order, for help text and
// documentation. The slice is a fresh copy.
func Faults() []FaultInfo {
	out := make([]FaultInfo, numFaults)
	copy(out, faultTable[:])
	return out
}

// faultSet is a parsed list of faults. The zero value has no faults.
type faultSet struct {
	bits       uint64
	dropAfter  int
	stall      time.Duration
	status     int
	hugeEvent  int
	errorAfter int
}

func (fs *faultSet) has(f fault) bool { return fs.bits&(1<<f) != 0 }
func (fs *faultSet) set(f fault)      { fs.bits |= 1 << f }
func (fs *faultSet) empty() bool      { return fs.bits == 0 }

// each calls fn for every fault in the set, in table order.
func (fs *faultSet) each(fn func(f fault)) {
	for b := fs.bits; b != 0; b &= b - 1 {
		fn(fault(bits.TrailingZeros64(b)))
	}
}

// String lists the set in the ?fault= syntax.
func (fs *faultSet) String() string {
	var parts []string
	fs.each(func(f fault) {
		s := faultTable[f].Name
		switch f {
		case fDropAfter:
			s += "=" + strconv.Itoa(fs.dropAfter)
		case fStall:
			s += "=" + fs.stall.String()
		case fStatus:
			s += "=" + strconv.Itoa(fs.status)
		case fHugeEvent:
			s += "=" + strconv.Itoa(fs.hugeEvent)
		case fErrorAfter:
			s += "=" + strconv.Itoa(fs.errorAfter)
		}
		parts = append(parts, s)
	})
	return strings.Join(parts, ",")
}

var faultByName = func() map[string]fault {
	m := make(map[string]fault, numFaults)
	for i, fi := range faultTable {
		m[fi.Name] = fault(i)
	}
	return m
}()

// add parses a comma-separated fault list into fs. "none" clears what is set
// so far (so a request can turn off server-wide faults).
func (fs *faultSet) add(list string) error {
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if item == "none" {
			*fs = faultSet{}
			continue
		}
		name, arg, hasArg := strings.Cut(item, "=")
		f, ok := faultByName[name]
		if !ok {
			return fmt.Errorf("unknown fault %q (see ssebench mock --help for the list)", name)
		}
		info := faultTable[f]
		if info.Arg == "" && hasArg {
			return fmt.Errorf("fault %q takes no value", name)
		}
		if info.Arg != "" && !hasArg {
			return fmt.Errorf("fault %q needs a value: %s", name, info.Usage())
		}
		var err error
		switch f {
		case fDropAfter:
			fs.dropAfter, err = intIn(arg, 1, maxDropAfter)
		case fStall:
			fs.stall, err = parseDelay(arg)
		case fStatus:
			fs.status, err = intIn(arg, 200, 599)
		case fHugeEvent:
			fs.hugeEvent, err = intIn(arg, 1, maxHugeEvent)
		case fErrorAfter:
			fs.errorAfter, err = intIn(arg, 0, maxErrorAfter)
		}
		if err != nil {
			return fmt.Errorf("fault %s: %w", info.Usage(), err)
		}
		fs.set(f)
	}
	return nil
}

// check reports combinations that cannot work together.
func (fs *faultSet) check() error {
	if fs.has(fResumePartial) && !fs.has(fDropAfter) {
		return fmt.Errorf("fault resume-partial needs drop-after=N in the same list (it acts on the event drop-after cuts)")
	}
	if (fs.has(fBuffered) || fs.has(fGzipBuffered)) && fs.has(fHugeEvent) && fs.hugeEvent > maxHeldEvent {
		return fmt.Errorf("faults buffered and gzip-buffered hold the body in memory: huge-event may then be at most %d bytes", maxHeldEvent)
	}
	if fs.has(fCR) && fs.has(fCRLF) || fs.has(fMixedEndings) && (fs.has(fCR) || fs.has(fCRLF)) {
		return fmt.Errorf("faults crlf, cr and mixed-endings exclude one another")
	}
	return nil
}

// intIn parses a decimal integer in [lo, hi].
func intIn(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}
