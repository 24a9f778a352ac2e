package swarm

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/NYTimes/gziphandler"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/zstd"

	"github.com/ssebench/ssebench/scenarios"
)

// tickHandler is an SSE endpoint that writes n events of size bytes (data
// included), one every itl, flushing each, and ends the body.
func tickHandler(n, size int, itl time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range n {
			pause(r, itl)
			head := fmt.Sprintf("id: %d\ndata: ", i)
			io.WriteString(w, head+strings.Repeat("x", size-len(head)-2)+"\n\n")
			w.(http.Flusher).Flush()
		}
	}
}

// TestBrowserHeaders: the stream request carries what a browser's
// EventSource sends: Accept, Cache-Control and Accept-Encoding (unless
// compression is off, or the scenario sets its own).
func TestBrowserHeaders(t *testing.T) {
	for _, tc := range []struct {
		extra, accept string
	}{
		{"", "gzip, deflate, br, zstd"},
		{"compression: off\n", ""},
		{"headers: {Accept-Encoding: identity}\n", "identity"},
	} {
		synctest.Test(t, func(t *testing.T) {
			var got http.Header
			m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
				writeEvents(w, "data: x\n\n")
			}))
			c := runMem(t, m, scenario(t, one("events: generic\n"+tc.extra)))
			c.checkWellFormed(t)
			if got.Get("Accept") != "text/event-stream" || got.Get("Cache-Control") != "no-cache" || got.Get("Accept-Encoding") != tc.accept {
				t.Errorf("%q: request headers %v, want Accept-Encoding %q", tc.extra, got, tc.accept)
			}
		})
	}
}

// TestCompressionGzhttp: a real compression middleware (gzhttp, wrapping
// an SSE handler as its documentation shows) compresses the stream for
// the swarm as for a browser, and flushes each event: the swarm decodes it
// as it streams, with the gaps the server made, and counts the bytes as
// received (compressed).
func TestCompressionGzhttp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, size = 40, 100
		m := serveMem(t, gzhttp.GzipHandler(tickHandler(n, size, 50*time.Millisecond)))
		c := runMem(t, m, scenario(t, one("events: generic\n")))
		c.checkWellFormed(t)
		e := c.ends()[0]
		// gzhttp picks zstd when the client accepts it, as browsers do.
		if e.Err != scenarios.ErrNone || (e.Encoding != scenarios.EncZstd && e.Encoding != scenarios.EncGzip) {
			t.Fatalf("end: %v %q, encoding %v; want ok and compressed", e.Err, e.Detail, e.Encoding)
		}
		if k := c.tokens(0); k != n {
			t.Errorf("tokens %d, want %d", k, n)
		}
		if v := values(c.all, scenarios.TTFT); !slices.Equal(v, []time.Duration{50 * time.Millisecond}) {
			t.Errorf("ttft %v, want [50ms]: the first event as the server flushed it", v)
		}
		for _, g := range gaps(c.all, false) {
			if g != 50*time.Millisecond {
				t.Fatalf("gap %v, want every gap 50ms (streamed, not batched)", g)
			}
		}
		if b := sum(c.all, func(r *scenarios.Result) int64 { return r.Bytes }); b <= 0 || b >= n*size/2 {
			t.Errorf("bytes %d: want the compressed size, well under the %d bytes of events", b, n*size)
		}
	})
}

// TestCompressionHeldBody: a compression middleware that holds the body
// until it has MinSize bytes (gziphandler, as its documentation shows:
// its Flush does nothing before then) delays a browser's first event,
// since a browser asks for gzip; the swarm, asking as a browser does, now
// sees that delay: the first event arrives when the 14th is written
// (1400 bytes, MinSize), the 13 after it at once.
func TestCompressionHeldBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, size = 40, 100
		m := serveMem(t, gziphandler.GzipHandler(tickHandler(n, size, 50*time.Millisecond)))
		c := runMem(t, m, scenario(t, one("events: generic\n")))
		c.checkWellFormed(t)
		e := c.ends()[0]
		if e.Err != scenarios.ErrNone || e.Encoding != scenarios.EncGzip || c.tokens(0) != n {
			t.Fatalf("end: %v %q, encoding %v, tokens %d; want ok, gzip, %d", e.Err, e.Detail, e.Encoding, c.tokens(0), n)
		}
		if v := values(c.all, scenarios.TTFT); !slices.Equal(v, []time.Duration{14 * 50 * time.Millisecond}) {
			t.Errorf("ttft %v, want [700ms]: held until MinSize", v)
		}
		g := gaps(c.all, false)
		if len(g) != n-1 || slices.ContainsFunc(g[:13], func(d time.Duration) bool { return d != 0 }) ||
			slices.ContainsFunc(g[13:], func(d time.Duration) bool { return d != 50*time.Millisecond }) {
			t.Errorf("gaps %v, want 13 x 0 (the held events at once), then 50ms", g)
		}
	})
}

// compressed returns an SSE handler that sends n events compressed with
// enc, flushing the encoder and the response after each one.
func compressed(enc string, n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Encoding", strings.TrimSuffix(enc, "-raw"))
		var cw interface {
			io.WriteCloser
			Flush() error
		}
		switch enc {
		case "gzip":
			cw = gzip.NewWriter(w)
		case "deflate":
			cw = zlib.NewWriter(w)
		case "deflate-raw":
			cw, _ = flate.NewWriter(w, flate.DefaultCompression)
		case "br":
			cw = brotli.NewWriter(w)
		case "zstd":
			cw, _ = zstd.NewWriter(w)
		}
		for i := range n {
			pause(r, 20*time.Millisecond)
			fmt.Fprintf(cw, "id: %d\ndata: token %d\n\n", i, i)
			cw.Flush()
			w.(http.Flusher).Flush()
		}
		cw.Close()
	}
}

// TestDecodeFormats: gzip, deflate (zlib-wrapped as HTTP says, and raw as
// some servers send it), brotli and zstd are decoded as they stream, on
// the direct path and over the Transport.
func TestDecodeFormats(t *testing.T) {
	want := map[string]scenarios.Encoding{"gzip": scenarios.EncGzip, "deflate": scenarios.EncDeflate,
		"deflate-raw": scenarios.EncDeflate, "br": scenarios.EncBrotli, "zstd": scenarios.EncZstd}
	for _, enc := range []string{"gzip", "deflate", "deflate-raw", "br", "zstd"} {
		for _, path := range []string{"direct", "transport"} {
			t.Run(enc+"/"+path, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					m := serveMem(t, compressed(enc, 10))
					s, err := New(scenario(t, one("events: generic\n")), Options{Dial: m.Dial, SharedTransport: path == "transport"})
					if err != nil {
						t.Fatal(err)
					}
					c := collect(t, t.Context(), s)
					c.checkWellFormed(t)
					e := c.ends()[0]
					if e.Err != scenarios.ErrNone || e.Encoding != want[enc] || e.Encoding.String() != strings.TrimSuffix(enc, "-raw") {
						t.Fatalf("end: %v %q, encoding %v; want ok and %s", e.Err, e.Detail, e.Encoding, enc)
					}
					if k := c.tokens(0); k != 10 {
						t.Errorf("tokens %d, want 10", k)
					}
					for _, g := range gaps(c.all, false) {
						if g != 20*time.Millisecond {
							t.Fatalf("gap %v, want 20ms: decoded as it streams", g)
						}
					}
				})
			})
		}
	}
}

// TestCompressionFailures: a body the swarm cannot or may not decode fails
// the attempt with a Detail that says why.
func TestCompressionFailures(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, "data: one\n\ndata: two\n\n")
	zw.Close()
	full := gz.Bytes()
	corrupt := slices.Clone(full)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32
	for _, tc := range []struct {
		name, extra, enc string
		body             []byte
		class            scenarios.ErrorClass
		detail           string
	}{
		{"compression_off", "compression: off\n", "gzip", full, scenarios.ErrContentType,
			`Content-Encoding "gzip" although the request accepted none (compression: off)`},
		{"unsupported", "", "compress", full, scenarios.ErrContentType,
			`Content-Encoding "compress" is not one the swarm decodes (gzip, deflate, br, zstd)`},
		{"corrupt", "", "gzip", corrupt, scenarios.ErrParse,
			"the gzip body does not decode (Content-Encoding gzip)"},
		{"truncated", "", "gzip", full[:len(full)-4], scenarios.ErrReset,
			"compressed body cut before its end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream")
					w.Header().Set("Content-Encoding", tc.enc)
					w.Write(tc.body)
				}))
				c := runMem(t, m, scenario(t, one("events: generic\n"+tc.extra)))
				c.checkWellFormed(t)
				e := c.ends()[0]
				if e.Err != tc.class || e.Detail != tc.detail {
					t.Errorf("end: %v %q, want %v %q", e.Err, e.Detail, tc.class, tc.detail)
				}
			})
		})
	}
}

// bombOnce is a gzip member holding 1 MiB of 'a', reused by the bomb.
var bombOnce = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte("a"), 1<<20))
	zw.Close()
	return b.Bytes()
})

// TestGzipBomb: a small body that inflates to a gigabyte of one line stops
// at the parser's line limit (which applies to the decoded bytes), having
// read only a few KiB of it.
func TestGzipBomb(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		member := bombOnce()
		m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Content-Encoding", "gzip")
			var head bytes.Buffer
			zw := gzip.NewWriter(&head)
			io.WriteString(zw, "data: ")
			zw.Close()
			w.Write(head.Bytes())
			for range 1024 { // 1 GiB decoded, a megabyte sent
				if _, err := w.Write(member); err != nil {
					return
				}
			}
		}))
		c := runMem(t, m, scenario(t, one("events: generic\nmax_line: 64KiB\n")))
		c.checkWellFormed(t)
		e := c.ends()[0]
		if e.Err != scenarios.ErrParse || e.Detail != "line over 65536 bytes (max_line; raise it in the scenario)" {
			t.Fatalf("end: %v %q, want the line limit", e.Err, e.Detail)
		}
		if b := sum(c.all, func(r *scenarios.Result) int64 { return r.Bytes }); b > 64<<10 {
			t.Errorf("read %d bytes of the body, want a few KiB (stopped at the limit)", b)
		}
	})
}
