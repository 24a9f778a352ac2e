package swarm

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"sync"
)

// The direct path's chunked body. net/http reads a chunked body through
// its bufio.Reader: every socket read lands in that buffer and is copied
// again, framing removed, into the caller's (the SSE reader's) buffer,
// through a mutex and three layers of calls per read. chunkedBody reads
// the socket straight into the caller's buffer and removes the chunk
// framing in place, so the SSE reader's buffer is the only read buffer a
// streaming connection holds: the connection's bufio.Reader serves the
// response head, hands over the body bytes it read ahead, and goes back to
// a pool until the next request on the connection.
//
// The framing is parsed as net/http parses it (RFC 9112 section 7.1):
// hex chunk sizes (at most 16 digits), extensions and whitespace after
// them skipped, a framing line of at most maxChunkLine bytes, CRLF after
// each chunk's data, a trailer section (skipped, at most maxHeaderBytes)
// after the last chunk. A body cut before its last chunk ends with
// io.ErrUnexpectedEOF; a malformed one with an error naming what is wrong.

// directBodyBuffer is the SSE reader's initial buffer on a direct body
// (chunked or not; unless Options.BufferSize sets one): it is also the size
// of the socket reads, the size net/http's own reader uses.
const directBodyBuffer = 4 << 10

// isChunked reports whether resp's body is chunked (the only transfer
// coding http.ReadResponse accepts).
func isChunked(resp *http.Response) bool {
	return len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
}

// maxChunkLine bounds a chunk-size line (extensions included), as
// net/http's 4 KiB does.
const maxChunkLine = 4 << 10

var (
	errChunkSize    = errors.New("malformed chunked encoding: invalid byte in chunk length")
	errChunkCRLF    = errors.New("malformed chunked encoding: no CRLF after the chunk data")
	errChunkLine    = errors.New("malformed chunked encoding: chunk-size line over 4 KiB")
	errChunkTrailer = errors.New("malformed chunked encoding: trailer section over 1 MiB")
)

// Parser states of chunkedBody.
const (
	ckSize        uint8 = iota // chunk-size hex digits
	ckSizeRest                 // extensions, whitespace, up to the LF
	ckData                     // chunk data (left bytes)
	ckDataCR                   // the CR after the data
	ckDataLF                   // the LF after the data
	ckTrailer                  // the start of a trailer line, or the final CRLF
	ckTrailerLine              // inside a trailer field line
	ckTrailerLF                // the LF of the final CRLF
	ckDone                     // the body ended
)

// chunkedBody is a chunked response body read on the direct path.
type chunkedBody struct {
	c       *rawConn
	state   uint8
	digits  uint8
	left    uint64 // data bytes left in the chunk (ckData), or the size being parsed (ckSize)
	line    int    // bytes of the framing line so far
	trailer int    // bytes of the trailer section so far
	err     error  // sticky
	extra   bool   // bytes followed the body's end: the connection is not reusable
}

// newChunkedBody returns the body of the response just read on c.
func newChunkedBody(c *rawConn) *chunkedBody { return &chunkedBody{c: c} }

// reusable reports whether the body was read to its end and nothing
// followed it.
func (b *chunkedBody) reusable() bool { return b.state == ckDone && !b.extra }

// Read reads raw bytes into p (first what the head's reader read ahead,
// then from the connection) and returns the body bytes among them, moved
// to the front of p.
func (b *chunkedBody) Read(p []byte) (int, error) {
	// Reads that bring framing only are bounded by the framing limits;
	// reads that bring nothing, by this count.
	for empty := 0; empty < 100; {
		if b.err != nil || len(p) == 0 {
			return 0, b.err
		}
		n, err := b.readRaw(p)
		if n == 0 {
			empty++
		}
		m, ferr := b.unframe(p[:n])
		if ferr != nil {
			b.err = ferr
			return m, ferr
		}
		if b.state == ckDone {
			b.err = io.EOF
			return m, io.EOF
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			b.err = err
			return m, err
		}
		if m > 0 {
			return m, nil
		}
	}
	b.err = io.ErrNoProgress
	return 0, b.err
}

// readRaw reads from the head's reader while it holds bytes, then from the
// connection.
func (b *chunkedBody) readRaw(p []byte) (int, error) { return b.c.readRaw(p) }

// readRaw reads from the head's reader while it holds bytes, then from the
// connection; the head's reader goes back to its pool once drained.
func (c *rawConn) readRaw(p []byte) (int, error) {
	if c.br != nil && c.br.Buffered() > 0 {
		n, err := c.br.Read(p) // buffered bytes only: no socket read
		c.putReader()          // if now drained
		return n, err
	}
	c.putReader()
	return c.c.Read(p)
}

// plainBody is a direct response body that is not chunked: Content-Length
// bytes, or (no Content-Length) everything up to the connection's close.
// Like chunkedBody, it reads the socket straight into the caller's buffer
// after the bytes the head's reader read ahead, which net/http's body
// would copy through that reader's 2 KiB buffer, a socket read per 2 KiB.
// A body cut before its Content-Length ends with io.ErrUnexpectedEOF, as
// net/http's does.
type plainBody struct {
	c    *rawConn
	left int64 // bytes left (-1: up to the close)
	err  error // sticky
}

// newPlainBody returns the body of resp, just read on c: resp.ContentLength
// bytes (-1: up to the close).
func newPlainBody(c *rawConn, resp *http.Response) *plainBody {
	pb := &plainBody{c: c, left: resp.ContentLength}
	if pb.left == 0 {
		pb.err = io.EOF
	}
	return pb
}

// reusable reports whether the body was read to its Content-Length.
func (b *plainBody) reusable() bool { return b.left == 0 }

func (b *plainBody) Read(p []byte) (int, error) {
	if b.err != nil || len(p) == 0 {
		return 0, b.err
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.c.readRaw(p)
	if b.left > 0 {
		b.left -= int64(n)
		switch {
		case b.left == 0:
			err = io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// unframe removes the framing from the raw bytes in p, in place, and
// returns the number of body bytes now at the front of p.
func (b *chunkedBody) unframe(p []byte) (int, error) {
	out := 0
	for i := 0; i < len(p); {
		if b.state == ckData {
			k := len(p) - i
			if uint64(k) > b.left {
				k = int(b.left)
			}
			out += copy(p[out:], p[i:i+k])
			i += k
			if b.left -= uint64(k); b.left == 0 {
				b.state = ckDataCR
			}
			continue
		}
		if b.state == ckDone {
			b.extra = true
			return out, nil
		}
		if k := b.fastFraming(p[i:]); k > 0 {
			i += k
			continue
		}
		if err := b.framing(p[i]); err != nil {
			return out, err
		}
		i++
	}
	return out, nil
}

// fastFraming consumes, when p starts with one whole, the common framing
// between two chunks' data at once: the CRLF after a chunk's data, and a
// chunk-size line of hex digits and CRLF (no extension) for a chunk that
// is not the last. It returns the bytes consumed (0: none; framing then
// parses p byte by byte, as it does every other case).
func (b *chunkedBody) fastFraming(p []byte) int {
	i := 0
	if b.state == ckDataCR {
		if len(p) < 2 || p[0] != '\r' || p[1] != '\n' {
			return 0
		}
		b.state, i = ckSize, 2
	}
	if b.state != ckSize || b.line != 0 {
		return i
	}
	var size uint64
	j := i
	for ; j < len(p) && j-i < 16; j++ {
		v, ok := hexVal(p[j])
		if !ok {
			break
		}
		size = size<<4 | uint64(v)
	}
	if j == i || size == 0 || j+1 >= len(p) || p[j] != '\r' || p[j+1] != '\n' {
		return i // not the common case: byte by byte from here
	}
	b.left, b.state = size, ckData
	return j + 2
}

// framing advances the parser by one byte outside chunk data.
func (b *chunkedBody) framing(c byte) error {
	switch b.state {
	case ckSize, ckSizeRest:
		if b.line++; b.line > maxChunkLine {
			return errChunkLine
		}
		if c == '\n' {
			if b.digits == 0 {
				return errChunkSize
			}
			b.line, b.digits = 0, 0
			if b.left == 0 {
				b.state = ckTrailer
			} else {
				b.state = ckData
			}
			return nil
		}
		if b.state == ckSizeRest {
			return nil
		}
		if v, ok := hexVal(c); ok {
			if b.digits == 16 {
				return errChunkSize
			}
			b.left = b.left<<4 | uint64(v)
			b.digits++
			return nil
		}
		if b.digits == 0 || (c != ';' && c != ' ' && c != '\t' && c != '\r') {
			return errChunkSize
		}
		b.state = ckSizeRest
	case ckDataCR:
		if c != '\r' {
			return errChunkCRLF
		}
		b.state = ckDataLF
	case ckDataLF:
		if c != '\n' {
			return errChunkCRLF
		}
		b.state = ckSize
	default:
		return b.trailerByte(c)
	}
	return nil
}

// trailerByte advances the parser by one byte of the trailer section.
func (b *chunkedBody) trailerByte(c byte) error {
	if b.trailer++; b.trailer > maxHeaderBytes {
		return errChunkTrailer
	}
	switch b.state {
	case ckTrailer:
		switch c {
		case '\r':
			b.state = ckTrailerLF
		case '\n':
			b.state = ckDone
		default:
			b.state = ckTrailerLine
		}
	case ckTrailerLine:
		if c == '\n' {
			b.state = ckTrailer
		}
	case ckTrailerLF:
		if c != '\n' {
			return errChunkCRLF
		}
		b.state = ckDone
	}
	return nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// readerPool holds the direct connections' head readers between
// responses: a streaming connection holds none while its body is read.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, directReadBuffer) }}

// getReader gives c a head reader for the next response, if it has none.
func (c *rawConn) getReader() {
	if c.br == nil {
		c.br = readerPool.Get().(*bufio.Reader)
		c.br.Reset(c)
	}
}

// putReader returns c's head reader, once empty, to the pool.
func (c *rawConn) putReader() {
	if c.br != nil && c.br.Buffered() == 0 {
		c.dropReader()
	}
}

// dropReader returns c's head reader to the pool, discarding what it
// holds (one of another size, which only a test makes, is not pooled).
func (c *rawConn) dropReader() {
	c.br.Reset(nil)
	if c.br.Size() == directReadBuffer {
		readerPool.Put(c.br)
	}
	c.br = nil
}
