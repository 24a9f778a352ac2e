package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidField is matched (with errors.Is) by the errors the Encoder
// returns for values the wire format cannot carry.
var ErrInvalidField = errors.New("sse: invalid field value")

// Encoder writes events in the text/event-stream format: LF line endings,
// multi-line data split into one data line per line, and an empty line after
// each event, so that any conforming client reads back exactly what was
// encoded (the round trip is fuzz-tested against Reader).
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
// It is not safe for concurrent use. It lives in a test file: nothing in
// the binaries writes events through it (the mock server has its own
// writer), the tests use it to produce reference streams for the Reader.
type Encoder struct {
	w      io.Writer
	buf    bytes.Buffer
	lastID string
	wrote  bool // an event was written (lastID is meaningful)
}

// NewEncoder returns an Encoder writing to w. Each method issues one Write.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes ev. Data is split at every CR, LF and CRLF into data lines,
// so a reader reproduces it exactly except that CR and CRLF become LF. An
// empty or "message" Type writes no event line. The id line is written when
// ev.ID differs from the previous event's (an empty ID after a non-empty one
// writes a bare "id" line, which resets the client's last event ID), so the
// reader's lastEventId equals ev.ID. Type and ID may not contain CR or LF,
// and ID may not contain U+0000: such values give an error matching
// ErrInvalidField and nothing is written. Bytes that are not valid UTF-8 are
// written as they are; a reader decodes each maximal invalid subpart to
// U+FFFD.
func (e *Encoder) Encode(ev Event) error {
	if strings.ContainsAny(ev.Type, "\r\n") {
		return fmt.Errorf("%w: event type %q contains a line break", ErrInvalidField, ev.Type)
	}
	if strings.ContainsAny(ev.ID, "\r\n\x00") {
		return fmt.Errorf("%w: id %q contains a line break or NUL", ErrInvalidField, ev.ID)
	}
	e.buf.Reset()
	if ev.Type != "" && ev.Type != "message" {
		e.field("event", ev.Type)
	}
	if ev.ID != e.lastID || (!e.wrote && ev.ID != "") {
		if ev.ID == "" {
			e.buf.WriteString("id\n")
		} else {
			e.field("id", ev.ID)
		}
	}
	data := ev.Data
	for {
		i := strings.IndexAny(data, "\r\n")
		if i < 0 {
			e.field("data", data)
			break
		}
		e.field("data", data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	e.buf.WriteByte('\n')
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return err
	}
	e.lastID = ev.ID
	e.wrote = true
	return nil
}

// field writes "name: value\n", or "name\n" for an empty value.
func (e *Encoder) field(name, value string) {
	e.buf.WriteString(name)
	if value != "" {
		e.buf.WriteString(": ")
		e.buf.WriteString(value)
	} else if name == "data" {
		e.buf.WriteByte(':')
	}
	e.buf.WriteByte('\n')
}

// Retry writes a retry field in its own block: the client's reconnection
// time becomes d, rounded down to whole milliseconds. Negative d is an error.
func (e *Encoder) Retry(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: negative retry %v", ErrInvalidField, d)
	}
	_, err := io.WriteString(e.w, "retry: "+strconv.FormatInt(d.Milliseconds(), 10)+"\n\n")
	return err
}

// Comment writes text as comment lines, one per line of text (split at CR,
// LF and CRLF), so a multi-line comment cannot turn into fields.
func (e *Encoder) Comment(text string) error {
	e.buf.Reset()
	for {
		i := strings.IndexAny(text, "\r\n")
		line := text
		if i >= 0 {
			line = text[:i]
		}
		e.buf.WriteByte(':')
		if line != "" {
			e.buf.WriteByte(' ')
			e.buf.WriteString(line)
		}
		e.buf.WriteByte('\n')
		if i < 0 {
			break
		}
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	_, err := e.w.Write(e.buf.Bytes())
	return err
}
