package sse

import (
	"bytes"
	"unicode/utf8"
)

// The pending block's head: the first bytes (at most maxHead) of the field
// lines of the block being parsed, each followed by a LF, comments left
// out, which EOFMidEventError reports when the stream ends inside the
// block. Most blocks are dispatched, and their head is never looked at, so
// nothing is done for it per line: headAt notes where in the read buffer
// the block's lines not yet in blockHead begin, and copyHead rebuilds them
// from the raw bytes only when they are about to move (fill) or be
// reported. The bytes between headAt and r are whole lines that have been
// processed; those of the block are the only ones that are neither empty
// (an empty line ends the block) nor comments.

// maxHead bounds the head of a pending block, in bytes.
const maxHead = 256

// copyHead appends the lines of buf[headAt:r] to blockHead, as the lines
// were processed: split at CRLF, CR or LF, comments and empty lines (an LF
// that completed a CRLF across reads) left out, and decoded.
func (rd *Reader) copyHead() {
	at, end := rd.headAt, rd.r
	rd.headAt = end
	if !rd.pending {
		return
	}
	for at < end && rd.headLen < maxHead {
		b := rd.buf[at:end]
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			i = len(b) // cannot happen: every line before r has its end
		}
		line := b[:i]
		at += i + 1
		if i < len(b) && b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			at++
		}
		if len(line) == 0 || line[0] == ':' {
			continue
		}
		room := maxHead - rd.headLen
		if !utf8.Valid(line) {
			// Decoding room+3 raw bytes gives at least the first room
			// bytes of the decoded line (only a sequence cut at the end
			// can decode differently, and it is at most 3 bytes long),
			// in a scratch array on the stack, not in blockHead, which
			// would keep the up to 3 times longer result's capacity.
			var tmp [3 * (maxHead + 3)]byte
			line = AppendDecodeUTF8(tmp[:0], line[:min(len(line), room+3)])
		}
		n := min(room, len(line)+1) // the line's bytes and its LF
		rd.blockHead = append(rd.blockHead, line[:n-1]...)
		rd.blockHead = append(rd.blockHead, '\n')
		rd.headLen += n
	}
}

// resetHead empties the head (the block ended).
func (rd *Reader) resetHead() {
	rd.blockHead = rd.blockHead[:0]
	rd.headLen = 0
}
