package sse

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

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

func (rd *Reader) diag(k DiagnosticKind, off int64, line []byte) {
	if len(line) > 256 {
		line = line[:256]
	}
	rd.opts.OnDiagnostic(Diagnostic{Kind: k, Offset: off, Line: bytes.Clone(line), Event: rd.dispatched})
}
