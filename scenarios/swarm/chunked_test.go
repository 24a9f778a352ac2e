package swarm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// readConn is a net.Conn whose reads come from r (only Read is used).
type readConn struct {
	net.Conn
	r io.Reader
}

func (c readConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// sized returns at most n bytes per Read.
type sized struct {
	r io.Reader
	n int
}

func (s sized) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// decodeChunked reads raw through a chunkedBody: the first ahead bytes from
// a head reader (as if read with the headers), the rest from the
// connection in reads of at most rawN bytes, into a caller's buffer of
// bufN bytes.
func decodeChunked(raw string, ahead, rawN, bufN int) (string, *chunkedBody, error) {
	c := &rawConn{c: readConn{r: sized{strings.NewReader(raw[ahead:]), rawN}}}
	if ahead > 0 {
		c.br = bufio.NewReaderSize(strings.NewReader(raw[:ahead]), 16)
		if _, err := c.br.Peek(ahead); err != nil && ahead <= 16 {
			panic(err)
		}
	}
	cb := newChunkedBody(c)
	var out strings.Builder
	buf := make([]byte, bufN)
	for range 10000 {
		n, err := cb.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out.String(), cb, err
		}
	}
	return out.String(), cb, errors.New("no end")
}

// TestChunkedBodyFraming decodes chunked bodies through every read size
// and caller buffer size, with the head reader holding a prefix or not:
// the body bytes and the end (clean, cut, malformed) must not depend on
// how the bytes were split.
func TestChunkedBodyFraming(t *testing.T) {
	for _, tc := range []struct {
		name, raw, body string
		err             error // nil: a clean end
		extra           bool
	}{
		{name: "simple", raw: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body: "hello world"},
		{name: "hex_case_and_zeros", raw: "00A\r\n0123456789\r\n0b\r\nabcdefghijk\r\n000\r\n\r\n", body: "0123456789abcdefghijk"},
		{name: "extensions_and_whitespace", raw: "3;name=\"v;x\"\r\nabc\r\n2 \t;q\r\nde\r\n0;last\r\n\r\n", body: "abcde"},
		{name: "bare_lf_size_line", raw: "3\nabc\r\n0\n\n", body: "abc"},
		{name: "trailers", raw: "2\r\nhi\r\n0\r\nX-Checksum: 1\r\nX-Other: two\r\n\r\n", body: "hi"},
		{name: "empty", raw: "0\r\n\r\n", body: ""},
		{name: "bytes_after_the_end", raw: "2\r\nhi\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", body: "hi", extra: true},
		{name: "cut_in_data", raw: "5\r\nhel", body: "hel", err: io.ErrUnexpectedEOF},
		{name: "cut_in_size", raw: "5\r\nhello\r\n1", body: "hello", err: io.ErrUnexpectedEOF},
		{name: "cut_before_final_crlf", raw: "5\r\nhello\r\n0\r\n", body: "hello", err: io.ErrUnexpectedEOF},
		{name: "bad_size", raw: "5\r\nhello\r\nzz\r\n", body: "hello", err: errChunkSize},
		{name: "empty_size", raw: "\r\nhello", err: errChunkSize},
		{name: "size_over_16_digits", raw: "10000000000000000\r\n", err: errChunkSize},
		{name: "no_crlf_after_data", raw: "2\r\nhiX\r\n", body: "hi", err: errChunkCRLF},
		{name: "size_line_over_4k", raw: "2;" + strings.Repeat("x", maxChunkLine) + "\r\nhi\r\n0\r\n\r\n", err: errChunkLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ahead := range []int{0, min(5, len(tc.raw))} {
				for _, rawN := range []int{1, 2, 3, 5, 7, 16, 64, len(tc.raw)} {
					for _, bufN := range []int{1, 3, 4096} {
						got, cb, err := decodeChunked(tc.raw, ahead, rawN, bufN)
						if got != tc.body || !errors.Is(err, tc.err) {
							t.Fatalf("ahead %d, reads of %d, buffer %d: %q, %v; want %q, %v", ahead, rawN, bufN, got, err, tc.body, tc.err)
						}
						// Stray bytes are seen when they come in the read
						// that ends the body (later ones, when the
						// connection is taken for its next request).
						seen := !tc.extra || ahead == 0 && rawN == len(tc.raw) && bufN == 4096
						if tc.err == nil && seen && cb.reusable() == tc.extra {
							t.Fatalf("ahead %d, reads of %d, buffer %d: reusable %v, want %v", ahead, rawN, bufN, cb.reusable(), !tc.extra)
						}
						if cb.c.br != nil && !tc.extra && tc.err == nil {
							t.Fatalf("ahead %d: the head reader was not handed back", ahead)
						}
					}
				}
			}
		})
	}
}

// TestPlainBody reads Content-Length bodies, and one that ends at the
// close, through every read size and caller buffer size, with the head
// reader holding a prefix or not: the body bytes, the end and whether the
// connection can be reused must not depend on how the bytes were split,
// and no byte past the Content-Length is read.
func TestPlainBody(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		length    int64 // -1: up to the close
		body      string
		err       error // nil: a clean end
	}{
		{name: "exact", raw: "data: a\n\ndata: b\n\n", length: 18, body: "data: a\n\ndata: b\n\n"},
		{name: "next_response_follows", raw: "data: a\n\nHTTP/1.1 200 OK\r\n", length: 9, body: "data: a\n\n"},
		{name: "empty", raw: "", length: 0, body: ""},
		{name: "cut", raw: "data: a\n\nda", length: 100, body: "data: a\n\nda", err: io.ErrUnexpectedEOF},
		{name: "up_to_the_close", raw: "data: a\n\ndata: b\n\n", length: -1, body: "data: a\n\ndata: b\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ahead := range []int{0, min(5, len(tc.raw))} {
				for _, rawN := range []int{1, 3, 7, 4096} {
					for _, bufN := range []int{1, 4, 4096} {
						rest := strings.NewReader(tc.raw[ahead:])
						c := &rawConn{c: readConn{r: sized{rest, rawN}}}
						if ahead > 0 {
							c.br = bufio.NewReaderSize(strings.NewReader(tc.raw[:ahead]), 16)
							if _, err := c.br.Peek(ahead); err != nil {
								t.Fatal(err)
							}
						}
						pb := newPlainBody(c, &http.Response{ContentLength: tc.length})
						got, err := readAllBy(pb, bufN)
						where := fmt.Sprintf("ahead %d, reads of %d, buffer %d", ahead, rawN, bufN)
						if got != tc.body || !errors.Is(err, tc.err) {
							t.Fatalf("%s: %q, %v; want %q, %v", where, got, err, tc.body, tc.err)
						}
						if want := tc.length >= 0 && tc.err == nil; pb.reusable() != want {
							t.Fatalf("%s: reusable %v, want %v", where, pb.reusable(), want)
						}
						if tc.length >= 0 && tc.err == nil {
							if left := len(tc.raw) - int(tc.length); rest.Len() != left {
								t.Fatalf("%s: %d bytes left unread, want %d", where, rest.Len(), left)
							}
						}
					}
				}
			}
		})
	}
}

// readAllBy reads r to its end in reads of at most n bytes; io.EOF is a
// clean end (nil).
func readAllBy(r io.Reader, n int) (string, error) {
	var out strings.Builder
	buf := make([]byte, n)
	for range 100000 {
		k, err := r.Read(buf)
		out.Write(buf[:k])
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out.String(), err
		}
	}
	return out.String(), errors.New("no end")
}

// TestChunkedBodyTrailerBound: an endless trailer section fails the body
// instead of being read forever.
func TestChunkedBodyTrailerBound(t *testing.T) {
	line := "X-Pad: " + strings.Repeat("x", 1000) + "\r\n"
	raw := "2\r\nhi\r\n0\r\n" + strings.Repeat(line, maxHeaderBytes/len(line)+2)
	got, _, err := decodeChunked(raw, 0, 4096, 4096)
	if got != "hi" || !errors.Is(err, errChunkTrailer) {
		t.Fatalf("%q, %v; want %q, %v", got, err, "hi", errChunkTrailer)
	}
}

// TestDirectBodyReuse: on the direct path a chunked body with extensions
// and trailers, and a Content-Length body, end cleanly and their
// connection serves the next stream; one followed by stray bytes ends
// cleanly too, but its connection is closed, as is one that ends at the
// close; a malformed chunked body fails the attempt as a reset, naming the
// framing.
func TestDirectBodyReuse(t *testing.T) {
	const ev = "event: add\ndata: a\n\nevent: finish\ndata: {}\n\n"
	const chunked = "Transfer-Encoding: chunked\r\n\r\n"
	length := "Content-Length: " + strconv.Itoa(len(ev)) + "\r\n\r\n"
	for _, tc := range []struct {
		name   string
		tail   string
		class  scenarios.ErrorClass
		detail string
		dials1 bool // every stream dials (no reuse)
	}{
		{name: "extensions_trailers", tail: chunked + "4;x=1\r\n" + ev[:4] + "\r\n" + chunk(ev[4:]) + "0;end\r\nX-T: 1\r\n\r\n"},
		{name: "stray_bytes", tail: chunked + chunk(ev) + "0\r\n\r\nSTRAY", dials1: true},
		{name: "malformed", tail: chunked + chunk(ev[:20]) + "zz\r\n", class: scenarios.ErrReset, detail: "invalid byte in chunk length", dials1: true},
		{name: "content_length", tail: length + ev},
		{name: "content_length_stray_bytes", tail: length + ev + "STRAY", dials1: true},
		{name: "up_to_the_close", tail: "Connection: close\r\n\r\n" + ev, dials1: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := serveRaw(t, func(c net.Conn, br *bufio.Reader) {
					for readRequest(br) {
						time.Sleep(10 * time.Millisecond) // the bubble's clock: a few streams in the run
						if _, err := io.WriteString(c, sseHead+tc.tail); err != nil {
							return
						}
						if tc.dials1 {
							if !strings.Contains(tc.tail, "Connection: close") {
								waitClose(br)
							}
							return
						}
					}
				})
				extra := "duration: 200ms\nreconnect: {max: 0}"
				c := runMem(t, m, scenario(t, "url: http://sse.test/v1/stream\nload: {connections: 1}\n"+extra+"\n"))
				c.checkWellFormed(t)
				ends := c.ends()
				if len(ends) < 3 {
					t.Fatalf("%d streams, want several", len(ends))
				}
				for _, e := range ends {
					if e.Err != tc.class || !strings.Contains(e.Detail, tc.detail) {
						t.Fatalf("stream %d: %v %q, want %v %q", e.Stream, e.Err, e.Detail, tc.class, tc.detail)
					}
				}
				want := int64(1)
				if tc.dials1 {
					want = int64(len(ends))
				}
				if d := m.dials.Load(); d != want {
					t.Errorf("dials %d for %d streams, want %d", d, len(ends), want)
				}
			})
		})
	}
}
