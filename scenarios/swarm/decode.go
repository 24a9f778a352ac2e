package swarm

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/ssebench/ssebench/scenarios"
)

// Response decoding. The stream request asks for compression as a browser
// does (scenarios.AcceptEncoding), and the body is decoded as it streams,
// between the body (which counts the bytes as received and feeds the idle
// deadline) and the SSE reader (whose line and event limits so apply to
// the decoded bytes: a small body that inflates to gigabytes fails as
// parse at the first limit). Decoding is off the per-event path: a decoder
// is taken from a pool when an attempt's response is compressed, and
// returned when the attempt ends.
//
// A decoder holds its format's window: gzip and deflate 32 KiB (plus about
// 10 KiB of tables and a 4 KiB read buffer); brotli the stream's window,
// grown as the output needs it, at most 16 MiB (the format's limit; the
// large-window extension is refused); zstd the frame's window plus two
// blocks, the window capped at zstdMaxWindow as browsers do.

// zstdMaxWindow is the largest zstd window accepted (the limit RFC 9659
// sets for the zstd content coding, and browsers enforce); a frame that
// asks for more fails the attempt.
const zstdMaxWindow = 8 << 20

// errTruncated says the compressed stream ended before its end although
// the body ended cleanly (the server closed it early).
var errTruncated = errors.New("compressed stream cut before its end")

// parseEncoding maps a Content-Encoding header value to an Encoding.
func parseEncoding(v string) scenarios.Encoding {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "identity":
		return scenarios.EncIdentity
	case "gzip", "x-gzip":
		return scenarios.EncGzip
	case "deflate":
		return scenarios.EncDeflate
	case "br":
		return scenarios.EncBrotli
	case "zstd":
		return scenarios.EncZstd
	}
	return scenarios.EncOther
}

// decoder decodes one attempt's compressed body. It is created lazily, at
// the first Read, so that reading a format's header waits in the read
// loop like any other read (under the attempt's deadlines).
type decoder struct {
	enc   scenarios.Encoding
	src   *decSrc   // the body, as received
	r     io.Reader // the format's reader, once started
	gz    *gzip.Reader
	fl    io.ReadCloser // flate or zlib
	br    *brotli.Reader
	zs    *zstd.Decoder
	err   error // sticky
	peek  [2]byte
	pools *decoderPools
}

// decoderPools keep a Swarm's idle format readers (each Swarm its own:
// a zstd decoder holds channels, which must not cross into another
// Swarm's goroutines when tests run each in its own bubble).
type decoderPools struct {
	gzip   sync.Pool // *gzip.Reader
	brotli sync.Pool // *brotli.Reader
	zstd   sync.Pool // *zstd.Decoder
}

// newDecoder returns a reader of src decoded from enc (identity: src
// itself) and the decoder to release when the attempt ends (nil for
// identity).
func newDecoder(enc scenarios.Encoding, src io.Reader, pools *decoderPools) (io.Reader, *decoder) {
	if enc == scenarios.EncIdentity {
		return src, nil
	}
	d := &decoder{enc: enc, src: &decSrc{src}, pools: pools}
	return d, d
}

// decSrc is the body as a decoder's source: cleared on release, so that a
// pooled reader keeps nothing of the attempt alive.
type decSrc struct{ r io.Reader }

func (s *decSrc) Read(p []byte) (int, error) {
	if s.r == nil {
		return 0, io.ErrClosedPipe
	}
	return s.r.Read(p)
}

// Read reads decoded bytes. At the end of the compressed stream it returns
// io.EOF; a compressed stream cut short while the body ended cleanly gives
// an error matching errTruncated; errors of the body pass through.
func (d *decoder) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.r == nil {
		if err := d.start(); err != nil {
			d.err = err
			return 0, err
		}
	}
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errTruncated
		}
		d.err = err
	}
	return n, err
}

// start makes the format's reader (gzip reads its header here).
func (d *decoder) start() error {
	switch d.enc {
	case scenarios.EncGzip:
		gz, _ := d.pools.gzip.Get().(*gzip.Reader)
		var err error
		if gz == nil {
			gz, err = gzip.NewReader(d.src)
		} else {
			err = gz.Reset(d.src)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errTruncated
			}
			return err
		}
		d.gz, d.r = gz, gz
	case scenarios.EncDeflate:
		// HTTP's deflate is zlib-wrapped (RFC 9110); some servers send raw
		// deflate, which browsers also accept: the first two bytes tell.
		if _, err := io.ReadFull(d.src, d.peek[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errTruncated
			}
			return err
		}
		src := io.MultiReader(strings.NewReader(string(d.peek[:])), d.src)
		cmf, flg := d.peek[0], d.peek[1]
		if cmf&0x0f == 8 && (uint16(cmf)<<8|uint16(flg))%31 == 0 {
			z, err := zlib.NewReader(src)
			if err != nil {
				return err
			}
			d.fl = z
		} else {
			d.fl = flate.NewReader(src)
		}
		d.r = d.fl
	case scenarios.EncBrotli:
		br, _ := d.pools.brotli.Get().(*brotli.Reader)
		if br == nil {
			br = brotli.NewReader(d.src)
		} else {
			_ = br.Reset(d.src)
		}
		d.br, d.r = br, br
	case scenarios.EncZstd:
		zs, _ := d.pools.zstd.Get().(*zstd.Decoder)
		var err error
		if zs == nil {
			zs, err = zstd.NewReader(d.src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(zstdMaxWindow))
		} else {
			err = zs.Reset(d.src)
		}
		if err != nil {
			return err
		}
		d.zs, d.r = zs, zs
	default:
		return errors.New("unsupported Content-Encoding")
	}
	return nil
}

// release returns the format's reader to its pool. d must not be used
// afterwards.
func (d *decoder) release() {
	if d == nil {
		return
	}
	d.src.r = nil
	switch {
	case d.gz != nil:
		d.pools.gzip.Put(d.gz)
	case d.fl != nil:
		d.fl.Close()
	case d.br != nil:
		_ = d.br.Reset(nil)
		d.pools.brotli.Put(d.br)
	case d.zs != nil:
		if d.zs.Reset(nil) == nil {
			d.pools.zstd.Put(d.zs)
		}
	}
	*d = decoder{err: io.ErrClosedPipe}
}
