package sse_test

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssebench/ssebench/conformance/sse"
)

// This file holds refParse, an obviously-correct reference for the Reader:
// it reads the whole input at once and follows the standard's text step by
// step, sharing no code with the Reader. In particular it decodes UTF-8 with
// its own table (Unicode's Table 3-7 of well-formed byte sequences, applied
// with "U+FFFD substitution of maximal subparts", which is what the Encoding
// Standard's decoder produces) and splits lines on decoded characters, not on
// bytes. The differential fuzz test holds the Reader to it.

// outcome is everything observable about one parse, from either parser.
type outcome struct {
	Events   []sse.Event
	Retries  []time.Duration
	Comments []string
	Diags    []string // "kind@offset"
	End      string   // "eof", "eof-mid-event@N", "limit:line@N", "limit:event@N", or another error
	LastID   string
}

// wellFormed is Table 3-7 of the Unicode Standard ("Well-Formed UTF-8 Byte
// Sequences") minus the ASCII row: one row per lead-byte range, one
// inclusive byte range per position.
var wellFormed = [][][2]byte{
	{{0xC2, 0xDF}, {0x80, 0xBF}},
	{{0xE0, 0xE0}, {0xA0, 0xBF}, {0x80, 0xBF}},
	{{0xE1, 0xEC}, {0x80, 0xBF}, {0x80, 0xBF}},
	{{0xED, 0xED}, {0x80, 0x9F}, {0x80, 0xBF}},
	{{0xEE, 0xEF}, {0x80, 0xBF}, {0x80, 0xBF}},
	{{0xF0, 0xF0}, {0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}},
	{{0xF1, 0xF3}, {0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}},
	{{0xF4, 0xF4}, {0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}},
}

// refChar is one decoded character and where its bytes are.
type refChar struct {
	r       rune
	off     int  // raw offset of its first byte
	invalid bool // a U+FFFD standing for a maximal invalid subpart
}

// refDecode decodes b as the Encoding Standard's "UTF-8 decode" does,
// including the removal of one leading BOM. The last element is a sentinel
// holding len(b) as its offset.
func refDecode(b []byte) []refChar {
	var out []refChar
	i := 0
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		i = 3
	}
	for i < len(b) {
		if b[i] < 0x80 {
			out = append(out, refChar{r: rune(b[i]), off: i})
			i++
			continue
		}
		// The longest prefix of b[i:] that some well-formed sequence starts
		// with: the whole sequence is a character, anything shorter is a
		// maximal subpart (at least one byte) standing for one U+FFFD.
		best, complete := 0, false
		for _, row := range wellFormed {
			m := 0
			for m < len(row) && i+m < len(b) && b[i+m] >= row[m][0] && b[i+m] <= row[m][1] {
				m++
			}
			if m > best {
				best, complete = m, m == len(row)
			}
		}
		if complete {
			r, n := utf8.DecodeRune(b[i:])
			if n != best || r == utf8.RuneError && n == 1 {
				panic(fmt.Sprintf("refDecode: table and unicode/utf8 disagree at %d", i))
			}
			out = append(out, refChar{r: r, off: i})
			i += best
			continue
		}
		out = append(out, refChar{r: utf8.RuneError, off: i, invalid: true})
		i += max(best, 1)
	}
	return append(out, refChar{off: len(b)})
}

// refDecodeString decodes s like refDecode, keeping a leading BOM (the
// round-trip test decodes field values, which are never at stream start).
func refDecodeString(s string) string {
	chars := refDecode(append([]byte("a"), s...))
	var sb strings.Builder
	for _, c := range chars[1 : len(chars)-1] {
		sb.WriteRune(c.r)
	}
	return sb.String()
}

// refParse parses in per the standard, with the Reader's limits (0 means the
// default) and seed for the last event ID.
func refParse(in []byte, maxLine, maxEvent int, seed string) outcome {
	if maxLine <= 0 {
		maxLine = sse.DefaultMaxLine
	}
	if maxEvent <= 0 {
		maxEvent = sse.DefaultMaxEvent
	}
	chars := refDecode(in)
	text := chars[:len(chars)-1]

	// Split the characters into lines: CRLF, or a CR not followed by LF, or
	// an LF. A final run of characters without a line end is kept apart:
	// it is never processed (the standard only processes whole lines).
	type line struct {
		start, end int // indexes into chars
		terminated bool
	}
	var lines []line
	start := 0
	for i := 0; i < len(text); i++ {
		switch text[i].r {
		case '\r':
			lines = append(lines, line{start, i, true})
			if i+1 < len(text) && text[i+1].r == '\n' {
				i++
			}
			start = i + 1
		case '\n':
			lines = append(lines, line{start, i, true})
			start = i + 1
		}
	}
	if start < len(text) {
		lines = append(lines, line{start, len(text), false})
	}

	var (
		o                outcome
		data, typ, idBuf = "", "", seed
		lastID           = seed
		pending, setMeta bool
		blockOff         int
		diag             = func(kind string, off int) { o.Diags = append(o.Diags, fmt.Sprintf("%s@%d", kind, off)) }
		dispatch         func()
		limited          bool
		markPending      = func(off int) {
			if !pending {
				pending, blockOff = true, off
			}
		}
	)
	dispatch = func() {
		lastID = idBuf
		pending = false
		if data == "" {
			if setMeta {
				diag("block-without-data", blockOff)
			}
			typ, setMeta = "", false
			return
		}
		ev := sse.Event{Type: typ, Data: strings.TrimSuffix(data, "\n"), ID: lastID}
		if ev.Type == "" {
			ev.Type = "message"
		}
		o.Events = append(o.Events, ev)
		data, typ, setMeta = "", "", false
	}
	for _, l := range lines {
		off := chars[l.start].off
		if chars[l.end].off-off > maxLine {
			o.End = fmt.Sprintf("limit:line@%d", off)
			limited = true
			break
		}
		var sb strings.Builder
		for _, c := range chars[l.start:l.end] {
			sb.WriteRune(c.r)
		}
		s := sb.String()
		if !l.terminated {
			if !strings.HasPrefix(s, ":") {
				markPending(off)
			}
			break
		}
		for _, c := range chars[l.start:l.end] {
			if c.invalid {
				diag("invalid-utf8", c.off)
				break
			}
		}
		for _, c := range chars[l.start:l.end] {
			if c.r == 0xFEFF {
				diag("bom-not-at-start", c.off)
				break
			}
		}
		if s == "" {
			dispatch()
			continue
		}
		if s[0] == ':' {
			o.Comments = append(o.Comments, s[1:])
			continue
		}
		markPending(off)
		name, value, found := strings.Cut(s, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "event":
			typ, setMeta = value, true
		case "data":
			if len(data)+len(value)+1 > maxEvent {
				o.End = fmt.Sprintf("limit:event@%d", off)
				limited = true
			}
			data += value + "\n"
		case "id":
			if strings.ContainsRune(value, 0) {
				diag("nul-in-id", off)
				continue
			}
			idBuf, setMeta = value, true
		case "retry":
			if value == "" || strings.Trim(value, "0123456789") != "" {
				diag("bad-retry", off)
				continue
			}
			o.Retries = append(o.Retries, refRetry(value))
		default:
			diag("unknown-field", off)
		}
		if limited {
			break
		}
	}
	if !limited {
		if pending {
			diag("eof-mid-event", blockOff)
			o.End = fmt.Sprintf("eof-mid-event@%d", blockOff)
		} else {
			o.End = "eof"
		}
	}
	o.LastID = lastID
	return o
}

// refRetry reads a string of ASCII digits as milliseconds, saturating at the
// largest whole number of milliseconds a Duration holds.
func refRetry(digits string) time.Duration {
	const maxMS = int64(1<<63-1) / int64(time.Millisecond)
	ms := int64(0)
	for _, c := range digits {
		ms = min(ms*10+int64(c-'0'), maxMS+1) // ms*10 cannot overflow: ms <= maxMS+1
	}
	return time.Duration(min(ms, maxMS)) * time.Millisecond
}
