package sse

// The pending block's head: the first bytes (at most maxHead) of the field
// lines of the block being parsed, each followed by a LF, comments left
// out, which EOFMidEventError reports when the stream ends inside the
// block. Most blocks are dispatched, and their head is never looked at, so
// a field line read straight from the read buffer is not copied when it is
// processed: where it lies is noted (headRefs), and its bytes are copied
// into blockHead only when they are about to move (fill) or be reported,
// or when more than len(headRefs) lines wait.

// maxHead bounds the head of a pending block, in bytes.
const maxHead = 256

// headRef is a field line of the pending block not yet copied into
// blockHead: buf[at:at+n].
type headRef struct{ at, n int32 }

// addHead adds a field line (the line being processed) to the head.
func (rd *Reader) addHead(line []byte) {
	if rd.headLen >= maxHead {
		return
	}
	n := min(maxHead-rd.headLen, len(line)+1) // the line's bytes and its LF
	rd.headLen += n
	if rd.lineAt >= 0 && rd.nRefs < len(rd.headRefs) {
		rd.headRefs[rd.nRefs] = headRef{at: int32(rd.lineAt), n: int32(n - 1)}
		rd.nRefs++
		return
	}
	rd.copyHead()
	rd.blockHead = append(rd.blockHead, line[:n-1]...)
	rd.blockHead = append(rd.blockHead, '\n')
}

// copyHead copies the noted lines into blockHead.
func (rd *Reader) copyHead() {
	for _, r := range rd.headRefs[:rd.nRefs] {
		rd.blockHead = append(rd.blockHead, rd.buf[r.at:r.at+r.n]...)
		rd.blockHead = append(rd.blockHead, '\n')
	}
	rd.nRefs = 0
}

// resetHead empties the head (the block ended).
func (rd *Reader) resetHead() {
	rd.blockHead = rd.blockHead[:0]
	rd.nRefs, rd.headLen = 0, 0
}
