package sse

import (
	"bytes"
	"unicode/utf8"
)

// decode returns line decoded as UTF-8 the way the Encoding Standard's UTF-8
// decoder does: each maximal invalid subpart becomes one U+FFFD. Valid input
// (the common case) is returned as it is, without copying.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
// ("Streams must be decoded using the UTF-8 decode algorithm.")
//
// Decoding line by line gives the same characters as decoding the whole
// stream: CR and LF are ASCII, and the decoder never folds an ASCII byte into
// a replacement (it ends the invalid subpart before it), so line ends are
// found identically in bytes and in characters. For the same reason a raw
// EF BB BF always decodes to U+FEFF, which lets DiagBOM point at raw bytes.
func (rd *Reader) decode(line []byte, off int64) []byte {
	valid := utf8.Valid(line)
	if rd.opts.OnDiagnostic != nil {
		if !valid {
			rd.diag(DiagInvalidUTF8, off+int64(FirstInvalidUTF8(line)), line)
		}
		if i := bytes.Index(line, bom); i >= 0 {
			rd.diag(DiagBOM, off+int64(i), line)
		}
	}
	if valid {
		return line
	}
	rd.utf8buf = AppendDecodeUTF8(rd.utf8buf[:0], line)
	rd.lineAt = -1 // the line is in utf8buf
	return rd.utf8buf
}

// FirstInvalidUTF8 returns the offset of the first byte of b that is not
// part of a valid UTF-8 sequence (len(b) when b is valid): where the
// decoder's first U+FFFD comes from, for a diagnostic's position.
func FirstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// AppendDecodeUTF8 appends src to dst decoded as UTF-8 by the Encoding
// Standard's decoder (https://encoding.spec.whatwg.org/#utf-8-decoder): a
// maximal invalid subpart becomes one U+FFFD, so "\xe4\xbd" (truncated)
// gives one replacement character and "\xf0\x80\x80" gives three. src must
// be complete: a truncated sequence at its end is replaced too.
func AppendDecodeUTF8(dst, src []byte) []byte {
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(src); i++ {
		b := src[i]
		if needed == 0 {
			switch {
			case b < 0x80:
				dst = append(dst, b)
			case b >= 0xC2 && b <= 0xDF:
				needed, cp = 1, rune(b&0x1F)
			case b >= 0xE0 && b <= 0xEF:
				if b == 0xE0 {
					lower = 0xA0
				} else if b == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(b&0x0F)
			case b >= 0xF0 && b <= 0xF4:
				if b == 0xF0 {
					lower = 0x90
				} else if b == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(b&0x07)
			default:
				dst = utf8.AppendRune(dst, utf8.RuneError)
			}
			continue
		}
		if b < lower || b > upper {
			// The subpart ends before b: one U+FFFD, then b is processed
			// afresh ("prepend byte to stream").
			needed, seen, cp = 0, 0, 0
			lower, upper = 0x80, 0xBF
			dst = utf8.AppendRune(dst, utf8.RuneError)
			i--
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(b&0x3F)
		seen++
		if seen == needed {
			dst = utf8.AppendRune(dst, cp)
			needed, seen, cp = 0, 0, 0
		}
	}
	if needed != 0 {
		dst = utf8.AppendRune(dst, utf8.RuneError)
	}
	return dst
}
