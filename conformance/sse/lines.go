package sse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"unicode/utf8"
)

// readLine returns the next line without its line ending, decoded from
// UTF-8 as the Encoding Standard's decoder does, and its raw stream offset.
// The slice is valid until the next call. A line ends at CRLF, at a CR not
// followed by LF, or at an LF (rule A2 of the package doc); a CR that ends a read ends
// its line at once, and an LF at the start of the next read is then skipped.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
func (rd *Reader) readLine() ([]byte, int64, error) {
	if !rd.started {
		rd.stripBOM()
	}
	scanned := 0 // bytes of buf[r:w] already known to hold no line ending
	for {
		if rd.skipLF && rd.r < rd.w {
			rd.skipLF = false
			if rd.buf[rd.r] == '\n' {
				rd.r++
				rd.off++
			}
		}
		if rd.r < rd.w && !rd.skipLF {
			i := rd.indexEOL(rd.r + scanned)
			if i >= 0 {
				i -= rd.r
				line := rd.buf[rd.r : rd.r+i]
				if len(line) > rd.opts.MaxLine {
					return nil, rd.off, &LimitError{What: "line", Limit: rd.opts.MaxLine, Offset: rd.off}
				}
				off := rd.off
				n := i + 1
				if rd.buf[rd.r+i] == '\r' {
					// CRLF is one line end, even across reads: skip an LF
					// that follows, now or at the next read. The line is
					// dispatched without waiting for that byte.
					if rd.r+n < rd.w {
						if rd.buf[rd.r+n] == '\n' {
							n++
						}
					} else {
						rd.skipLF = true
					}
				}
				start := rd.r
				rd.r += n
				rd.off += int64(n)
				rd.lineAt = start
				if rd.opts.OnDiagnostic == nil && rd.validUTF8(start, start+i) {
					return line, off, nil
				}
				return rd.decode(line, off), off, nil
			}
			scanned = rd.w - rd.r
			if scanned > rd.opts.MaxLine {
				return nil, rd.off, &LimitError{What: "line", Limit: rd.opts.MaxLine, Offset: rd.off}
			}
		}
		if rd.srcErr != nil {
			err := rd.srcErr
			if rd.r < rd.w {
				// An unterminated final line is never processed (it has no
				// line ending); it still counts as a pending event unless it
				// is a comment.
				// Its raw bytes end the head (see head.go).
				line := rd.buf[rd.r:rd.w]
				if line[0] != ':' {
					if !rd.pending {
						rd.pending = true
						rd.blockOff = rd.off
						rd.headAt = rd.r
					}
					rd.copyHead()
					n := min(len(line), maxHead-rd.headLen)
					rd.blockHead = append(rd.blockHead, line[:n]...)
					rd.headLen += n
				}
				rd.off += int64(len(line))
				rd.r = rd.w
				rd.headAt = rd.w // the line is in the head
			}
			return nil, rd.off, err
		}
		if err := rd.fill(); err != nil {
			rd.srcErr = err
		}
	}
}

// indexEOL returns the index in buf of the first CR or LF in buf[p:w], or
// -1. The LF search stops at the next CR, so it never runs past the line
// either (a stream that ends its lines with CR only has no LF to stop it).
func (rd *Reader) indexEOL(p int) int {
	cr := rd.nextCR(p)
	end := rd.w
	if cr >= 0 {
		end = cr
	}
	if i := bytes.IndexByte(rd.buf[p:end], '\n'); i >= 0 {
		return p + i
	}
	return cr
}

// nextCR returns the index in buf of the first CR in buf[p:w], or -1,
// searching only what the cache does not already know.
func (rd *Reader) nextCR(p int) int {
	switch {
	case rd.crAt >= p && p >= rd.crFrom:
		return rd.crAt
	case rd.crAt < 0 && p >= rd.crFrom && p <= rd.crTo:
		if rd.crTo < rd.w {
			if i := bytes.IndexByte(rd.buf[rd.crTo:rd.w], '\r'); i >= 0 {
				rd.crAt = rd.crTo + i
			}
			rd.crTo = rd.w
		}
		return rd.crAt
	default:
		rd.crAt, rd.crFrom, rd.crTo = -1, p, rd.w
		if i := bytes.IndexByte(rd.buf[p:rd.w], '\r'); i >= 0 {
			rd.crAt = p + i
		}
		return rd.crAt
	}
}

// fill reads more bytes into the buffer, compacting or growing it first.
func (rd *Reader) fill() error {
	if rd.dataAlias {
		rd.unalias() // its bytes are about to move
	}
	rd.copyHead() // likewise
	if rd.r > 0 {
		n := copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.w = n
		rd.r = 0
		rd.headAt = 0
		rd.crAt, rd.crFrom, rd.crTo = -1, 0, 0 // indexes moved: forget
		rd.validFrom, rd.validTo = 0, 0
		rd.clean = 0
	}
	if len(rd.buf) > RetainMax && rd.w < rd.size0 {
		// The long line that grew the buffer is done: release it.
		nb := make([]byte, rd.size0)
		copy(nb, rd.buf[:rd.w])
		rd.buf = nb
	}
	if rd.w == len(rd.buf) {
		if len(rd.buf) >= rd.opts.MaxLine+2 {
			// Cannot happen: readLine reports the limit before the buffer
			// is full of one line.
			return &LimitError{What: "line", Limit: rd.opts.MaxLine, Offset: rd.off}
		}
		// Double, but jump to the cap when doubling would get close to it:
		// a power-of-two MaxLine would otherwise end with a copy of MaxLine
		// bytes to gain two.
		size := 2 * len(rd.buf)
		if size+size/4 > rd.opts.MaxLine+2 {
			size = rd.opts.MaxLine + 2
		}
		nb := make([]byte, size)
		copy(nb, rd.buf[:rd.w])
		rd.buf = nb
	}
	for range 100 {
		n, err := rd.src.Read(rd.buf[rd.w:])
		if n < 0 || n > len(rd.buf)-rd.w {
			return errors.New("sse: source returned an invalid count")
		}
		rd.w += n
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// stripBOM removes one leading U+FEFF at the very start of the stream
// (rule A1 of the package doc), as the Encoding Standard's "UTF-8 decode" does. It waits
// for up to three bytes to decide, and only while they can still be a BOM.
// https://encoding.spec.whatwg.org/#utf-8-decode
func (rd *Reader) stripBOM() {
	for rd.w-rd.r < 3 && rd.srcErr == nil {
		if !bytes.HasPrefix(bom, rd.buf[rd.r:rd.w]) {
			break
		}
		if err := rd.fill(); err != nil {
			rd.srcErr = err
		}
	}
	rd.started = true
	if bytes.HasPrefix(rd.buf[rd.r:rd.w], bom) {
		rd.r += 3
		rd.off += 3
	}
}

// validUTF8 reports whether buf[from:to] is valid UTF-8, extending what
// the cache knows by scanning on through the buffered bytes: ASCII 32
// bytes at a time, other characters one at a time, up to the first byte
// that does not start a whole valid character (invalid, or cut by the end
// of the buffered bytes).
func (rd *Reader) validUTF8(from, to int) bool {
	if from < rd.validFrom || from > rd.validTo {
		rd.validFrom, rd.validTo = from, from
	}
	if to <= rd.validTo {
		return true
	}
	const high = 0x8080808080808080
	b, i := rd.buf[:rd.w], rd.validTo
	for i < len(b) {
		// An index, not a shrinking slice, and an array pointer per
		// 64 bytes: no bounds checks left in the loop.
		for ; i+64 <= len(b); i += 64 {
			p := (*[64]byte)(b[i : i+64])
			x := binary.LittleEndian.Uint64(p[0:]) | binary.LittleEndian.Uint64(p[8:]) |
				binary.LittleEndian.Uint64(p[16:]) | binary.LittleEndian.Uint64(p[24:]) |
				binary.LittleEndian.Uint64(p[32:]) | binary.LittleEndian.Uint64(p[40:]) |
				binary.LittleEndian.Uint64(p[48:]) | binary.LittleEndian.Uint64(p[56:])
			if x&high != 0 {
				break
			}
		}
		for ; i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&high == 0; i += 8 {
		}
		for ; i < len(b) && b[i] < utf8.RuneSelf; i++ {
		}
		if i == len(b) {
			break
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	rd.validTo = i
	return to <= rd.validTo
}
