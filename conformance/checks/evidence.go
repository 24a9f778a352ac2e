package checks

import (
	"strconv"
	"unicode/utf8"
)

// MaxEvidenceBytes is the most raw bytes a finding quotes.
const MaxEvidenceBytes = 120

// Evidence locates what a finding is about in the captured bytes.
type Evidence struct {
	// Bytes are the first offending bytes (at most MaxEvidenceBytes),
	// escaped as a Go string literal without the quotes: control bytes,
	// invalid UTF-8 and U+FEFF are visible (\r, \x00, \xff, \ufeff).
	Bytes string `json:"bytes,omitempty"`
	// Offset is the byte offset of Bytes in the connection's body (after
	// decompression), when known.
	Offset *int64 `json:"offset,omitempty"`
	// Event is the index (from 0) of the event concerned, or of the first
	// event after the offending bytes, when known.
	Event *int `json:"event,omitempty"`
	// Connection names the capture: "main", "resumed", ...
	Connection string `json:"connection,omitempty"`
	// Detail is a second line of explanation: measured values, what was
	// expected.
	Detail string `json:"detail,omitempty"`
}

// Quote escapes b for evidence: at most MaxEvidenceBytes bytes, as a Go
// string literal without its quotes, with "…" appended when b was longer.
// Printable text (including non-ASCII) stays readable; U+FEFF is escaped.
func Quote(b []byte) string {
	more := len(b) > MaxEvidenceBytes
	if more {
		// Do not cut a valid character in half: that would show an
		// invalid byte that is not in the stream.
		cut := MaxEvidenceBytes
		for i := cut - 1; i >= 0 && i > cut-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				r, n := utf8.DecodeRune(b[i:])
				if (r != utf8.RuneError || n > 1) && i+n > cut {
					cut = i
				}
				break
			}
		}
		b = b[:cut]
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, `\x`...)
			out = append(out, "0123456789abcdef"[b[0]>>4], "0123456789abcdef"[b[0]&0xf])
		case r == '\uFEFF':
			out = append(out, `\ufeff`...)
		case r == '"' || r == '\'':
			out = append(out, byte(r))
		default:
			q := strconv.QuoteRune(r)
			out = append(out, q[1:len(q)-1]...)
		}
		b = b[n:]
	}
	s := string(out)
	if more {
		s += "…"
	}
	return s
}

// at builds the evidence for the bytes of body at [off, off+n) (clipped),
// with the event index from s when s is not nil.
func at(c *Capture, s *Stream, off int64, n int) *Evidence {
	body := s.Body
	if off < 0 {
		off = 0
	}
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	end := off + int64(n)
	if end > int64(len(body)) || n < 0 {
		end = int64(len(body))
	}
	ev := &Evidence{Bytes: Quote(body[off:end]), Offset: ptr(off)}
	if c != nil {
		ev.Connection = c.Label
	}
	if i := s.EventAt(off); i >= 0 {
		ev.Event = ptr(i)
	} else if len(s.Events) > 0 || off > 0 {
		ev.Event = ptr(len(s.Events))
	}
	return ev
}

// lineOf returns the evidence for raw line l (up to MaxEvidenceBytes, with
// its line ending).
func lineOf(c *Capture, s *Stream, l Line) *Evidence {
	return at(c, s, l.Off, int(min(l.end()-l.Off, MaxEvidenceBytes)))
}

func ptr[T any](v T) *T { return &v }
