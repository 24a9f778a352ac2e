package sse

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// SWAR ("SIMD within a register") constants: a byte's LF test on eight
// bytes at once.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
	swarLFs   = 0x0a0a0a0a0a0a0a0a
)

// scan is NextView's fast path: it processes the lines of buf[r:clean],
// bytes known to hold no CR and to be valid UTF-8, so that a line is the
// bytes up to the next LF and needs no decoding: empty lines inline,
// short ones and data in scanShort, the others in scanLine, with r and the
// offset kept in locals. A line may also end at the CR that bounds clean.
// It stops at the first line it cannot take (one not known to be clean,
// one over MaxLine: readLine's checks decide those). ok is true when it
// consumed the empty line of a block that has data: the caller dispatches
// the event.
func (rd *Reader) scan() (ok bool, err error) {
	// buf and clean are kept in locals (nothing here moves the bytes);
	// clean is reloaded where extendClean moves it.
	buf, clean, r := rd.buf, rd.clean, rd.r
	base := rd.off - int64(r) // the stream offset of buf[0]
	for {
		if r >= clean {
			if !rd.extendClean(r) {
				break
			}
			clean = rd.clean
		}
		if buf[r] == '\n' {
			// An empty line: it ends every other line of a typical
			// stream, and takes no search.
			r++
			if rd.hasData {
				rd.r, rd.off = r, base+int64(r)
				return true, nil
			}
			rd.endBlock()
			continue
		}
		// Most other lines of a typical stream are short, or data:
		// scanShort takes them and returns at the first line it cannot
		// (or at a dispatch).
		if r2, ok := rd.scanShort(r, base); r2 != r || ok {
			r = r2
			if ok {
				rd.r, rd.off = r, base+int64(r)
				return true, nil
			}
			continue
		}
		r2, more, err := rd.scanLine(r, clean, base)
		if err != nil {
			return false, err
		}
		if !more {
			break
		}
		r = r2
	}
	rd.r, rd.off = r, base+int64(r)
	return false, nil
}

// scanLine takes the non-empty line at buf[r:] for scan when scanShort
// did not: it returns the offset past it and more true, or more false when
// the line's end is not in the clean bytes or the line is over MaxLine
// (readLine's checks decide those). data, event and id fields are handled
// inline, others by processLine.
func (rd *Reader) scanLine(r, clean int, base int64) (next int, more bool, err error) {
	buf := rd.buf
	b := buf[r:clean]
	i := bytes.IndexByte(b, '\n')
	n := i + 1
	if i < 0 {
		if clean == rd.w || buf[clean] != '\r' || len(b) > rd.opts.MaxLine {
			return r, false, nil // the line's end is not in clean bytes
		}
		i, n = len(b), len(b)+1
		if clean+1 == rd.w {
			rd.skipLF = true // the LF of this CRLF may come next read
		} else if buf[clean+1] == '\n' {
			n++
		}
	} else if i > rd.opts.MaxLine {
		return r, false, nil
	}
	line := b[:i]
	at := r
	r += n
	if line[0] == ':' {
		if rd.opts.OnComment != nil {
			rd.opts.OnComment(line[1:])
		}
		return r, true, nil
	}
	if !rd.pending {
		rd.pending, rd.blockOff, rd.headAt = true, base+int64(at), at
	}
	// The inline cases; the field name is compared as knownField does.
	switch {
	case i >= 5 && string(line[:5]) == "data:" && !rd.hasData && i-5 < rd.opts.MaxEvent:
		v := 5
		if i > 5 && line[5] == ' ' {
			v = 6
		}
		rd.dataAt, rd.dataEnd = at+v, at+i
		rd.dataAlias, rd.hasData = true, true
		return r, true, nil
	case i >= 6 && string(line[:6]) == "event:":
		rd.setType(trimSpace(line[6:]))
		return r, true, nil
	case i >= 3 && string(line[:3]) == "id:":
		if v := trimSpace(line[3:]); !hasNUL(v) {
			rd.idBuf = copyShort(rd.idBuf, v)
			rd.idSet, rd.setMeta = true, true
			return r, true, nil
		}
	}
	rd.r, rd.off, rd.lineAt = r, base+int64(r), at
	if err := rd.processLine(line, base+int64(at)); err != nil {
		return r, false, err
	}
	return r, true, nil
}

// The field names scanShort compares a line's first 8 bytes with (little
// endian), and the masks that keep a name's length of them.
const (
	wordData  = 0x3a61746164   // "data:"
	wordEvent = 0x3a746e657665 // "event:"
	wordID    = 0x3a6469       // "id:"
	mask3     = 1<<24 - 1
	mask5     = 1<<40 - 1
	mask6     = 1<<48 - 1
	shortLine = 16 // the longest line scanShort takes, LF included
)

// scanShort is scan's innermost loop, kept free of calls (but one, for a
// long data line) so that its state stays in registers. From buf[r:] it
// takes the clean lines whose LF is among their first shortLine bytes
// (found eight bytes at a time) and that are: the empty line ending a
// block that has data (it returns then, ok true: the caller dispatches), a
// block's first data field, an event field of at most 8 bytes that sets
// the type already buffered, or an id field of at most 8 bytes without
// U+0000; and a block's first data field of any length within the limits. It returns at the first other
// line (r unchanged for it, so that scan takes it by the general code),
// and before any line within shortLine bytes of the buffer's end. base is
// the stream offset of buf[0].
func (rd *Reader) scanShort(r int, base int64) (int, bool) {
	buf, clean := rd.buf, rd.clean
	if !rd.short {
		return r, false // the limits need the general path's checks
	}
	for r < clean && r <= len(buf)-shortLine {
		w := binary.LittleEndian.Uint64(buf[r:])
		if byte(w) == '\n' {
			if !rd.hasData {
				return r, false // endBlock's work
			}
			return r + 1, true
		}
		var i int // the LF's index from r
		x := w ^ swarLFs
		if t := (x - swarOnes) &^ x & swarHighs; t != 0 {
			i = bits.TrailingZeros64(t) >> 3
		} else {
			x = binary.LittleEndian.Uint64(buf[r+8:]) ^ swarLFs
			if t = (x - swarOnes) &^ x & swarHighs; t != 0 {
				i = 8 + bits.TrailingZeros64(t)>>3
			} else {
				// A longer line: taken only when it is the block's first
				// data field (an LLM chunk's JSON), within the limits
				// (MaxLine cannot be passed here while the buffer holds
				// at most MaxLine+2 bytes: readLine takes a line that
				// fills it; checked so that the rule does not rest on
				// that). Others are not searched: the switch would not
				// take them.
				if w&mask5 != wordData || rd.hasData || clean-r <= shortLine {
					return r, false
				}
				k := bytes.IndexByte(buf[r+shortLine:clean], '\n')
				if k < 0 {
					return r, false
				}
				if i = shortLine + k; i > rd.opts.MaxLine || i-5 >= rd.opts.MaxEvent {
					return r, false
				}
			}
		}
		if i >= clean-r {
			return r, false // the LF is past the clean bytes
		}
		// A matched name holds no LF, so the line is at least as long,
		// and the byte after it is the line's (the LF when i is its length).
		switch {
		case w&mask5 == wordData:
			if rd.hasData {
				return r, false
			}
			rd.dataAt, rd.dataEnd = valueAt(w, r, 5), r+i
			rd.dataAlias, rd.hasData = true, true
		case w&mask6 == wordEvent:
			v := valueAt(w, r, 6)
			n, typ := r+i-v, rd.typ
			// v+8 <= r+16: the load from buf[v:] is within buf.
			if n != len(typ) || n > 8 || cap(typ) < 8 || !equal8(buf[v:], typ[:8], n) {
				return r, false // another type (copyType's), or a long one
			}
			rd.typSet, rd.setMeta = true, true
		case w&mask3 == wordID:
			v := valueAt(w, r, 3)
			n, id := r+i-v, rd.idBuf
			if n > 8 || cap(id) < 8 {
				return r, false
			}
			x := binary.LittleEndian.Uint64(buf[v:])
			if hasNUL8(x, n) {
				return r, false // U+0000: the general path ignores the field
			}
			binary.LittleEndian.PutUint64(id[:8], x)
			rd.idBuf = id[:n]
			rd.idSet, rd.setMeta = true, true
		default:
			return r, false
		}
		if !rd.pending {
			rd.pending, rd.blockOff, rd.headAt = true, base+int64(r), r
		}
		r += i + 1
	}
	return r, false
}

// valueAt returns the offset of the value of the field whose name (colon
// included) is the first k bytes of w, the line's first 8 bytes (k < 8),
// at r: past the name and the one space that may follow it (rule A4).
func valueAt(w uint64, r, k int) int {
	if byte(w>>(8*uint(k))) == ' ' {
		return r + k + 1
	}
	return r + k
}

// lowBytes is the mask of the low n bytes of a little-endian word (n <= 8).
func lowBytes(n int) uint64 { return 1<<(8*uint(n)) - 1 }

// equal8 reports whether the first n (<= 8) bytes of a and b, which both
// hold at least 8, are equal: one 8-byte load each, the bytes past n
// masked out.
func equal8(a, b []byte, n int) bool {
	return (binary.LittleEndian.Uint64(a)^binary.LittleEndian.Uint64(b))&lowBytes(n) == 0
}

// hasNUL8 reports whether the low n (<= 8) bytes of x hold a zero byte.
// The zero-byte test flags a byte only when some byte at or below it is
// zero, so the bytes past n, masked out, cannot make it true.
func hasNUL8(x uint64, n int) bool { return (x-swarOnes)&^x&swarHighs&lowBytes(n) != 0 }

// hasNUL reports whether an id value holds U+0000.
func hasNUL(v []byte) bool { return bytes.IndexByte(v, 0) >= 0 }

// EqualShort is bytes.Equal, small enough to inline, for the short byte
// strings a Reader hands out (View's Type and ID: their arrays hold at
// least 8 bytes from their start): two of at most 8 bytes whose arrays
// hold 8 are compared in one 8-byte load each, the bytes past them masked
// out; others as bytes.Equal does.
func EqualShort(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) <= 8 && cap(a) >= 8 && cap(b) >= 8 {
		return equal8(a[:8], b[:8], len(a))
	}
	return string(a) == string(b)
}

// copyShort returns append(dst[:0], v...), for a v of at most 8 bytes
// whose array holds 8 from its start and a dst with room for 8 in one
// 8-byte load and store (the bytes past v land past the result's length,
// in dst's own array), instead of a call.
func copyShort(dst, v []byte) []byte {
	if len(v) <= 8 && cap(v) >= 8 && cap(dst) >= 8 {
		binary.LittleEndian.PutUint64(dst[:8], binary.LittleEndian.Uint64(v[:8]))
		return dst[:len(v)]
	}
	return append(dst[:0], v...)
}

// trimSpace removes the one leading space a field value may have (rule A4
// of the package doc).
func trimSpace(v []byte) []byte {
	if len(v) > 0 && v[0] == ' ' {
		return v[1:]
	}
	return v
}

// extendClean moves clean past r, as far as the buffered bytes are known
// to hold no CR and to be valid UTF-8, when the fast path may run: the
// stream's start is past (BOM), no LF is to be skipped, and no diagnostics
// are wanted (they need the general path's checks on every line). It
// reports whether clean now lies past r.
func (rd *Reader) extendClean(r int) bool {
	if r >= rd.w || rd.skipLF || !rd.started || rd.opts.OnDiagnostic != nil {
		return false
	}
	end := rd.nextCR(r)
	if end < 0 {
		end = rd.w
	}
	rd.validUTF8(r, end)
	rd.clean = min(end, rd.validTo)
	return rd.clean > r
}
